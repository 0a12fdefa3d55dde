/**
 * Applying any Celery signature (a task, a chain, a group or a chord, nested to any depth) as Celery's own canvas
 * applies it (celery/canvas.py, 5.2.6 to 5.6): the messages it sends, the chord sizes it sets and the group results
 * it saves, in the order Celery makes them. A worker applies signatures when a task ends (its link callbacks and the
 * next chain step on success, its errbacks on failure, a chord's callback once the chord is complete), and so must
 * agree with Celery's worker on every id, `group`, `group_index`, `parent_id`, `root_id`, chord size and chain it
 * writes: a Celery worker may run the next step.
 *
 * Pure: nothing is sent here. {@link Canvas} collects {@link CanvasEffect}s in Celery's order; the caller performs
 * them, the backend's (chord sizes, saved groups) before any message, so that no member can end before its chord
 * size is known.
 *
 * How Celery applies each kind (the behaviours matched here, in Celery's terms):
 * - a task: its args are the partial args prepended to its own (unless immutable), its options the signature's
 *   overridden by the caller's (except a `group_id` it already has); `parent_id`/`root_id` default to the task the
 *   worker is running.
 * - a chain: `prepare_steps` walks its tasks from the last, splicing nested chains, unrolling one-member groups,
 *   turning a group followed by a step into a chord, freezing every step (the last with the caller's id, group and
 *   chord); the first step is sent carrying the rest, reversed, as its `chain`.
 * - a group: its id is the `task_id` option (else new); nested groups are flattened into it; every member is frozen
 *   with the group's id and sent with the partial args; when its members report to a chord, the chord size (the
 *   number of tasks that will report, counted through nested canvas as `_descend` counts) is set first.
 * - a chord: the callback (body) takes the caller's options (its `chain` included) and is frozen; the header is
 *   frozen as a group reporting to the body and applied with the partial args; a header holding groups is saved
 *   (`GroupResult.save`) so the callback gets nested results. An empty header sends the body at once with `[]`.
 */
import { randomUUID } from 'node:crypto';
import type { CeleryLayout } from './celery-version';
import { isObject, type JsonObject } from './json';
import { encodeTaskMessage } from './message-encode';
import { signatureStamps } from './stamps';
import type { Embed, Sender, Signature, TaskCall } from './task-call';

/** A message ready to publish, with the call it encodes. */
export interface FollowUp {
  id: string;
  name: string;
  queue: string;
  priority: number;
  body: string;
  call: TaskCall;
}

/** Queue and priority for a task name with no `queue` in its signature (the app's routes). */
export type FollowUpRouter = (name: string) => { queue: string; priority: number };

/** Thrown for a signature that cannot be applied (no task name, a malformed canvas). */
export class CanvasError extends Error {
  override readonly name = 'CanvasError';
}

/**
 * A frozen signature's result as Celery's `freeze()` returns it: a task's id, or a group's id and its members'
 * results; `parent` is the result before it in a chain (`AsyncResult.parent`).
 */
export interface FrozenResult {
  id: string;
  /** Set for a group: its members' results. */
  members?: FrozenResult[];
  parent?: FrozenResult | null;
}

/** Celery's `as_tuple()` of a result, the form `GroupResult.save()` stores: `[[id, parent], members | null]`. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** What applying signatures asks of the broker and the result backend, in order. */
export type CanvasEffect =
  | { kind: 'publish'; message: FollowUp }
  /** Celery's `set_chord_size`: how many ends complete the chord of `groupId`. */
  | { kind: 'chord-size'; groupId: string; size: number }
  /** Celery's `GroupResult.save()` of a chord header holding groups, so its callback gets nested results. */
  | { kind: 'save-group'; groupId: string; result: ResultTuple };

/** Whether applying took a backend that runs chords: a chord's size to set, or a chord header to save. */
export function startsChord(effects: readonly CanvasEffect[]): boolean {
  return effects.some((e) => e.kind === 'chord-size' || e.kind === 'save-group');
}

/** The task a worker is running while it applies signatures (Celery's `current_worker_task`). */
export interface CurrentTask {
  id: string;
  rootId: string | null;
}

export interface CanvasOptions {
  /** Celery's `origin` header of the publishing process. */
  origin: string;
  /** `reply_to` of signatures frozen without one (Celery puts its app's oid there). */
  replyTo: string;
  /** Routes for signatures without a queue. Default: everything to `celery`. */
  route?: FollowUpRouter;
  /** New task, group and delivery-tag ids. Default `randomUUID` (tests pass a fixed source). */
  newId?: () => string;
  /** The message layout of the fleet's Celery (see ./celery-version.ts). Default `'5.3'`. */
  layout?: CeleryLayout;
  /** The task being run, whose id and root fill `parent_id` and `root_id` where a call names none. */
  current?: CurrentTask | null;
  /**
   * Headers to add to each message, given its call just before it is encoded (the trace context: see
   * runner/telemetry). Default none: a message is encoded without extra headers (on the fast encoder).
   */
  extraHeaders?: ((call: TaskCall) => JsonObject) | undefined;
}

/** Celery's `task_default_queue`, used when nobody routes the follow-up. */
const DEFAULT_ROUTER: FollowUpRouter = () => ({ queue: 'celery', priority: 0 });

/** Options a signature keeps when the caller's say otherwise (Celery's `_IMMUTABLE_OPTIONS`). */
const IMMUTABLE_OPTIONS = new Set(['group_id']);

/** Parameters of `chord.run()` that are not message options (a `countdown` given to a chord is swallowed there). */
const CHORD_RUN_PARAMS = ['interval', 'countdown', 'max_retries', 'eager', 'app'];

type Kind = 'task' | 'chain' | 'group' | 'chord';

function kindOf(sig: Signature): Kind {
  switch (sig.subtask_type) {
    case 'chain': return 'chain';
    case 'group': return 'group';
    case 'chord': return 'chord';
    default: return 'task';
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** A signature from a message, checked enough to apply: an object with a task name, args, kwargs and options. */
export function asSignature(v: unknown): Signature {
  if (!isObject(v)) throw new CanvasError(`not a signature: ${JSON.stringify(v)?.slice(0, 200)}`);
  const task = typeof v.task === 'string' ? v.task : '';
  if (task === '' && !v.subtask_type) throw new CanvasError('signature has no task name');
  return {
    ...v,
    task,
    args: Array.isArray(v.args) ? v.args : [],
    kwargs: isObject(v.kwargs) ? v.kwargs : {},
    options: isObject(v.options) ? v.options : {},
    subtask_type: typeof v.subtask_type === 'string' ? v.subtask_type : null,
    immutable: v.immutable === true,
  };
}

/** A deep copy (Celery's `clone()`: options deep-copied, nested signatures cloned). */
function cloneSig(sig: Signature): Signature {
  return asSignature(structuredClone(sig));
}

/** `options.link` / `options.link_error` hold one signature or a list (Celery's `maybe_list`). */
function sigList(v: unknown): Signature[] | null {
  if (v === null || v === undefined) return null;
  return (Array.isArray(v) ? v : [v]).map(asSignature);
}

/** Drop the options given as null/undefined, as `apply_async` does (`if v is not None`). */
function given(options: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(options)) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

/** Celery's `Signature._merge`: partial args first (unless immutable), kwargs and options over the signature's. */
function merge(sig: Signature, args: unknown[], kwargs: JsonObject, options: JsonObject | null): [unknown[], JsonObject, JsonObject] {
  let merged = sig.options;
  if (options !== null) {
    merged = { ...sig.options };
    for (const [key, value] of Object.entries(options)) {
      if (!IMMUTABLE_OPTIONS.has(key) || !(key in sig.options)) merged[key] = value;
    }
  }
  if (sig.immutable) return [sig.args, sig.kwargs, merged];
  return [args.length ? [...args, ...sig.args] : sig.args, Object.keys(kwargs).length ? { ...sig.kwargs, ...kwargs } : sig.kwargs, merged];
}

/** Celery's `clone(args, kwargs, **options)`: a deep copy with the partial args, kwargs and options merged in. */
function cloneWith(sig: Signature, args: unknown[] = [], kwargs: JsonObject = {}, options: JsonObject = {}): Signature {
  const copy = cloneSig(sig);
  if (!args.length && !Object.keys(kwargs).length && !Object.keys(options).length) return copy;
  const [a, k, o] = merge(copy, args, kwargs, options);
  return { ...copy, args: a, kwargs: k, options: o };
}

/** The tasks of a chain or group signature (`kwargs.tasks`), as signatures. */
function tasksOf(sig: Signature): Signature[] {
  const tasks = sig.kwargs.tasks;
  if (!Array.isArray(tasks)) throw new CanvasError(`a ${sig.subtask_type} signature without tasks`);
  // Kept as the very objects in the signature: freezing a chain's steps marks them in place, as Celery's does.
  for (let i = 0; i < tasks.length; i++) if (!isObject(tasks[i]) || !('options' in (tasks[i] as JsonObject))) tasks[i] = asSignature(tasks[i]);
  return tasks as Signature[];
}

function setTasks(sig: Signature, tasks: Signature[]): void {
  sig.kwargs = { ...sig.kwargs, tasks };
}

/** A group signature of `tasks`, as Celery's `group(tasks, **options)` serialises. */
export function groupSignature(tasks: Signature[], options: JsonObject = {}): Signature {
  return { task: 'celery.group', args: [], kwargs: { tasks }, options, subtask_type: 'group', immutable: false };
}

/** A chord signature, as Celery's `chord(header, body, **options)` serialises (its header a list, or a group). */
export function chordSignature(header: Signature[] | Signature, body: Signature, options: JsonObject = {}): Signature {
  return { task: 'celery.chord', args: [], kwargs: { kwargs: {}, header, body }, options, subtask_type: 'chord', immutable: false };
}

/** A chain signature, as Celery's `chain(*tasks, **options)` serialises. */
export function chainSignature(tasks: Signature[], options: JsonObject = {}): Signature {
  return { task: 'celery.chain', args: [], kwargs: { tasks }, options, subtask_type: 'chain', immutable: false };
}

/** A chord's header as a group signature (Celery turns a list into a group when it freezes or applies the chord). */
function headerOf(chord: Signature): Signature {
  const header = chord.kwargs.header;
  if (isObject(header) && header.subtask_type === 'group') return asSignature(header);
  if (isObject(header) && typeof header.task === 'string') {
    // `_maybe_group`: a chain's tasks, or one signature, become the header's list.
    const sig = asSignature(header);
    return groupSignature(sig.subtask_type === 'chain' ? tasksOf(sig) : [sig]);
  }
  if (!Array.isArray(header)) throw new CanvasError('a chord signature without a header');
  return groupSignature(header.map(asSignature));
}

function bodyOf(chord: Signature): Signature {
  if (!isObject(chord.kwargs.body)) throw new CanvasError('a chord signature without a body');
  return asSignature(chord.kwargs.body);
}

/** Celery's `maybe_unroll_group`: a group of one is that one signature. */
function unrollOne(group: Signature): Signature {
  const tasks = tasksOf(group);
  return tasks.length === 1 ? tasks[0]! : group;
}

/** How many tasks report to a chord when this signature is one of its header members (Celery's `_descend`). */
export function chordSizeOf(sig: Signature): number {
  switch (kindOf(sig)) {
    case 'group':
      return tasksOf(sig).reduce((n, t) => n + chordSizeOf(t), 0);
    case 'chain': {
      const tasks = tasksOf(sig);
      for (let i = tasks.length - 1; i >= 0; i--) {
        const size = chordSizeOf(tasks[i]!);
        if (size > 0) return size;
      }
      return 0;
    }
    case 'chord':
      return chordSizeOf(bodyOf(sig));
    default:
      return 1;
  }
}

/** Celery's `as_tuple()`. */
export function resultTuple(result: FrozenResult): ResultTuple {
  return [[result.id, result.parent ? resultTuple(result.parent) : null], result.members ? result.members.map(resultTuple) : null];
}

/** Where freezing puts a signature: Celery's `freeze(_id, group_id, chord, root_id, parent_id, group_index)`. */
interface FreezeAt {
  id?: string;
  groupId?: string | null;
  chord?: Signature | null;
  rootId?: string | null;
  parentId?: string | null;
  groupIndex?: number | null;
}

/**
 * Applies signatures as Celery does and collects what that takes ({@link effects}). One per occasion (a task's end,
 * a client's call); the backend's effects are performed before any message.
 */
export class Canvas {
  readonly effects: CanvasEffect[] = [];
  /**
   * What Celery adds to the running task's trail (`add_trail`), which its stored result lists as `children`: each
   * task sent and each group applied, not a group's members one by one.
   */
  readonly trail: FrozenResult[] = [];
  /** Above 0 while a group's members are applied (Celery applies them with `add_to_parent=False`). */
  private inGroup = 0;
  private readonly newId: () => string;
  private readonly route: FollowUpRouter;

  constructor(private readonly opts: CanvasOptions) {
    this.newId = opts.newId ?? randomUUID;
    this.route = opts.route ?? DEFAULT_ROUTER;
  }

  /** The messages collected so far, in order. */
  get messages(): FollowUp[] {
    return this.effects.flatMap((e) => (e.kind === 'publish' ? [e.message] : []));
  }

  /** Celery's `signature(sig).apply_async(args, kwargs, **options)`, for any kind of signature. */
  apply(sig: Signature, args: unknown[] = [], kwargs: JsonObject = {}, options: JsonObject = {}): FrozenResult {
    const o = given(options);
    switch (kindOf(sig)) {
      case 'chain': return this.applyChain(sig, args, kwargs, o);
      case 'group': return this.applyGroup(sig, args, kwargs, o);
      case 'chord': return this.applyChord(sig, args, kwargs, o);
      default: {
        if (sig.task === '') throw new CanvasError('signature has no task name');
        const [a, k, merged] = args.length || Object.keys(kwargs).length || Object.keys(o).length ? merge(sig, args, kwargs, o) : [sig.args, sig.kwargs, sig.options];
        return { id: this.send(sig.task, a, k, merged).id };
      }
    }
  }

  /** {@link apply}, all or nothing: a signature that cannot be applied leaves no effect behind. */
  applyWhole(sig: Signature, args: unknown[] = [], kwargs: JsonObject = {}, options: JsonObject = {}): FrozenResult {
    const mark = this.effects.length;
    const trailMark = this.trail.length;
    try {
      return this.apply(sig, args, kwargs, options);
    } catch (err) {
      this.effects.length = mark;
      this.trail.length = trailMark;
      throw err;
    }
  }

  /** Celery's `freeze()`: ids and places fixed in the signature's options (in place), its result returned. */
  freeze(sig: Signature, at: FreezeAt = {}): FrozenResult {
    switch (kindOf(sig)) {
      case 'group': {
        const [id, members] = this.freezeGroupTasks(sig, at);
        return { id, members };
      }
      case 'chain': {
        const [, results] = this.prepareSteps(sig.args, sig.kwargs, tasksOf(sig), {
          rootId: at.rootId ?? null, parentId: at.parentId ?? null, linkError: null, lastTaskId: at.id ?? null,
          groupId: at.groupId ?? null, chordBody: at.chord ?? null, clone: false, groupIndex: at.groupIndex ?? null,
        });
        if (!results.length) throw new CanvasError('an empty chain');
        return results[0]!;
      }
      case 'chord': {
        const header = headerOf(sig);
        sig.kwargs = { ...sig.kwargs, header };
        const body = bodyOf(sig);
        sig.kwargs.body = body;
        const [headerId, members] = this.freezeGroupTasks(header, { parentId: at.parentId, rootId: at.rootId, chord: body });
        const bodyResult = this.freeze(body, { id: at.id, rootId: at.rootId, chord: at.chord, groupId: at.groupId, groupIndex: at.groupIndex });
        let node = bodyResult;
        while (node.parent) node = node.parent;
        node.parent = { id: headerId, members };
        return bodyResult;
      }
      default: {
        const o = sig.options;
        const id = str(o.task_id) ?? at.id ?? this.newId();
        o.task_id = id;
        if (at.rootId) o.root_id = at.rootId;
        if (at.parentId) o.parent_id = at.parentId;
        if (!('reply_to' in o)) o.reply_to = this.opts.replyTo;
        if (at.groupId && !('group_id' in o)) o.group_id = at.groupId;
        if (at.chord) o.chord = at.chord;
        if (at.groupIndex !== null && at.groupIndex !== undefined) o.group_index = at.groupIndex;
        return { id };
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Chains

  private applyChain(sig: Signature, args: unknown[], kwargs: JsonObject, options: JsonObject): FrozenResult {
    const o: JsonObject = { ...sig.options, ...options };
    const take = (key: string): unknown => {
      const v = o[key];
      delete o[key];
      return v;
    };
    const groupId = str(take('group_id')) ?? null;
    const chordOption = take('chord');
    const chord = isObject(chordOption) ? asSignature(chordOption) : null;
    const taskId = str(take('task_id')) ?? null;
    const link = sigList(take('link'));
    const linkError = sigList(take('link_error'));
    const rootId = str(take('root_id')) ?? null;
    const parentId = str(take('parent_id')) ?? null;
    const groupIndex = num(take('group_index')) ?? null;
    const partial = args.length && !sig.immutable ? [...args, ...sig.args] : sig.args;
    const [tasks, results] = this.prepareSteps(partial, kwargs, tasksOf(sig), {
      rootId, parentId, linkError, lastTaskId: taskId, groupId, chordBody: chord, clone: true, groupIndex,
    });
    if (!results.length) return { id: taskId ?? this.newId() };
    if (link) extendListOption(tasks[0]!, 'link', link);
    const first = tasks.pop()!;
    // `_prepare_chain_from_options`: the rest of this chain goes in `chain`, after any chain the caller passed on.
    const chain = Array.isArray(o.chain) ? [...(o.chain as Signature[]), ...tasks] : tasks;
    const applied = this.apply(first, [], {}, { ...o, chain });
    return tasks.length ? results[0]! : applied;
  }

  /**
   * Celery's `chain.prepare_steps`: the steps from the last to the first, frozen, nested chains spliced in, a group
   * followed by a step upgraded to a chord with that step as its body. Returns the steps and their results, both
   * in reverse order (the first step last), as Celery's message `chain` holds them.
   */
  private prepareSteps(args: unknown[], kwargs: JsonObject, steps: Signature[], p: {
    rootId: string | null; parentId: string | null; linkError: Signature[] | null; lastTaskId: string | null;
    groupId: string | null; chordBody: Signature | null; clone: boolean; groupIndex: number | null;
  }): [Signature[], FrozenResult[]] {
    const queue = [...steps];
    const tasks: Signature[] = [];
    const results: FrozenResult[] = [];
    let prevTask: Signature | null = null;
    let prevRes: FrozenResult | null = null;
    let i = 0;
    while (queue.length) {
      let task = asSignatureInPlace(queue.pop()!);
      const isFirst = queue.length === 0;
      const isLast = i === 0;
      if (kindOf(task) === 'group') task = unrollOne(task);
      if (p.clone) task = isFirst ? cloneWith(task, args, kwargs) : cloneSig(task);
      else if (isFirst) task.args = [...args, ...task.args];
      if (kindOf(task) === 'chain') {
        queue.push(...tasksOf(task));
        continue;
      }
      if (kindOf(task) === 'group' && prevTask) {
        tasks.pop();
        results.pop();
        // group | step is a chord of the group with the step as body (under the step's id when it has one).
        const chordOptions: JsonObject = prevRes && !prevRes.members ? { task_id: prevRes.id } : {};
        if (p.rootId) chordOptions.root_id = p.rootId;
        task = chordSignature(tasksOf(task), prevTask, chordOptions);
      }
      const res = isLast
        ? this.freeze(task, { id: p.lastTaskId ?? undefined, rootId: p.rootId, groupId: p.groupId, chord: p.chordBody, groupIndex: p.groupIndex })
        : this.freeze(task, { rootId: p.rootId });
      i++;
      if (prevRes && !prevRes.parent) prevRes.parent = res;
      if (p.linkError) for (const errback of p.linkError) linkErrorTo(task, errback);
      tasks.push(task);
      results.push(res);
      prevTask = task;
      prevRes = res;
      if (kindOf(task) === 'chord') {
        // The chord's result is its body's; what comes before it hangs from its header's group.
        let node = res;
        while (node.parent) node = node.parent;
        prevRes = node;
      }
    }
    return [tasks, results];
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  private applyGroup(sig: Signature, args: unknown[], kwargs: JsonObject, options: JsonObject): FrozenResult {
    if (options.link !== undefined) throw new CanvasError('Cannot add link to group: use a chord');
    if (options.link_error !== undefined) throw new CanvasError('Cannot add link to group: do that on individual tasks');
    if (!tasksOf(sig).length) return this.freeze(sig);
    // `_freeze_gid`: the group's id is its task_id option, and every member names it.
    const o: JsonObject = { ...sig.options, ...options };
    const groupId = str(o.task_id) ?? this.newId();
    delete o.task_id;
    o.group_id = groupId;
    const rootId = str(o.root_id) ?? null;
    const members = this.prepared(tasksOf(sig), groupId, rootId, []);
    const chord = isObject(o.chord) ? asSignature(o.chord) : null;
    delete o.chord;
    // Celery 5.3 on keeps a group_index given to the group from its members (they have their own).
    if (this.layout === '5.3') delete o.group_index;
    const results = this.applyTasks(groupId, members, chord, args, kwargs, o);
    const result = { id: groupId, members: results };
    if (this.inGroup === 0) this.trail.push(result);
    return result;
  }

  /**
   * Celery's `group._prepared`: each member cloned and frozen in the group, nested groups flattened in order. From
   * 5.3 on each is numbered by its place in its own list; 5.2 numbers only a chord header's (frozen before).
   */
  private prepared(tasks: Signature[], groupId: string, rootId: string | null, out: [Signature, FrozenResult][]): [Signature, FrozenResult][] {
    tasks.forEach((t, index) => {
      const task = cloneSig(t);
      if (kindOf(task) === 'group') {
        this.prepared(tasksOf(task), groupId, rootId, out);
      } else {
        out.push([task, this.freeze(task, { groupId, rootId, groupIndex: this.layout === '5.3' ? index : undefined })]);
      }
    });
    return out;
  }

  /** Celery's `group._apply_tasks`: the chord size set before the last member goes, then each member applied. */
  private applyTasks(groupId: string, members: [Signature, FrozenResult][], chord: Signature | null, args: unknown[], kwargs: JsonObject, options: JsonObject): FrozenResult[] {
    let size = 0;
    members.forEach(([sig], i) => {
      const chordOf = chord ?? (isObject(sig.options.chord) ? asSignature(sig.options.chord) : null);
      size += chordSizeOf(sig);
      if (chordOf && i === members.length - 1) this.effects.push({ kind: 'chord-size', groupId, size });
      this.inGroup++;
      try {
        this.apply(sig, args, kwargs, { ...options, chord: chordOf });
      } finally {
        this.inGroup--;
      }
    });
    return members.map(([, res]) => res);
  }

  /** Celery's `group._freeze_group_tasks`: the group's id fixed, each member frozen into it and numbered. */
  private freezeGroupTasks(group: Signature, at: FreezeAt): [string, FrozenResult[]] {
    const o = group.options;
    const id = str(o.task_id) ?? at.groupId ?? this.newId();
    o.task_id = id;
    if (at.groupId) o.group_id = at.groupId;
    if (at.chord) o.chord = at.chord;
    if (at.groupIndex !== null && at.groupIndex !== undefined) o.group_index = at.groupIndex;
    if (!('root_id' in o)) o.root_id = at.rootId ?? null;
    if (!('parent_id' in o)) o.parent_id = at.parentId ?? null;
    const rootId = str(o.root_id) ?? null;
    const parentId = str(o.parent_id) ?? null;
    // `_freeze_unroll`: nested groups spliced in where they stand (their members in reverse, as Celery's deque
    // extendleft leaves them), every other member cloned and frozen with its place.
    const stack = [...tasksOf(group)];
    const frozen: Signature[] = [];
    const results: FrozenResult[] = [];
    while (stack.length) {
      const task = cloneSig(asSignatureInPlace(stack.shift()!));
      if (kindOf(task) === 'group') {
        stack.unshift(...[...tasksOf(task)].reverse());
        continue;
      }
      frozen.push(task);
      results.push(this.freeze(task, { groupId: at.groupId, chord: at.chord, rootId, parentId, groupIndex: results.length }));
    }
    setTasks(group, frozen);
    return [id, results];
  }

  // -------------------------------------------------------------------------------------------
  // Chords

  private applyChord(sig: Signature, args: unknown[], kwargs: JsonObject, options: JsonObject): FrozenResult {
    const partial = args.length && !sig.immutable ? [...args, ...sig.args] : sig.args;
    const body = cloneWith(isObject(kwargs.body) ? asSignature(kwargs.body) : bodyOf(sig), [], {}, options);
    const header = cloneSig(headerOf(sig));
    const merged: JsonObject = { ...sig.options, ...options };
    const taskId = str(merged.task_id) ?? null;
    delete merged.task_id;
    return this.runChord(header, body, partial, taskId, merged);
  }

  /** Celery's `chord.run`. */
  private runChord(header: Signature, body: Signature, partial: unknown[], taskId: string | null, options: JsonObject): FrozenResult {
    const o = { ...options };
    for (const key of CHORD_RUN_PARAMS) delete o[key];
    const groupId = str(header.options.task_id) ?? this.newId();
    const rootId = str(body.options.root_id) ?? null;
    // The body takes every option of the call: the rest of an enclosing chain, parent and root ids, group...
    Object.assign(body.options, o);
    // Celery 5.3 on freezes the body into the chord's group (its message names the group).
    const bodyResult = this.freeze(body, { id: taskId ?? undefined, rootId, groupId: this.layout === '5.3' ? groupId : null });
    delete o.chain;
    delete o.chord;
    const [headerId, members] = this.freezeGroupTasks(header, { groupId, chord: body, rootId });
    let headerResult: FrozenResult;
    if (tasksOf(header).length) {
      // `apply_chord`: a header with groups among its results is saved, for the callback to join.
      if (members.some((m) => m.members)) this.effects.push({ kind: 'save-group', groupId: headerId, result: resultTuple({ id: headerId, members }) });
      headerResult = this.applyGroup(header, partial, {}, { ...o, task_id: groupId });
    } else {
      this.apply(body, [[]]);
      headerResult = { id: headerId, members };
    }
    bodyResult.parent = headerResult;
    return bodyResult;
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private get layout(): CeleryLayout {
    return this.opts.layout ?? '5.3';
  }

  /**
   * Celery's `send_task` of a task signature with its merged args, kwargs and options: the options a Python
   * client can put in a signature (task_id, queue or routing_key, priority, countdown, eta, expires, time limits,
   * reply_to, shadow, ignore_result, link, link_error, chain, chord, group_id, group_index, parent_id, root_id,
   * stamps) become the message's.
   */
  private send(name: string, args: unknown[], kwargs: JsonObject, o: JsonObject): FollowUp {
    const routed = this.route(name);
    const queue = str(o.queue) ?? str(o.routing_key) ?? routed.queue;
    const countdown = num(o.countdown);
    const eta = date(o.eta) ?? (countdown !== undefined ? new Date(Date.now() + countdown * 1000) : null);
    const expiresIn = num(o.expires);
    const expires = expiresIn !== undefined ? new Date(Date.now() + expiresIn * 1000) : date(o.expires) ?? null;
    const embed: Partial<Embed> = {
      callbacks: sigList(o.link),
      errbacks: sigList(o.link_error),
      chain: Array.isArray(o.chain) ? o.chain.map(asSignature) : null,
      chord: isObject(o.chord) ? asSignature(o.chord) : null,
    };
    const id = str(o.task_id) ?? this.newId();
    const current = this.opts.current;
    const parentId = str(o.parent_id) ?? current?.id ?? null;
    const rootId = str(o.root_id) ?? (current ? current.rootId ?? current.id : null) ?? id;
    const call: TaskCall = {
      id, name, args, kwargs, queue,
      priority: num(o.priority) ?? routed.priority, eta, expires,
      timeLimit: num(o.time_limit) ?? null, softTimeLimit: num(o.soft_time_limit) ?? null,
      parentId, rootId, groupId: str(o.group_id) ?? null, groupIndex: num(o.group_index) ?? null,
      ignoreResult: o.ignore_result === true, shadow: str(o.shadow) ?? null, embed, stamps: signatureStamps(o),
    };
    if (this.opts.extraHeaders) call.headers = this.opts.extraHeaders(call);
    const sender: Sender = { origin: this.opts.origin, replyTo: str(o.reply_to) ?? this.opts.replyTo, deliveryTag: this.newId(), layout: this.layout };
    const message: FollowUp = { id, name, queue, priority: call.priority ?? 0, body: encodeTaskMessage(call, sender), call };
    this.effects.push({ kind: 'publish', message });
    if (this.inGroup === 0) this.trail.push({ id });
    return message;
  }
}

/** A step taken from a chain or group list, made a signature where it is (so that freezing marks it in place). */
function asSignatureInPlace(v: Signature): Signature {
  return 'options' in v && isObject(v.options) && Array.isArray(v.args) ? v : asSignature(v);
}

/** Celery's `extend_list_option`. */
function extendListOption(sig: Signature, key: string, values: Signature[]): void {
  const current = sig.options[key];
  const list = current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
  sig.options[key] = [...list, ...values];
}

/** Celery's `link_error` of each kind: a group's members, a chord's body, any other the signature itself. */
function linkErrorTo(sig: Signature, errback: Signature): void {
  switch (kindOf(sig)) {
    case 'group':
      for (const t of tasksOf(sig)) linkErrorTo(t, errback);
      return;
    case 'chord': {
      const body = bodyOf(sig);
      linkErrorTo(body, errback);
      sig.kwargs.body = body;
      return;
    }
    default: {
      const current = sig.options.link_error;
      const list = current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
      if (!list.some((e) => JSON.stringify(e) === JSON.stringify(errback))) list.push(errback);
      sig.options.link_error = list;
    }
  }
}
