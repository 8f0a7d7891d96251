# Scenario: an event loop that is busy but healthy — it is almost never in its selector, yet no
# callback runs long. "hog" computes for about a millisecond per step and yields with sleep(0),
# so consecutive samples keep finding the same task at the same line, each time in another step;
# "ticker-N" tasks wake every few milliseconds; a plain callback reschedules itself with
# call_soon. Optionally a callback blocks the loop with time.sleep() for BLOCK_MS milliseconds
# every BLOCK_EVERY seconds, printing "BLOCK <start> <end>" (time.time()) after each.
# Stalls of the process itself (waiting for a CPU) are printed as "STALL <start> <end>".
# hog's local "step" and block's argument "n" count their runs, for tests to compare with what
# they read from the loop.
# Usage: busy.py [BLOCK_MS [BLOCK_EVERY]]
import asyncio, os, sys, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

BLOCK_MS = float(sys.argv[1]) if len(sys.argv) > 1 else 0
BLOCK_EVERY = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0


def compute(seconds):
    # A loop whose process waits for a CPU (a busy machine) is blocked in whatever runs: such
    # stalls are printed as "STALL <start> <end>" (time.time()), for tests to tell them apart.
    now = time.perf_counter()
    end = now + seconds
    n = 0
    while now < end:
        n += 1
        last, now = now, time.perf_counter()
        if now - last > 0.02:
            t = time.time()
            print("STALL", t - (now - last), t, flush=True)
    return n


async def hog():
    step = 0
    while True:
        step += 1
        compute(0.001)
        await asyncio.sleep(0)


async def ticker(i):
    while True:
        await asyncio.sleep(0.001 * (1 + i % 5))
        compute(0.0002)


def spin(loop):
    compute(0.0005)
    loop.call_soon(spin, loop)


def blocking_call():
    time.sleep(BLOCK_MS / 1000)


def block(loop, n):
    start = time.time()
    blocking_call()
    print("BLOCK", start, time.time(), flush=True)
    loop.call_later(BLOCK_EVERY, block, loop, n + 1)


async def main():
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(hog(), name="hog")]
    tasks += [asyncio.create_task(ticker(i), name=f"ticker-{i}") for i in range(50)]
    loop.call_soon(spin, loop)
    if BLOCK_MS > 0:
        loop.call_later(BLOCK_EVERY, block, loop, 1)
    loop.call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.gather(*tasks)


asyncio.run(main())
