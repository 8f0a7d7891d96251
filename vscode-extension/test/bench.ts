// Benchmark of the Await Tree model on snapshots of 10,000 and 100,000 tasks: how long building
// the tree, opening a page of tasks, filtering and revealing a task take. Run with `npm run bench`
// (make bench runs it too); the numbers are printed, not asserted.
import { AwaitTreeModel } from '../src/awaitTreeModel';
import { graph, task } from './helpers';

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
  const runs: Record<string, number[]> = { build: [], page: [], filter: [], reveal: [] };
  for (let rep = 0; rep < 7; rep++) {
    const g = manyGraph(n);
    let t = performance.now();
    const lap = (what: string) => {
      const now = performance.now();
      runs[what].push(now - t);
      t = now;
    };
    const m = new AwaitTreeModel(g);
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
  }
  const parts = Object.entries(runs).map(([what, ms]) => `${what} ${median(ms).toFixed(1)} ms`);
  console.log(`Await Tree, ${n} tasks (median of 7): ${parts.join(', ')}`);
}
