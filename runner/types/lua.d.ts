/** Lua scripts are bundled as text (esbuild's text loader; the test loader does the same). */
declare module '*.lua' {
  const source: string;
  export default source;
}
