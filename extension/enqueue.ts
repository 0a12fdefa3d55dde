/**
 * Sending a task from the editor: pick a task, give args (JSON array) and kwargs (JSON object), validated as you
 * type and remembered per task, then queue, priority and countdown with sensible defaults. The result is
 * announced when it arrives, with a button to open it.
 */
import * as vscode from 'vscode';
import type { AsyncResult } from '../runner/index';
import { runner } from './runner';
import type { Services } from './services';
import { errorMessage } from '../runner/errors';

export interface EnqueueRequest {
  task?: string;
  queue?: string;
  /** Skip the questions: send with the last args used for this task (CodeLens "Enqueue"). */
  quick?: boolean;
  /** Send with exactly these arguments, no questions (other extensions, tests, keybindings). */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  priority?: number;
  countdown?: number;
}

interface Remembered {
  args: string;
  kwargs: string;
}

const MEMORY = 'radish.lastArgs';

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

async function pickTask(s: Services): Promise<string | undefined> {
  const items: vscode.QuickPickItem[] = [];
  const seen = new Set<string>();
  for (const site of s.tasks.sites()) {
    if (seen.has(site.name)) continue;
    seen.add(site.name);
    items.push({ label: site.name, description: vscode.workspace.asRelativePath(site.file), detail: site.params.length ? `(${site.params.join(', ')})` : undefined });
  }
  try {
    for (const w of await (await s.connection.inspector()).workers()) {
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
  pick.placeholder = 'Pick a task, or type any task name (Python tasks too)';
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

async function askJson(title: string, value: string, shape: 'array' | 'object', prompt: string): Promise<string | undefined> {
  return vscode.window.showInputBox({ title, value, prompt, ignoreFocusOut: true, validateInput: (t) => jsonProblem(t, shape) });
}

/** Run the enqueue flow; returns the sent task's id, or undefined when cancelled. */
export async function enqueue(s: Services, request: EnqueueRequest = {}): Promise<string | undefined> {
  const name = request.task ?? (await pickTask(s));
  if (!name) return undefined;
  const memory = s.context.workspaceState.get<Record<string, Remembered>>(MEMORY) ?? {};
  const last = memory[name] ?? { args: '[]', kwargs: '{}' };
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
  if (!request.quick && !given) {
    const hint = site?.params.length ? ` Parameters: (${site.params.join(', ')}).` : '';
    const a = await askJson(`Radish: Enqueue ${name} (2/4): args`, argsText, 'array', `Positional arguments as a JSON array.${hint}`);
    if (a === undefined) return undefined;
    const k = await askJson(`Radish: Enqueue ${name} (3/4): kwargs`, kwargsText, 'object', 'Keyword arguments as a JSON object (matched to parameters by name).');
    if (k === undefined) return undefined;
    argsText = a;
    kwargsText = k;
    const options = await askOptions(s, name, queue);
    if (!options) return undefined;
    ({ queue, priority, countdown } = options);
  }
  memory[name] = { args: argsText, kwargs: kwargsText };
  await s.context.workspaceState.update(MEMORY, memory);
  const app = await s.connection.client();
  const result = await app.send(name, JSON.parse(argsText) as unknown[], JSON.parse(kwargsText) as Record<string, unknown>, { queue, priority, countdown });
  const where = queue ?? app.route(name).queue;
  void vscode.window.showInformationMessage(`Radish: sent ${name}[${result.id}] to ${where}`);
  s.refresh.refreshSoon();
  void announce(s, name, result);
  return result.id;
}

async function askOptions(s: Services, name: string, preset?: string): Promise<{ queue: string; priority: number; countdown: number } | undefined> {
  const app = await s.connection.client();
  const route = app.route(name, preset ? { queue: preset } : {});
  let known: string[] = [];
  try {
    known = (await (await s.connection.inspector()).queues()).map((q) => q.queue);
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

/** Wait for the result in the background and say how it ended. */
async function announce(s: Services, name: string, result: AsyncResult): Promise<void> {
  try {
    const value = await result.get({ timeout: 15 * 60_000 });
    const text = JSON.stringify(value);
    const choice = await vscode.window.showInformationMessage(`Radish: ${name}[${result.id}] succeeded: ${text.length > 80 ? text.slice(0, 79) + '…' : text}`, 'Open');
    if (choice) await s.documents.show(`results/${name}-${result.id}.json`, JSON.stringify(await result.meta(), null, 2));
  } catch (err) {
    const message = err instanceof runner().TaskFailedError ? `${err.state === 'REVOKED' ? 'was revoked' : 'failed'}: ${err.name}: ${err.message}` : `: ${errorMessage(err)}`;
    const choice = await vscode.window.showErrorMessage(`Radish: ${name}[${result.id}] ${message}`, 'Open');
    if (choice) await s.documents.show(`results/${name}-${result.id}.json`, JSON.stringify(await result.meta().catch(() => null), null, 2));
  } finally {
    s.refresh.refreshSoon();
  }
}
