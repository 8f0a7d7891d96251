# Scenario: asyncio.Queue producers and consumers that have all come to rest: producers blocked
# on a full bounded queue, consumers blocked on empty queues (FIFO, LIFO, priority), a two-stage
# pipeline and a task waiting in Queue.join().
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def producer(q, tag):
    i = 0
    while True:
        await q.put((tag, i))
        i += 1


async def consumer(q):
    while True:
        await q.get()
        q.task_done()


async def stage(src, dst):
    while True:
        item = await src.get()
        await dst.put(item)
        src.task_done()


async def joiner(q):
    await q.join()


async def main():
    full = asyncio.Queue(maxsize=2)
    empty = asyncio.Queue()
    lifo = asyncio.LifoQueue()
    prio = asyncio.PriorityQueue()
    first, second = asyncio.Queue(), asyncio.Queue(maxsize=1)

    for i in range(3):
        asyncio.create_task(producer(full, i), name=f"producer-{i}")
    asyncio.create_task(joiner(full), name="joiner")
    for i in range(2):
        asyncio.create_task(consumer(empty), name=f"consumer-{i}")
    asyncio.create_task(consumer(lifo), name="lifo-consumer")
    asyncio.create_task(consumer(prio), name="prio-consumer")
    # The pipeline: the feeder fills `second` through the stage, which then blocks on put.
    asyncio.create_task(stage(first, second), name="stage")
    for i in range(3):
        first.put_nowait(i)
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
