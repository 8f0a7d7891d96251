// The bodies aioscope's debug adapter sends: the `aioscope/awaitGraph` event (also the response
// of the `aioscope/snapshot` request) and the `aioscope/cycles` event. Their shapes are defined by
// schema/awaitgraph.schema.json and schema/cycles.schema.json at the top of the repository; the
// unit tests check these types and the parsers against them. Nothing here depends on VS Code, so
// the tree model built from it is unit-tested with plain Node.

/** One coroutine frame of a task. `line` is 1-based, 0 when unknown. */
export interface GraphFrame {
  name: string;
  /** The file as a client can open it, or the name the target uses when it is not a file. */
  path: string;
  line: number;
  /**
   * Present for frames of Python's own asyncio package, the event loop's machinery rather than
   * the program. The adapter decides it (the CALL STACK dims the same frames); absent otherwise.
   */
  internal?: true;
}

export interface GraphTask {
  /** The DAP thread id of the task: small, stable for the task during a session. */
  threadId: number;
  /** The task object's address, `0x…`. */
  taskId: string;
  name: string;
  /** OS thread whose event loop holds the task; 0 when that thread has exited. */
  tid: number;
  /** DAP thread ids of the tasks awaiting this one. */
  awaitedBy: number[];
  /** The task's coroutine chain, innermost first. */
  frames: GraphFrame[];
  /**
   * The group of tasks waiting at the same place (the same frames and the same awaiters up to a
   * root) the adapter put the task in; groups are numbered from the largest. Older adapters do
   * not send it.
   */
  group?: number;
  /**
   * How long the task has waited at its current suspension point, in milliseconds, as of the
   * snapshot: from the first of the session's snapshots that saw it there. Absent when unknown
   * (older adapters, a task seen for the first time).
   */
  waitedMs?: number;
  /** Present when waitedMs is only a lower bound (shown as "≥ 41 s"). */
  waitAtLeast?: true;
  /**
   * Present when the task is stuck: it awaits no other task, does not sleep, and has waited at
   * one place for the session's stuckThreshold or longer.
   */
  stuck?: true;
}

/** What an event loop did, from samples of its thread taken while the session refreshes. */
export interface GraphLoop {
  tid: number;
  /** DAP thread id of the loop's OS thread, 0 when it is not in the snapshot. */
  threadId: number;
  state: 'idle' | 'callback' | 'loop' | 'no loop';
  /** The longest run of one callback that ended in the last second or goes on. */
  lagMs: number;
  /** Present while the loop is blocked: how long the callback running now has run. */
  blockedMs?: number;
  /** Where the loop is blocked. */
  blockedSite?: GraphFrame;
}

export interface GraphThread {
  threadId: number;
  tid: number;
  name: string;
  main: boolean;
  /** DAP thread id of the task this thread is running right now, 0 for none. */
  runningThreadId: number;
}

export interface AwaitGraph {
  pid: number;
  pythonVersion: string;
  /** RFC 3339 time at which the snapshot was taken. */
  capturedAt: string;
  tasks: GraphTask[];
  /** Await cycles as lists of thread ids (the first may be repeated at the end). */
  cycles: number[][];
  threads: GraphThread[];
  /** The event loops, while the session refreshes (absent otherwise, and from older adapters). */
  loops?: GraphLoop[];
}

/**
 * The body of the aioscope/loopBlocked event: an event loop kept from everything else by one
 * callback for the session's blockedThreshold or longer (schema/loopblocked.schema.json).
 */
export interface LoopBlocked {
  tid: number;
  threadId: number;
  milliseconds: number;
  precisionMs: number;
  startedAt: string;
  /** The block still went on when it was reported; a later event reports its end. */
  ongoing: boolean;
  /** The task whose step blocked the loop, null for a plain callback. */
  task: { taskId: string; threadId: number; name: string } | null;
  /** Where the loop was blocked: the innermost frame of the program itself. */
  site: GraphFrame | null;
  /** The callback's frames, innermost first. */
  frames: GraphFrame[];
}

export interface CycleMember {
  threadId: number;
  name: string;
}

export interface CyclesBody {
  cycles: CycleMember[][];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function numbers(v: unknown): number[] {
  if (!Array.isArray(v)) {
    return [];
  }
  const out: number[] = [];
  for (const x of v) {
    if (typeof x === 'number' && Number.isFinite(x)) {
      out.push(x);
    }
  }
  return out;
}

function parseFrame(f: Record<string, unknown>): GraphFrame {
  const frame: GraphFrame = { name: str(f.name, '<unknown>'), path: str(f.path), line: Math.max(0, Math.trunc(num(f.line))) };
  if (f.internal === true) {
    frame.internal = true;
  }
  return frame;
}

function parseFrames(v: unknown): GraphFrame[] {
  if (!Array.isArray(v)) {
    return [];
  }
  const out: GraphFrame[] = new Array(v.length);
  let n = 0;
  for (const f of v) {
    if (isObject(f)) {
      out[n++] = parseFrame(f);
    }
  }
  out.length = n;
  return out;
}

function nonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

const loopStates: readonly GraphLoop['state'][] = ['idle', 'callback', 'loop', 'no loop'];

function parseLoops(v: unknown): GraphLoop[] {
  const out: GraphLoop[] = [];
  for (const l of Array.isArray(v) ? v : []) {
    if (!isObject(l) || typeof l.tid !== 'number') {
      continue;
    }
    const state = loopStates.find((s) => s === l.state) ?? 'no loop';
    const loop: GraphLoop = { tid: l.tid, threadId: num(l.threadId), state, lagMs: Math.max(0, num(l.lagMs)) };
    if (nonNegative(l.blockedMs)) {
      loop.blockedMs = l.blockedMs;
      if (isObject(l.blockedSite)) {
        loop.blockedSite = parseFrame(l.blockedSite);
      }
    }
    out.push(loop);
  }
  return out;
}

/** Validates an aioscope/loopBlocked body; undefined when it is not one. */
export function parseLoopBlocked(body: unknown): LoopBlocked | undefined {
  if (!isObject(body) || typeof body.tid !== 'number' || !nonNegative(body.milliseconds)) {
    return undefined;
  }
  const t = body.task;
  return {
    tid: body.tid,
    threadId: num(body.threadId),
    milliseconds: body.milliseconds,
    precisionMs: Math.max(0, num(body.precisionMs)),
    startedAt: str(body.startedAt),
    ongoing: body.ongoing === true,
    task: isObject(t) ? { taskId: str(t.taskId), threadId: num(t.threadId), name: str(t.name) } : null,
    site: isObject(body.site) ? parseFrame(body.site) : null,
    frames: parseFrames(body.frames),
  };
}

/**
 * How long something lasted, as the adapter's rows say it: "41 s", "3 min 5 s", "2 h 4 min";
 * "" under a second.
 */
export function formatWait(ms: number, atLeast = false): string {
  const s = Math.floor(ms / 1000);
  if (!(s >= 1)) {
    return '';
  }
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return atLeast ? `≥ ${text}` : text;
}

/** A duration under a minute or so to a tenth of a second: "1.3 s", "350 ms". */
export function formatShort(ms: number): string {
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatWait(ms);
}

/** The notification for a blocked event loop. */
export function loopBlockedMessage(pid: number | undefined, b: LoopBlocked): string {
  const where = pid ? ` of process ${pid}` : '';
  const how = b.ongoing ? `has been blocked for ${formatShort(b.milliseconds)} so far` : `was blocked for ${formatShort(b.milliseconds)}`;
  const by = b.task !== null && b.task.name !== '' ? ` by a step of task ${b.task.name}` : ' by a callback';
  const site = b.site !== null ? ` in ${b.site.name} (${baseFileName(b.site.path)}${b.site.line > 0 ? `:${b.site.line}` : ''})` : '';
  return `aioscope: the event loop${where} (thread ${b.tid}) ${how}${by}${site}: nothing else ran meanwhile.`;
}

function baseFileName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/**
 * Validates an awaitGraph body. Unknown fields are ignored and malformed entries dropped, so a
 * newer adapter that adds fields keeps working; undefined when the body is not an awaitGraph.
 */
export function parseAwaitGraph(body: unknown): AwaitGraph | undefined {
  if (!isObject(body) || !Array.isArray(body.tasks)) {
    return undefined;
  }
  const tasks: GraphTask[] = [];
  const seen = new Set<number>();
  for (const t of body.tasks) {
    if (!isObject(t) || typeof t.threadId !== 'number' || seen.has(t.threadId)) {
      continue;
    }
    seen.add(t.threadId);
    const task: GraphTask = {
      threadId: t.threadId,
      taskId: str(t.taskId),
      name: str(t.name, str(t.taskId, `task ${t.threadId}`)),
      tid: num(t.tid),
      awaitedBy: numbers(t.awaitedBy),
      frames: parseFrames(t.frames),
    };
    if (typeof t.group === 'number' && Number.isInteger(t.group) && t.group >= 0) {
      task.group = t.group;
    }
    if (nonNegative(t.waitedMs)) {
      task.waitedMs = t.waitedMs;
      if (t.waitAtLeast === true) {
        task.waitAtLeast = true;
      }
    }
    if (t.stuck === true) {
      task.stuck = true;
    }
    tasks.push(task);
  }
  const cycles: number[][] = [];
  if (Array.isArray(body.cycles)) {
    for (const c of body.cycles) {
      const ids = numbers(c);
      if (ids.length > 0) {
        cycles.push(ids);
      }
    }
  }
  const threads: GraphThread[] = [];
  if (Array.isArray(body.threads)) {
    for (const t of body.threads) {
      if (isObject(t) && typeof t.threadId === 'number') {
        threads.push({
          threadId: t.threadId,
          tid: num(t.tid),
          name: str(t.name, `Thread ${num(t.tid)}`),
          main: t.main === true,
          runningThreadId: num(t.runningThreadId),
        });
      }
    }
  }
  const graph: AwaitGraph = {
    pid: num(body.pid),
    pythonVersion: str(body.pythonVersion),
    capturedAt: str(body.capturedAt),
    tasks,
    cycles,
    threads,
  };
  if (Array.isArray(body.loops)) {
    graph.loops = parseLoops(body.loops);
  }
  return graph;
}

/** Validates an aioscope/cycles body; undefined when it is not one. */
export function parseCycles(body: unknown): CyclesBody | undefined {
  if (!isObject(body) || !Array.isArray(body.cycles)) {
    return undefined;
  }
  const cycles: CycleMember[][] = [];
  for (const c of body.cycles) {
    if (!Array.isArray(c)) {
      continue;
    }
    const members: CycleMember[] = [];
    for (const m of c) {
      if (isObject(m)) {
        members.push({ threadId: num(m.threadId), name: str(m.name, `thread ${num(m.threadId)}`) });
      }
    }
    if (members.length > 0) {
      cycles.push(members);
    }
  }
  return { cycles };
}

/** Drops the repeated first element a closed cycle ends with. */
export function openCycle<T>(cycle: readonly T[], same: (a: T, b: T) => boolean): T[] {
  if (cycle.length > 1 && same(cycle[0], cycle[cycle.length - 1])) {
    return cycle.slice(0, -1);
  }
  return cycle.slice();
}

/** "A → B → A": a cycle as the user reads it, closed. */
export function describeCycle(cycle: readonly CycleMember[]): string {
  const open = openCycle(cycle, (a, b) => a.threadId === b.threadId);
  if (open.length === 0) {
    return '';
  }
  return [...open, open[0]].map((m) => m.name).join(' → ');
}

/** A key identifying a cycle whatever member it starts at, to notify about each cycle once. */
export function cycleKey(cycle: readonly CycleMember[]): string {
  const ids = openCycle(cycle, (a, b) => a.threadId === b.threadId).map((m) => m.threadId);
  if (ids.length === 0) {
    return '';
  }
  let start = 0;
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] < ids[start]) {
      start = i;
    }
  }
  return [...ids.slice(start), ...ids.slice(0, start)].join(',');
}

/** The message of the warning shown when a snapshot has await cycles. */
export function cycleWarning(pid: number | undefined, body: CyclesBody): string {
  const parts = body.cycles.map(describeCycle).filter((s) => s.length > 0);
  const where = pid ? ` in process ${pid}` : '';
  if (parts.length === 0) {
    return `aioscope: await cycle${where}.`;
  }
  const head = parts.length === 1 ? 'an await cycle' : `${parts.length} await cycles`;
  return `aioscope: ${head}${where} — these tasks wait for each other and never finish: ${parts.join('; ')}`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** "14:24:29.027" in local time (with the date when it is not today); the input when unparsable. */
export function formatCaptureTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (iso === '' || Number.isNaN(d.getTime())) {
    return iso;
  }
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}
