/**
 * Every title a user reads on a button or a menu entry is in VS Code's title case ("Enqueue with Args...", never
 * "Enqueue with args..."): the contributed commands' titles, the viewsWelcome and walkthrough buttons, the CodeLens
 * titles (extension/discovery/codelens.ts) and the buttons of notifications and modal dialogs (the trailing string
 * arguments of show{Information,Warning,Error}Message anywhere in extension/). Read from the sources, no VS Code
 * needed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/** Words title case leaves in lower case inside a title: articles, short conjunctions and prepositions (4 letters or fewer). */
const MINOR = new Set(['a', 'an', 'the', 'and', 'but', 'or', 'nor', 'for', 'so', 'yet', 'as', 'at', 'by', 'in', 'into',
  'of', 'off', 'on', 'onto', 'out', 'over', 'per', 'to', 'up', 'via', 'with', 'from', 'than', 'vs']);

/**
 * What is wrong with `title` as a title (undefined: nothing). Each word starts with a capital (or is not a word:
 * `$(play)`, `...`, a number), except a minor word that is neither the first nor the last. Hyphenated words are
 * judged part by part (`Redis-Server`, not `redis-server`).
 */
export function titleCaseProblem(title: string): string | undefined {
  const words = title.replace(/\$\([\w~-]+\)/g, ' ').replace(/\.\.\.|…/g, ' ').split(/\s+/).filter(Boolean);
  if (words.length === 0) return 'no words';
  for (const [i, raw] of words.entries()) {
    const word = raw.replace(/^[("'«]+|[)"'»:,.!?]+$/g, '');
    const inner = i > 0 && i < words.length - 1 && !/^\(/.test(raw) && !/\)$/.test(words[i - 1] ?? '');
    if (inner && MINOR.has(word.toLowerCase())) {
      if (word !== word.toLowerCase()) return `"${word}" is a minor word: lower case inside a title`;
      continue;
    }
    for (const part of word.split('-')) {
      if (/^[a-z]/.test(part)) return `"${part}" should start with a capital`;
    }
  }
  return undefined;
}

interface Title {
  where: string;
  title: string;
}

/** `[label](command:...)` buttons of a Markdown-ish contents string (viewsWelcome, walkthrough steps). */
function buttons(text: string): string[] {
  return [...text.matchAll(/\[([^\]]+)\]\(command:[^)]+\)/g)].map((m) => m[1]!);
}

function packageTitles(): Title[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    contributes: {
      commands: { command: string; title: string; category?: string }[];
      viewsWelcome?: { view: string; contents: string }[];
      walkthroughs?: { title: string; steps: { id: string; description: string }[] }[];
      menus?: Record<string, { command?: string; title?: string }[]>;
      submenus?: { id: string; label: string }[];
    };
  };
  const c = pkg.contributes;
  return [
    ...c.commands.map((cmd) => ({ where: `command ${cmd.command}`, title: cmd.title })),
    ...c.commands.filter((cmd) => cmd.category).map((cmd) => ({ where: `category of ${cmd.command}`, title: cmd.category! })),
    ...(c.viewsWelcome ?? []).flatMap((w) => buttons(w.contents).map((title) => ({ where: `viewsWelcome of ${w.view}`, title }))),
    ...(c.walkthroughs ?? []).flatMap((w) => [
      { where: 'walkthrough title', title: w.title },
      ...w.steps.flatMap((step) => buttons(step.description).map((title) => ({ where: `walkthrough step ${step.id}`, title }))),
    ]),
    ...Object.entries(c.menus ?? {}).flatMap(([menu, entries]) => entries.filter((e) => e.title).map((e) => ({ where: `menu ${menu}`, title: e.title! }))),
    ...(c.submenus ?? []).map((m) => ({ where: `submenu ${m.id}`, title: m.label })),
  ];
}

/** The titles of the CodeLenses, as written in codelens.ts (`title: '...'`). */
function codeLensTitles(): Title[] {
  const source = readFileSync(join(ROOT, 'extension', 'discovery', 'codelens.ts'), 'utf8');
  return [...source.matchAll(/\btitle:\s*(['"`])((?:(?!\1)[^\\]|\\.)*)\1/g)].map((m) => ({ where: 'CodeLens', title: m[2]! }));
}

/**
 * The top-level arguments of the call whose `(` is at `open` in `source`, as source text; skips strings, template
 * literals (with their `${...}`) and comments, so a comma or a parenthesis inside them does not count.
 */
function callArguments(source: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  const templates: number[] = []; // brace depth at which each open template's `${` started
  let braces = 0;
  for (let i = open; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '/' && source[i + 1] === '/') { i = source.indexOf('\n', i); continue; }
    if (ch === '/' && source[i + 1] === '*') { i = source.indexOf('*/', i) + 1; continue; }
    if (ch === '\'' || ch === '"') {
      for (i++; i < source.length && source[i] !== ch; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (ch === '`' || (ch === '}' && templates.length && templates[templates.length - 1] === braces)) {
      if (ch === '}') templates.pop();
      // Inside a template literal: up to its end, or to a `${` (back to code until the matching `}`).
      for (i++; i < source.length; i++) {
        if (source[i] === '\\') { i++; continue; }
        if (source[i] === '`') break;
        if (source[i] === '$' && source[i + 1] === '{') { templates.push(braces); i++; break; }
      }
      continue;
    }
    if (ch === '{') braces++;
    else if (ch === '}') braces--;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') {
      depth--;
      if (depth === 0) {
        args.push(source.slice(start, i).trim());
        return args.filter(Boolean);
      }
    } else if (ch === ',' && depth === 1 && braces === 0 && templates.length === 0) {
      args.push(source.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unbalanced call at ${open}`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The buttons of every notification and modal dialog: the plain string literals after a show*Message's message. */
function messageButtons(): Title[] {
  const found: Title[] = [];
  for (const file of sourceFiles(join(ROOT, 'extension'))) {
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/\bshow(?:Information|Warning|Error)Message\s*(?:<[^>]*>)?\(/g)) {
      const args = callArguments(source, m.index! + m[0].length - 1);
      for (const arg of args.slice(1)) {
        const quoted = /^(['"])((?:(?!\1)[^\\]|\\.)*)\1$/.exec(arg);
        const template = /^`([^`$]*)`$/.exec(arg);
        const title = quoted ? quoted[2] : template?.[1];
        if (title !== undefined) found.push({ where: `button in ${relative(ROOT, file)}`, title });
      }
    }
  }
  return found;
}

describe('titles are in title case', () => {
  it('judges titles as VS Code writes them', () => {
    for (const good of ['Enqueue with Args...', 'Enqueue into This Queue...', 'Add Queue to Worker...', 'Shut Down Worker...',
      '$(play) Enqueue', 'Retry Task (Send Again)', 'Set Redis URL...', 'Discard All Failed Tasks...', 'Show Log', 'Start Local Redis Server']) {
      assert.equal(titleCaseProblem(good), undefined, good);
    }
    for (const bad of ['Enqueue with args...', 'Copy as radish call', 'Retry Task (send again)', 'Start Local redis-server',
      'Show log', 'Open With Editor', 'start Worker']) {
      assert.notEqual(titleCaseProblem(bad), undefined, bad);
    }
  });

  it('finds what it checks', () => {
    assert.ok(packageTitles().some((t) => t.where === 'command radish.enqueueWithArgs'), 'the commands');
    assert.ok(packageTitles().some((t) => t.where.startsWith('viewsWelcome')), 'the welcome buttons');
    assert.ok(codeLensTitles().length >= 2, `the CodeLens titles: ${JSON.stringify(codeLensTitles())}`);
    const buttonsFound = messageButtons();
    for (const label of ['Terminate', 'Show Log', 'Start Worker']) {
      assert.ok(buttonsFound.some((b) => b.title === label), `the "${label}" button: ${JSON.stringify(buttonsFound)}`);
    }
  });

  it('package.json: command titles and categories, welcome and walkthrough buttons, menu titles', () => {
    const wrong = packageTitles().map((t) => ({ ...t, problem: titleCaseProblem(t.title) })).filter((t) => t.problem);
    assert.deepEqual(wrong, []);
  });

  it('CodeLens titles', () => {
    const wrong = codeLensTitles().map((t) => ({ ...t, problem: titleCaseProblem(t.title) })).filter((t) => t.problem);
    assert.deepEqual(wrong, []);
  });

  it('notification and dialog buttons', () => {
    const wrong = messageButtons().map((t) => ({ ...t, problem: titleCaseProblem(t.title) })).filter((t) => t.problem);
    assert.deepEqual(wrong, []);
  });
});
