# Scenario: awkward ASCII strings. Task names that are empty, exactly fill or overflow the ps
# name column, lie on both sides of the 255-character limit of the task-name reader, or contain
# spaces, tabs, a newline, " -> ", format characters and backslashes; a name that is not a str;
# a 1100-character function name and a 1500-character file name (both beyond the 1024-character
# limit of the frame reader).
import asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

LONG_FUNC = "f" * 1100
LONG_FILE = "/" + "d" * 1500 + ".py"
ns = {"asyncio": asyncio}
exec(compile(f"async def {LONG_FUNC}():\n    await asyncio.sleep(3600)\n", LONG_FILE, "exec"), ns)


async def nap():
    await asyncio.sleep(3600)


async def main():
    names = [
        "",
        "n" * 20,
        "n" * 21,
        "x" * 254,
        "y" * 255,
        "z" * 256,
        "L" * 300,
        "with spaces  and  more",
        "tab\there",
        "new\nline",
        "a -> b -> c",
        "%s %d {} {0} %%",
        "back\\slash",
        "Task-999",
        42,
    ]
    for name in names:
        asyncio.create_task(nap(), name=name)
    asyncio.create_task(ns[LONG_FUNC](), name="long-function")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(3600)


asyncio.run(main())
