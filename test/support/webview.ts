/** The task view's page as a UI test reaches it: VS Code nests an extension's webview in two iframes. */
import type { Page } from './workbench';

/** The parts of Playwright's frame API the UI tests use on webviews (iframes in iframes). */
export interface Frame {
  locator(selector: string, options?: { hasText?: string | RegExp }): FrameLocator;
}
export interface FrameLocator {
  first(): FrameLocator;
  locator(selector: string, options?: { hasText?: string | RegExp }): FrameLocator;
  waitFor(options?: { state?: 'attached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  click(options?: { timeout?: number }): Promise<void>;
  fill(text: string, options?: { timeout?: number }): Promise<void>;
  innerText(options?: { timeout?: number }): Promise<string>;
  isDisabled(options?: { timeout?: number }): Promise<boolean>;
  count(): Promise<number>;
  contentFrame(): Frame;
}

/** The page inside the visible webview tab (VS Code nests the extension's page in a second iframe). */
export function taskPage(page: Page): Frame {
  const outer = (page.locator('iframe.webview.ready') as unknown as FrameLocator).first();
  return outer.contentFrame().locator('iframe#active-frame').contentFrame();
}

