# Scenario: a Python process that never imports asyncio. CPython 3.14 builds _asyncio as an
# extension module, so its AsyncioDebug section is not mapped and the tool reports an error;
# CPython 3.15 has it built in and prints an empty table.
import os, sys, time
import signal
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

assert "asyncio" not in sys.modules and "_asyncio" not in sys.modules
print("READY", os.getpid(), flush=True)
time.sleep(3600)
