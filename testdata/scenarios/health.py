# Scenario: what aioscope check and watch must tell apart. After READY:
#   - "stuck-forever" starts waiting on an Event that is never set, STUCK_AFTER seconds later
#     (it prints "STUCK <time.time()>" when it starts waiting);
#   - "sleeper" sleeps SLEEP seconds from a known moment ("SLEEPING <time.time()> <delay>");
#   - "churner" creates short tasks ("churn-N", alive a few ms) all the time; "napper" sleeps 5 ms again and again;
#   - a callback of the loop blocks it with time.sleep() for each of BLOCKS milliseconds in turn,
#     one every BLOCK_EVERY seconds, printing "BLOCK <start> <end>" (time.time()) after each;
#   - "main" awaits a TaskGroup holding the others: it waits as long as the program runs, but
#     awaits other tasks, so it is never stuck itself.
# Usage: health.py [STUCK_AFTER [BLOCKS [BLOCK_EVERY]]], BLOCKS comma-separated ("300,150"), "" for none.
import asyncio, os, sys, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

STUCK_AFTER = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
BLOCKS = [int(b) for b in sys.argv[2].split(",") if b] if len(sys.argv) > 2 else [300]
BLOCK_EVERY = float(sys.argv[3]) if len(sys.argv) > 3 else 1.5
SLEEP = 3600


async def wait_forever(ev):
    await asyncio.sleep(STUCK_AFTER)
    print("STUCK", time.time(), flush=True)
    await ev.wait()


async def sleeper():
    print("SLEEPING", time.time(), SLEEP, flush=True)
    await asyncio.sleep(SLEEP)


async def short(i):
    await asyncio.sleep(0.001 * (i % 5))


async def churner(tg):
    i = 0
    while True:
        for _ in range(10):
            tg.create_task(short(i), name=f"churn-{i}")
            i += 1
        await asyncio.sleep(0.002)


def blocking_call(ms):
    time.sleep(ms / 1000)


def block(loop, n):
    if n >= len(BLOCKS):
        return
    start = time.time()
    blocking_call(BLOCKS[n])
    print("BLOCK", start, time.time(), flush=True)
    loop.call_later(BLOCK_EVERY, block, loop, n + 1)


async def main():
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(wait_forever(ev), name="stuck-forever")
        tg.create_task(sleeper(), name="sleeper")
        tg.create_task(churner(tg), name="churner")
        tg.create_task(napper(), name="napper")
        loop.call_later(BLOCK_EVERY, block, loop, 0)
        loop.call_later(0.2, lambda: print("READY", os.getpid(), flush=True))


async def napper():  # defined last: the lines above are named by tests
    while True:
        await asyncio.sleep(0.005)


asyncio.run(main())
