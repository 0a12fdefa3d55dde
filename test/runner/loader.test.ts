/**
 * The TypeScript loader (runner/worker/loader.ts, installed for these tests by test/support/register.js from the
 * built dist/radish.js): what task modules use transpiles and runs, stack traces name the .ts lines and columns,
 * `./x.js` finds x.ts, `radish` and the npm name are the runner itself, and what it cannot run fails naming the line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Radish } from '../../runner/index';

describe('the TypeScript loader', () => {
  let dir: string;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const load = (name: string) => require(join(dir, name)) as Record<string, unknown>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-loader-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs enums, parameter properties, class fields, type-only imports and ES exports, finding ./x.js as x.ts', () => {
    write('helper.ts', `export const helper = (): string => 'h';\nexport default function (): string { return 'd'; }\n`);
    write('features.ts', `import type { Readable } from 'node:stream';
import { type Writable, PassThrough } from 'node:stream';
import * as path from 'node:path';
import def, { helper } from './helper.js';
export * from './helper.js';
export { helper as renamed } from './helper.js';

export enum Color { Red, Green = 'green' }
export const enum Size { S = 1, M = 2 }
export class Point {
  count!: number;
  constructor(public readonly x: number, private y: number) {}
  get yy(): number { return this.y; }
}
const stream: Readable | Writable = new PassThrough();
export const summary = [Color.Red, Color[0], Color.Green, Size.M, new Point(1, 2).yy, def(), helper(), path.basename('/a/b.ts'),
  typeof stream, ({ a: 1 } satisfies Record<string, number>).a].join(',');
`);
    const m = load('features.ts');
    assert.equal(m.summary, '0,Red,green,2,2,d,h,b.ts,object,1');
    assert.deepEqual(Object.keys(m).sort(), ['Color', 'Point', 'Size', 'helper', 'renamed', 'summary']);
    // A field without initializer is still a field (TypeScript's ES2022 semantics), before the parameter properties.
    assert.deepEqual(Object.keys(new (m.Point as new (x: number, y: number) => object)(1, 2)), ['count', 'x', 'y']);
  });

  it('gives stack traces on the .ts lines and columns', () => {
    write('throws.ts', `interface Options {
  a: number;
}

type Doubled = { value: number };

export function thrower(o: Options = { a: 1 }): never {
  const d: Doubled = { value: o.a * 2 };
  throw new RangeError(\`bad \${d.value}\`);
}
`);
    const { thrower } = load('throws.ts') as { thrower: () => never };
    const err = (() => {
      try {
        return thrower();
      } catch (e) {
        return e as Error;
      }
    })();
    assert.match(err.stack?.split('\n')[1] ?? '', new RegExp(`\\(${join(dir, 'throws.ts').replace(/[.\\/]/g, '\\$&')}:9:9\\)$`));
  });

  it('resolves radish and the npm package name to the runner itself', () => {
    write('app.ts', `import { Radish as A } from 'radish';\nimport { Radish as B } from '@radish-queue/radish';\nexport const same = [A, B];\n`);
    assert.deepEqual(load('app.ts').same, [Radish, Radish]);
  });

  it('transpiles JSX in .tsx', () => {
    write('view.tsx', `const React = { createElement: (tag: string, _props: unknown, ...children: unknown[]) => ({ tag, children }) };
export const el = <p>hi</p>;
`);
    assert.deepEqual(load('view.tsx').el, { tag: 'p', children: ['hi'] });
  });

  it('loads type-only namespaces, refuses one holding values, naming its line', () => {
    write('types-only.ts', `export namespace Shapes { export type Id = string; export declare const max: number }
declare namespace Ambient { const q: 1 }
const namespace = { module: 1 };
export const id: Shapes.Id = 'x' + namespace.module;
`);
    assert.equal(load('types-only.ts').id, 'x1');
    write('values.ts', `// one\nexport namespace Shapes {\n  export const max = 3;\n}\n`);
    assert.throws(() => load('values.ts'), (err: Error) => err.message.startsWith(`${join(dir, 'values.ts')}:2: a namespace holding values is not supported`));
  });

  it('says what it cannot run, naming the line: top-level await, decorators', () => {
    write('tla.ts', `const a: number = 1;\nexport const v = await Promise.resolve(a);\n`);
    assert.throws(() => load('tla.ts'), (err: Error) => err instanceof SyntaxError
      && err.message === `${join(dir, 'tla.ts')}:2: top-level await is not supported in a TypeScript task module, which loads as CommonJS: await inside a function`);
    write('decorated.ts', `function log(_t: object, _k: string, d: PropertyDescriptor) { return d; }\nexport class D {\n  @log m(): number { return 1; }\n}\n`);
    assert.throws(() => load('decorated.ts'), (err: Error) => err.message === `${join(dir, 'decorated.ts')}:3: decorators are not supported by Radish's TypeScript loader`);
  });

  it('keeps the import as written when neither x.js nor x.ts exists, and errors thrown by a module as they are', () => {
    write('missing.ts', `import { x } from './nowhere.js';\nexport const y = x;\n`);
    assert.throws(() => load('missing.ts'), (err: NodeJS.ErrnoException) => err.code === 'MODULE_NOT_FOUND' && /'\.\/nowhere\.js'/.test(err.message));
    write('runtime.ts', `JSON.parse('{');\n`);
    assert.throws(() => load('runtime.ts'), (err: Error) => err instanceof SyntaxError && !err.message.includes('runtime.ts'));
  });
});
