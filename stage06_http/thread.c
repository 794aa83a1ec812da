/*
 * thread.c - a worker pool whose finished jobs come back through a pipe.
 *
 * The pool exists while jobs are out: the first thread_run of a loop makes
 * it (the pipe and a helper task, "thread pool", that waits on it), workers
 * are started as jobs need them, and when the last job is collected the
 * helper stops and joins the workers, closes the pipe and frees the pool.
 * Only the members under `mu` are touched by the workers.
 */
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "loop.h"
#include "selector.h"
#include "sleep.h"
#include "task.h"

#define THREAD_MAX 32

struct job {
    struct list link; /* in pending, then in done (both under mu) */
    thread_fn fn;
    void *arg;
    int result;
    task_t *task;     /* the task parked on it (loop side only) */
    int cancelled;    /* (loop side only) */
};

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work;      /* signalled when a job is pending, or stop */
    struct list pending, done;
    size_t npending;
    int nidle, stop;
    int nthreads, max;        /* (loop side only, like the rest) */
    pthread_t threads[THREAD_MAX];
    int rfd, wfd;             /* the self-pipe */
    size_t outstanding;       /* jobs submitted and not yet collected */
};

/* One loop per thread, so one pool per thread: the loop's, while jobs are out. */
static _Thread_local struct pool *pool_here;

int thread_max_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n + 4 < THREAD_MAX ? (int)n + 4 : THREAD_MAX;
}

/* ---- the worker side ------------------------------------------------------ */

static void *worker(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->npending == 0 && !p->stop) {
            p->nidle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->nidle--;
        }
        if (p->npending == 0)
            break; /* stop, and nothing left to do */
        struct job *j = list_entry(list_first(&p->pending), struct job, link);
        list_remove(&j->link);
        p->npending--;
        pthread_mutex_unlock(&p->mu);
        int r = j->fn(j->arg); /* the blocking call, with no lock held */
        pthread_mutex_lock(&p->mu);
        j->result = r;
        list_append(&p->done, &j->link);
        /* Wake the loop.  A full pipe already will: EAGAIN is fine.  (The
         * pool cannot vanish under us: it waits for this thread's exit.) */
        ssize_t w = write(p->wfd, "", 1);
        (void)w;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Start a worker with every signal blocked, so that signals go to the loop's
 * thread, where the program's handlers expect them. */
static int start_worker(struct pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return -r;
    p->nthreads++;
    return 0;
}

/* ---- the loop side --------------------------------------------------------- */

static void pool_free(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL); /* idle: they exit at once */
    io_forget(p->rfd); /* the next pool's pipe may get the same number */
    close(p->rfd);
    close(p->wfd);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    if (pool_here == p)
        pool_here = NULL;
    free(p);
}

/* Wake the tasks whose jobs finished. */
static void collect(struct pool *p)
{
    char buf[64];
    while (read(p->rfd, buf, sizeof buf) > 0)
        ; /* drain first, then take the list: a byte written after this
             read belongs to a job the next wait will see */
    struct list done;
    list_init(&done);
    pthread_mutex_lock(&p->mu);
    if (!list_empty(&p->done)) { /* splice the whole list out */
        done.next = p->done.next;
        done.prev = p->done.prev;
        done.next->prev = done.prev->next = &done;
        list_init(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    while (!list_empty(&done)) {
        struct job *j = list_entry(list_first(&done), struct job, link);
        list_remove(&j->link);
        p->outstanding--;
        if (j->cancelled)
            task_wake(j->task, 0, -ECANCELED); /* the result is dropped */
        else
            task_wake(j->task, j->result >= 0 ? j->result : 0, j->result < 0 ? j->result : 0);
        free(j);
    }
}

struct helper_frame {
    co_t co;
    struct pool *p;
    int err;
};

/* The task that waits on the pipe for as long as jobs are out. */
static int pool_helper(co_t *co)
{
    struct helper_frame *f = (struct helper_frame *)co;
    CO_BEGIN(co);
    while (f->p->outstanding > 0) {
        AWAIT_CATCH(io_wait(f->p->rfd, SEL_READ), f->err);
        /* A selector that refuses the pipe (select, with over FD_SETSIZE
         * descriptors open) still gets results back, a millisecond late. */
        if (f->err && f->err != -ECANCELED)
            AWAIT_CATCH(sleep_ms(1), f->err);
        collect(f->p);
    }
    CO_FINALLY
    pool_free(f->p);
    CO_END;
}

static int pool_new(struct pool **out)
{
    struct pool *p = calloc(1, sizeof *p);
    int fds[2];
    if (!p)
        return -ENOMEM;
    if (pipe(fds) < 0) {
        int err = -errno;
        free(p);
        return err;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    p->max = thread_max_workers();
    p->rfd = fds[0];
    p->wfd = fds[1];
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    list_init(&p->pending);
    list_init(&p->done);
    task_t *h = TASK_SPAWN(pool_helper, struct helper_frame, .p = p);
    if (!h) {
        pool_free(p);
        return -ENOMEM;
    }
    h->name = "thread pool";
    task_detach(h);
    *out = p;
    return 0;
}

/* Queue j for a worker, starting one if every worker is busy. */
static int submit(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    list_append(&p->pending, &j->link);
    p->npending++;
    int r = 0;
    if (p->npending > (size_t)p->nidle && p->nthreads < p->max)
        r = start_worker(p);
    if (r < 0 && p->nthreads > 0)
        r = 0; /* the workers there are will get to it */
    if (r < 0) {
        list_remove(&j->link);
        p->npending--;
    } else {
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static void thread_cancel(task_t *t)
{
    struct job *j = t->wait_on;
    j->cancelled = 1; /* the task wakes when fn returns, not before */
}

static void thread_describe(const task_t *t, FILE *out)
{
    const struct job *j = t->wait_on;
    fprintf(out, "a worker thread%s", j->cancelled ? " (cancelled: waiting for it to return)" : "");
}

static const struct task_wait thread_wait = {
    .what = "thread", .cancel = thread_cancel, .describe = thread_describe};

int thread_run(thread_fn fn, void *arg)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    if (!fn)
        return task_done_now(0, -EINVAL);
    if (task__cancel_due(t))
        return task_park(&thread_wait, NULL); /* refused: -ECANCELED, nothing started */
    struct pool *p = pool_here;
    int r = p ? 0 : pool_new(&p);
    if (r < 0)
        return task_done_now(0, r);
    pool_here = p;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return task_done_now(0, -ENOMEM);
    j->fn = fn;
    j->arg = arg;
    j->task = t;
    /* Park before a worker may see the job: the task is parked by the time
     * its result can come back. */
    r = task_park(&thread_wait, j);
    if (r != TASK_OP_PARKED) {
        free(j);
        return r;
    }
    r = submit(p, j);
    if (r < 0) {
        free(j);
        task_wake(t, 0, r);
    } else {
        p->outstanding++;
    }
    return TASK_OP_PARKED;
}
