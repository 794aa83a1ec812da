/*
 * cancel_worker.c - cancelling two workers that wait for a job.
 *
 * Both workers await next_job() on an inbox nobody writes to, so both park.
 * task_dump shows each one's state, what it waits on, and its await chain.
 * Then main cancels both: a parked task is woken with -ECANCELED at once.
 *   - "tidy" lets the error end it; its CO_FINALLY cleans up on the way out.
 *   - "stubborn" catches it (AWAIT_CO_CATCH, Python's `except CancelledError`),
 *     and returns what it has: it ends DONE with a value, not CANCELLED.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* A wait of our own: a list of parked tasks and a struct task_wait saying
 * how to take one off it.  The loop needs no code for it. */
struct inbox {
    const char *name;
    struct list waiters; /* through task.link */
};

static void inbox_unpark(task_t *t) { list_remove(&t->link); }
static void inbox_describe(const task_t *t, FILE *out)
{
    fprintf(out, "inbox '%s'", ((const struct inbox *)t->wait_on)->name);
}
static const struct task_wait inbox_wait = {
    .what = "recv", .unpark = inbox_unpark, .describe = inbox_describe};

/* The awaitable: park the current task on the inbox (nobody ever wakes it
 * with a job here, so only a cancel will). */
static int inbox_recv(struct inbox *in)
{
    int r = task_park(&inbox_wait, in);
    if (r == TASK_OP_PARKED)
        list_append(&in->waiters, &task_current()->link);
    return r;
}

/* A sub-coroutine, so the dump shows an await chain two frames deep. */
struct next_job { co_t co; struct inbox *in; };
static int next_job(co_t *co)
{
    struct next_job *f = (struct next_job *)co;
    CO_BEGIN(co);
    AWAIT(inbox_recv(f->in));
    CO_RETURN(CO_VALUE);
    CO_END;
}

struct worker {
    co_t co;
    struct inbox *in;
    int stubborn;        /* catch the cancellation instead of ending */
    int err;
    struct next_job sub; /* the child's frame, inside ours */
};

static int worker(co_t *co)
{
    struct worker *f = (struct worker *)co;
    const char *me = task_current()->name; /* set again at every resume */
    CO_BEGIN(co);
    printf("  %s: waiting for a job\n", me);
    f->sub.in = f->in;
    if (f->stubborn) {
        AWAIT_CO_CATCH(&f->sub.co, next_job, f->err);
        printf("  %s: caught %s; returning its partial result 7\n", me,
               task_strerror(f->err));
        CO_RETURN(7);
    }
    AWAIT_CO(&f->sub.co, next_job); /* -ECANCELED ends us here */
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    if (CO_ERROR)
        printf("  %s: cleanup in CO_FINALLY (error: %s)\n", me, task_strerror(CO_ERROR));
    CO_END;
}

struct main_frame {
    co_t co;
    struct inbox in;
    task_t *tidy, *stubborn;
    int err;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->in.name = "jobs";
    list_init(&f->in.waiters);
    /* task_spawn is what TASK_SPAWN expands to, with a name of our choosing
     * (the macro names a task after its function). */
    f->tidy = task_spawn(worker, &(struct worker){.in = &f->in}, sizeof(struct worker),
                         "tidy");
    f->stubborn = task_spawn(worker, &(struct worker){.in = &f->in, .stubborn = 1},
                             sizeof(struct worker), "stubborn");
    AWAIT(task_yield()); /* one turn: both workers run up to their park */

    printf("main: both are parked; task_dump:\n");
    task_dump(stdout);

    printf("main: cancelling both\n");
    task_cancel(f->tidy);
    task_cancel(f->stubborn);

    AWAIT_CATCH(task_join(f->tidy), f->err);
    printf("main: join(tidy) raised %s\n", task_strerror(f->err));
    printf("main: stubborn is %s\n", task_state_name(f->stubborn->state));
    AWAIT(task_join(f->stubborn));
    printf("main: join(stubborn) returned %ld\n", (long)CO_VALUE);
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    printf("loop_run returned %d\n", rc);
    return rc == 0 ? 0 : 1;
}
