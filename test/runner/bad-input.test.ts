/**
 * Bad input: a thousand malformed or hostile messages pushed raw to the `celery` list, interleaved with valid
 * tasks, through one in-process worker. Every valid task must succeed with its value; every bad message must be
 * in the dead-letter list with a reason and the original message byte for byte; the worker must still be consuming
 * at the end, with nothing left unacked. The counts must match exactly: valid successes + dead letters == pushed.
 *
 * `RADISH_BAD_INPUT_SEED=<n>` replays the order the messages were pushed in.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { delay, poll, prng } from '../support/wait';
import { redisHarness } from '../support/redis';

const BAD = 1000;
const VALID_RAW = 300;
const VALID_SENT = 100;
const MB = 1024 * 1024;

type Envelope = Record<string, unknown> & { headers: Record<string, unknown>; properties: Record<string, unknown> };
type Raw = string | Buffer;

/** A kind of bad message: how to make one (fresh each time), and the reason it must be dead-lettered with. */
interface BadKind {
  label: string;
  make: () => Raw;
  reason?: RegExp;
  /** Made at most this many times (the huge ones). */
  max?: number;
}

const digest = (raw: Raw) => createHash('sha256').update(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw).digest('hex');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** A pickle that would run `os.system('echo pwned')` if anything unpickled it. */
const PICKLE = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');

describe('bad input', function () {
  this.timeout(120_000);
  const h = redisHarness();

  it('dead-letters every malformed or hostile message byte for byte, runs every valid one, and keeps consuming', async () => {
    const seed = Number(process.env.RADISH_BAD_INPUT_SEED ?? (Date.now() % 2 ** 31));
    const random = prng(seed);
    console.log(`      bad-input seed ${seed} (RADISH_BAD_INPUT_SEED=${seed} replays the order)`);

    const app = new Radish({ broker: h.server.url });
    app.task('tasks.scale', (i: number, label = 'v') => `${label}:${i * 7}`);
    const lines: string[] = [];
    const worker = new Worker(app, { hostname: 'bad-input@test', concurrency: 10, logger: createLogger('info', (l) => lines.push(l)) });

    // Valid messages, built the way a client does, and bad ones derived from them.
    let n = 0;
    const valid = new Map<string, string>(); // task id -> expected value
    const validMessage = (label?: string): { id: string; body: string } => {
      const i = n++;
      const msg = app.message({ name: 'tasks.scale', args: [i], kwargs: label === undefined ? {} : { label } });
      valid.set(msg.id, `${label ?? 'v'}:${i * 7}`);
      return msg;
    };
    const envelope = (): Envelope => JSON.parse(app.message({ name: 'tasks.scale', args: [1] }).body) as Envelope;
    const variant = (patch: (e: Envelope) => void): string => {
      const e = envelope();
      patch(e);
      return JSON.stringify(e);
    };
    const withBody = (body: string | Buffer, patch?: (e: Envelope) => void) => variant((e) => { e.body = b64(body); patch?.(e); });
    const v1 = (body: unknown) => variant((e) => { e.headers = {}; e.body = b64(JSON.stringify(body)); });
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    // Valid raw messages first (the hostile copies below are made from them): plain ones, and some with unusual but
    // legal contents.
    const good: string[] = [];
    const plain: string[] = [];
    for (let k = 0; k < VALID_RAW; k++) {
      const legal = k % 10;
      if (legal === 1) good.push(validMessage('é ✓ 😀 \u0000 "quoted" \\ </script>').body);
      else if (legal === 2) {
        // Protocol 1: everything in the body.
        const i = n++;
        const id = `proto1-${k}-${seed}`;
        const e = envelope();
        e.headers = {};
        e.body = b64(JSON.stringify({ task: 'tasks.scale', id, args: [i], kwargs: {}, retries: 0, eta: null, expires: null }));
        valid.set(id, `v:${i * 7}`);
        good.push(JSON.stringify(e));
      } else if (legal === 3) {
        // No body_encoding: the body is the JSON text itself.
        const e = JSON.parse(validMessage().body) as Envelope;
        e.body = Buffer.from(e.body as string, 'base64').toString('utf8');
        delete e.properties.body_encoding;
        good.push(JSON.stringify(e));
      } else {
        plain.push(validMessage().body);
        good.push(plain[plain.length - 1]!);
      }
    }
    good.push(validMessage('z'.repeat(2 * MB)).body);
    const someValidEnvelope = (): Envelope => JSON.parse(plain[Math.floor(random() * plain.length)]!) as Envelope;

    const notJson = /^message is not valid JSON/;
    const noTag = /^message has no properties\.delivery_tag$/;
    const kinds: BadKind[] = [
      // Not JSON at all, or not a JSON object: the reserve script dead-letters them before any decoding.
      { label: 'truncated JSON', make: () => { const s = envelope(); const j = JSON.stringify(s); return j.slice(0, 1 + Math.floor(random() * (j.length - 2))); }, reason: notJson },
      { label: 'empty string', make: () => '', reason: notJson },
      { label: 'plain text', make: () => `hello ${random()}`, reason: notJson },
      { label: 'JSON array', make: () => JSON.stringify([1, 2, random()]), reason: noTag },
      { label: 'JSON number', make: () => String(random()), reason: noTag },
      { label: 'JSON string', make: () => JSON.stringify(`celery ${random()}`), reason: noTag },
      { label: 'JSON null', make: () => 'null', reason: noTag },
      { label: 'JSON true', make: () => 'true', reason: noTag },
      { label: 'empty object', make: () => '{}', reason: noTag },
      { label: 'trailing garbage', make: () => JSON.stringify(envelope()) + ' trailing', reason: notJson },
      { label: 'byte order mark', make: () => '\uFEFF' + JSON.stringify(envelope()), reason: notJson },
      { label: 'UTF-16', make: () => Buffer.from(JSON.stringify(envelope()), 'utf16le'), reason: notJson },
      { label: 'random bytes (not UTF-8)', make: () => Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), randomBytes(200)]), reason: /^message is not valid (JSON|UTF-8)/ },
      { label: 'nested 100,000 deep', make: () => `{"properties": {"delivery_tag": "${random()}"}, "x": ${deep(100_000)}}`, reason: notJson },
      // No delivery tag kombu could restore by: never recorded in unacked.
      { label: 'no properties', make: () => variant((e) => { delete (e as Record<string, unknown>).properties; }), reason: noTag },
      { label: 'properties is a string', make: () => variant((e) => { (e as Record<string, unknown>).properties = 'p'; }), reason: noTag },
      { label: 'no delivery_tag', make: () => variant((e) => { delete e.properties.delivery_tag; }), reason: noTag },
      { label: 'delivery_tag is a number', make: () => variant((e) => { e.properties.delivery_tag = random(); }), reason: noTag },
      { label: 'delivery_tag is empty', make: () => variant((e) => { e.properties.delivery_tag = ''; }), reason: noTag },
      // JSON that Redis's Lua reads (cjson takes NaN and hex) but JSON.parse does not.
      { label: 'NaN in the envelope', make: () => JSON.stringify(envelope()).replace(/^\{/, '{"x": NaN, '), reason: notJson },
      { label: 'hex number in the envelope', make: () => JSON.stringify(envelope()).replace(/^\{/, '{"x": 0x1F, '), reason: notJson },
      // The envelope: body, content type, encoding.
      { label: 'no body', make: () => variant((e) => { delete (e as Record<string, unknown>).body; }), reason: /body is missing or not a string/ },
      { label: 'body is an object', make: () => variant((e) => { e.body = { args: [1] }; }), reason: /body is missing or not a string/ },
      { label: 'body is a number', make: () => variant((e) => { e.body = 12; }), reason: /body is missing or not a string/ },
      { label: 'bad base64', make: () => variant((e) => { e.body = `!!!not base64*** ${random()}`; }), reason: /body is not valid base64/ },
      { label: 'base64 with junk inside', make: () => variant((e) => { e.body = b64('[[1], {}, {}]').slice(0, 8) + '$%&' + b64('x'); }), reason: /body is not valid base64/ },
      { label: 'base64 of text', make: () => withBody(`not json ${random()}`), reason: /body is not valid JSON/ },
      { label: 'pickle content type', make: () => variant((e) => { e['content-type'] = 'application/x-python-serialize'; e.body = b64(PICKLE); }), reason: /Radish accepts application\/json only/ },
      { label: 'yaml content type', make: () => variant((e) => { e['content-type'] = 'application/x-yaml'; e.body = b64('- [1]\n- {}\n'); }), reason: /application\/json only/ },
      { label: 'msgpack content type', make: () => variant((e) => { e['content-type'] = 'application/x-msgpack'; e.body = b64(Buffer.from([0x93, 0x91, 0x01, 0x80, 0x80])); }), reason: /application\/json only/ },
      { label: 'no content type', make: () => variant((e) => { delete (e as Record<string, unknown>)['content-type']; }), reason: /unsupported content type/ },
      { label: 'binary content encoding', make: () => variant((e) => { e['content-encoding'] = 'binary'; }), reason: /unsupported content encoding/ },
      { label: 'gzip content encoding', make: () => variant((e) => { e['content-encoding'] = 'gzip'; }), reason: /unsupported content encoding/ },
      // The body's shape and types.
      { label: 'args not a list', make: () => withBody('[5, {}, {}]'), reason: /args must be a list/ },
      { label: 'args is a string', make: () => withBody('["1, 2", {}, {}]'), reason: /args must be a list/ },
      { label: 'kwargs is a list', make: () => withBody('[[1], [], {}]'), reason: /kwargs must be an object/ },
      { label: 'kwargs is null', make: () => withBody('[[1], null, {}]'), reason: /kwargs must be an object/ },
      { label: 'body too short', make: () => withBody('[[1]]'), reason: /body must be \[args, kwargs, embed\]/ },
      { label: 'body is a dict (protocol 2)', make: () => withBody('{"args": [1], "kwargs": {}}'), reason: /body must be \[args, kwargs, embed\]/ },
      { label: 'body nested 100,000 deep', make: () => withBody(deep(100_000)), reason: /body/ },
      { label: 'embed is a list', make: () => withBody('[[1], {}, [1]]'), reason: /body embed must be an object/ },
      { label: 'embed chain not a list', make: () => withBody('[[1], {}, {"chain": 7}]'), reason: /embed\.chain/ },
      { label: 'embed callbacks of strings', make: () => withBody('[[1], {}, {"callbacks": ["tasks.scale"]}]'), reason: /embed\.callbacks/ },
      { label: 'embed chord a list', make: () => withBody('[[1], {}, {"chord": [1]}]'), reason: /embed\.chord/ },
      // Headers with the wrong types.
      { label: 'no id', make: () => variant((e) => { delete e.headers.id; }), reason: /task id is missing/ },
      { label: 'id is a number', make: () => variant((e) => { e.headers.id = 42; }), reason: /task id is missing/ },
      { label: 'id is empty', make: () => variant((e) => { e.headers.id = ''; }), reason: /task id is missing/ },
      { label: 'task is a number', make: () => variant((e) => { e.headers.task = 7; }), reason: /no task name/ },
      { label: 'task is empty', make: () => variant((e) => { e.headers.task = ''; }), reason: /task name is missing/ },
      { label: 'headers is a list', make: () => variant((e) => { (e as Record<string, unknown>).headers = ['tasks.scale']; }), reason: /no task name/ },
      { label: 'eta is words', make: () => variant((e) => { e.headers.eta = 'tomorrow'; }), reason: /^eta: / },
      { label: 'eta is an object', make: () => variant((e) => { e.headers.eta = { at: 5 }; }), reason: /^eta: / },
      { label: 'eta is true', make: () => variant((e) => { e.headers.eta = true; }), reason: /^eta: / },
      { label: 'expires is words', make: () => variant((e) => { e.headers.expires = 'soon'; }), reason: /^expires: / },
      { label: 'retries is a string', make: () => variant((e) => { e.headers.retries = 'three'; }), reason: /retries must be a number/ },
      { label: 'retries is a list', make: () => variant((e) => { e.headers.retries = [1]; }), reason: /retries must be a number/ },
      { label: 'timelimit of strings', make: () => variant((e) => { e.headers.timelimit = ['ten', null]; }), reason: /timelimit\[0\] must be a number/ },
      { label: 'parent_id is a number', make: () => variant((e) => { e.headers.parent_id = 5; }), reason: /parent_id must be a string/ },
      { label: 'root_id is an object', make: () => variant((e) => { e.headers.root_id = {}; }), reason: /root_id must be a string/ },
      { label: 'group is a number', make: () => variant((e) => { e.headers.group = 7; }), reason: /group must be a string/ },
      { label: 'group_index is a string', make: () => variant((e) => { e.headers.group_index = 'first'; }), reason: /group_index must be a number/ },
      { label: 'routing_key is a number', make: () => variant((e) => { (e.properties.delivery_info as Record<string, unknown>).routing_key = 5; }), reason: /routing_key must be a string/ },
      { label: 'exchange is a list', make: () => variant((e) => { (e.properties.delivery_info as Record<string, unknown>).exchange = []; }), reason: /exchange must be a string/ },
      // Well-formed, but no task a worker may run with them.
      { label: 'unknown task', make: () => variant((e) => { e.headers.task = 'tasks.python_only'; }), reason: /^unregistered task tasks\.python_only$/ },
      { label: 'task __proto__', make: () => variant((e) => { e.headers.task = '__proto__'; }), reason: /^unregistered task __proto__$/ },
      { label: 'task constructor', make: () => variant((e) => { e.headers.task = 'constructor'; }), reason: /^unregistered task constructor$/ },
      { label: 'task name with a newline', make: () => variant((e) => { e.headers.task = 'tasks.scale\n[2026-01-01 00:00:00,000: INFO/MainProcess] forged'; }), reason: /^unregistered task / },
      { label: 'task name of 100 kB', make: () => variant((e) => { e.headers.task = 'x'.repeat(100_000); }), reason: /^unregistered task x+$/ },
      { label: 'unexpected keyword argument', make: () => withBody('[[1], {"z": 1}, {}]'), reason: /^failed: TypeError\(.*unexpected keyword argument 'z'/ },
      { label: 'keyword __proto__', make: () => withBody('[[], {"__proto__": {"polluted": true}}, {}]'), reason: /^failed: TypeError\(.*unexpected keyword argument '__proto__'/ },
      { label: 'argument given twice', make: () => withBody('[[1], {"i": 2}, {}]'), reason: /^failed: TypeError\(.*multiple values for argument 'i'/ },
      // Protocol 1 (no headers.task: everything in the body), with nonsense.
      { label: 'protocol 1: task is a number', make: () => v1({ task: 5, id: 'x', args: [] }), reason: /no task name/ },
      { label: 'protocol 1: empty body', make: () => v1({}), reason: /no task name/ },
      { label: 'protocol 1: body is a list', make: () => v1([1, 2]), reason: /no task name/ },
      { label: 'protocol 1: no id', make: () => v1({ task: 'tasks.scale', args: [1] }), reason: /task id is missing/ },
      { label: 'protocol 1: args is a string', make: () => v1({ task: 'tasks.scale', id: `v1-${random()}`, args: '1, 2' }), reason: /args must be a list/ },
      { label: 'protocol 1: kwargs is a list', make: () => v1({ task: 'tasks.scale', id: `v1-${random()}`, args: [1], kwargs: [] }), reason: /kwargs must be an object/ },
      { label: 'protocol 1: eta is words', make: () => v1({ task: 'tasks.scale', id: `v1-${random()}`, args: [1], eta: 'yesterday-ish' }), reason: /^eta: / },
      { label: 'protocol 1: callbacks of numbers', make: () => v1({ task: 'tasks.scale', id: `v1-${random()}`, args: [1], callbacks: [1] }), reason: /embed\.callbacks/ },
      // Not UTF-8 where a JSON text must be: in the envelope, and in the body once base64-decoded.
      { label: 'Latin-1 task name', make: () => Buffer.from(variant((e) => { e.headers.task = 'tasks.scal\u00e9'; }), 'latin1'), reason: /unregistered task|not valid/ },
      { label: 'body not UTF-8', make: () => withBody(Buffer.concat([Buffer.from('[[1], {"label": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}, {}]')])), reason: /body/ },
      // Hostile copies of valid messages: the same delivery tag, or the same task id, with a broken body.
      { label: 'delivery tag of a valid message', make: () => { const e = someValidEnvelope(); e.body = b64('[[1], {}'); e.retries = random(); return JSON.stringify(e); }, reason: /body is not valid JSON/ },
      { label: 'task id of a valid message', make: () => { const e = someValidEnvelope(); e.properties.delivery_tag = `t-${random()}`; e.body = b64('[7, {}, {}]'); return JSON.stringify(e); }, reason: /args must be a list/ },
      // A few megabytes.
      { label: '3 MB of text', make: () => 'x'.repeat(3 * MB) + random(), reason: notJson, max: 2 },
      { label: '3 MB body not JSON', make: () => withBody(randomBytes(2 * MB).toString('hex').slice(0, 3 * MB)), reason: /body is not valid JSON/, max: 2 },
      { label: '4 MB bad base64', make: () => variant((e) => { e.body = '*'.repeat(4 * MB); }), reason: /body is not valid base64/, max: 2 },
      { label: '3 MB args for an unknown task', make: () => variant((e) => { e.headers.task = 'tasks.huge'; e.body = b64(JSON.stringify([['y'.repeat(3 * MB)], {}, {}])); }), reason: /^unregistered task tasks\.huge$/, max: 2 },
    ];

    // The bad messages, round-robin over the kinds (the huge ones a few times only).
    const bad: { raw: Raw; kind: BadKind }[] = [];
    const made = new Map<BadKind, number>();
    while (bad.length < BAD) {
      for (const kind of kinds) {
        if (bad.length >= BAD) break;
        if (kind.max !== undefined && (made.get(kind) ?? 0) >= kind.max) continue;
        made.set(kind, (made.get(kind) ?? 0) + 1);
        bad.push({ raw: kind.make(), kind });
      }
    }
    const expectedBad = new Map<string, { kind: BadKind; raw: Raw }[]>();
    for (const item of bad) {
      const key = digest(item.raw);
      expectedBad.set(key, [...(expectedBad.get(key) ?? []), item]);
    }

    // Pushed in a random order.
    const items: Raw[] = [...bad.map((b) => b.raw), ...good];
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }

    await worker.start();
    const pushedAt = Date.now();
    let pushed = 0;
    let sentByApp = 0;
    try {
      for (let i = 0; i < items.length; i += 50) {
        const chunk = items.slice(i, i + 50);
        await h.redis.lpush('celery', ...chunk);
        pushed += chunk.length;
        if (i === 500) {
          // And a bulk send through the client, in the middle of it all.
          const requests = Array.from({ length: VALID_SENT }, () => {
            const k = n++;
            const taskId = randomUUID();
            valid.set(taskId, `many:${k * 7}`);
            return { name: 'tasks.scale', args: [k], kwargs: { label: 'many' }, taskId };
          });
          sentByApp += (await app.sendMany(requests)).length;
        }
        if (i % 200 === 0) {
          const k = n++;
          const r = await app.send('tasks.scale', [k]);
          valid.set(r.id, `v:${k * 7}`);
          sentByApp++;
        }
      }
      const total = pushed + sentByApp;
      assert.equal(total, BAD + VALID_RAW + 1 + sentByApp);
      assert.equal(valid.size, VALID_RAW + 1 + sentByApp);

      // Wait for every valid task to end and every bad message to be dead-lettered.
      const ids = [...valid.keys()];
      // (Or until nothing has moved for 3 s: what is missing by then is not coming.)
      let progress = '';
      let lastMove = Date.now();
      await poll(async () => {
        let ended = 0;
        for (let i = 0; i < ids.length; i += 500) ended += await h.redis.exists(...ids.slice(i, i + 500).map((id) => `celery-task-meta-${id}`));
        const dead = await h.redis.llen('radish.dlq');
        if (ended === ids.length && dead >= BAD) return true;
        if (`${ended}/${dead}` !== progress) [progress, lastMove] = [`${ended}/${dead}`, Date.now()];
        return Date.now() - lastMove >= 3000;
      }, 60_000, 100);
      await delay(200); // anything still on its way to the dead-letter list lands now
      const took = (Date.now() - pushedAt) / 1000;

      // Valid tasks: SUCCESS with the right value.
      const succeeded: string[] = [];
      const wrong: string[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const raws = await h.redis.mget(...slice.map((id) => `celery-task-meta-${id}`));
        raws.forEach((raw, k) => {
          const id = slice[k]!;
          const meta = raw === null ? null : JSON.parse(raw) as { status: string; result: unknown };
          if (meta?.status === 'SUCCESS' && meta.result === valid.get(id)) succeeded.push(id);
          else wrong.push(`${id}: ${meta ? `${meta.status} ${JSON.stringify(meta.result).slice(0, 200)}` : 'no result'}`);
        });
      }

      // Dead letters: read as bytes, so a record's `raw` can be compared with what was pushed byte for byte. JSON's
      // structure is ASCII, so reading the record as Latin-1 maps each byte of `raw` to one character.
      const records = (await h.redis.lrangeBuffer('radish.dlq', 0, -1)).map((buf) => JSON.parse(buf.toString('latin1')) as { reason?: unknown; raw?: unknown });
      const unmatched: string[] = [];
      const badReasons: string[] = [];
      const remaining = new Map([...expectedBad].map(([k, v]) => [k, [...v]]));
      for (const record of records) {
        const raw = typeof record.raw === 'string' ? Buffer.from(record.raw, 'latin1') : Buffer.alloc(0);
        const reason = typeof record.reason === 'string' ? Buffer.from(record.reason, 'latin1').toString('utf8') : '';
        const waiting = remaining.get(digest(raw));
        const kind = waiting?.shift()?.kind;
        if (!kind) {
          unmatched.push(`${JSON.stringify(reason)}: ${raw.subarray(0, 120).toString('utf8')}${raw.length > 120 ? '...' : ''}`);
          continue;
        }
        if (!waiting!.length) remaining.delete(digest(raw));
        if (reason === '' || (kind.reason && !kind.reason.test(reason))) badReasons.push(`${kind.label}: ${JSON.stringify(reason.slice(0, 200))}`);
      }
      // What became of the bad messages that are not there (when their task id can be read).
      const missing: string[] = [];
      for (const { kind, raw } of [...remaining.values()].flat()) {
        let fate = '';
        try {
          const id = (JSON.parse(raw.toString()) as Envelope).headers?.id;
          const stored = typeof id === 'string' ? await h.redis.get(`celery-task-meta-${id}`) : null;
          if (stored) fate = ` (task ${(JSON.parse(stored) as { status: string }).status})`;
        } catch { /* not JSON */ }
        missing.push(kind.label + fate);
      }

      // Still consuming: one more task, after all that.
      const last = await app.send('tasks.scale', [1000], { label: 'last' });
      const lastValue = await last.get({ timeout: 10_000 });
      let unacked = 0;
      await poll(async () => (unacked = await h.redis.hlen('unacked')) === 0, 5000, 100);
      const owners = await h.redis.hlen('radish.owners');
      const alive = await h.redis.exists('radish.worker.bad-input@test');

      console.log(`      bad input: ${total} messages (${BAD} bad of ${kinds.length} kinds, ${valid.size} valid), ` +
        `${succeeded.length} succeeded, ${records.length} dead-lettered, took ${took.toFixed(1)} s`);
      const count = (labels: string[]) => [...labels.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>())].map(([l, c]) => `${l} x${c}`).join('; ');
      const trouble = lines.filter((l) => /Could not dead-letter|could not record|cannot fetch|Unhandled|TypeError: Cannot/.test(l));
      const problems = [
        ...wrong.map((w) => `valid task did not succeed with its value: ${w}`),
        ...(missing.length ? [`bad messages not in the dead-letter list byte for byte: ${count(missing)}`] : []),
        ...(unmatched.length ? [`dead-letter records that match no bad message byte for byte: ${count(unmatched)}`] : []),
        ...(badReasons.length ? [`dead-letter records without the right reason: ${count(badReasons)}`] : []),
        ...trouble.map((t) => `worker log: ${t}`),
      ];
      assert.deepEqual(problems, []);
      assert.equal(succeeded.length + records.length, total, 'valid successes + dead letters == messages pushed');
      assert.equal(lastValue, 'last:7000', 'the worker still consumes');
      assert.equal(alive, 1, "the worker's presence record is still there");
      assert.equal(unacked, 0, 'nothing left unacked');
      assert.equal(owners, 0, 'nothing left owned');
      assert.equal(await h.redis.llen('celery'), 0, 'nothing left in the queue');
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    } finally {
      await worker.stop();
      await app.close();
    }
  });
});
