# Scenario: suspended coroutines and a thread frame whose variables the value reader lists.
# Writes, to the JSON file named by argv[1], for each frame: how to find it (a coroutine's id(),
# or the address of a thread's _PyInterpreterFrame) and its variables as frame.f_locals has
# them, in slot order with their kind and repr(); then some names resolved as code in the frame
# would resolve them. Prints READY and keeps everything alive and unchanged.
import ctypes, json, os, signal, sys
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

GLOBAL_MARKER = 'module-global-value'


class Suspend:
    def __await__(self):
        yield 'suspended'


def make(captured_by_closure):
    async def handler(request, user_id, /, retries=3, *args, timeout=None, **kw):
        url = '/api/users/%d' % user_id
        items = [request, retries]
        gone = 'deleted'
        del gone
        squares = [n * n for n in range(3)]  # n is an inlined comprehension's hidden slot

        def inner():
            return url, retries, captured_by_closure
        await Suspend()
        return inner, items, squares, args, kw, timeout
    return handler


async def never_started(a, b='bee', *, c=None):
    x = a
    await Suspend()
    return x


async def thirty(a0, a1, a2, a3, a4):
    l5, l6, l7, l8, l9 = 5, 'six', 7.5, [8], {'nine': 9}
    l10, l11, l12, l13, l14 = (10,), None, True, b'13', 14 ** 20
    l15, l16, l17, l18, l19 = 'x' * 15, -16, 17.25, [18] * 3, {19}
    l20, l21, l22, l23, l24 = 20, '21', 22.0, [22, 23], {'24': 24}
    l25, l26, l27, l28, l29 = 25, 'twenty-six', 2.7, [28], {'k': 29}
    await Suspend()
    return locals()


async def big_local():
    table = {i: str(i) for i in range(100000)}
    await Suspend()
    return table


def suspended(coro):
    coro.send(None)
    return coro


KEEP = []
FRAMES = []
# For the benchmark of a first page of a long list.
LONG_LIST = ['item-%d' % i if i % 2 else i for i in range(10000)]


def expected(code, f_locals):
    """f_locals in slot order, with each variable's kind."""
    nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
    names = list(code.co_varnames) + [c for c in code.co_cellvars if c not in code.co_varnames] + list(code.co_freevars)
    out = []
    for i, n in enumerate(names):
        if n not in f_locals:
            continue
        if i < nargs:
            kind = 'argument'
        elif n in code.co_varnames:
            kind = 'local'
        elif n in code.co_freevars:
            kind = 'free'
        else:
            kind = 'cell'
        out.append([n, kind, repr(f_locals[n])])
    return out


def lookups(f_locals, names):
    out = []
    for n in names:
        if n in f_locals:
            out.append([n, 'local', repr(f_locals[n])])
        elif n in globals():
            out.append([n, 'global', repr(globals()[n])])
        elif hasattr(__builtins__, n):
            out.append([n, 'builtin', repr(getattr(__builtins__, n))])
    return out


def add_coro(what, coro, names=()):
    KEEP.append(coro)
    fl = dict(coro.cr_frame.f_locals)
    FRAMES.append({"what": what, "coro": id(coro), "vars": expected(coro.cr_code, fl),
                   "lookups": lookups(fl, names), "missing": ["no_such_name"]})


add_coro("handler", suspended(make(('closure', 1))({'path': '/x'}, 42, 5, 'extra', timeout=2.5, flag=True)),
         ["url", "GLOBAL_MARKER", "len", "retries", "Suspend"])
add_coro("created", never_started(10))
add_coro("thirty", suspended(thirty(0, 'one', 2.0, [3], {'four': 4})))
async def finishes():
    return 1


fin = finishes()
try:
    fin.send(None)
except StopIteration:
    pass
KEEP.append(fin)
FRAMES.append({"what": "finished", "coro": id(fin)})
big = suspended(big_local())
KEEP.append(big)
FRAMES.append({"what": "big", "coro": id(big), "len": 100000})


def dump(path):
    with open(path, 'w') as out:
        json.dump({"frames": FRAMES, "long_list": id(LONG_LIST)}, out)
    print("READY", os.getpid(), flush=True)


def wait_forever(path):
    here = 'thread frame'
    number = 12345
    frame = sys._getframe()
    # PyFrameObject.f_frame: the _PyInterpreterFrame the frame object stands for.
    iframe = ctypes.c_uint64.from_address(id(frame) + 24).value
    fl = {k: v for k, v in frame.f_locals.items()}
    # The frame object's repr is not one the reader reproduces, and iframe and fl change below.
    for n in ('frame', 'iframe'):
        fl.pop(n)
    FRAMES.append({"what": "thread", "iframe": iframe, "vars": expected(frame.f_code, fl),
                   "skip": ["frame", "iframe", "fl", "n"], "lookups": lookups(fl, ["here", "GLOBAL_MARKER"])})
    iframe = fl = None
    dump(path)
    while True:
        signal.pause()


wait_forever(sys.argv[1])
