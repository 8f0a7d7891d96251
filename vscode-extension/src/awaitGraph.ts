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

function parseFrames(v: unknown): GraphFrame[] {
  if (!Array.isArray(v)) {
    return [];
  }
  const out: GraphFrame[] = new Array(v.length);
  let n = 0;
  for (const f of v) {
    if (isObject(f)) {
      const frame: GraphFrame = { name: str(f.name, '<unknown>'), path: str(f.path), line: Math.max(0, Math.trunc(num(f.line))) };
      if (f.internal === true) {
        frame.internal = true;
      }
      out[n++] = frame;
    }
  }
  out.length = n;
  return out;
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
  return {
    pid: num(body.pid),
    pythonVersion: str(body.pythonVersion),
    capturedAt: str(body.capturedAt),
    tasks,
    cycles,
    threads,
  };
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
