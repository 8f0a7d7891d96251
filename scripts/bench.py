"""Benchmark: one full `aioscope ps --json` snapshot against CPython's own reader,
_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by(), on the same live target.

Usage: bench.py AIOSCOPE_BIN PYTHON [PYTHON...]   (each PYTHON is a 3.14 or 3.15 interpreter)
Targets: testdata/scenarios/many.py N (N sleeping tasks gathered by the main task).
Each side gets one untimed warm-up read of the target, then REPS timed ones.
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

CPYTHON_TIMER = r"""
import _remote_debugging, statistics, sys, time
pid, reps = int(sys.argv[1]), int(sys.argv[2])
_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()  # warm-up, not timed
times, count = [], 0
for _ in range(reps):
    t0 = time.perf_counter()
    res = _remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()
    times.append(time.perf_counter() - t0)
    count = sum(len(a.awaited_by) for a in res)
print(statistics.median(times), count)
"""


def start(python, n):
    p = subprocess.Popen([python, SCENARIO, str(n)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if line[:1] != ["READY"]:
        p.kill()
        raise SystemExit(f"bench: {python} {SCENARIO} {n} did not start")
    return p


def time_aioscope(binary, pid):
    # The document goes to a file, as with `aioscope ps --json PID > file`: reading it back
    # through a pipe would time this script's reading as well.
    # The runs follow each other as CPython's do; the last document is checked afterwards.
    subprocess.run([binary, "ps", "--json", str(pid)], check=True, stdout=subprocess.DEVNULL)  # warm-up
    times = []
    with tempfile.TemporaryFile() as out:
        for _ in range(REPS):
            out.seek(0)
            out.truncate()
            t0 = time.perf_counter()
            subprocess.run([binary, "ps", "--json", str(pid)], check=True, stdout=out)
            times.append(time.perf_counter() - t0)
        out.seek(0)
        count = len(json.load(out)["tasks"])
    return statistics.median(times), count


def time_cpython(python, pid):
    r = subprocess.run([python, "-c", CPYTHON_TIMER, str(pid), str(REPS)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1]
    t, count = r.stdout.split()
    return float(t), int(count)


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
                ours, ours_count = time_aioscope(binary, target.pid)
                theirs, theirs_count = time_cpython(python, target.pid)
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
