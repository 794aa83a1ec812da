/*
 * co.c - the generator protocol on top of the macros in co.h.
 *
 * Everything funnels into co_resume(): the caller puts a value (send) or an
 * error (throw) into the frame, calls the body once, and reads back what it
 * yielded or returned.  The checks around it turn every misuse into an error
 * code, so a wrong call never jumps into a body that has already finished.
 */
#include "co.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

void co_init(co_t *co, co_fn fn)
{
    memset(co, 0, sizeof *co);
    co->fn = fn;
}

int co__refuse(co_t *co)
{
    switch (co->state) {
    case CO_RUNNING:
        return CO_ERUNNING;
    case CO_CREATED:
        /* As in Python: an error thrown into a generator that never ran is
         * raised where the body would start, so none of the body (and none of
         * its cleanup) runs. */
        co->state = CO_DONE;
        co->error = co->thrown;
        co->thrown = 0;
        return co->error;
    default:
        return CO_EDONE;
    }
}

static int report(co_t *co, int r, intptr_t *out)
{
    if (out && (r == CO_YIELDED || r == CO_RETURNED))
        *out = co->val;
    return r;
}

int co_send(co_t *co, intptr_t value, intptr_t *out)
{
    /* Nothing is waiting for a value yet: it would be silently lost. */
    if (co->state == CO_CREATED)
        return CO_ENOTSTARTED;
    if (co->state == CO_SUSPENDED) {
        co->val = value;
        co->thrown = 0;
    }
    return report(co, co_resume(co), out);
}

int co_throw(co_t *co, int err, intptr_t *out)
{
    if (err >= 0)
        return -EINVAL;
    if (co->state == CO_CREATED || co->state == CO_SUSPENDED)
        co->thrown = err;
    return report(co, co_resume(co), out); /* or the right misuse error */
}

int co_close(co_t *co)
{
    switch (co->state) {
    case CO_CREATED:
    case CO_DONE:
        co->state = CO_CLOSED;
        return 0;
    case CO_CLOSED:
        return CO_ECLOSED;
    case CO_RUNNING:
        return CO_ERUNNING;
    default:
        break;
    }
    int r = co_throw(co, CO_EEXIT, NULL);
    if (r == CO_YIELDED)
        return CO_EIGNOREDEXIT; /* still suspended: its cleanup did not finish */
    co->state = CO_CLOSED;
    /* Ending with the exit we threw, or returning, is a clean close; any other
     * error came from the cleanup code and is worth reporting. */
    return (r == CO_EEXIT || r == CO_RETURNED) ? 0 : r;
}

int co__finish(co_t *co)
{
    co->state = CO_DONE;
    co->child = NULL;
    /* Falling off the end returns 0, like Python's None. */
    co->val = co->error ? 0 : co->result;
    return co->error ? co->error : CO_RETURNED;
}

int co__raise_code(int err)
{
    /* Raising 0 or a positive number would read as success or as a yield. */
    return err < 0 ? err : -EINVAL;
}

int co__delegate(co_t *parent)
{
    co_t *child = parent->child;
    int closing = parent->thrown == CO_EEXIT;

    child->val = parent->val;
    child->thrown = parent->thrown;
    parent->thrown = 0;
    int r = co_resume(child);
    parent->val = r < 0 ? 0 : child->val;
    if (r == CO_YIELDED && !closing)
        return r;
    parent->child = NULL;
    if (closing) {
        /* PEP 380: closing the delegator closes the child, then raises the
         * exit in the delegator whatever the child did with it; a child that
         * yields instead of closing makes that an error. */
        if (r == CO_YIELDED) {
            r = CO_EIGNOREDEXIT;
        } else if (r == CO_EEXIT || r == CO_RETURNED) {
            child->state = CO_CLOSED;
            r = CO_EEXIT;
        }
    }
    if (r < 0)
        parent->thrown = r; /* raised at the yield-from point */
    return r;
}

const char *co_strerror(int err)
{
    switch (err) {
    case CO_YIELDED: return "yielded";
    case CO_RETURNED: return "returned";
    case CO_EDONE: return "generator already finished";
    case CO_ENOTSTARTED: return "can't send a value to a generator that has not started";
    case CO_ERUNNING: return "generator already running";
    case CO_ECLOSED: return "generator already closed";
    case CO_EEXIT: return "generator exit (closed)";
    case CO_EIGNOREDEXIT: return "generator yielded while being closed";
    default:
        if (err > 0)
            return "unknown result";
        /* errno values are small; anything past them would overflow -err. */
        return err > -4096 ? strerror(-err) : "unknown error";
    }
}

const char *co_state_name(int state)
{
    static const char *const names[] = {"created", "suspended", "running", "done", "closed"};
    return state >= 0 && state <= CO_CLOSED ? names[state] : "invalid";
}
