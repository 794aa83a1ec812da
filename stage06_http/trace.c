/*
 * trace.c - write the loop's activity as Chrome Trace Event Format JSON.
 *
 * The format is a JSON object with a "traceEvents" array.  Each task is
 * shown as a thread (tid = task id) of one process; a step is a complete
 * event ("ph":"X") with a start and a duration in microseconds; spawns, wakes
 * and cancels are instant events ("ph":"i"); the loop's own waits are
 * complete events in thread 0, "loop".  See the Trace Event Format
 * document (Google, 2016) for the fields; "otherData" (shown as metadata)
 * says whether the times are the clock's or ticks of a counter (trace.h).
 */
#include "trace.h"

#include <stdio.h>

#include "co.h"

int trace_open(struct trace *tr, const char *path, uint64_t t0, int steps)
{
    tr->events = 0;
    tr->t0 = t0;
    tr->steps = steps;
    tr->tick = 0;
    tr->loop_lane = tr->waiting = 0;
    tr->out = fopen(path, "w");
    if (!tr->out)
        return -1;
    fprintf(tr->out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"%s\"},"
            "\"traceEvents\":[\n", steps ? "steps" : "ns");
    return 0;
}

void trace_close(struct trace *tr)
{
    if (!tr->out)
        return;
    fputs("\n]}\n", tr->out);
    fclose(tr->out);
    tr->out = NULL;
}

/* A JSON string: names come from the program, so escape what JSON needs. */
static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

uint64_t trace_time(struct trace *tr, uint64_t now)
{
    if (!tr->out || !tr->steps)
        return now;
    return tr->t0 + 1000u * tr->tick++; /* micros() writes a tick as 1.000 */
}

uint64_t trace_peek(struct trace *tr, uint64_t now)
{
    if (!tr->out || !tr->steps)
        return now;
    return tr->t0 + 1000u * tr->tick;
}

static void begin_event(struct trace *tr)
{
    if (tr->events++)
        fputs(",\n", tr->out);
}

static double micros(const struct trace *tr, uint64_t ns)
{
    return (double)(ns - tr->t0) / 1000.0;
}

void trace_lane(struct trace *tr, const task_t *t)
{
    char name[96];
    snprintf(name, sizeof name, "%s#%u", t->name, (unsigned)t->id);
    begin_event(tr);
    fprintf(tr->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":",
            (unsigned)t->id);
    put_string(tr->out, name);
    fputs("}}", tr->out);
}

void trace_step(struct trace *tr, const task_t *t, uint64_t start, uint64_t end,
                const char *from, const char *to)
{
    begin_event(tr);
    fputs("{\"ph\":\"X\",\"name\":", tr->out);
    put_string(tr->out, t->name);
    fprintf(tr->out, ",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"from\":",
            (unsigned)t->id, micros(tr, start), (double)(end - start) / 1000.0);
    put_string(tr->out, from);
    fputs(",\"to\":", tr->out);
    put_string(tr->out, to);
    fputs("}}", tr->out);
}

void trace_instant(struct trace *tr, const char *what, const task_t *t, uint64_t at)
{
    begin_event(tr);
    fputs("{\"ph\":\"i\",\"s\":\"t\",\"name\":", tr->out);
    put_string(tr->out, what);
    fprintf(tr->out, ",\"pid\":1,\"tid\":%u,\"ts\":%.3f}", (unsigned)t->id,
            micros(tr, trace_time(tr, at)));
}

void trace_wait(struct trace *tr, uint64_t start, uint64_t end, const char *selector, int woke)
{
    if (!tr->loop_lane) { /* named at its first wait, so only a loop that waits has one */
        tr->loop_lane = 1;
        begin_event(tr);
        fputs("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"loop\"}}",
              tr->out);
    }
    begin_event(tr);
    fprintf(tr->out, "{\"ph\":\"X\",\"name\":\"wait\",\"pid\":1,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,"
            "\"args\":{\"selector\":", micros(tr, start), (double)(end - start) / 1000.0);
    put_string(tr->out, selector);
    fprintf(tr->out, ",\"woke\":%d}}", woke);
}

void trace_where(const task_t *t, char *buf, size_t len)
{
    const co_t *c = t->co;
    if (c->state == CO_CREATED) {
        snprintf(buf, len, "start of %s", t->name);
        return;
    }
    if (c->state == CO_DONE || c->state == CO_CLOSED) {
        snprintf(buf, len, "end of %s", t->name);
        return;
    }
    while (c->child)
        c = c->child;
    snprintf(buf, len, "%s (%s:%d)", c->site ? c->site->func : "?",
             c->site ? c->site->file : "?", c->line);
}
