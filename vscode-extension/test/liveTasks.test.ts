import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { initOptions, parsePid } from '../src/liveTasksOptions';

describe('live tasks: the language server options', () => {
  it('takes PIDs as numbers or strings of digits', () => {
    assert.strictEqual(parsePid(4242), 4242);
    assert.strictEqual(parsePid(' 4242 '), 4242);
    for (const bad of [0, -3, 1.5, '', 'abc', '12x', null, undefined, {}, '${command:pickProcess}']) {
      assert.strictEqual(parsePid(bad), undefined, String(bad));
    }
  });

  it('passes the settings on, with defaults, and keeps the server commands unregistered', () => {
    assert.deepStrictEqual(initOptions(7, {}), { processId: 7, refreshInterval: 2000, pathMappings: [], advertiseCommands: false });
    const o = initOptions(
      7,
      {
        refreshInterval: 0,
        pathMappings: [
          { localRoot: '${workspaceFolder}/src', remoteRoot: '/app' },
          { localRoot: 3, remoteRoot: '/x' },
          null,
          'nope',
        ],
      },
      '/home/me/svc',
    );
    assert.strictEqual(o.refreshInterval, 0);
    assert.deepStrictEqual(o.pathMappings, [{ localRoot: '/home/me/svc/src', remoteRoot: '/app' }]);
    assert.strictEqual(initOptions(7, { refreshInterval: -5 }).refreshInterval, 2000);
    assert.strictEqual(initOptions(7, { refreshInterval: 'fast' }).refreshInterval, 2000);
  });

  it('passes the thresholds on when they are numbers the server takes, and leaves them to it otherwise', () => {
    const o = initOptions(7, { stuckThreshold: 2000, blockedThreshold: 0 });
    assert.strictEqual(o.stuckThreshold, 2000);
    assert.strictEqual(o.blockedThreshold, 0);
    for (const bad of [0, -1, 'soon', null, Infinity]) {
      assert.ok(!('stuckThreshold' in initOptions(7, { stuckThreshold: bad })), String(bad));
    }
    for (const bad of [-1, '100', NaN]) {
      assert.ok(!('blockedThreshold' in initOptions(7, { blockedThreshold: bad })), String(bad));
    }
  });

  it('has its commands and settings in package.json, and vscode-languageclient among the dependencies', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const commands = manifest.contributes.commands.map((c: { command: string }) => c.command);
    for (const c of ['aioscope.liveTasks.start', 'aioscope.liveTasks.stop']) {
      assert.ok(commands.includes(c), c);
    }
    const props = manifest.contributes.configuration.properties;
    assert.strictEqual(props['aioscope.languageServer.enabled'].default, true);
    assert.strictEqual(props['aioscope.languageServer.refreshInterval'].default, 2000);
    assert.deepStrictEqual(props['aioscope.languageServer.pathMappings'].default, []);
    assert.strictEqual(props['aioscope.languageServer.stuckThreshold'].default, 30000);
    assert.strictEqual(props['aioscope.languageServer.blockedThreshold'].default, 100);
    assert.ok(manifest.dependencies['vscode-languageclient']);
    // The server's own commands are executed by name, never registered: the extension already
    // has an aioscope.attach command.
    assert.ok(commands.includes('aioscope.attach'));
  });
});
