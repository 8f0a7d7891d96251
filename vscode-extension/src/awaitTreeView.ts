// The Await Tree view: follows the aioscope debug sessions' awaitGraph events and shows the
// active session's snapshot through AwaitTreeModel.

import * as vscode from 'vscode';
import { AwaitGraph, cycleKey, cycleWarning, formatCaptureTime, loopBlockedMessage, parseAwaitGraph, parseCycles, parseLoopBlocked } from './awaitGraph';
import { AwaitTreeModel, FrameOrder, NodeIds, TaskNode, TreeNode, blockingFrame, defaultFoldMin, headerMessage } from './awaitTreeModel';
import { debugType } from './debugConfig';
import { FrameArgs, parseFrameArguments } from './frameArguments';

export const viewId = 'aioscope.awaitTree';

interface SessionState {
  session: vscode.DebugSession;
  graph?: AwaitGraph;
  /** When the adapter said the process exited: its last snapshot stays shown, marked. */
  exitedAt?: Date;
  /** Cycles already notified, so a refresh does not repeat the warning. */
  notified: Set<string>;
  /** Node ids, kept across the session's snapshots. */
  ids: NodeIds;
  /** The arguments of the graph's tasks' frames, asked for as tasks are opened. */
  args: Map<number, FrameArgs[]>;
  /** Tasks whose arguments have been asked for (once per graph). */
  asked: Set<number>;
  /** The node VS Code last asked for the children of, per task: what to refresh. */
  shown: Map<number, TaskNode>;
  /** Blocks of the event loops already notified ("tid startedAt"): an ongoing one is told once. */
  blocks: Set<string>;
  /** When a blocked loop was last notified: a loop that blocks often is told once in a while. */
  lastBlockNotice: number;
}

/** Blocks of a session's loops within this many milliseconds of the last notified only go to the log. */
const blockNoticeInterval = 30_000;

function setContext(key: string, value: boolean): void {
  void vscode.commands.executeCommand('setContext', key, value);
}

export class AwaitTreeView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly sessions = new Map<string, SessionState>();
  private current: SessionState | undefined;
  private model: AwaitTreeModel | undefined;
  private filterText = '';
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly treeView: vscode.TreeView<TreeNode>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.treeView = vscode.window.createTreeView(viewId, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    this.disposables.push(
      this.treeView,
      this.changed,
      vscode.debug.onDidStartDebugSession((s) => this.sessionStarted(s)),
      vscode.debug.onDidTerminateDebugSession((s) => this.sessionEnded(s)),
      vscode.debug.onDidChangeActiveDebugSession((s) => this.activeChanged(s)),
      vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => this.customEvent(e)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('aioscope.awaitTree')) {
          this.rebuild();
        }
      }),
    );
    const active = vscode.debug.activeDebugSession;
    if (active !== undefined) {
      this.sessionStarted(active);
    }
    this.updateContext();
    this.updateHeader();
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  // TreeDataProvider

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const p = this.model!.present(node);
    const state =
      p.collapsible === 'none'
        ? vscode.TreeItemCollapsibleState.None
        : p.collapsible === 'expanded'
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const label: vscode.TreeItemLabel = { label: p.label };
    if (p.highlight) {
      label.highlights = [p.highlight];
    }
    const item = new vscode.TreeItem(label, state);
    item.id = node.id;
    item.description = p.description;
    item.tooltip = p.tooltip;
    item.contextValue = p.contextValue;
    item.accessibilityInformation = { label: p.accessibility, role: 'treeitem' };
    item.iconPath = new vscode.ThemeIcon(p.icon, p.iconColor ? new vscode.ThemeColor(p.iconColor) : undefined);
    if (p.open) {
      item.command = { command: 'aioscope.openFrame', title: 'Open Source', arguments: [p.open.path, p.open.line] };
    }
    return item;
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (this.model === undefined) {
      return [];
    }
    const state = this.current;
    if (node?.kind === 'task' && state !== undefined) {
      state.shown.set(node.task.threadId, node);
      // A process that has exited has nothing more to read.
      if (this.model.needsArguments(node.task.threadId) && !state.asked.has(node.task.threadId) && state.exitedAt === undefined) {
        this.fetchArguments(state, node.task.threadId);
      }
    }
    return this.model.getChildren(node);
  }

  /**
   * Asks the adapter for the arguments of a task's frames, read from the process now; the task's
   * frames show them once they come. An answer for another snapshot than the one shown is
   * dropped (the next snapshot's tree asks again).
   */
  private fetchArguments(state: SessionState, threadId: number): void {
    state.asked.add(threadId);
    const graph = state.graph;
    Promise.resolve(state.session.customRequest('aioscope/frameArguments', { threadId })).then(
      (body: unknown) => {
        const parsed = parseFrameArguments(body);
        const task = graph?.tasks.find((t) => t.threadId === threadId);
        if (state.graph !== graph || graph === undefined || parsed === undefined || task === undefined) {
          return;
        }
        if (parsed.capturedAt !== graph.capturedAt || parsed.frames.length !== task.frames.length) {
          this.log.debug(`frame arguments of thread ${threadId} are of another snapshot (${parsed.capturedAt})`);
          return;
        }
        state.args.set(threadId, parsed.frames);
        if (state === this.current) {
          this.changed.fire(state.shown.get(threadId));
        }
      },
      (err: unknown) => {
        this.log.debug(`frame arguments of thread ${threadId}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.parent;
  }

  // Sessions

  private sessionStarted(s: vscode.DebugSession): void {
    if (s.type !== debugType || this.sessions.has(s.id)) {
      return;
    }
    const state: SessionState = { session: s, notified: new Set(), ids: new NodeIds(), args: new Map(), asked: new Set(), shown: new Map(), blocks: new Set(), lastBlockNotice: -Infinity };
    this.sessions.set(s.id, state);
    const shownEnded = this.current !== undefined && !this.sessions.has(this.current.session.id);
    if (this.current === undefined || shownEnded || vscode.debug.activeDebugSession?.id === s.id) {
      this.show(state);
    }
    this.updateContext();
  }

  private sessionEnded(s: vscode.DebugSession): void {
    const state = this.sessions.get(s.id);
    if (state === undefined) {
      return;
    }
    this.sessions.delete(s.id);
    if (this.current === state) {
      const next = [...this.sessions.values()].pop();
      if (next === undefined && state.exitedAt !== undefined && state.graph !== undefined) {
        // The process is gone: its last snapshot stays, marked, until another session starts
        // or the user clears it.
        this.rebuild();
      } else {
        this.show(next);
      }
    }
    this.updateContext();
  }

  /** The adapter reported that the session's process has exited. */
  targetExited(s: vscode.DebugSession): void {
    const state = this.sessions.get(s.id);
    if (state === undefined || state.exitedAt !== undefined) {
      return;
    }
    state.exitedAt = new Date();
    this.log.info(`process ${state.graph?.pid ?? processIdOf(s) ?? '?'} exited; keeping its last snapshot`);
    if (state === this.current) {
      this.updateHeader();
      this.updateContext();
    }
  }

  /** Drops the snapshot of a process that has exited. */
  clearExited(): void {
    if (this.current?.exitedAt !== undefined && !this.sessions.has(this.current.session.id)) {
      this.show([...this.sessions.values()].pop());
    }
  }

  private activeChanged(s: vscode.DebugSession | undefined): void {
    if (s === undefined) {
      return; // between sessions: keep what is shown
    }
    const state = s ? this.sessions.get(s.id) : undefined;
    if (state !== undefined && state !== this.current) {
      this.show(state);
    }
  }

  private show(state: SessionState | undefined): void {
    this.current = state;
    this.rebuild();
  }

  private customEvent(e: vscode.DebugSessionCustomEvent): void {
    if (e.session.type !== debugType) {
      return;
    }
    if (!this.sessions.has(e.session.id)) {
      this.sessionStarted(e.session);
    }
    const state = this.sessions.get(e.session.id)!;
    if (e.event === 'aioscope/awaitGraph') {
      this.accept(state, e.body);
    } else if (e.event === 'aioscope/cycles') {
      this.cycles(state, e.body);
    } else if (e.event === 'aioscope/loopBlocked') {
      this.loopBlocked(state, e.body);
    }
  }

  /**
   * A blocked event loop: a warning whose button opens the frame where it was blocked. Each block
   * is told once (an ongoing one is not told again when it ends), and a session's loops not more
   * often than blockNoticeInterval; every block goes to the log.
   */
  private loopBlocked(state: SessionState, body: unknown): void {
    const b = parseLoopBlocked(body);
    if (b === undefined) {
      this.log.warn('ignored a malformed aioscope/loopBlocked body');
      return;
    }
    const pid = state.graph?.pid ?? processIdOf(state.session);
    const message = loopBlockedMessage(pid, b);
    this.log.warn(message);
    const key = `${b.tid} ${b.startedAt}`;
    const now = Date.now();
    if (state.blocks.has(key) || now - state.lastBlockNotice < blockNoticeInterval) {
      return;
    }
    state.blocks.add(key);
    state.lastBlockNotice = now;
    const frame = blockingFrame(b);
    const open = 'Open Blocking Frame';
    const choices = frame !== undefined ? [open] : [];
    void vscode.window.showWarningMessage(message, ...choices).then((choice) => {
      if (choice === open && frame !== undefined) {
        void vscode.commands.executeCommand('aioscope.openFrame', frame.path, frame.line);
      }
    });
  }

  private accept(state: SessionState, body: unknown): void {
    const graph = parseAwaitGraph(body);
    if (graph === undefined) {
      this.log.warn('ignored a malformed aioscope/awaitGraph body');
      return;
    }
    if (state.graph !== undefined && state.graph.capturedAt === graph.capturedAt && state.graph.tasks.length === graph.tasks.length) {
      return; // the same snapshot, as the response of a refresh and as its event
    }
    this.log.info(`snapshot of pid ${graph.pid} (Python ${graph.pythonVersion}) at ${graph.capturedAt}: ${graph.tasks.length} tasks, ${graph.cycles.length} cycles`);
    const first = state.graph === undefined;
    state.graph = graph;
    state.args = new Map();
    state.asked = new Set();
    state.shown = new Map();
    if (state === this.current) {
      this.rebuild();
      if (first) {
        this.showOnAttach();
      }
    }
  }

  /**
   * Starting a session rearranges the Run and Debug view and may leave the Await Tree collapsed:
   * open it on a session's first snapshot (unless the setting says not to).
   */
  private showOnAttach(): void {
    const reveal = vscode.workspace.getConfiguration('aioscope.awaitTree').get<boolean>('revealOnAttach', true);
    const root = this.model?.getRoots()[0];
    if (reveal && root !== undefined && !this.treeView.visible) {
      void Promise.resolve(this.treeView.reveal(root, { select: false, focus: false, expand: false })).catch((err: unknown) => {
        this.log.warn(`could not show the Await Tree: ${String(err)}`);
      });
    }
  }

  private cycles(state: SessionState, body: unknown): void {
    const parsed = parseCycles(body);
    if (parsed === undefined) {
      this.log.warn('ignored a malformed aioscope/cycles body');
      return;
    }
    const fresh = parsed.cycles.filter((c) => {
      const key = cycleKey(c);
      if (key === '' || state.notified.has(key)) {
        return false;
      }
      state.notified.add(key);
      return true;
    });
    if (fresh.length === 0) {
      return;
    }
    const pid = state.graph?.pid ?? processIdOf(state.session);
    const message = cycleWarning(pid, { cycles: fresh });
    this.log.warn(message);
    const show = 'Show in Await Tree';
    void vscode.window.showWarningMessage(message, show).then((choice) => {
      if (choice === show) {
        if (this.current !== state) {
          this.show(state);
        }
        void this.reveal(fresh[0][0].threadId);
      }
    });
  }

  private rebuild(): void {
    const state = this.current;
    if (state?.graph === undefined) {
      this.model = undefined;
    } else {
      const config = vscode.workspace.getConfiguration('aioscope.awaitTree');
      const frameOrder = config.get<FrameOrder>('frameOrder', 'outermostFirst');
      const showArguments = config.get<boolean>('showArguments', true);
      const foldMin = config.get<number>('groupIdenticalTasks', defaultFoldMin);
      this.model = new AwaitTreeModel(state.graph, { frameOrder, ids: state.ids, showArguments, frameArguments: state.args, foldMin });
      this.model.setFilter(this.filterText);
    }
    this.changed.fire();
    this.updateContext();
    this.updateHeader();
  }

  private updateContext(): void {
    setContext('aioscope.sessionActive', this.sessions.size > 0);
    setContext('aioscope.hasSnapshot', this.model !== undefined);
    setContext('aioscope.filterActive', this.filterText !== '');
    setContext('aioscope.showingExited', this.current?.exitedAt !== undefined && this.model !== undefined);
  }

  private updateHeader(): void {
    const m = this.model;
    if (m === undefined) {
      this.treeView.description = undefined;
      this.treeView.message = this.filterText !== '' ? `Filter: “${this.filterText}”` : undefined;
      return;
    }
    const g = m.graph;
    this.treeView.message = headerMessage(m, this.filterText, this.current?.exitedAt);
    this.treeView.description = this.current?.exitedAt !== undefined ? `pid ${g.pid} · exited` : `pid ${g.pid} · ${formatCaptureTime(g.capturedAt)}`;
  }

  // Commands

  /** Takes a new snapshot of the active session's process. */
  async refresh(): Promise<void> {
    const state = this.current;
    if (state === undefined) {
      void vscode.window.showInformationMessage('aioscope: no debug session to refresh. Attach to a Python process first.');
      return;
    }
    await vscode.window.withProgress({ location: { viewId } }, async () => {
      try {
        const body: unknown = await state.session.customRequest('aioscope/snapshot');
        this.accept(state, body);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        void vscode.window.showErrorMessage(`aioscope: refresh failed: ${msg}`);
      }
    });
  }

  async promptFilter(): Promise<void> {
    const text = await vscode.window.showInputBox({
      title: 'Filter the Await Tree',
      prompt: 'Show the tasks whose name, or a frame\'s function or file name, contains this text (and the tasks above them). Empty: show all.',
      placeHolder: 'task, function or file name',
      value: this.filterText,
      valueSelection: [0, this.filterText.length],
    });
    if (text !== undefined) {
      this.setFilter(text);
    }
  }

  setFilter(text: string): void {
    this.filterText = text.trim();
    this.model?.setFilter(this.filterText);
    this.changed.fire();
    this.updateContext();
    this.updateHeader();
  }

  async collapseAll(): Promise<void> {
    await vscode.commands.executeCommand(`workbench.actions.treeView.${viewId}.collapseAll`);
  }

  /** Selects and shows a task in the tree. */
  async reveal(threadId: number): Promise<void> {
    const node = this.model?.nodeFor(threadId);
    if (node !== undefined) {
      await this.treeView.reveal(node, { select: true, focus: true, expand: false });
    }
  }
}

function processIdOf(s: vscode.DebugSession): number | undefined {
  const v: unknown = s.configuration.processId;
  return typeof v === 'number' ? v : undefined;
}
