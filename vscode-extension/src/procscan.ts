// Lists running Python processes from /proc for the process picker. It only reads /proc (the
// command line, the executable's name and the memory map); it never runs anything, in the
// targets or otherwise.

import { promises as fs } from 'fs';
import * as path from 'path';

export interface PythonProcess {
  pid: number;
  /** The executable as /proc/PID/exe names it ("" when it cannot be read). */
  exe: string;
  /** The command line, one element per argument. */
  argv: string[];
  /** "3.14" and the like, "" when neither the executable's name nor a mapped libpython tells. */
  version: string;
  /** How the process was recognised as Python. */
  evidence: 'exe' | 'libpython' | 'argv';
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat), 0 when unknown. */
  startTicks: number;
}

const pythonExe = /^python(\d+(?:\.\d+)?)?[a-z]*(?:-dbg)?$/;
const versionInName = /python(\d+\.\d+)/;
const libpython = /\/libpython(\d+\.\d+)[a-z]*\.so/;

/** "3.14" from "python3.14", "python3.14d", "/usr/lib/libpython3.15.so.1.0"; "" otherwise. */
export function versionFromName(name: string): string {
  const m = versionInName.exec(baseOf(name));
  return m ? m[1] : '';
}

function baseOf(p: string): string {
  return path.posix.basename(p.replace(/ \(deleted\)$/, ''));
}

/** Whether an executable's file name is a Python interpreter's. */
export function isPythonExecutableName(name: string): boolean {
  return pythonExe.test(baseOf(name));
}

/** The libpython version mapped into a process, from the text of /proc/PID/maps. */
export function versionFromMaps(maps: string): string {
  const m = libpython.exec(maps);
  return m ? m[1] : '';
}

export function parseCmdline(raw: Buffer): string[] {
  const s = raw.toString('utf8');
  const parts = s.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') {
    parts.pop();
  }
  return parts;
}

/** Field 22 (starttime) of /proc/PID/stat; the command name may contain spaces and parentheses. */
export function startTicksFromStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) {
    return 0;
  }
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so starttime (22) is fields[19].
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : 0;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads what /proc says about one process; undefined when it is not (recognisably) Python. */
export async function inspectProcess(procRoot: string, pid: number): Promise<PythonProcess | undefined> {
  const dir = path.join(procRoot, String(pid));
  let argv: string[] = [];
  try {
    argv = parseCmdline(await fs.readFile(path.join(dir, 'cmdline')));
  } catch {
    return undefined; // gone
  }
  if (argv.length === 0) {
    return undefined; // kernel thread or zombie
  }
  let exe = '';
  try {
    exe = (await fs.readlink(path.join(dir, 'exe'))).replace(/ \(deleted\)$/, '');
  } catch {
    // Another user's process: only the command line is readable.
  }
  let evidence: PythonProcess['evidence'] | undefined;
  let version = '';
  if (exe !== '' && isPythonExecutableName(exe)) {
    evidence = 'exe';
    version = versionFromName(exe);
  }
  if (version === '') {
    // A program embedding Python, or an interpreter whose name has no version: libpython's
    // name in the memory map tells, when it is a shared build.
    const maps = await readText(path.join(dir, 'maps'));
    if (maps !== undefined) {
      const v = versionFromMaps(maps);
      if (v !== '') {
        version = v;
        evidence ??= 'libpython';
      }
    }
  }
  if (evidence === undefined && exe === '' && isPythonExecutableName(argv[0])) {
    evidence = 'argv';
    version = versionFromName(argv[0]);
  }
  if (evidence === undefined) {
    return undefined;
  }
  const stat = await readText(path.join(dir, 'stat'));
  return { pid, exe, argv, version, evidence, startTicks: stat ? startTicksFromStat(stat) : 0 };
}

/** Python processes other than `excludePid`, most recently started first. */
export async function listPythonProcesses(procRoot = '/proc', excludePid = process.pid): Promise<PythonProcess[]> {
  const entries = await fs.readdir(procRoot);
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => p !== excludePid);
  const found: PythonProcess[] = [];
  // A few at a time: hosts have thousands of processes, and maps files can be large.
  const width = 32;
  for (let i = 0; i < pids.length; i += width) {
    const batch = await Promise.all(pids.slice(i, i + width).map((p) => inspectProcess(procRoot, p)));
    for (const p of batch) {
      if (p !== undefined) {
        found.push(p);
      }
    }
  }
  found.sort((a, b) => b.startTicks - a.startTicks || b.pid - a.pid);
  return found;
}

/** Shell-like display of a command line. */
export function formatArgv(argv: readonly string[], max = 300): string {
  const s = argv.map((a) => (a === '' || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export interface PickItem {
  label: string;
  description: string;
  detail: string;
  pid: number;
}

/** How the picker shows a process: name, PID and version, command line. */
export function pickItem(p: PythonProcess): PickItem {
  const name = p.exe !== '' ? baseOf(p.exe) : baseOf(p.argv[0] ?? '') || `process ${p.pid}`;
  const version = p.version !== '' ? `Python ${p.version}` : 'Python (version unknown)';
  const supported = p.version === '3.14' || p.version === '3.15' || p.version === '' ? '' : ' — not supported (3.14 and 3.15 only)';
  return {
    label: name,
    description: `pid ${p.pid} · ${version}${supported}`,
    detail: formatArgv(p.argv),
    pid: p.pid,
  };
}
