/** How the CLI words the outcomes of queue control (runner/queue-control.ts): pause, resume and drain. */
import type { DrainOutcome, DrainProgress, PauseOutcome, ResumeOutcome } from './queue-control';

function nodes(list: readonly string[]): string {
  return list.length ? list.join(', ') : 'none';
}

/** What a pause did, on a few lines, ending with what it cannot do (Celery workers started later). */
export function describePause(o: PauseOutcome): string {
  const lines = [
    `Queue ${o.queue} ${o.alreadyPaused ? 'was paused already; paused again' : 'paused'}: its messages wait in it.`,
    `  Radish workers no longer taking from it: ${nodes(o.radish)}`,
    ...(o.radishUnconfirmed.length ? [`  Radish workers that did not answer (they read the pause within a second): ${nodes(o.radishUnconfirmed)}`] : []),
    `  Celery workers told cancel_consumer: ${nodes(o.celery)}`,
    'A Celery worker started from now on consumes it all the same (Celery has no pause): pause it again to stop that one.',
  ];
  return lines.join('\n') + '\n';
}

export function describeResume(o: ResumeOutcome): string {
  const lines = [
    o.wasPaused ? `Queue ${o.queue} resumed.` : `Queue ${o.queue} was not paused; the workers were told all the same.`,
    `  Radish workers told: ${nodes(o.radish)}`,
    ...(o.radishUnconfirmed.length ? [`  Radish workers that did not answer (they read it within a second): ${nodes(o.radishUnconfirmed)}`] : []),
    `  Celery workers told add_consumer: ${nodes(o.celery)}`,
  ];
  return lines.join('\n') + '\n';
}

/** One poll of a drain: `w1@vm: 2 running, 1 reserved, 0 scheduled (3 s)`. */
export function describeProgress(p: DrainProgress): string {
  return `${p.node}: ${p.active} running, ${p.reserved} reserved, ${p.scheduled} scheduled (${Math.round(p.elapsed)} s)\n`;
}

export function describeDrain(o: DrainOutcome): string {
  const what = o.drained
    ? `${o.node} finished what it held`
    : `${o.node} still held ${o.left.active} running and ${o.left.reserved} reserved task(s) at the timeout; shut it down anyway `
      + '(a warm shutdown: running tasks get its own shutdown timeout, reserved ones go back to their queues)';
  const stop = o.stopped ? 'and stopped.' : 'and was told to shut down, but it still answers.';
  return `Cancelled its queues (${nodes(o.queues)}); ${what}, ${stop}\n`;
}
