# Scenario: tasks whose coroutines hold arguments and locals of many kinds, each waiting for a
# known deadline — asyncio.sleep, asyncio.timeout() without and with `as`, wait_for — or for
# none (an Event), and two tasks with the same name. Once every task has reached its final
# await, a loop callback writes to the JSON file named by argv[1], for each task: its name, id(),
# the variables of its coroutine frames innermost first (name and repr() of each, from the
# frames' own f_locals), and the loop time it is due to wake at (null for none); then prints
# READY. Nothing changes afterwards.
import asyncio, dataclasses, enum, json, os, signal, sys
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Plain:
    pass


DUE = {}  # task name -> loop time it is due to wake at


async def fetch(url, attempt=1, *args, timeout=2.5, **extra):
    item = {'id': 42, 'name': 'Ada', 'tags': ('a', 'b')}
    text = 'zażółć 😀 "quoted" \n'
    blob = b'\x00\xffbytes'
    numbers = [1, 2.5, -3, 10**30, None, True]
    point = Point(1, 2.0)
    color = Color.RED
    obj = Plain()
    empty = set()
    DUE[asyncio.current_task().get_name()] = asyncio.get_running_loop().time() + 1000 + attempt
    await asyncio.sleep(1000 + attempt)


async def guarded(limit, delay):
    DUE[asyncio.current_task().get_name()] = asyncio.get_running_loop().time() + limit
    async with asyncio.timeout(limit):
        await asyncio.sleep(delay)


async def guarded_as(limit, delay):
    DUE[asyncio.current_task().get_name()] = asyncio.get_running_loop().time() + limit
    async with asyncio.timeout(limit) as cm:
        await asyncio.sleep(delay)


async def waiting(limit, delay):
    DUE[asyncio.current_task().get_name()] = asyncio.get_running_loop().time() + limit
    await asyncio.wait_for(asyncio.sleep(delay), limit)


async def idle(event, n):
    await event.wait()


def frames_of(task):
    """The task's coroutine frames, innermost first, as the awaits chain them."""
    frames = []
    coro = task.get_coro()
    while coro is not None and getattr(coro, 'cr_frame', None) is not None:
        frames.append(coro.cr_frame)
        coro = getattr(coro, 'cr_await', None)
    return frames[::-1]


class Untouched:
    """A class nothing looks an attribute up on: CPython has not given it a version tag."""


def type_versions():
    """tp_version_tag of a few classes, for the reader's check of its offset (CPython's test
    module reads it; builds without it have none to give)."""
    try:
        import _testcapi
    except ImportError:
        return []
    return [[id(c), _testcapi.type_get_version(c)] for c in
            (Point, Color, Plain, Untouched, asyncio.Future, asyncio.TimerHandle, int, dict)]


def report(path, tasks):
    out = []
    for t in tasks:
        frames = [{'function': f.f_code.co_qualname,
                   'vars': [[name, repr(value)] for name, value in f.f_locals.items()]}
                  for f in frames_of(t)]
        out.append({'name': t.get_name(), 'id': id(t), 'frames': frames, 'due': DUE.get(t.get_name())})
    with open(path, 'w') as f:
        json.dump({'tasks': out, 'type_versions': type_versions()}, f)
    print("READY", os.getpid(), flush=True)


async def main():
    event = asyncio.Event()
    tasks = [
        asyncio.create_task(fetch('https://example.com/a', 2, 'x', 'y', timeout=1.5, retries=3), name='fetch-a'),
        asyncio.create_task(fetch('https://example.com/b'), name='fetch-b'),
        asyncio.create_task(guarded(500, 2000), name='guarded'),
        asyncio.create_task(guarded_as(600, 2000), name='guarded-as'),
        asyncio.create_task(waiting(700, 2000), name='wait-for'),
        asyncio.create_task(idle(event, 1), name='twin'),
        asyncio.create_task(idle(event, 2), name='twin'),
    ]
    # Once every task has reached its await: a callback after they all ran.
    asyncio.get_running_loop().call_later(0.2, report, sys.argv[1], tasks)
    await event.wait()


asyncio.run(main())
