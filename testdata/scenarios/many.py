# Scenario: N sleeping tasks created by main, main awaits gather of them.
import asyncio, os, sys
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour
N = int(sys.argv[1])
async def sleeper():
    await asyncio.sleep(10_000)
async def main():
    tasks = [asyncio.create_task(sleeper()) for _ in range(N)]
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.gather(*tasks)
asyncio.run(main())
