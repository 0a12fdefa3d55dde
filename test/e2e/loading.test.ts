/**
 * Loading states (issue 14, point 8), watched in the real workbench (code-server + chromium): a view says "empty"
 * only once it has loaded and is empty (not while a slow Redis is still answering), and with Redis down the Queues
 * view's "cannot reach Redis" stays on screen instead of flickering at every refresh. The page is watched with a
 * MutationObserver, so a state that shows for a few milliseconds is caught too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Radish } from '../../runner/app';
import { freePort, startRedis, type TestRedis } from '../support/redis';
import { copyExample, e2e, rowsOf, TIMEOUT, type Page, type Workbench } from '../support/workbench';

/** A TCP proxy to Redis that delays every reply by `delayMs`: a Redis far away. */
class SlowProxy {
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  constructor(private readonly redisPort: number, private readonly delayMs: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.redisPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (data: Buffer) => upstream.write(data));
      upstream.on('data', (data: Buffer) => setTimeout(() => client.writable && client.write(data), this.delayMs));
      const close = () => { client.destroy(); upstream.destroy(); };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * From now on, count the moments (DOM changes) at which the pane titled `view` does not show `text` (`expect:
 * 'shown'`) or shows it (`'hidden'`), under the name `key`; read with {@link counted}.
 */
async function watchPane(page: Page, key: string, view: string, text: string, expect: 'shown' | 'hidden'): Promise<void> {
  await page.evaluate(({ key, view, text, expect }) => {
    interface El { textContent: string | null; offsetParent: unknown; querySelector(s: string): El | null; querySelectorAll(s: string): Iterable<El> }
    const w = globalThis as unknown as { document: El & { body: unknown }; MutationObserver: new (cb: () => void) => { observe(target: unknown, options: object): void }; radishCounts?: Record<string, number> };
    const counts = (w.radishCounts ??= {});
    counts[key] = 0;
    const check = () => {
      const pane = [...w.document.querySelectorAll('.pane')].find((p) => p.querySelector(`.pane-header[aria-label^="${view}"]`));
      const visible = [...(pane?.querySelectorAll('.welcome-view-content, .monaco-list-row') ?? [])]
        .some((el) => el.offsetParent !== null && (el.textContent ?? '').includes(text));
      if (visible !== (expect === 'shown')) counts[key]! += 1;
    };
    new w.MutationObserver(check).observe(w.document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  }, { key, view, text, expect });
}

async function counted(page: Page, key: string): Promise<number> {
  return page.evaluate((k) => (globalThis as unknown as { radishCounts: Record<string, number> }).radishCounts[k] ?? 0, key);
}

function workspaceWith(settings: Record<string, unknown>): string {
  const dir = copyExample('ts-tasks');
  mkdirSync(join(dir, '.vscode'), { recursive: true });
  writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
  return dir;
}

async function openRadish(page: Page): Promise<void> {
  await page.locator('.part.activitybar .action-item .action-label[aria-label^="Radish"]').first().click({ timeout: TIMEOUT });
}

describe('loading states (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let redis: TestRedis | undefined;
  let proxy: SlowProxy | undefined;
  const workspaces: string[] = [];
  let wb: Workbench | undefined;

  before(async function () {
    if (!e2e.hostInstalled()) {
      console.log('      skipped: VS Code host not installed (run setup.sh)');
      this.skip();
    }
    redis = await startRedis();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      const shot = await e2e.screenshot(wb.page, 'radish-e2e-loading-failure').catch(() => undefined);
      if (shot) console.log(`      screenshot of the failure: ${shot}`);
    }
    await wb?.close();
    wb = undefined;
  });

  after(async () => {
    await proxy?.stop();
    await redis?.stop();
    for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
  });

  it('never says "empty" while a slow Redis is still answering', async () => {
    const client = new Radish({ broker: redis!.url });
    try {
      for (const kind of ['daily', 'weekly', 'monthly']) await client.send('reports.build', [kind], {}, { queue: 'reports' });
      // A failure as a Celery worker leaves it: only its stored result.
      await (await client.backend()).store({
        taskId: 'f00dfeed-0000-4000-8000-000000000001', state: 'FAILURE',
        result: { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' }, traceback: 'Traceback ...\nValueError: bad',
      });
    } finally {
      await client.close();
    }
    proxy = new SlowProxy(Number(new URL(redis!.url).port), 700);
    await proxy.start();
    const workspace = workspaceWith({ 'radish.redisUrl': `redis://127.0.0.1:${proxy.port}/0` });
    workspaces.push(workspace);
    wb = await e2e.openWorkbench({ workspace });
    const { page } = wb;
    await watchPane(page, 'queues', 'Queues', 'No queues yet', 'hidden');
    await watchPane(page, 'failed', 'Failed', 'No failed tasks', 'hidden');
    await openRadish(page);
    await rowsOf(page, 'Queues', 'reports with 3 waiting', (rows) => rows.some((r) => r.label === 'reports' && r.description === '3 waiting'), 60_000);
    await rowsOf(page, 'Failed', 'the stored failure', (rows) => rows.some((r) => /ValueError/.test(r.description)), 60_000);
    assert.equal(await counted(page, 'queues'), 0, '"No queues yet" showed while the queues were loading');
    assert.equal(await counted(page, 'failed'), 0, '"No failed tasks" showed while the failures were loading');
  });

  it('keeps "cannot reach Redis" on screen while Redis stays down, refresh after refresh', async () => {
    const workspace = workspaceWith({ 'radish.redisUrl': `redis://127.0.0.1:${await freePort()}/0`, 'radish.refreshInterval': 1 });
    workspaces.push(workspace);
    wb = await e2e.openWorkbench({ workspace });
    const { page } = wb;
    await openRadish(page);
    await e2e.viewPane(page, 'Queues').locator('.welcome-view-content', { hasText: 'cannot reach Redis' }).waitFor({ timeout: TIMEOUT });
    await watchPane(page, 'gone', 'Queues', 'cannot reach Redis', 'shown');
    // Several refreshes (one a second) and reconnect attempts.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(await counted(page, 'gone'), 0, 'the error went away and came back');
  });
});
