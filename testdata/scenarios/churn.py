# Scenario: a target that never holds still. Thousands of tasks a second are created and finish
# (TaskGroups of short sleeps), and tasks keep moving in and out of each other's sets of awaiters
# (several tasks awaiting one through shield(), gathers, waiters cancelled by timeouts). Every
# snapshot of it races with the event loop, which is what the robustness tests need.
#
# Usage: churn.py [PAUSE]: each of the 8 workers rests PAUSE seconds (default 0.02) between waves
# of 25 tasks, which makes about ten thousand tasks a second; 0 makes as many as the interpreter
# can (tens of thousands). After READY it prints "RATE <tasks created in the last second>" once
# a second.
import asyncio, os, sys, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

created = 0


def spawn(tg_or_loop, coro, name):
    global created
    created += 1
    return tg_or_loop.create_task(coro, name=name)


async def leaf(i):
    await asyncio.sleep(0.0005 * (i % 4))


async def waiter(hub):
    # shield(): the waiter joins hub's set of awaiters and leaves it when hub finishes. A waiter
    # that times out first finishes, but shield() keeps it in hub's set until hub ends, so sets
    # of awaiters also hold tasks that are no longer listed.
    try:
        async with asyncio.timeout(0.002):
            await asyncio.shield(hub)
    except TimeoutError:
        pass


async def gatherer(n):
    # gather() wraps its children in tasks that the gathering task awaits, then drops.
    await asyncio.gather(*(leaf(i) for i in range(n)))


async def wave(w, hubs, n):
    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            spawn(tg, leaf(i), f"leaf-{w}-{i}")
        for i in range(4):
            spawn(tg, waiter(hubs[(w + i) % len(hubs)]), f"waiter-{w}-{i}")
        spawn(tg, gatherer(4), f"gather-{w}")
    global created
    created += 4  # the gathered children


async def hub_keeper(hubs, loop):
    # Hubs are the tasks awaited by many: each lives a few milliseconds and is then replaced,
    # so the waiters' sets form, grow, shrink and vanish all the time.
    while True:
        i = int(time.monotonic() * 1000) % len(hubs)
        hubs[i] = spawn(loop, asyncio.sleep(0.005), f"hub-{i}")
        await asyncio.sleep(0.001)


PAUSE = float(sys.argv[1]) if len(sys.argv) > 1 else 0.02


async def worker(w, hubs):
    while True:
        await wave(w, hubs, 16)
        await asyncio.sleep(PAUSE)


async def report():
    global created
    while True:
        before = created
        await asyncio.sleep(1)
        print("RATE", created - before, flush=True)


async def main():
    loop = asyncio.get_running_loop()
    hubs = [spawn(loop, asyncio.sleep(0.005), f"hub-{i}") for i in range(4)]
    keeper = spawn(loop, hub_keeper(hubs, loop), "hub-keeper")
    workers = [spawn(loop, worker(w, hubs), f"worker-{w}") for w in range(8)]
    await asyncio.sleep(0.2)
    print("READY", os.getpid(), flush=True)
    await asyncio.gather(report(), keeper, *workers)

asyncio.run(main())
