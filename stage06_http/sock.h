/*
 * sock.h - TCP sockets as awaitable operations: asyncio's loop.sock_*.
 *
 * Every socket here is non-blocking.  An operation that cannot finish now
 * parks the task until the selector says it can (io.h); all of them are
 * cancellable, and a cancelled one has consumed no data.  Results are
 * values: a byte count or a descriptor, or a negative errno.
 *
 *     int fd = sock_listen("127.0.0.1", 8080, 0);     plain call
 *     AWAIT(sock_accept(fd));   int conn = CO_VALUE;
 *     AWAIT(sock_recv(conn, buf, sizeof buf));   size_t n = CO_VALUE;
 *     AWAIT(sock_send_all(conn, buf, n));
 *     sock_close(conn);                                plain call
 *
 * Addresses are numeric ("127.0.0.1", "::1") at this stage: resolving a name
 * blocks, and stage 5 shows how to keep that off the loop.
 */
#ifndef SOCK_H
#define SOCK_H

#include <stddef.h>

/* ---- plain calls: these never block ------------------------------------ */

/* A listening TCP socket on host:port (host NULL: every IPv4 interface;
 * port 0: the kernel picks one, see sock_port).  backlog <= 0 means the
 * system's maximum.  Returns the descriptor or -errno (-EINVAL for a name
 * that is not a numeric address, or a port outside 0..65535). */
int sock_listen(const char *host, int port, int backlog);

/* sock_listen with SO_REUSEPORT: several processes may listen on the same
 * port at once, and the kernel spreads new connections among them (Linux
 * 3.9 on, the BSDs).  A server outgrowing one core runs one loop per core
 * this way, each with its own listening socket: stage 6's --workers. */
int sock_listen_shared(const char *host, int port, int backlog);

/* The local port of a socket, or -errno. */
int sock_port(int fd);

/* shutdown(2): SHUT_WR says "I will send no more" (the peer reads EOF) while
 * this side can still read.  Returns 0 or -errno. */
int sock_shutdown(int fd, int how);

/* Wake any task waiting on fd with -EBADF, stop watching it, close it.
 * Always close sockets the loop has seen this way, not with close(2).
 * A plain call, so that cleanup code (CO_FINALLY), which cannot await,
 * can close.  Returns 0 or -errno. */
int sock_close(int fd);

/* ---- operations to AWAIT ----------------------------------------------- */

/* Accept a connection; its value is the new socket (non-blocking). */
int sock_accept(int listen_fd);

/* Open a TCP connection to host:port; its value is the new socket.  The
 * connect is non-blocking: EINPROGRESS, wait until writable, then SO_ERROR
 * says how it went.  On failure or cancellation the socket is closed. */
int sock_connect(const char *host, int port);

/* Receive up to len bytes; the value is how many, 0 when the peer has
 * closed its side (end of file). */
int sock_recv(int fd, void *buf, size_t len);

/* Send all len bytes, however many partial writes that takes; the value is
 * len.  A peer that has gone away gives -EPIPE or -ECONNRESET, never
 * SIGPIPE.  If cancelled midway, an unknown prefix has been sent. */
int sock_send_all(int fd, const void *buf, size_t len);

#endif
