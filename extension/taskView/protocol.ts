/**
 * What the task view's panel and its webview say to each other: the task as the page shows it (built in model.ts,
 * plain JSON), and the user's actions. Types only, shared by both sides: the webview bundle imports nothing else.
 */

/** Another task, named where this one links to it (a child, a retry, the parent). */
export interface TaskLink {
  id: string;
  name?: string;
  /** Its state, when the history or the backend knows it. */
  state?: string;
}

/** One step of the task's life, as its events told it (or as a dead-letter record or stored result did). */
export interface TimelineEntry {
  /** `task-received`, ..., or `dead-lettered` / `stored` when no event was seen. */
  type: string;
  /** What happened, in a few words: "received by w1@host", "failed: ValueError('x')". */
  label: string;
  /** Unix seconds. */
  time: number;
  /** Seconds since the previous entry. */
  since?: number;
  /** Whether this step is a failure, a retry or a revoke (drawn in the error colour). */
  bad?: boolean;
}

/** A value as the page shows it: exact JSON, or the Python repr the events carried. */
export type ShownValue = { json: unknown; source: string } | { text: string; source: string };

/** One line of a traceback: a frame in the user's code (a link), a runner or library frame (collapsed), or text. */
export interface TraceLine {
  text: string;
  kind: 'user' | 'runner' | 'text';
  file?: string;
  line?: number;
  column?: number;
}

/** What is in the message's body besides the arguments: the canvas this task is part of. */
export interface CanvasEntry {
  role: 'callback' | 'errback' | 'chain step' | 'chord callback';
  task: string;
}

export interface TaskModel {
  id: string;
  name: string;
  /** SENT, RECEIVED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED, or PENDING when nothing is known yet. */
  state: string;
  /** A failed task still in the dead-letter list (so Retry replays its exact message). */
  deadLettered: boolean;
  /** Why it was dead-lettered, when it was. */
  reason?: string;
  queue?: string;
  worker?: string;
  retries?: number;
  runtime?: number;
  parent?: TaskLink;
  root?: TaskLink;
  /** The attempt this one was retried from (from this window's Retry), and the attempts retried from it. */
  retryOf?: TaskLink;
  retriedAs: TaskLink[];
  timeline: TimelineEntry[];
  args?: ShownValue;
  kwargs?: ShownValue;
  result?: ShownValue;
  exception?: { summary: string; trace: TraceLine[] };
  children: TaskLink[];
  /** How many children it has in all (at most 100 are listed). */
  childCount: number;
  canvas: CanvasEntry[];
  /** Still moving: the page says it updates live. */
  live: boolean;
  /** Why each action is not offered (absent: offered). */
  cannot: { retry?: string; revoke?: string; copy?: string };
  /** The JSON the edited-args editor starts from. */
  editable?: { args: string; kwargs: string };
}

/** From the page to the extension. */
export type ViewRequest =
  | { type: 'ready' }
  | { type: 'retry' }
  /** Send it again (as a retry does) to the local worker started under the debugger. */
  | { type: 'debug' }
  | { type: 'retryEdited'; args: string; kwargs: string }
  | { type: 'revoke' }
  | { type: 'copy'; as: 'call' | 'sendTask' }
  | { type: 'open'; id: string }
  | { type: 'openFrame'; file: string; line: number; column?: number };

/** From the extension to the page. */
export type ViewUpdate =
  | { type: 'model'; model: TaskModel }
  | { type: 'busy'; what: string | undefined }
  | { type: 'problem'; message: string };
