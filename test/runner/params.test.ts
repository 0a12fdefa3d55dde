/** How Celery kwargs reach a TypeScript function: parameter names read from its source, Python's binding rules. */
import assert from 'node:assert/strict';
import { ArgumentError, bindArguments, paramInfo } from '../../runner/params';

describe('params: kwargs to parameters', () => {
  it('reads parameter names from every function form', () => {
    assert.deepEqual(paramInfo((x: number, y: number) => x + y), { names: ['x', 'y'], rest: false, required: 2 });
    assert.deepEqual(paramInfo(async (url: string, width = 128) => url + width), { names: ['url', 'width'], rest: false, required: 1 });
    assert.deepEqual(paramInfo(function named(a: string, /* note, with comma */ b = [1, 2], c = { d: '(,)' }) { return [a, b, c]; }),
      { names: ['a', 'b', 'c'], rest: false, required: 1 });
    assert.deepEqual(paramInfo((x: number) => x), { names: ['x'], rest: false, required: 1 });
    assert.deepEqual(paramInfo(({ id }: { id: string }, n: number) => id + n), { names: [null, 'n'], rest: false, required: 2 });
    assert.deepEqual(paramInfo((first: string, ...rest: unknown[]) => [first, rest]), { names: ['first'], rest: true, required: 1 });
    assert.deepEqual(paramInfo(() => 1), { names: [], rest: false, required: 0 });
  });

  it('binds positional then keyword arguments like Python', () => {
    const info = { names: ['x', 'y', 'z'], rest: false, required: 0 };
    assert.deepEqual(bindArguments('t', info, [1], { z: 3 }), [1, undefined, 3]);
    assert.deepEqual(bindArguments('t', info, [], { y: 2, x: 1 }), [1, 2]);
    assert.deepEqual(bindArguments('t', info, [1, 2, 3], {}), [1, 2, 3]);
  });

  it('raises the TypeError Python would', () => {
    const info = { names: ['x'], rest: false, required: 1 };
    assert.throws(() => bindArguments('tasks.f', info, [], { q: 1 }), (e: Error) => e instanceof ArgumentError && e.name === 'TypeError' && e.message === "tasks.f() got an unexpected keyword argument 'q'");
    assert.throws(() => bindArguments('tasks.f', info, [1], { x: 1 }), /got multiple values for argument 'x'/);
  });

  it('raises Python\'s TypeError for a required parameter left without a value, by position or by keyword', () => {
    const add = paramInfo((x: number, y: number, z = 0) => x + y + z);
    const missing = (args: unknown[], kwargs: Record<string, unknown>): string => {
      try {
        bindArguments('tasks.add', add, args, kwargs);
        return 'bound';
      } catch (err) {
        assert.ok(err instanceof ArgumentError && err.name === 'TypeError');
        return err.message;
      }
    };
    assert.equal(missing([5], {}), "tasks.add() missing 1 required positional argument: 'y'");
    assert.equal(missing([], {}), "tasks.add() missing 2 required positional arguments: 'x' and 'y'");
    assert.equal(missing([], { z: 1 }), "tasks.add() missing 2 required positional arguments: 'x' and 'y'");
    assert.equal(missing([1], { y: null }), 'bound', 'an explicit null is a value');
    assert.equal(missing([], { y: 2, x: 1 }), 'bound');
    assert.equal(missing([1, 2], {}), 'bound', 'a parameter with a default may be left out');
    const three = paramInfo((a: number, b: number, c: number) => a + b + c);
    assert.throws(() => bindArguments('t', three, [], {}), /missing 3 required positional arguments: 'a', 'b', and 'c'$/);
  });

  it('lets a rest-parameter function take unknown keywords (read from request.kwargs)', () => {
    assert.deepEqual(bindArguments('t', { names: ['a'], rest: true, required: 1 }, [1, 2], { k: 'v' }), [1, 2]);
  });
});
