# Scenario: the event loop of the main thread is frozen by a synchronous call. A task of a
# TaskGroup calls time.sleep() from inside nested coroutines while its siblings and other tasks
# are pending, so that task is caught in the middle of a step: its coroutine is executing, not
# suspended, and the inspector must still report it (and its awaiter) consistently.
import asyncio, os, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def nap():
    await asyncio.sleep(3600)


def block():
    print("READY", os.getpid(), flush=True)
    time.sleep(3600)


async def inner():
    await asyncio.sleep(0.2)
    block()


async def freezer():
    await inner()


async def main():
    asyncio.create_task(nap(), name="pending-outside")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(nap(), name="pending-1")
        tg.create_task(freezer(), name="freezer")
        tg.create_task(nap(), name="pending-2")


asyncio.run(main())
