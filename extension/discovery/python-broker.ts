/**
 * The broker and result backend a Celery project names in its Python source, read as literals (Python is never run),
 * so that the extension connects where the project's workers do when no Radish setting says otherwise: a Django +
 * Celery project on RabbitMQ is seen as one.
 *
 * Where a project names them:
 * - on an app: `Celery('proj', broker='pyamqp://...', backend='redis://...')`, `app.conf.broker_url = ...`,
 *   `app.conf['result_backend'] = ...`, `app.conf.update(broker_url=..., result_backend=...)` or with a dict;
 * - in a settings module, at module level: Django's `CELERY_BROKER_URL` and `CELERY_RESULT_BACKEND` (any
 *   `<NAMESPACE>_` prefix), `broker_url` and `result_backend` in `celeryconfig.py`, Celery 3's `BROKER_URL`.
 *
 * A value is a string, a name bound at module level to one, or read from the environment with a default, as settings
 * files usually do: `os.environ.get('CELERY_BROKER_URL', 'amqp://guest@localhost//')`, `os.getenv(...)`,
 * `os.environ['X']`, `env('X', default=...)` (django-environ), `config('X', default=...)` (python-decouple). The
 * default may itself be a name (`CELERY_RESULT_BACKEND = os.environ.get('CELERY_RESULT_BACKEND', CELERY_BROKER_URL)`).
 * Anything else (an f-string, a computed value) is not read.
 */
import * as path from 'node:path';
import { dottedName, pythonValue } from './python-literals';
import { closingIndex, logicalLines, type LogicalLine, type Token } from './python-tokens';
import { assignment, calls, confItemKey, keyword, statements } from './python-statements';

/** A setting's value as written: a URL, or an environment variable with what it falls back to. */
export type SettingValue =
  | { kind: 'url'; url: string }
  | { kind: 'env'; name: string; fallback?: SettingValue };

/** What one file sets, on an app or as module-level settings. */
export interface BrokerSettings {
  broker?: SettingValue;
  backend?: SettingValue;
}

export interface PythonBrokerFacts {
  /** Set on an app (the last one set in the file): these win over settings modules, as `app.conf` does in Celery. */
  app: BrokerSettings;
  /** Module-level settings. */
  settings: BrokerSettings;
}

const HINT = /broker|BROKER|backend|BACKEND/;
const BROKER_SETTING = /^(?:(?:[A-Z][A-Z0-9_]*_)?BROKER_URL|broker_url)$/;
const BACKEND_SETTING = /^(?:(?:[A-Z][A-Z0-9_]*_)?RESULT_BACKEND|result_backend)$/;
/** Calls that read an environment variable: the name first, then a default (positional or `default=`). */
const ENV_READERS = /^(?:(?:os\.)?environ\.get|(?:os\.)?getenv|env(?:\.(?:str|url))?|config|decouple\.config)$/;

/** Whether a text may name a broker or backend at all (a cheap test before reading it). */
export function mayNameBroker(text: string): boolean {
  return HINT.test(text);
}

/** Whether `findPythonBroker` found anything. */
export function hasBrokerFacts(facts: PythonBrokerFacts): boolean {
  return Boolean(facts.app.broker || facts.app.backend || facts.settings.broker || facts.settings.backend);
}

/** The broker and backend settings of a Python source text. Never throws. */
export function findPythonBroker(text: string, lines: readonly LogicalLine[] = logicalLines(text)): PythonBrokerFacts {
  const facts: PythonBrokerFacts = { app: {}, settings: {} };
  if (!mayNameBroker(text)) return facts;
  /** Module-level names bound to a value that reads as a setting: what `broker_url = RABBIT` refers to. */
  const names = new Map<string, SettingValue>();
  const read = (tokens: readonly Token[]): SettingValue | undefined => settingValue(tokens, names);
  const setOnApp = (key: string, value: readonly Token[]): void => {
    const v = read(value);
    if (!v) return;
    if (key === 'broker_url' || key === 'broker') facts.app.broker = v;
    else if (key === 'result_backend' || key === 'backend') facts.app.backend = v;
  };

  for (const line of lines) {
    for (const statement of statements(line.tokens)) {
      const [targets, assigned] = assignment(statement);
      for (const call of calls(assigned ?? statement)) {
        const callee = call.callee.split('.');
        const last = callee[callee.length - 1];
        if (last === 'Celery') {
          for (const arg of call.args) {
            const kw = keyword(arg);
            if (kw && (kw.name === 'broker' || kw.name === 'backend')) setOnApp(kw.name, kw.value);
          }
        } else if (last === 'update' && callee[callee.length - 2] === 'conf') {
          for (const arg of call.args) {
            const kw = keyword(arg);
            if (kw) {
              if (kw.name === 'broker_url' || kw.name === 'result_backend') setOnApp(kw.name, kw.value);
              continue;
            }
            const given = pythonValue(arg);
            if (given.kind !== 'dict') continue;
            // The dict's values as tokens are gone by now: only literal strings (and names) are read back.
            for (const { key, value } of given.entries) {
              if (key.kind !== 'str' || (key.value !== 'broker_url' && key.value !== 'result_backend')) continue;
              const v = value.kind === 'str' ? { kind: 'url', url: value.value } as const : value.kind === 'name' ? names.get(value.name) : undefined;
              if (v && key.value === 'broker_url') facts.app.broker = v;
              if (v && key.value === 'result_backend') facts.app.backend = v;
            }
          }
        }
      }
      if (!assigned) continue;
      for (const target of targets) {
        const name = dottedName(target);
        if (name !== undefined && !name.includes('.') && line.indent === 0) {
          const v = read(assigned);
          if (!v) continue;
          names.set(name, v);
          if (BROKER_SETTING.test(name)) facts.settings.broker = v;
          else if (BACKEND_SETTING.test(name)) facts.settings.backend = v;
        } else if (name !== undefined && /(?:^|\.)conf\.(?:broker_url|result_backend)$/.test(name)) {
          setOnApp(name.slice(name.lastIndexOf('.') + 1), assigned);
        } else {
          const key = confItemKey(target);
          if (key === 'broker_url' || key === 'result_backend') setOnApp(key, assigned);
        }
      }
    }
  }
  return facts;
}

/** A setting's value (see the module's comment), or undefined when it cannot be read as one. */
function settingValue(tokens: readonly Token[], names: ReadonlyMap<string, SettingValue>): SettingValue | undefined {
  const value = pythonValue(tokens);
  if (value.kind === 'str') return { kind: 'url', url: value.value };
  if (value.kind === 'name') return names.get(value.name);
  // os.environ['X']
  const n = tokens.length;
  if (n >= 4 && tokens[n - 1]?.text === ']' && tokens[n - 3]?.text === '[' && /^(?:os\.)?environ$/.test(dottedName(tokens.slice(0, n - 3)) ?? '')) {
    const key = pythonValue(tokens.slice(n - 2, n - 1));
    return key.kind === 'str' ? { kind: 'env', name: key.value } : undefined;
  }
  const [call] = calls(tokens);
  // The whole expression must be the call: `os.environ.get(...) or 'x'` is not read.
  if (!call || !ENV_READERS.test(call.callee) || !isWholeCall(tokens, call.callee)) return undefined;
  const [first, ...rest] = call.args;
  const envName = first && !keyword(first) ? pythonValue(first) : undefined;
  if (envName?.kind !== 'str') return undefined;
  let fallback: SettingValue | undefined;
  for (const arg of rest) {
    const kw = keyword(arg);
    // django-environ's env() takes a cast second: its default is only ever given by name.
    if (kw ? kw.name !== 'default' : call.callee === 'env') continue;
    fallback = settingValue(kw ? kw.value : arg, names);
    break;
  }
  return fallback ? { kind: 'env', name: envName.value, fallback } : { kind: 'env', name: envName.value };
}

/** Whether `tokens` are one call of `callee` and nothing else. */
function isWholeCall(tokens: readonly Token[], callee: string): boolean {
  const parts = callee.split('.').length * 2 - 1;
  return tokens.slice(0, parts).map((t) => t.text).join('') === callee && tokens[parts]?.text === '('
    && closingIndex(tokens, parts) === tokens.length - 1;
}

// ---------------------------------------------------------------------------------------------
// The project's choice

/** A file's facts, by path. */
export interface BrokerSource {
  file: string;
  facts: PythonBrokerFacts;
}

/** A URL a project names, and the file it came from. */
export interface ProjectUrl {
  url: string;
  file: string;
}

export interface ProjectBrokerChoice {
  broker?: ProjectUrl;
  backend?: ProjectUrl;
}

const BROKER_SCHEMES = /^(?:redis|rediss|sentinel|amqp|amqps|pyamqp|amqp\+ssl):\/\//i;

/**
 * Settings files of one project often come in several flavours (`settings/local.py`, `settings/production.py`): the
 * extension runs beside a developer's local worker, so local and development ones go first and production ones last.
 */
function flavour(file: string): number {
  const name = path.basename(file, '.py').toLowerCase();
  if (/^(local|dev|development|devel)$/.test(name)) return 0;
  if (/^(prod|production|staging|live|deploy)$/.test(name)) return 3;
  if (/^(settings|base|common|celeryconfig|celery)$/.test(name)) return 1;
  return 2;
}

/** Resolve a value against an environment; undefined when the variable is unset and there is no fallback. */
export function resolveSetting(value: SettingValue | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!value) return undefined;
  if (value.kind === 'url') return value.url;
  return env[value.name] || resolveSetting(value.fallback, env);
}

/**
 * The broker and result backend a workspace's Celery project names: what is set on an app wins over settings
 * modules; then the shallowest file, local settings before production ones. The broker only when it is one Radish
 * speaks (Redis, RabbitMQ); the backend whatever it is (the caller says when it cannot read it). `env` is the
 * environment a worker would see: `os.environ.get('CELERY_BROKER_URL', ...)` reads it. `brokerUrl`: the broker the
 * worker is given when it is not the project's (a setting), which its `CELERY_BROKER_URL` then names.
 */
export function chooseProjectBroker(sources: readonly BrokerSource[], env: Readonly<Record<string, string | undefined>>,
  brokerUrl?: string): ProjectBrokerChoice {
  const ordered = [...sources].sort((a, b) => depth(a.file) - depth(b.file) || flavour(a.file) - flavour(b.file) || a.file.localeCompare(b.file));
  const pick = (which: 'broker' | 'backend', accept: (url: string) => boolean, overlay: Record<string, string> = {}): ProjectUrl | undefined => {
    for (const level of ['app', 'settings'] as const) {
      for (const { file, facts } of ordered) {
        const url = resolveSetting(facts[level][which], { ...env, ...overlay })?.trim();
        if (url && accept(url)) return { url, file };
      }
    }
    return undefined;
  };
  const broker = pick('broker', (url) => BROKER_SCHEMES.test(url));
  // The backend as a worker started with this broker would read it (a default that names the broker follows it).
  const given = brokerUrl ?? broker?.url;
  const overlay: Record<string, string> = given ? { CELERY_BROKER_URL: given } : {};
  const backend = pick('backend', () => true, overlay);
  return { ...(broker ? { broker } : {}), ...(backend ? { backend } : {}) };
}

function depth(file: string): number {
  return file.split(/[\\/]/).filter(Boolean).length;
}
