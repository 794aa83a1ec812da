/*
 * test_stage03_loop.c - the loop's side of descriptor waits: cancelling a
 * parked operation, one reader and one writer per descriptor, sock_close
 * waking the waiters, fairness and the cooperative I/O budget, when the loop
 * ends or deadlocks with sockets about, short reads, the task dump,
 * io_wait, argument errors, select's FD_SETSIZE through the loop, and a
 * signal interrupting the selector (EINTR; SIGUSR1's task dump comes at once;
 * the trace's loop lane shows one wait however often the selector returned).
 *
 * The tcases "io_cancel", "io_waiters", "io_fairness", "io_loop_end",
 * "io_seeing", "io_args" and "io_eintr" of the stage03 suite; every test
 * runs once per backend.  The sockets are AF_UNIX socketpairs made by the
 * test (non-blocking) and handed to the coroutines in their frames.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "group.h"
#include "stage03_util.h"

enum { BIG = 1 << 20 }; /* more than a socketpair buffers: a send parks */

/* Bytes readable now on a non-blocking descriptor (reads them). */
static size_t drain(int fd)
{
    char buf[4096];
    size_t total = 0;
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        total += (size_t)n;
    return total;
}

/* ===== cancellation ======================================================= */

struct cancel_res {
    struct s3_rec rec;
    int parked, join_err;
    size_t w0, r0, w1, r1, w2, r2; /* nwaiting, nregistered: before, parked, cancelled */
    intptr_t later;
    char buf[16];
};

/* A task parked in recv is cancelled: it ends with -ECANCELED through its
 * CO_FINALLY, the descriptor is no longer watched, and data that arrives
 * afterwards is all there for the next recv. */
struct cancel_recv_main {
    co_t co;
    int fd, peer;
    struct cancel_res *res;
    task_t *t;
    struct s3_until_parked wait;
    char rbuf[16];
};

static int cancel_recv_main(co_t *co)
{
    struct cancel_recv_main *f = (struct cancel_recv_main *)co;
    struct io *io = &loop_current()->io;
    CO_BEGIN(co);
    f->res->w0 = io->nwaiting;
    f->res->r0 = io->nregistered;
    f->t = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->rbuf,
                      .len = sizeof f->rbuf, .out = &f->res->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->parked = (int)CO_VALUE;
    f->res->w1 = io->nwaiting;
    f->res->r1 = io->nregistered;
    task_cancel(f->t);
    f->res->w2 = io->nwaiting; /* at once, not at some later poll */
    f->res->r2 = io->nregistered;
    AWAIT_CATCH(task_join(f->t), f->res->join_err);
    if (write(f->peer, "late", 4) != 4)
        CO_RAISE(-EIO);
    AWAIT(sock_recv(f->fd, f->res->buf, sizeof f->res->buf - 1));
    f->res->later = CO_VALUE;
    CO_END;
}

START_TEST(cancel_parked_recv)
{
    int sv[2];
    s3_socketpair(sv);
    struct cancel_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, cancel_recv_main, struct cancel_recv_main,
                    .fd = sv[0], .peer = sv[1], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.parked, 1);
    ck_assert_uint_eq(res.w1, res.w0 + 1);
    ck_assert_uint_eq(res.r1, res.r0 + 1);
    ck_assert_uint_eq(res.w2, res.w0); /* no longer waiting */
    ck_assert_uint_eq(res.r2, res.r0); /* no longer watched */
    ck_assert_int_eq(res.join_err, -ECANCELED);
    ck_assert_int_eq(res.rec.started, 1);
    ck_assert_int_eq(res.rec.done, 0);
    ck_assert_int_eq(res.rec.fin, 1);
    ck_assert_int_eq(res.rec.fin_err, -ECANCELED);
    ck_assert_int_eq(res.later, 4); /* nothing was consumed */
    ck_assert_str_eq(res.buf, "late");
    ck_assert_str_eq(log, "");
}
END_TEST

/* A send_all parked midway is cancelled: -ECANCELED, the descriptor is no
 * longer watched, and a prefix (not all) of the data was sent. */
struct cancel_send_main {
    co_t co;
    int fd;
    const void *data;
    struct cancel_res *res;
    task_t *t;
    struct s3_until_parked wait;
};

static int cancel_send_main(co_t *co)
{
    struct cancel_send_main *f = (struct cancel_send_main *)co;
    struct io *io = &loop_current()->io;
    CO_BEGIN(co);
    f->res->w0 = io->nwaiting;
    f->res->r0 = io->nregistered;
    f->t = TASK_SPAWN(s3_writer, struct s3_writer, .fd = f->fd, .buf = f->data,
                      .len = BIG, .out = &f->res->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->parked = (int)CO_VALUE;
    f->res->w1 = io->nwaiting;
    f->res->r1 = io->nregistered;
    task_cancel(f->t);
    f->res->w2 = io->nwaiting;
    f->res->r2 = io->nregistered;
    AWAIT_CATCH(task_join(f->t), f->res->join_err);
    CO_END;
}

START_TEST(cancel_parked_send_all)
{
    int sv[2];
    s3_socketpair(sv);
    void *data = calloc(1, BIG);
    ck_assert_ptr_nonnull(data);
    struct cancel_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, cancel_send_main, struct cancel_send_main,
                    .fd = sv[0], .data = data, .res = &res);
    free(data);
    size_t sent = drain(sv[1]);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.parked, 1);
    ck_assert_uint_eq(res.w1, res.w0 + 1);
    ck_assert_uint_eq(res.r1, res.r0 + 1);
    ck_assert_uint_eq(res.w2, res.w0);
    ck_assert_uint_eq(res.r2, res.r0);
    ck_assert_int_eq(res.join_err, -ECANCELED);
    ck_assert_int_eq(res.rec.fin_err, -ECANCELED);
    ck_assert_int_eq(res.rec.done, 0);
    ck_assert_uint_gt(sent, 0);
    ck_assert_uint_lt(sent, BIG);
    ck_assert_str_eq(log, "");
}
END_TEST

/* A cancellation already pending when the operation starts is delivered
 * before the system call: the recv consumes nothing, the send sends
 * nothing, and nothing is left parked. */
struct pending_res {
    int e_recv, e_send, e_wait, e_accept;
    intptr_t n;
    size_t waiting;
    char buf[8];
};

struct pending_main { co_t co; int fd; struct pending_res *res; };
static int pending_main(co_t *co)
{
    struct pending_main *f = (struct pending_main *)co;
    CO_BEGIN(co);
    task_cancel(task_current());
    AWAIT_CATCH(sock_recv(f->fd, f->res->buf, sizeof f->res->buf - 1), f->res->e_recv);
    AWAIT(sock_recv(f->fd, f->res->buf, sizeof f->res->buf - 1)); /* all still there */
    f->res->n = CO_VALUE;
    task_cancel(task_current());
    AWAIT_CATCH(sock_send_all(f->fd, "zz", 2), f->res->e_send);
    task_cancel(task_current());
    AWAIT_CATCH(io_wait(f->fd, SEL_WRITE), f->res->e_wait);
    f->res->waiting = loop_current()->io.nwaiting;
    CO_END;
}

START_TEST(cancel_pending_before_io_consumes_nothing)
{
    int sv[2];
    s3_socketpair(sv);
    s3_write(sv[1], "abc", 3);
    struct pending_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, pending_main, struct pending_main, .fd = sv[0], .res = &res);
    size_t sent = drain(sv[1]);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.e_recv, -ECANCELED);
    ck_assert_int_eq(res.n, 3);
    ck_assert_str_eq(res.buf, "abc");
    ck_assert_int_eq(res.e_send, -ECANCELED);
    ck_assert_uint_eq(sent, 0); /* "zz" never went out */
    ck_assert_int_eq(res.e_wait, -ECANCELED);
    ck_assert_uint_eq(res.waiting, 0);
    ck_assert_str_eq(log, "");
}
END_TEST

/* io_wait with a cancellation pending: -ECANCELED, and, like a cancelled
 * recv, it leaves nothing behind - no waiter and no registration. */
struct pending_wait_res { int err[2]; size_t reg0, reg[2], waiting[2]; };

struct pending_wait_main { co_t co; int fd; struct pending_wait_res *res; int i; };
static int pending_wait_main(co_t *co)
{
    struct pending_wait_main *f = (struct pending_wait_main *)co;
    struct io *io = &loop_current()->io;
    CO_BEGIN(co);
    f->res->reg0 = io->nregistered;
    for (f->i = 0; f->i < 2; f->i++) {
        task_cancel(task_current());
        AWAIT_CATCH(io_wait(f->fd, f->i == 0 ? SEL_READ : SEL_WRITE), f->res->err[f->i]);
        f->res->reg[f->i] = io->nregistered;
        f->res->waiting[f->i] = io->nwaiting;
    }
    CO_END;
}

START_TEST(cancel_pending_io_wait_leaves_nothing_registered)
{
    int sv[2];
    s3_socketpair(sv);
    struct pending_wait_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, pending_wait_main, struct pending_wait_main, .fd = sv[0], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(res.err[k], -ECANCELED);
        ck_assert_uint_eq(res.waiting[k], 0);
        ck_assert_msg(res.reg[k] == res.reg0,
                      "%s: a cancelled io_wait(%s) left %zu descriptor(s) registered",
                      s3_backends[_i], k == 0 ? "SEL_READ" : "SEL_WRITE", res.reg[k] - res.reg0);
    }
    ck_assert_str_eq(log, "");
}
END_TEST

/* A task whose recv has completed (it was woken with the data) and is then
 * cancelled before it runs keeps its data: the cancellation waits for its
 * next await (trio's rule). */
struct keep_res { intptr_t n; int next_err; int woken_when_cancelled; char buf[8]; };

struct keeper { co_t co; int fd; struct keep_res *res; };
static int keeper(co_t *co)
{
    struct keeper *f = (struct keeper *)co;
    CO_BEGIN(co);
    AWAIT(sock_recv(f->fd, f->res->buf, sizeof f->res->buf - 1));
    f->res->n = CO_VALUE;
    AWAIT_CATCH(task_yield(), f->res->next_err);
    CO_END;
}

struct keep_main { co_t co; int fd, peer; struct keep_res *res; task_t *t; };
static int keep_main(co_t *co)
{
    struct keep_main *f = (struct keep_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(keeper, struct keeper, .fd = f->fd, .res = f->res);
    AWAIT(task_yield()); /* the keeper parks in recv */
    if (write(f->peer, "data", 4) != 4)
        CO_RAISE(-EIO);
    AWAIT(task_yield()); /* the next poll wakes it, queued behind us */
    f->res->woken_when_cancelled = f->t->state == TASK_READY && (f->t->flags & TASK_F_WOKEN);
    task_cancel(f->t);
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(cancel_after_io_completed_keeps_the_data)
{
    int sv[2];
    s3_socketpair(sv);
    struct keep_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, keep_main, struct keep_main, .fd = sv[0], .peer = sv[1], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.woken_when_cancelled, 1);
    ck_assert_int_eq(res.n, 4);
    ck_assert_str_eq(res.buf, "data");
    ck_assert_int_eq(res.next_err, -ECANCELED);
    ck_assert_str_eq(log, "");
}
END_TEST

/* A failing child cancels its siblings parked in recv. */
enum { NREADERS = 3 };

struct failer { co_t co; int i; };
static int failer(co_t *co)
{
    struct failer *f = (struct failer *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_yield());
    CO_RAISE(-EIO);
    CO_END;
}

struct group_res { struct s3_rec rec[NREADERS]; int err; size_t waiting, registered; };

struct group_main {
    co_t co;
    const int *fds;
    struct group_res *res;
    group_t g;
    int i;
    char buf[NREADERS][8];
};

static int group_main(co_t *co)
{
    struct group_main *f = (struct group_main *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    for (f->i = 0; f->i < NREADERS; f->i++)
        GROUP_SPAWN(&f->g, s3_reader, struct s3_reader, .fd = f->fds[f->i],
                    .buf = f->buf[f->i], .len = sizeof f->buf[f->i], .out = &f->res->rec[f->i]);
    GROUP_SPAWN(&f->g, failer, struct failer);
    AWAIT_CATCH(group_join(&f->g, 0), f->res->err);
    f->res->waiting = loop_current()->io.nwaiting;
    f->res->registered = loop_current()->io.nregistered;
    CO_END;
}

START_TEST(group_failure_cancels_parked_readers)
{
    int sv[NREADERS][2], fds[NREADERS];
    for (int k = 0; k < NREADERS; k++) {
        s3_socketpair(sv[k]);
        fds[k] = sv[k][0];
    }
    struct group_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, group_main, struct group_main, .fds = fds, .res = &res);
    for (int k = 0; k < NREADERS; k++)
        s3_close_pair(sv[k]);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.err, -EIO);
    for (int k = 0; k < NREADERS; k++) {
        ck_assert_int_eq(res.rec[k].started, 1);
        ck_assert_int_eq(res.rec[k].done, 0);
        ck_assert_int_eq(res.rec[k].fin, 1);
        ck_assert_int_eq(res.rec[k].fin_err, -ECANCELED);
    }
    ck_assert_uint_eq(res.waiting, 0);
    ck_assert_uint_eq(res.registered, 0);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== who may wait on a descriptor ====================================== */

/* Reads n bytes, then sends "ping". */
struct drainer { co_t co; int fd; size_t n, got; intptr_t r; char buf[4096]; };
static int drainer(co_t *co)
{
    struct drainer *f = (struct drainer *)co;
    CO_BEGIN(co);
    while (f->got < f->n) {
        AWAIT(sock_recv(f->fd, f->buf, sizeof f->buf));
        if (CO_VALUE == 0)
            CO_RAISE(-EPIPE);
        f->got += (size_t)CO_VALUE;
    }
    AWAIT(sock_send_all(f->fd, "ping", 4));
    CO_RETURN(f->got);
    CO_END;
}

struct busy_res {
    struct s3_rec a, b, c;
    int a_parked, c_parked;
    int b_err, wait_rd_err, send_err, wait_wr_err, drain_err;
    size_t waiting, registered;
    intptr_t drained;
    char abuf[8];
};

struct busy_main {
    co_t co;
    int fd, peer;
    const void *data;
    struct busy_res *res;
    task_t *a, *b, *c, *d;
    struct s3_until_parked wait;
    char bbuf[8];
};

static int busy_main(co_t *co)
{
    struct busy_main *f = (struct busy_main *)co;
    struct io *io = &loop_current()->io;
    CO_BEGIN(co);
    /* A reader parks; a second reader, or an io_wait for reading, is refused. */
    f->a = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->res->abuf,
                      .len = sizeof f->res->abuf - 1, .out = &f->res->a);
    f->wait = (struct s3_until_parked){.t = f->a, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->a_parked = (int)CO_VALUE;
    f->b = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->bbuf,
                      .len = sizeof f->bbuf, .out = &f->res->b);
    AWAIT_CATCH(task_join(f->b), f->res->b_err);
    AWAIT_CATCH(io_wait(f->fd, SEL_READ), f->res->wait_rd_err);
    /* A writer on the same descriptor at the same time is fine... */
    f->c = TASK_SPAWN(s3_writer, struct s3_writer, .fd = f->fd, .buf = f->data,
                      .len = BIG, .out = &f->res->c);
    f->wait = (struct s3_until_parked){.t = f->c, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->c_parked = (int)CO_VALUE;
    f->res->waiting = io->nwaiting;
    f->res->registered = io->nregistered;
    /* ... but a second writer is refused. */
    AWAIT_CATCH(sock_send_all(f->fd, "x", 1), f->res->send_err);
    AWAIT_CATCH(io_wait(f->fd, SEL_WRITE), f->res->wait_wr_err);
    /* The peer reads everything and answers: both finish. */
    f->d = TASK_SPAWN(drainer, struct drainer, .fd = f->peer, .n = BIG);
    AWAIT_CATCH(task_join(f->d), f->res->drain_err);
    f->res->drained = CO_VALUE;
    AWAIT_CATCH(task_join(f->c), f->res->c.fin_err);
    AWAIT_CATCH(task_join(f->a), f->res->a.fin_err);
    CO_END;
}

START_TEST(one_reader_and_one_writer_per_fd)
{
    int sv[2];
    s3_socketpair(sv);
    void *data = calloc(1, BIG);
    ck_assert_ptr_nonnull(data);
    struct busy_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, busy_main, struct busy_main, .fd = sv[0], .peer = sv[1],
                    .data = data, .res = &res);
    free(data);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.a_parked, 1);
    ck_assert_int_eq(res.b_err, -EBUSY);
    ck_assert_int_eq(res.b.fin_err, -EBUSY);
    ck_assert_int_eq(res.wait_rd_err, -EBUSY);
    ck_assert_int_eq(res.c_parked, 1);
    ck_assert_uint_eq(res.waiting, 2);    /* a reader and a writer ... */
    ck_assert_uint_eq(res.registered, 1); /* ... on one descriptor */
    ck_assert_int_eq(res.send_err, -EBUSY);
    ck_assert_int_eq(res.wait_wr_err, -EBUSY);
    ck_assert_int_eq(res.drain_err, 0);
    ck_assert_int_eq(res.drained, BIG);
    ck_assert_int_eq(res.c.fin_err, 0);
    ck_assert_int_eq(res.c.n, BIG);
    ck_assert_int_eq(res.a.fin_err, 0);
    ck_assert_int_eq(res.a.n, 4);
    ck_assert_str_eq(res.abuf, "ping"); /* the refused reader took nothing */
    ck_assert_str_eq(log, "");
}
END_TEST

/* sock_close wakes whoever waits on the descriptor with -EBADF. */
struct accepter { co_t co; int fd; struct s3_rec *out; };
static int accepter(co_t *co)
{
    struct accepter *f = (struct accepter *)co;
    CO_BEGIN(co);
    AWAIT(sock_accept(f->fd));
    f->out->done = 1;
    f->out->n = CO_VALUE;
    CO_FINALLY
    f->out->fin = 1;
    f->out->fin_err = CO_ERROR;
    CO_END;
}

struct waiter { co_t co; int fd; unsigned events; struct s3_rec *out; };
static int waiter(co_t *co)
{
    struct waiter *f = (struct waiter *)co;
    CO_BEGIN(co);
    AWAIT(io_wait(f->fd, f->events));
    f->out->done = 1;
    f->out->n = CO_VALUE;
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    f->out->fin = 1;
    f->out->fin_err = CO_ERROR;
    CO_END;
}

struct close_res {
    struct s3_rec rec[3];
    int parked[3], err[3], closed[3], close_rc[3];
    size_t waiting, registered;
};

struct close_main {
    co_t co;
    int fd[3]; /* read on, accept on, io_wait on */
    struct close_res *res;
    task_t *t[3];
    struct s3_until_parked wait;
    int i;
    char buf[8];
};

static int close_main(co_t *co)
{
    struct close_main *f = (struct close_main *)co;
    CO_BEGIN(co);
    f->fd[1] = sock_listen("127.0.0.1", 0, 0);
    if (f->fd[1] < 0)
        CO_RAISE(f->fd[1]);
    f->t[0] = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd[0], .buf = f->buf,
                         .len = sizeof f->buf, .out = &f->res->rec[0]);
    f->t[1] = TASK_SPAWN(accepter, struct accepter, .fd = f->fd[1], .out = &f->res->rec[1]);
    f->t[2] = TASK_SPAWN(waiter, struct waiter, .fd = f->fd[2], .events = SEL_READ,
                         .out = &f->res->rec[2]);
    for (f->i = 0; f->i < 3; f->i++) {
        f->wait = (struct s3_until_parked){.t = f->t[f->i], .max = 10};
        AWAIT_CO(&f->wait.co, s3_until_parked);
        f->res->parked[f->i] = (int)CO_VALUE;
    }
    for (f->i = 0; f->i < 3; f->i++)
        f->res->close_rc[f->i] = sock_close(f->fd[f->i]);
    f->res->waiting = loop_current()->io.nwaiting;
    f->res->registered = loop_current()->io.nregistered;
    for (f->i = 0; f->i < 3; f->i++) {
        f->res->closed[f->i] = !s3_is_open(f->fd[f->i]);
        AWAIT_CATCH(task_join(f->t[f->i]), f->res->err[f->i]);
    }
    CO_END;
}

START_TEST(sock_close_wakes_waiters_with_ebadf)
{
    int sv[2], tv[2];
    s3_socketpair(sv);
    s3_socketpair(tv);
    struct close_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, close_main, struct close_main,
                    .fd = {sv[0], -1, tv[0]}, .res = &res);
    close(sv[1]);
    close(tv[1]);
    ck_assert_int_eq(rc, 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(res.parked[k], 1);
        ck_assert_int_eq(res.close_rc[k], 0);
        ck_assert_int_eq(res.closed[k], 1);
        ck_assert_int_eq(res.err[k], -EBADF);
        ck_assert_int_eq(res.rec[k].done, 0);
        ck_assert_int_eq(res.rec[k].fin_err, -EBADF);
    }
    ck_assert_uint_eq(res.waiting, 0);    /* woken at once */
    ck_assert_uint_eq(res.registered, 0); /* and unwatched */
    ck_assert_str_eq(log, "");
}
END_TEST

/* The loop's table of descriptors grows while tasks are parked in it (a
 * parked task points into its entry): readers parked on a low and on a high
 * descriptor number both complete, with their own data. */
struct grow_main { co_t co; int lo, lo_peer, hi, hi_peer; struct s3_rec rec[2]; task_t *t[2]; struct s3_until_parked wait; char buf[2][8]; };
static int grow_main(co_t *co)
{
    struct grow_main *f = (struct grow_main *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->lo, .buf = f->buf[0],
                         .len = sizeof f->buf[0] - 1, .out = &f->rec[0]);
    f->wait = (struct s3_until_parked){.t = f->t[0], .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->t[1] = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->hi, .buf = f->buf[1],
                         .len = sizeof f->buf[1] - 1, .out = &f->rec[1]);
    f->wait = (struct s3_until_parked){.t = f->t[1], .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    if (write(f->lo_peer, "low", 3) != 3 || write(f->hi_peer, "high", 4) != 4)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->t[0]));
    AWAIT(task_join(f->t[1]));
    CO_RETURN(f->rec[0].n * 10 + f->rec[1].n);
    CO_END;
}

START_TEST(waiters_survive_fd_table_growth)
{
    int a[2], b[2];
    s3_socketpair(a);
    s3_socketpair(b);
    int hi = fcntl(b[0], F_DUPFD_CLOEXEC, 300); /* past the table's first 64 and 128 */
    ck_assert_int_ge(hi, 300);
    ck_assert_int_lt(hi, FD_SETSIZE);
    struct grow_main m = {.lo = a[0], .lo_peer = a[1], .hi = hi, .hi_peer = b[1]};
    intptr_t r = 0;
    char *log;
    int rc = s3_run(_i, grow_main, &m, sizeof m, &r, &log);
    close(hi);
    s3_close_pair(a);
    s3_close_pair(b);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r, 3 * 10 + 4);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== fairness ============================================================ */

/* A task yielding in a tight loop until a flag is set must not starve a
 * task parked in recv whose data has arrived: the loop polls (without
 * waiting) on every iteration, not only when nothing is ready. */
struct flag_reader { co_t co; int fd; int *flag; char c; };
static int flag_reader(co_t *co)
{
    struct flag_reader *f = (struct flag_reader *)co;
    CO_BEGIN(co);
    AWAIT(sock_recv(f->fd, &f->c, 1));
    *f->flag = 1;
    CO_RETURN(f->c);
    CO_END;
}

enum { SPIN_LIMIT = 100000 };

struct spinner { co_t co; const int *flag; int spins; };
static int spinner(co_t *co)
{
    struct spinner *f = (struct spinner *)co;
    CO_BEGIN(co);
    while (!*f->flag && f->spins < SPIN_LIMIT) { /* bounded: a failure, not a hang */
        f->spins++;
        AWAIT(task_yield());
    }
    CO_RETURN(f->spins);
    CO_END;
}

struct starve_main { co_t co; int fd, peer, flag; intptr_t spins, c; task_t *r, *s; };
static int starve_main(co_t *co)
{
    struct starve_main *f = (struct starve_main *)co;
    CO_BEGIN(co);
    f->r = TASK_SPAWN(flag_reader, struct flag_reader, .fd = f->fd, .flag = &f->flag);
    f->s = TASK_SPAWN(spinner, struct spinner, .flag = &f->flag);
    AWAIT(task_yield()); /* the reader parks, the spinner spins */
    if (write(f->peer, "!", 1) != 1)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->s));
    f->spins = CO_VALUE;
    AWAIT(task_join(f->r));
    f->c = CO_VALUE;
    CO_RETURN(f->spins * 1000 + f->c);
    CO_END;
}

START_TEST(yielding_task_does_not_starve_reader)
{
    int sv[2];
    s3_socketpair(sv);
    intptr_t r = -1;
    char *log;
    int rc = S3_RUN(_i, &r, &log, starve_main, struct starve_main, .fd = sv[0], .peer = sv[1]);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r % 1000, '!');
    /* one spin before the write, one while the next poll wakes the reader */
    ck_assert_msg(r / 1000 <= 3, "the spinner spun %ld times before the reader ran",
                  (long)(r / 1000));
    ck_assert_str_eq(log, "");
}
END_TEST

/* The cooperative budget: reads that complete at once do not pass through
 * the loop, so a reader of a full socket reading a byte at a time would run
 * to the end in one step.  After IO_BUDGET immediate completions the next
 * one parks, and every other ready task runs first. */
enum { NBYTES = 10000 };

struct budget_res { int count, done, bad, maxgap, ticks_during, ticks; };

struct byte_reader { co_t co; int fd; struct budget_res *res; char c; };
static int byte_reader(co_t *co)
{
    struct byte_reader *f = (struct byte_reader *)co;
    CO_BEGIN(co);
    while (f->res->count < NBYTES) {
        AWAIT(sock_recv(f->fd, &f->c, 1));
        if (CO_VALUE != 1 || (unsigned char)f->c != s3_pattern((size_t)f->res->count))
            f->res->bad++;
        f->res->count++;
    }
    f->res->done = 1;
    CO_END;
}

struct budget_ticker { co_t co; struct budget_res *res; int last; };
static int budget_ticker(co_t *co)
{
    struct budget_ticker *f = (struct budget_ticker *)co;
    struct budget_res *res = f->res;
    CO_BEGIN(co);
    while (!res->done && res->ticks < 10 * NBYTES) {
        if (res->count - f->last > res->maxgap)
            res->maxgap = res->count - f->last;
        f->last = res->count;
        if (res->count > 0 && res->count < NBYTES)
            res->ticks_during++;
        res->ticks++;
        AWAIT(task_yield());
    }
    if (res->count - f->last > res->maxgap)
        res->maxgap = res->count - f->last;
    CO_END;
}

struct budget_main { co_t co; int fd; struct budget_res *res; task_t *r, *t; };
static int budget_main(co_t *co)
{
    struct budget_main *f = (struct budget_main *)co;
    CO_BEGIN(co);
    f->r = TASK_SPAWN(byte_reader, struct byte_reader, .fd = f->fd, .res = f->res);
    f->t = TASK_SPAWN(budget_ticker, struct budget_ticker, .res = f->res);
    AWAIT(task_join(f->r));
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(io_budget_lets_others_run)
{
    int sv[2];
    s3_socketpair(sv);
    unsigned char data[NBYTES];
    for (size_t k = 0; k < NBYTES; k++)
        data[k] = s3_pattern(k);
    s3_write(sv[1], data, NBYTES);
    struct budget_res res = {0};
    char *log;
    int rc = S3_RUN(_i, NULL, &log, budget_main, struct budget_main, .fd = sv[0], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.count, NBYTES);
    ck_assert_int_eq(res.bad, 0);
    ck_assert_int_eq(res.done, 1);
    /* never more than a budget (and the read that woke it) between turns */
    ck_assert_msg(res.maxgap <= S3_IO_BUDGET + 1, "%d reads in one step (budget %d)",
                  res.maxgap, S3_IO_BUDGET);
    ck_assert_msg(res.maxgap > 1, "every read went through the loop");
    ck_assert_int_ge(res.ticks_during, NBYTES / (S3_IO_BUDGET + 1) - 1);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== short reads ========================================================= */

/* A read that comes back short leaves the descriptor "drained": the next
 * recv parks without trying, until the selector reports it readable again
 * (io__start).  Data that arrived in between is still delivered, and end of
 * file too. */
struct short_res { intptr_t n[3]; int err; int stage; char got[2][8]; };

struct short_reader { co_t co; int fd; struct short_res *res; int i; char buf[8]; };
static int short_reader(co_t *co)
{
    struct short_reader *f = (struct short_reader *)co;
    CO_BEGIN(co);
    AWAIT(sock_recv(f->fd, f->res->got[0], sizeof f->res->got[0] - 1)); /* parks */
    f->res->n[0] = CO_VALUE;
    f->res->stage = 1;
    for (f->i = 0; f->i < 10 && f->res->stage == 1; f->i++)
        AWAIT(task_yield()); /* until main has written more */
    AWAIT(sock_recv(f->fd, f->res->got[1], sizeof f->res->got[1] - 1));
    f->res->n[1] = CO_VALUE;
    AWAIT(sock_recv(f->fd, f->buf, sizeof f->buf)); /* parks, until end of file */
    f->res->n[2] = CO_VALUE;
    CO_FINALLY
    f->res->err = CO_ERROR;
    CO_END;
}

struct short_main { co_t co; int fd, peer; struct short_res *res; task_t *t; struct s3_until_parked wait; int i; };
static int short_main(co_t *co)
{
    struct short_main *f = (struct short_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(short_reader, struct short_reader, .fd = f->fd, .res = f->res);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    if (write(f->peer, "ab", 2) != 2) /* short, for a 7-byte buffer */
        CO_RAISE(-EIO);
    for (f->i = 0; f->i < 10 && f->res->stage == 0; f->i++)
        AWAIT(task_yield());
    if (write(f->peer, "cd", 2) != 2) /* there before the next recv */
        CO_RAISE(-EIO);
    f->res->stage = 2;
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked); /* in its third recv */
    shutdown(f->peer, SHUT_WR);
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(short_read_then_more_data_and_eof)
{
    int sv[2];
    s3_socketpair(sv);
    struct short_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, short_main, struct short_main, .fd = sv[0], .peer = sv[1], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.n[0], 2);
    ck_assert_str_eq(res.got[0], "ab");
    ck_assert_int_eq(res.n[1], 2);
    ck_assert_str_eq(res.got[1], "cd");
    ck_assert_int_eq(res.n[2], 0);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== when the loop ends ================================================= */

/* Read one byte through a parked recv: afterwards the descriptor stays
 * registered (a woken reader keeps its registration) with nobody waiting. */
struct linger_reg {
    co_t co;
    int fd, peer;
    task_t *t;
    struct s3_until_parked wait;
    struct s3_rec rec;
    char c;
};

static int linger_reg(co_t *co)
{
    struct linger_reg *f = (struct linger_reg *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = &f->c, .len = 1, .out = &f->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    if (!CO_VALUE || write(f->peer, "x", 1) != 1)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->t));
    CO_END;
}

struct end_res { size_t waiting, registered; };

struct end_main { co_t co; int fd, peer; struct end_res *res; struct linger_reg lr; };
static int end_main(co_t *co)
{
    struct end_main *f = (struct end_main *)co;
    CO_BEGIN(co);
    f->lr = (struct linger_reg){.fd = f->fd, .peer = f->peer};
    AWAIT_CO(&f->lr.co, linger_reg);
    f->res->waiting = loop_current()->io.nwaiting;
    f->res->registered = loop_current()->io.nregistered;
    CO_RETURN(42);
    CO_END;
}

START_TEST(loop_ends_with_sockets_still_registered)
{
    int sv[2];
    s3_socketpair(sv);
    struct end_res res = {0};
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S3_RUN(_i, &r, &log, end_main, struct end_main, .fd = sv[0],
                            .peer = sv[1], .res = &res), 0);
    ck_assert_int_eq(r, 42);
    ck_assert_uint_eq(res.waiting, 0);
    ck_assert_uint_eq(res.registered, 1); /* and yet loop_run returned */
    ck_assert_str_eq(log, "");
    /* The loop closed nothing of ours, and a new loop uses them afresh. */
    ck_assert(s3_is_open(sv[0]) && s3_is_open(sv[1]));
    memset(&res, 0, sizeof res);
    r = 0;
    ck_assert_int_eq(S3_RUN(_i, &r, &log, end_main, struct end_main, .fd = sv[0],
                            .peer = sv[1], .res = &res), 0);
    ck_assert_int_eq(r, 42);
    ck_assert_uint_eq(res.registered, 1);
    ck_assert_str_eq(log, "");
    s3_close_pair(sv);
}
END_TEST

/* Tasks parked on a join cycle are still a deadlock (stage 2), even with a
 * descriptor registered: only a task waiting on one can be woken by it. */
struct cycler { co_t co; task_t *target; };
static int cycler(co_t *co)
{
    struct cycler *f = (struct cycler *)co;
    CO_BEGIN(co);
    AWAIT(task_join(f->target));
    CO_END;
}

struct cycle_main { co_t co; int fd, peer; int *err; size_t *registered; struct linger_reg lr; };
static int cycle_main(co_t *co)
{
    struct cycle_main *f = (struct cycle_main *)co;
    CO_BEGIN(co);
    f->lr = (struct linger_reg){.fd = f->fd, .peer = f->peer};
    AWAIT_CO(&f->lr.co, linger_reg);
    *f->registered = loop_current()->io.nregistered;
    AWAIT_CATCH(task_join(TASK_SPAWN(cycler, struct cycler, .target = task_current())), *f->err);
    CO_END;
}

START_TEST(join_cycle_still_deadlocks)
{
    int sv[2];
    s3_socketpair(sv);
    int err = 0;
    size_t registered = 0;
    char *log;
    int rc = S3_RUN(_i, NULL, &log, cycle_main, struct cycle_main, .fd = sv[0], .peer = sv[1],
                    .err = &err, .registered = &registered);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, -EDEADLK);
    ck_assert_uint_eq(registered, 1);
    ck_assert_int_eq(err, -ECANCELED); /* the deadlock breaker cancelled main */
    ck_assert_ptr_nonnull(strstr(log, "deadlock"));
    ck_assert_ptr_nonnull(strstr(log, "on join"));
}
END_TEST

/* Every task parked, but some on descriptors: no deadlock, the loop waits
 * in the selector.  A relay parked on one socketpair wakes, and sends on
 * another to wake the reader main joins. */
struct relay { co_t co; int from, to; char c; };
static int relay(co_t *co)
{
    struct relay *f = (struct relay *)co;
    CO_BEGIN(co);
    AWAIT(sock_recv(f->from, &f->c, 1));
    AWAIT(sock_send_all(f->to, "wake", 4));
    CO_END;
}

struct relay_main {
    co_t co;
    int sv0, sv1, tv0, tv1;
    struct s3_rec *rec;
    task_t *r, *q;
    struct s3_until_parked wait;
    int parked;
    size_t waiting;
    char buf[8];
};

static int relay_main(co_t *co)
{
    struct relay_main *f = (struct relay_main *)co;
    CO_BEGIN(co);
    f->r = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->sv0, .buf = f->buf,
                      .len = sizeof f->buf - 1, .out = f->rec);
    f->q = TASK_SPAWN(relay, struct relay, .from = f->tv0, .to = f->sv1);
    f->wait = (struct s3_until_parked){.t = f->r, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->parked = (int)CO_VALUE;
    f->wait = (struct s3_until_parked){.t = f->q, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->parked += (int)CO_VALUE;
    f->waiting = loop_current()->io.nwaiting;
    if (write(f->tv1, "g", 1) != 1)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->q)); /* all three parked now */
    AWAIT(task_join(f->r));
    CO_RETURN(f->parked * 1000 + (intptr_t)f->waiting * 100 + CO_VALUE);
    CO_END;
}

START_TEST(parked_recv_is_not_a_deadlock)
{
    int sv[2], tv[2];
    s3_socketpair(sv);
    s3_socketpair(tv);
    struct s3_rec rec = {0};
    intptr_t r = 0;
    char *log;
    int rc = S3_RUN(_i, &r, &log, relay_main, struct relay_main, .sv0 = sv[0], .sv1 = sv[1],
                    .tv0 = tv[0], .tv1 = tv[1], .rec = &rec);
    s3_close_pair(sv);
    s3_close_pair(tv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r, 2 * 1000 + 2 * 100 + 4);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_str_eq(log, ""); /* no deadlock report */
}
END_TEST

/* ===== seeing the waits ==================================================== */

enum { NDUMP = 5 };

struct dump_res { char *one[NDUMP]; char *all; int parked[NDUMP]; int err[NDUMP]; };

struct dump_main {
    co_t co;
    int fd[NDUMP]; /* recv, send (full), accept, wait readable, wait writable (full) */
    const void *data;
    struct dump_res *res;
    struct s3_rec rec[NDUMP];
    task_t *t[NDUMP];
    struct s3_until_parked wait;
    int i;
    char buf[8];
};

static char *dump_of(const task_t *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (t)
        task_dump_one(t, f);
    else
        task_dump(f);
    fclose(f);
    return buf;
}

static int dump_main(co_t *co)
{
    struct dump_main *f = (struct dump_main *)co;
    CO_BEGIN(co);
    f->fd[2] = sock_listen("127.0.0.1", 0, 0);
    if (f->fd[2] < 0)
        CO_RAISE(f->fd[2]);
    f->t[0] = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd[0], .buf = f->buf,
                         .len = sizeof f->buf, .out = &f->rec[0]);
    f->t[1] = TASK_SPAWN(s3_writer, struct s3_writer, .fd = f->fd[1], .buf = f->data,
                         .len = BIG, .out = &f->rec[1]);
    f->t[2] = TASK_SPAWN(accepter, struct accepter, .fd = f->fd[2], .out = &f->rec[2]);
    f->t[3] = TASK_SPAWN(waiter, struct waiter, .fd = f->fd[3], .events = SEL_READ, .out = &f->rec[3]);
    f->t[4] = TASK_SPAWN(waiter, struct waiter, .fd = f->fd[4], .events = SEL_WRITE, .out = &f->rec[4]);
    for (f->i = 0; f->i < NDUMP; f->i++) {
        f->wait = (struct s3_until_parked){.t = f->t[f->i], .max = 10};
        AWAIT_CO(&f->wait.co, s3_until_parked);
        f->res->parked[f->i] = (int)CO_VALUE;
    }
    for (f->i = 0; f->i < NDUMP; f->i++)
        f->res->one[f->i] = dump_of(f->t[f->i]);
    f->res->all = dump_of(NULL);
    for (f->i = 0; f->i < NDUMP; f->i++) {
        task_cancel(f->t[f->i]);
        AWAIT_CATCH(task_join(f->t[f->i]), f->res->err[f->i]);
    }
    CO_FINALLY
    if (f->fd[2] >= 0)
        sock_close(f->fd[2]);
    CO_END;
}

START_TEST(task_dump_shows_what_io_waits_on)
{
    int p[4][2];
    for (int k = 0; k < 4; k++)
        s3_socketpair(p[k]);
    ck_assert_uint_gt(s3_fill(p[3][0]), 0); /* so that waiting to write parks */
    void *data = calloc(1, BIG);
    ck_assert_ptr_nonnull(data);
    struct dump_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int fds[NDUMP] = {p[0][0], p[1][0], -1, p[2][0], p[3][0]};
    int rc = S3_RUN(_i, NULL, &log, dump_main, struct dump_main,
                    .fd = {fds[0], fds[1], fds[2], fds[3], fds[4]}, .data = data, .res = &res);
    free(data);
    for (int k = 0; k < 4; k++)
        s3_close_pair(p[k]);
    ck_assert_int_eq(rc, 0);
    static const char *const what[NDUMP] = {"recv", "send", "accept", "wait readable",
                                            "wait writable"};
    for (int k = 0; k < NDUMP; k++) {
        ck_assert_int_eq(res.parked[k], 1);
        ck_assert_int_eq(res.err[k], -ECANCELED);
        ck_assert_ptr_nonnull(res.one[k]);
        char want[64];
        if (k == 2) /* the listening socket's number is only known in the dump */
            snprintf(want, sizeof want, " parked on io %s on fd ", what[k]);
        else
            snprintf(want, sizeof want, " parked on io %s on fd %d\n", what[k], fds[k]);
        ck_assert_msg(strstr(res.one[k], want) != NULL, "want \"%s\" in:\n%s", want, res.one[k]);
        ck_assert_ptr_nonnull(strstr(res.all, want));
        free(res.one[k]);
    }
    ck_assert_ptr_nonnull(strstr(res.all, "6 task(s), 0 ready:"));
    free(res.all);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== io_wait and argument errors ======================================== */

struct wait_res { struct s3_rec rec; intptr_t wr, n; int parked; char buf[4]; };

struct wait_main { co_t co; int fd, peer; struct wait_res *res; task_t *t; struct s3_until_parked wait; };
static int wait_main(co_t *co)
{
    struct wait_main *f = (struct wait_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(waiter, struct waiter, .fd = f->fd, .events = SEL_READ, .out = &f->res->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->parked = (int)CO_VALUE;
    if (write(f->peer, "q", 1) != 1)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->t));
    AWAIT(io_wait(f->fd, SEL_WRITE)); /* an empty socket: writable */
    f->res->wr = CO_VALUE;
    AWAIT(sock_recv(f->fd, f->res->buf, sizeof f->res->buf - 1)); /* io_wait read nothing */
    f->res->n = CO_VALUE;
    CO_END;
}

START_TEST(io_wait_reports_the_ready_events)
{
    int sv[2];
    s3_socketpair(sv);
    struct wait_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, wait_main, struct wait_main, .fd = sv[0], .peer = sv[1], .res = &res);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.parked, 1);
    ck_assert_int_eq(res.rec.fin_err, 0);
    ck_assert_int_eq(res.rec.n & SEL_READ, SEL_READ);
    ck_assert_int_eq(res.wr & SEL_WRITE, SEL_WRITE);
    ck_assert_int_eq(res.n, 1);
    ck_assert_str_eq(res.buf, "q");
    ck_assert_str_eq(log, "");
}
END_TEST

enum { NARGS = 13 };

struct args_main { co_t co; int fd; int *err; intptr_t *val; size_t *waiting; int i; };

/* Each operation in turn, by index: its error and value are recorded. */
static int args_main(co_t *co)
{
    struct args_main *f = (struct args_main *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < NARGS; f->i++) {
        f->err[f->i] = 1; /* "not run" */
        if (f->i == 0)
            AWAIT_CATCH(io_wait(f->fd, 0), f->err[f->i]);
        else if (f->i == 1)
            AWAIT_CATCH(io_wait(f->fd, SEL_READ | SEL_WRITE), f->err[f->i]);
        else if (f->i == 2)
            AWAIT_CATCH(io_wait(f->fd, 4), f->err[f->i]);
        else if (f->i == 3)
            AWAIT_CATCH(io_wait(-1, SEL_READ), f->err[f->i]);
        else if (f->i == 4)
            AWAIT_CATCH(io_wait(-1, SEL_WRITE), f->err[f->i]);
        else if (f->i == 5)
            AWAIT_CATCH(sock_recv(-1, f->val, 1), f->err[f->i]);
        else if (f->i == 6)
            AWAIT_CATCH(sock_send_all(-1, "x", 1), f->err[f->i]);
        else if (f->i == 7)
            AWAIT_CATCH(sock_accept(-1), f->err[f->i]);
        else if (f->i == 8)
            AWAIT_CATCH(sock_recv(f->fd, NULL, 5), f->err[f->i]);
        else if (f->i == 9)
            AWAIT_CATCH(sock_send_all(f->fd, NULL, 5), f->err[f->i]);
        else if (f->i == 10)
            AWAIT_CATCH(sock_send_all(f->fd, "", 0), f->err[f->i]);
        else if (f->i == 11)
            AWAIT_CATCH(sock_accept(f->fd), f->err[f->i]); /* not listening */
        else
            AWAIT_CATCH(sock_recv(f->fd, f->val, 1), f->err[f->i]); /* nothing there */
        f->val[f->i] = f->err[f->i] ? 0 : CO_VALUE;
    }
    *f->waiting = loop_current()->io.nwaiting;
    CO_END;
}

START_TEST(operation_argument_errors)
{
    int sv[2];
    s3_socketpair(sv);
    int err[NARGS];
    intptr_t val[NARGS];
    size_t waiting = 99;
    memset(err, 0, sizeof err);
    memset(val, 0, sizeof val);
    /* for the last operation, a recv that succeeds */
    s3_write(sv[1], "z", 1);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, args_main, struct args_main, .fd = sv[0], .err = err,
                    .val = val, .waiting = &waiting);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(err[0], -EINVAL);
    ck_assert_int_eq(err[1], -EINVAL);
    ck_assert_int_eq(err[2], -EINVAL);
    ck_assert_int_eq(err[3], -EBADF);
    ck_assert_int_eq(err[4], -EBADF);
    ck_assert_int_eq(err[5], -EBADF);
    ck_assert_int_eq(err[6], -EBADF);
    ck_assert_int_eq(err[7], -EBADF);
    ck_assert_int_eq(err[8], -EFAULT);
    ck_assert_int_eq(err[9], -EFAULT);
    ck_assert_int_eq(err[10], 0); /* sending nothing succeeds at once */
    ck_assert_int_eq(val[10], 0);
    ck_assert_int_eq(err[11], -EINVAL); /* accept(2) on a socket not listening */
    ck_assert_int_eq(err[12], 0);
    ck_assert_int_eq(val[12], 1);
    ck_assert_uint_eq(waiting, 0);
    ck_assert_str_eq(log, "");
}
END_TEST

/* io_wait on a descriptor that has been closed (with close(2), behind the
 * loop's back): nothing can become ready on it, so it fails with -EBADF, on
 * every backend. */
struct closed_main { co_t co; int fd; int err; intptr_t val; };
static int closed_main(co_t *co)
{
    struct closed_main *f = (struct closed_main *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(io_wait(f->fd, SEL_READ), f->err);
    f->val = CO_VALUE;
    CO_RETURN(f->err ? f->err : 1000 + f->val);
    CO_END;
}

START_TEST(io_wait_on_closed_fd_is_ebadf)
{
    /* A closed number with a free one below it, which the loop's own
     * descriptor (epoll's) takes instead, and small enough to lie within
     * the process's descriptor table (select ignores numbers beyond it). */
    int sv[2];
    s3_socketpair(sv);
    int fd = dup(sv[1]);
    ck_assert_int_gt(fd, sv[0]);
    close(fd);
    close(sv[0]);
    ck_assert(!s3_is_open(fd));
    intptr_t r = 0;
    char *log;
    int rc = S3_RUN(_i, &r, &log, closed_main, struct closed_main, .fd = fd);
    close(sv[1]);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(r == -EBADF, "%s: io_wait on closed fd %d gave %s %ld", s3_backends[_i], fd,
                  r < 0 ? "error" : "events", (long)(r < 0 ? r : r - 1000));
}
END_TEST

/* The same for a number far above every open descriptor.  select(2)
 * silently ignores set bits beyond the process's descriptor table (it says
 * EBADF only within it), so the waiter must not rely on select to notice.
 * Bounded: after some turns of the loop the waiter is cancelled, so a
 * waiter that would hang fails with -ECANCELED instead. */
struct never_main { co_t co; int fd; task_t *t; struct s3_rec rec; int i, err; };
static int never_main(co_t *co)
{
    struct never_main *f = (struct never_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(waiter, struct waiter, .fd = f->fd, .events = SEL_READ, .out = &f->rec);
    for (f->i = 0; f->i < 10 && !f->rec.fin; f->i++)
        AWAIT(task_yield()); /* each turn polls the selector */
    task_cancel(f->t);
    AWAIT_CATCH(task_join(f->t), f->err);
    CO_RETURN(f->err);
    CO_END;
}

START_TEST(io_wait_on_never_opened_fd_is_ebadf)
{
    int fd = FD_SETSIZE - 100; /* select can take it; nothing this high is open */
    ck_assert(!s3_is_open(fd));
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S3_RUN(_i, &r, &log, never_main, struct never_main, .fd = fd), 0);
    ck_assert_msg(r == -EBADF, "%s: io_wait on fd %d (never opened) gave %ld%s", s3_backends[_i],
                  fd, (long)r, r == -ECANCELED ? ": it never woke" : "");
}
END_TEST

/* epoll cannot watch a regular file (EPERM) and the task must not park;
 * select and poll report a regular file always ready. */
START_TEST(io_wait_on_regular_file)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S3_RUN(_i, &r, &log, closed_main, struct closed_main, .fd = fileno(tmp)), 0);
    fclose(tmp);
    if (strcmp(s3_backends[_i], "epoll") == 0)
        ck_assert_int_eq(r, -EPERM);
    else
        ck_assert_int_eq((r - 1000) & SEL_READ, SEL_READ);
    ck_assert_str_eq(log, "");
}
END_TEST

/* Through the loop, a descriptor >= FD_SETSIZE: select refuses it without
 * parking the task; poll and epoll wait on it like any other. */
struct high_main { co_t co; int fd, peer; int parked; size_t waiting; struct s3_rec rec; task_t *t; struct s3_until_parked wait; int err; char buf[4]; };
static int high_main(co_t *co)
{
    struct high_main *f = (struct high_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->buf, .len = 1,
                      .out = &f->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 3};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->parked = (int)CO_VALUE;
    f->waiting = loop_current()->io.nwaiting;
    if (write(f->peer, "h", 1) != 1)
        CO_RAISE(-EIO);
    AWAIT_CATCH(task_join(f->t), f->err);
    CO_RETURN(f->err ? f->err : CO_VALUE);
    CO_END;
}

START_TEST(recv_on_fd_beyond_fd_setsize)
{
    int sv[2];
    s3_socketpair(sv);
    int hi = s3_high_fd(sv[0]);
    if (hi < 0) {
        s3_close_pair(sv);
        return; /* the limits cannot reach FD_SETSIZE here (said why) */
    }
    intptr_t r = 0;
    char *log;
    struct high_main m = {.fd = hi, .peer = sv[1]};
    int rc = s3_run(_i, high_main, &m, sizeof m, &r, &log);
    close(hi);
    s3_close_pair(sv);
    ck_assert_int_eq(rc, 0);
    if (strcmp(s3_backends[_i], "select") == 0)
        ck_assert_int_eq(r, -ERANGE);
    else
        ck_assert_int_eq(r, 1);
    ck_assert_str_eq(log, "");
}
END_TEST

/* ===== a signal while the loop waits in the selector ====================== */

static atomic_int alarms;

static void on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add(&alarms, 1);
}

struct eintr_helper {
    pthread_t loop_thread;
    char path[64];  /* the loop thread's /proc/self/task/TID/syscall, or "" */
    int fd;         /* write here after the signal */
    int saw_wait;   /* the loop thread was seen in the selector's system call */
    int wrote;
};

/* 1 if the thread whose /proc syscall file is `path` is blocked in one of
 * the system calls the selectors wait in. */
static int in_selector(const char *path)
{
    static const long waits[] = {
#ifdef SYS_select
        SYS_select,
#endif
#ifdef SYS_pselect6
        SYS_pselect6,
#endif
#ifdef SYS_poll
        SYS_poll,
#endif
#ifdef SYS_ppoll
        SYS_ppoll,
#endif
#ifdef SYS_epoll_wait
        SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait
        SYS_epoll_pwait,
#endif
#ifdef SYS_epoll_pwait2
        SYS_epoll_pwait2,
#endif
        -1,
    };
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long nr = -1;
    int got = fscanf(f, "%ld", &nr); /* "running" when not in a system call */
    fclose(f);
    for (size_t k = 0; got == 1 && waits[k] != -1; k++)
        if (nr == waits[k])
            return 1;
    return 0;
}

enum { HELPER_SPINS = 100000 };

/* Waits (yielding the CPU, never sleeping) until the loop thread blocks in
 * the selector, interrupts it with SIGALRM, waits until it blocks again,
 * then writes the data the parked recv waits for.  Every wait is bounded:
 * if /proc cannot say, the signal and the data simply come sooner. */
static void *eintr_thread(void *arg)
{
    struct eintr_helper *h = arg;
    int spins = 0;
    while (h->path[0] && !in_selector(h->path) && ++spins < HELPER_SPINS)
        sched_yield();
    h->saw_wait = h->path[0] && spins < HELPER_SPINS;
    pthread_kill(h->loop_thread, SIGALRM);
    for (spins = 0; atomic_load(&alarms) == 0 && spins < HELPER_SPINS; spins++)
        sched_yield();
    for (spins = 0; h->path[0] && !in_selector(h->path) && spins < HELPER_SPINS; spins++)
        sched_yield();
    h->wrote = write(h->fd, "sig", 3) == 3;
    return NULL;
}

struct eintr_res { int started, parked; struct s3_rec rec; uint64_t polls_before, polls_after; };

struct eintr_main {
    co_t co;
    int fd;
    struct eintr_helper *helper;
    pthread_t *thread;
    struct eintr_res *res;
    task_t *t;
    struct s3_until_parked wait;
    char buf[8];
};

static int eintr_main(co_t *co)
{
    struct eintr_main *f = (struct eintr_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->buf,
                      .len = sizeof f->buf - 1, .out = &f->res->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->parked = (int)CO_VALUE;
    f->res->started = pthread_create(f->thread, NULL, eintr_thread, f->helper) == 0;
    if (!f->res->started)
        task_cancel(f->t);
    f->res->polls_before = loop_current()->io.polls;
    AWAIT(task_join(f->t)); /* every task parked: the loop blocks in the selector */
    f->res->polls_after = loop_current()->io.polls;
    CO_END;
}

/* The calling thread's /proc syscall file (Linux), found through
 * /proc/thread-self/stat, whose first field is the thread's id; "" if
 * there is none. */
static void thread_syscall_path(char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/thread-self/stat", "r");
    if (!f)
        return;
    long tid;
    if (fscanf(f, "%ld", &tid) == 1)
        snprintf(out, size, "/proc/self/task/%ld/syscall", tid);
    fclose(f);
    f = fopen(out, "r");
    if (!f)
        out[0] = '\0';
    else
        fclose(f);
}

/* Run eintr_main on `backend` with the helper thread that interrupts its
 * wait (SIGALRM, with no SA_RESTART: the blocked call fails with EINTR),
 * and put everything back afterwards. */
static int run_interrupted(int backend, int sv[2], struct eintr_helper *h, struct eintr_res *res,
                           char **log)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old), 0);
    sigset_t alrm, oldmask;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alrm, &oldmask);
    atomic_store(&alarms, 0);

    *h = (struct eintr_helper){.loop_thread = pthread_self(), .fd = sv[1]};
    thread_syscall_path(h->path, sizeof h->path);
    pthread_t thread;
    memset(res, 0, sizeof *res);
    int rc = S3_RUN(backend, NULL, log, eintr_main, struct eintr_main, .fd = sv[0], .helper = h,
                    .thread = &thread, .res = res);
    if (res->started)
        pthread_join(thread, NULL);
    sigaction(SIGALRM, &old, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    return rc;
}

START_TEST(signal_during_selector_wait_is_harmless)
{
    int sv[2];
    s3_socketpair(sv);
    struct eintr_helper h;
    struct eintr_res res;
    char *log;
    int rc = run_interrupted(_i, sv, &h, &res, &log);
    s3_close_pair(sv);

    ck_assert_int_eq(res.parked, 1);
    ck_assert_int_eq(res.started, 1);
    ck_assert_int_eq(h.wrote, 1);
    ck_assert_int_ge(atomic_load(&alarms), 1);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.rec.fin_err, 0);
    ck_assert_int_eq(res.rec.n, 3); /* the recv completed after the signal */
    ck_assert_str_eq(log, "");      /* and no "selector failed" */
    if (h.saw_wait) /* the signal interrupted a wait: the loop polled again */
        ck_assert_uint_ge(res.polls_after - res.polls_before, 2);
}
END_TEST

/* The whole of a small file, NUL-terminated (asserts). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (size_t n; (n = fread(buf + len, 1, cap - 1 - len, f)) > 0;)
        len += n;
    ck_assert_uint_lt(len, cap - 1);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* The number after `key` in the first event of the trace that contains
 * `event` (asserts it is there). */
static double field_of(const char *json, const char *event, const char *key)
{
    const char *e = strstr(json, event);
    ck_assert_msg(e != NULL, "no %s in the trace:\n%s", event, json);
    const char *k = strstr(e, key);
    ck_assert_ptr_nonnull(k);
    return strtod(k + strlen(key), NULL);
}

/* The trace's loop lane: the same run as above, traced in steps.  The
 * signal makes the selector return having readied nobody, then the data
 * readies the reader: two polls (when the signal did interrupt a wait) but
 * one wait, so a trace does not depend on how often the kernel woke the
 * loop for nothing.  The wait spans exactly the wake it delivered. */
START_TEST(trace_loop_lane_one_wait_despite_the_signal)
{
    char path[] = "/tmp/stage03_traceXXXXXX";
    int tfd = mkstemp(path);
    ck_assert_int_ge(tfd, 0);
    close(tfd);
    setenv("ASYNC_TRACE", path, 1);
    setenv("ASYNC_TRACE_CLOCK", "steps", 1);
    int sv[2];
    s3_socketpair(sv);
    struct eintr_helper h;
    struct eintr_res res;
    char *log;
    int rc = run_interrupted(_i, sv, &h, &res, &log);
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_TRACE_CLOCK");
    s3_close_pair(sv);
    char *json = slurp(path);
    unlink(path);

    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    ck_assert_int_eq(res.rec.n, 3);
    if (h.saw_wait)
        ck_assert_uint_ge(res.polls_after - res.polls_before, 2);
    ck_assert_int_eq(count_of(json, "\"tid\":0,\"args\":{\"name\":\"loop\"}"), 1);
    ck_assert_int_eq(count_of(json, "\"name\":\"wait\""), 1);
    char want[64];
    snprintf(want, sizeof want, "\"selector\":\"%s\",\"woke\":1}", s3_backends[_i]);
    ck_assert_msg(strstr(json, want) != NULL, "no %s in:\n%s", want, json);
    double ts = field_of(json, "\"name\":\"wait\"", "\"ts\":");
    double dur = field_of(json, "\"name\":\"wait\"", "\"dur\":");
    double wake = field_of(json, "\"name\":\"wake\",\"pid\":1,\"tid\":2,", "\"ts\":");
    ck_assert_msg(ts <= wake && wake < ts + dur, "wait %g+%g, the reader's wake at %g", ts, dur,
                  wake);
    ck_assert_msg(dur == 1, "a wait takes no tick of its own: %g", dur);
    free(json);
}
END_TEST

/* SIGUSR1 while every task is parked and the loop blocks in the selector:
 * the wait is interrupted and the dump comes then, not at the next I/O.  The
 * helper signals once the loop thread is in the wait, then waits for it to
 * come out (the dump) and go back in, and only then writes the data the
 * reader waits for; so a dump that waited for the I/O would show the reader
 * done, not parked.  Without /proc it cannot tell, and only the dump's
 * coming at all is checked. */
static void *usr1_thread(void *arg)
{
    struct eintr_helper *h = arg;
    int spins = 0;
    while (h->path[0] && !in_selector(h->path) && ++spins < HELPER_SPINS)
        sched_yield();
    h->saw_wait = h->path[0] && spins < HELPER_SPINS;
    pthread_kill(h->loop_thread, SIGUSR1);
    for (spins = 0; h->path[0] && in_selector(h->path) && spins < HELPER_SPINS; spins++)
        sched_yield();
    for (spins = 0; h->path[0] && !in_selector(h->path) && spins < HELPER_SPINS; spins++)
        sched_yield();
    h->wrote = write(h->fd, "sig", 3) == 3;
    return NULL;
}

struct usr1_main {
    co_t co;
    int fd;
    struct eintr_helper *helper;
    pthread_t *thread;
    struct eintr_res *res;
    task_t *t;
    struct s3_until_parked wait;
    char buf[8];
};

static int usr1_main(co_t *co)
{
    struct usr1_main *f = (struct usr1_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s3_reader, struct s3_reader, .fd = f->fd, .buf = f->buf,
                      .len = sizeof f->buf - 1, .out = &f->res->rec);
    f->wait = (struct s3_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->wait.co, s3_until_parked);
    f->res->parked = (int)CO_VALUE;
    f->res->started = pthread_create(f->thread, NULL, usr1_thread, f->helper) == 0;
    if (!f->res->started)
        task_cancel(f->t);
    AWAIT(task_join(f->t)); /* every task parked: the loop blocks in the selector */
    CO_END;
}

START_TEST(sigusr1_during_selector_wait_dumps_at_once)
{
    int sv[2];
    s3_socketpair(sv);
    sigset_t usr1, oldmask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, &oldmask);
    struct eintr_helper h = {.loop_thread = pthread_self(), .fd = sv[1]};
    thread_syscall_path(h.path, sizeof h.path);
    pthread_t thread;
    struct eintr_res res;
    memset(&res, 0, sizeof res);
    char *log;
    int rc = S3_RUN(_i, NULL, &log, usr1_main, struct usr1_main, .fd = sv[0], .helper = &h,
                    .thread = &thread, .res = &res);
    if (res.started)
        pthread_join(thread, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    s3_close_pair(sv);

    ck_assert_int_eq(res.parked, 1);
    ck_assert_int_eq(res.started, 1);
    ck_assert_int_eq(h.wrote, 1);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.rec.n, 3); /* the program went on */
    ck_assert_int_eq(count_of(log, "async: SIGUSR1: the tasks after "), 1);
    ck_assert_ptr_null(strstr(log, "selector failed"));
    if (h.saw_wait) /* the dump came while the reader still waited */
        ck_assert_msg(strstr(log, "  task 's3_reader#2' parked on io recv on fd ") != NULL,
                      "the log:\n%s", log);
}
END_TEST

void stage03_add_loop(Suite *s)
{
    TCase *tc = s3_case(s, "io_cancel");
    s3_add(tc, cancel_parked_recv);
    s3_add(tc, cancel_parked_send_all);
    s3_add(tc, cancel_pending_before_io_consumes_nothing);
    s3_add(tc, cancel_pending_io_wait_leaves_nothing_registered);
    s3_add(tc, cancel_after_io_completed_keeps_the_data);
    s3_add(tc, group_failure_cancels_parked_readers);

    tc = s3_case(s, "io_waiters");
    s3_add(tc, one_reader_and_one_writer_per_fd);
    s3_add(tc, sock_close_wakes_waiters_with_ebadf);
    s3_add(tc, waiters_survive_fd_table_growth);

    tc = s3_case(s, "io_fairness");
    s3_add(tc, yielding_task_does_not_starve_reader);
    s3_add(tc, io_budget_lets_others_run);
    s3_add(tc, short_read_then_more_data_and_eof);

    tc = s3_case(s, "io_loop_end");
    s3_add(tc, loop_ends_with_sockets_still_registered);
    s3_add(tc, join_cycle_still_deadlocks);
    s3_add(tc, parked_recv_is_not_a_deadlock);

    tc = s3_case(s, "io_seeing");
    s3_add(tc, task_dump_shows_what_io_waits_on);

    tc = s3_case(s, "io_args");
    s3_add(tc, io_wait_reports_the_ready_events);
    s3_add(tc, operation_argument_errors);
    s3_add(tc, io_wait_on_closed_fd_is_ebadf);
    s3_add(tc, io_wait_on_never_opened_fd_is_ebadf);
    s3_add(tc, io_wait_on_regular_file);
    s3_add(tc, recv_on_fd_beyond_fd_setsize);

    tc = s3_case(s, "io_eintr");
    s3_add(tc, signal_during_selector_wait_is_harmless);
    s3_add(tc, sigusr1_during_selector_wait_dumps_at_once);
    s3_add(tc, trace_loop_lane_one_wait_despite_the_signal);
}
