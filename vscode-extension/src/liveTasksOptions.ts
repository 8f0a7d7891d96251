// What the extension tells `aioscope lsp` when it starts it: free of `vscode` imports, so that it
// is unit-tested without VS Code.

/** A debugpy-style mapping from where the target runs its files to where they are here. */
export interface PathMapping {
  localRoot: string;
  remoteRoot: string;
}

/** The language server's initialization options (see the README's "Language server" section). */
export interface LiveTasksInitOptions {
  processId: number;
  refreshInterval: number;
  /** Milliseconds before a task waiting at one place is shown as stuck; absent: the server's default. */
  stuckThreshold?: number;
  /** Milliseconds a callback runs before its loop is shown as blocked (0: no sampling); absent: the server's default. */
  blockedThreshold?: number;
  pathMappings: PathMapping[];
  /** The extension has a command named aioscope.attach already: the server's stay unregistered. */
  advertiseCommands: false;
}

/** The settings under aioscope.languageServer.*, as read from the configuration. */
export interface LiveTasksSettings {
  refreshInterval?: unknown;
  stuckThreshold?: unknown;
  blockedThreshold?: unknown;
  pathMappings?: unknown;
}

export const defaultRefreshInterval = 2000;

/** A PID as a debug configuration or a picker gives it (a number or a string of digits), or undefined. */
export function parsePid(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The initialization options for a process. ${workspaceFolder} in a local root is replaced by the
 * workspace's folder; mappings that are not two strings are dropped.
 */
export function initOptions(pid: number, settings: LiveTasksSettings, workspaceFolder?: string): LiveTasksInitOptions {
  const interval = settings.refreshInterval;
  const refreshInterval = typeof interval === 'number' && Number.isFinite(interval) && interval >= 0 ? interval : defaultRefreshInterval;
  const pathMappings: PathMapping[] = [];
  if (Array.isArray(settings.pathMappings)) {
    for (const m of settings.pathMappings as unknown[]) {
      if (typeof m !== 'object' || m === null) {
        continue;
      }
      const { localRoot, remoteRoot } = m as Record<string, unknown>;
      if (typeof localRoot !== 'string' || typeof remoteRoot !== 'string') {
        continue;
      }
      pathMappings.push({ localRoot: localRoot.replace(/\$\{workspaceFolder\}/g, workspaceFolder ?? ''), remoteRoot });
    }
  }
  const options: LiveTasksInitOptions = { processId: pid, refreshInterval, pathMappings, advertiseCommands: false };
  const stuck = milliseconds(settings.stuckThreshold, 1);
  if (stuck !== undefined) {
    options.stuckThreshold = stuck;
  }
  const blocked = milliseconds(settings.blockedThreshold, 0);
  if (blocked !== undefined) {
    options.blockedThreshold = blocked;
  }
  return options;
}

/** A number of milliseconds of at least min, or undefined for anything else. */
function milliseconds(v: unknown, min: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : undefined;
}
