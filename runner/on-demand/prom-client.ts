/** What Radish uses of prom-client, bundled on its own as dist/vendor/prom-client.js (see ./load.ts). */
export { Counter, Gauge, Registry } from 'prom-client';
