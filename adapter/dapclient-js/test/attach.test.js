// Drives `aioscope dap` with @vscode/debugadapter-testsupport's DebugClient, the client VS Code's
// own adapters are tested with, against a live Python process running
// testdata/scenarios/tree.py. Run by adapter/dapclientjs_test.go, which provides:
//   AIOSCOPE_BIN         the aioscope binary
//   AIOSCOPE_TARGET_PID  the PID of the tree.py process
//   AIOSCOPE_SCENARIO    the path of tree.py
//   AIOSCOPE_BAD_PID     the PID of a process that has exited
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const bin = process.env.AIOSCOPE_BIN;
const pid = Number(process.env.AIOSCOPE_TARGET_PID);
const scenario = process.env.AIOSCOPE_SCENARIO;
const badPid = Number(process.env.AIOSCOPE_BAD_PID);
const timeout = 20000;

// linesOf returns the 1-based numbers of the scenario's lines that match re.
function linesOf(re) {
  const lines = fs.readFileSync(scenario, 'utf8').split('\n');
  return lines.flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

function newClient() {
  // DebugClient spawns `<runtime> <executable>`: here `aioscope dap`, speaking DAP on stdio.
  const dc = new DebugClient(bin, 'dap', 'aioscope');
  dc.defaultTimeout = timeout;
  return dc;
}

test('initialize, attach, stopped, threads, stackTrace, disconnect', { timeout: 60000 }, async () => {
  assert.ok(bin && pid > 0 && scenario, 'AIOSCOPE_BIN, AIOSCOPE_TARGET_PID and AIOSCOPE_SCENARIO must be set');
  const dc = newClient();
  await dc.start();
  try {
    const init = await dc.initializeRequest();
    assert.equal(init.body.supportsConfigurationDoneRequest, true);
    assert.ok(!init.body.supportsStepBack && !init.body.supportsSetVariable && !init.body.supportsTerminateRequest);

    const stopped = dc.waitForEvent('stopped', timeout);
    const graph = dc.waitForEvent('aioscope/awaitGraph', timeout);
    // Without launch(), configurationSequence ends the configuration with setExceptionBreakpoints
    // rather than configurationDone; the adapter stops anyway once a short grace period is over.
    await Promise.all([dc.configurationSequence(), dc.attachRequest({ processId: pid })]);
    const ev = await stopped;
    assert.equal(ev.body.reason, 'snapshot');
    assert.equal(ev.body.allThreadsStopped, true);
    assert.match(ev.body.description, /^snapshot \d\d:\d\d:\d\d$/);
    assert.match(ev.body.text, /keeps running/);
    const g = (await graph).body;
    assert.equal(g.pid, pid);
    assert.equal(g.tasks.length, 13);

    const threads = (await dc.threadsRequest()).body.threads;
    const names = threads.map((t) => t.name);
    // A task's row: its name and where it waits.
    const task = (name) => threads.find((t) => t.name.startsWith(`${name} · `));
    for (const name of ['Task-1', 'Task-A', 'A-leaf-1', 'gatherer', 'tâche-ünïcode', 'emoji-😀']) {
      assert.ok(task(name), `no thread for task ${name} in ${names.join(', ')}`);
    }
    assert.ok(names.includes(`Thread ${pid} "MainThread" · event loop`), `no main thread in ${names.join(', ')}`);
    assert.equal(task('A-leaf-1').name, 'A-leaf-1 · deep tree.py:' + linesOf(/await asyncio\.sleep\(10_000\)/)[0]);
    // The first stop shows the first task waiting in the program's own code.
    assert.equal(ev.body.threadId, task('gatherer').id);

    const leaf = task('A-leaf-1');
    const st = (await dc.stackTraceRequest({ threadId: leaf.id })).body;
    const shown = st.stackFrames.map((f) => f.name);
    assert.deepEqual(shown, ['sleep', 'deep', 'c1', 'awaited by Task-A', 'TaskGroup._aexit', 'TaskGroup.__aexit__', 'c2',
      'awaited by Task-1', 'TaskGroup._aexit', 'TaskGroup.__aexit__', 'main']);
    assert.equal(st.totalFrames, 11);
    const own = st.stackFrames.filter((f) => f.presentationHint !== 'label' && f.source && f.source.path === scenario).map((f) => [f.name, f.line]);
    const groups = linesOf(/async with asyncio\.TaskGroup\(\) as tg:/);
    assert.deepEqual(own, [['deep', linesOf(/await asyncio\.sleep\(10_000\)/)[0]], ['c1', linesOf(/await deep\(\)/)[0]],
      ['c2', groups[0]], ['main', groups[1]]]);
    assert.equal(st.stackFrames[0].presentationHint, 'subtle'); // asyncio's own sleep
    assert.equal(st.stackFrames[3].presentationHint, 'label');
    assert.ok(st.stackFrames[1].column >= 1);

    const page = (await dc.stackTraceRequest({ threadId: leaf.id, startFrame: 3, levels: 2 })).body;
    assert.deepEqual(page.stackFrames.map((f) => f.id), st.stackFrames.slice(3, 5).map((f) => f.id));

    const scopes = (await dc.scopesRequest({ frameId: st.stackFrames[2].id })).body.scopes;
    assert.deepEqual(scopes.map((s) => s.name), ['Arguments', 'Locals', 'Task']);
    const vars = (await dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
    assert.equal(vars.find((v) => v.name === 'name').value, 'A-leaf-1');
    assert.equal(vars.find((v) => v.name === 'awaited by').value, 'Task-A');

    // A hover in c2, the frame of Task-A: its argument, read from the process.
    const c2 = st.stackFrames[6];
    assert.equal(c2.name, 'c2');
    const hover = (await dc.evaluateRequest({ expression: 'tg_name', frameId: c2.id, context: 'hover' })).body;
    assert.equal(hover.result, "'A'");
    assert.equal(hover.type, 'str');
    const c2args = (await dc.scopesRequest({ frameId: c2.id })).body.scopes[0];
    const args = (await dc.variablesRequest({ variablesReference: c2args.variablesReference })).body.variables;
    assert.deepEqual(args.map((v) => [v.name, v.value, v.evaluateName]), [['tg_name', "'A'", 'tg_name']]);

    const snap = (await dc.customRequest('aioscope/snapshot')).body;
    assert.equal(snap.tasks.find((t) => t.name === 'A-leaf-1').threadId, leaf.id);

    await assert.rejects(dc.evaluateRequest({ expression: '1 + 1', frameId: c2.id, context: 'watch' }), /only reads values/);
    await dc.disconnectRequest({});
  } finally {
    dc.stopAdapter();
  }
});

test('VS Code order: breakpoints, configurationDone, pause, continue with refresh, disconnect', { timeout: 60000 }, async () => {
  const dc = newClient();
  await dc.start();
  try {
    await dc.initializeRequest({ adapterID: 'aioscope', clientID: 'vscode', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    // As VS Code does it: attach, wait for initialized, send the breakpoints, then configurationDone.
    const initialized = dc.waitForEvent('initialized', timeout);
    await dc.attachRequest({ processId: pid, refreshInterval: 50 });
    await initialized;
    const bps = await dc.setBreakpointsRequest({ source: { path: scenario }, breakpoints: [{ line: 7 }] });
    assert.deepEqual(bps.body.breakpoints, []);
    const stopped = dc.waitForEvent('stopped', timeout);
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    await dc.configurationDoneRequest();
    const ev = await stopped;
    assert.equal(ev.body.reason, 'snapshot');

    // pause takes a new snapshot: another stopped event, the same thread ids.
    const before = (await dc.threadsRequest()).body.threads;
    const again = dc.waitForEvent('stopped', timeout);
    await dc.pauseRequest({ threadId: ev.body.threadId });
    await again;
    const after = (await dc.threadsRequest()).body.threads;
    assert.deepEqual(after, before);

    // continue: refresh snapshots come as awaitGraph events, with no stopped event.
    let stops = 0;
    dc.on('stopped', () => { stops++; });
    const continued = dc.waitForEvent('continued', timeout);
    const cont = await dc.continueRequest({ threadId: ev.body.threadId });
    assert.equal(cont.body.allThreadsContinued, true);
    await continued;
    for (let i = 0; i < 3; i++) {
      const g = (await dc.waitForEvent('aioscope/awaitGraph', timeout)).body;
      assert.equal(g.tasks.length, 13);
    }
    assert.equal(stops, 0);
    await dc.disconnectRequest({});
  } finally {
    dc.stopAdapter();
  }
});

test('attach to a process that is gone fails with the CLI message', { timeout: 60000 }, async () => {
  const dc = newClient();
  await dc.start();
  try {
    await dc.initializeRequest();
    await assert.rejects(dc.attachRequest({ processId: badPid }), new RegExp(`no process with PID ${badPid}`));
    await assert.rejects(dc.attachRequest({}), /processId/);
    await dc.disconnectRequest({});
  } finally {
    dc.stopAdapter();
  }
});
