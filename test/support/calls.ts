/** The call a client made, read back from its message: what golden tests re-encode to compare with a capture. */
import { messageStamps } from '../../runner/protocol/message-decode';
import type { TaskCall, TaskMessage } from '../../runner/protocol/message';

/** Headers every Celery task message has (5.2's, and 5.3+'s three), kombu's redelivered mark and Radish's send time. */
const STANDARD = new Set(['lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit',
  'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps',
  'redelivered', 'radish_sent_at']);

/** The call behind a message: its fields, any custom headers the sender added, and its stamps (Celery 5.3+). */
export function callOf(msg: TaskMessage): TaskCall {
  const h = msg.envelope.headers;
  const extra = Object.fromEntries(Object.entries(h).filter(([k]) => !STANDARD.has(k)));
  return {
    id: msg.id, name: msg.name, args: msg.args, kwargs: msg.kwargs, queue: msg.routingKey, priority: msg.priority,
    eta: msg.eta, expires: msg.expires, retries: msg.retries, timeLimit: msg.timeLimit, softTimeLimit: msg.softTimeLimit,
    parentId: msg.parentId, rootId: msg.rootId, groupId: msg.groupId, groupIndex: msg.groupIndex,
    ignoreResult: msg.ignoreResult, shadow: h.shadow, embed: msg.embed, headers: extra,
    stamps: Array.isArray(h.stamped_headers) ? messageStamps(msg) : null,
    // Radish's send-time stamp as it was, none for Celery's messages: the same bytes again.
    sentAt: msg.sentAt,
  };
}
