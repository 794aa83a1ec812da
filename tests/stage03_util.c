/*
 * stage03_util.c - the helpers and coroutines the stage-3 test files share
 * (declared, with their frames, in stage03_util.h).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stage03_util.h"

/* ---- the backends -------------------------------------------------------- */

const char *const s3_backends[S3_NBACKENDS] = {
    "select",
    "poll",
#ifdef __linux__
    "epoll",
#endif
};

/* The loop's log of the last s3_run, freed by the next one or by the
 * fixture: a test may fail with it unfreed (under valgrind, without fork,
 * a failing assertion skips the rest of the test). */
static char *s3_log;

static void s3_log_release(void)
{
    free(s3_log);
    s3_log = NULL;
}

TCase *s3_case(Suite *s, const char *name)
{
    TCase *tc = new_case(s, name);
    tcase_add_checked_fixture(tc, NULL, s3_log_release);
    tcase_set_timeout(tc, 60);
    return tc;
}

void s3_add(TCase *tc, const TTest *t)
{
    tcase_add_loop_test(tc, t, 0, S3_NBACKENDS);
}

int s3_run(int backend, co_fn fn, const void *frame, size_t size,
           intptr_t *result, char **log)
{
    struct loop_opts o = {0};
    o.selector = s3_backends[backend];
    s3_log_release();
    int rc = run_opts(&o, fn, frame, size, result, &s3_log);
    *log = s3_log;
    return rc;
}

/* ---- descriptors ---------------------------------------------------------- */

void s3_socketpair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(sv[i], F_GETFL);
        ck_assert_int_ge(fl, 0);
        ck_assert_int_eq(fcntl(sv[i], F_SETFL, fl | O_NONBLOCK), 0);
        ck_assert_int_eq(fcntl(sv[i], F_SETFD, FD_CLOEXEC), 0);
    }
}

void s3_close_pair(int sv[2])
{
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        sv[i] = -1;
    }
}

void s3_write(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        ck_assert_msg(n > 0, "write to fd %d: %s", fd, n < 0 ? strerror(errno) : "0");
        done += (size_t)n;
    }
}

size_t s3_fill(int fd)
{
    static const char chunk[4096];
    size_t total = 0;
    for (;;) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    return total;
}

int s3_dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

int s3_nfds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n; /* includes the directory's own descriptor, every time */
}

int s3_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int s3_high_fd(int fd)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "stage03: skipped: getrlimit: %s\n", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= FD_SETSIZE) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= FD_SETSIZE) {
            fprintf(stderr, "stage03: skipped: RLIMIT_NOFILE hard limit %llu does not "
                    "reach FD_SETSIZE (%d)\n", (unsigned long long)rl.rlim_max, FD_SETSIZE);
            return -1;
        }
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            fprintf(stderr, "stage03: skipped: setrlimit: %s\n", strerror(errno));
            return -1;
        }
    }
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
    if (hi < 0)
        fprintf(stderr, "stage03: skipped: F_DUPFD to %d: %s\n", FD_SETSIZE, strerror(errno));
    return hi;
}

unsigned char s3_pattern(size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u;
    return (unsigned char)((x >> 13) ^ (i >> 8) ^ (i >> 16));
}

/* ---- coroutines many tests share ---------------------------------------- */

int s3_reader(co_t *co)
{
    struct s3_reader *f = (struct s3_reader *)co;
    CO_BEGIN(co);
    f->out->started = 1;
    AWAIT(sock_recv(f->fd, f->buf, f->len));
    f->out->done = 1;
    f->out->n = CO_VALUE;
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    f->out->fin = 1;
    f->out->fin_err = CO_ERROR;
    CO_END;
}

int s3_writer(co_t *co)
{
    struct s3_writer *f = (struct s3_writer *)co;
    CO_BEGIN(co);
    f->out->started = 1;
    AWAIT(sock_send_all(f->fd, f->buf, f->len));
    f->out->done = 1;
    f->out->n = CO_VALUE;
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    f->out->fin = 1;
    f->out->fin_err = CO_ERROR;
    CO_END;
}

int s3_until_parked(co_t *co)
{
    struct s3_until_parked *f = (struct s3_until_parked *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->max && f->t->state != TASK_PARKED; f->i++)
        AWAIT(task_yield());
    CO_RETURN(f->t->state == TASK_PARKED);
    CO_END;
}
