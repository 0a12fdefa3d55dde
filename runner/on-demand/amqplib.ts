/** What Radish uses of amqplib, bundled on its own as dist/vendor/amqplib.js (see ./load.ts). */
export { connect } from 'amqplib';
