import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { debugType, pickProcessVariable } from '../src/debugConfig';

// What package.json contributes is what VS Code offers the user: checked here, since the
// workbench reads it without running any of the extension's code.

interface Manifest {
  main: string;
  icon: string;
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  activationEvents: string[];
  contributes: {
    debuggers: {
      type: string;
      label: string;
      variables: Record<string, string>;
      configurationAttributes: { attach: { required: string[]; properties: Record<string, unknown> } };
      initialConfigurations: Record<string, unknown>[];
      configurationSnippets: { label: string; body: Record<string, unknown> }[];
    }[];
    commands: { command: string; title: string; category?: string; icon?: string }[];
    configuration: { properties: Record<string, { default?: unknown }> };
    views: Record<string, { id: string; name: string }[]>;
    viewsWelcome: { view: string; contents: string; when: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    keybindings: { command: string; key: string; when: string }[];
  };
}

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const c = manifest.contributes;
const commandIds = new Set(c.commands.map((x) => x.command));
const viewId = 'aioscope.awaitTree';

describe('package.json contributions', () => {
  it('contributes the aioscope debugger with an attach request that needs a processId', () => {
    const d = c.debuggers.find((x) => x.type === debugType);
    assert.ok(d, 'no debugger of type aioscope');
    assert.strictEqual(d.label, 'Python asyncio (read-only attach)');
    assert.deepStrictEqual(d.configurationAttributes.attach.required, ['processId']);
    for (const p of ['processId', 'refreshInterval', 'retries', 'maxThreads', 'mainThreadOnly']) {
      assert.ok(p in d.configurationAttributes.attach.properties, p);
    }
    // ${command:pickProcess} runs the extension's own picker.
    assert.strictEqual(d.variables.pickProcess, 'aioscope.pickProcess');
    assert.ok(commandIds.has('aioscope.pickProcess'));
  });

  it('offers initial configurations and snippets for "Add Configuration…"', () => {
    const d = c.debuggers.find((x) => x.type === debugType)!;
    assert.ok(d.initialConfigurations.length > 0);
    for (const cfg of d.initialConfigurations) {
      assert.strictEqual(cfg.type, debugType);
      assert.strictEqual(cfg.request, 'attach');
      assert.strictEqual(cfg.processId, pickProcessVariable);
    }
    assert.ok(d.configurationSnippets.length > 0);
    for (const s of d.configurationSnippets) {
      assert.ok(s.label.startsWith('aioscope:'), s.label);
      assert.strictEqual(s.body.type, debugType);
      assert.strictEqual(s.body.request, 'attach');
      // Snippet bodies escape "$" and quote the variable so the result is a JSON string.
      assert.strictEqual(s.body.processId, '^"\\${command:pickProcess}"');
    }
    assert.ok(manifest.activationEvents.includes(`onDebugResolve:${debugType}`));
    assert.ok(manifest.activationEvents.includes('onDebugInitialConfigurations'));
  });

  it('has the attach command, the adapter path setting and the Await Tree view', () => {
    const attach = c.commands.find((x) => x.command === 'aioscope.attach');
    assert.ok(attach);
    assert.strictEqual(`${attach.category}: ${attach.title}`, 'aioscope: Attach to Python Process…');
    assert.strictEqual(c.configuration.properties['aioscope.adapterPath']?.default, '');
    // The Await Tree shows frames with their arguments unless the user turns it off.
    assert.strictEqual(c.configuration.properties['aioscope.awaitTree.showArguments']?.default, true);
    const view = c.views.debug?.find((v) => v.id === viewId);
    assert.ok(view);
    assert.strictEqual(view.name, 'Await Tree');
    const welcome = c.viewsWelcome.filter((w) => w.view === viewId);
    assert.ok(welcome.some((w) => w.when === '!aioscope.sessionActive' && w.contents.includes('(command:aioscope.attach)')));
    const titleActions = c.menus['view/title']!.filter((m) => m.when?.includes(`view == ${viewId}`)).map((m) => m.command);
    for (const cmd of ['aioscope.awaitTree.refresh', 'aioscope.awaitTree.filter', 'aioscope.awaitTree.editFilter', 'aioscope.awaitTree.clearFilter', 'aioscope.attach']) {
      assert.ok(titleActions.includes(cmd), cmd);
    }
    // An active filter is changed with one click, on the filled filter icon, and cleared beside it.
    const edit = c.menus['view/title']!.find((m) => m.command === 'aioscope.awaitTree.editFilter')!;
    assert.ok(edit.when?.includes('aioscope.filterActive'));
    assert.strictEqual(c.commands.find((x) => x.command === 'aioscope.awaitTree.editFilter')?.icon, '$(filter-filled)');
    for (const m of Object.values(c.menus).flat()) {
      assert.ok(commandIds.has(m.command), `menu entry for unknown command ${m.command}`);
    }
  });

  it('takes a new snapshot with F6 and from the debug toolbar while stopped, where Pause is not offered', () => {
    const snap = 'aioscope.takeSnapshot';
    assert.ok(commandIds.has(snap));
    const key = c.keybindings.find((k) => k.command === snap);
    assert.ok(key && key.key === 'f6' && key.when === "debugType == 'aioscope' && debugState == 'stopped'", JSON.stringify(key));
    assert.ok(c.menus['debug/toolBar']!.some((m) => m.command === snap && m.when?.includes("debugState == 'stopped'")));
  });

  it('has a 128x128 PNG icon that the package includes', () => {
    const png = fs.readFileSync(path.join(root, manifest.icon));
    assert.strictEqual(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepStrictEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n');
    assert.ok(ignore.includes(`!${manifest.icon}`), '.vscodeignore leaves the icon out');
  });

  it('targets the VS Code its types come from, and bundles into main', () => {
    assert.strictEqual(manifest.engines.vscode, '^1.100.0');
    assert.strictEqual(manifest.devDependencies['@types/vscode'], '~1.100.0');
    assert.strictEqual(manifest.main, './dist/extension.js');
  });
});
