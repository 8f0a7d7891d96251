# Scenario: tasks whose coroutines hold arguments and locals with known values, for reading them
# with a snapshot and on demand. "mover" leaves the frame it waits in about a second after READY.
import asyncio, os, signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def fetch(url, attempt=1, *, timeout=2.5):
    item = {'id': 42, 'name': 'Ada'}
    tags = ('a', 'b')
    await asyncio.sleep(10_000)
    return item, tags


async def mover(step):
    await asyncio.sleep(1)
    step += 1
    await asyncio.sleep(10_000)


async def main():
    asyncio.create_task(fetch('https://example.com/a', attempt=2), name='fetch-a')
    asyncio.create_task(fetch('https://example.com/b'), name='fetch-b')
    asyncio.create_task(mover(0), name='mover')
    await asyncio.sleep(0.1)
    print("READY", os.getpid(), flush=True)
    await asyncio.sleep(10_000)


asyncio.run(main())
