/*
 * stage04_util.c - the helpers and coroutines the stage-4 test files share
 * (declared, with their frames, in stage04_util.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stage04_util.h"

TCase *s4_case(Suite *s, const char *name)
{
    TCase *tc = new_case(s, name);
    tcase_set_timeout(tc, 60);
    return tc;
}

/* ---- running the loop ----------------------------------------------------- */

int s4_run(co_fn fn, const void *frame, size_t size, intptr_t *result, char **log)
{
    struct loop_opts o = {0};
    o.virtual_clock = 1;
    return run_opts(&o, fn, frame, size, result, log);
}

int s4_run_stepping(uint64_t step_ns, co_fn fn, const void *frame, size_t size,
                    intptr_t *result, char **log)
{
    uint64_t clk[2] = {1000000000u, step_ns}; /* any start: time 0 is the first read */
    struct loop_opts o = {0};
    o.clock = fake_clock;
    o.clock_ctx = clk;
    return run_opts(&o, fn, frame, size, result, log);
}

const char *s4_str(const char *fmt, ...)
{
    static char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

uint32_t s4_ntimers(void)
{
    struct loop *l = loop_current();
    return l ? l->timers.n : 0;
}

/* ---- descriptors ---------------------------------------------------------- */

void s4_socketpair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(sv[i], F_GETFL);
        ck_assert_int_ge(fl, 0);
        ck_assert_int_eq(fcntl(sv[i], F_SETFL, fl | O_NONBLOCK), 0);
        ck_assert_int_eq(fcntl(sv[i], F_SETFD, FD_CLOEXEC), 0);
    }
}

void s4_close_pair(int sv[2])
{
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        sv[i] = -1;
    }
}

/* ---- coroutines many tests share ---------------------------------------- */

int s4_nap(co_t *co)
{
    struct s4_nap *f = (struct s4_nap *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(f->ms));
    ev("%s@%llu", f->name, S4_MS);
    CO_RETURN((intptr_t)f->ms);
    CO_FINALLY
    if (CO_ERROR)
        ev("%s.fin%d@%llu", f->name, CO_ERROR, S4_MS);
    CO_END;
}

int s4_until_parked(co_t *co)
{
    struct s4_until_parked *f = (struct s4_until_parked *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->max && f->t->state != TASK_PARKED; f->i++)
        AWAIT(task_yield());
    CO_RETURN(f->t->state == TASK_PARKED);
    CO_END;
}
