# Scenario: a corpus of values whose repr() the value reader must reproduce from memory.
# Writes, to the JSON file named by argv[1], each value's id() (its address) with what repr()
# returns for it, then prints READY and keeps every value alive and unchanged.
#
# Each entry: {"group", "id", "repr", "exact"}. "exact" entries must be rendered exactly; the
# others have a repr that runs code the reader cannot reproduce, and "repr" is then the
# default object repr the reader falls back to. Values whose repr() Python refuses or the reader
# cuts on purpose (huge ints, long strings) carry the text the reader's rules give.
import collections, dataclasses, enum, json, math, os, random, signal, struct, sys
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

MAX_STR = 1000  # the reader's default MaxStrLen
KEEP = []
ENTRIES = []


def add(group, value, want=None, exact=True):
    KEEP.append(value)
    if want is None:
        want = repr(value) if exact else object.__repr__(value)
    ENTRIES.append({"group": group, "id": id(value), "repr": want, "exact": exact})


def fresh_int(v):
    return int(str(v))  # a new object unless v is a cached small int


# ---- ints: edges, small-int cache boundaries, digit boundaries, random sizes
ints = [0, 1, -1, 5, -5, -6, 255, 256, 257, 1023, 1024, 1025, 2**30 - 1, 2**30, 2**30 + 1, -(2**30), 2**31,
        2**60, 2**60 - 1, 2**62, 2**63 - 1, 2**63, -(2**63), 2**64, 2**90, 10**19, 10**50, -(10**50), 2**100,
        10**4299, -(10**4299), 10**4300 - 1]
rnd = random.Random(5)
while len(ints) < 150:
    ints.append(rnd.getrandbits(rnd.choice((5, 20, 31, 62, 64, 65, 200, 2000))) * rnd.choice((1, -1)))
for v in ints:
    add("int", fresh_int(v))
sys.set_int_max_str_digits(0)
for v in (10**4300, -(10**4300), 10**5000 + 7, 7**9000):
    add("int", v, "<%sint of %d digits>" % ("negative " if v < 0 else "", len(str(abs(v)))))
for v in (2**600000, -(2**600000 + 1)):
    add("int", v, "<%sint of %d bits>" % ("negative " if v < 0 else "", abs(v).bit_length()))
sys.set_int_max_str_digits(4300)
add("int", True)
add("int", False)

# ---- floats
floats = [0.0, -0.0, 1.0, -1.5, 0.1, 0.1 + 0.2, 1 / 3, 1e16, 1e15, 9999999999999998.0, 1e22, 1e23, 1e-4, 1e-5, 1.5e-5,
          5e-324, 1e-323, 2.2250738585072014e-308, sys.float_info.max, -sys.float_info.max, math.inf, -math.inf,
          math.nan, -math.nan, 1658206780088562.25, 2.0**53, 2.0**60, 2.0**-1017, 123e-310, 4.35, 1e100, -2.5e-5,
          float(2**63), 12345678901234567890.0, 100.0, 0.5]
while len(floats) < 150:
    x = struct.unpack('<d', struct.pack('<Q', rnd.getrandbits(64)))[0]
    floats.append(x if rnd.random() < 0.5 else float('%de%d' % (rnd.randint(1, 10**rnd.randint(1, 17)), rnd.randint(-25, 25))))
for x in floats:
    add("float", float(x) * 1.0 if not math.isnan(x) else x)

# ---- str of every kind
strs = ['', 'plain', "it's", 'say "hi"', 'both \' and "', '\\', 'tab\there', 'nl\nx', 'cr\rx', '\x00\x01\x1f\x7f',
        '\x0b\x0c', 'caf\xe9', '\xa0\xad\xff', 'h\xe9llo w\xf6rld', '\u03bb\u2028\u200b\uffff', '\u4e2d\u6587',
        '\U0001f600', 'mix \U0001f600 \xe9 \u03bb', '\ud800', '\udfff lone', '\U000e0001\U0010ffff',
        ''.join(chr(c) for c in range(0x20)), ''.join(chr(c) for c in range(0x7f, 0xa1)),
        '\u0378\u0890\u1aff\ua7dc', "'" * 5 + '"', 'x' * 999, 'x' * 1000]
for s in strs:
    add("str", ''.join(list(s)) if s else s)  # fresh objects, not interned constants


class SubStr(str):
    pass


add("str", SubStr('sub \xe9 \U0001f600'))
for s in ('y' * 1001, 'long \u03bb ' * 20000, "q'" * 600 + '\U0001f600' * 600):
    add("str", s, repr(s[:MAX_STR]) + '... <%d chars>' % len(s))

# ---- bytes and bytearray
for b in (b'', b'bytes\x00\xff', b"q'", b'"', b'\'"', bytes(range(256)), b'\\\t\n\r'):
    add("bytes", bytes(bytearray(b)))
lb = bytes(range(256)) * 10
add("bytes", lb, repr(lb[:MAX_STR]) + '... <%d bytes>' % len(lb))
add("bytes", bytearray(b'xy\x00z'))
ba = bytearray(b'shifted'); del ba[0]
add("bytes", ba)

# ---- containers, nested and recursive


class SubList(list):
    pass


class SubTuple(tuple):
    pass


class SubDict(dict):
    pass


class SubSet(set):
    pass


class SubFrozen(frozenset):
    pass


class MyDeque(collections.deque):
    pass


lst = [1]
lst.append(lst)
dd = {}
dd['self'] = dd
tup = (lst,)
cross = {'l': [1]}
cross['l'].append(cross)
sset = {1, 'a', (2, 3), None}
sset.discard(1)
dq = collections.deque()
dq.append(dq)
deleted = {'a': 1, 'b': 2, 'c': 3}
del deleted['b']
deleted['d'] = 4
general = {1: 'x', (2, 3): 'y', 'z': None, 2.5: b'f', frozenset({1}): [1]}
del general[1]
long_deque = collections.deque(range(200), maxlen=300)
long_deque.rotate(70)
for v in ((), (1,), (1, 'a', None), [], [1, [2, [3, []]]], {}, {'a': 1, 2: [3]}, set(), {1}, frozenset(),
          frozenset({'x'}), lst, dd, tup, cross, sset, deleted, general, SubList([1, 2]), SubTuple((1,)),
          SubDict(a=1), SubSet({1}), SubSet(), SubFrozen({2}), collections.deque([1, 'x']),
          collections.deque(maxlen=3), collections.deque([1, 2], maxlen=5), MyDeque([1]), dq, long_deque,
          list(range(300)), {i: str(i) for i in range(200)}, set(range(100)),
          {'nested': {'deep': (1, 2.5, [b'x', frozenset({3})])}}, [[[[[[[[[[[1]]]]]]]]]]]):
    add("container", v)
if sys.version_info >= (3, 15):
    add("container", frozendict({'a': 1, 'b': [2]}))  # noqa: F821
    add("container", frozendict())  # noqa: F821

# ---- instances, slots, dataclasses, enums, exceptions


class Plain:
    def __init__(self):
        self.p = 1
        self.q = 'two'


class Many:
    pass


class Slots:
    __slots__ = ('b', 'a', '__weakref__')

    def __init__(self):
        self.a = 1


class Slots2(Slots):
    __slots__ = ('c',)


class SlotsDict(Slots):
    pass


class SubInt(int):
    pass


class CustomRepr:
    def __repr__(self):
        return 'custom!'


Nested = type('Inner', (), {'__qualname__': 'Outer.Inner', '__module__': 'pkg.mod'})
Weird = type('Weird', (), {'__module__': 'builtins'})
NotStr = type('NotStr', (), {'__module__': 42})

many = Many()
for i in range(40):
    setattr(many, 'a%d' % i, i)
replaced = Plain()
replaced.__dict__ = {'new': 1}
s2 = Slots2()
s2.c = 'see'
sd = SlotsDict()
sd.x = 5
si = SubInt(7)
si.attr = 'x'
for v in (Plain(), many, replaced, Slots(), s2, sd, si, Nested(), Weird(), NotStr(), object()):
    add("instance", v)
add("instance", CustomRepr(), exact=False)


class Color(enum.Enum):
    RED = 1
    BLUE = 'b'
    T = (1, 'x')


class Num(enum.IntEnum):
    ONE = 1


class SE(enum.StrEnum):
    A = 'a'


class Perm(enum.Flag):
    R = 1
    W = 2


class IPerm(enum.IntFlag):
    X = 1
    Y = 2


class FE(float, enum.Enum):
    PI = 3.5


class OwnRepr(enum.Enum):
    A = 1

    def __repr__(self):
        return 'mine'


for v in (Color.RED, Color.BLUE, Color.T, Num.ONE, SE.A, Perm.R, Perm.R | Perm.W, Perm(0), IPerm.X | IPerm.Y,
          IPerm(8), FE.PI):
    add("enum", v)
add("enum", OwnRepr.A, exact=False)


@dataclasses.dataclass
class Point:
    x: int
    y: float = 2.5


@dataclasses.dataclass
class Fields:
    x: int
    y: str = 'q'
    z: list = dataclasses.field(default_factory=list, repr=False)
    k: dataclasses.KW_ONLY
    w: tuple = (1,)
    cv: 'dataclasses.ClassVar[int]' = 3


@dataclasses.dataclass(slots=True)
class SlotPoint:
    a: int
    b: object = None


class SubPoint(Point):
    pass


@dataclasses.dataclass
class Rec:
    child: object = None


@dataclasses.dataclass
class UserRepr:
    x: int

    def __repr__(self):
        return 'user'


rec = Rec()
rec.child = rec
for v in (Point(1), Point(-3, float('nan')), Fields(1, w=(2,)), SlotPoint(5, [1]), SubPoint(2), rec,
          Fields('s', 'y', [1], w=None), [Point(0, 0.0)]):
    add("dataclass", v)
add("dataclass", UserRepr(1), exact=False)


class MyError(ValueError):
    pass


err = MyError('x')
err.note = 1
for v in (ValueError('boom'), KeyError('k'), ValueError(), ValueError(1, 2), MyError('x'), err, RuntimeError([1, 2]),
          StopIteration(None)):
    add("exception", v)

# ---- other built-in objects


def outer():
    captured = 5

    def inner():
        return captured
    return inner


fn = outer()


async def coro_fn():
    pass


coro = coro_fn()
gen = (i for i in range(3))
for v in (fn, outer, fn.__closure__[0], fn.__code__, len, [].append, dict.fromkeys, int, Plain, Nested, Color,
          collections.deque, coro, gen, None, Ellipsis, NotImplemented, sys, os, json, collections, enum,
          sys.modules['__main__']):
    add("builtin", v, exact=not isinstance(v, enum.EnumType))

# ---- a dict of 100,000 items, for paging
big = {'k%06d' % i: i * 3 for i in range(100000)}
KEEP.append(big)
items = list(big.items())
pages = []
for start in (0, 50000, 99995):
    pages.append([start, [[repr(k), repr(v)] for k, v in items[start:start + 10]]])
bigdel = {i: i for i in range(1000)}
for i in range(0, 1000, 3):
    del bigdel[i]
KEEP.append(bigdel)
delitems = list(bigdel.items())

with open(sys.argv[1], 'w') as out:
    json.dump({"values": ENTRIES,
               "bigdict": {"id": id(big), "len": len(big), "pages": pages},
               "deldict": {"id": id(bigdel), "len": len(bigdel),
                           "page": [500, [[repr(k), repr(v)] for k, v in delitems[500:520]]]}}, out)
print("READY", os.getpid(), flush=True)
signal.pause()
