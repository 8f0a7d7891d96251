# Scenario: tasks inside asyncio.timeout / timeout_at / wait_for / shield, plus asyncio.wait,
# as_completed and staggered_race with a delay (so several racers have started). wait_for on a
# coroutine runs it inline; wait_for on a task, shield and staggered_race register the waiting
# task as the awaiter of the inner task.
import asyncio, os
from asyncio import staggered
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def nap():
    await asyncio.sleep(3600)


async def in_timeout():
    async with asyncio.timeout(3600):
        await nap()


async def in_timeout_at():
    loop = asyncio.get_running_loop()
    async with asyncio.timeout_at(loop.time() + 3600):
        await nap()


async def wait_for_coro():
    await asyncio.wait_for(nap(), 3600)


async def wait_for_task(task):
    await asyncio.wait_for(task, 3600)


async def shielded(task):
    await asyncio.shield(task)


async def wait_first(tasks):
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)


async def first_completed(tasks):
    for next_done in asyncio.as_completed(tasks):
        await next_done


async def racer():
    await asyncio.sleep(3600)


async def race():
    await staggered.staggered_race([racer, racer, racer], delay=0.01)


async def main():
    asyncio.create_task(in_timeout(), name="timeout")
    asyncio.create_task(in_timeout_at(), name="timeout-at")
    asyncio.create_task(wait_for_coro(), name="wait-for-coro")
    target = asyncio.create_task(nap(), name="wait-for-target")
    asyncio.create_task(wait_for_task(target), name="wait-for-task")
    inner = asyncio.create_task(nap(), name="shield-inner")
    asyncio.create_task(shielded(inner), name="shield-outer")
    waited = [asyncio.create_task(nap(), name=f"wait-{i}") for i in range(2)]
    asyncio.create_task(wait_first(waited), name="wait-first")
    completing = [asyncio.create_task(nap(), name=f"ac-{i}") for i in range(2)]
    asyncio.create_task(first_completed(completing), name="as-completed")
    asyncio.create_task(race(), name="staggered")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
