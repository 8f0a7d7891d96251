import * as assert from 'assert';
import { cycleKey, cycleWarning, describeCycle, formatCaptureTime, parseAwaitGraph, parseCycles } from '../src/awaitGraph';
import { loadGraph } from './helpers';

describe('awaitGraph bodies', () => {
  it('parses the adapter\'s awaitGraph body', () => {
    const g = loadGraph('tree.json');
    assert.strictEqual(g.pid, 4242);
    assert.strictEqual(g.pythonVersion, '3.14.10');
    assert.strictEqual(g.tasks.length, 13);
    assert.deepStrictEqual(g.tasks[0].frames[0], { name: 'TaskGroup._aexit', path: '/usr/lib/python3.14/asyncio/taskgroups.py', line: 121, internal: true });
    assert.deepStrictEqual(g.tasks[0].frames[2], { name: 'main', path: '/srv/app/tree.py', line: 21 });
    assert.strictEqual(g.threads[0].name, 'Thread 4242 (MainThread)');
  });

  it('tolerates missing and malformed parts, rejects non-graphs', () => {
    assert.strictEqual(parseAwaitGraph(null), undefined);
    assert.strictEqual(parseAwaitGraph({ pid: 1 }), undefined);
    assert.strictEqual(parseAwaitGraph([1, 2]), undefined);
    const g = parseAwaitGraph({
      tasks: [
        { threadId: 1, name: 'a', frames: [{ name: 'f', path: '/x.py', line: 'x' }, 7], awaitedBy: [2, 'x'] },
        { threadId: 1, name: 'dup' },
        { name: 'no id' },
        'junk',
        { threadId: 2, taskId: '0x10' },
      ],
      cycles: [[1, 2, 1], 'x', []],
      extra: true,
    })!;
    assert.deepStrictEqual(
      g.tasks.map((t) => [t.threadId, t.name, t.awaitedBy, t.frames.length]),
      [
        [1, 'a', [2], 1],
        [2, '0x10', [], 0],
      ],
    );
    assert.strictEqual(g.tasks[0].frames[0].line, 0);
    // internal is kept only as the adapter sends it: true, or absent.
    const marks = parseAwaitGraph({
      tasks: [{ threadId: 1, frames: [{ internal: true }, { internal: 'yes' }, { internal: false }, {}] }],
    })!.tasks[0].frames.map((f) => ('internal' in f ? f.internal : 'absent'));
    assert.deepStrictEqual(marks, [true, 'absent', 'absent', 'absent']);
    assert.deepStrictEqual(g.cycles, [[1, 2, 1]]);
    assert.deepStrictEqual(g.threads, []);
    assert.strictEqual(g.capturedAt, '');
  });

  it('describes cycles once, whatever member they start at', () => {
    const body = parseCycles({ cycles: [[{ threadId: 4, name: 'B' }, { threadId: 3, name: 'A' }, { threadId: 4, name: 'B' }]] })!;
    assert.strictEqual(describeCycle(body.cycles[0]), 'B → A → B');
    assert.strictEqual(cycleKey(body.cycles[0]), '3,4');
    assert.strictEqual(cycleKey([{ threadId: 3, name: 'A' }, { threadId: 4, name: 'B' }]), '3,4');
    const msg = cycleWarning(5604, body);
    assert.ok(msg.includes('process 5604'), msg);
    assert.ok(msg.includes('B → A → B'), msg);
    assert.ok(msg.startsWith('aioscope: an await cycle'), msg);
    const two = cycleWarning(undefined, { cycles: [body.cycles[0], [{ threadId: 9, name: 'S' }]] });
    assert.ok(two.includes('2 await cycles') && two.includes('S → S'), two);
    assert.strictEqual(parseCycles({}), undefined);
    assert.deepStrictEqual(parseCycles({ cycles: [[], 'x', [{ threadId: 1 }]] })!.cycles, [[{ threadId: 1, name: 'thread 1' }]]);
  });

  it('formats the capture time', () => {
    const iso = '2026-11-21T14:09:55.858777451Z';
    const d = new Date(iso);
    assert.match(formatCaptureTime(iso, d), /^\d\d:\d\d:\d\d\.858$/);
    assert.match(formatCaptureTime(iso, new Date(d.getTime() + 3 * 86400e3)), /^2026-11-\d\d \d\d:\d\d:\d\d\.858$/);
    assert.strictEqual(formatCaptureTime('not a time'), 'not a time');
  });
});
