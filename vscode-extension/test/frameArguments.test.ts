import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { AwaitTreeModel, FrameNode, TaskNode, TreeNode } from '../src/awaitTreeModel';
import { argumentsTooltip, callLabel, cut, FrameArgs, labelArgsChars, parseFrameArguments } from '../src/frameArguments';
import { fixtures, graph, task } from './helpers';

const fetchArgs: FrameArgs = {
  arguments: [
    { name: 'url', value: "'https://example.com/a'", type: 'str' },
    { name: 'attempt', value: '2', type: 'int' },
  ],
};

describe('frame arguments: the body of aioscope/frameArguments', () => {
  it('parses what the adapter writes', () => {
    // adapter-frameargs.json is written by the adapter's own types (go test ./adapter).
    const body = parseFrameArguments(JSON.parse(fs.readFileSync(path.join(fixtures, 'adapter-frameargs.json'), 'utf8')));
    assert.ok(body);
    assert.strictEqual(body.threadId, 12);
    assert.strictEqual(body.capturedAt, '2026-11-21T14:09:55.858777451Z');
    assert.deepStrictEqual(body.frames[1], {
      arguments: [
        { name: 'url', value: "'https://example.com/a'", type: 'str' },
        { name: 'attempt', value: '2', type: 'int' },
        { name: 'timeout', value: '2.5', type: 'float' },
      ],
    });
    assert.ok(body.frames[2].error?.includes('has left'));
  });

  it('refuses what is not a body and drops malformed entries', () => {
    for (const bad of [undefined, null, 5, [], {}, { threadId: 1, capturedAt: 'x' }, { threadId: '1', capturedAt: 'x', frames: [] }]) {
      assert.strictEqual(parseFrameArguments(bad), undefined, JSON.stringify(bad));
    }
    const body = parseFrameArguments({ threadId: 3, capturedAt: 't', frames: [7, { arguments: [{ name: 'a' }, { name: 'b', value: '1' }], extra: 1 }] });
    assert.deepStrictEqual(body?.frames, [{ arguments: [] }, { arguments: [{ name: 'b', value: '1', type: '' }] }]);
  });
});

describe('frame arguments: how a frame shows them', () => {
  it('writes a frame as its call', () => {
    assert.strictEqual(callLabel('fetch', fetchArgs), "fetch(url='https://example.com/a', attempt=2)");
    assert.strictEqual(callLabel('main', { arguments: [] }), 'main()');
    assert.strictEqual(callLabel('fetch', undefined), 'fetch');
    assert.strictEqual(callLabel('fetch', { arguments: [], error: 'task fetch-a has left fetch (line 9) since the snapshot' }), 'fetch(…)');
  });

  it('leaves out a method\'s self and shortens objects without a repr of their own', () => {
    const self = { name: 'self', value: '<asyncio.taskgroups.TaskGroup object at 0x7f46ac9a7230>', type: 'TaskGroup' };
    const et = { name: 'et', value: 'None', type: 'NoneType' };
    assert.strictEqual(callLabel('TaskGroup._aexit', { arguments: [self, et] }), 'TaskGroup._aexit(et=None)');
    assert.strictEqual(callLabel('Pool.create', { arguments: [{ name: 'cls', value: "<class 'Pool'>", type: 'type' }] }), 'Pool.create()');
    // A function's first argument named self is an argument like any other.
    assert.strictEqual(callLabel('handle', { arguments: [self] }), 'handle(self=<TaskGroup>)');
    assert.strictEqual(callLabel('f', { arguments: [{ name: 'p', value: '<Point object at 0x10>', type: 'Point' }] }), 'f(p=<Point>)');
    assert.strictEqual(callLabel('f', { arguments: [{ name: 'p', value: "<Point x=1 at 0x10>", type: 'Point' }] }), 'f(p=<Point x=1 at 0x10>)');
    // The tooltip keeps them whole.
    assert.ok(argumentsTooltip({ arguments: [self, et] }).includes(`self = ${self.value}`));
  });

  it('cuts long values in the label and keeps them whole in the tooltip', () => {
    const long = `'${'x'.repeat(300)}'`;
    const label = callLabel('f', { arguments: [{ name: 'data', value: long, type: 'str' }, { name: 'n', value: '1', type: 'int' }] });
    assert.strictEqual(label, `f(data='${'x'.repeat(38)}…, n=1)`);
    const many = { arguments: Array.from({ length: 30 }, (_, i) => ({ name: `a${i}`, value: String(i), type: 'int' })) };
    const cutLabel = callLabel('g', many);
    assert.ok(cutLabel.endsWith('…)'), cutLabel);
    assert.strictEqual(Array.from(cutLabel).length, 'g()'.length + labelArgsChars);
    assert.ok(argumentsTooltip({ arguments: [{ name: 'data', value: long, type: 'str' }] }).includes(long));
    assert.strictEqual(argumentsTooltip(fetchArgs), "Arguments:\n  url = 'https://example.com/a'\n  attempt = 2");
    assert.strictEqual(argumentsTooltip({ arguments: [] }), 'No arguments');
    assert.strictEqual(argumentsTooltip({ arguments: [], error: 'gone' }), 'Arguments: gone');
    assert.strictEqual(argumentsTooltip(undefined), '');
  });

  it('cuts by characters, not UTF-16 units', () => {
    assert.strictEqual(cut('😀😀😀', 2), '😀…');
    assert.strictEqual(cut('😀😀', 2), '😀😀');
  });
});

describe('AwaitTreeModel with frame arguments', () => {
  const g = graph([task(1, 'root', [], 2), task(2, 'child', [1], 3)]);
  const framesOf = (m: AwaitTreeModel, t: TaskNode): FrameNode[] => m.getChildren(t).filter((n): n is FrameNode => n.kind === 'frame');
  const taskNode = (m: AwaitTreeModel, name: string): TaskNode => {
    const walk = (nodes: TreeNode[]): TaskNode | undefined => {
      for (const n of nodes) {
        if (n.kind === 'task' && n.task.name === name) {
          return n;
        }
        const hit = n.kind === 'frame' ? undefined : walk(m.getChildren(n));
        if (hit) {
          return hit;
        }
      }
      return undefined;
    };
    return walk(m.getRoots())!;
  };

  it('asks for a task\'s arguments once, and shows them on the frames', () => {
    const shared = new Map<number, FrameArgs[]>();
    const m = new AwaitTreeModel(g, { showArguments: true, frameArguments: shared, frameOrder: 'innermostFirst' });
    assert.ok(m.needsArguments(2));
    const child = taskNode(m, 'child');
    assert.deepStrictEqual(framesOf(m, child).map((f) => m.present(f).label), ['f0', 'f1', 'f2']);
    m.setArguments(2, [fetchArgs, { arguments: [] }, { arguments: [], error: 'task child has left f2' }]);
    assert.ok(!m.needsArguments(2));
    const frames = framesOf(m, child);
    assert.deepStrictEqual(frames.map((f) => m.present(f).label), ["f0(url='https://example.com/a', attempt=2)", 'f1()', 'f2(…)']);
    const p = m.present(frames[0]);
    assert.ok(p.tooltip.endsWith("Arguments:\n  url = 'https://example.com/a'\n  attempt = 2"), p.tooltip);
    assert.strictEqual(p.description, 'mod0.py:10');
    assert.ok(p.accessibility.includes("f0(url='https://example.com/a', attempt=2)"));
    assert.ok(m.present(frames[2]).tooltip.includes('Arguments: task child has left f2'));
    // A model rebuilt for the same graph (a filter, a setting) keeps what was read.
    const again = new AwaitTreeModel(g, { showArguments: true, frameArguments: shared });
    assert.ok(!again.needsArguments(2));
    assert.ok(again.needsArguments(1));
  });

  it('shows plain frames and asks for nothing when the setting is off', () => {
    const m = new AwaitTreeModel(g, { showArguments: false });
    assert.ok(!m.needsArguments(2));
    m.setArguments(2, [fetchArgs, fetchArgs, fetchArgs]);
    assert.deepStrictEqual(framesOf(m, taskNode(m, 'child')).map((f) => m.present(f).label), ['f2', 'f1', 'f0']);
    assert.ok(!new AwaitTreeModel(g).needsArguments(1), 'arguments are off unless asked for');
  });

  it('does not ask about tasks without frames or not in the graph', () => {
    const m = new AwaitTreeModel(graph([task(1, 'bare', [], 0)]), { showArguments: true });
    assert.ok(!m.needsArguments(1));
    assert.ok(!m.needsArguments(99));
  });
});
