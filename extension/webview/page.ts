/**
 * The HTML every Radish webview page starts from: a strict Content-Security-Policy (this page's script, by a fresh
 * nonce, and stylesheets and images from the extension only: no remote content, no inline code), the stylesheet, a
 * `<main>` showing a line until the script draws, and the script.
 */
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

export interface PageOptions {
  /** The document's title. */
  title: string;
  /** The page's script, as the webview loads it (`webview.asWebviewUri`). */
  script: vscode.Uri;
  /** Its stylesheet, likewise. */
  style: vscode.Uri;
  /** The id of the `<main>` the script draws into. */
  mainId: string;
  /** What `<main>` says until the script draws (plain text). */
  placeholder: string;
  /** Also allow images from the extension and `data:` URIs (charts' exports). Default false. */
  images?: boolean;
}

/** The page's HTML for `webview`. */
export function webviewPage(webview: vscode.Webview, o: PageOptions): string {
  const nonce = randomBytes(16).toString('base64');
  const img = o.images ? ` img-src ${webview.cspSource} data:;` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource};${img} script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${o.style.toString()}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<main id="${escapeHtml(o.mainId)}" aria-busy="true"><p class="muted">${escapeHtml(o.placeholder)}</p></main>
<script nonce="${nonce}" src="${o.script.toString()}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
