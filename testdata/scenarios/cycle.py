# Scenario: two tasks awaiting each other (cycle) -> pstree must report the cycle.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour
async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    async def a():
        await fut
    async def b():
        await fut
    ta = asyncio.create_task(a(), name="A")
    tb = asyncio.create_task(b(), name="B")
    await asyncio.sleep(0)
    asyncio.future_add_to_awaited_by(ta, tb)
    asyncio.future_add_to_awaited_by(tb, ta)
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(10_000)
asyncio.run(main())
