# Scenario: eager tasks. With eager_task_factory a task runs its first step inside create_task:
# one that finishes there is never listed, one that suspends is listed like any other task.
# Covers eager TaskGroup children, eager gather children, an eager Task subclass, eager_start=True
# on a lazy loop, and eager and lazy tasks awaiting each other.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def nap():
    await asyncio.sleep(3600)


async def done_at_once():
    return 1


async def parent_group():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(nap(), name="eager-child-1")
        tg.create_task(done_at_once(), name="eager-child-done")
        tg.create_task(nap(), name="eager-child-2")


async def parent_gather():
    await asyncio.gather(nap(), done_at_once(), nap())


async def awaits(task):
    await task


class CustomTask(asyncio.Task):
    pass


async def main():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    asyncio.create_task(nap(), name="eager-suspended")
    asyncio.create_task(done_at_once(), name="eager-finished")
    asyncio.create_task(parent_group(), name="eager-group")
    asyncio.create_task(parent_gather(), name="eager-gather")
    lazy_target = asyncio.Task(nap(), name="lazy-target")
    asyncio.create_task(awaits(lazy_target), name="eager-awaits-lazy")

    loop.set_task_factory(asyncio.create_eager_task_factory(CustomTask))
    asyncio.create_task(nap(), name="custom-eager")
    asyncio.create_task(done_at_once(), name="custom-eager-finished")

    loop.set_task_factory(None)
    eager_target = asyncio.create_task(nap(), name="eager-start", eager_start=True)
    asyncio.create_task(done_at_once(), name="eager-start-finished", eager_start=True)
    asyncio.create_task(awaits(eager_target), name="lazy-awaits-eager")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
