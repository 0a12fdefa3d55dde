import * as vscode from 'vscode';
import { enqueue as run, type EnqueueRequest } from '../enqueue';
import type { Services } from '../services';
import { errorMessage } from '../../runner/errors';

/** Palette "Enqueue Task...": the whole flow. CodeLens "Enqueue" passes `{ task, quick: true }`. */
export async function enqueue(s: Services, request?: EnqueueRequest): Promise<string | undefined> {
  try {
    return await run(s, request && typeof request === 'object' && !('kind' in request) ? request : {});
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: could not enqueue: ${errorMessage(err)}`);
    return undefined;
  }
}
