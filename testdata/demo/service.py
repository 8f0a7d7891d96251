# A small asyncio "service" for `make demo`: an HTTP-ish front end whose request handlers wait
# on a database pool, a cache refresher, and a worker pool draining a queue. It prints
# READY <pid> once every task is waiting, then idles (and exits by itself after an hour).
import asyncio
import os


class Pool:
    def __init__(self, size):
        self._sem = asyncio.Semaphore(size)

    async def query(self, sql):
        async with self._sem:
            await asyncio.sleep(3600)


async def fetch_user(db, user_id):
    return await db.query(f"select * from users where id = {user_id}")


async def fetch_orders(db, user_id):
    return await db.query(f"select * from orders where user = {user_id}")


async def handle_request(db, user_id):
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch_user(db, user_id), name=f"user-{user_id}")
        tg.create_task(fetch_orders(db, user_id), name=f"orders-{user_id}")


async def serve(db):
    async with asyncio.TaskGroup() as tg:
        for user_id in (17, 42):
            tg.create_task(handle_request(db, user_id), name=f"request-{user_id}")


async def refresh_cache():
    while True:
        await asyncio.sleep(3600)


async def worker(queue):
    while True:
        job = await queue.get()
        queue.task_done()


async def main():
    db = Pool(size=8)
    queue = asyncio.Queue()
    workers = [asyncio.create_task(worker(queue), name=f"worker-{i}") for i in range(2)]
    cache = asyncio.create_task(refresh_cache(), name="cache-refresher")
    server = asyncio.create_task(serve(db), name="http-server")
    await asyncio.sleep(0.2)
    print("READY", os.getpid(), flush=True)
    await asyncio.wait_for(asyncio.gather(server, cache, *workers), timeout=3600)


asyncio.run(main())
