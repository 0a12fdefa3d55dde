/// <reference lib="dom" />
/**
 * The DOM helper of Radish's webview pages (bundled into each page's script; no vscode, no node).
 */

/** What an element may hold: nodes and text; undefined and false are left out (for `cond && el(...)`). */
export type Child = Node | string | undefined | false;

/** A new `<tag>` with attributes `props` (undefined ones left out) and `children`. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== false) node.append(c);
  return node;
}
