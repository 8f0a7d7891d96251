import * as vscode from 'vscode';
import { LanguageClient, TransportKind } from 'vscode-languageclient/node';
import { initOptions, parsePid } from './liveTasksOptions';

/**
 * Live task state in the editor: `aioscope lsp`, started through vscode-languageclient for one
 * process at a time, shows code lenses where tasks wait and for how long, and stuck tasks,
 * blocked event loops and await cycles as problems. It starts
 * once an aioscope debug session has shown its first snapshot (same PID) — not at the attach, so
 * that the session's first snapshot of a large process has the machine to itself — or by
 * command, and stops with the session.
 */
export class LiveTasks implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private pid: number | undefined;
  private sessionId: string | undefined;
  /** The debug sessions the server was started for once, so that it is not started again. */
  private readonly startedFor = new Set<string>();

  constructor(
    private readonly binary: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /**
   * Starts the server, once, for a debug session that has shown its first snapshot of a process,
   * if the setting allows.
   */
  async sessionShowedSnapshot(session: vscode.DebugSession): Promise<void> {
    if (this.startedFor.has(session.id)) {
      return;
    }
    this.startedFor.add(session.id);
    if (!vscode.workspace.getConfiguration('aioscope.languageServer').get<boolean>('enabled', true)) {
      return;
    }
    const pid = parsePid(session.configuration.processId);
    if (pid !== undefined) {
      await this.start(pid, session.id);
    }
  }

  /** Stops the server that was started for this debug session. */
  async sessionEnded(session: vscode.DebugSession): Promise<void> {
    this.startedFor.delete(session.id);
    if (this.sessionId === session.id) {
      await this.stop();
    }
  }

  /** Starts the server for process pid, in place of any other. */
  async start(pid: number, sessionId?: string): Promise<void> {
    if (this.client !== undefined && this.pid === pid) {
      this.sessionId = sessionId ?? this.sessionId;
      return;
    }
    await this.stop();
    const settings = vscode.workspace.getConfiguration('aioscope.languageServer');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const options = initOptions(
      pid,
      {
        refreshInterval: settings.get('refreshInterval'),
        stuckThreshold: settings.get('stuckThreshold'),
        blockedThreshold: settings.get('blockedThreshold'),
        pathMappings: settings.get('pathMappings'),
      },
      folder,
    );
    const command = this.binary();
    this.log.info(`starting language server: ${command} lsp, for process ${pid}`);
    const client = new LanguageClient(
      'aioscope.liveTasks',
      'aioscope live tasks',
      { command, args: ['lsp'], transport: TransportKind.stdio },
      {
        documentSelector: [{ scheme: 'file', language: 'python' }],
        initializationOptions: options,
        outputChannel: this.log,
      },
    );
    this.sessionId = sessionId;
    this.client = client;
    this.pid = pid;
    try {
      await client.start();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      void vscode.window.showErrorMessage(`aioscope: the language server did not start: ${msg}`);
      if (this.client === client) {
        this.client = this.pid = this.sessionId = undefined;
      }
    }
  }

  /** Stops the server, if one runs. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = this.pid = this.sessionId = undefined;
    if (client !== undefined) {
      try {
        await client.stop();
      } catch (err) {
        this.log.warn(`stopping the language server: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  dispose(): void {
    void this.stop();
  }
}
