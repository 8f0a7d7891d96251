# Scenario: a service whose few working tasks hide among thousands of identical ones. The main
# thread's event loop runs a pipeline (a producer, three stages, a consumer) beside N request
# handlers queued on one connection pool's lock, one of which holds it; a second thread,
# "keepalive", runs its own loop with M idle tasks, listed before the main thread's.
#
# Usage: service.py [N] [M] (default 9000 and 700). The pipeline keeps moving after READY; the
# handlers and idle tasks stay where they are.
import asyncio, os, sys, threading
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

N = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
M = int(sys.argv[2]) if len(sys.argv) > 2 else 700


class Pool:
    def __init__(self):
        self.lock = asyncio.Lock()

    async def request(self, i):
        async with self.lock:
            await asyncio.sleep(10_000)  # the lock holder


async def handle(pool, i):
    await pool.request(i)


async def produce(q):
    i = 0
    while True:
        await q.put(i)
        i += 1
        await asyncio.sleep(0.01)


async def stage(q_in, q_out):
    while True:
        item = await q_in.get()
        await q_out.put(item + 1)


async def consume(q):
    while True:
        await q.get()


def keepalive(ready):
    async def idle():
        await asyncio.sleep(10_000)

    async def main():
        for _ in range(M):
            asyncio.create_task(idle())
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(ready.set)
        await asyncio.sleep(10_000)

    asyncio.run(main())


async def main():
    ready = threading.Event()
    threading.Thread(target=keepalive, args=(ready,), name="keepalive", daemon=True).start()
    ready.wait()
    pool = Pool()
    queues = [asyncio.Queue(maxsize=4) for _ in range(4)]
    async with asyncio.TaskGroup() as tg:
        tg.create_task(produce(queues[0]), name="producer")
        for i in range(3):
            tg.create_task(stage(queues[i], queues[i + 1]), name=f"stage-{i}")
        tg.create_task(consume(queues[3]), name="consumer")
        for i in range(N):
            tg.create_task(handle(pool, i))
        # READY comes from a loop callback, once every handler has reached the lock.
        asyncio.get_running_loop().call_later(0.5, lambda: print("READY", os.getpid(), flush=True))


asyncio.run(main())
