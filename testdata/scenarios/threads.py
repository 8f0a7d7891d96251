# Scenario: event loops in 2 extra threads (each with own tasks) + main thread loop;
# plus a thread that ran a loop and exited leaving a pending task (-> interpreter-level list).
import asyncio, os, threading, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

async def sleeper():
    await asyncio.sleep(10_000)

def run_loop(tag, ready):
    async def main():
        for i in range(2):
            asyncio.create_task(sleeper(), name=f"{tag}-t{i}")
        await asyncio.sleep(0)
        # Signalled from a callback, once this task is parked at its final await.
        asyncio.get_running_loop().call_soon(ready.set)
        await asyncio.sleep(10_000)
    asyncio.run(main())

leaked = []
def dead_thread():
    loop = asyncio.new_event_loop()
    async def main():
        leaked.append(asyncio.create_task(sleeper(), name="orphan-from-dead-thread"))
        await asyncio.sleep(0)
    loop.run_until_complete(main())
    # loop not closed, task still pending; thread exits
    leaked.append(loop)

async def amain():
    # One thread at a time, so that the auto-generated names (Task-2, Task-3, Task-4 from one
    # counter shared by all threads) always go to the same tasks.
    for tag in ("thrA", "thrB"):
        ev = threading.Event()
        threading.Thread(target=run_loop, args=(tag, ev), daemon=True).start()
        ev.wait()
    t = threading.Thread(target=dead_thread); t.start(); t.join()
    asyncio.create_task(sleeper(), name="main-t0")
    # READY comes from a loop callback, once this task has reached its final await: the tool
    # may read the process as soon as READY appears, and nothing changes from then on.
    asyncio.get_running_loop().call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(10_000)

asyncio.run(amain())
