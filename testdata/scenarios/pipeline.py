# Scenario: threads that never stop running Python code. The main thread runs a producer/consumer
# pipeline at full speed (stages hand items on through small queues, so tasks switch all the
# time, and each item costs some pure-Python work); a second thread runs its own event loop with
# the same pipeline. Each stage hands every item's work to a task of its own, so tasks also start
# and finish all the time, often while a thread runs them. Every snapshot of it catches frames
# being pushed, popped and suspended, and tasks finishing.
import asyncio, os, threading
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


def work(item):
    # Pure-Python work between awaits, a few frames deep.
    def digits(n):
        return sum(int(c) for c in str(n))
    return digits(item * 7919) % 13


async def produce(q, n):
    i = 0
    while True:
        await q.put(i)
        i += 1


async def step(item):
    return work(item) + item


async def stage(q_in, q_out):
    while True:
        item = await q_in.get()
        await q_out.put(await asyncio.create_task(step(item)))


async def consume(q):
    total = 0
    while True:
        total += await q.get()


async def pipeline(tag, stages=3):
    queues = [asyncio.Queue(maxsize=4) for _ in range(stages + 1)]
    async with asyncio.TaskGroup() as tg:
        tg.create_task(produce(queues[0], stages), name=f"{tag}-producer")
        for i in range(stages):
            tg.create_task(stage(queues[i], queues[i + 1]), name=f"{tag}-stage-{i}")
        tg.create_task(consume(queues[-1]), name=f"{tag}-consumer")


def side_thread(ready):
    async def main():
        asyncio.get_running_loop().call_soon(ready.set)
        await pipeline("side")
    asyncio.run(main())


async def main():
    ready = threading.Event()
    threading.Thread(target=side_thread, args=(ready,), name="side-loop", daemon=True).start()
    ready.wait()
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await pipeline("main")


asyncio.run(main())
