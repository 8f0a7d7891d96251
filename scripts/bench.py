"""Benchmark: one full `aioscope ps --json` snapshot against CPython's own reader,
_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by(), on the same live target.

Usage: bench.py AIOSCOPE_BIN PYTHON [PYTHON...]   (each PYTHON is a 3.14 or 3.15 interpreter)
Targets: testdata/scenarios/many.py N (N sleeping tasks gathered by the main task).
Each side gets one untimed warm-up read of the target, then REPS timed ones. The two sides take
turns, one read each, who goes first alternating: on a shared machine the speed of everything
drifts over seconds, and timing all of one side, then all of the other, puts that drift into the
ratio.
Prints one line per (version, N) and the two ratios the project tracks:
  speedup = CPython median / aioscope median at 10,000 tasks        (goal: >= 10)
  scaling = aioscope median at 100,000 / aioscope median at 10,000   (goal: <= 12)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "testdata", "scenarios", "many.py")
REPS = 15

# CPython's side: a process that times one read for each line it is sent, with a fresh
# RemoteUnwinder as a one-off reader would use, and answers "OK seconds tasks" or "ERR message".
CPYTHON_READER = r"""
import _remote_debugging, sys, time
pid = int(sys.argv[1])
for _ in sys.stdin:
    try:
        t0 = time.perf_counter()
        res = _remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()
        t = time.perf_counter() - t0
        print("OK", t, sum(len(a.awaited_by) for a in res), flush=True)
    except Exception as e:
        print("ERR", type(e).__name__ + ": " + str(e).replace("\n", " "), flush=True)
"""


def start(python, n):
    p = subprocess.Popen([python, SCENARIO, str(n)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if line[:1] != ["READY"]:
        p.kill()
        raise SystemExit(f"bench: {python} {SCENARIO} {n} did not start")
    return p


class CPythonReader:
    """CPython's reader in a process of its own, reading the target when asked."""

    def __init__(self, python, pid):
        self.p = subprocess.Popen([python, "-c", CPYTHON_READER, str(pid)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.error = None

    def read(self):
        """One timed read: (seconds, tasks), or None once CPython has failed."""
        if self.error is not None:
            return None
        self.p.stdin.write("read\n")
        self.p.stdin.flush()
        status, _, rest = self.p.stdout.readline().strip().partition(" ")
        if status != "OK":
            self.error = rest or "the reader exited"
            return None
        t, count = rest.split()
        return float(t), int(count)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def read_aioscope(binary, pid, out):
    # The document goes to a file, as with `aioscope ps --json PID > file`: reading it back
    # through a pipe would time this script's reading as well.
    out.seek(0)
    out.truncate()
    t0 = time.perf_counter()
    subprocess.run([binary, "ps", "--json", str(pid)], check=True, stdout=out)
    return time.perf_counter() - t0


def time_both(binary, python, pid):
    """Medians of REPS reads by each side, taking turns, and the tasks each reported.
    CPython's median is None, and its count its error, when it fails."""
    cpython = CPythonReader(python, pid)
    try:
        ours, theirs, theirs_count = [], [], 0
        with tempfile.TemporaryFile() as out:
            read_aioscope(binary, pid, out)  # warm-up
            cpython.read()  # warm-up
            for i in range(REPS):
                for side in ("aioscope", "cpython") if i % 2 == 0 else ("cpython", "aioscope"):
                    if side == "aioscope":
                        ours.append(read_aioscope(binary, pid, out))
                    elif (r := cpython.read()) is not None:
                        theirs.append(r[0])
                        theirs_count = r[1]
            out.seek(0)
            ours_count = len(json.load(out)["tasks"])
    finally:
        cpython.close()
    if cpython.error is not None:
        return statistics.median(ours), ours_count, None, cpython.error
    return statistics.median(ours), ours_count, statistics.median(theirs), theirs_count


def main():
    binary, pythons = os.path.abspath(sys.argv[1]), sys.argv[2:]
    ok = True
    for python in pythons:
        version = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        results = {}
        for n in (10_000, 100_000):
            target = start(python, n)
            try:
                ours, ours_count, theirs, theirs_count = time_both(binary, python, target.pid)
            finally:
                target.kill()
                target.wait()
            results[n] = ours
            if theirs is None:
                cp = f"CPython: fails ({theirs_count})"
            else:
                cp = f"CPython get_all_awaited_by: {theirs * 1000:8.1f} ms ({theirs_count} tasks)"
            print(f"{version:8} {n:>7} tasks  aioscope ps --json: {ours * 1000:8.1f} ms ({ours_count} tasks)   {cp}"
                  + (f"   speedup {theirs / ours:5.1f}x" if theirs else ""), flush=True)
            if n == 10_000 and theirs is not None and theirs / ours < 10:
                ok = False
        scaling = results[100_000] / results[10_000]
        print(f"{version:8} scaling 100,000 vs 10,000 tasks: {scaling:.1f}x (goal <= 12)", flush=True)
        ok = ok and scaling <= 12
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
