// Mocha's loader: the runner's own TypeScript hook (built into dist by `npm run build`), with `import 'radish'`
// resolved to the source, so tests and the task modules they load share one copy of every class.
const path = require('node:path');
const { registerLoader } = require('../../dist/radish.js');

registerLoader({ radishPath: path.resolve(__dirname, '../../runner/index.ts') });

// What esbuild.mjs does for the bundles: amqplib reads AMQP field tables with Radish's decoder (see
// runner/broker/amqp/field-table.ts), put in place before amqplib's defs.js captures its own.
const amqplibCodec = path.join(path.dirname(require.resolve('amqplib')), 'lib', 'codec.js');
require(amqplibCodec).decodeFields = require('../../runner/broker/amqp/field-table').decodeFieldTable;

// Where each timer still pending was set, so that the end-of-run message below can name the test that left it. Kept
// for timers only (what is left is most often one), with the creating stack's first frames outside Node.
const timerOrigins = new Map();
let setSincePrune = 0;
for (const name of ['setTimeout', 'setInterval']) {
  const original = global[name];
  global[name] = function tracked(...args) {
    const timer = original.apply(this, args);
    if (timer && typeof timer === 'object') {
      // Fired and cleared timers are dropped now and then, so the map holds about the timers alive.
      if (++setSincePrune >= 1000) {
        setSincePrune = 0;
        for (const t of timerOrigins.keys()) if (t._destroyed) timerOrigins.delete(t);
      }
      const frames = (new Error().stack ?? '').split('\n').slice(2).filter((l) => !l.includes('node:internal')).slice(0, 4);
      timerOrigins.set(timer, frames.map((l) => l.trim()).join(' < '));
    }
    return timer;
  };
  // util.promisify(setTimeout) reads the original's own promisified form.
  Object.defineProperties(global[name], Object.getOwnPropertyDescriptors(original));
}

// Where each Redis client was made: a client left open reconnects for ever once its server is stopped (its retry
// timer is what keeps the run alive), and the timer's own stack names only ioredis.
const redisClients = [];
{
  const Redis = require('ioredis');
  const connect = Redis.prototype.connect;
  Redis.prototype.connect = function trackedConnect(...args) {
    if (!this.radishTestOrigin) {
      this.radishTestOrigin = (new Error().stack ?? '').split('\n').slice(2).filter((l) => !l.includes('node_modules')).slice(0, 4)
        .map((l) => l.trim()).join(' < ');
      redisClients.push(new WeakRef(this));
    }
    return connect.apply(this, args);
  };
}

function openRedisClients() {
  // The same test as the tests' own (a client closed while its server is down keeps its last status until its end).
  const { willReconnect } = require('./redis');
  return redisClients.map((ref) => ref.deref()).filter((c) => c && willReconnect(c)).map((c) => `${c.status} (made at ${c.radishTestOrigin})`);
}

function pendingTimers() {
  const out = [];
  for (const [timer, origin] of timerOrigins) {
    if (timer._destroyed) timerOrigins.delete(timer);
    else if (timer.hasRef()) out.push(origin);
  }
  return out;
}

exports.mochaHooks = {
  async afterAll() {
    const { stopAllRedis } = require('./redis');
    const { stopAllCeleryWorkers } = require('./celery');
    const { stopAllRabbit } = require('./rabbitmq');
    await stopAllCeleryWorkers();
    await stopAllRedis();
    await stopAllRabbit();
    // A test that leaves a handle open would keep mocha (and CI) waiting for ever: say what is left, then end with
    // the exit code mocha set. The timer is unref'd: a clean run exits at once, without waiting for it.
    setTimeout(() => {
      const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      console.error(`mocha: still running 20 s after the last test; open handles: ${left.join(', ')}`);
      for (const origin of pendingTimers()) console.error(`  a timer set at ${origin}`);
      for (const client of openRedisClients()) console.error(`  a Redis client still open: ${client}`);
      process.exit();
    }, 20_000).unref();
  },
};
