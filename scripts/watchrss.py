"""Resident memory of `aioscope watch` over a long watch of a churning target.

Usage: watchrss.py [--seconds S] [--tty] [--series] PYTHON BIN [BIN...]

Starts testdata/scenarios/churn.py (thousands of tasks a second created and finished) with
PYTHON, runs `BIN watch --json --for S PID > /dev/null` for every BIN side by side on it (with
--tty, `BIN watch --for S PID` drawing its terminal view on a pseudo-terminal of 140x40, whose
output is read and thrown away), and reads each watch's VmRSS every 5 s. Prints, per binary, the first and last readings and the
least and most after the first 30 s: a watch whose memory is flat keeps those within a few
per cent of each other however long it runs. --series also prints, per binary, the median of
each minute's readings, to tell a sawtooth from a slow climb.
"""
import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "testdata", "scenarios", "churn.py")


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_watch(bin_, seconds, pid, tty, devnull):
    if not tty:
        return subprocess.Popen([bin_, "watch", "--json", "--for", f"{seconds}s", str(pid)], stdout=devnull)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    w = subprocess.Popen([bin_, "watch", "--for", f"{seconds}s", str(pid)], stdin=slave, stdout=slave, stderr=slave,
                         env=dict(os.environ, TERM="xterm-256color"), start_new_session=True)
    os.close(slave)
    threading.Thread(target=drain, args=(master,), daemon=True).start()
    return w


def drain(fd):
    while True:
        try:
            if not os.read(fd, 1 << 16):
                return
        except OSError:
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--tty", action="store_true")
    ap.add_argument("--series", action="store_true")
    ap.add_argument("python")
    ap.add_argument("bins", nargs="+")
    opts = ap.parse_args()
    target = subprocess.Popen([opts.python, "-B", "-E", "-s", SCENARIO], stdout=subprocess.PIPE, text=True)
    if not target.stdout.readline().startswith("READY"):
        target.kill()
        raise SystemExit("watchrss: the target did not start")
    devnull = open(os.devnull, "w")
    watches = [start_watch(os.path.abspath(b), opts.seconds, target.pid, opts.tty, devnull) for b in opts.bins]
    readings = {b: [] for b in opts.bins}
    t0 = time.time()
    try:
        while any(w.poll() is None for w in watches):
            time.sleep(5)
            for b, w in zip(opts.bins, watches):
                r = rss_mib(w.pid)
                if r is not None:
                    readings[b].append((time.time() - t0, r))
    finally:
        target.kill()
        target.wait()
    mode = "terminal view" if opts.tty else "JSON Lines"
    print(f"{opts.seconds} s of churn.py, {mode}, load {os.getloadavg()[0]:.2f}")
    for b in opts.bins:
        rs = readings[b]
        later = [r for t, r in rs if t >= 30] or [r for _, r in rs]
        print(f"  {b}: VmRSS first {rs[0][1]:.1f} MiB, last {rs[-1][1]:.1f} MiB; after 30 s min {min(later):.1f}, "
              f"max {max(later):.1f} MiB ({len(rs)} readings)")
        if opts.series:
            minutes = {}
            for t, r in rs:
                minutes.setdefault(int(t // 60), []).append(r)
            print("    each minute's median:", " ".join(f"{statistics.median(v):.1f}" for _, v in sorted(minutes.items())))


if __name__ == "__main__":
    sys.exit(main())
