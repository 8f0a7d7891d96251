# Scenario: tasks that finish and start when told to. Each phase has three tasks named
# "phase-P-1" … "phase-P-3" waiting in wait_in_phase(); SIGUSR1 ends the phase's tasks and starts
# the next phase's, then prints "PHASE P". A test can so change the task set at a moment of its
# choosing and see which views follow.
import asyncio, os, signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


async def wait_in_phase(phase):
    await asyncio.sleep(10_000)


async def main():
    loop = asyncio.get_running_loop()
    state = {"phase": 1, "tasks": []}

    def start(phase):
        state["tasks"] = [asyncio.create_task(wait_in_phase(phase), name=f"phase-{phase}-{i}") for i in range(1, 4)]

    def next_phase():
        for t in state["tasks"]:
            t.cancel()
        state["phase"] += 1
        start(state["phase"])
        # Printed from a callback once the new tasks have reached their await.
        loop.call_later(0.2, lambda p=state["phase"]: print("PHASE", p, flush=True))

    start(1)
    loop.add_signal_handler(signal.SIGUSR1, next_phase)
    loop.call_later(0.2, lambda: print("READY", os.getpid(), flush=True))
    await asyncio.sleep(10_000)


asyncio.run(main())
