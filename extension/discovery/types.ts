/** What discovery reports about one task definition. Plain data: no vscode types, so it crosses bundles freely. */

/** A position in a document, 0-based, `character` in UTF-16 code units (as VS Code counts them). */
export interface SourcePosition {
  line: number;
  character: number;
}

/** A half-open span `[start, end)` in a document. */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/** A literal option value; options whose value is not a plain literal are left out. */
export type TaskOptionValue = string | number | boolean;

export interface TaskDefinitionSite {
  /** The name the task is registered and sent under (`tasks.add`, `orders.tasks.send_confirmation`). */
  name: string;
  /** Path of the file, as given to the parser. */
  file: string;
  language: 'typescript' | 'javascript' | 'python';
  /**
   * The whole definition: the `app.task(...)` call expression, or the decorated function from its first
   * decorator to the end of its body.
   */
  range: SourceRange;
  /**
   * The task-name string literal (quotes included): the first argument of `app.task`, or Python's `name=` option;
   * for a Python task named by default, the function's name.
   */
  nameRange: SourceRange;
  /**
   * Parameter names a caller fills, in order: the bound context (`bind: true` / `bind=True`) and Python's
   * `*args` / `**kwargs` are left out, TypeScript stops at a rest parameter, a destructured TypeScript parameter
   * appears as its pattern text (`{ id, n }`). The `params` task option, when given as literals, wins, as it
   * does in the runner.
   */
  params: string[];
  /**
   * How many of `params`, from the first, a call must give: up to the last one with neither a default nor `?`
   * (Python's keyword-only parameters are not counted: they are never positional). When `params` comes from the
   * task option, which says nothing of defaults, all of them.
   */
  required: number;
  /**
   * Options given as literals (`queue`, `priority`, `bind`, `maxRetries` / `max_retries`, `name`...), under the
   * key spelled in the source. `params` is reported in `params`, not here.
   */
  options: Record<string, TaskOptionValue>;
  /**
   * The routes of the app defined in the same file (`new Radish({ routes: { 'reports.*': 'reports' } })`), as far as
   * they are literals, in the runner's shape: what the app would route this task by. Absent when the file has no
   * such app, or more than one.
   *
   * Python: Celery's `task_routes` of the task's project (its app's `conf`, Django's `CELERY_TASK_ROUTES`,
   * `celeryconfig.py`; see python-routes.ts), in the runner's shape for this task's name (fnmatch patterns the
   * runner cannot express are decided for it). The parser sees the task's own file; the workspace index adds the
   * project's other files.
   */
  appRoutes?: Record<string, string | { queue: string; priority?: number }>;
}
