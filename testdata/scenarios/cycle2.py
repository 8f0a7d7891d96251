# Scenario: two separate await cycles (A <-> B and C -> D -> E -> C) plus a task that awaits
# itself, next to an ordinary task. pstree must list all three cycles; ps prints every row.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def stuck():
        await fut

    async def nap():
        await asyncio.sleep(3600)

    t = {name: asyncio.create_task(stuck(), name=name) for name in "ABCDES"}
    asyncio.create_task(nap(), name="bystander")
    await asyncio.sleep(0)
    links = [("A", "B"), ("B", "A"), ("C", "D"), ("D", "E"), ("E", "C"), ("S", "S")]
    for awaited, awaiter in links:
        asyncio.future_add_to_awaited_by(t[awaited], t[awaiter])
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
