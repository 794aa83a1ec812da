/*
 * hello_later.c - asyncio's first example: "Hello", one second, "World".
 *
 *     async def main():
 *         print(f"{loop.time():.3f} Hello")
 *         await asyncio.sleep(1)
 *         print(f"{loop.time():.3f} World")
 *     asyncio.run(main())
 *
 * While main sleeps nothing runs: the loop has no ready task, so it waits
 * in the selector with a timeout of "until the nearest deadline" (main's),
 * fires main's timer when it returns, and main goes on.  The times printed
 * are the loop's clock, loop_time_ms(): milliseconds since loop_run began.
 * "World" comes at about 1001 ms: Linux lets a select/poll/epoll timeout run
 * late by 0.1% (1 ms per second), so that wake-ups can be batched.
 */
#include <stdio.h>

#include "loop.h"
#include "sleep.h"

struct main_frame { co_t co; };

static int main_task(co_t *co)
{
    CO_BEGIN(co);
    printf("%5llu ms  Hello\n", (unsigned long long)loop_time_ms());
    AWAIT(sleep_ms(1000));
    printf("%5llu ms  World\n", (unsigned long long)loop_time_ms());
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    return rc == 0 ? 0 : 1;
}
