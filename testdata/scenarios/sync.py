# Scenario: tasks blocked on asyncio synchronisation primitives (Lock, Semaphore, Event,
# Condition, Barrier) and on a bare Future. None of these registers an awaiter on a task, so
# every blocked task is a root whose stack ends in the primitive's wait method.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def hold(lock):
    async with lock:
        await asyncio.sleep(3600)


async def want(lock):
    async with lock:
        pass


async def wait_event(ev):
    await ev.wait()


async def wait_condition(cond):
    async with cond:
        await cond.wait()


async def barrier_party(barrier):
    await barrier.wait()


async def wait_future(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    sem = asyncio.Semaphore(2)
    bsem = asyncio.BoundedSemaphore(1)
    ev = asyncio.Event()
    cond = asyncio.Condition()
    barrier = asyncio.Barrier(3)
    fut = loop.create_future()

    asyncio.create_task(hold(lock), name="lock-holder")
    asyncio.create_task(want(lock), name="lock-waiter-1")
    asyncio.create_task(want(lock), name="lock-waiter-2")
    asyncio.create_task(hold(sem), name="sem-holder-1")
    asyncio.create_task(hold(sem), name="sem-holder-2")
    asyncio.create_task(want(sem), name="sem-waiter")
    asyncio.create_task(hold(bsem), name="bsem-holder")
    asyncio.create_task(want(bsem), name="bsem-waiter")
    asyncio.create_task(wait_event(ev), name="event-waiter-1")
    asyncio.create_task(wait_event(ev), name="event-waiter-2")
    asyncio.create_task(wait_condition(cond), name="cond-waiter")
    asyncio.create_task(barrier_party(barrier), name="barrier-1")
    asyncio.create_task(barrier_party(barrier), name="barrier-2")
    asyncio.create_task(wait_future(fut), name="future-waiter")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
