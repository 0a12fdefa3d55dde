/**
 * Running an extension-host suite (test/extension/*.suite.ts, built into out/test/extension) from mocha: a real VS
 * Code host (code-server 4.100.3 + headless chromium, installed by setup.sh) on a copy of an example project, with
 * the environment the suite reads (the servers it runs against). Shared by host.test.ts and rabbitmq-host.test.ts.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const RUNNER = join(ROOT, 'test/support/vscode-host/run-ext-tests.js');
// host.js is plain JS (it runs outside the build); only findHost is needed here.
const { findHost } = require('../support/vscode-host/host.js') as { findHost: () => unknown };

/** Whether the VS Code host is installed. */
export function hostInstalled(): boolean {
  return Boolean(findHost());
}

/** Skip the calling suite, saying why, when the VS Code host is not installed. */
export function requireHost(ctx: Mocha.Context): void {
  if (hostInstalled()) return;
  console.log('      skipped: VS Code host not installed (run setup.sh, which installs code-server and chromium)');
  ctx.skip();
}

/** A copy of examples/<name> in a new temporary folder, with `settings` as its .vscode/settings.json when given. */
export function copyExample(name: string, settings?: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), `radish-ws-${name}-`));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !/__pycache__|node_modules/.test(src) });
  if (settings) {
    mkdirSync(join(dir, '.vscode'), { recursive: true });
    writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
  }
  return dir;
}

/** Run the suite `suite` (out/test/extension/<suite>) in a host opened on `workspace`; its exit code and output. */
export function runSuite(suite: string, workspace: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [RUNNER, '--dev', ROOT, '--tests', join(ROOT, 'out/test/extension', suite),
      '--workspace', workspace, '--timeout', '240000', '--shot', join(ROOT, 'test-results', `${suite}-host.png`)],
    { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d; });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    child.on('close', (code) => done({ code, output }));
  });
}

/** The suite's output, indented under the mocha test that ran it. */
export function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
}
