// Attach configurations: defaults and validation, without VS Code types so they unit-test.

export const debugType = 'aioscope';
export const pickProcessVariable = '${command:pickProcess}';

export interface AttachConfig {
  type?: string;
  request?: string;
  name?: string;
  processId?: unknown;
  refreshInterval?: unknown;
  retries?: unknown;
  [key: string]: unknown;
}

/**
 * Fills in what a configuration leaves out. An empty configuration (F5 without a launch.json)
 * becomes "attach to a process picked from a list".
 */
export function withDefaults<T extends AttachConfig>(config: T): T {
  const c: AttachConfig = { ...config };
  c.type ??= debugType;
  c.request ??= 'attach';
  c.name ??= 'Attach to asyncio process (aioscope)';
  if (c.processId === undefined || c.processId === null || c.processId === '') {
    c.processId = pickProcessVariable;
  }
  return c as T;
}

/** The settings an attach configuration takes its defaults from. */
export interface AttachSettings {
  /** aioscope.stuckThreshold, in seconds. */
  stuckThresholdSeconds: number;
}

export const defaultStuckThresholdSeconds = 30;

/**
 * Passes the settings on as attach arguments (stuckThreshold, in milliseconds, as the adapter
 * takes it) unless the configuration sets them itself.
 */
export function withSettings<T extends AttachConfig>(config: T, settings: AttachSettings): T {
  const c: AttachConfig = { ...config };
  const s = settings.stuckThresholdSeconds;
  if (c.stuckThreshold === undefined && typeof s === 'number' && Number.isFinite(s) && s > 0) {
    c.stuckThreshold = Math.max(1, Math.round(s * 1000));
  }
  return c as T;
}

/** A PID from a configuration value: an integer, or a string holding one (what pickProcess returns). */
export function parseProcessId(v: unknown): number | undefined {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v > 0 && v <= 0x7fffffff ? v : undefined;
  }
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) {
    return parseProcessId(Number(v.trim()));
  }
  return undefined;
}

export type Checked<T> = { ok: true; config: T } | { ok: false; message: string };

/** Validates a configuration after variable substitution and turns a string PID into a number. */
export function checkResolved<T extends AttachConfig>(config: T): Checked<T> {
  if (config.request !== undefined && config.request !== 'attach') {
    return { ok: false, message: `aioscope only attaches to running processes: use "request": "attach", not "${String(config.request)}"` };
  }
  const pid = parseProcessId(config.processId);
  if (pid === undefined) {
    return {
      ok: false,
      message: `invalid processId ${JSON.stringify(config.processId) ?? 'undefined'}: expected the PID of a running Python process, or "${pickProcessVariable}"`,
    };
  }
  const out: AttachConfig = { ...config, processId: pid };
  for (const key of ['refreshInterval', 'retries', 'stuckThreshold', 'blockedThreshold'] as const) {
    const v = out[key];
    if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) {
      out[key] = Number(v.trim());
    }
  }
  return { ok: true, config: out as T };
}
