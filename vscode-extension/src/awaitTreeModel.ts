// The Await Tree: root tasks, each task's coroutine frames and, nested beneath, the tasks it
// awaits, as `pstree` draws them. Children are computed on demand, so a snapshot with tens of
// thousands of tasks costs only what is on screen. No VS Code imports: the view maps the
// `Presentation` of each node to a TreeItem.

import { AwaitGraph, GraphFrame, GraphTask } from './awaitGraph';
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

/** A page of a long list of tasks. */
export interface RangeNode extends NodeBase {
  readonly kind: 'range';
  readonly ids: readonly number[];
  readonly start: number;
  readonly total: number;
}

export type TreeNode = ThreadNode | TaskNode | FrameNode | RangeNode;

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
  readonly showArguments: boolean;
  private readonly frameArgs: Map<number, FrameArgs[]>;

  private filterText = '';
  /** When filtering: tasks whose name matches, and every task above one (shown to keep the hierarchy). */
  private matches: Set<number> | undefined;
  private visible: Set<number> | undefined;

  constructor(graph: AwaitGraph, options: ModelOptions = {}) {
    this.graph = graph;
    this.pageSize = Math.max(1, options.pageSize ?? defaultPageSize);
    this.frameOrder = options.frameOrder ?? 'outermostFirst';
    this.ids = options.ids ?? new NodeIds();
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
   * Shows only tasks whose name contains `text` (ignoring case) and the tasks above them; an
   * empty text shows everything.
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
      if (t.name.toLocaleLowerCase().includes(needle)) {
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
        return this.taskNodes(node, node.id, node.ids, node.start, node.start + node.ids.length);
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

  /** Task nodes for ids, split into ranges when there are more than a page of them. */
  private taskList(parent: TreeNode | undefined, prefix: string, ids: readonly number[]): TreeNode[] {
    if (ids.length <= this.pageSize) {
      return this.taskNodes(parent, prefix, ids, 0, ids.length);
    }
    const out: TreeNode[] = [];
    for (let start = 0; start < ids.length; start += this.pageSize) {
      out.push({
        kind: 'range',
        id: this.ids.get(prefix, `r${start}`),
        parent,
        ids: ids.slice(start, start + this.pageSize),
        start,
        total: ids.length,
      });
    }
    return out;
  }

  private taskNodes(parent: TreeNode | undefined, prefix: string, ids: readonly number[], from: number, to: number): TaskNode[] {
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
    const out: TaskNode[] = [];
    const n = Math.min(ids.length, to - from);
    for (let k = 0; k < n; k++) {
      const id = ids[k];
      const task = this.tasks.get(id);
      if (task !== undefined) {
        out.push({ kind: 'task', id: this.ids.get(prefix, `t${id}`), parent, task, backEdge: ancestors?.has(id) ?? false });
      }
    }
    return out;
  }

  /**
   * The node of a task on a shortest path from a root, built the way getChildren builds it (so
   * the view can reveal it); undefined when the task is not in the snapshot or filtered out.
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
    // Down the path, building each node as getChildren would (a shortest path repeats no task,
    // so none of its nodes closes a cycle).
    let parent: TreeNode | undefined;
    let list = this.rootIds.filter((r) => this.isVisible(r));
    let prefix = this.rootKey();
    if (this.groupByThread) {
      const tid = this.tasks.get(root)!.tid;
      parent = this.getRoots().find((n) => n.kind === 'thread' && n.tid === tid);
      if (parent === undefined || parent.kind !== 'thread') {
        return undefined;
      }
      list = parent.roots.slice();
      prefix = parent.id;
    }
    let id = root;
    for (;;) {
      const at = list.indexOf(id);
      if (at < 0) {
        return undefined;
      }
      if (list.length > this.pageSize) {
        const start = at - (at % this.pageSize);
        parent = { kind: 'range', id: this.ids.get(prefix, `r${start}`), parent, ids: list.slice(start, start + this.pageSize), start, total: list.length };
        prefix = parent.id;
      }
      const node: TaskNode = { kind: 'task', id: this.ids.get(prefix, `t${id}`), parent, task: this.tasks.get(id)!, backEdge: false };
      if (id === threadId) {
        return node;
      }
      id = next.get(id)!;
      parent = node;
      prefix = node.id;
      list = this.childTaskIds(node.task.threadId);
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
        const end = node.start + node.ids.length;
        return {
          label: `tasks ${node.start + 1}–${end}`,
          description: `of ${node.total}`,
          tooltip: `Tasks ${node.start + 1} to ${end} of ${node.total}`,
          collapsible: 'collapsed',
          icon: 'ellipsis',
          contextValue: 'range',
          accessibility: `tasks ${node.start + 1} to ${end} of ${node.total}`,
        };
      }
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
        return p;
      }
      case 'task':
        return this.presentTask(node);
    }
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
    const awaiters = this.awaitersOf(id);
    if (awaiters.length > 1) {
      parts.push(`awaited by ${awaiters.length}`);
    }
    const awaited = this.childTaskIds(id).length;
    const names = (ids: readonly number[]): string =>
      ids.length === 0 ? '—' : ids.slice(0, 10).map((a) => this.tasks.get(a)?.name ?? `#${a}`).join(', ') + (ids.length > 10 ? `, … (${ids.length})` : '');
    const tooltip = [
      `${t.name}  (task ${t.taskId}${t.tid ? `, thread ${t.tid}` : ''})`,
      cyclic ? 'Part of an await cycle: it can never finish.' : '',
      running !== undefined ? `Running now on ${running}.` : '',
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
      icon: node.backEdge ? 'sync' : cyclic ? 'warning' : running !== undefined ? 'play-circle' : 'tasklist',
      contextValue: cyclic ? 'task.cycle' : 'task',
      accessibility: `task ${t.name}${parts.length > 0 ? `, ${parts.join(', ')}` : ''}`,
    };
    if (cyclic) {
      p.iconColor = 'list.warningForeground';
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

/** The task whose children a list belongs to (through a range node), if any. */
function ownerTask(parent: TreeNode | undefined): TaskNode | undefined {
  let p = parent;
  while (p !== undefined && p.kind === 'range') {
    p = p.parent;
  }
  return p?.kind === 'task' ? p : undefined;
}
