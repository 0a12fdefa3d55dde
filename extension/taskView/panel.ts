/**
 * The task view: one webview tab per task (opened from the Failed and Tasks views, the Workers view's running tasks
 * and result notifications; opening it again brings the same tab forward). It reads what is known of the task, shows
 * it (model.ts builds the page's content, dist/task-view.js draws it), follows it live while it moves, and carries
 * out what the user asks: Retry, Retry with Edited Args, Revoke, Copy as `radish call` / Python `send_task`, open a
 * linked task or a traceback frame.
 */
import { startWorkerDebug } from '../commands/worker/startWorkerDebug';
import * as vscode from 'vscode';
import type { TaskCallSpec, TaskHistory } from '../../runner/index';
import { jsonProblem } from '../enqueue';
import { webviewPage } from '../webview/page';
import { findFailed, notRetryable, retry } from '../retry';
import { runner } from '../runner';
import type { Services } from '../services';
import { failedIdentity, type FailedTask } from '../views/failed';
import { revoke } from '../commands/tasks/revokeTask';
import { radishCallLine } from '../commands/tasks/copyTaskAsCall';
import { buildModel, type TaskSources } from './model';
import type { TaskLink, TaskModel, ViewRequest, ViewUpdate } from './protocol';

/** Children listed at most. */
const CHILDREN = 100;
/** A moving task's tab is read again at most this often. */
const LIVE_MS = 1000;

interface OpenTask {
  panel: vscode.WebviewPanel;
  /** The Failed row it was opened from, while it is still listed (Retry replays its exact message). */
  failed?: FailedTask;
  model?: TaskModel;
  loading?: Promise<void>;
}

export class TaskPanels implements vscode.Disposable {
  private readonly open = new Map<string, OpenTask>();
  private readonly disposables: vscode.Disposable[] = [];
  private liveTimer: NodeJS.Timeout | undefined;

  /** `services`: read when first needed (the services hold this object too). */
  constructor(private readonly extensionUri: vscode.Uri, private readonly services: () => Services) {}

  /** Start following the fleet: a tab whose task (or its retry) is still moving is read again as events arrive. */
  follow(onEvents: vscode.Event<void>): void {
    this.disposables.push(onEvents(() => {
      this.liveTimer ??= setTimeout(() => {
        this.liveTimer = undefined;
        for (const [id, t] of this.open) if (t.panel.visible && moving(t.model)) void this.load(id);
      }, LIVE_MS);
    }));
  }

  /** Open (or bring forward) the tab of task `id`; `failed`: the Failed row it was opened from. */
  async show(id: string, failed?: FailedTask): Promise<TaskModel | undefined> {
    const t = this.open.get(id);
    if (t) {
      if (failed) t.failed = failed;
      // Read first, then brought forward, fresh. Revealed from inside a tree's click (still being handled), the
      // tab could stay behind the editor that had focus; after the read, the click is over.
      await this.load(id);
      t.panel.reveal(t.panel.viewColumn, false);
    } else {
      this.open.set(id, { panel: this.create(id), ...(failed ? { failed } : {}) });
      await this.load(id);
    }
    return this.open.get(id)?.model;
  }

  /** What the tab of `id` shows now (for tests and callers that act on it). */
  model(id: string): TaskModel | undefined {
    return this.open.get(id)?.model;
  }

  /** Read every open tab again (after an action changed what they show). */
  refreshAll(): void {
    for (const id of this.open.keys()) void this.load(id);
  }

  private create(id: string): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel('radish.task', `task[${id.slice(0, 8)}]`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'radish.svg');
    panel.webview.html = this.page(panel.webview);
    const subs = [
      panel.webview.onDidReceiveMessage((request: ViewRequest) => void this.handle(id, request)),
      // A tab brought back into view shows the task as it is now.
      panel.onDidChangeViewState((e) => { if (e.webviewPanel.visible) void this.load(id); }),
    ];
    panel.onDidDispose(() => {
      this.open.delete(id);
      for (const d of subs) d.dispose();
    });
    return panel;
  }

  private page(webview: vscode.Webview): string {
    return webviewPage(webview, {
      title: 'Radish task', mainId: 'task', placeholder: 'Loading the task…',
      script: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'task-view.js')),
      style: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'task-view.css')),
    });
  }

  private post(id: string, update: ViewUpdate): void {
    void this.open.get(id)?.panel.webview.postMessage(update);
  }

  /** Read the task and show it; one read at a time per tab (a read asked for meanwhile runs after it). */
  private async load(id: string): Promise<void> {
    const t = this.open.get(id);
    if (!t) return;
    const previous = t.loading;
    const run = (async () => {
      await previous?.catch(() => undefined);
      try {
        const model = await this.read(id, t);
        t.model = model;
        t.panel.title = `${model.name}[${id.slice(0, 8)}]`;
        this.post(id, { type: 'model', model });
      } catch (err) {
        this.post(id, { type: 'problem', message: `Cannot read the task: ${err instanceof Error ? err.message : String(err)}` });
      }
    })();
    t.loading = run;
    await run;
    if (t.loading === run) t.loading = undefined;
  }

  private async read(id: string, t: OpenTask): Promise<TaskModel> {
    const s = this.services();
    const inspector = await s.connection.inspector();
    const history = (await s.live.ensure())?.history;
    const [record, meta] = await Promise.all([history?.get(id) ?? null, inspector.result(id).catch(() => null)]);
    // A failed task may still be in the dead-letter list: Retry then replays its exact message.
    const failedLooking = !record || record.state === 'FAILURE' || meta?.status === 'FAILURE';
    const failed = failedLooking ? (await findFailed(inspector, id).catch(() => undefined)) : undefined;
    t.failed = failed;
    const link = linker(history);
    const links = s.links;
    const retryOf = links.retryOf(id);
    let call: TaskSources['call'];
    if (record) {
      call = await inspector.callOf(record).catch((err: Error) => (failed ? failedCall(failed) : { problem: err.message }));
    } else {
      call = failed ? failedCall(failed) : { problem: `task ${id} is not in the task history` };
    }
    const sources: TaskSources = {
      id, record, meta,
      ...(failed?.kind === 'letter' ? { letter: failed.letter } : {}),
      children: await Promise.all((record?.children ?? []).slice(0, CHILDREN).map(link)),
      retriedAs: await Promise.all(links.retriedAs(id).map(link)),
      call,
      isUserFile,
      parseDate: (text) => {
        const done = runner().dateDoneOf({ date_done: text });
        return done ? done.getTime() / 1000 : undefined;
      },
    };
    if (record?.parentId) sources.parent = await link(record.parentId);
    if (record?.rootId && record.rootId !== id) sources.root = await link(record.rootId);
    if (retryOf) sources.retryOf = await link(retryOf);
    return buildModel(sources);
  }

  private async handle(id: string, request: ViewRequest): Promise<void> {
    const s = this.services();
    const t = this.open.get(id);
    if (!t) return;
    try {
      switch (request.type) {
        case 'ready':
          if (t.model) this.post(id, { type: 'model', model: t.model });
          return;
        case 'open':
          await vscode.commands.executeCommand('radish.openTask', request.id);
          return;
        case 'openFrame': {
          const position = new vscode.Position(Math.max(0, request.line - 1), Math.max(0, (request.column ?? 1) - 1));
          await vscode.window.showTextDocument(vscode.Uri.file(request.file), { selection: new vscode.Range(position, position), preview: false });
          return;
        }
        case 'copy': {
          const call = this.callOf(t);
          if (!call) throw new Error(t.model?.cannot.copy ?? 'the task cannot be copied');
          const text = request.as === 'call' ? radishCallLine(call) : sendTaskLine(call);
          await vscode.env.clipboard.writeText(text);
          void vscode.window.setStatusBarMessage(`Radish: copied ${text.length > 80 ? text.slice(0, 79) + '…' : text}`, 5000);
          return;
        }
        case 'revoke':
          this.post(id, { type: 'busy', what: 'revoking…' });
          await revoke(s, id, false);
          break;
        case 'retry':
          this.post(id, { type: 'busy', what: 'sending it again…' });
          await retry(s, t.failed ? { failed: t.failed } : { id });
          break;
        case 'debug':
          // The same call again, into the worker under the debugger: it stops at the breakpoints in the task.
          this.post(id, { type: 'busy', what: 'starting the worker under the debugger…' });
          if (!(await startWorkerDebug(s))) break;
          await retry(s, t.failed ? { failed: t.failed } : { id });
          break;
        case 'retryEdited': {
          const problem = jsonProblem(request.args, 'array') ?? jsonProblem(request.kwargs, 'object');
          if (problem) {
            this.post(id, { type: 'problem', message: problem });
            return;
          }
          this.post(id, { type: 'busy', what: 'sending it again with the new arguments…' });
          await retry(s, t.failed ? { failed: t.failed } : { id }, { args: JSON.parse(request.args) as unknown[], kwargs: JSON.parse(request.kwargs) as Record<string, unknown> });
          break;
        }
      }
      await this.load(id);
    } catch (err) {
      this.post(id, { type: 'problem', message: err instanceof Error ? err.message : String(err) });
    } finally {
      this.post(id, { type: 'busy', what: undefined });
    }
  }

  /** How to send the task again, from what the tab last read. */
  private callOf(t: OpenTask): Pick<TaskCallSpec, 'name' | 'args' | 'kwargs' | 'queue'> | undefined {
    const m = t.model;
    if (!m?.editable || m.cannot.copy) return undefined;
    return { name: m.name, args: JSON.parse(m.editable.args) as unknown[], kwargs: JSON.parse(m.editable.kwargs) as Record<string, unknown>, queue: m.queue };
  }

  dispose(): void {
    if (this.liveTimer) clearTimeout(this.liveTimer);
    for (const t of this.open.values()) t.panel.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function moving(model: TaskModel | undefined): boolean {
  return !model || model.live || model.retriedAs.some((r) => !r.state || !['SUCCESS', 'FAILURE', 'REVOKED'].includes(r.state));
}

/** A linked task with what the history knows of it. */
function linker(history: TaskHistory | undefined): (id: string) => Promise<TaskLink> {
  return async (id) => {
    const record = await history?.get(id).catch(() => null);
    return { id, ...(record?.name ? { name: record.name } : {}), ...(record ? { state: record.state } : {}) };
  };
}

/** The call a Failed row holds: its message's, or its stored result's (result_extended). */
function failedCall(node: FailedTask): TaskSources['call'] {
  const problem = notRetryable(node);
  if (problem) return { problem };
  const { queue } = failedIdentity(node);
  // notRetryable vouched for these: a readable message, or a result that kept its task name.
  if (node.kind === 'letter') {
    const task = node.letter.task!;
    return { name: task.name, args: task.args, kwargs: task.kwargs, queue, source: 'result' };
  }
  return { name: node.meta.name!, args: node.meta.args ?? [], kwargs: (node.meta.kwargs ?? {}) as TaskCallSpec['kwargs'], queue, source: 'result' };
}

/** `app.send_task('tasks.add', args=[2, 3], kwargs={}, queue='celery')`: the same call from Python. */
export function sendTaskLine(call: Pick<TaskCallSpec, 'name' | 'args' | 'kwargs' | 'queue'>): string {
  const repr = runner().pyRepr;
  return `app.send_task(${repr(call.name)}, args=${repr(call.args)}, kwargs=${repr(call.kwargs)}${call.queue ? `, queue=${repr(call.queue)}` : ''})`;
}

/** A traceback's file is the user's when it is in the workspace and not in a dependency. */
function isUserFile(file: string): boolean {
  if (/[\\/](node_modules|site-packages|dist-packages)[\\/]/.test(file)) return false;
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) !== undefined;
}
