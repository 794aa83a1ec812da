"""gen_send.py - nanoseconds per send into a CPython generator.

Run by bench/resume.c (via popen) so that C's figure and Python's come from
the same run on the same machine.  Prints one line: "<ns per send> <python
version>".  The generator does what the C one does: count, and yield the
count.  timeit's own loop is measured on an empty statement and subtracted,
so the figure is the send alone, as in C.
"""
import platform
import timeit


def counter():
    n = 0
    while True:
        yield n
        n += 1


def best_ns(stmt, env, number, repeat):
    return min(timeit.Timer(stmt, globals=env).repeat(repeat=repeat, number=number)) * 1e9 / number


def main():
    number, repeat = 500_000, 5
    g = counter()
    g.send(None)  # start it, as C's priming co_next does
    env = {"send": g.send}
    send_ns = best_ns("send(None)", env, number, repeat)
    loop_ns = best_ns("pass", env, number, repeat)
    print(f"{max(send_ns - loop_ns, 0.0):.2f} {platform.python_version()}")


if __name__ == "__main__":
    main()
