import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { AwaitTreeView } from './awaitTreeView';
import { checkResolved, debugType, defaultStuckThresholdSeconds, withDefaults, withSettings } from './debugConfig';
import { registerHoverExpressions } from './hover';
import { LiveTasks } from './liveTasks';
import { listPythonProcesses, pickItem } from './procscan';
import { TreeNode } from './awaitTreeModel';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('aioscope', { log: true });
  const tree = new AwaitTreeView(log);
  const highlight = new FrameHighlight();
  const live = new LiveTasks(() => adapterBinary(context).path, log);
  context.subscriptions.push(
    log,
    tree,
    live,
    vscode.debug.onDidReceiveDebugSessionCustomEvent(
      (e) => e.session.type === debugType && e.event === 'aioscope/awaitGraph' && void live.sessionShowedSnapshot(e.session),
    ),
    vscode.debug.onDidTerminateDebugSession((s) => s.type === debugType && void live.sessionEnded(s)),
    vscode.commands.registerCommand('aioscope.liveTasks.start', async () => {
      const pid = await pickProcess();
      if (pid !== undefined) {
        await live.start(Number(pid));
      }
    }),
    vscode.commands.registerCommand('aioscope.liveTasks.stop', () => live.stop()),
    vscode.debug.registerDebugAdapterDescriptorFactory(debugType, new AdapterFactory(context, log)),
    vscode.debug.registerDebugConfigurationProvider(debugType, new ConfigurationProvider()),
    vscode.debug.registerDebugConfigurationProvider(debugType, new DynamicConfigurationProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.commands.registerCommand('aioscope.pickProcess', pickProcess),
    vscode.commands.registerCommand('aioscope.attach', attach),
    highlight,
    vscode.commands.registerCommand('aioscope.openFrame', (file: string, line: number) => highlight.open(file, line)),
    vscode.commands.registerCommand('aioscope.awaitTree.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('aioscope.takeSnapshot', () => tree.refresh()),
    vscode.commands.registerCommand('aioscope.awaitTree.filter', () => tree.promptFilter()),
    vscode.commands.registerCommand('aioscope.awaitTree.editFilter', () => tree.promptFilter()),
    vscode.commands.registerCommand('aioscope.awaitTree.clearFilter', () => tree.setFilter('')),
    vscode.commands.registerCommand('aioscope.awaitTree.clearExited', () => tree.clearExited()),
    // The adapter's exited event: the Await Tree keeps the last snapshot of the process.
    vscode.debug.registerDebugAdapterTrackerFactory(debugType, {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (m: { type?: string; event?: string }) => {
          if (m.type === 'event' && m.event === 'exited') {
            tree.targetExited(session);
          }
        },
      }),
    }),
    vscode.commands.registerCommand('aioscope.awaitTree.collapseAll', () => tree.collapseAll()),
    vscode.commands.registerCommand('aioscope.awaitTree.copyName', async (node?: TreeNode) => {
      if (node?.kind === 'task') {
        await vscode.env.clipboard.writeText(node.task.name);
      }
    }),
  );
  registerHoverExpressions(context);
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}

/** The aioscope binary: the setting when set, else the one bundled in the extension's bin/. */
export function adapterBinary(context: vscode.ExtensionContext): { path: string; bundled: boolean } {
  const configured = vscode.workspace.getConfiguration('aioscope').get<string>('adapterPath', '').trim();
  if (configured === '') {
    return { path: path.join(context.extensionPath, 'bin', 'aioscope'), bundled: true };
  }
  let p = configured.replace(/^~(?=$|\/)/, os.homedir());
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  p = p.replace(/\$\{workspaceFolder\}/g, folder ?? '');
  if (!path.isAbsolute(p) && folder !== undefined) {
    p = path.join(folder, p);
  }
  return { path: p, bundled: false };
}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const bin = adapterBinary(this.context);
    if (!fs.existsSync(bin.path)) {
      throw new Error(
        bin.bundled
          ? `aioscope: the bundled debug adapter ${bin.path} is missing; reinstall the extension or set "aioscope.adapterPath" to an aioscope binary.`
          : `aioscope: the debug adapter "${bin.path}" (setting aioscope.adapterPath) does not exist.`,
      );
    }
    try {
      fs.accessSync(bin.path, fs.constants.X_OK);
    } catch {
      if (!bin.bundled) {
        throw new Error(`aioscope: the debug adapter "${bin.path}" (setting aioscope.adapterPath) is not executable.`);
      }
      // Some ways of unpacking an extension lose the execute bit.
      fs.chmodSync(bin.path, 0o755);
    }
    this.log.info(`starting debug adapter: ${bin.path} dap`);
    return new vscode.DebugAdapterExecutable(bin.path, ['dap']);
  }
}

/**
 * Resolves aioscope configurations. It provides none for a new launch.json: package.json's
 * initialConfigurations does, and a second one would be written twice.
 */
class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    const stuckThresholdSeconds = vscode.workspace.getConfiguration('aioscope').get<number>('stuckThreshold', defaultStuckThresholdSeconds);
    return withSettings(withDefaults(config), { stuckThresholdSeconds });
  }

  resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration | undefined {
    const checked = checkResolved(config);
    if (!checked.ok) {
      void vscode.window.showErrorMessage(`aioscope: ${checked.message}`);
      return undefined;
    }
    return checked.config;
  }
}

/** Offers "attach to a Python process" in "Select and Start Debugging" without a launch.json. */
class DynamicConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [withDefaults({ type: debugType, request: 'attach', name: 'Attach to Python asyncio process…', errorLink: pickAnotherProcess })];
  }
}

/**
 * What a failed attach that no launch.json started offers instead of VS Code's "Open
 * 'launch.json'": picking another process (the adapter passes it on as its error's link).
 */
const pickAnotherProcess = { url: 'command:aioscope.attach', label: 'Pick Another Process…' };

interface ProcessPick extends vscode.QuickPickItem {
  pid: number;
}

/** Lets the user choose a running Python process; its PID as a string, or undefined. */
async function pickProcess(): Promise<string | undefined> {
  const items = listPythonProcesses().then((list) =>
    list.map((p): ProcessPick => {
      const item = pickItem(p);
      return { label: `$(symbol-event) ${item.label}`, description: item.description, detail: item.detail, pid: item.pid };
    }),
  );
  const list = await items;
  if (list.length === 0) {
    void vscode.window.showInformationMessage('aioscope: no running Python processes found (it lists the processes /proc shows).');
    return undefined;
  }
  const choice = await vscode.window.showQuickPick(list, {
    title: 'Attach to a Python process (read-only)',
    placeHolder: 'Type to filter by name, PID or command line',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return choice ? String(choice.pid) : undefined;
}

/** Picks a process and starts a session for it, no launch.json needed. */
async function attach(): Promise<boolean> {
  const pid = await pickProcess();
  if (pid === undefined) {
    return false;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  return vscode.debug.startDebugging(folder, {
    type: debugType,
    request: 'attach',
    name: `aioscope: pid ${pid}`,
    processId: Number(pid),
    errorLink: pickAnotherProcess,
  });
}

/**
 * Opens frames' files at their line and highlights the line, as the CALL STACK does for the frame
 * it shows, until another frame is opened or the editor is closed.
 */
class FrameHighlight implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.focusedStackFrameHighlightBackground'),
    overviewRulerColor: new vscode.ThemeColor('editor.focusedStackFrameHighlightBackground'),
    overviewRulerLane: vscode.OverviewRulerLane.Full,
  });
  private shown: { editor: vscode.TextEditor; range: vscode.Range } | undefined;
  private readonly listener = vscode.window.onDidChangeVisibleTextEditors((editors) => {
    // An editor that is shown again gets its highlight back; one that is gone drops it.
    const s = this.shown;
    if (s === undefined) {
      return;
    }
    const again = editors.find((e) => e.document === s.editor.document);
    if (again === undefined) {
      this.shown = undefined;
    } else if (again !== s.editor) {
      this.shown = { editor: again, range: s.range };
      again.setDecorations(this.decoration, [s.range]);
    }
  });

  dispose(): void {
    this.listener.dispose();
    this.decoration.dispose();
  }

  async open(file: string, line: number): Promise<void> {
    let doc: vscode.TextDocument;
    try {
      doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      void vscode.window.showErrorMessage(`aioscope: cannot open ${file}: ${msg}`);
      return;
    }
    const l = Math.min(Math.max(line, 1), doc.lineCount) - 1;
    const col = doc.lineAt(l).firstNonWhitespaceCharacterIndex;
    const pos = new vscode.Position(l, col);
    const editor = await vscode.window.showTextDocument(doc, {
      selection: new vscode.Range(pos, pos),
      preview: true,
    });
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.shown?.editor.setDecorations(this.decoration, []);
    const range = new vscode.Range(l, 0, l, 0);
    editor.setDecorations(this.decoration, [range]);
    this.shown = { editor, range };
  }
}
