# Scenario: asyncio tasks whose frames hold values a debugger shows — arguments, locals of many
# kinds, objects with attributes, a dict of 100,000 items, thirty variables — and a task that
# leaves its frame on request.
#
# Usage: dapvalues.py [--json PATH] [--sleepers N] [--move-file PATH]
#   --json       once every task waits, write for each task below its frame's variables (name,
#                kind, repr() as the target prints them) and what expressions give when Python
#                evaluates them in that frame (repr() of the result, or the exception's name)
#   --sleepers   N more tasks that only sleep (for measuring a large target)
#   --move-file  "mover" leaves the frame it waits in once this file exists (never without it)
import asyncio, json, os, signal, sys
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

LIMIT = 7
GREETING = 'hello from the module'


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y
        self.tags = ['p', 'q']

    def norm(self):
        return abs(self.x) + abs(self.y)


class Slotted:
    __slots__ = ('a', 'b')

    def __init__(self):
        self.a = 'slot a'
        self.b = [1, 2]


class Custom:
    def __repr__(self):
        return 'custom repr runs code'


class Sized:
    def __len__(self):
        return 3

    def __getitem__(self, key):
        return key


async def handle(request, user_id, retries=3, *args, timeout=2.5, **extra):
    point = Point(1, -2)
    slotted = Slotted()
    nested = {'list': [1, [2, 3]], 'tuple': (4, 5), 'str': 'x', 7: 'seven', -1: 'minus one', 'it\'s': "q\"uote"}
    items = [10, 20, 30]
    label = point.tags[-1]
    text = 'héllo wörld'
    empty = []
    custom = Custom()
    sized = Sized()
    error = ValueError('bad value', 42)
    big = {i: str(i) for i in range(100_000)}
    await asyncio.sleep(10_000)
    return point, slotted, nested, items, label, text, empty, custom, sized, error, big


async def thirty(a0, a1, a2, a3, a4):
    l5, l6, l7, l8, l9 = 5, 'six', 7.5, [8], {'nine': 9}
    l10, l11, l12, l13, l14 = (10,), None, True, b'13', 14 ** 20
    l15, l16, l17, l18, l19 = 'x' * 15, -16, 17.25, [18] * 3, {19}
    l20, l21, l22, l23, l24 = 20, '21', 22.0, [22, 23], {'24': 24}
    l25, l26, l27, l28, l29 = 25, 'twenty-six', 2.7, [28], {'k': 29}
    await asyncio.sleep(10_000)
    return locals()


async def mover(step, path):
    while path is None or not os.path.exists(path):
        await asyncio.sleep(0.02)
    step += 1
    await asyncio.sleep(10_000)


async def sleeper():
    await asyncio.sleep(10_000)


# What --json evaluates in each frame, for the tests to compare with what aioscope reads.
EXPRESSIONS = {
    'handler': [
        'request', 'user_id', 'retries', 'args', 'timeout', 'extra', 'point', 'point.x', 'point.y',
        'point.tags', 'point.tags[1]', 'point.tags[-1]', '(point).y', 'slotted.a', 'slotted.b[0]',
        'nested', "nested['list']", "nested['list'][1][0]", 'nested["tuple"][-2]', 'nested[7]',
        'nested[-1]', "nested['it\\'s']", 'items[0]', 'items[-1]', 'len(items)', 'len(nested)',
        'len(text)', 'len(big)', 'len(empty)', 'big[99999]', 'big[0]', 'text', 'LIMIT', 'GREETING',
        'len', 'Point', 'request["path"]', 'extra["flag"]', 'args[0]', 'len(args)', 'error.args',
        'error.args[1]',
        # Errors: Python's exception names.
        'no_such_name', 'point.nope', 'items[3]', 'items[-4]', "nested['absent']", 'nested[8]',
        'empty[0]', 'text.nope', 'len(point)', 'items["a"]', 'LIMIT[0]', 'len(LIMIT)',
    ],
    'thirty': ['a0', 'a4', 'l9', 'l29', "l24['24']", 'len(l18)'],
}


def frame_facts(coro, exprs):
    frame = coro.cr_frame
    code = frame.f_code
    f_locals = dict(frame.f_locals)
    nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
    variables = []
    for i, name in enumerate(code.co_varnames):
        if name in f_locals:
            variables.append([name, 'argument' if i < nargs else 'local', repr(f_locals[name])])
    evals = []
    for e in exprs:
        try:
            evals.append([e, 'ok', repr(eval(e, frame.f_globals, f_locals))])
        except Exception as err:
            evals.append([e, 'error', type(err).__name__])
    return {'function': code.co_qualname, 'line': frame.f_lineno, 'vars': variables, 'evals': evals}


def option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


async def main():
    tasks = {
        'handler': asyncio.create_task(
            handle({'path': '/users/42'}, 42, 5, 'first extra', timeout=1.5, flag=True), name='handler'),
        'thirty': asyncio.create_task(thirty(0, 'one', 2.0, [3], {'four': 4}), name='thirty'),
        'mover': asyncio.create_task(mover(0, option('--move-file')), name='mover'),
    }
    for _ in range(int(option('--sleepers', '0'))):
        asyncio.create_task(sleeper())

    def ready():
        path = option('--json')
        if path is not None:
            doc = {name: frame_facts(t.get_coro(), EXPRESSIONS.get(name, [])) for name, t in tasks.items()}
            with open(path, 'w') as out:
                json.dump(doc, out)
        print("READY", os.getpid(), flush=True)

    # READY comes from a loop callback, once every task has reached the await it stays in.
    asyncio.get_running_loop().call_later(0.2, ready)
    await asyncio.gather(*tasks.values())


asyncio.run(main())
