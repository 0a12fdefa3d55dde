/**
 * activate(): wiring only. Every registration goes into context.subscriptions, so everything is disposed (and the
 * local worker stopped) when the window closes. Nothing connects to the broker until a view is shown.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands/index';
import { Connection } from './connection';
import { TaskCodeLensProvider } from './discovery/codelens';
import { publishTaskFiles } from './discovery/context';
import { ProjectBroker } from './discovery/projectBroker';
import { TaskIndex } from './discovery/workspace';
import { ENDPOINT_SETTINGS } from './endpoints';
import { ReadOnlyDocuments, SCHEME } from './documents';
import type { Services } from './services';
import { createActivityStatus, FailedCount } from './activity';
import { Live } from './live';
import { MetricsPanel } from './metricsView/panel';
import { watchFailures } from './notifications';
import { createStatusBar } from './statusBar';
import { RetryLinks } from './taskView/links';
import { TaskPanels } from './taskView/panel';
import { FailedProvider } from './views/failed';
import { QueuesProvider } from './views/queues';
import { RefreshManager } from './views/refresh';
import { SchedulesProvider } from './views/schedules';
import { CeleryBeatIndex } from './discovery/python-beat-index';
import { TasksProvider } from './views/tasks';
import { WorkersProvider } from './views/workers';
import { WorkerSupervisor } from './worker/supervisor';

let supervisor: WorkerSupervisor | undefined;

export function activate(context: vscode.ExtensionContext): Services {
  const started = performance.now();
  const sub = (...d: vscode.Disposable[]) => context.subscriptions.push(...d);
  const project = new ProjectBroker();
  const connection = new Connection(context.secrets, project);
  const log = vscode.window.createOutputChannel('Radish Worker', { log: true });
  const local = new WorkerSupervisor(context.extensionPath, connection, log);
  supervisor = local;
  const refresh = new RefreshManager();
  const documents = new ReadOnlyDocuments();
  const tasks = new TaskIndex();
  const queues = new QueuesProvider(connection, tasks);
  const failed = new FailedProvider(connection);
  const workers = new WorkersProvider(connection, supervisor);
  const live = new Live(connection);
  const taskView = new TasksProvider(tasks, live, connection);
  const celeryBeat = new CeleryBeatIndex();
  const schedules = new SchedulesProvider(connection, celeryBeat);
  sub(project, connection, live, log, supervisor, refresh, documents, tasks);

  const queuesView = vscode.window.createTreeView('radish.queues', { treeDataProvider: queues, showCollapseAll: true });
  const workersView = vscode.window.createTreeView('radish.workers', { treeDataProvider: workers });
  const failedView = vscode.window.createTreeView('radish.failed', { treeDataProvider: failed });
  const tasksView = vscode.window.createTreeView('radish.tasks', { treeDataProvider: taskView });
  const schedulesView = vscode.window.createTreeView('radish.schedules', { treeDataProvider: schedules });
  sub(celeryBeat, schedulesView, celeryBeat.onDidChange(() => refresh.refreshVisible(schedules)));
  refresh.register(schedulesView, schedules, 'radish.schedules');
  const failedCount = new FailedCount(connection);
  failed.onCount = (count) => {
    failedView.badge = count ? { value: count, tooltip: `${count} failed task${count === 1 ? '' : 's'}` } : undefined;
    failedCount.set(count);
  };
  sub(queuesView, workersView, failedView, tasksView);
  refresh.register(queuesView, queues, 'radish.queues');
  refresh.register(workersView, workers, 'radish.workers');
  refresh.register(failedView, failed, 'radish.failed');
  refresh.register(tasksView, taskView, 'radish.tasks');
  sub(supervisor.onDidChange(() => {
    refresh.refreshSoon();
    // A running worker is worth following at once (status bar, failure notifications), views shown or not.
    if (local.state === 'running') void live.ensure();
  }), tasks.onDidChange(() => taskView.refresh()));
  // Task events move the Tasks view, task and worker events the Workers view: at most one refresh a second each,
  // however busy the fleet (heartbeats alone leave the Tasks view as it is).
  sub(refresh.follow(live.onDidChangeTasks, () => refresh.refreshVisible(taskView), 1000));
  sub(refresh.follow(live.onDidChange, () => refresh.refreshVisible(workers), 1000));
  const reconnect = async () => {
    await connection.reset();
    refresh.refreshNow();
  };
  sub(vscode.workspace.onDidChangeConfiguration(async (e) => {
    if (ENDPOINT_SETTINGS.some((key) => e.affectsConfiguration(key))) await reconnect();
  }));
  // The project's own broker settings, when no Radish setting names the broker (or the backend): edited, it is followed.
  sub(project.onDidChange(() => void reconnect()));

  sub(vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents));
  sub(vscode.languages.registerDocumentLinkProvider({ scheme: SCHEME }, documents));
  const lenses = new TaskCodeLensProvider(tasks, context.workspaceState);
  sub(lenses, vscode.languages.registerCodeLensProvider(
    [{ language: 'typescript' }, { language: 'javascript' }, { language: 'typescriptreact' }, { language: 'python' }], lenses));
  // The editor context menu's entry shows in files with task definitions (see discovery/context.ts).
  sub(publishTaskFiles(tasks));
  sub(createStatusBar(supervisor, { connection, refresh }), failedCount, createActivityStatus(live, refresh, failedCount), watchFailures(live));

  const links = new RetryLinks(context.workspaceState);
  // The task views act through the services, which hold them: read once activation has built them.
  const panels = new TaskPanels(context.extensionUri, () => services);
  panels.follow(live.onDidChangeTasks);
  sub(panels);
  const metrics = new MetricsPanel(context.extensionUri, connection, refresh, context.workspaceState);
  sub(metrics);
  const services: Services = { context, connection, supervisor, refresh, documents, queues, failed, tasks, live, workers, taskView, schedules, panels, metrics, links, activationMs: 0 };
  registerCommands(services);
  void vscode.commands.executeCommand('setContext', 'radish.worker', 'stopped');
  // Scanning the sources is deferred so activation stays cheap.
  setTimeout(() => void tasks.start(), 0);
  services.activationMs = performance.now() - started;
  return services;
}

export async function deactivate(): Promise<void> {
  // Give a running worker its warm shutdown before the host goes away.
  await supervisor?.stop(5000);
}
