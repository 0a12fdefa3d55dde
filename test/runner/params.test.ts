/** How Celery kwargs reach a TypeScript function: parameter names read from its source, Python's binding rules. */
import assert from 'node:assert/strict';
import { ArgumentError, bindArguments, paramInfo } from '../../runner/params';

describe('params: kwargs to parameters', () => {
  it('reads parameter names from every function form', () => {
    assert.deepEqual(paramInfo((x: number, y: number) => x + y), { names: ['x', 'y'], rest: false });
    assert.deepEqual(paramInfo(async (url: string, width = 128) => url + width), { names: ['url', 'width'], rest: false });
    assert.deepEqual(paramInfo(function named(a: string, /* note, with comma */ b = [1, 2], c = { d: '(,)' }) { return [a, b, c]; }),
      { names: ['a', 'b', 'c'], rest: false });
    assert.deepEqual(paramInfo((x: number) => x), { names: ['x'], rest: false });
    assert.deepEqual(paramInfo(({ id }: { id: string }, n: number) => id + n), { names: [null, 'n'], rest: false });
    assert.deepEqual(paramInfo((first: string, ...rest: unknown[]) => [first, rest]), { names: ['first'], rest: true });
    assert.deepEqual(paramInfo(() => 1), { names: [], rest: false });
  });

  it('binds positional then keyword arguments like Python', () => {
    const info = { names: ['x', 'y', 'z'], rest: false };
    assert.deepEqual(bindArguments('t', info, [1], { z: 3 }), [1, undefined, 3]);
    assert.deepEqual(bindArguments('t', info, [], { y: 2, x: 1 }), [1, 2]);
    assert.deepEqual(bindArguments('t', info, [1, 2, 3], {}), [1, 2, 3]);
  });

  it('raises the TypeError Python would', () => {
    const info = { names: ['x'], rest: false };
    assert.throws(() => bindArguments('tasks.f', info, [], { q: 1 }), (e: Error) => e instanceof ArgumentError && e.name === 'TypeError' && e.message === "tasks.f() got an unexpected keyword argument 'q'");
    assert.throws(() => bindArguments('tasks.f', info, [1], { x: 1 }), /got multiple values for argument 'x'/);
  });

  it('lets a rest-parameter function take unknown keywords (read from request.kwargs)', () => {
    assert.deepEqual(bindArguments('t', { names: ['a'], rest: true }, [1, 2], { k: 'v' }), [1, 2]);
  });
});
