/*
 * stage03_util.h - what the stage-3 test files share.
 *
 * Every test that runs the loop runs once per selector backend: it is added
 * with s3_add(), which makes it a check loop test whose `_i` indexes
 * s3_backends[] (0 select, 1 poll, 2 epoll: a failure message names the
 * test and its `_i`), and it runs the loop with S3_RUN(_i, ...), which
 * passes that backend through loop_opts.selector and captures the loop's
 * log in memory.
 *
 * The stage-2 helpers (ev(), evlog, RUN(), new_case(), ...) are linked in
 * too; names defined here start with s3_ so the two files never clash.
 */
#ifndef STAGE03_UTIL_H
#define STAGE03_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "loop.h"
#include "selector.h"
#include "sock.h"
#include "stage02_util.h"

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage03_suite(void);          /* test_stage03.c */
void stage03_add_selector(Suite *s); /* test_stage03_selector.c */
void stage03_add_sock(Suite *s);     /* test_stage03_sock.c */
void stage03_add_loop(Suite *s);     /* test_stage03_loop.c */

/* ---- the backends -------------------------------------------------------- */

#ifdef __linux__
enum { S3_NBACKENDS = 3 };
#else
enum { S3_NBACKENDS = 2 };
#endif
extern const char *const s3_backends[S3_NBACKENDS];

/* io.c's IO_BUDGET (private there): immediate completions per task step. */
enum { S3_IO_BUDGET = 64 };

/* A tcase named `name` with stage 2's fixture and a timeout generous enough
 * for the sanitizers, added to s. */
TCase *s3_case(Suite *s, const char *name);

/* Add `t` to tc once per backend (`_i` = index into s3_backends). */
void s3_add(TCase *tc, const TTest *t);

/* ---- running the loop on one backend ----------------------------------- */

/* loop_run_opts with .selector = s3_backends[backend] and the loop's log
 * captured; *log receives what was written to it, valid until the next
 * s3_run or the end of the test (which free it: the caller does not). */
int s3_run(int backend, co_fn fn, const void *frame, size_t size,
           intptr_t *result, char **log);

/* S3_RUN(_i, &result, &log, fn, struct frame, .field = value...) */
#define S3_RUN(backend, result, log, ...) S3_RUN_(backend, result, log, __VA_ARGS__, )
#define S3_RUN_(backend, result, log, fn, type, ...)                          \
    s3_run((backend), (fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type),    \
           (result), (log))

/* ---- descriptors ---------------------------------------------------------- */

/* A non-blocking, close-on-exec AF_UNIX stream socketpair (asserts). */
void s3_socketpair(int sv[2]);

/* Close both ends (those still >= 0). */
void s3_close_pair(int sv[2]);

/* Write all of buf to a non-blocking descriptor that has room (asserts). */
void s3_write(int fd, const void *buf, size_t len);

/* Write to fd until it would block; returns how many bytes went in. */
size_t s3_fill(int fd);

/* A loopback port with nothing listening: bound, never listened on, closed.
 * Another program could take it meanwhile; on a test machine none does. */
int s3_dead_port(void);

/* How many descriptors this process has open (entries of /proc/self/fd). */
int s3_nfds(void);

/* 1 if fd is an open descriptor. */
int s3_is_open(int fd);

/* A descriptor >= FD_SETSIZE referring to the same socket as fd, raising
 * the soft RLIMIT_NOFILE to the hard limit if needed; -1 (after saying why
 * on stderr) if the limits cannot reach it. */
int s3_high_fd(int fd);

/* A deterministic byte pattern with no short period: byte i of a stream. */
unsigned char s3_pattern(size_t i);

/* ---- coroutines many tests share ---------------------------------------- */

/* What a s3_reader saw; it lives outside the task (its frame is freed). */
struct s3_rec {
    int started;  /* the body began */
    int done;     /* the recv completed */
    intptr_t n;   /* ... with this many bytes */
    int fin;      /* CO_FINALLY ran */
    int fin_err;  /* ... with this error in flight */
};

/* One sock_recv(fd, buf, len); the task's value is its result, an error
 * ends it (through CO_FINALLY, recorded in *out). */
struct s3_reader {
    co_t co;
    int fd;
    void *buf;
    size_t len;
    struct s3_rec *out;
};
int s3_reader(co_t *co);

/* One sock_send_all(fd, buf, len), recorded in *out as s3_reader does. */
struct s3_writer {
    co_t co;
    int fd;
    const void *buf;
    size_t len;
    struct s3_rec *out;
};
int s3_writer(co_t *co);

/* Yield until t is parked, at most `max` times; 1 if it is. */
struct s3_until_parked {
    co_t co;
    task_t *t;
    int max;
    int i;
};
int s3_until_parked(co_t *co);

#endif
