/**
 * Sending a task from the editor: pick a task, give args (JSON array) and kwargs (JSON object), validated as you
 * type and remembered per task, then queue, priority and countdown with sensible defaults. The result is
 * announced when it arrives, with a button to open it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Radish, WorkerDetails } from '../runner/index';
import { announce } from './announce';
import type { TaskDefinitionSite } from './discovery/types';
import { runner } from './runner';
import type { Services } from './services';
import { errorMessage } from '../runner/errors';

export interface EnqueueRequest {
  task?: string;
  queue?: string;
  /**
   * Skip the questions: send with the last args used for this task (CodeLens "Enqueue"). A task whose required
   * parameters those args do not give (none sent yet, say) is asked for its args first.
   */
  quick?: boolean;
  /** Without `task`: pick among the tasks defined in this file (its `fsPath`) only (the editor's context menu). */
  file?: string;
  /** Send with exactly these arguments, no questions (other extensions, tests, keybindings). */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  priority?: number;
  countdown?: number;
}

/** Args (a JSON array) and kwargs (a JSON object) as last sent, in the text the user gave. */
export interface Remembered {
  args: string;
  kwargs: string;
}

const MEMORY = 'radish.lastArgs';

/**
 * The args and kwargs last sent per task, kept in the workspace's state. One instance per Memento, so the enqueue
 * flow and the CodeLens tooltips share it and its change event.
 */
export class LastArgs {
  private static readonly instances = new WeakMap<vscode.Memento, LastArgs>();
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the name of the task whose args were remembered. */
  readonly onDidChange = this.changed.event;

  private constructor(private readonly state: vscode.Memento) {}

  static of(state: vscode.Memento): LastArgs {
    let memory = LastArgs.instances.get(state);
    if (!memory) {
      memory = new LastArgs(state);
      LastArgs.instances.set(state, memory);
    }
    return memory;
  }

  get(task: string): Remembered | undefined {
    return this.state.get<Record<string, Remembered>>(MEMORY)?.[task];
  }

  async set(task: string, value: Remembered): Promise<void> {
    await this.state.update(MEMORY, { ...this.state.get<Record<string, Remembered>>(MEMORY), [task]: value });
    this.changed.fire(task);
  }
}

type TaskParameters = Pick<TaskDefinitionSite, 'params' | 'required'>;

function parsed(remembered: Remembered): { args: unknown[]; kwargs: Record<string, unknown> } | undefined {
  try {
    const args: unknown = JSON.parse(remembered.args);
    const kwargs: unknown = JSON.parse(remembered.kwargs);
    if (!Array.isArray(args) || typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) return undefined;
    return { args, kwargs: kwargs as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * Whether `remembered` gives every required parameter of the task (by position, or by name in kwargs). Nothing
 * remembered gives none; neither do args saved before the CodeLens asked (`[]` for a task that needs two).
 */
export function coversRequired(task: TaskParameters | undefined, remembered: Remembered | undefined): boolean {
  const required = task?.required ?? 0;
  if (!remembered) return required === 0;
  const values = parsed(remembered);
  if (!values) return false;
  for (let i = values.args.length; i < required; i++) {
    const name = task?.params[i];
    if (name === undefined || !(name in values.kwargs)) return false;
  }
  return true;
}

function shortJson(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/** What CodeLens "Enqueue" does for a task, for its tooltip: `Send tasks.add with [2, 3]`, or that it asks first. */
export function quickEnqueueTooltip(task: TaskParameters & { name: string }, remembered: Remembered | undefined): string {
  if (!coversRequired(task, remembered)) return `${task.name} asks for args first: (${task.params.join(', ')})`;
  const { args, kwargs } = remembered ?? { args: '[]', kwargs: '{}' };
  const named = parsed({ args, kwargs });
  return `Send ${task.name} with ${shortJson(args)}${named && Object.keys(named.kwargs).length ? ` and ${shortJson(kwargs)}` : ''}`;
}

/** Why `text` is not a JSON value of that shape, or undefined when it is. */
export function jsonProblem(text: string, shape: 'array' | 'object'): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `Not valid JSON: ${errorMessage(err)}`;
  }
  if (shape === 'array' && !Array.isArray(value)) return 'Positional arguments must be a JSON array, e.g. [2, 3]';
  if (shape === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value))) return 'Keyword arguments must be a JSON object, e.g. {"width": 64}';
  return undefined;
}

/** A task name: picked among the workspace's and the workers' tasks, or among those defined in `file` only. */
async function pickTask(s: Services, file?: string): Promise<string | undefined> {
  const items: vscode.QuickPickItem[] = [];
  const seen = new Set<string>();
  for (const site of s.tasks.sites()) {
    if (seen.has(site.name) || (file !== undefined && site.file !== file)) continue;
    seen.add(site.name);
    items.push({ label: site.name, description: vscode.workspace.asRelativePath(site.file), detail: site.params.length ? `(${site.params.join(', ')})` : undefined });
  }
  try {
    for (const w of file === undefined ? await (await s.connection.inspector()).workers() : []) {
      for (const name of w.presence?.tasks ?? []) {
        if (seen.has(name)) continue;
        seen.add(name);
        items.push({ label: name, description: `registered on ${w.hostname}` });
      }
    }
  } catch {
    // offline: the tasks found in the sources are still offered
  }
  const pick = vscode.window.createQuickPick();
  pick.title = 'Radish: Enqueue Task (1/4): task';
  pick.placeholder = file === undefined
    ? 'Pick a task, or type any task name (Python tasks too)'
    : `Pick a task defined in ${path.basename(file)} (the cursor is in none of them), or type any task name`;
  pick.items = items;
  return new Promise((resolve) => {
    pick.onDidAccept(() => {
      resolve(pick.selectedItems[0]?.label ?? (pick.value.trim() || undefined));
      pick.hide();
    });
    pick.onDidHide(() => { resolve(undefined); pick.dispose(); });
    pick.show();
  });
}

async function askJson(title: string, value: string, shape: 'array' | 'object', prompt: string,
  check?: (value: unknown) => vscode.InputBoxValidationMessage | undefined): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title, value, prompt, ignoreFocusOut: true,
    validateInput: (t) => jsonProblem(t, shape) ?? check?.(JSON.parse(t)),
  });
}

/** A warning (it does not block: kwargs may give the rest) when args leave required parameters out. */
function requiredCheck(name: string, site: TaskParameters | undefined, kwargsToo: boolean): (value: unknown) => vscode.InputBoxValidationMessage | undefined {
  return (value) => {
    const given = Array.isArray(value) ? value.length : 0;
    if (!site || given >= site.required) return undefined;
    const message = `${name} takes (${site.params.join(', ')}): ${site.required} required, ${given} given${kwargsToo ? ' (kwargs may give the rest)' : ''}`;
    return { message, severity: vscode.InputBoxValidationSeverity.Warning };
  };
}

/** Run the enqueue flow; returns the sent task's id, or undefined when cancelled. */
export async function enqueue(s: Services, request: EnqueueRequest = {}): Promise<string | undefined> {
  const name = request.task ?? (await pickTask(s, request.file));
  if (!name) return undefined;
  const memory = LastArgs.of(s.context.workspaceState);
  const remembered = memory.get(name);
  const last = remembered ?? { args: '[]', kwargs: '{}' };
  const site = s.tasks.sites().find((t) => t.name === name);
  const given = request.args !== undefined || request.kwargs !== undefined;
  let argsText = given ? JSON.stringify(request.args ?? []) : last.args;
  let kwargsText = given ? JSON.stringify(request.kwargs ?? {}) : last.kwargs;
  let queue = request.queue ?? (typeof site?.options.queue === 'string' ? site.options.queue : undefined);
  let priority = request.priority;
  let countdown = request.countdown;
  if (given && (jsonProblem(argsText, 'array') || jsonProblem(kwargsText, 'object'))) {
    throw new TypeError('args must be a JSON array and kwargs a JSON object');
  }
  if (request.quick && !given && !coversRequired(site, remembered)) {
    // Sending [] to a task that needs arguments only fails in the worker: ask for them, once; they are remembered.
    const a = await askJson(`Radish: Enqueue ${name}: args`, argsText, 'array',
      `Positional arguments as a JSON array, for (${site?.params.join(', ') ?? ''}). Enter sends them, and the next "Enqueue" sends them again; "Enqueue with Args..." also sets kwargs, queue, priority and countdown.`,
      requiredCheck(name, site, false));
    if (a === undefined) return undefined;
    argsText = a;
  } else if (!request.quick && !given) {
    const hint = site?.params.length ? ` Parameters: (${site.params.join(', ')}).` : '';
    const a = await askJson(`Radish: Enqueue ${name} (2/4): args`, argsText, 'array', `Positional arguments as a JSON array.${hint}`, requiredCheck(name, site, true));
    if (a === undefined) return undefined;
    const k = await askJson(`Radish: Enqueue ${name} (3/4): kwargs`, kwargsText, 'object', 'Keyword arguments as a JSON object (matched to parameters by name).');
    if (k === undefined) return undefined;
    argsText = a;
    kwargsText = k;
    const options = await askOptions(s, name, site, queue);
    if (!options) return undefined;
    ({ queue, priority, countdown } = options);
  }
  await memory.set(name, { args: argsText, kwargs: kwargsText });
  // Its events heard from the first: the Tasks view lists it, whatever it does next.
  await s.live.beforeSend();
  const app = await s.connection.client();
  // The project's routes, not this window's client's (it has none): where the project's own code would send it.
  const routed = routeOf(app, name, site);
  const where = queue ?? routed.queue;
  const result = await app.send(name, JSON.parse(argsText) as unknown[], JSON.parse(kwargsText) as Record<string, unknown>, {
    queue: where, priority: priority ?? routed.priority, countdown,
  });
  s.refresh.refreshSoon();
  void announce(s, name, result, where);
  void warnIfUnconsumed(s, where);
  return result.id;
}

/** Queue and priority as the task's app routes it: the routes found beside its definition, else the default queue. */
function routeOf(app: Radish, name: string, site: TaskDefinitionSite | undefined, preset?: string): { queue: string; priority: number } {
  const withRoutes = site?.appRoutes ? new (runner().Radish)({ routes: site.appRoutes, defaultQueue: app.defaultQueue }) : app;
  return withRoutes.route(name, preset ? { queue: preset } : {});
}

async function askOptions(s: Services, name: string, site: TaskDefinitionSite | undefined, preset?: string): Promise<{ queue: string; priority: number; countdown: number } | undefined> {
  const app = await s.connection.client();
  const route = routeOf(app, name, site, preset);
  let known: string[] = [];
  try {
    known = (await s.queues.depths()).map((q) => q.queue);
  } catch {
    known = [];
  }
  const queue = await vscode.window.showInputBox({
    title: `Radish: Enqueue ${name} (4/4): queue, priority, countdown`,
    prompt: `Queue${known.length ? ` (known: ${known.join(', ')})` : ''}, then priority 0-9 (0 runs first) and countdown in seconds, e.g. "celery 0 10"`,
    value: `${route.queue} ${route.priority} 0`,
    ignoreFocusOut: true,
    validateInput: (text) => parseOptions(text) ? undefined : 'Write: <queue> [priority 0-9] [countdown seconds], e.g. "celery 0 10"',
  });
  return queue === undefined ? undefined : parseOptions(queue);
}

/** "<queue> [priority] [countdown]" -> options, or undefined when malformed. */
export function parseOptions(text: string): { queue: string; priority: number; countdown: number } | undefined {
  const [queue, p = '0', c = '0', ...rest] = text.trim().split(/\s+/);
  const priority = Number(p);
  const countdown = Number(c);
  if (!queue || rest.length || !Number.isInteger(priority) || priority < 0 || priority > 9 || !Number.isFinite(countdown) || countdown < 0) return undefined;
  return { queue, priority, countdown };
}

/**
 * A task sent to a queue no live worker consumes waits there, unseen: say so, with the fix (this window's worker
 * takes the queue, or starts on it). Quiet when the workers cannot be asked (the views say why).
 */
async function warnIfUnconsumed(s: Services, queue: string): Promise<void> {
  let workers: WorkerDetails[];
  try {
    workers = await s.connection.workers();
  } catch {
    return;
  }
  if (workers.some((w) => !w.unreachable && w.queues.includes(queue))) return;
  const pid = s.supervisor.pid;
  const local = s.supervisor.state === 'running'
    ? workers.find((w) => w.hostname === s.supervisor.nodeName || (pid !== undefined && w.pid === pid)) : undefined;
  const fix = local ? `Add "${queue}" to This Window's Worker` : `Start Worker on "${queue}"`;
  const choice = await vscode.window.showWarningMessage(`Radish: no live worker consumes "${queue}": the task waits there until one does.`, fix);
  if (choice !== fix) return;
  if (local) await vscode.commands.executeCommand('radish.addQueue', { kind: 'local', details: local }, queue);
  else await vscode.commands.executeCommand('radish.startWorker', { queues: [queue] });
}
