# Scenario: non-ASCII strings that CPython 3.14's reader cannot cope with: 300-character task
# names in Latin-1, Greek and emoji (truncated to 255 code points by the reader), a long non-ASCII
# function name, a file name with non-ASCII characters near its start, and non-ASCII names with
# spaces. CPython 3.15 reads them all correctly. CPython 3.14 decodes raw character data as UTF-8
# for the long strings and fails with UnicodeDecodeError, so its tool prints a traceback instead
# of a table.
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

FUNC = "ünïcödé_" * 5
FILE = "/tmp/éèê/" + "dossier/" * 3 + "fichier.py"
ns = {"asyncio": asyncio}
exec(compile(f"async def {FUNC}():\n    await asyncio.sleep(3600)\n", FILE, "exec"), ns)


async def nap():
    await asyncio.sleep(3600)


async def main():
    asyncio.create_task(nap(), name="é" * 300)
    asyncio.create_task(nap(), name="λ" * 300)
    asyncio.create_task(nap(), name="😀" * 300)
    asyncio.create_task(nap(), name="mixed-é-λ-😀-" * 30)
    asyncio.create_task(nap(), name="naïve 名前")
    asyncio.create_task(nap(), name="worker ünï")
    asyncio.create_task(ns[FUNC](), name="long-unicode-function")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
