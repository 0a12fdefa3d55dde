import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';

/** Show a waiting message in full (args, kwargs, headers, properties), read-only, never truncated. */
export async function openMessage(s: Services, node?: QueueNode): Promise<void> {
  if (node?.kind !== 'message') return;
  const { message } = node;
  const task = message.task;
  const content = task
    ? { task: task.name, id: task.id, args: task.args, kwargs: task.kwargs, priority: task.priority, eta: task.eta, expires: task.expires,
        retries: task.retries, headers: task.envelope.headers, properties: task.envelope.properties, embed: task.embed }
    : { error: message.error, raw: message.raw };
  await s.documents.show(`queues/${node.queue}/${task ? `${task.name}-${task.id}` : `message-${node.position}`}.json`, JSON.stringify(content, null, 2));
}
