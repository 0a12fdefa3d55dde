/**
 * Which of a workspace's Python files are the project's own: not those of a virtual environment, installed packages,
 * caches or build output, which hold Celery's own defaults (never the project's broker or beat schedule) and many
 * thousands of files (a `pip install` writes them all at once). Pure, no vscode.
 */

/** Folders whose Python files are never read, at any depth. */
const NOT_THE_PROJECT = ['node_modules', '.git', '__pycache__', 'site-packages', '.venv', 'venv', '.tox', 'dist', 'build'];

/** The same folders as a glob, for `workspace.findFiles`'s exclude. */
export const NOT_THE_PROJECT_GLOB = `{${NOT_THE_PROJECT.map((dir) => `**/${dir}/**`).join(',')}}`;

/**
 * Whether a file lies in one of those folders.
 * @param relative its path relative to its workspace folder (either separator): the folders above the workspace
 *   (a checkout under ~/build/) do not count.
 */
export function outsideProject(relative: string): boolean {
  return relative.split(/[\\/]/).slice(0, -1).some((dir) => NOT_THE_PROJECT.includes(dir));
}
