import * as fs from 'fs';
import * as path from 'path';
import { AwaitGraph, GraphTask, parseAwaitGraph } from '../src/awaitGraph';
import { AwaitTreeModel, TreeNode } from '../src/awaitTreeModel';

export const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures');

export function loadGraph(name: string): AwaitGraph {
  const g = parseAwaitGraph(JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')));
  if (g === undefined) {
    throw new Error(`fixture ${name} is not an awaitGraph`);
  }
  return g;
}

/** The tree as indented text, every node expanded down to maxDepth. */
export function render(model: AwaitTreeModel, opts: { frames?: boolean; maxDepth?: number } = {}): string {
  const lines: string[] = [];
  const walk = (nodes: TreeNode[], depth: number): void => {
    for (const n of nodes) {
      if (n.kind === 'frame' && opts.frames === false) {
        continue;
      }
      const p = model.present(n);
      lines.push(`${'  '.repeat(depth)}${p.label}${n.kind === 'task' && n.backEdge ? ' ↻' : ''}`);
      if (depth < (opts.maxDepth ?? 50)) {
        walk(model.getChildren(n), depth + 1);
      }
    }
  };
  walk(model.getRoots(), 0);
  return lines.join('\n');
}

export function task(threadId: number, name: string, awaitedBy: number[] = [], frames = 1): GraphTask {
  const fr = [];
  for (let i = 0; i < frames; i++) {
    fr.push({ name: `f${i}`, path: `/srv/app/mod${i}.py`, line: 10 + i });
  }
  return { threadId, taskId: `0x${(0x7f0000000000 + threadId * 64).toString(16)}`, name, tid: 100, awaitedBy, frames: fr };
}

export function graph(tasks: GraphTask[], cycles: number[][] = []): AwaitGraph {
  return { pid: 100, pythonVersion: '3.14.10', capturedAt: '2026-11-21T14:09:55.858Z', tasks, cycles, threads: [] };
}
