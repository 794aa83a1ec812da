/*
 * co.h - resumable functions (generators) in portable C11.
 *
 * A C function cannot stop in the middle and continue later: its locals live
 * on the stack, and the stack frame is gone once it returns.  A generator
 * therefore keeps everything that must survive a pause in a struct of its own,
 * its *frame*, and remembers where to continue in that frame too.  When it is
 * resumed it is simply called again, and a `switch` on the saved position
 * jumps back into the middle of the body (Duff's device, as in Simon Tatham's
 * "Coroutines in C" and Adam Dunkels' protothreads).
 *
 * Every frame starts with a `co_t` header; the rest is the generator's own
 * state (its arguments and its "locals"):
 *
 *     struct countdown { co_t co; int n; };
 *
 *     static int countdown(co_t *co)
 *     {
 *         struct countdown *f = (struct countdown *)co;
 *         CO_BEGIN(co);
 *         while (f->n > 0)
 *             CO_YIELD(f->n--);
 *         CO_RETURN(0);
 *         CO_END;
 *     }
 *
 * The rules the macros cannot enforce, stated once:
 *  1. Locals of the C function do not survive a yield: keep them in the frame.
 *     gcc's -Wjump-misses-init (on in this course's build) catches a local
 *     declared with an initializer after CO_BEGIN; one without an
 *     initializer is never diagnosed, and what it holds after a resume
 *     depends on the compiler and the optimisation level.
 *  2. No `switch` of your own may contain a yield: the yield's `case` label
 *     would belong to your switch, the resume could not reach it, and the
 *     generator would silently end at CO_END's `default:` on the next resume.
 *     Use if/else around yields.
 *  3. At most one yield per source line: the line number is the resume point.
 *  4. The body runs between CO_BEGIN and CO_END, which must both appear once.
 *
 * The protocol mirrors Python's generators: co_next, co_send, co_throw,
 * co_close, a return value distinct from yielded values, and delegation
 * (CO_YIELD_FROM, Python's `yield from`) to a sub-generator whose frame is a
 * member of the parent's frame, so delegating allocates nothing.
 */
#ifndef CO_H
#define CO_H

#include <stdint.h>

typedef struct co co_t;

/* A generator's body: called once per resume with its own frame. */
typedef int (*co_fn)(co_t *co);

/* What one resume reports.  Negative values are errors (-errno style). */
enum {
    CO_RETURNED = 0, /* finished; the return value is in the frame */
    CO_YIELDED = 1,  /* paused at a yield; the yielded value is in the frame */
};

/* Errors for misuse of the protocol.  They sit below errno's range so a
 * generator that raises -EINVAL is never mistaken for one that was misused. */
enum {
    CO_EDONE = -1001,        /* resumed after it finished */
    CO_ENOTSTARTED = -1002,  /* a value sent to a generator that never ran */
    CO_ERUNNING = -1003,     /* resumed from inside its own body */
    CO_ECLOSED = -1004,      /* closed twice */
    CO_EEXIT = -1005,        /* thrown in by co_close (Python's GeneratorExit) */
    CO_EIGNOREDEXIT = -1006, /* yielded again while being closed */
};

enum co_state { CO_CREATED, CO_SUSPENDED, CO_RUNNING, CO_DONE, CO_CLOSED };

/* Where a frame's code lives, for the await-chain dump: one static per function. */
struct co_site {
    const char *func;
    const char *file;
};

struct co {
    int line;          /* resume point: 0 = start, CO__LINE_FINALLY, else __LINE__ */
    uint8_t state;     /* enum co_state */
    uint8_t cleanup;   /* 1 once the CO_FINALLY block has been entered */
    int thrown;        /* error delivered at the suspension point (co_throw) */
    int error;         /* error on its way out: raised, or in flight through CO_FINALLY */
    intptr_t val;      /* value crossing the boundary: yielded, sent, returned */
    intptr_t result;   /* the return value, kept apart while CO_FINALLY runs
                          (it may yield, and a yield reuses `val`) */
    co_t *child;       /* the sub-generator this one delegates to, if any */
    co_fn fn;          /* the body */
    const struct co_site *site; /* set on first entry */
};

/* Prepare a frame's header; the caller's fields (the arguments) are untouched. */
void co_init(co_t *co, co_fn fn);

/* The protocol.  Each returns CO_YIELDED, CO_RETURNED or a negative error and,
 * when `out` is not NULL, stores the yielded or returned value there. */
static inline int co_next(co_t *co, intptr_t *out);
int co_send(co_t *co, intptr_t value, intptr_t *out);
int co_throw(co_t *co, int err, intptr_t *out);
int co_close(co_t *co);

/* Resume with whatever `val` and `thrown` already hold: the one primitive the
 * four calls above, delegation and (from stage 2) the event loop share. */
static inline int co_resume(co_t *co);

const char *co_strerror(int err);
const char *co_state_name(int state);

/* ---- the macros ------------------------------------------------------- */

#define CO__LINE_FINALLY (-1)
#define CO__CAT(a, b) a##b
#define CO__LABEL(a, b) CO__CAT(a, b)

/* Open the body.  `co__` names the frame header for the other macros. */
#define CO_BEGIN(co_)                                                          \
    co_t *const co__ = (co_);                                                  \
    static const struct co_site co__site = {__func__, __FILE__};               \
co__top:                                                                       \
    switch (co__->line) {                                                      \
    case 0:                                                                    \
        co__->site = &co__site;

/* Leave the body through the cleanup block (if any) and finish. */
#define CO__UNWIND goto co__unwind

/* After a resume: an error thrown in is either handed to the body through
 * `errp` (the CATCH forms) or ends the generator, running CO_FINALLY. */
#define CO__RESUMED(errp)                                                      \
    do {                                                                       \
        int *const co__errp = (errp);                                          \
        if (co__errp) {                                                        \
            *co__errp = co__->thrown;                                          \
            co__->thrown = 0;                                                  \
        } else if (co__->thrown) {                                             \
            co__->error = co__->thrown;                                        \
            co__->thrown = 0;                                                  \
            CO__UNWIND;                                                        \
        }                                                                      \
    } while (0)

#define CO__YIELD(v, errp)                                                     \
    do {                                                                       \
        co__->val = (intptr_t)(v);                                             \
        co__->line = __LINE__;                                                 \
        return CO_YIELDED;                                                     \
    case __LINE__:                                                             \
        CO__RESUMED(errp);                                                     \
    } while (0)

/* Pause, handing `v` to whoever resumed us.  Afterwards CO_VALUE is the value
 * sent in (0 for co_next).  An error thrown in ends the generator. */
#define CO_YIELD(v) CO__YIELD(v, (int *)0)

/* The same, but an error thrown in is stored in `err` (0 if none) and the
 * body goes on: Python's `try: x = yield v / except E:`. */
#define CO_YIELD_CATCH(v, err) CO__YIELD(v, &(err))

#define CO__YIELD_FROM(sub, fn_, errp)                                         \
    do {                                                                       \
        co_init((sub), (fn_));                                                 \
        co__->child = (sub);                                                   \
        co__->val = 0; /* the first resume of the child is a next */           \
        co__->thrown = 0;                                                      \
        co__->line = __LINE__;                                                 \
        goto CO__LABEL(co__from_, __LINE__); /* no silent fall-through */      \
    case __LINE__:                                                             \
    CO__LABEL(co__from_, __LINE__):                                            \
        if (co__delegate(co__) == CO_YIELDED)                                  \
            return CO_YIELDED;                                                 \
        CO__RESUMED(errp);                                                     \
    } while (0)

/* Python's `yield from`: run the sub-generator whose frame header is `sub`
 * (normally a member of this frame) with body `fn`, passing its yields out
 * and our sends and throws in.  Afterwards CO_VALUE is its return value; an
 * error it ends with is raised here, as if thrown at this point.  Only the
 * header is reset: fill in all of the child's own fields (its arguments and
 * its "locals") before each call, as a C call would start them fresh. */
#define CO_YIELD_FROM(sub, fn_) CO__YIELD_FROM(sub, fn_, (int *)0)
#define CO_YIELD_FROM_CATCH(sub, fn_, err) CO__YIELD_FROM(sub, fn_, &(err))

/* The value received at the last yield (sent) or yield-from (returned). */
#define CO_VALUE (co__->val)

/* Finish with a return value / with an error.  Both run CO_FINALLY first. */
#define CO_RETURN(v)                                                           \
    do {                                                                       \
        co__->result = (intptr_t)(v);                                          \
        co__->error = 0;                                                       \
        CO__UNWIND;                                                            \
    } while (0)

#define CO_RAISE(err)                                                          \
    do {                                                                       \
        co__->error = co__raise_code(err);                                     \
        CO__UNWIND;                                                            \
    } while (0)

/* Optional cleanup, Python's `finally`: reached by falling off the body, by
 * CO_RETURN, by CO_RAISE and by an error thrown in (which includes co_close).
 * CO_ERROR is the error in flight (0 on a normal exit).  The cleanup may
 * yield; an error raised or thrown in here replaces the one in flight. */
#define CO_FINALLY                                                             \
    goto co__finally;                                                          \
    case CO__LINE_FINALLY:                                                     \
    co__finally:                                                               \
        co__->cleanup = 1;

#define CO_ERROR (co__->error)

/* Close the body.  Every label is reached by a goto, so none is unused and no
 * case is entered by falling through. */
#define CO_END                                                                 \
    goto co__end;                                                              \
    default:                                                                   \
    co__end:                                                                   \
        co__->cleanup = 1;                                                     \
        goto co__unwind;                                                       \
    }                                                                          \
co__unwind:                                                                    \
    if (!co__->cleanup) {                                                      \
        co__->line = CO__LINE_FINALLY;                                         \
        goto co__top;                                                          \
    }                                                                          \
    return co__finish(co__)

/* Internals used by the macros. */
int co__refuse(co_t *co);
int co__finish(co_t *co);
int co__delegate(co_t *parent);
int co__raise_code(int err);

/* ---- the resume, inline -------------------------------------------------
 * A resume is the hot path of everything built on top (the loop resumes a
 * task through it), so the common case is inline: one indirect call into
 * the body.  The rare cases, misuse and a throw into a generator that never
 * ran, are out of line in co__refuse. */

static inline int co_resume(co_t *co)
{
    if (co->state > CO_SUSPENDED || (co->state == CO_CREATED && co->thrown))
        return co__refuse(co);
    co->state = CO_RUNNING;
    int r = co->fn(co);
    if (r == CO_YIELDED)
        co->state = CO_SUSPENDED;
    return r;
}

static inline int co_next(co_t *co, intptr_t *out)
{
    if (co->state <= CO_SUSPENDED) {
        co->val = 0;
        co->thrown = 0;
    }
    int r = co_resume(co);
    if (out && r >= 0)
        *out = co->val;
    return r;
}

#endif
