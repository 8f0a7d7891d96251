"""Dumps decoding vectors from the running CPython into vectors_<version>.json.

Run with each provisioned interpreter (from the module root):

    .cache/sid/usr/bin/python3.14 cpython/testdata/dump_vectors.py cpython/testdata
    .cache/sid/usr/bin/python3.15 cpython/testdata/dump_vectors.py cpython/testdata

The vectors are what the Go decoders must agree with: each code object's co_linetable with the
co_positions() CPython itself derives from it, the raw bytes of str and int objects copied out
of the interpreter's memory with ctypes, and the values they hold.
"""
import asyncio.taskgroups
import asyncio.tasks
import ctypes
import json
import os
import subprocess
import sys
import types

TRICKY = '''
import os

def multi_line(a, b):
    total = (
        a
        + b
    )
    for i in range(
        a,
        b,
    ):
        while total > i:
            total -= (
                i
            )
    return [x
            for x in range(total)
            if x % 3]

async def nested_async(items):
    async with items as ctx:
        try:
            r = await ctx.fetch(1,
                                2)
        except (ValueError,
                TypeError) as exc:
            raise RuntimeError("boom") from exc
        finally:
            del ctx
    yield_value = lambda q: (q
                             + 1)
    return yield_value(r)

def far_columns():
    return some_really_long_function_name_number_one(argument_one, argument_two, argument_three)(some_really_long_function_name_number_two(argument_four))

def gen_and_class():
    class Inner:
        attr = [i for i in range(3)]
        def method(self):
            yield from range(10)
    return Inner



def short_columns(a, f):
    return [f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a), f(a)]

def far_below():
    return 1
'''


def big_source(lines):
    body = "".join(f"    v{i} = {i}\n" for i in range(lines))
    return "def big():\n" + body + "    return v0\n"


def iter_code(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from iter_code(c)


def positions_rle(code):
    out = []
    for pos in code.co_positions():
        p = [-1 if v is None else v for v in pos]
        if out and out[-1][1:] == p:
            out[-1][0] += 1
        else:
            out.append([1] + p)
    return out


def code_vector(label, code):
    units = len(code.co_code) // 2
    pos = positions_rle(code)
    assert sum(r[0] for r in pos) == units, (label, units)
    return {
        "label": label,
        "qualname": code.co_qualname,
        "firstlineno": code.co_firstlineno,
        "linetable": code.co_linetable.hex(),
        "code_units": units,
        "positions": pos,
    }


def linetable_vectors():
    vecs = []
    for fn, label in ((asyncio.tasks.sleep, "asyncio.tasks.sleep"),
                      (asyncio.taskgroups.TaskGroup._aexit, "asyncio.taskgroups.TaskGroup._aexit")):
        vecs.append(code_vector(label, fn.__code__))
    for c in iter_code(compile(TRICKY, "tricky.py", "exec")):
        vecs.append(code_vector("tricky.py:" + c.co_qualname, c))
    big = compile(big_source(1200), "big.py", "exec").co_consts[0]
    assert len(big.co_linetable) > 4096
    vecs.append(code_vector("big.py:big", big))
    # Without debug ranges CPython writes NO_COLUMNS entries; only a fresh interpreter can do that.
    out = subprocess.run([sys.executable, "-X", "no_debug_ranges", __file__, "--no-debug-ranges"],
                         check=True, capture_output=True, text=True).stdout
    vecs.extend(json.loads(out))
    return vecs


def raw_object(obj):
    return ctypes.string_at(id(obj), sys.getsizeof(obj)).hex()


def string_vectors():
    # A str built at run time, so none of them is a shared static singleton.
    samples = ["abc", "", "tâche-ünïcode", "λάμβδα", "emoji-😀", "𐌀𐌁", "zażółć",
               "mixed-λ-𐌀", "x" * 300, "\ud800lone", "\udfff"]
    out = []
    for s in samples:
        s = "".join(list(s))
        expect = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)
        out.append({"expect": expect, "length": len(s), "raw": raw_object(s)})
    return out


def long_vectors():
    samples = [0, 1, -1, 5, 300, 2**30 - 1, 2**30, 2**62, -(2**62), 2**63 - 1, -(2**63),
               2**63, -(2**63) - 1, 2**64, 12345678901234567890123, -987654321]
    out = []
    for n in samples:
        n = int(str(n))  # a fresh object unless CPython hands out a cached small int
        fits = -(2**63) <= n < 2**63
        out.append({"value": str(n), "fits_int64": fits, "raw": raw_object(n)})
    return out


def main():
    if sys.argv[1:] == ["--no-debug-ranges"]:
        vecs = [code_vector("nodebugranges:" + c.co_qualname, c)
                for c in iter_code(compile(TRICKY, "tricky.py", "exec"))]
        json.dump(vecs, sys.stdout)
        return
    version = "%d.%d.%d" % sys.version_info[:3]
    doc = {
        "version": version,
        "hexversion": sys.hexversion,
        "linetables": linetable_vectors(),
        "strings": string_vectors(),
        "longs": long_vectors(),
    }
    path = os.path.join(sys.argv[1], f"vectors_{version}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
