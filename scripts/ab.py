"""Paired A/B timing of two aioscope binaries on one live target.

Usage: ab.py [--pairs N] [--tasks N] [--pause SECONDS] [--seed N] [--args-b ARGS]
             PYTHON BIN_A BIN_B [ARGS...]

Starts testdata/scenarios/many.py TASKS with PYTHON (a 3.14 or 3.15 interpreter), then runs
`BIN ps --json PID > /dev/null` (or `BIN ARGS... PID` when ARGS are given) PAIRS times for each
binary. The runs alternate: A then B, then B then A, and so on, so that a machine whose speed
drifts (a shared one does) slows both alike. Each pair gives one difference, A minus B; the
result is the median of those differences with a bootstrap 95% interval (percentiles of the
medians of 10,000 resamples of the pairs), besides each side's median wall time and minor page
faults; the same for CPU time (user + system, of the process alone), steadier than wall time
on a busy machine. --pause sleeps before every run, to time runs that come after a quiet
moment. --args-b gives B other arguments (one string, split at spaces), to compare two commands
of one binary: the ratio B / A of each pair is then given too.

A difference whose interval does not contain 0 is one the runs show; one that does is not.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "testdata", "scenarios", "many.py")
RESAMPLES = 10_000


def start_target(python, tasks):
    """Starts many.py with tasks tasks under python and returns it once it says READY (watchcpu.py
    starts its target with this too)."""
    p = subprocess.Popen([python, "-B", "-E", "-s", SCENARIO, str(tasks)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if line[:1] != ["READY"]:
        p.kill()
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: {python} {SCENARIO} {tasks} did not start")
    return p


def run_once(argv, devnull):
    """Runs argv with stdout to /dev/null: (wall seconds, minor page faults, CPU seconds)."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, usage = os.wait4(pid, 0)
    t = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ab: {' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return t, usage.ru_minflt, usage.ru_utime + usage.ru_stime


def bootstrap_median(diffs, rng):
    n = len(diffs)
    meds = sorted(statistics.median(rng.choices(diffs, k=n)) for _ in range(RESAMPLES))
    return meds[int(0.025 * RESAMPLES)], meds[int(0.975 * RESAMPLES) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--pause", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--args-b", default=None)
    ap.add_argument("python")
    ap.add_argument("bin_a")
    ap.add_argument("bin_b")
    ap.add_argument("args", nargs="*")
    opts = ap.parse_args()
    args = opts.args or ["ps", "--json"]
    target = start_target(opts.python, opts.tasks)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = str(target.pid)
        args_b = opts.args_b.split() if opts.args_b is not None else args
        argv = {"A": [os.path.abspath(opts.bin_a), *args, pid], "B": [os.path.abspath(opts.bin_b), *args_b, pid]}
        for side in "AB":  # warm-up: page cache, the target's memory
            run_once(argv[side], devnull)
        load = os.getloadavg()[0]
        times = {"A": [], "B": []}
        faults = {"A": [], "B": []}
        cpus = {"A": [], "B": []}
        for i in range(opts.pairs):
            for side in ("AB" if i % 2 == 0 else "BA"):
                time.sleep(opts.pause)
                t, f, c = run_once(argv[side], devnull)
                times[side].append(t)
                faults[side].append(f)
                cpus[side].append(c)
    finally:
        target.kill()
        target.wait()
    ms = lambda s: f"{1000 * s:.2f} ms"
    print(f"{opts.pairs} pairs, {opts.tasks} tasks, `{' '.join(args)}`"
          + (f" / `{' '.join(args_b)}`" if opts.args_b is not None else "")
          + f", pause {opts.pause} s, load {load:.2f} -> {os.getloadavg()[0]:.2f}")
    for side, path in (("A", opts.bin_a), ("B", opts.bin_b)):
        print(f"  {side}: median {ms(statistics.median(times[side]))}, CPU {ms(statistics.median(cpus[side]))}, "
              f"{statistics.median(faults[side]):.0f} minor faults  ({path})")
    for name, values in (("wall", times), ("CPU", cpus)):
        diffs = [a - b for a, b in zip(values["A"], values["B"])]
        lo, hi = bootstrap_median(diffs, random.Random(opts.seed))
        print(f"  A - B {name}: median of paired differences {ms(statistics.median(diffs))}, "
              f"95% interval [{ms(lo)}, {ms(hi)}]; A faster in {sum(d < 0 for d in diffs)} of {len(diffs)} pairs")
        if opts.args_b is not None:
            ratios = [b / a for a, b in zip(values["A"], values["B"]) if a > 0]
            lo, hi = bootstrap_median(ratios, random.Random(opts.seed))
            print(f"  B / A {name}: median of paired ratios {statistics.median(ratios):.3f}, "
                  f"95% interval [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    sys.exit(main())
