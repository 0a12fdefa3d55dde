/**
 * Runs in a NEW VS Code host on the workspace the ts-project suite used, against the same Redis: what a window
 * reload does. The tasks that suite ran must still be in the Tasks view, with their final states, although no
 * event about them reaches this host.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';
import type { TaskNode } from '../../extension/views/tasks';
import { activate, waitFor } from './helpers';

describe('extension after a window reload', function () {
  this.timeout(60_000);
  let s: Services;

  before(async () => {
    s = await activate();
  });

  it('keeps the Tasks view history across the reload', async () => {
    const file = join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.radish-history-ids.json');
    const { ok, bad } = JSON.parse(readFileSync(file, 'utf8')) as { ok: string; bad: string };
    let records: Extract<TaskNode, { kind: 'record' }>[] = [];
    await waitFor(async () => {
      records = (await s.taskView.getChildren()).filter((n): n is Extract<TaskNode, { kind: 'record' }> => n.kind === 'record');
      return records.length > 0;
    }, 'the Tasks view lists the history');
    const state = (id: string) => records.find((n) => n.record.id === id)?.record.state;
    assert.equal(state(ok), 'SUCCESS');
    assert.equal(state(bad), 'FAILURE');
    assert.equal(s.live.failures, 0, 'failures count from this window only');
  });
});
