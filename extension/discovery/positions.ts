/**
 * Offsets to line/character the way VS Code counts them: lines end at `\r\n`, `\r` or `\n` (not at U+2028 /
 * U+2029, which the TypeScript compiler also treats as line breaks), characters are UTF-16 code units. Both
 * parsers use this one table so their ranges agree with the editor's.
 */
import type { SourcePosition, SourceRange } from './types';

export class LineMap {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      } else if (c === 10 /* \n */) {
        this.starts.push(i + 1);
      }
    }
  }

  position(offset: number): SourcePosition {
    const line = this.lineOf(offset);
    return { line, character: offset - (this.starts[line] ?? 0) };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(end) };
  }

  private lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
