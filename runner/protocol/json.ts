/** JSON values as the protocol modules read them: decoded objects are checked before any field is trusted. */

export type JsonObject = Record<string, unknown>;

/** Whether a decoded JSON value is an object (a Python dict): not null, not an array. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
