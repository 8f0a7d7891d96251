// Benchmark of the Await Tree model on snapshots of 10,000 and 100,000 tasks: how long building
// the tree, opening a page of tasks, filtering, revealing a task and folding identical tasks into
// groups take. Run with `npm run bench` (make bench runs it too); the numbers are printed, not
// asserted.
import { AwaitGraph, GraphTask, parseAwaitGraph } from '../src/awaitGraph';
import { AwaitTreeModel } from '../src/awaitTreeModel';
import { graph, task } from './helpers';

// asReceived gives the model a graph as the extension gets it: the adapter's JSON, parsed by
// parseAwaitGraph, whose tasks share their object shapes (tasks built here with spreads do not,
// and the model's loops over them cost several times more).
function asReceived(g: AwaitGraph): AwaitGraph {
  const parsed = parseAwaitGraph(JSON.parse(JSON.stringify(g)));
  if (parsed === undefined) {
    throw new Error('the benchmark graph does not parse');
  }
  return parsed;
}

function serviceGraph(n: number, adapterGroups: boolean) {
  // Like testdata/scenarios/service.py: a root awaiting n tasks that wait at 12 places, most of
  // them at one lock; every task's frames are objects of their own, as after JSON.parse.
  const tasks: GraphTask[] = [task(1, 'Task-1', [], 3)];
  for (let i = 2; i <= n + 1; i++) {
    const place = i % 100 < 89 ? 0 : (i % 11) + 1;
    const frames = [
      { name: 'Lock.acquire', path: '/usr/lib/python3.14/asyncio/locks.py', line: 110, internal: true as const },
      { name: `handler_${place}`, path: '/srv/app/service.py', line: 20 + place },
      { name: 'handle', path: '/srv/app/service.py', line: 40 },
    ];
    tasks.push({ ...task(i, `Task-${i}`, [1]), frames, group: adapterGroups ? place : undefined });
  }
  return asReceived(graph(tasks));
}

function manyGraph(n: number) {
  // Like testdata/scenarios/many.py: Task-1 gathers n sleepers.
  const tasks = [task(1, 'Task-1', [], 3)];
  for (let i = 2; i <= n + 1; i++) {
    tasks.push(task(i, `Task-${i}`, [1], 2));
  }
  return graph(tasks);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const n of [10000, 100000]) {
  const runs: Record<string, number[]> = { build: [], page: [], filter: [], reveal: [], 'group (adapter groups)': [], 'group (frames)': [] };
  for (let rep = 0; rep < 7; rep++) {
    const g = manyGraph(n);
    let t = performance.now();
    const lap = (what: string) => {
      const now = performance.now();
      runs[what].push(now - t);
      t = now;
    };
    const m = new AwaitTreeModel(g, { foldMin: 0 });
    const roots = m.getRoots();
    const kids = m.getChildren(roots[0]);
    lap('build');
    const pages = kids.filter((k) => k.kind === 'range');
    for (const k of m.getChildren(pages[pages.length - 1])) {
      m.present(k);
    }
    lap('page');
    m.setFilter(`Task-${n}`);
    m.getRoots();
    lap('filter');
    m.setFilter('');
    m.nodeFor(Math.floor(n / 2));
    lap('reveal');
    for (const adapterGroups of [true, false]) {
      const sm = new AwaitTreeModel(serviceGraph(n, adapterGroups));
      const root = sm.getRoots()[0];
      t = performance.now();
      for (const k of sm.getChildren(root)) {
        sm.present(k);
      }
      lap(adapterGroups ? 'group (adapter groups)' : 'group (frames)');
    }
  }
  const parts = Object.entries(runs).map(([what, ms]) => `${what} ${median(ms).toFixed(1)} ms`);
  console.log(`Await Tree, ${n} tasks (median of 7): ${parts.join(', ')}`);
}
