# Scenario: asyncio objects that tasks wait on, each in a known state: events, locks,
# semaphores, a condition, queues, futures, tasks, timer handles and timeouts. Once every task
# has reached its final await, a loop callback writes to the JSON file named by argv[1] each
# object's id() with its repr() (as the values corpus does), the timers' delays, and the
# tasks' states, then prints READY. Nothing changes afterwards.
import asyncio, json, os, signal, sys
signal.alarm(3600)  # a target leaked by a crashed test run ends itself within an hour

ENTRIES = []
KEEP = []
TIMERS = []
TASKS = []


def add(group, value, exact=True):
    KEEP.append(value)
    ENTRIES.append({"group": group, "id": id(value), "repr": repr(value) if exact else object.__repr__(value),
                    "exact": exact})


def on_done(fut):
    pass


class Listener:
    def notify(self, fut):
        pass


async def wait_on(aw):
    await aw


async def catch_cancel(fut):
    try:
        await fut
    except asyncio.CancelledError:
        await asyncio.Event().wait()


async def sleeper(delay):
    await asyncio.sleep(delay)


async def in_timeout(holder, delay):
    async with asyncio.timeout(delay) as cm:
        holder.append(cm)
        await asyncio.Event().wait()


async def in_cond(cond):
    async with cond:
        await cond.wait()


async def quick():
    return 'done'


async def main():
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    ev_unset, ev_set = asyncio.Event(), asyncio.Event()
    ev_set.set()
    lock_held, lock_free = asyncio.Lock(), asyncio.Lock()
    await lock_held.acquire()
    sem0, sem2, bsem = asyncio.Semaphore(0), asyncio.Semaphore(2), asyncio.BoundedSemaphore(1)
    cond = asyncio.Condition()
    q_get, q_full, q_tasks, q_down = asyncio.Queue(2), asyncio.Queue(1), asyncio.Queue(), asyncio.Queue()
    q_full.put_nowait('item')
    for i in range(3):
        q_tasks.put_nowait(i)
    q_down.shutdown()
    pq, lq = asyncio.PriorityQueue(), asyncio.LifoQueue()
    for i in (3, 1, 2):
        pq.put_nowait(i)
        lq.put_nowait(str(i))

    f_pending, f_cbs, f_one = loop.create_future(), loop.create_future(), loop.create_future()
    listener = Listener()
    for cb in (on_done, listener.notify, on_done, lambda f: None):
        f_cbs.add_done_callback(cb)
    f_one.add_done_callback(listener.notify)
    results = []
    for r in (None, 12345, 'x' * 100, [1, 2, 3, 4, 5, 6, 7, 8], (1,), 'short', 10 ** 50, 2.5):
        f = loop.create_future()
        f.set_result(r)
        results.append(f)
    f_exc, f_cancel = loop.create_future(), loop.create_future()
    f_exc.set_exception(ValueError('boom'))
    f_exc.exception()
    f_cancel.cancel('why')

    holder, holder_none = [], []
    tasks = [
        asyncio.create_task(wait_on(f_pending), name='waiter'),
        asyncio.create_task(sleeper(1000)),
        asyncio.create_task(wait_on(ev_unset.wait()), name='ev1'),
        asyncio.create_task(wait_on(ev_unset.wait()), name='ev2'),
        asyncio.create_task(wait_on(lock_held.acquire()), name='lock1'),
        asyncio.create_task(wait_on(lock_held.acquire()), name='lock2'),
        asyncio.create_task(wait_on(sem0.acquire()), name='sem'),
        asyncio.create_task(wait_on(q_get.get()), name='get1'),
        asyncio.create_task(wait_on(q_get.get()), name='get2'),
        asyncio.create_task(wait_on(q_full.put('more')), name='put'),
        asyncio.create_task(in_cond(cond), name='cond'),
        asyncio.create_task(in_timeout(holder, 500), name='timeout'),
        asyncio.create_task(in_timeout(holder_none, None), name='timeout-none'),
        asyncio.create_task(catch_cancel(loop.create_future()), name='cancelling'),
        asyncio.create_task(quick(), name='finished'),
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    tasks[13].cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    h_timer = loop.call_later(2000, on_done, None)
    h_cancelled = loop.call_later(3000, listener.notify, None)
    h_cancelled.cancel()
    sleep_coro = tasks[1].get_coro().cr_await
    h_sleep = sleep_coro.cr_frame.f_locals['h']

    def dump():
        for v in (ev_unset, ev_set):
            add("event", v)
        for v in (lock_held, lock_free):
            add("lock", v)
        for v in (sem0, sem2, bsem):
            add("semaphore", v)
        add("condition", cond)
        for v in (q_get, q_full, q_tasks, q_down, pq, lq):
            add("queue", v)
        for v in [f_pending, f_cbs, f_one, f_exc, f_cancel] + results:
            add("future", v)
        for t in tasks + [main_task]:
            add("task", t)
            TASKS.append({"id": id(t), "name": repr(t.get_name()), "cancelling": t.cancelling(),
                          "state": ('cancelling' if t.cancelling() and not t.done() else t._state.lower()),
                          "wait_for": id(t._fut_waiter) if t._fut_waiter is not None else 0})
        for h, delay in ((h_timer, 2000), (h_sleep, 1000), (h_cancelled, 3000)):
            add("timer", h)
            TIMERS.append({"id": id(h), "when": h.when(), "now": loop.time()})
        for cm in holder + holder_none + [asyncio.timeout(7)]:
            add("timeout", cm)
            if cm.when() is not None:
                TIMERS.append({"id": id(cm), "when": cm.when(), "now": loop.time()})
        with open(sys.argv[1], 'w') as out:
            json.dump({"values": ENTRIES, "timers": TIMERS, "tasks": TASKS}, out)
        print("READY", os.getpid(), flush=True)

    loop.call_later(0.1, dump)
    await asyncio.Event().wait()


asyncio.run(main())
