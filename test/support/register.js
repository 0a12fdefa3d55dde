// Mocha's loader: the runner's own TypeScript hook (built into dist by `npm run build`), with `import 'radish'`
// resolved to the source, so tests and the task modules they load share one copy of every class.
const path = require('node:path');
const { registerLoader } = require('../../dist/radish.js');

registerLoader({ radishPath: path.resolve(__dirname, '../../runner/index.ts') });

exports.mochaHooks = {
  async afterAll() {
    const { stopAllRedis } = require('./redis');
    const { stopAllCeleryWorkers } = require('./celery');
    await stopAllCeleryWorkers();
    await stopAllRedis();
  },
};
