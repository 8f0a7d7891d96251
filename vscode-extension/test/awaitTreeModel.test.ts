import * as assert from 'assert';
import {
  AwaitTreeModel,
  GroupNode,
  NodeIds,
  TaskNode,
  TreeNode,
  blockingFrame,
  currentFrame,
  groupName,
  headerMessage,
  loopLag,
  stuckColor,
  taskWait,
} from '../src/awaitTreeModel';
import { graph, loadGraph, render, task } from './helpers';
import { GraphTask, loopBlockedMessage, parseLoopBlocked } from '../src/awaitGraph';

function childTaskNames(model: AwaitTreeModel, node: TreeNode | undefined): string[] {
  return model.getChildren(node).filter((n): n is TaskNode => n.kind === 'task').map((n) => n.task.name);
}

function findTask(model: AwaitTreeModel, nodes: TreeNode[], name: string): TaskNode {
  for (const n of nodes) {
    if (n.kind === 'task' && n.task.name === name) {
      return n;
    }
  }
  for (const n of nodes) {
    if (n.kind !== 'frame') {
      const hit = findTaskOrUndefined(model, model.getChildren(n), name);
      if (hit) {
        return hit;
      }
    }
  }
  throw new Error(`no task ${name}`);
}

function findTaskOrUndefined(model: AwaitTreeModel, nodes: TreeNode[], name: string): TaskNode | undefined {
  try {
    return findTask(model, nodes, name);
  } catch {
    return undefined;
  }
}

describe('AwaitTreeModel: nesting (TaskGroup tree of tree.py)', () => {
  const g = loadGraph('tree.json');

  it('has the single root task and the hierarchy pstree shows', () => {
    const m = new AwaitTreeModel(g);
    assert.deepStrictEqual(m.getRoots().map((n) => m.present(n).label), ['Task-1']);
    assert.strictEqual(
      render(m, { frames: false }),
      [
        'Task-1',
        '  Task-A',
        '    A-leaf-1',
        '    A-leaf-2',
        '  Task-B',
        '    B-leaf-1',
        '    B-leaf-2',
        '  gatherer',
        '    Task-3',
        '    Task-4',
        '  tâche-ünïcode',
        '  emoji-😀',
        '  Task-2',
      ].join('\n'),
    );
  });

  it('lists a task\'s frames outermost first, then the tasks it awaits', () => {
    const m = new AwaitTreeModel(g);
    const root = m.getRoots()[0];
    const kids = m.getChildren(root).map((n) => `${n.kind}:${m.present(n).label}`);
    assert.deepStrictEqual(kids.slice(0, 3), ['frame:main', 'frame:TaskGroup.__aexit__', 'frame:TaskGroup._aexit']);
    assert.deepStrictEqual(kids.slice(3), ['task:Task-A', 'task:Task-B', 'task:gatherer', 'task:tâche-ünïcode', 'task:emoji-😀', 'task:Task-2']);
  });

  it('can list frames innermost first, as the call stack does', () => {
    const m = new AwaitTreeModel(g, { frameOrder: 'innermostFirst' });
    const leaf = findTask(m, m.getRoots(), 'A-leaf-1');
    assert.deepStrictEqual(
      m.getChildren(leaf).map((n) => m.present(n).label),
      ['sleep', 'deep', 'c1'],
    );
  });

  it('shows the current line as description and opens frames at their line', () => {
    const m = new AwaitTreeModel(g);
    const leaf = findTask(m, m.getRoots(), 'A-leaf-1');
    // The innermost frame outside asyncio itself says where the task is.
    assert.strictEqual(m.present(leaf).description, 'deep tree.py:7');
    assert.strictEqual(m.present(leaf).icon, 'tasklist');
    const frames = m.getChildren(leaf);
    const c1 = frames.find((n) => m.present(n).label === 'c1')!;
    const p = m.present(c1);
    assert.strictEqual(p.description, 'tree.py:10');
    assert.deepStrictEqual(p.open, { path: '/srv/app/tree.py', line: 10 });
    assert.strictEqual(p.collapsible, 'none');
    const sleep = frames.find((n) => m.present(n).label === 'sleep')!;
    assert.strictEqual(m.present(sleep).icon, 'debug-stackframe'); // where the task waits
    assert.strictEqual(m.present(sleep).contextValue, 'frame.asyncio');
    assert.strictEqual(m.present(c1).icon, 'debug-stackframe-dot');
    assert.strictEqual(m.present(leaf).accessibility, 'task A-leaf-1, deep tree.py:7');
    assert.strictEqual(m.present(c1).accessibility, 'frame c1, tree.py:10');
  });

  it('gives every node a unique id, stable across snapshots', () => {
    const ids = new Set<string>();
    const shared = new NodeIds();
    const m = new AwaitTreeModel(g, { ids: shared });
    const walk = (nodes: TreeNode[]): void => {
      for (const n of nodes) {
        assert.ok(!ids.has(n.id), `duplicate id ${n.id}`);
        ids.add(n.id);
        walk(m.getChildren(n));
      }
    };
    walk(m.getRoots());
    const again = new AwaitTreeModel(structuredClone(g), { ids: shared });
    assert.strictEqual(findTask(again, again.getRoots(), 'B-leaf-2').id, findTask(m, m.getRoots(), 'B-leaf-2').id);
    // nodeFor builds the same nodes as getChildren.
    const leaf = findTask(m, m.getRoots(), 'B-leaf-2');
    assert.strictEqual(m.nodeFor(leaf.task.threadId)!.id, leaf.id);
    assert.strictEqual(m.getParent(m.nodeFor(leaf.task.threadId)!)!.id, m.getParent(leaf)!.id);
  });

  it('opens small graphs fully and knows parents for reveal', () => {
    const m = new AwaitTreeModel(g);
    const taskA = findTask(m, m.getRoots(), 'Task-A');
    assert.strictEqual(m.present(taskA).collapsible, 'expanded');
    const leaf = m.nodeFor(findTask(m, m.getRoots(), 'B-leaf-1').task.threadId)!;
    assert.strictEqual(leaf.task.name, 'B-leaf-1');
    const chain: string[] = [];
    for (let n: TreeNode | undefined = leaf; n; n = m.getParent(n)) {
      chain.push(m.present(n).label);
    }
    assert.deepStrictEqual(chain, ['B-leaf-1', 'Task-B', 'Task-1']);
  });

  it('takes asyncio\'s own frames from the adapter, not from their paths', () => {
    // The adapter marks the standard library's asyncio frames `internal`; a project's own
    // package named asyncio is not, whatever the path looks like.
    const own = { name: 'Pool.query', path: '/srv/app/asyncio/pool.py', line: 14 };
    const sleep = { name: 'sleep', path: '/usr/lib/python3.14/asyncio/tasks.py', line: 702, internal: true as const };
    const main = { name: 'main', path: '/srv/app/main.py', line: 3 };
    const t = { ...task(1, 'x'), frames: [sleep, own, main] };
    assert.strictEqual(currentFrame(t), own);
    const m = new AwaitTreeModel(graph([t]));
    const frames = m.getChildren(m.getRoots()[0]).map((n) => [m.present(n).label, m.present(n).contextValue]);
    assert.deepStrictEqual(frames, [['main', 'frame'], ['Pool.query', 'frame'], ['sleep', 'frame.asyncio']]);
    assert.strictEqual(m.present(m.getRoots()[0]).description, 'Pool.query pool.py:14');
    // Only asyncio frames: the innermost one still says where the task is.
    assert.strictEqual(currentFrame({ ...t, frames: [sleep] }), sleep);
    assert.strictEqual(currentFrame(task(1, 'x', [], 0)), undefined);
  });

  it('shows the adapter\'s own documents as the fixtures do', () => {
    // adapter-awaitgraph.json is written by the adapter itself (go test ./adapter).
    const m = new AwaitTreeModel(loadGraph('adapter-awaitgraph.json'));
    const root = findTask(m, m.getRoots(), 'Task-1');
    assert.strictEqual(m.present(root).description, 'main service.py:40 · waiting 41 s');
    // Running: what it waited before says nothing now.
    const req = findTask(m, m.getRoots(), 'request-17');
    assert.strictEqual(m.present(req).description, 'running · Pool.query pool.py:14');
    const uni = findTask(m, m.getRoots(), 'tâche-ünïcode 下载 😀');
    assert.strictEqual(m.present(uni).description, '😀.attendre módulo.py:3 · ⏳ stuck 2 min 5 s');
    assert.strictEqual(m.present(uni).icon, 'watch');
    assert.deepStrictEqual([...m.inCycle].sort(), [7, 8]);
  });
});

describe('AwaitTreeModel: cycles', () => {
  it('roots a cycle at a member, marks its tasks and stops where it closes', () => {
    const m = new AwaitTreeModel(loadGraph('cycle.json'));
    assert.deepStrictEqual([...m.inCycle].sort(), [3, 4]);
    // Task-1 is a real root; B (first in the adapter's cycle) roots the cycle.
    assert.strictEqual(render(m, { frames: false }), ['Task-1', 'B', '  A', '    B ↻'].join('\n'));
    const b = findTask(m, m.getRoots(), 'B');
    const p = m.present(b);
    assert.strictEqual(p.icon, 'warning');
    assert.strictEqual(p.contextValue, 'task.cycle');
    assert.ok(p.description.startsWith('⚠ await cycle'), p.description);
    assert.ok(m.cycleRoots.has(b.task.threadId));
    const back = m.getChildren(findTask(m, m.getChildren(b), 'A')).find((n): n is TaskNode => n.kind === 'task')!;
    assert.ok(back.backEdge);
    assert.deepStrictEqual(m.getChildren(back), []);
    assert.strictEqual(m.present(back).collapsible, 'none');
    assert.strictEqual(m.present(back).icon, 'sync');
  });

  it('handles a cycle the adapter did not list, a self-await and tasks hanging below a cycle', () => {
    const m = new AwaitTreeModel(
      graph([task(1, 'root'), task(2, 'x', [3]), task(3, 'y', [2]), task(4, 'below', [3]), task(5, 'self', [5])]),
    );
    assert.strictEqual(render(m, { frames: false }), ['root', 'self', 'x', '  y', '    x ↻', '    below'].join('\n'));
    assert.ok(m.inCycle.has(5));
    assert.strictEqual(m.nodeFor(4)!.task.name, 'below');
  });

  it('shows a task awaited by several tasks under each of them', () => {
    const m = new AwaitTreeModel(graph([task(1, 'a'), task(2, 'b'), task(3, 'shared', [1, 2])]));
    assert.strictEqual(render(m, { frames: false }), ['a', '  shared', 'b', '  shared'].join('\n'));
    assert.ok(m.present(m.nodeFor(3)!).description.includes('awaited by 2'));
  });

  it('ignores awaiters that are not in the snapshot', () => {
    const m = new AwaitTreeModel(graph([task(1, 'orphan', [99])]));
    assert.strictEqual(render(m, { frames: false }), 'orphan');
  });
});

describe('AwaitTreeModel: filtering', () => {
  const g = loadGraph('tree.json');

  it('keeps matches and the tasks above them', () => {
    const m = new AwaitTreeModel(g);
    m.setFilter('leaf-1');
    assert.strictEqual(m.matchCount, 2);
    assert.strictEqual(render(m, { frames: false }), ['Task-1', '  Task-A', '    A-leaf-1', '  Task-B', '    B-leaf-1'].join('\n'));
    // The way down is open, the matches are not.
    const root = m.getRoots()[0];
    assert.strictEqual(m.present(root).collapsible, 'expanded');
    const leaf = findTask(m, m.getRoots(), 'A-leaf-1');
    assert.strictEqual(m.present(leaf).collapsible, 'collapsed');
    assert.deepStrictEqual(m.present(leaf).highlight, [2, 8]);
  });

  it('ignores case, works on non-ASCII names and clears', () => {
    const m = new AwaitTreeModel(g);
    m.setFilter('TÂCHE');
    assert.deepStrictEqual(childTaskNames(m, m.getRoots()[0]), ['tâche-ünïcode']);
    m.setFilter('😀');
    assert.deepStrictEqual(childTaskNames(m, m.getRoots()[0]), ['emoji-😀']);
    m.setFilter('no such task');
    assert.deepStrictEqual(m.getRoots(), []);
    assert.strictEqual(m.matchCount, 0);
    m.setFilter('  ');
    assert.strictEqual(m.filter, '');
    assert.strictEqual(render(m, { frames: false }).split('\n').length, 13);
  });

  it('gives filtered nodes their own ids, so their expansion starts fresh', () => {
    const m = new AwaitTreeModel(g);
    const before = m.getRoots()[0].id;
    m.setFilter('Task');
    assert.notStrictEqual(m.getRoots()[0].id, before);
    m.setFilter('');
    assert.strictEqual(m.getRoots()[0].id, before);
  });

  it('keeps cycle members reachable under a filter', () => {
    const m = new AwaitTreeModel(loadGraph('cycle.json'));
    m.setFilter('locals>.b');
    assert.strictEqual(render(m, { frames: false }), ['B', '  A', '    B ↻'].join('\n'));
  });
});

describe('AwaitTreeModel: filtering by function and file', () => {
  const g = loadGraph('tree.json');

  it('matches frames\' function and file names too, and says so in the header', () => {
    const m = new AwaitTreeModel(g);
    m.setFilter('gather_part');
    assert.strictEqual(render(m, { frames: false }), ['Task-1', '  gatherer'].join('\n'));
    const frame = m.getChildren(findTask(m, m.getRoots(), 'gatherer')).find((n) => n.kind === 'frame' && m.present(n).label === 'gather_part')!;
    assert.deepStrictEqual(m.present(frame).highlight, [0, 11]);
    m.setFilter('TREE.PY');
    assert.strictEqual(m.matchCount, 13);
    const now = new Date(g.capturedAt);
    assert.match(headerMessage(m, 'TREE.PY', undefined, now), /^Filter “TREE\.PY”: 13 of 13 tasks match · snapshot taken at \d\d:\d\d:\d\d\.\d{3}$/);
    m.setFilter('fetch_url');
    assert.match(headerMessage(m, 'fetch_url', undefined, now), /^Filter “fetch_url”: none of 13 tasks match/);
    m.setFilter('');
    assert.match(headerMessage(m, '', undefined, now), /^Python 3\.\d+\.\d+ · pid \d+ · 13 tasks · snapshot taken at /);
    assert.match(headerMessage(m, '', new Date(now.getTime() + 5000), now), /^Process \d+ exited at \d\d:\d\d:\d\d\.\d{3} — its last snapshot: Python /);
  });
});

describe('AwaitTreeModel: identical tasks folded', () => {
  // A pool: Task-1 awaits 182 requests queued on one lock, one request holding it, a producer.
  function poolGraph(queued = 182) {
    const lock = [
      { name: 'Lock.acquire', path: '/usr/lib/python3.14/asyncio/locks.py', line: 110, internal: true as const },
      { name: 'AsyncLock.__aenter__', path: '/srv/venv/lib/python3.14/site-packages/httpcore/_synchronization.py', line: 76 },
      { name: 'fetch', path: '/srv/app/crawler.py', line: 12 },
    ];
    const tasks = [task(1, 'Task-1', [], 1), { ...task(2, 'producer', [1]), frames: [{ name: 'produce', path: '/srv/app/p.py', line: 3 }] }];
    tasks.push({ ...task(3, 'Task-3', [1]), frames: [{ name: 'fetch', path: '/srv/app/crawler.py', line: 14 }] });
    for (let i = 0; i < queued; i++) {
      tasks.push({ ...task(10 + i, `Task-${10 + i}`, [1]), frames: lock });
    }
    return graph(tasks);
  }

  it('folds identical siblings into one node with a count that expands to the tasks', () => {
    const m = new AwaitTreeModel(poolGraph());
    const kids = m.getChildren(m.getRoots()[0]).filter((n) => n.kind !== 'frame');
    assert.deepStrictEqual(kids.map((n) => n.kind), ['task', 'task', 'group']);
    const group = kids[2] as GroupNode;
    const p = m.present(group);
    assert.strictEqual(p.label, '×182 Task-N');
    assert.strictEqual(p.description, 'AsyncLock.__aenter__ _synchronization.py:76');
    assert.strictEqual(p.collapsible, 'collapsed');
    assert.strictEqual(p.icon, 'layers');
    assert.strictEqual(p.accessibility, '182 tasks Task-N, waiting in AsyncLock.__aenter__ _synchronization.py:76');
    const members = m.getChildren(group);
    assert.strictEqual(members.length, 182);
    assert.ok(members.every((n) => n.kind === 'task' && n.parent === group));
    // A task in a group is revealed through it.
    const t = m.nodeFor(100)!;
    assert.strictEqual(t.task.name, 'Task-100');
    assert.strictEqual(m.getParent(t)!.id, group.id);
    assert.strictEqual(m.getParent(m.getParent(t)!)!.kind, 'task');
    // Ids stay across snapshots.
    const shared = new NodeIds();
    const a = new AwaitTreeModel(poolGraph(), { ids: shared });
    const b = new AwaitTreeModel(poolGraph(183), { ids: shared });
    const groupOf = (mm: AwaitTreeModel) => mm.getChildren(mm.getRoots()[0]).find((n) => n.kind === 'group')!;
    assert.strictEqual(groupOf(a).id, groupOf(b).id);
    assert.strictEqual(b.present(groupOf(b)).label, '×183 Task-N');
  });

  it('folds only groups of foldMin or more, never a running task, and not when told not to', () => {
    assert.ok(!new AwaitTreeModel(poolGraph(4)).getChildren(new AwaitTreeModel(poolGraph(4)).getRoots()[0]).some((n) => n.kind === 'group'));
    const five = new AwaitTreeModel(poolGraph(5));
    assert.ok(five.getChildren(five.getRoots()[0]).some((n) => n.kind === 'group'));
    const off = new AwaitTreeModel(poolGraph(), { foldMin: 0 });
    assert.ok(!off.getChildren(off.getRoots()[0]).some((n) => n.kind === 'group'));
    const g = poolGraph(6);
    g.threads = [{ threadId: 900, tid: 100, name: 'Thread 100 "MainThread"', main: true, runningThreadId: 12 }];
    const m = new AwaitTreeModel(g);
    const kids = m.getChildren(m.getRoots()[0]).filter((n) => n.kind !== 'frame');
    assert.deepStrictEqual(kids.map((n) => (n.kind === 'task' ? n.task.name : m.present(n).label)), ['producer', 'Task-3', '×5 Task-N', 'Task-12']);
  });

  it('pages a group of 9,000 and the tasks filtered into a group', () => {
    const m = new AwaitTreeModel(poolGraph(9000));
    const group = m.getChildren(m.getRoots()[0]).find((n): n is GroupNode => n.kind === 'group')!;
    const pages = m.getChildren(group);
    assert.deepStrictEqual(pages.map((n) => m.present(n).label).slice(0, 2), ['tasks 1–1000', 'tasks 1001–2000']);
    assert.strictEqual(pages.length, 9);
    m.setFilter('task-2');
    const filtered = m.getChildren(m.getRoots()[0]).filter((n) => n.kind !== 'frame');
    // Task-2xxx and Task-20..29 and Task-2: only the matches fold.
    assert.strictEqual(filtered.length, 1);
    assert.match(m.present(filtered[0]).label, /^×1,\d{3} Task-N$/);
  });

  it('names groups', () => {
    assert.strictEqual(groupName(['Task-5', 'Task-6', 'Task-190']), 'Task-N');
    assert.strictEqual(groupName(['worker', 'worker']), 'worker');
    assert.strictEqual(groupName(['a-1', 'b-2']), 'a-1 …');
    assert.strictEqual(groupName(['Task-5', 'Task-x']), 'Task-5 …');
  });
});

describe('AwaitTreeModel: threads', () => {
  it('groups root tasks by OS thread when several event loops run', () => {
    const g = graph([task(1, 'main-root'), task(2, 'worker-root'), task(3, 'child', [2])]);
    g.tasks[1].tid = 200;
    g.tasks[2].tid = 200;
    g.threads = [
      { threadId: 10, tid: 100, name: 'Thread 100 (MainThread)', main: true, runningThreadId: 0 },
      { threadId: 11, tid: 200, name: 'Thread 200 (worker)', main: false, runningThreadId: 3 },
    ];
    const m = new AwaitTreeModel(g);
    assert.strictEqual(render(m, { frames: false }), ['Thread 100 (MainThread)', '  main-root', 'Thread 200 (worker)', '  worker-root', '    child'].join('\n'));
    const child = m.nodeFor(3)!;
    assert.strictEqual(m.present(child).icon, 'play-circle');
    assert.ok(m.present(child).description.includes('running'));
    assert.strictEqual(m.getParent(m.getParent(child)!)!.kind, 'thread');
  });
});

describe('AwaitTreeModel: 10,000 tasks', function () {
  this.timeout(30000);

  function manyGraph(n: number) {
    // Like many.py: Task-1 gathers n sleepers.
    const tasks = [task(1, 'Task-1', [], 3)];
    for (let i = 2; i <= n + 1; i++) {
      tasks.push(task(i, `Task-${i}`, [1], 2));
    }
    return graph(tasks);
  }

  // How fast this is, is measured by `npm run bench` (test/bench.ts), not here.
  it('builds, pages and filters a 10,000-task snapshot', () => {
    const g = manyGraph(10000);
    const m = new AwaitTreeModel(g, { foldMin: 0 });
    const roots = m.getRoots();
    const kids = m.getChildren(roots[0]);
    assert.strictEqual(roots.length, 1);
    // 3 frames, then 10 pages of 1,000 tasks.
    assert.strictEqual(kids.length, 13);
    const pages = kids.filter((n) => n.kind === 'range');
    assert.strictEqual(pages.length, 10);
    assert.strictEqual(m.present(pages[9]).label, 'tasks 9001–10000');
    const page = m.getChildren(pages[9]);
    assert.strictEqual(page.length, 1000);
    for (const n of page) {
      m.present(n);
    }
    m.setFilter('Task-9999');
    const filtered = render(m, { frames: false });
    assert.strictEqual(filtered, ['Task-1', '  Task-9999'].join('\n'));
    m.setFilter('Task-');
    assert.strictEqual(m.matchCount, 10001);
    const found = m.nodeFor(5000)!;
    assert.strictEqual(found.task.name, 'Task-5000');
    assert.strictEqual(m.getParent(found)!.kind, 'range');
  });

  it('handles an await chain 10,000 tasks deep without recursion', () => {
    const tasks = [task(1, 'T1')];
    for (let i = 2; i <= 10000; i++) {
      tasks.push(task(i, `T${i}`, [i - 1]));
    }
    const m = new AwaitTreeModel(graph(tasks));
    m.setFilter('T10000');
    const deepest = m.nodeFor(10000)!;
    assert.strictEqual(deepest.task.name, 'T10000');
    let depth = 0;
    for (let n: TreeNode | undefined = deepest; n; n = m.getParent(n)) {
      depth++;
    }
    assert.strictEqual(depth, 10000);
    assert.ok(deepest.id.length < 10, deepest.id);
  });

  it('handles a 10,000-task cycle', () => {
    const tasks = [];
    for (let i = 1; i <= 10000; i++) {
      tasks.push(task(i, `C${i}`, [i === 1 ? 10000 : i - 1]));
    }
    const cyc = tasks.map((t) => t.threadId);
    const m = new AwaitTreeModel(graph(tasks, [[...cyc, 1]]));
    assert.strictEqual(m.inCycle.size, 10000);
    assert.deepStrictEqual(m.getRoots().map((n) => m.present(n).label), ['C1']);
    const last = m.nodeFor(10000)!;
    assert.ok(!last.backEdge);
    const closing = m.getChildren(last).find((n): n is TaskNode => n.kind === 'task')!;
    assert.strictEqual(closing.task.name, 'C1');
    assert.ok(closing.backEdge);
  });

  it('finds every member of an unlisted cycle', () => {
    const m = new AwaitTreeModel(graph([task(1, 'r'), task(2, 'a', [1, 4]), task(3, 'b', [2]), task(4, 'c', [3]), task(5, 'd', [4])]));
    assert.deepStrictEqual([...m.inCycle].sort(), [2, 3, 4]);
    assert.strictEqual(render(m, { frames: false }), ['r', '  a', '    b', '      c', '        a ↻', '        d'].join('\n'));
  });
});

describe('AwaitTreeModel: waits, stuck tasks and loop lag', () => {
  const waiting = (t: GraphTask, waitedMs: number, extra: Partial<GraphTask> = {}): GraphTask => ({ ...t, waitedMs, ...extra });

  it('says how long each task has waited, and marks the stuck ones', () => {
    const m = new AwaitTreeModel(
      graph([
        waiting(task(1, 'main'), 95_000),
        waiting(task(2, 'fetch', [1]), 41_900),
        waiting(task(3, 'stuck-forever', [1]), 125_000, { stuck: true }),
        waiting(task(4, 'old', [1]), 7_260_000, { waitAtLeast: true }),
        waiting(task(5, 'fresh', [1]), 400),
        task(6, 'unknown', [1]),
      ]),
    );
    const d = (name: string): string => m.present(findTask(m, m.getChildren(m.getRoots()[0]), name)).description;
    assert.strictEqual(m.present(m.getRoots()[0]).description, 'f0 mod0.py:10 · waiting 1 min 35 s');
    assert.strictEqual(d('fetch'), 'f0 mod0.py:10 · waiting 41 s');
    assert.strictEqual(d('stuck-forever'), 'f0 mod0.py:10 · ⏳ stuck 2 min 5 s');
    assert.strictEqual(d('old'), 'f0 mod0.py:10 · waiting ≥ 2 h 1 min');
    assert.strictEqual(d('fresh'), 'f0 mod0.py:10');
    assert.strictEqual(d('unknown'), 'f0 mod0.py:10');
    const stuck = m.present(m.nodeFor(3)!);
    assert.strictEqual(stuck.icon, 'watch');
    assert.strictEqual(stuck.iconColor, stuckColor);
    assert.strictEqual(stuck.contextValue, 'task.stuck');
    assert.match(stuck.tooltip, /Stuck: it awaits no other task and has not moved for 2 min 5 s\./);
    assert.match(m.present(m.nodeFor(4)!).tooltip, /Waiting where it is for ≥ 2 h 1 min \(it was there before/);
    const plain = m.present(m.nodeFor(2)!);
    assert.strictEqual(plain.icon, 'tasklist');
    assert.strictEqual(plain.iconColor, undefined);
    assert.strictEqual(plain.contextValue, 'task');
  });

  it('writes waits as the adapter\'s rows do', () => {
    assert.strictEqual(taskWait(waiting(task(1, 'a'), 999)), '');
    assert.strictEqual(taskWait(waiting(task(1, 'a'), 1000)), 'waiting 1 s');
    assert.strictEqual(taskWait(waiting(task(1, 'a'), 3_599_999)), 'waiting 59 min 59 s');
    assert.strictEqual(taskWait(waiting(task(1, 'a'), 3_600_000, { stuck: true })), '⏳ stuck 1 h 0 min');
    assert.strictEqual(taskWait(waiting(task(1, 'a'), 41_000, { waitAtLeast: true })), 'waiting ≥ 41 s');
  });

  it('keeps a cycle\'s mark over a stuck one', () => {
    const m = new AwaitTreeModel(graph([waiting(task(1, 'A', [2]), 60_000, { stuck: true }), task(2, 'B', [1])], [[1, 2, 1]]));
    const p = m.present(m.getRoots()[0]);
    assert.strictEqual(p.icon, 'warning');
    assert.strictEqual(p.iconColor, 'list.warningForeground');
  });

  it('says how many of a group are stuck and the longest wait', () => {
    const tasks = [task(1, 'main')];
    for (let i = 2; i <= 8; i++) {
      tasks.push(waiting(task(i, `Task-${i}`, [1]), i * 10_000, { stuck: i > 5 ? true : undefined }));
    }
    for (const t of tasks) {
      if (t.stuck === undefined) {
        delete t.stuck;
      }
    }
    const m = new AwaitTreeModel(graph(tasks));
    const group = m.getChildren(m.getRoots()[0]).find((n): n is GroupNode => n.kind === 'group')!;
    const p = m.present(group);
    assert.strictEqual(p.description, 'f0 mod0.py:10 · 3 stuck · longest waiting 1 min 20 s');
    assert.strictEqual(p.icon, 'watch');
    assert.strictEqual(p.iconColor, stuckColor);
    assert.match(p.tooltip, /3 of them stuck/);
  });

  it('shows the loop lag, a blocked loop and the stuck count in the header', () => {
    const now = new Date('2026-11-21T14:10:00Z');
    const g = { ...graph([waiting(task(1, 'a'), 60_000, { stuck: true }), task(2, 'b')]) };
    assert.strictEqual(loopLag(g), '');
    g.loops = [{ tid: 100, threadId: 1, state: 'idle', lagMs: 12 }];
    assert.strictEqual(loopLag(g), 'loop lag 12 ms');
    assert.match(headerMessage(new AwaitTreeModel(g), '', undefined, now), /^Python 3\.14\.10 · pid 100 · 2 tasks · ⏳ 1 stuck · snapshot taken at .* · loop lag 12 ms$/);
    g.loops = [
      { tid: 100, threadId: 1, state: 'idle', lagMs: 1_300 },
      { tid: 101, threadId: 2, state: 'callback', lagMs: 2_300, blockedMs: 2_300, blockedSite: { name: 'blocking_call', path: '/srv/app.py', line: 46 } },
    ];
    assert.strictEqual(loopLag(g), '⚠ loop blocked 2.3 s in blocking_call app.py:46');
    g.loops = [{ tid: 100, threadId: 1, state: 'no loop', lagMs: 0 }];
    assert.strictEqual(loopLag(g), '');
    // An exited process's loop has no lag.
    g.loops = [{ tid: 100, threadId: 1, state: 'idle', lagMs: 12 }];
    assert.ok(!headerMessage(new AwaitTreeModel(g), '', new Date(now.getTime() - 1000), now).includes('loop lag'));
  });
});

describe('loopBlocked notifications', () => {
  it('says which loop, how long, in what and where', () => {
    const body = {
      tid: 4242,
      threadId: 1,
      milliseconds: 1320,
      precisionMs: 6,
      startedAt: '2026-11-21T14:09:53.5Z',
      ongoing: false,
      task: null,
      site: { name: 'blocking_call', path: '/srv/app/health.py', line: 46 },
      frames: [{ name: 'blocking_call', path: '/srv/app/health.py', line: 46 }],
    };
    const b = parseLoopBlocked(body)!;
    assert.strictEqual(
      loopBlockedMessage(4242, b),
      'aioscope: the event loop of process 4242 (thread 4242) was blocked for 1.3 s by a callback in blocking_call (health.py:46): nothing else ran meanwhile.',
    );
    const ongoing = parseLoopBlocked({ ...body, ongoing: true, milliseconds: 350, task: { taskId: '0x10', threadId: 5, name: 'hog' }, site: null })!;
    assert.strictEqual(loopBlockedMessage(undefined, ongoing), 'aioscope: the event loop (thread 4242) has been blocked for 350 ms so far by a step of task hog: nothing else ran meanwhile.');
    assert.deepStrictEqual(blockingFrame(b), body.site);
    assert.deepStrictEqual(blockingFrame(ongoing), body.frames[0]);
    assert.strictEqual(blockingFrame({ ...ongoing, frames: [{ name: 'run', path: '<string>', line: 1 }] }), undefined);
    assert.strictEqual(parseLoopBlocked({ tid: 1 }), undefined);
    assert.strictEqual(parseLoopBlocked(null), undefined);
  });
});
