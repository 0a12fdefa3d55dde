/**
 * Groups and chords on Celery's Redis result backend: the saved group (`celery-taskset-meta-<id>`), the chord size a
 * client sets (`.s`), and the join set (`.j`) header members record their ends in, with its counter (`.t`).
 */
import type Redis from 'ioredis';
import { Keys } from '../broker/keys';
import { scripts } from '../broker/scripts';
import type { ResultTuple } from '../protocol/canvas-apply';
import { pythonJson } from '../protocol/python-json';
import { errorMessage } from '../errors';

/** One header member's end, to record. */
export interface ChordPart {
  groupId: string;
  taskId: string;
  /** Its place in the header; null (an old client's message) sorts it last, as Celery does. */
  groupIndex: number | null;
  /** The encoded record (`chordMember()`). */
  member: string;
}

/**
 * What recording a part found: not complete yet (or no chord size known, as when the client has not set it yet),
 * complete with every member in group_index order, or a chord size that is not a number.
 */
export type ChordProgress =
  | { complete: false; count: number }
  | { complete: true; members: string[] }
  | { complete: false; count: number; badSize: string };

export class GroupStore {
  /** @param expires seconds the keys are kept (the backend's `result_expires`); 0 keeps them for ever. */
  constructor(private readonly redis: Redis, private readonly expires: number) {}

  /** SETEX (or SET) and PUBLISH on the key's name, as Celery's backend `set()` does for every value. */
  private async set(key: string, value: string): Promise<void> {
    const tx = this.redis.multi();
    if (this.expires > 0) tx.setex(key, this.expires, value);
    else tx.set(key, value);
    tx.publish(key, value);
    const replies = await tx.exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (!replies || failed) throw failed ?? new Error(`could not write ${key}`);
  }

  /** Set a chord's size (`.s`), as Celery's client does before the header goes out. */
  setChordSize(groupId: string, size: number): Promise<void> {
    return this.set(Keys.group(groupId).size, String(size));
  }

  /** Record one header member's end (atomically with reading the set when it completes it). */
  async recordPart(part: ChordPart): Promise<ChordProgress> {
    const keys = Keys.group(part.groupId);
    const score = part.groupIndex === null ? '+inf' : String(part.groupIndex);
    const reply = await scripts.chordPart.run<(string | number | null)[]>(
      this.redis, [keys.join, keys.counter, keys.size], [part.member, score, part.taskId, this.expires],
    );
    const [count, size, , ...members] = reply;
    if (size !== null && size !== undefined && !/^\s*[+-]?\d+\s*$/.test(String(size))) {
      return { complete: false, count: Number(count), badSize: String(size) };
    }
    if (reply.length > 3) return { complete: true, members: members.map(String) };
    return { complete: false, count: Number(count) };
  }

  /** Delete a chord's keys once its callback is sent (or failed). */
  async clearChord(groupId: string): Promise<void> {
    const keys = Keys.group(groupId);
    await this.redis.del(keys.join, keys.counter, keys.size);
  }

  /** Save a group's member ids as Celery's `GroupResult.save()` does: `{"result": [[gid, null], [[[id, null], null], ...]]}`. */
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    const tuple = [[groupId, null], taskIds.map((id) => [[id, null], null])];
    return this.set(Keys.group(groupId).meta, pythonJson({ result: tuple }));
  }

  /**
   * Save a group in any shape (`GroupResult.save()` of a chord header holding groups, as Celery's `apply_chord`
   * saves it): `{"result": <its as_tuple()>}`.
   */
  saveGroupTuple(groupId: string, result: ResultTuple): Promise<void> {
    return this.set(Keys.group(groupId).meta, pythonJson({ result }));
  }

  /**
   * A saved group as its tuple (`[[id, parent], members]`, a member `[[id, parent], null]` or a nested group), or
   * null when none is saved. Throws on a saved group that is not Celery's format.
   */
  async restoreGroupTuple(groupId: string): Promise<ResultTuple | null> {
    const raw = await this.redis.get(Keys.group(groupId).meta);
    if (raw === null) return null;
    let saved: unknown;
    try {
      saved = JSON.parse(raw);
    } catch (err) {
      throw new Error(`saved group ${groupId} cannot be read: not JSON (${errorMessage(err)})`);
    }
    const check = (t: unknown): ResultTuple => {
      if (!Array.isArray(t) || !Array.isArray(t[0]) || typeof t[0][0] !== 'string') {
        throw new Error(`saved group ${groupId} cannot be read: not a result tuple: ${JSON.stringify(t)?.slice(0, 200)}`);
      }
      const members = t[1];
      if (members !== null && members !== undefined && !Array.isArray(members)) throw new Error(`saved group ${groupId} cannot be read: members are not a list`);
      return [[t[0][0], null], members ? members.map(check) : null];
    };
    return check((saved as { result?: unknown } | null)?.result);
  }

  /** Delete a saved group. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.redis.del(Keys.group(groupId).meta);
  }

  /**
   * The member ids of a saved group (Celery's `GroupResult.restore()`), or null when none is saved. Throws on a
   * saved group Radish cannot read (a nested group, or not Celery's format).
   */
  async restoreGroup(groupId: string): Promise<string[] | null> {
    const raw = await this.redis.get(Keys.group(groupId).meta);
    if (raw === null) return null;
    const bad = (why: string): Error => new Error(`saved group ${groupId} cannot be read: ${why}`);
    let saved: unknown;
    try {
      saved = JSON.parse(raw);
    } catch (err) {
      throw bad(`not JSON (${errorMessage(err)})`);
    }
    const tuple = (saved as { result?: unknown } | null)?.result;
    const members = Array.isArray(tuple) ? tuple[1] : undefined;
    if (!Array.isArray(members)) throw bad('no [[id, parent], [members]] result');
    return members.map((m: unknown) => {
      // A task is [[id, parent], null]; a nested group has its members list where the null is.
      const [head, children] = Array.isArray(m) ? m : [];
      const id: unknown = Array.isArray(head) ? head[0] : undefined;
      if (typeof id !== 'string') throw bad(`a member is not [[id, parent], null]: ${JSON.stringify(m)}`);
      if (children !== null && children !== undefined) throw bad(`member ${id} is a nested group, which Radish does not read`);
      return id;
    });
  }
}
