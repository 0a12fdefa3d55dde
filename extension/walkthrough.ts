/**
 * The walkthrough's steps that a context key completes (package.json's `walkthroughs`). A step done through a
 * command run from a menu or the palette can use `onCommand:`; a retry is often sent by code (a quick pick's button,
 * a notification's action), which the workbench does not see as a command, so the code that sends it says so here.
 */
import * as vscode from 'vscode';

export type WalkthroughStep = 'retried';

export function stepDone(step: WalkthroughStep): void {
  void vscode.commands.executeCommand('setContext', `radish.walkthrough.${step}`, true);
}
