# Scenario: non-ASCII task names (Latin-1, Greek, CJK, emoji and other astral characters),
# function and class names (Latin-1, Latin Extended, Greek, astral) and a file name
# (unicodé/módulo.py). CPython 3.14's reader garbles every non-ASCII string it reads; the strings
# here are at most 16 code points (and the file name's non-ASCII characters lie in its last 16), so
# the garbage it reads is the string header, not undecodable character data. No non-ASCII name
# contains a space, so that each garbled string is one word of the output (see
# testtarget.CompareGarbled); longunicode.py has the names that break these rules.
import asyncio, os, sys
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

sys.dont_write_bytecode = True  # importing módulo must not leave a __pycache__ in the source tree
from unicodé import módulo


async def zażółć():
    await asyncio.sleep(3600)


async def λάμβδα():
    await zażółć()


async def 𐌀𐌁𐌂𐌃():
    await asyncio.sleep(3600)


async def café():
    await módulo.función()


class Ünïcode:
    async def méthode(self):
        await λάμβδα()


async def grupo():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(café(), name="niño-1")
        tg.create_task(𐌀𐌁𐌂𐌃(), name="ascii-child")


async def main():
    asyncio.create_task(zażółć(), name="café-crème")
    asyncio.create_task(λάμβδα(), name="λάμβδα-task")
    asyncio.create_task(𐌀𐌁𐌂𐌃(), name="🚀-launch")
    asyncio.create_task(Ünïcode().méthode(), name="𐌀𐌁𐌂𐌃")
    asyncio.create_task(módulo.Écrivain().écrire(), name="naïve-名前")
    asyncio.create_task(café(), name="ascii-name")
    asyncio.create_task(grupo(), name="Ünïcode-grupo")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
