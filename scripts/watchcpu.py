"""CPU share of `aioscope watch` on one live target, two binaries in turn.

Usage: watchcpu.py [--runs N] [--seconds S] [--tasks N] [--tty] PYTHON BIN_A [BIN_B]

Starts testdata/scenarios/many.py TASKS (10,000 sleeping tasks) with PYTHON, then runs
`BIN watch --for S PID` RUNS times for each binary, alternating A B, B A, ... so that a shared
machine's drift slows both alike. Without --tty the watch writes JSON Lines to a pipe (read and
counted here); with --tty it draws its terminal view on a pseudo-terminal of 140x40, whose output
is read and thrown away. For every run it takes the watch process's own user and system CPU time
(wait4), and gives:

  %cpu        (user + sys) / wall time of the watch, in percent of one core
  ms/snap     (user + sys) per snapshot taken (JSON: the last line's reads.snapshots; terminal:
              one per second, the default interval)

and, with two binaries, the median of the paired differences A - B of %cpu.
"""
import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import threading
import time

from ab import start_target  # scripts/ is the first entry of sys.path when run as a script


def drain(fd, sink):
    while True:
        try:
            b = os.read(fd, 1 << 16)
        except OSError:
            return
        if not b:
            return
        sink.append(b)


def run_once(bin_, pid, seconds, tty):
    """One watch: (%cpu, cpu ms per snapshot, snapshots)."""
    argv = [bin_, "watch", "--for", f"{seconds}s"] + ([] if tty else ["--json"]) + [str(pid)]
    out = []
    if tty:
        master, slave = pty.openpty()
        import fcntl, struct, termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
        env = dict(os.environ, TERM="xterm-256color")
        t0 = time.perf_counter()
        child = os.posix_spawn(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, slave, 0), (os.POSIX_SPAWN_DUP2, slave, 1), (os.POSIX_SPAWN_DUP2, slave, 2)],
            setsid=True)
        os.close(slave)
        reader = threading.Thread(target=drain, args=(master, out), daemon=True)
    else:
        r, w = os.pipe()
        t0 = time.perf_counter()
        child = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
        os.close(w)
        master = r
        reader = threading.Thread(target=drain, args=(r, out), daemon=True)
    reader.start()
    _, status, usage = os.wait4(child, 0)
    wall = time.perf_counter() - t0
    reader.join(timeout=2)
    os.close(master)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"watchcpu: {' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    cpu = usage.ru_utime + usage.ru_stime
    if tty:
        snaps = round(wall)
    else:
        lines = [json.loads(l) for l in b"".join(out).decode().splitlines() if l.startswith('{"event":"snapshot"')]
        snaps = lines[-1]["reads"]["snapshots"] if lines else 0
    return 100 * cpu / wall, 1000 * cpu / max(snaps, 1), snaps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--tty", action="store_true")
    ap.add_argument("python")
    ap.add_argument("bins", nargs="+")
    opts = ap.parse_args()
    bins = [os.path.abspath(b) for b in opts.bins]
    names = "AB"[: len(bins)]
    target = start_target(opts.python, opts.tasks)
    load = os.getloadavg()[0]
    res = {n: [] for n in names}
    try:
        for i in range(opts.runs):
            order = names if i % 2 == 0 else names[::-1]
            for n in order:
                r = run_once(bins[names.index(n)], target.pid, opts.seconds, opts.tty)
                res[n].append(r)
                print(f"  run {i + 1} {n}: {r[0]:.2f}% cpu, {r[1]:.1f} ms/snapshot, {r[2]} snapshots", flush=True)
    finally:
        target.kill()
        target.wait()
    mode = "terminal" if opts.tty else "JSON Lines"
    print(f"{opts.runs} runs of {opts.seconds} s each, {opts.tasks} tasks, {mode}, load {load:.2f} -> {os.getloadavg()[0]:.2f}")
    for n, b in zip(names, bins):
        cpus = [r[0] for r in res[n]]
        per = [r[1] for r in res[n]]
        print(f"  {n}: %cpu median {statistics.median(cpus):.2f} (min {min(cpus):.2f}, max {max(cpus):.2f}), "
              f"ms/snapshot median {statistics.median(per):.1f}  ({b})")
    if len(names) == 2:
        d = [a[0] - b[0] for a, b in zip(res["A"], res["B"])]
        print(f"  A - B %cpu: median of paired differences {statistics.median(d):+.2f} "
              f"(A lower in {sum(x < 0 for x in d)} of {len(d)} pairs)")


if __name__ == "__main__":
    sys.exit(main())
