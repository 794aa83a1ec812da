/*
 * sock.c - socket operations, each a "try" function for io.c to retry.
 */
/* SO_REUSEPORT is not POSIX: glibc declares it only for _DEFAULT_SOURCE
 * (the BSDs and macOS declare it anyway).  Without this line the #ifdef
 * below would quietly take the "not supported" branch. */
#define _DEFAULT_SOURCE
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "task.h"

/* Writing to a socket whose peer has gone raises SIGPIPE, whose default
 * action kills the process.  MSG_NOSIGNAL (POSIX 2008) asks for EPIPE
 * instead, per call; macOS lacks it and has a socket option. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

/* A new TCP socket's settings: non-blocking, no SIGPIPE, and no Nagle delay
 * (asyncio turns Nagle off too: small request/response traffic otherwise
 * waits for the peer's delayed ACK). */
static int prepare(int fd)
{
    int r = set_nonblocking(fd);
    if (r < 0)
        return r;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    io_forget(fd); /* a new descriptor: what we knew of its number is stale */
    return 0;
}

/* host:port as a socket address; only numeric addresses at this stage. */
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (port < 0 || port > 65535)
        return -EINVAL;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!host || inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        if (!host)
            in4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
        return 0;
    }
    return -EINVAL;
}

static int new_socket(int family)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    int r = prepare(fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

static int listen_on(const char *host, int port, int backlog, int shared)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r = parse_addr(host, port, &ss, &len);
    if (r < 0)
        return r;
    int fd = new_socket(ss.ss_family);
    if (fd < 0)
        return fd;
    int one = 1;
    /* Lets a restarted server bind while old connections sit in TIME_WAIT. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef SO_REUSEPORT
    if (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
#else
    if (shared) {
        close(fd);
        return -ENOPROTOOPT;
    }
#endif
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int sock_listen(const char *host, int port, int backlog)
{
    return listen_on(host, port, backlog, 0);
}

int sock_listen_shared(const char *host, int port, int backlog)
{
    return listen_on(host, port, backlog, 1);
}

int sock_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

int sock_shutdown(int fd, int how)
{
    return shutdown(fd, how) < 0 ? -errno : 0;
}

int sock_close(int fd)
{
    if (fd < 0)
        return -EBADF;
    io_forget(fd);
    /* Not retried on EINTR: on Linux the descriptor is gone either way, and
     * a retry could close a descriptor another thread just opened. */
    return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

/* ---- accept ------------------------------------------------------------ */

static int accept_try(int fd, struct io_waiter *w, intptr_t *val)
{
    (void)w;
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0) {
            int r = prepare(c);
            if (r < 0) {
                close(c);
                return r;
            }
            *val = c;
            return 0;
        }
        /* A connection reset before we took it is the peer's business, not
         * the listener's: look for the next one. */
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

int sock_accept(int listen_fd)
{
    struct io_waiter w = {.try_op = accept_try, .what = "accept"};
    return io__start(listen_fd, SEL_READ, &w);
}

/* ---- connect ------------------------------------------------------------ */

/* Called once the socket is writable: the connection attempt has ended, and
 * SO_ERROR holds how. */
static int connect_try(int fd, struct io_waiter *w, intptr_t *val)
{
    (void)w;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err)
        return -err;
    *val = fd;
    return 0;
}

int sock_connect(const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r = host ? parse_addr(host, port, &ss, &len) : -EINVAL;
    if (r < 0)
        return task_done_now(0, r);
    int fd = new_socket(ss.ss_family);
    if (fd < 0)
        return task_done_now(0, fd);
    r = connect(fd, (struct sockaddr *)&ss, len);
    if (r < 0 && errno == EINTR)
        errno = EINPROGRESS; /* POSIX: the attempt goes on in the background */
    if (r == 0)
        return task_done_now(fd, 0); /* loopback can connect at once */
    if (errno != EINPROGRESS) {
        r = -errno;
        close(fd);
        return task_done_now(0, r);
    }
    struct io_waiter w = {.try_op = connect_try, .what = "connect", .owns_fd = 1};
    r = io__park(fd, SEL_WRITE, &w);
    if (r != TASK_OP_PARKED) { /* parking refused: the socket is ours to close */
        io_forget(fd);
        close(fd);
    }
    return r;
}

/* ---- recv and send_all ------------------------------------------------- */

static int recv_try(int fd, struct io_waiter *w, intptr_t *val)
{
    ssize_t n;
    do
        n = recv(fd, w->buf, w->len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    /* Fewer bytes than asked for: the socket is empty for now (see io__start). */
    w->drained = n > 0 && (size_t)n < w->len;
    *val = (intptr_t)n;
    return 0;
}

int sock_recv(int fd, void *buf, size_t len)
{
    if (!buf && len)
        return task_done_now(0, -EFAULT);
    struct io_waiter w = {.try_op = recv_try, .what = "recv", .buf = buf, .len = len};
    return io__start(fd, SEL_READ, &w);
}

static int send_try(int fd, struct io_waiter *w, intptr_t *val)
{
    while (w->done < w->len) {
        ssize_t n = send(fd, (const char *)w->buf + w->done, w->len - w->done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        w->done += (size_t)n; /* a partial write: the rest waits for room */
    }
    *val = (intptr_t)w->len;
    return 0;
}

int sock_send_all(int fd, const void *buf, size_t len)
{
    if (!buf && len)
        return task_done_now(0, -EFAULT);
    /* The buffer is only read; io_waiter has one pointer type for both. */
    struct io_waiter w = {.try_op = send_try, .what = "send", .buf = (void *)(uintptr_t)buf, .len = len};
    return io__start(fd, SEL_WRITE, &w);
}
