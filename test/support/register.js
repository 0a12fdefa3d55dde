// Mocha's loader: the runner's own TypeScript hook (built into dist by `npm run build`), with `import 'radish'`
// resolved to the source, so tests and the task modules they load share one copy of every class.
const path = require('node:path');
const { registerLoader } = require('../../dist/radish.js');

registerLoader({ radishPath: path.resolve(__dirname, '../../runner/index.ts') });

// What esbuild.mjs does for the bundles: amqplib reads AMQP field tables with Radish's decoder (see
// runner/broker/amqp/field-table.ts), put in place before amqplib's defs.js captures its own.
const amqplibCodec = path.join(path.dirname(require.resolve('amqplib')), 'lib', 'codec.js');
require(amqplibCodec).decodeFields = require('../../runner/broker/amqp/field-table').decodeFieldTable;

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
      process.exit();
    }, 20_000).unref();
  },
};
