// The Await Tree: root tasks, each task's coroutine frames and, nested beneath, the tasks it
// awaits, as `pstree` draws them. Children are computed on demand, so a snapshot with tens of
// thousands of tasks costs only what is on screen. No VS Code imports: the view maps the
// `Presentation` of each node to a TreeItem.

import { AwaitGraph, GraphFrame, GraphTask, LoopBlocked, formatCaptureTime, formatShort, formatWait } from './awaitGraph';
import { argumentsTooltip, callLabel, FrameArgs } from './frameArguments';

export type FrameOrder = 'outermostFirst' | 'innermostFirst';

/**
 * Short ids for tree nodes, derived from the parent's id and the node's key. Kept across the
 * snapshots of a session so that the same node keeps its id (and VS Code its expansion state);
 * ids stay short however deep the tree goes.
 */
export class NodeIds {
  private readonly ids = new Map<string, string>();

  get(parentId: string, key: string): string {
    const k = `${parentId}|${key}`;
    let id = this.ids.get(k);
    if (id === undefined) {
      id = `n${this.ids.size + 1}`;
      this.ids.set(k, id);
    }
    return id;
  }

  get size(): number {
    return this.ids.size;
  }
}

export interface ModelOptions {
  /** Share one across the snapshots of a session to keep node ids stable. */
  ids?: NodeIds;
  /** Children lists longer than this are split into ranges of this many tasks. */
  pageSize?: number;
  frameOrder?: FrameOrder;
  /** Graphs with at most this many tasks open with every awaiting task expanded. */
  expandAllUpTo?: number;
  /**
   * Sibling tasks that wait at the same place (the same frames, the same awaiters) are folded
   * into one node when there are at least this many of them; 0 never folds.
   */
  foldMin?: number;
  /** Show frames as calls with their arguments, once known (see setArguments). */
  showArguments?: boolean;
  /**
   * The arguments of the tasks' frames known so far, by thread id: share one across the models
   * of the same graph (a filter or a setting rebuilds the model), so they are asked for once.
   */
  frameArguments?: Map<number, FrameArgs[]>;
}

interface NodeBase {
  /** Unique and stable across snapshots of a session, so VS Code keeps what is expanded. */
  readonly id: string;
  readonly parent: TreeNode | undefined;
}

/** The tasks of one OS thread's event loop (only when the snapshot has several). */
export interface ThreadNode extends NodeBase {
  readonly kind: 'thread';
  readonly tid: number;
  readonly label: string;
  readonly roots: readonly number[];
}

export interface TaskNode extends NodeBase {
  readonly kind: 'task';
  readonly task: GraphTask;
  /** The task is already an ancestor of this node: an await cycle closes here. */
  readonly backEdge: boolean;
}

export interface FrameNode extends NodeBase {
  readonly kind: 'frame';
  readonly task: GraphTask;
  readonly frame: GraphFrame;
  /** Index in the task's frames, innermost first: 0 is where the task waits. */
  readonly index: number;
}

/**
 * Sibling tasks folded into one node because they wait at the same place: the same coroutine
 * frames and the same awaiters, so that thousands of them read as one line with a count.
 */
export interface GroupNode extends NodeBase {
  readonly kind: 'group';
  /** The tasks, in snapshot order. */
  readonly ids: readonly number[];
  /** What they have in common (their fold key). */
  readonly key: string;
  readonly fold: Fold;
}

/** An item of a list of siblings: a task, or a group of identical ones. */
export type Entry = number | Fold;

/** Sibling tasks that wait at the same place (see GroupNode). */
export interface Fold {
  readonly key: string;
  readonly ids: readonly number[];
  /** What the group is called (groupName of its tasks' names). */
  readonly name: string;
  /** Some of its tasks are on an await cycle. */
  readonly cyclic: boolean;
}

/** A page of a long list of tasks and groups. */
export interface RangeNode extends NodeBase {
  readonly kind: 'range';
  readonly entries: readonly Entry[];
  readonly start: number;
  readonly total: number;
}

export type TreeNode = ThreadNode | TaskNode | FrameNode | RangeNode | GroupNode;

export type Collapsible = 'none' | 'collapsed' | 'expanded';

/** What the view shows for a node; icons are codicon ids. */
export interface Presentation {
  label: string;
  description: string;
  tooltip: string;
  collapsible: Collapsible;
  icon: string;
  /** A theme color id for the icon, e.g. for tasks in an await cycle. */
  iconColor?: string;
  contextValue: string;
  /** What a screen reader says for the node. */
  accessibility: string;
  /** The part of the label that matches the filter, [start, end). */
  highlight?: [number, number];
  /** Where clicking the node goes. */
  open?: { path: string; line: number };
}

const defaultPageSize = 1000;
const defaultExpandAllUpTo = 50;
export const defaultFoldMin = 5;

export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** A frame can be opened when its path is an absolute file path and its line is known. */
export function isOpenable(frame: GraphFrame): boolean {
  return frame.line > 0 && frame.path.startsWith('/') && !frame.path.startsWith('<');
}

function frameLocation(frame: GraphFrame): string {
  const file = baseName(frame.path) || frame.path;
  return frame.line > 0 ? `${file}:${frame.line}` : file;
}

/**
 * The frame that best says where a task is: the innermost one outside asyncio itself (as the
 * adapter marks them, `internal`).
 */
export function currentFrame(task: GraphTask): GraphFrame | undefined {
  for (const f of task.frames) {
    if (f.internal !== true) {
      return f;
    }
  }
  return task.frames[0];
}

export class AwaitTreeModel {
  readonly graph: AwaitGraph;
  readonly pageSize: number;
  readonly frameOrder: FrameOrder;
  /** Tasks by DAP thread id. */
  readonly tasks = new Map<number, GraphTask>();
  /** For each task, the tasks awaiting it that are in the snapshot (no self-awaits). */
  private readonly awaiters = new Map<number, number[]>();
  /** For each task, the tasks it awaits, in snapshot order. */
  private readonly awaited = new Map<number, number[]>();
  /** Tasks that are part of an await cycle. */
  readonly inCycle = new Set<number>();
  /** Roots in order: tasks nobody awaits, then one task per part of the graph only cycles reach. */
  readonly rootIds: number[] = [];
  private readonly rootSet = new Set<number>();
  /** Tasks shown as roots only because an await cycle leaves them without a root above. */
  readonly cycleRoots = new Set<number>();
  private readonly running = new Map<number, string>();
  private readonly threadNames = new Map<number, string>();
  private readonly groupByThread: boolean;
  private readonly ids: NodeIds;
  /** Strongly connected component of each task that is in one with other tasks. */
  private readonly component = new Map<number, number>();
  private readonly expandAll: boolean;
  readonly foldMin: number;
  /** Each task's fold key, computed when first needed. */
  private readonly foldKeys = new Map<number, number>();
  private readonly frameNumbers = new Map<string, Map<string, Map<number, number>>>();
  private frameCount = 0;
  private readonly chainNumbers = new Map<string, number>();

  readonly showArguments: boolean;
  private readonly frameArgs: Map<number, FrameArgs[]>;

  private filterText = '';
  /**
   * When filtering: tasks whose name, or one of whose frames' function or file name, matches;
   * and every task above one (shown to keep the hierarchy).
   */
  private matches: Set<number> | undefined;
  private visible: Set<number> | undefined;

  constructor(graph: AwaitGraph, options: ModelOptions = {}) {
    this.graph = graph;
    this.pageSize = Math.max(1, options.pageSize ?? defaultPageSize);
    this.frameOrder = options.frameOrder ?? 'outermostFirst';
    this.ids = options.ids ?? new NodeIds();
    this.foldMin = Math.max(0, options.foldMin ?? defaultFoldMin);
    for (const t of graph.tasks) {
      this.tasks.set(t.threadId, t);
    }
    for (const t of graph.tasks) {
      const up: number[] = [];
      for (const a of t.awaitedBy) {
        if (a !== t.threadId && this.tasks.has(a) && !up.includes(a)) {
          up.push(a);
          let down = this.awaited.get(a);
          if (down === undefined) {
            down = [];
            this.awaited.set(a, down);
          }
          down.push(t.threadId);
        }
      }
      if (up.length > 0) {
        this.awaiters.set(t.threadId, up);
      }
    }
    for (const c of graph.cycles) {
      for (const id of c) {
        if (this.tasks.has(id)) {
          this.inCycle.add(id);
        }
      }
    }
    // Self-awaits are cycles too, as is every task of a strongly connected component, though
    // the adapter may list only some of those cycles.
    for (const t of graph.tasks) {
      if (t.awaitedBy.includes(t.threadId)) {
        this.inCycle.add(t.threadId);
      }
    }
    this.computeComponents();
    for (const id of this.component.keys()) {
      this.inCycle.add(id);
    }
    this.computeRoots();
    for (const th of graph.threads) {
      this.threadNames.set(th.tid, th.name);
      if (th.runningThreadId > 0) {
        this.running.set(th.runningThreadId, th.name);
      }
    }
    const tids = new Set<number>();
    for (const id of this.rootIds) {
      tids.add(this.tasks.get(id)!.tid);
    }
    this.groupByThread = tids.size > 1;
    this.expandAll = graph.tasks.length <= (options.expandAllUpTo ?? defaultExpandAllUpTo);
    this.showArguments = options.showArguments ?? false;
    this.frameArgs = options.frameArguments ?? new Map();
  }

  /** Whether the arguments of a task's frames are wanted and not known yet. */
  needsArguments(threadId: number): boolean {
    const t = this.tasks.get(threadId);
    return this.showArguments && t !== undefined && t.frames.length > 0 && !this.frameArgs.has(threadId);
  }

  /** Records the arguments of a task's frames (innermost first, as its frames are listed). */
  setArguments(threadId: number, frames: FrameArgs[]): void {
    this.frameArgs.set(threadId, frames);
  }

  /** The arguments of frame index (innermost first) of a task, if known. */
  argumentsOf(threadId: number, index: number): FrameArgs | undefined {
    return this.frameArgs.get(threadId)?.[index];
  }

  /** Tarjan's algorithm, without recursion: await chains can be thousands of tasks deep. */
  private computeComponents(): void {
    const index = new Map<number, number>();
    const low = new Map<number, number>();
    const onStack = new Set<number>();
    const stack: number[] = [];
    let counter = 0;
    let comp = 0;
    for (const t of this.graph.tasks) {
      if (index.has(t.threadId)) {
        continue;
      }
      // Each work item: a task and the position in its list of awaited tasks.
      const work: [number, number][] = [[t.threadId, 0]];
      index.set(t.threadId, counter);
      low.set(t.threadId, counter++);
      stack.push(t.threadId);
      onStack.add(t.threadId);
      while (work.length > 0) {
        const top = work[work.length - 1];
        const [v, i] = top;
        const next = this.awaited.get(v) ?? [];
        if (i < next.length) {
          top[1]++;
          const w = next[i];
          if (!index.has(w)) {
            index.set(w, counter);
            low.set(w, counter++);
            stack.push(w);
            onStack.add(w);
            work.push([w, 0]);
          } else if (onStack.has(w)) {
            low.set(v, Math.min(low.get(v)!, index.get(w)!));
          }
          continue;
        }
        work.pop();
        if (work.length > 0) {
          const u = work[work.length - 1][0];
          low.set(u, Math.min(low.get(u)!, low.get(v)!));
        }
        if (low.get(v) === index.get(v)) {
          const members: number[] = [];
          let w: number;
          do {
            w = stack.pop()!;
            onStack.delete(w);
            members.push(w);
          } while (w !== v);
          if (members.length > 1) {
            comp++;
            for (const m of members) {
              this.component.set(m, comp);
            }
          }
        }
      }
    }
  }

  private computeRoots(): void {
    const reached = new Set<number>();
    const reach = (start: number): void => {
      const stack = [start];
      reached.add(start);
      while (stack.length > 0) {
        const id = stack.pop()!;
        for (const c of this.awaited.get(id) ?? []) {
          if (!reached.has(c)) {
            reached.add(c);
            stack.push(c);
          }
        }
      }
    };
    for (const t of this.graph.tasks) {
      if (!this.awaiters.has(t.threadId)) {
        this.rootIds.push(t.threadId);
        reach(t.threadId);
      }
    }
    // What is left is reachable only through a cycle: root each such part at a cycle member.
    const candidates: number[] = [];
    for (const c of this.graph.cycles) {
      candidates.push(...c);
    }
    for (const t of this.graph.tasks) {
      candidates.push(t.threadId);
    }
    for (const id of candidates) {
      if (this.tasks.has(id) && !reached.has(id)) {
        this.rootIds.push(id);
        this.cycleRoots.add(id);
        reach(id);
      }
    }
    for (const id of this.rootIds) {
      this.rootSet.add(id);
    }
  }

  get taskCount(): number {
    return this.graph.tasks.length;
  }

  get filter(): string {
    return this.filterText;
  }

  /** Number of tasks whose name matches the filter (all tasks without a filter). */
  get matchCount(): number {
    return this.matches?.size ?? this.graph.tasks.length;
  }

  /** The tasks awaiting a task (that are in the snapshot). */
  awaitersOf(threadId: number): readonly number[] {
    return this.awaiters.get(threadId) ?? [];
  }

  /** The tasks a task awaits. */
  awaitedTasks(threadId: number): readonly number[] {
    return this.awaited.get(threadId) ?? [];
  }

  /**
   * Shows only the tasks whose name, or one of whose frames' function or file name, contains
   * `text` (ignoring case), and the tasks above them; an empty text shows everything.
   */
  setFilter(text: string): void {
    this.filterText = text.trim();
    if (this.filterText === '') {
      this.matches = undefined;
      this.visible = undefined;
      return;
    }
    const needle = this.filterText.toLocaleLowerCase();
    const matches = new Set<number>();
    const visible = new Set<number>();
    const stack: number[] = [];
    for (const t of this.graph.tasks) {
      if (taskMatches(t, needle)) {
        matches.add(t.threadId);
        if (!visible.has(t.threadId)) {
          visible.add(t.threadId);
          stack.push(t.threadId);
        }
      }
    }
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const a of this.awaiters.get(id) ?? []) {
        if (!visible.has(a)) {
          visible.add(a);
          stack.push(a);
        }
      }
    }
    this.matches = matches;
    this.visible = visible;
  }

  private isVisible(id: number): boolean {
    return this.visible === undefined || this.visible.has(id);
  }

  /** The parent id of top-level nodes: filtered trees get ids of their own. */
  private rootKey(): string {
    return this.filterText === '' ? '' : `?${this.filterText}`;
  }

  getRoots(): TreeNode[] {
    const ids = this.rootIds.filter((id) => this.isVisible(id));
    if (!this.groupByThread) {
      return this.taskList(undefined, this.rootKey(), ids);
    }
    const byTid = new Map<number, number[]>();
    for (const id of ids) {
      const tid = this.tasks.get(id)!.tid;
      let list = byTid.get(tid);
      if (list === undefined) {
        list = [];
        byTid.set(tid, list);
      }
      list.push(id);
    }
    const out: TreeNode[] = [];
    for (const [tid, roots] of byTid) {
      const name = tid === 0 ? 'Exited threads' : this.threadNames.get(tid) ?? `Thread ${tid}`;
      out.push({ kind: 'thread', id: this.ids.get(this.rootKey(), `T${tid}`), parent: undefined, tid, label: name, roots });
    }
    return out;
  }

  getChildren(node: TreeNode | undefined): TreeNode[] {
    if (node === undefined) {
      return this.getRoots();
    }
    switch (node.kind) {
      case 'thread':
        return this.taskList(node, node.id, node.roots);
      case 'range':
        return this.entryNodes(node, node.id, node.entries);
      case 'group':
        return this.taskList(node, node.id, node.ids, false);
      case 'frame':
        return [];
      case 'task': {
        if (node.backEdge) {
          return [];
        }
        const frames: TreeNode[] = this.frameNodes(node);
        const tasks = this.taskList(node, node.id, this.childTaskIds(node.task.threadId));
        return frames.concat(tasks);
      }
    }
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.parent;
  }

  private childTaskIds(threadId: number): number[] {
    const all = this.awaited.get(threadId) ?? [];
    return this.visible === undefined ? all : all.filter((id) => this.visible!.has(id));
  }

  private frameNodes(node: TaskNode): FrameNode[] {
    const frames = node.task.frames;
    const out: FrameNode[] = new Array(frames.length);
    for (let k = 0; k < frames.length; k++) {
      const i = this.frameOrder === 'outermostFirst' ? frames.length - 1 - k : k;
      out[k] = { kind: 'frame', id: this.ids.get(node.id, `f${i}`), parent: node, task: node.task, frame: frames[i], index: i };
    }
    return out;
  }

  /**
   * The nodes of a list of sibling tasks: identical ones folded into groups (unless fold is
   * false), split into ranges when there are more than a page of them.
   */
  private taskList(parent: TreeNode | undefined, prefix: string, ids: readonly number[], fold = true): TreeNode[] {
    const entries: readonly Entry[] = fold ? this.fold(ids) : ids;
    if (entries.length <= this.pageSize) {
      return this.entryNodes(parent, prefix, entries);
    }
    const out: TreeNode[] = [];
    for (let start = 0; start < entries.length; start += this.pageSize) {
      out.push({
        kind: 'range',
        id: this.ids.get(prefix, `r${start}`),
        parent,
        entries: entries.slice(start, start + this.pageSize),
        start,
        total: entries.length,
      });
    }
    return out;
  }

  /**
   * The fold key of a task: the adapter's group of the tasks waiting at the same place (the same
   * frames, the same chain of awaiters up to a root) when it sends one; else a number for the
   * task's frames and its awaiters, negative. Siblings with the same key are folded.
   */
  foldKey(t: GraphTask): number {
    if (t.group !== undefined) {
      return t.group;
    }
    let key = this.foldKeys.get(t.threadId);
    if (key === undefined) {
      // Each distinct (function, file, line) gets a small number, each distinct chain of them
      // with the same awaiters another.
      let chain = '';
      for (const f of t.frames) {
        let byPath = this.frameNumbers.get(f.name);
        if (byPath === undefined) {
          byPath = new Map();
          this.frameNumbers.set(f.name, byPath);
        }
        let byLine = byPath.get(f.path);
        if (byLine === undefined) {
          byLine = new Map();
          byPath.set(f.path, byLine);
        }
        let n = byLine.get(f.line);
        if (n === undefined) {
          n = this.frameCount++;
          byLine.set(f.line, n);
        }
        chain += `${n},`;
      }
      const up = this.awaiters.get(t.threadId);
      if (up !== undefined) {
        chain += `|${up.length === 1 ? String(up[0]) : [...up].sort((x, y) => x - y).join(',')}`;
      }
      let n = this.chainNumbers.get(chain);
      if (n === undefined) {
        n = this.chainNumbers.size;
        this.chainNumbers.set(chain, n);
      }
      key = -1 - n;
      this.foldKeys.set(t.threadId, key);
    }
    return key;
  }

  /**
   * Folds the tasks of a list of siblings that wait at the same place into groups, each where
   * its first task is; tasks of groups smaller than foldMin, and tasks running right now, stay as
   * they are.
   */
  fold(ids: readonly number[]): Entry[] {
    if (this.foldMin < 2 || ids.length < this.foldMin) {
      return ids.slice();
    }
    // One pass over the tasks: each one's key (NaN for running tasks, which are never folded),
    // and each group's tasks, name and whether one is on a cycle.
    const keys = new Float64Array(ids.length);
    const byKey = new Map<number, Bucket>();
    let big = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.running.has(id)) {
        keys[i] = NaN;
        continue;
      }
      const t = this.tasks.get(id)!;
      const k = this.foldKey(t);
      keys[i] = k;
      const b = byKey.get(k);
      if (b === undefined) {
        byKey.set(k, { ids: [id], name: new GroupNamer(t.name), cyclic: this.inCycle.has(id) });
      } else {
        b.ids.push(id);
        b.name.add(t.name);
        b.cyclic ||= this.inCycle.has(id);
        big ||= b.ids.length >= this.foldMin;
      }
    }
    if (!big) {
      return ids.slice();
    }
    const out: Entry[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const b = Number.isNaN(keys[i]) ? undefined : byKey.get(keys[i])!;
      if (b === undefined || b.ids.length < this.foldMin) {
        out.push(id);
      } else if (b.ids[0] === id) {
        out.push({ key: `${keys[i]}`, ids: b.ids, name: b.name.name(), cyclic: b.cyclic });
      }
    }
    return out;
  }

  private entryNodes(parent: TreeNode | undefined, prefix: string, entries: readonly Entry[]): TreeNode[] {
    // A child can be one of its own ancestors only inside a strongly connected component: only
    // there is the (possibly long) chain of ancestors looked at.
    let ancestors: Set<number> | undefined;
    const owner = ownerTask(parent);
    if (owner !== undefined && this.component.has(owner.task.threadId)) {
      ancestors = new Set<number>();
      for (let p: TreeNode | undefined = owner; p !== undefined; p = p.parent) {
        if (p.kind === 'task') {
          ancestors.add(p.task.threadId);
        }
      }
    }
    const out: TreeNode[] = [];
    for (const e of entries) {
      if (typeof e !== 'number') {
        out.push({ kind: 'group', id: this.ids.get(prefix, `g${e.key}`), parent, ids: e.ids, key: e.key, fold: e });
        continue;
      }
      const task = this.tasks.get(e);
      if (task !== undefined) {
        out.push({ kind: 'task', id: this.ids.get(prefix, `t${e}`), parent, task, backEdge: ancestors?.has(e) ?? false });
      }
    }
    return out;
  }

  /**
   * The node of a task on a shortest path from a root, built the way getChildren builds it (so
   * the view can reveal it), through the groups and ranges it is in; undefined when the task is
   * not in the snapshot or filtered out.
   */
  nodeFor(threadId: number): TaskNode | undefined {
    if (!this.tasks.has(threadId) || !this.isVisible(threadId)) {
      return undefined;
    }
    // Breadth-first upwards to the nearest root, then down again through getChildren.
    const next = new Map<number, number>();
    const queue = [threadId];
    const seen = new Set<number>([threadId]);
    let root: number | undefined;
    for (let q = 0; q < queue.length; q++) {
      const id = queue[q];
      if (this.rootSet.has(id)) {
        root = id;
        break;
      }
      for (const a of this.awaiters.get(id) ?? []) {
        if (!seen.has(a) && this.isVisible(a)) {
          seen.add(a);
          next.set(a, id);
          queue.push(a);
        }
      }
    }
    if (root === undefined) {
      return undefined;
    }
    // Down the path (a shortest path repeats no task, so none of its nodes closes a cycle).
    let nodes = this.getRoots();
    for (let id = root; ; id = next.get(id)!) {
      const node = this.locate(id, nodes);
      if (node === undefined) {
        return undefined;
      }
      if (id === threadId) {
        return node;
      }
      nodes = this.getChildren(node);
    }
  }

  /** The node of task id among nodes, looking into the threads, ranges and groups there. */
  private locate(id: number, nodes: readonly TreeNode[]): TaskNode | undefined {
    for (;;) {
      let into: TreeNode | undefined;
      for (const n of nodes) {
        if (n.kind === 'task' && n.task.threadId === id) {
          return n;
        }
        if (
          (n.kind === 'thread' && n.roots.includes(id)) ||
          (n.kind === 'group' && n.ids.includes(id)) ||
          (n.kind === 'range' && n.entries.some((e) => e === id || (typeof e !== 'number' && e.ids.includes(id))))
        ) {
          into = n;
          break;
        }
      }
      if (into === undefined) {
        return undefined;
      }
      nodes = this.getChildren(into);
    }
  }

  present(node: TreeNode): Presentation {
    switch (node.kind) {
      case 'thread': {
        const n = node.roots.length;
        return {
          label: node.label,
          description: `${n} root task${n === 1 ? '' : 's'}`,
          tooltip: node.tid === 0 ? 'Tasks left by threads that have exited' : `Tasks of the event loop of OS thread ${node.tid}`,
          collapsible: 'expanded',
          icon: 'server-process',
          contextValue: 'thread',
          accessibility: `${node.label}, ${n} root task${n === 1 ? '' : 's'}`,
        };
      }
      case 'range': {
        const end = node.start + node.entries.length;
        return {
          label: `tasks ${node.start + 1}–${end}`,
          description: `of ${node.total.toLocaleString('en-US')}`,
          tooltip: `Tasks ${node.start + 1} to ${end} of ${node.total}`,
          collapsible: 'collapsed',
          icon: 'ellipsis',
          contextValue: 'range',
          accessibility: `tasks ${node.start + 1} to ${end} of ${node.total}`,
        };
      }
      case 'group':
        return this.presentGroup(node);
      case 'frame': {
        const f = node.frame;
        const where = f.line > 0 ? `${f.path}:${f.line}` : f.path;
        const args = this.showArguments ? this.argumentsOf(node.task.threadId, node.index) : undefined;
        const label = callLabel(f.name, args);
        const argsTip = argumentsTooltip(args);
        const p: Presentation = {
          label,
          description: frameLocation(f),
          tooltip: `${f.name}\n${where}${node.index === 0 ? '\n(the task waits here)' : ''}${argsTip !== '' ? `\n\n${argsTip}` : ''}`,
          collapsible: 'none',
          icon: node.index === 0 ? 'debug-stackframe' : 'debug-stackframe-dot',
          contextValue: f.internal === true ? 'frame.asyncio' : 'frame',
          accessibility: `frame ${label}, ${frameLocation(f)}`,
        };
        if (isOpenable(f)) {
          p.open = { path: f.path, line: f.line };
        }
        const at = this.filterText === '' ? -1 : f.name.toLocaleLowerCase().indexOf(this.filterText.toLocaleLowerCase());
        if (at >= 0) {
          p.highlight = [at, at + this.filterText.length];
        }
        return p;
      }
      case 'task':
        return this.presentTask(node);
    }
  }

  private presentGroup(node: GroupNode): Presentation {
    const first = this.tasks.get(node.ids[0])!;
    const n = node.ids.length;
    const { name, cyclic } = node.fold;
    const cur = currentFrame(first);
    const where = cur === undefined ? '' : `${cur.name} ${frameLocation(cur)}`;
    const count = n.toLocaleString('en-US');
    // The longest wait among the tasks, and how many are stuck.
    let longest: GraphTask | undefined;
    let stuck = 0;
    for (const id of node.ids) {
      const t = this.tasks.get(id)!;
      if (t.waitedMs !== undefined && (longest === undefined || t.waitedMs > longest.waitedMs!)) {
        longest = t;
      }
      if (t.stuck === true) {
        stuck++;
      }
    }
    const longestWait = longest === undefined ? '' : formatWait(longest.waitedMs!, longest.waitAtLeast);
    const waitParts = [stuck > 0 ? `${stuck.toLocaleString('en-US')} stuck` : '', longestWait !== '' ? `longest waiting ${longestWait}` : ''].filter((x) => x !== '');
    const p: Presentation = {
      label: `×${count} ${name}`,
      description: [cyclic ? '⚠ await cycle' : '', where, ...waitParts].filter((x) => x !== '').join(' · '),
      tooltip: [
        `${count} tasks that wait at the same place — the same coroutine frames, awaited by the same tasks:`,
        this.namesOf(node.ids, 10),
        cur !== undefined ? `waiting in ${cur.name} at ${cur.path}${cur.line > 0 ? `:${cur.line}` : ''}` : 'no coroutine frames',
        stuck > 0 ? `${stuck.toLocaleString('en-US')} of them stuck: they await no other task and have not moved for long.` : '',
        longestWait !== '' ? `The longest has waited ${longestWait}.` : '',
      ]
        .filter((x) => x !== '')
        .join('\n'),
      collapsible: 'collapsed',
      icon: cyclic ? 'warning' : stuck > 0 ? 'watch' : 'layers',
      contextValue: stuck > 0 && !cyclic ? 'group.stuck' : 'group',
      accessibility: `${count} tasks ${name}${where === '' ? '' : `, waiting in ${where}`}${waitParts.length > 0 ? `, ${waitParts.join(', ')}` : ''}`,
    };
    if (cyclic) {
      p.iconColor = 'list.warningForeground';
    } else if (stuck > 0) {
      p.iconColor = stuckColor;
    }
    return p;
  }

  private namesOf(ids: readonly number[], max: number): string {
    return ids.length === 0
      ? '—'
      : ids.slice(0, max).map((a) => this.tasks.get(a)?.name ?? `#${a}`).join(', ') + (ids.length > max ? `, … (${ids.length})` : '');
  }

  private presentTask(node: TaskNode): Presentation {
    const t = node.task;
    const id = t.threadId;
    const cur = currentFrame(t);
    const parts: string[] = [];
    const running = this.running.get(id);
    const cyclic = this.inCycle.has(id);
    if (node.backEdge) {
      parts.push('↻ await cycle closes here');
    } else if (cyclic) {
      parts.push('⚠ await cycle');
    }
    if (running !== undefined) {
      parts.push('running');
    }
    if (cur !== undefined) {
      parts.push(`${cur.name} ${frameLocation(cur)}`);
    }
    // A running task does not wait: what it waited before does not say anything now.
    const wait = running === undefined ? taskWait(t) : '';
    const stuck = running === undefined && t.stuck === true;
    if (wait !== '') {
      parts.push(wait);
    }
    const awaiters = this.awaitersOf(id);
    if (awaiters.length > 1) {
      parts.push(`awaited by ${awaiters.length}`);
    }
    const awaited = this.childTaskIds(id).length;
    const names = (ids: readonly number[]): string => this.namesOf(ids, 10);
    const tooltip = [
      `${t.name}  (task ${t.taskId}${t.tid ? `, thread ${t.tid}` : ''})`,
      cyclic ? 'Part of an await cycle: it can never finish.' : '',
      running !== undefined ? `Running now on ${running}.` : '',
      stuck
        ? `Stuck: it awaits no other task and has not moved for ${formatWait(t.waitedMs ?? 0, t.waitAtLeast)}.`
        : wait !== ''
          ? `Waiting where it is for ${formatWait(t.waitedMs ?? 0, t.waitAtLeast)}${t.waitAtLeast ? ' (it was there before the session could tell when it began)' : ''}.`
          : '',
      `awaited by: ${names(awaiters)}`,
      `awaits ${awaited} task${awaited === 1 ? '' : 's'}`,
      cur !== undefined ? `waiting in ${cur.name} at ${cur.path}${cur.line > 0 ? `:${cur.line}` : ''}` : 'no coroutine frames',
    ]
      .filter((s) => s !== '')
      .join('\n');
    let collapsible: Collapsible = 'none';
    if (!node.backEdge && (t.frames.length > 0 || awaited > 0)) {
      collapsible = 'collapsed';
      const matchedHere = this.matches !== undefined && this.matches.has(id);
      if (this.matches !== undefined) {
        // Filtering: open the way down to the matches, not the matches themselves.
        if (!matchedHere && awaited > 0) {
          collapsible = 'expanded';
        }
      } else if (awaited > 0 && (this.expandAll || node.parent === undefined || node.parent.kind === 'thread')) {
        collapsible = 'expanded';
      }
    }
    const p: Presentation = {
      label: t.name,
      description: parts.join(' · '),
      tooltip,
      collapsible,
      icon: node.backEdge ? 'sync' : cyclic ? 'warning' : running !== undefined ? 'play-circle' : stuck ? 'watch' : 'tasklist',
      contextValue: cyclic ? 'task.cycle' : stuck ? 'task.stuck' : 'task',
      accessibility: `task ${t.name}${parts.length > 0 ? `, ${parts.join(', ')}` : ''}`,
    };
    if (cyclic) {
      p.iconColor = 'list.warningForeground';
    } else if (stuck) {
      p.iconColor = stuckColor;
    }
    if (this.filterText !== '') {
      const at = t.name.toLocaleLowerCase().indexOf(this.filterText.toLocaleLowerCase());
      if (at >= 0) {
        p.highlight = [at, at + this.filterText.length];
      }
    }
    return p;
  }
}

/** The theme color of stuck tasks' icons. */
export const stuckColor = 'list.errorForeground';

/**
 * How long a task has waited where it is, as its row says it: "waiting 41 s", "stuck 2 min 5 s",
 * "waiting ≥ 41 s" for a lower bound; "" when not known or under a second.
 */
export function taskWait(t: GraphTask): string {
  const text = formatWait(t.waitedMs ?? 0, t.waitAtLeast);
  if (text === '') {
    return '';
  }
  return `${t.stuck === true ? '⏳ stuck' : 'waiting'} ${text}`;
}

/** The task whose children a list belongs to (through range and group nodes), if any. */
function ownerTask(parent: TreeNode | undefined): TaskNode | undefined {
  let p = parent;
  while (p !== undefined && (p.kind === 'range' || p.kind === 'group')) {
    p = p.parent;
  }
  return p?.kind === 'task' ? p : undefined;
}

/** Whether a task's name, or one of its frames' function or file name, contains needle (lower case). */
export function taskMatches(t: GraphTask, needle: string): boolean {
  if (t.name.toLocaleLowerCase().includes(needle)) {
    return true;
  }
  for (const f of t.frames) {
    if (f.name.toLocaleLowerCase().includes(needle) || f.path.toLocaleLowerCase().includes(needle)) {
      return true;
    }
  }
  return false;
}

/**
 * The name of a group of tasks: theirs when they share it; "Task-N" when they are all named the
 * same up to a number, as asyncio names them; else the first one's followed by "…".
 */
export function groupName(names: readonly string[]): string {
  const n = new GroupNamer(names[0] ?? '');
  for (let i = 1; i < names.length; i++) {
    n.add(names[i]);
  }
  return n.name();
}

/** groupName, one name at a time. */
export class GroupNamer {
  private readonly cut: number;
  private readonly prefix: string;
  private same = true;
  private numbered: boolean;

  constructor(private readonly first: string) {
    // The prefix before the first name's trailing digits, if it has some.
    let cut = first.length;
    while (cut > 0 && isDigit(first.charCodeAt(cut - 1))) {
      cut--;
    }
    this.cut = cut;
    this.prefix = first.slice(0, cut);
    this.numbered = cut < first.length;
  }

  add(n: string): void {
    if (n === this.first || !(this.same || this.numbered)) {
      return;
    }
    this.same = false;
    if (this.numbered && !(n.length > this.cut && n.startsWith(this.prefix) && allDigits(n, this.cut))) {
      this.numbered = false;
    }
  }

  name(): string {
    if (this.same) {
      return this.first;
    }
    return this.numbered ? `${this.prefix}N` : `${this.first} …`;
  }
}

interface Bucket {
  ids: number[];
  name: GroupNamer;
  cyclic: boolean;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function allDigits(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    if (!isDigit(s.charCodeAt(i))) {
      return false;
    }
  }
  return true;
}

/** The line above the tree: what the snapshot is, how a filter fares, whether the process is gone. */
export function headerMessage(m: AwaitTreeModel, filter: string, exitedAt?: Date, now?: Date): string {
  const g = m.graph;
  const when = formatCaptureTime(g.capturedAt, now);
  const n = g.tasks.length;
  const tasks = `${n.toLocaleString('en-US')} task${n === 1 ? '' : 's'}`;
  let message: string;
  if (filter !== '') {
    const k = m.matchCount;
    message = k === 0 ? `Filter “${filter}”: none of ${tasks} match` : `Filter “${filter}”: ${k.toLocaleString('en-US')} of ${tasks} match`;
    message += ` · snapshot taken at ${when}`;
  } else if (n === 0) {
    message = `No pending asyncio tasks in pid ${g.pid} (Python ${g.pythonVersion}) · snapshot taken at ${when}`;
  } else {
    const cycles = g.cycles.length > 0 ? ` · ⚠ ${g.cycles.length} await cycle${g.cycles.length === 1 ? '' : 's'}` : '';
    let stuck = 0;
    for (const t of g.tasks) {
      if (t.stuck === true) {
        stuck++;
      }
    }
    const stuckText = stuck > 0 ? ` · ⏳ ${stuck.toLocaleString('en-US')} stuck` : '';
    message = `Python ${g.pythonVersion} · pid ${g.pid} · ${tasks}${cycles}${stuckText} · snapshot taken at ${when}`;
  }
  const lag = loopLag(g);
  if (lag !== '' && exitedAt === undefined) {
    message += ` · ${lag}`;
  }
  if (exitedAt !== undefined) {
    message = `Process ${g.pid} exited at ${formatCaptureTime(exitedAt.toISOString(), now)} — its last snapshot: ${message}`;
  }
  return message;
}


/**
 * How late the event loops run, from the samples taken while the session refreshes: "loop lag
 * 12 ms", the longest of the loops'; "⚠ loop blocked 2.3 s in blocking_call app.py:46" while one
 * is blocked; "" when nothing samples the loops.
 */
export function loopLag(g: AwaitGraph): string {
  const loops = (g.loops ?? []).filter((l) => l.state !== 'no loop');
  if (loops.length === 0) {
    return '';
  }
  let worst = loops[0];
  for (const l of loops) {
    if ((l.blockedMs ?? -1) > (worst.blockedMs ?? -1) || (worst.blockedMs === undefined && l.lagMs > worst.lagMs)) {
      worst = l;
    }
  }
  if (worst.blockedMs !== undefined) {
    const site = worst.blockedSite;
    const where = site !== undefined ? ` in ${site.name} ${frameLocation(site)}` : '';
    return `⚠ loop blocked ${formatShort(worst.blockedMs)}${where}`;
  }
  return `loop lag ${formatShort(worst.lagMs)}`;
}

/**
 * The frame a loopBlocked notification opens: where the loop was blocked, else the innermost of
 * the callback's frames that is the program's and can be opened; undefined when none can.
 */
export function blockingFrame(b: LoopBlocked): GraphFrame | undefined {
  if (b.site !== null && isOpenable(b.site)) {
    return b.site;
  }
  return b.frames.find((f) => f.internal !== true && isOpenable(f));
}
