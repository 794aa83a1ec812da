/*
 * sig.h - signals as something a task awaits: asyncio's
 * loop.add_signal_handler, trio's open_signal_receiver.
 *
 * A signal handler may interrupt the program anywhere, even inside malloc
 * or in the middle of the loop's own bookkeeping, so it may do almost
 * nothing: here it writes the signal's number into a pipe (the "self-pipe
 * trick").  The pipe's read end is an ordinary descriptor, so a task waits
 * for it through the selector like any socket, and wakes inside the loop,
 * where it may do anything - start a graceful shutdown, say.
 *
 *     sig_watch(SIGTERM);                  plain call, once
 *     AWAIT(sig_wait());                   int signo = CO_VALUE;
 */
#ifndef SIG_H
#define SIG_H

/* From now on, deliver signo to sig_wait() instead of its default action.
 * Returns 0 or -errno. */
int sig_watch(int signo);

/* Restore the disposition every watched signal had before, and close the
 * pipe (call when the loop is done with signals). */
void sig_unwatch_all(void);

/* Operation to AWAIT: the next watched signal.  Its value is the signal's
 * number; -EINVAL if nothing is watched.  One task at a time may wait. */
int sig_wait(void);

#endif
