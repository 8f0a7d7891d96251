# Scenario: edge cases - async generators (asend/athrow), long names, oversized linetable,
# eager tasks, awaited_by sets incl. tombstones, generator-based coroutine, finished tasks,
# a Future-awaiting task, staggered_race, nested "await coro" chain.
import asyncio, os, types, sys
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour
from asyncio import staggered

async def agen():
    await asyncio.sleep(10_000)
    yield

async def agen_with_cleanup():
    try:
        yield
    finally:
        await asyncio.sleep(10_000)

async def consumer(gen):
    async for _ in gen:
        pass

@types.coroutine
def gen_based():
    yield from asyncio.sleep(10_000).__await__()

async def uses_gen_based():
    await gen_based()

src = "async def big_linetable():\n" + "    x = 1\n" * 1200 + "    await asyncio.sleep(10_000)\n"
ns = {"asyncio": asyncio}
exec(compile(src, "big_linetable.py", "exec"), ns)

async def chain(n):
    if n == 0:
        await asyncio.sleep(10_000)
    else:
        await chain(n - 1)

async def quick():
    return 1

async def main():
    loop = asyncio.get_running_loop()
    g = agen_with_cleanup()
    await anext(g)
    asyncio.create_task(consumer(agen()), name="async-for")
    asyncio.create_task(anext(agen()), name="anext")
    asyncio.create_task(g.aclose(), name="aclose")
    asyncio.create_task(asyncio.sleep(10_000), name="L" * 300)
    asyncio.create_task(ns["big_linetable"](), name="biglinetable")
    asyncio.create_task(uses_gen_based(), name="genbased")
    asyncio.create_task(chain(50), name="chain50")
    done = asyncio.create_task(quick(), name="finished")
    # eager task that suspends
    loop.set_task_factory(asyncio.eager_task_factory)
    asyncio.create_task(asyncio.sleep(10_000), name="eager-suspended")
    asyncio.create_task(quick(), name="eager-finished")
    loop.set_task_factory(None)
    # a task awaited by 3 tasks -> awaited_by is a set; then discard one (tombstone)
    shared = asyncio.create_task(asyncio.sleep(10_000), name="shared")
    async def waiter():
        await asyncio.shield(shared)
    ws = [asyncio.create_task(waiter(), name=f"waiter{i}") for i in range(3)]
    fut = loop.create_future()
    async def wait_future():
        await fut
    asyncio.create_task(wait_future(), name="awaits-future")
    async def racer(i):
        await asyncio.sleep(10_000)
    asyncio.create_task(staggered.staggered_race([lambda i=i: racer(i) for i in range(2)], delay=None), name="staggered")
    await asyncio.sleep(0.2)
    ws[0].cancel()
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.1, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(10_000)

asyncio.run(main())
