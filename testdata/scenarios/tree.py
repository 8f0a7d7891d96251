# Scenario: nested TaskGroups + gather, like test_tools / test_external_inspection "global awaited_by".
import asyncio, os, sys
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

async def deep():
    await asyncio.sleep(10_000)

async def c1():
    await deep()

async def c2(tg_name):
    async with asyncio.TaskGroup() as tg:
        tg.create_task(c1(), name=tg_name + "-leaf-1")
        tg.create_task(c1(), name=tg_name + "-leaf-2")

async def gather_part():
    await asyncio.gather(c1(), c1())

async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(c2("A"), name="Task-A")
        tg.create_task(c2("B"), name="Task-B")
        tg.create_task(gather_part(), name="gatherer")
        tg.create_task(deep(), name="tâche-ünïcode")
        tg.create_task(deep(), name="emoji-😀")
        tg.create_task(deep())  # auto name Task-N
        # READY comes from a loop callback, once this task has reached its final await (in
        # TaskGroup.__aexit__): the tool may read the process as soon as READY appears, and
        # nothing changes from then on.
        asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))

asyncio.run(main())
