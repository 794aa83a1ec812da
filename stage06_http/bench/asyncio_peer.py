"""asyncio_peer.py - the stage 2 benchmarks' three measurements, with asyncio.

Run by bench/loop.c (make stage2 bench), which reads these lines:

    python <version>
    switch_ns <ns per task switch>
    spawn_join_ns <ns per create_task + await>
    bytes_per_task <bytes per parked task> n=<how many were parked>

The counts are smaller than the C side's (asyncio is slower and a parked
task larger), so the whole run stays within a few seconds; per-item figures
do not depend much on the count.
"""
import asyncio
import gc
import os
import platform
import time

SWITCHES = 200_000     # two tasks, 100,000 sleep(0) each
SPAWN_JOINS = 100_000
PARKED = 100_000       # the C side parks 1,000,000; this is a tenth


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def pinger(n):
    for _ in range(n):
        await asyncio.sleep(0)  # asyncio's yield: one trip through the loop


async def switches(n):
    t0 = time.perf_counter()
    a = asyncio.create_task(pinger(n // 2))
    b = asyncio.create_task(pinger(n // 2))
    await a
    await b
    return time.perf_counter() - t0


async def child(v):
    return v


async def spawn_join(n):
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += await asyncio.create_task(child(i))
    assert total == n * (n - 1) // 2
    return time.perf_counter() - t0


async def parked(event, done):
    await event.wait()
    done.append(1)


async def parked_memory(n):
    event, done = asyncio.Event(), []
    gc.collect()
    before = rss_bytes()
    tasks = [asyncio.create_task(parked(event, done)) for _ in range(n)]
    await asyncio.sleep(0)  # one turn: every task starts and parks
    after = rss_bytes()
    event.set()
    await asyncio.gather(*tasks)
    assert len(done) == n
    # The list of handles is part of the price here (the C side keeps none):
    # take its 8 bytes per task back out.
    return (after - before) / n - 8


def main():
    print("python", platform.python_version())
    best = min(asyncio.run(switches(SWITCHES)) for _ in range(3))
    print("switch_ns %.1f" % (best / SWITCHES * 1e9))
    best = min(asyncio.run(spawn_join(SPAWN_JOINS)) for _ in range(2))
    print("spawn_join_ns %.1f" % (best / SPAWN_JOINS * 1e9))
    print("bytes_per_task %.1f n=%d" % (asyncio.run(parked_memory(PARKED)), PARKED))


if __name__ == "__main__":
    main()
