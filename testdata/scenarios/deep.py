# Scenario: one task whose coroutine chain is N+2 frames deep - N+1 chain() frames and
# asyncio.sleep (usage: deep.py N) - for the coroutine-chain limits and deep trees.
import sys, asyncio, os
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour
N = int(sys.argv[1])
sys.setrecursionlimit(N * 2 + 100)
async def chain(n):
    if n <= 0:
        await asyncio.sleep(10_000)
        return
    await chain(n - 1)
async def main():
    task = asyncio.create_task(chain(N), name="deep")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await task
asyncio.run(main())
