/*
 * sig.c - the self-pipe: a signal handler's only job is one write(2).
 *
 * write is async-signal-safe (POSIX lists it), and the pipe is non-blocking
 * at both ends: when it is full - a storm of signals nobody reads - the
 * handler drops the byte rather than block inside the signal, which would
 * hang the process.  The handler keeps errno, which it may interrupt a
 * system call in the middle of reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "loop.h"
#include "sig.h"
#include "sock.h"

#define SIG_MAX 65 /* signal numbers on Linux run to 64 */

static int pipe_fd[2] = {-1, -1};
static struct sigaction saved[SIG_MAX];
static unsigned char watched[SIG_MAX];

static void on_signal(int signo)
{
    int saved_errno = errno;
    unsigned char b = (unsigned char)signo;
    (void)!write(pipe_fd[1], &b, 1);
    errno = saved_errno;
}

static int open_pipe(void)
{
    if (pipe_fd[0] >= 0)
        return 0;
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    for (int i = 0; i < 2; i++)
        if (fcntl(p[i], F_SETFL, O_NONBLOCK) < 0 || fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0) {
            int err = -errno;
            close(p[0]);
            close(p[1]);
            return err;
        }
    pipe_fd[0] = p[0];
    pipe_fd[1] = p[1];
    return 0;
}

int sig_watch(int signo)
{
    if (signo <= 0 || signo >= SIG_MAX)
        return -EINVAL;
    int r = open_pipe();
    if (r < 0)
        return r;
    if (watched[signo])
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the loop never needs EINTR: the pipe wakes it */
    if (sigaction(signo, &sa, &saved[signo]) < 0)
        return -errno;
    watched[signo] = 1;
    return 0;
}

void sig_unwatch_all(void)
{
    for (int s = 1; s < SIG_MAX; s++)
        if (watched[s]) {
            sigaction(s, &saved[s], NULL);
            watched[s] = 0;
        }
    if (pipe_fd[0] >= 0) {
        /* The read end may be registered with a loop's selector. */
        if (loop_current())
            sock_close(pipe_fd[0]);
        else
            close(pipe_fd[0]);
        close(pipe_fd[1]);
        pipe_fd[0] = pipe_fd[1] = -1;
    }
}

static int read_try(int fd, struct io_waiter *w, intptr_t *val)
{
    (void)w;
    unsigned char b;
    ssize_t n;
    do
        n = read(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (n == 0)
        return -EPIPE;
    *val = b;
    return 0;
}

int sig_wait(void)
{
    if (pipe_fd[0] < 0)
        return task_done_now(0, -EINVAL);
    struct io_waiter w = {.try_op = read_try, .what = "signal"};
    return io__start(pipe_fd[0], SEL_READ, &w);
}
