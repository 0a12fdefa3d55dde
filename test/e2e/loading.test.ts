/**
 * Loading states (issue 14, point 8), watched in the real workbench (code-server + chromium): a view says "empty"
 * only once it has loaded and is empty (not while a slow Redis is still answering), and with Redis down the Queues
 * view's "cannot reach Redis" stays on screen instead of flickering at every refresh. The page is watched with a
 * MutationObserver, so a state that shows for a few milliseconds is caught too.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../support/redis';
import { e2e, projectWorkbench, rowsOf, showRadish, TIMEOUT, type Page } from '../support/workbench';

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

describe('loading states (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let proxy: SlowProxy | undefined;
  const s = projectWorkbench('radish-e2e-loading', { open: false, cleanup: async () => { await proxy?.stop(); } });

  it('never says "empty" while a slow Redis is still answering', async () => {
    for (const kind of ['daily', 'weekly', 'monthly']) await s.client.send('reports.build', [kind], {}, { queue: 'reports' });
    // A failure as a Celery worker leaves it: only its stored result.
    await (await s.client.backend()).store({
      taskId: 'f00dfeed-0000-4000-8000-000000000001', state: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' }, traceback: 'Traceback ...\nValueError: bad',
    });
    proxy = new SlowProxy(s.redis.port, 700);
    await proxy.start();
    const page = await s.openWorkspace({ settings: { 'radish.redisUrl': `redis://127.0.0.1:${proxy.port}/0` } });
    await watchPane(page, 'queues', 'Queues', 'No queues yet', 'hidden');
    await watchPane(page, 'failed', 'Failed', 'No failed tasks', 'hidden');
    await showRadish(page);
    await rowsOf(page, 'Queues', 'reports with 3 waiting', (rows) => rows.some((r) => r.label === 'reports' && r.description === '3 waiting'), 60_000);
    await rowsOf(page, 'Failed', 'the stored failure', (rows) => rows.some((r) => /ValueError/.test(r.description)), 60_000);
    assert.equal(await counted(page, 'queues'), 0, '"No queues yet" showed while the queues were loading');
    assert.equal(await counted(page, 'failed'), 0, '"No failed tasks" showed while the failures were loading');
  });

  it('keeps "cannot reach Redis" on screen while Redis stays down, refresh after refresh', async () => {
    const page = await s.openWorkspace({ settings: { 'radish.redisUrl': `redis://127.0.0.1:${await freePort()}/0`, 'radish.refreshInterval': 1 } });
    await showRadish(page);
    await e2e.viewPane(page, 'Queues').locator('.welcome-view-content', { hasText: 'cannot reach Redis' }).waitFor({ timeout: TIMEOUT });
    await watchPane(page, 'gone', 'Queues', 'cannot reach Redis', 'shown');
    // Several refreshes (one a second) and reconnect attempts.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(await counted(page, 'gone'), 0, 'the error went away and came back');
  });
});
