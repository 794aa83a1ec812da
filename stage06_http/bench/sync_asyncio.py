"""sync_asyncio.py - stage 5's sync benchmark, with asyncio.Lock and asyncio.Queue.

Run by bench/sync.c (make stage5 bench), once per round, with the
measurements to make as arguments:

    lock:<tasks>:<acquisitions>     queue:<maxsize>:<items>

(maxsize 0 is an unbounded queue).  It prints one line per measurement, the
same programs as the C side's, in the same order:

    python <version>
    lock <tasks> <acquisitions> <waited> <fifo_breaks> <overlaps> <seconds>
    queue <maxsize> <items> <received> <out_of_order> <seconds>

Lock: <tasks> tasks each loop { acquire; sleep(0) holding the lock; release }.
An acquisition "waited" when asyncio's Lock.acquire cannot take its fast
path: the lock is held, or a waiter is queued for it (on release asyncio
wakes the first waiter without handing it the lock, so a task that releases
and at once acquires again finds the lock free but a waiter pending, and
queues behind it).  fifo_breaks counts acquisitions not made by the task
after the previous holder in round-robin order; overlaps, acquisitions made
while another task was inside.  Both must be 0.

Queue: one producer puts 0, 1, ... <items>-1 with `await q.put(i)`, one
consumer takes them with `await q.get()` and counts those not equal to the
next number expected.

Seconds are timed inside the running loop: from creating the first task to
the end of the last await on one, so the loop's start-up is not counted
(the C side does the same).
"""
import asyncio
import platform
import sys
import time


class LockStats:
    __slots__ = ("acquired", "waited", "fifo_breaks", "overlaps", "inside", "last")

    def __init__(self):
        self.acquired = self.waited = self.fifo_breaks = self.overlaps = 0
        self.inside = False
        self.last = -1


async def locker(lock, me, ntasks, iters, st):
    for _ in range(iters):
        # Would acquire() wait?  Its own fast-path test (no waiter here is
        # ever cancelled); _waiters is private, but this is only counting.
        if lock.locked() or lock._waiters:
            st.waited += 1
        await lock.acquire()
        if st.inside:
            st.overlaps += 1
        st.inside = True
        if st.acquired and me != (st.last + 1) % ntasks:
            st.fifo_breaks += 1
        st.last = me
        st.acquired += 1
        await asyncio.sleep(0)  # hold the lock across a trip through the loop
        st.inside = False
        lock.release()


async def lock_bench(ntasks, iters):
    lock, st = asyncio.Lock(), LockStats()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(locker(lock, k, ntasks, iters, st)) for k in range(ntasks)]
    for t in tasks:
        await t
    return st, time.perf_counter() - t0


async def producer(q, n):
    for i in range(n):
        await q.put(i)


async def consumer(q, n, st):
    bad = 0
    for i in range(n):
        v = await q.get()
        if v != i:
            bad += 1
    st[0] = n
    st[1] = bad


async def queue_bench(maxsize, n):
    q, st = asyncio.Queue(maxsize=maxsize), [0, 0]
    t0 = time.perf_counter()
    p = asyncio.create_task(producer(q, n))
    c = asyncio.create_task(consumer(q, n, st))
    await p
    await c
    return st, time.perf_counter() - t0


def main(specs):
    print("python", platform.python_version(), flush=True)
    for spec in specs:
        kind, a, n = spec.split(":")
        a, n = int(a), int(n)
        if kind == "lock":
            st, secs = asyncio.run(lock_bench(a, n // a))
            print("lock %d %d %d %d %d %.9f" % (a, st.acquired, st.waited, st.fifo_breaks,
                                                st.overlaps, secs), flush=True)
        elif kind == "queue":
            st, secs = asyncio.run(queue_bench(a, n))
            print("queue %d %d %d %d %.9f" % (a, n, st[0], st[1], secs), flush=True)
        else:
            sys.exit("sync_asyncio.py: unknown measurement " + spec)


if __name__ == "__main__":
    main(sys.argv[1:])
