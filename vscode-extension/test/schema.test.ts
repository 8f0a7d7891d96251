// The extension's types and parsers of the adapter's bodies against the JSON Schemas that define
// them (schema/ at the top of the repository): the fixtures, one of them written by the adapter
// itself, must be valid documents and parse without losing anything, and every interface must
// have exactly the schema's fields, required or optional as the schema says.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import {
  AwaitGraph,
  CycleMember,
  CyclesBody,
  GraphFrame,
  GraphLoop,
  GraphTask,
  GraphThread,
  LoopBlocked,
  parseAwaitGraph,
  parseCycles,
  parseLoopBlocked,
} from '../src/awaitGraph';
import { FrameArgs, FrameArgument, FrameArgumentsBody, parseFrameArguments } from '../src/frameArguments';
import { fixtures } from './helpers';

const schemaDir = path.join(__dirname, '..', '..', '..', 'schema');

type Schema = {
  type?: string;
  $ref?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  $defs?: Record<string, Schema>;
  oneOf?: Schema[];
};

function readJSON(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const awaitGraphSchema = readJSON(path.join(schemaDir, 'awaitgraph.schema.json')) as Schema;
const cyclesSchema = readJSON(path.join(schemaDir, 'cycles.schema.json')) as Schema;
const frameArgsSchema = readJSON(path.join(schemaDir, 'frameargs.schema.json')) as Schema;
const loopBlockedSchema = readJSON(path.join(schemaDir, 'loopblocked.schema.json')) as Schema;

function compile(schema: Schema) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  // loopblocked.schema.json refers to the awaitGraph's frame.
  ajv.addSchema(awaitGraphSchema, 'awaitgraph.schema.json');
  return ajv.compile(schema);
}

// The JSON type a TypeScript property type is written as (every number here is an integer).
type JsonType<V> = V extends string
  ? 'string'
  : V extends number
    ? 'integer'
    : V extends boolean
      ? 'boolean'
      : V extends readonly unknown[]
        ? 'array'
        : 'object';

/** Each field of T: whether it is required, and its JSON type. Keys must be exactly T's. */
type Shape<T> = { [K in keyof T]-?: [{} extends Pick<T, K> ? 'optional' : 'required', JsonType<Exclude<T[K], undefined>>] };

// Written out once per interface; the compiler checks them against the interfaces, the test below
// against the schemas.
const graphShape: Shape<AwaitGraph> = {
  pid: ['required', 'integer'],
  pythonVersion: ['required', 'string'],
  capturedAt: ['required', 'string'],
  tasks: ['required', 'array'],
  cycles: ['required', 'array'],
  threads: ['required', 'array'],
  loops: ['optional', 'array'],
};
const loopShape: Shape<GraphLoop> = {
  tid: ['required', 'integer'],
  threadId: ['required', 'integer'],
  state: ['required', 'string'],
  lagMs: ['required', 'integer'],
  blockedMs: ['optional', 'integer'],
  blockedSite: ['optional', 'object'],
};
const loopBlockedShape: Shape<LoopBlocked> = {
  tid: ['required', 'integer'],
  threadId: ['required', 'integer'],
  milliseconds: ['required', 'integer'],
  precisionMs: ['required', 'integer'],
  startedAt: ['required', 'string'],
  ongoing: ['required', 'boolean'],
  task: ['required', 'object'],
  site: ['required', 'object'],
  frames: ['required', 'array'],
};
const taskShape: Shape<GraphTask> = {
  threadId: ['required', 'integer'],
  taskId: ['required', 'string'],
  name: ['required', 'string'],
  tid: ['required', 'integer'],
  awaitedBy: ['required', 'array'],
  frames: ['required', 'array'],
  group: ['optional', 'integer'],
  waitedMs: ['optional', 'integer'],
  waitAtLeast: ['optional', 'boolean'],
  stuck: ['optional', 'boolean'],
};
const frameShape: Shape<GraphFrame> = {
  name: ['required', 'string'],
  path: ['required', 'string'],
  line: ['required', 'integer'],
  internal: ['optional', 'boolean'],
};
const threadShape: Shape<GraphThread> = {
  threadId: ['required', 'integer'],
  tid: ['required', 'integer'],
  name: ['required', 'string'],
  main: ['required', 'boolean'],
  runningThreadId: ['required', 'integer'],
};
const cyclesShape: Shape<CyclesBody> = { cycles: ['required', 'array'] };
const memberShape: Shape<CycleMember> = { threadId: ['required', 'integer'], name: ['required', 'string'] };
const frameArgsBodyShape: Shape<FrameArgumentsBody> = {
  threadId: ['required', 'integer'],
  capturedAt: ['required', 'string'],
  frames: ['required', 'array'],
};
const frameArgsShape: Shape<FrameArgs> = { arguments: ['required', 'array'], error: ['optional', 'string'] };
const argumentShape: Shape<FrameArgument> = { name: ['required', 'string'], value: ['required', 'string'], type: ['required', 'string'] };

/** Follows a local reference ("#/$defs/x") of root. */
function deref(root: Schema, s: Schema): Schema {
  if (s.$ref === undefined) {
    return s;
  }
  const m = /^#\/\$defs\/([^/]+)$/.exec(s.$ref);
  assert.ok(m && root.$defs?.[m[1]], `unresolved reference ${s.$ref}`);
  return { ...root.$defs![m[1]], ...s, $ref: undefined };
}

function schemaShape(root: Schema, s: Schema): Record<string, [string, string]> {
  const obj = deref(root, s);
  const out: Record<string, [string, string]> = {};
  for (const [key, prop] of Object.entries(obj.properties ?? {})) {
    const p = deref(root, prop);
    // "null or an object" (oneOf) is written as an object that may be null; a reference to
    // another file's definition is one of its objects.
    const other = p.oneOf?.find((o) => o.type !== 'null');
    const type = p.type ?? (other !== undefined ? (other.type ?? (other.$ref !== undefined ? 'object' : '(none)')) : p.$ref !== undefined ? 'object' : '(none)');
    out[key] = [(obj.required ?? []).includes(key) ? 'required' : 'optional', type];
  }
  return out;
}

describe('the adapter\'s bodies and their JSON Schemas', () => {
  it('has interfaces with exactly the schemas\' fields', () => {
    const g = awaitGraphSchema;
    const defs = g.$defs!;
    const pairs: [string, Record<string, [string, string]>, Record<string, [string, string]>][] = [
      ['AwaitGraph', graphShape, schemaShape(g, g)],
      ['GraphTask', taskShape, schemaShape(g, defs.task)],
      ['GraphFrame', frameShape, schemaShape(g, defs.frame)],
      ['GraphThread', threadShape, schemaShape(g, defs.thread)],
      ['GraphLoop', loopShape, schemaShape(g, defs.loop)],
      ['LoopBlocked', loopBlockedShape, schemaShape(loopBlockedSchema, loopBlockedSchema)],
      ['CyclesBody', cyclesShape, schemaShape(cyclesSchema, cyclesSchema)],
      ['CycleMember', memberShape, schemaShape(cyclesSchema, cyclesSchema.properties!.cycles.items!.items!)],
      ['FrameArgumentsBody', frameArgsBodyShape, schemaShape(frameArgsSchema, frameArgsSchema)],
      ['FrameArgs', frameArgsShape, schemaShape(frameArgsSchema, frameArgsSchema.properties!.frames.items!)],
      ['FrameArgument', argumentShape, schemaShape(frameArgsSchema, frameArgsSchema.properties!.frames.items!.properties!.arguments.items!)],
    ];
    for (const [name, ours, theirs] of pairs) {
      assert.deepStrictEqual(ours, theirs, `${name} differs from its schema`);
    }
    // The task's lists hold the objects the schema says.
    assert.strictEqual(defs.task.properties!.frames.items!.$ref, '#/$defs/frame');
    assert.strictEqual(g.properties!.tasks.items!.$ref, '#/$defs/task');
    assert.strictEqual(g.properties!.threads.items!.$ref, '#/$defs/thread');
  });

  for (const name of ['adapter-awaitgraph.json', 'tree.json', 'cycle.json']) {
    it(`validates and parses fixture ${name} whole`, () => {
      const validate = compile(awaitGraphSchema);
      const doc = readJSON(path.join(fixtures, name));
      assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
      // Everything the schema defines is kept: a field the parser dropped would show here.
      assert.deepStrictEqual(parseAwaitGraph(doc), doc);
    });
  }

  it('validates and parses the adapter\'s cycles body whole', () => {
    const validate = compile(cyclesSchema);
    const doc = readJSON(path.join(fixtures, 'adapter-cycles.json'));
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
    assert.deepStrictEqual(parseCycles(doc), doc);
  });

  it('validates and parses the adapter\'s frameArguments body whole', () => {
    const validate = compile(frameArgsSchema);
    const doc = readJSON(path.join(fixtures, 'adapter-frameargs.json'));
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
    assert.deepStrictEqual(parseFrameArguments(doc), doc);
  });

  it('validates and parses the adapter\'s loopBlocked body whole', () => {
    const validate = compile(loopBlockedSchema);
    const doc = readJSON(path.join(fixtures, 'adapter-loopblocked.json')) as LoopBlocked;
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
    assert.deepStrictEqual(parseLoopBlocked(doc), doc);
    const plain: LoopBlocked = { ...doc, task: null, site: null, frames: [] };
    assert.ok(validate(plain), JSON.stringify(validate.errors, null, 1));
    assert.deepStrictEqual(parseLoopBlocked(plain), plain);
  });

  it('rejects documents the adapter does not send', () => {
    const validate = compile(awaitGraphSchema);
    const doc = readJSON(path.join(fixtures, 'adapter-awaitgraph.json')) as AwaitGraph;
    const variants: ((g: AwaitGraph) => void)[] = [
      (g) => {
        (g.tasks[0].frames[2] as unknown as Record<string, unknown>).internal = false;
      },
      (g) => {
        delete (g.tasks[0] as Partial<GraphTask>).awaitedBy;
      },
      (g) => {
        (g as unknown as Record<string, unknown>).extra = 1;
      },
      (g) => {
        g.capturedAt = 'yesterday';
      },
      (g) => {
        g.tasks[0].taskId = '140025234';
      },
      (g) => {
        (g.tasks[0] as unknown as Record<string, unknown>).stuck = false;
      },
      (g) => {
        g.tasks[0].waitedMs = -1;
      },
      (g) => {
        (g.loops![0] as unknown as Record<string, unknown>).state = 'busy';
      },
    ];
    for (const change of variants) {
      const bad = structuredClone(doc);
      change(bad);
      assert.ok(!validate(bad), `accepted ${change.toString()}`);
    }
  });
});
