import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  formatArgv,
  isPythonExecutableName,
  listPythonProcesses,
  pickItem,
  startTicksFromStat,
  versionFromMaps,
  versionFromName,
} from '../src/procscan';

function fakeProc(root: string, pid: number, p: { exe?: string; argv: string[]; maps?: string; start?: number }): void {
  const dir = path.join(root, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cmdline'), p.argv.map((a) => a + '\0').join(''));
  if (p.exe !== undefined) {
    fs.symlinkSync(p.exe, path.join(dir, 'exe'));
  }
  if (p.maps !== undefined) {
    fs.writeFileSync(path.join(dir, 'maps'), p.maps);
  }
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[19] = String(p.start ?? 0);
  fs.writeFileSync(path.join(dir, 'stat'), `${pid} (some (odd) name) ${fields.join(' ')}`);
}

describe('process picker', () => {
  it('reads versions from names and memory maps', () => {
    assert.strictEqual(versionFromName('/usr/bin/python3.14'), '3.14');
    assert.strictEqual(versionFromName('/opt/py/bin/python3.15d'), '3.15');
    assert.strictEqual(versionFromName('/usr/bin/python3'), '');
    assert.ok(isPythonExecutableName('/usr/bin/python3.14'));
    assert.ok(isPythonExecutableName('python3.14-dbg'));
    assert.ok(isPythonExecutableName('/usr/bin/python3.14 (deleted)'));
    assert.ok(isPythonExecutableName('python'));
    assert.ok(!isPythonExecutableName('/usr/bin/pythonista-helper'));
    assert.ok(!isPythonExecutableName('/usr/bin/node'));
    assert.strictEqual(versionFromMaps('7f00-7f01 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libpython3.15.so.1.0\n'), '3.15');
    assert.strictEqual(versionFromMaps('7f00-7f01 r-xp 0 08:01 12 /usr/lib/libc.so.6\n'), '');
    assert.strictEqual(startTicksFromStat('12 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987 20'), 987);
  });

  it('lists Python processes from a /proc tree, newest first', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aioscope-proc-'));
    try {
      fakeProc(root, 100, { exe: '/usr/bin/python3.14', argv: ['python3.14', 'tree.py'], start: 10 });
      fakeProc(root, 101, { exe: '/usr/bin/uwsgi', argv: ['uwsgi', '--ini', 'app.ini'], maps: 'x /usr/lib/libpython3.15.so.1.0\n', start: 30 });
      fakeProc(root, 102, { exe: '/usr/bin/node', argv: ['node', 'server.js'], maps: 'x /usr/lib/libc.so.6\n', start: 40 });
      fakeProc(root, 103, { exe: '/usr/bin/python3', argv: ['/usr/bin/python3', '-m', 'http.server'], start: 20 });
      fakeProc(root, 104, { argv: ['python3.15', 'x.py'], start: 5 }); // exe unreadable
      fakeProc(root, 105, { exe: '/usr/bin/python3.14', argv: [] }); // zombie
      fs.mkdirSync(path.join(root, 'self'));
      const found = await listPythonProcesses(root, 999);
      assert.deepStrictEqual(
        found.map((p) => [p.pid, p.version, p.evidence]),
        [
          [101, '3.15', 'libpython'],
          [103, '', 'exe'],
          [100, '3.14', 'exe'],
          [104, '3.15', 'argv'],
        ],
      );
      const item = pickItem(found[2]);
      assert.deepStrictEqual(item, { label: 'python3.14', description: 'pid 100 · Python 3.14', detail: 'python3.14 tree.py', pid: 100 });
      assert.strictEqual(pickItem(found[1]).description, 'pid 103 · Python (version unknown)');
      assert.ok(pickItem({ ...found[2], version: '3.11' }).description.includes('not supported'));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds this machine\'s processes without failing', async () => {
    const found = await listPythonProcesses();
    assert.ok(Array.isArray(found));
    assert.ok(!found.some((p) => p.pid === process.pid));
  });

  it('quotes arguments that need it', () => {
    assert.strictEqual(formatArgv(['python3', '-c', 'print(1) ', '']), 'python3 -c "print(1) " ""');
    assert.strictEqual(formatArgv(['x'.repeat(400)], 10).length, 10);
  });
});
