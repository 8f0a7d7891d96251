# Scenario: tasks suspended inside async generators, reached through every way of driving one:
# async for (plain and nested), anext(), asend(), athrow(), aclose() and an async comprehension.
# The chain of an asend/athrow wrapper continues into the generator's own frame.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def ticker():
    while True:
        await asyncio.sleep(3600)
        yield 1


async def outer_ticker():
    async for x in ticker():
        yield x


async def consume(gen):
    async for _ in gen:
        pass


async def comprehension():
    return [x async for x in ticker()]


async def catcher():
    try:
        yield 1
    except ValueError:
        await asyncio.sleep(3600)
    yield 2


async def closer():
    try:
        yield 1
    finally:
        await asyncio.sleep(3600)


async def in_group():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(consume(ticker()), name="group-async-for")


# Generators are kept alive here so that the loop's finaliser hook never runs on them.
keep = []


async def main():
    asyncio.create_task(consume(ticker()), name="async-for")
    asyncio.create_task(consume(outer_ticker()), name="nested-async-for")
    keep.append(ticker())
    asyncio.create_task(anext(keep[-1]), name="anext")
    keep.append(ticker())
    asyncio.create_task(keep[-1].asend(None), name="asend")
    keep.append(catcher())
    await anext(keep[-1])
    asyncio.create_task(keep[-1].athrow(ValueError()), name="athrow")
    keep.append(closer())
    await anext(keep[-1])
    asyncio.create_task(keep[-1].aclose(), name="aclose")
    asyncio.create_task(comprehension(), name="comprehension")
    asyncio.create_task(in_group(), name="group")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
