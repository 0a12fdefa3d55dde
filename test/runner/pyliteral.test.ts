/** Reading Python reprs (what Celery events carry) back into JSON: the inverse of pyRepr, and refusals with reasons. */
import assert from 'node:assert/strict';
import { parsePythonLiteral, PythonLiteralError } from '../../runner/protocol/pyliteral';
import { argsRepr, kwargsRepr, pyRepr } from '../../runner/protocol/pyrepr';
import { prng } from '../support/wait';

/** A random JSON value (no floats that repr would print in exponent form differently: kept to safe integers and halves). */
function randomValue(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return Math.floor((rand() - 0.5) * 1e9) / (rand() < 0.5 ? 1 : 2);
    case 3: return Array.from({ length: Math.floor(rand() * 12) }, () => String.fromCodePoint(Math.floor(rand() * 0x2fff))).join('') + `'"\\\n\t`.slice(0, Math.floor(rand() * 6));
    case 4: return '';
    case 5: return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}'"`, randomValue(rand, depth + 1)]));
  }
}

describe('parsePythonLiteral', () => {
  it('reads what pyRepr writes, for 2,000 random JSON values', () => {
    const rand = prng(7);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(rand);
      assert.deepEqual(parsePythonLiteral(pyRepr(value)), value, pyRepr(value));
    }
  });

  it('reads args tuples and kwargs dicts as Celery prints them', () => {
    assert.deepEqual(parsePythonLiteral(argsRepr([7])), [7]);
    assert.deepEqual(parsePythonLiteral('()'), []);
    assert.deepEqual(parsePythonLiteral("(1, 'two', [3.5, None], {'a': True})"), [1, 'two', [3.5, null], { a: true }]);
    assert.deepEqual(parsePythonLiteral(kwargsRepr({ to: "o'brien@x", n: -2 })), { to: "o'brien@x", n: -2 });
    assert.deepEqual(parsePythonLiteral("'\\x07\\u00e9\\U0001f600'"), '\x07é😀');
    assert.deepEqual(parsePythonLiteral('1_000'), 1000);
  });

  it('refuses what JSON cannot hold or what was cut short, with the reason', () => {
    const refuse = (text: string, reason: RegExp) => assert.throws(() => parsePythonLiteral(text), (err: Error) => err instanceof PythonLiteralError && reason.test(err.message), text);
    refuse("(datetime.datetime(2026, 1, 1, 0, 0),)", /not a JSON-like Python literal/);
    refuse('(<object object at 0x7f>,)', /not a JSON-like/);
    refuse(argsRepr(['x'.repeat(2000)]), /cut short/);
    refuse("{1: 'a'}", /only string keys/);
    refuse("('a', 'b'", /expected , or \)|unexpected end/);
    refuse("'abc", /unterminated string/);
    refuse('(1,) junk', /unexpected text/);
    refuse('['.repeat(500) + ']'.repeat(500), /nested too deep/);
  });

  it('keeps __proto__ keys as plain data', () => {
    const value = parsePythonLiteral("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value), ['__proto__']);
  });
});
