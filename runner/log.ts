/** Log lines in Celery's shape: `[2026-11-24 06:40:22,533: INFO/MainProcess] Task tasks.add[id] received`. */
import { withTraceIds } from './telemetry/log-context';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

export function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase() === 'warn' ? 'warning' : value.toLowerCase();
  if (!(level in ORDER)) throw new Error(`unknown log level ${JSON.stringify(value)} (debug, info, warning, error, critical)`);
  return level as LogLevel;
}

export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, message: string): void;
  enabled(level: LogLevel): boolean;
}

function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

/** Format one line the way Celery's worker does. */
export function formatLine(level: LogLevel, message: string, process = 'MainProcess', now = new Date()): string {
  return `[${timestamp(now)}: ${level.toUpperCase()}/${process}] ${message}`;
}

/** A logger writing Celery-shaped lines to a stream (stderr by default, as Celery does). */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const threshold = ORDER[level];
  return {
    level,
    enabled: (l) => ORDER[l] >= threshold,
    log(l, message) {
      // A task's lines name its trace while OpenTelemetry tracing is on (see runner/telemetry/log-context.ts).
      if (ORDER[l] >= threshold) write(formatLine(l, withTraceIds(message)));
    },
  };
}
