/**
 * Celery's exchange names, as they appear inside messages (delivery_info, reply_to) and in kombu's Redis channel
 * and binding names. The protocol writes them; broker/keys.ts builds key names from them.
 */

/** Celery's remote-control exchange (fanout; `control_exchange` = `celery`, kombu's `%s.pidbox`). */
export const PIDBOX_EXCHANGE = 'celery.pidbox';

/** Celery's events exchange (fanout; `event_exchange` default). */
export const EVENT_EXCHANGE = 'celeryev';

/** The direct exchange control replies go through (kombu's `reply.%s.pidbox`). */
export const REPLY_EXCHANGE = 'reply.celery.pidbox';
