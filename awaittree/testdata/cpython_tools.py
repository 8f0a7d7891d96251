"""Runs CPython's own asyncio tools (Lib/asyncio/tools.py) on task lists given as JSON, so the Go
port in this package can be compared with the real thing. Run it with the interpreter whose tools
are the reference (python3.14 or python3.15).

Task JSON (the shape of snapshot.Task, innermost frame first):
    {"id": int, "name": str, "tid": int, "frames": [FRAME], "awaited_by": [{"id": int, "frames": [FRAME]}]}
    FRAME = {"func": str, "file": str, "line": int or null}
Consecutive tasks with the same tid form one AwaitedInfo, which is how get_all_awaited_by()
groups them.

Commands:
  oracle              stdin: {"cases": [[TASK...]...]}; stdout: one result object per case
                      (see run_tools).
  golden TEST_TOOLS   stdout: every input that CPython's Lib/test/test_asyncio/test_tools.py
                      passes to build_async_tree/build_task_table, with the real results.
                      The test file comes from Debian's libpython3.1x-testsuite package.
  setorder            stdin: [[int...]...]; stdout: for each list, list(s) after s = set() and
                      s.add(x) for every x in order.
  setorder-fixture    stdout: a fixed batch of add sequences with their real iteration orders.
"""

import contextlib
import importlib.util
import io
import json
import random
import sys
import unittest

import _remote_debugging as rd
from asyncio import tools

VERSION = sys.version_info[:2]


# --- JSON -> the structures get_all_awaited_by() returns ----------------------------------------

def make_frame(f):
    line = f["line"]
    if VERSION >= (3, 15):
        loc = None if line is None else rd.LocationInfo((line, None, None, None))
        return rd.FrameInfo((f["file"], loc, f["func"], None))
    return rd.FrameInfo((f["file"], line, f["func"]))


def make_result(tasks):
    result = []
    for t in tasks:
        info = rd.TaskInfo((
            t["id"],
            t["name"],
            [rd.CoroInfo(([make_frame(f) for f in t["frames"]], t["id"]))],
            [rd.CoroInfo(([make_frame(f) for f in a["frames"]], a["id"])) for a in t["awaited_by"]],
        ))
        if result and result[-1][0] == t["tid"]:
            result[-1][1].append(info)
        else:
            result.append((t["tid"], [info]))
    return [rd.AwaitedInfo((tid, infos)) for tid, infos in result]


# --- the structures -> JSON ------------------------------------------------------------------------

class Unrepresentable(Exception):
    pass


def frame_json(f):
    if isinstance(f, str):
        raise Unrepresentable("frame given as a string")
    if VERSION >= (3, 15):
        if f.location is None:
            line = None
        else:
            line = f.location.lineno
            if line is None:
                raise Unrepresentable("location without a line number")
    else:
        line = f.lineno
    if line is not None and not isinstance(line, int):
        raise Unrepresentable("non-int line")
    return {"func": str(f.funcname), "file": str(f.filename), "line": line}


def result_json(result):
    tasks = []
    for ai in result:
        for ti in ai.awaited_by:
            if len(ti.coroutine_stack) > 1:
                raise Unrepresentable("several CoroInfo in coroutine_stack")
            name = ti.task_name
            if name is None:
                name = "None"  # what f"{name}" prints; ps then fails, see run_tools
            elif not isinstance(name, str):
                raise Unrepresentable("non-str task name")
            frames = [frame_json(f) for c in ti.coroutine_stack for f in c.call_stack]
            awaiters = []
            for c in ti.awaited_by:
                if not isinstance(c.task_name, int):
                    raise Unrepresentable("awaiter id is not an int")
                awaiters.append({"id": c.task_name, "frames": [frame_json(f) for f in c.call_stack]})
            tasks.append({"id": ti.task_id, "name": name, "tid": ai.thread_id,
                          "frames": frames, "awaited_by": awaiters})
    return tasks


# --- running the tools ---------------------------------------------------------------------------

def capture(fn, result):
    """Runs a display_* function of tools on result; returns (stdout, stderr, exit code, error)."""
    saved = tools._get_awaited_by_tasks
    tools._get_awaited_by_tasks = lambda *a, **k: result
    out, err = io.StringIO(), io.StringIO()
    code, error = 0, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            fn(12345)
    except SystemExit as e:
        code = e.code
    except Exception as e:  # e.g. TypeError formatting a None task name
        code, error = None, f"{type(e).__name__}: {e}"
    finally:
        tools._get_awaited_by_tasks = saved
    return out.getvalue(), err.getvalue(), code, error


def run_tools(result):
    id2name, awaits, _ = tools._index(result)
    r = {"cycles": tools._find_cycles(tools._task_graph(awaits))}
    try:
        r["tree"] = tools.build_async_tree(result)
    except tools.CycleFoundException as e:
        r["tree"] = None
        assert e.cycles == r["cycles"]
    try:
        r["table"] = [[str(c) for c in row] for row in tools.build_task_table(result)]
    except Exception as e:
        r["table"] = None
    r["ps_stdout"], r["ps_stderr"], r["ps_exit"], r["ps_error"] = capture(
        tools.display_awaited_by_tasks_table, result)
    r["pstree_stdout"], r["pstree_stderr"], r["pstree_exit"], r["pstree_error"] = capture(
        tools.display_awaited_by_tasks_tree, result)
    return r


def cmd_oracle():
    req = json.load(sys.stdin)
    out = []
    for tasks in req["cases"]:
        try:
            out.append(run_tools(make_result(tasks)))
        except RecursionError:
            out.append({"recursion_error": True})
    json.dump(out, sys.stdout)


def cmd_golden(path):
    spec = importlib.util.spec_from_file_location("cpython_test_tools", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    calls = []
    real_tree, real_table = tools.build_async_tree, tools.build_task_table
    current = ["?"]

    def rec_tree(result, *args, **kwargs):
        calls.append((current[0], "build_async_tree", result, args, kwargs))
        return real_tree(result, *args, **kwargs)

    def rec_table(result):
        calls.append((current[0], "build_task_table", result, (), {}))
        return real_table(result)

    class Recorder(unittest.TextTestResult):
        def startTest(self, test):
            current[0] = test.id().split(".", 1)[1]
            super().startTest(test)

    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    tools.build_async_tree, tools.build_task_table = rec_tree, rec_table
    try:
        outcome = unittest.TextTestRunner(stream=io.StringIO(), resultclass=Recorder).run(suite)
    finally:
        tools.build_async_tree, tools.build_task_table = real_tree, real_table
    if not outcome.wasSuccessful():
        sys.exit(f"{path}: the test module itself fails with this interpreter")

    cases = []
    for test, func, result, args, kwargs in calls:
        case = {"test": test, "called": func, "python": "%d.%d" % VERSION}
        try:
            case["tasks"] = result_json(result)
        except Unrepresentable as e:
            case["skip"] = str(e)
            cases.append(case)
            continue
        real = run_tools(result)
        case.update(real)
        # The JSON form must give CPython the same answers as the test's own objects. A task
        # named None only makes ps fail, so ps is left out of the comparison then.
        again = run_tools(make_result(case["tasks"]))
        if real["ps_error"] is not None:
            for r in (real, again):
                for k in ("ps_stdout", "ps_stderr", "ps_exit", "ps_error"):
                    r.pop(k)
        if again != real:
            case = {"test": test, "called": func, "skip": "JSON form is not equivalent"}
        elif func == "build_async_tree" and (args or kwargs):
            flags = dict(zip(("task_emoji", "cor_emoji"), args))
            flags.update(kwargs)
            case["task_flag"] = flags.get("task_emoji", "(T)")
            case["cor_flag"] = flags.get("cor_emoji", "")
            case["flagged_tree"] = real_tree(result, *args, **kwargs)
        cases.append(case)
    json.dump({"python": sys.version.split()[0], "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


def set_order(values):
    s = set()
    for v in values:
        s.add(v)
    return list(s)


def cmd_setorder():
    json.dump([set_order(v) for v in json.load(sys.stdin)], sys.stdout)


def cmd_setorder_fixture():
    rng = random.Random(20260514)
    p = 2**61 - 1
    seqs = []
    for n in list(range(0, 40)) + [50, 64, 100, 200, 500]:
        base = 0x7F0000000000 + rng.randrange(1 << 20) * 16
        seqs.append([base + 16 * k for k in range(n)])                       # task-like addresses
        seqs.append([base + 16 * rng.randrange(4 * n + 1) for _ in range(n)])  # with repeats
        seqs.append([rng.randrange(2**64) for _ in range(n)])                 # above 2**61-1
        seqs.append([rng.randrange(64) for _ in range(n)])                    # small, dense
        small = [rng.randrange(1 << 12) for _ in range(n)]
        seqs.append([x + p * rng.randrange(8) for x in small])               # equal hashes
    json.dump([{"add": s, "order": set_order(s)} for s in seqs], sys.stdout)
    sys.stdout.write("\n")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "oracle":
        cmd_oracle()
    elif cmd == "golden" and len(sys.argv) == 3:
        cmd_golden(sys.argv[2])
    elif cmd == "setorder":
        cmd_setorder()
    elif cmd == "setorder-fixture":
        cmd_setorder_fixture()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
