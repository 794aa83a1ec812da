/*
 * timeline.c - draw the loop's trace as an SVG timeline.
 *
 *     timeline IN.json OUT.svg [--title T] [--partial]
 *
 * IN.json is what ASYNC_TRACE=IN.json makes the loop write (stage 2 on, see
 * trace.c): a lane per task, a complete event ("X") per step with the await
 * sites it resumed at and stopped at, and instant events ("i") for spawn,
 * wake, cancel, deadline and done.  The picture has a lane per task in spawn
 * order, a bar per step, a thin line while a task is parked and a dashed one
 * while it is ready but waiting for its turn, and a mark per instant event.
 * Above them (stage 3 on) is the loop's own lane, tid 0, "loop": a grey bar
 * per wait in the selector, from the poll that found no task ready to the
 * end of the one that readied some, labelled with how many tasks it woke
 * (the selector is named in the header).  Every element has a <title>,
 * which a browser shows on hover.
 *
 * The parser reads only the JSON the trace writer emits, but checks every
 * byte against the end of the buffer: a trace may be cut short (a program
 * killed before the loop closed it) or not be a trace at all.  A cut-short
 * trace is an error unless --partial says to draw its complete events.
 * A trace taken with ASYNC_TRACE_CLOCK=steps says so in its header
 * ("otherData":{"clock":"steps"}): its times are ticks of a counter, one
 * per event, and the picture counts in ticks instead of microseconds.
 * The output depends only on the input and the arguments, so a committed
 * picture can be regenerated and compared.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (64L << 20) /* bytes: far more than a picture can show */
#define MAX_STEPS 400         /* drawn; the events after them are counted */
#define MAX_LANES 120
#define MAX_TID 4194303       /* ids count spawns: more tasks than MAX_INPUT holds */
#define MAX_DEPTH 32          /* nesting of the JSON values skipped over */
#define MAX_TIME 1e12         /* µs (11 days): keeps 1 ns distinct; NaN fails too */
#define US "\xc2\xb5" "s"     /* "µs" in UTF-8 */

/* ---- what the trace says --------------------------------------------------- */
enum kind { K_STEP, K_SPAWN, K_WAKE, K_WAKE_ERR, K_CANCEL, K_DEADLINE, K_DONE, K_DONE_ERR, K_OTHER,
             K_WAIT /* a complete event in the loop's lane: no instant's name */ };
static const char *const kind_names[] = {
    "step", "spawn", "wake", "wake (error)", "cancel", "deadline", "done", "done (error)", NULL};

struct task { char name[96]; int named, lane; };
/* A step, an instant or a wait.  from and to (for an instant: its name; for
 * a wait: the selector) point at the JSON string in the input and are
 * decoded again when drawn; woke is a wait's count of tasks woken. */
struct ev { size_t task, seq; double ts, dur; enum kind kind; const char *from, *to; long woke; };

static struct task *tasks; static size_t ntasks, cap_tasks;
static struct ev *evs;     static size_t nevs, cap_evs;
static size_t *by_tid;     static size_t nby_tid; /* tid -> task index + 1 */
static const char *subject; /* the file the messages are about */
static int ticks;           /* the times are ticks (ASYNC_TRACE_CLOCK=steps) */
#define LOOP_TID 0          /* the loop's lane: task ids start at 1 */
#define NO_TASK SIZE_MAX
static size_t loop_task = NO_TASK; /* the index of the loop's lane, if any */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "timeline: %s%s%s%s%s\n", subject ? subject : "", subject ? ": " : "", what,
            detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* Room for one more element in a growing array. */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 64;
    if (c > SIZE_MAX / size || !(p = realloc(p, c * size)))
        die("out of memory", NULL);
    *cap = c;
    return p;
}

/* The task with this id, created the first time it is seen: lanes come in
 * the order of the trace, which writes a task's lane when it is spawned. */
static size_t task_for(size_t tid)
{
    if (tid >= nby_tid) {
        size_t n = nby_tid ? nby_tid : 64;
        while (n <= tid)
            n *= 2;
        if (!(by_tid = realloc(by_tid, n * sizeof *by_tid)))
            die("out of memory", NULL);
        memset(by_tid + nby_tid, 0, (n - nby_tid) * sizeof *by_tid);
        nby_tid = n;
    }
    if (!by_tid[tid]) {
        tasks = grow(tasks, &cap_tasks, ntasks, sizeof *tasks);
        memset(&tasks[ntasks], 0, sizeof *tasks);
        by_tid[tid] = ++ntasks;
    }
    return by_tid[tid] - 1;
}

/* ---- a bounded JSON reader ------------------------------------------------- */
struct parser {
    const char *p, *end;
    const char *err, *at; /* the first error and where it happened */
    int eof;              /* the error is that the input stopped */
};

static int fail(struct parser *ps, const char *msg)
{
    if (!ps->err)
        ps->err = msg, ps->at = ps->p;
    return -1;
}

static int fail_eof(struct parser *ps)
{
    ps->eof = 1;
    return fail(ps, "the trace ends early");
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* The next byte after blanks must be c: consume it. */
static int expect(struct parser *ps, char c, const char *msg)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_eof(ps);
    if (*ps->p != c)
        return fail(ps, msg);
    ps->p++;
    return 0;
}

static void put_byte(char *out, size_t cap, size_t *n, unsigned long c)
{
    if (out && *n + 1 < cap)
        out[(*n)++] = (char)(unsigned char)c;
}

static void put_utf8(char *out, size_t cap, size_t *n, unsigned long cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    int len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (cp == 0 || (cp >= 0xd800 && cp < 0xe000) || cp == 0xfffe || cp == 0xffff)
        cp = '?', len = 1; /* not a character XML can carry */
    for (int k = 0, shift = 6 * (len - 1); k < len; k++, shift -= 6)
        put_byte(out, cap, n, k ? 0x80 | (cp >> shift & 0x3f) : lead[len] | cp >> shift);
}

/* The four hex digits of a \u escape.  The writer escapes only control
 * characters, so a surrogate pair becomes two '?' rather than one emoji. */
static int hex4(struct parser *ps, unsigned long *v)
{
    char h[5] = "";
    if (ps->end - ps->p < 4)
        return fail_eof(ps);
    memcpy(h, ps->p, 4);
    if (strspn(h, "0123456789abcdefABCDEF") != 4)
        return fail(ps, "bad \\u escape in a string");
    *v = strtoul(h, NULL, 16);
    ps->p += 4;
    return 0;
}

/* The string at ps->p, decoded into out (NULL: only checked).  A long one
 * is cut to cap - 1 bytes, maybe mid-character: xml_text() copes. */
static int parse_string(struct parser *ps, char *out, size_t cap)
{
    size_t n = 0;
    unsigned long cp;
    if (expect(ps, '"', "expected a string") < 0)
        return -1;
    for (;;) {
        if (ps->p >= ps->end)
            return fail_eof(ps);
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(ps, "control character inside a string");
        if (c != '\\') {
            put_byte(out, cap, &n, c);
            continue;
        }
        if (ps->p >= ps->end)
            return fail_eof(ps);
        switch ((c = (unsigned char)*ps->p++)) {
        case '"': case '\\': case '/': put_byte(out, cap, &n, c); continue;
        case 'b': case 'f': case 'n': case 'r': case 't': put_byte(out, cap, &n, ' '); continue;
        case 'u': break;
        default: ps->p--; return fail(ps, "bad escape in a string");
        }
        if (hex4(ps, &cp) < 0)
            return -1;
        put_utf8(out, cap, &n, cp);
    }
    if (out && cap)
        out[n] = '\0';
    return 0;
}

/* A number: the longest run of number characters, which strtod must read
 * entirely from a NUL-terminated copy (the buffer has no terminator to stop
 * it).  Laxer than JSON ("+1" passes), never out of bounds. */
static int parse_number(struct parser *ps, double *v)
{
    char tmp[64], *end;
    skip_ws(ps);
    size_t n = 0;
    while (ps->p + n < ps->end && n < sizeof tmp - 1 && strchr("+-.0123456789eE", ps->p[n]) && ps->p[n])
        tmp[n] = ps->p[n], n++;
    if (ps->p + n >= ps->end) /* "12" at the very end may be the start of "123" */
        return fail_eof(ps);
    if (n == sizeof tmp - 1)
        return fail(ps, "number too long");
    tmp[n] = '\0';
    *v = strtod(tmp, &end);
    if (n == 0 || end != tmp + n)
        return fail(ps, "expected a number");
    ps->p += n;
    return 0;
}

/* An object's members one at a time: 1 with the next key read and its ':'
 * consumed, 0 after the closing '}', -1 on error.  *first starts at 1. */
static int next_member(struct parser *ps, int *first, char *key, size_t cap)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}')
        return ps->p++, 0;
    if (!*first && expect(ps, ',', "expected ',' or '}' in an object") < 0)
        return -1;
    *first = 0;
    if (parse_string(ps, key, cap) < 0 || expect(ps, ':', "expected ':' after a key") < 0)
        return -1;
    skip_ws(ps);
    return 1;
}

/* The same for an array: 1 when a value follows, 0 after the ']'. */
static int next_element(struct parser *ps, int *first)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_eof(ps);
    if (*ps->p == ']')
        return ps->p++, 0;
    if (!*first && expect(ps, ',', "expected ',' or ']' in an array") < 0)
        return -1;
    *first = 0;
    skip_ws(ps);
    return 1;
}

static int skip_value(struct parser *ps, int depth)
{
    char key[8];
    int first = 1, r;
    double d;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_eof(ps);
    if (depth > MAX_DEPTH) /* recursion is bounded, whatever the input */
        return fail(ps, "values nested too deeply");
    if (*ps->p == '"')
        return parse_string(ps, NULL, 0);
    if (*ps->p == '{' || *ps->p == '[') {
        int obj = *ps->p++ == '{';
        while ((r = obj ? next_member(ps, &first, key, sizeof key) : next_element(ps, &first)) == 1)
            if (skip_value(ps, depth + 1) < 0)
                return -1;
        return r;
    }
    /* true, false and null: the writer never writes them, so not accepted */
    return parse_number(ps, &d);
}

/* One event: its fields read, then a lane name kept or a step or an
 * instant added.  Events of other kinds are read and left out. */
static int parse_event(struct parser *ps, size_t seq)
{
    char key[32], ph[4] = "", name[96] = "", lane[96] = "";
    const char *name_at = NULL, *from = NULL, *to = NULL;
    double tid = -1, ts = -MAX_TIME, dur = -1, woke = -1;
    int first = 1, afirst = 1, r;
    if (expect(ps, '{', "expected an event object") < 0)
        return -1;
    while ((r = next_member(ps, &first, key, sizeof key)) == 1) {
        if (!strcmp(key, "ph"))
            r = parse_string(ps, ph, sizeof ph);
        else if (!strcmp(key, "name"))
            r = (name_at = ps->p, parse_string(ps, name, sizeof name));
        else if (!strcmp(key, "tid") || !strcmp(key, "ts") || !strcmp(key, "dur"))
            r = parse_number(ps, key[1] == 'i' ? &tid : key[1] == 's' ? &ts : &dur);
        else if (!strcmp(key, "args") && ps->p < ps->end && *ps->p == '{') {
            ps->p++;
            while ((r = next_member(ps, &afirst, key, sizeof key)) == 1) {
                if (!strcmp(key, "name"))
                    r = parse_string(ps, lane, sizeof lane);
                else if (!strcmp(key, "from") || !strcmp(key, "to") || !strcmp(key, "selector"))
                    r = (*(key[0] == 't' ? &to : &from) = ps->p, parse_string(ps, NULL, 0));
                else if (!strcmp(key, "woke"))
                    r = parse_number(ps, &woke);
                else
                    r = skip_value(ps, 2);
                if (r < 0)
                    return -1;
            }
        } else
            r = skip_value(ps, 1);
        if (r < 0)
            return -1;
    }
    int lane_event = !strcmp(ph, "M") && !strcmp(name, "thread_name");
    if (r < 0 || (!lane_event && strcmp(ph, "X") && strcmp(ph, "i") && strcmp(ph, "I")))
        return r;
    if (!(tid >= 0 && tid <= MAX_TID && tid == (double)(size_t)tid))
        return fail(ps, "event without a sensible task id (tid)");
    size_t ti = task_for((size_t)tid); /* first: it may move tasks */
    struct task *t = &tasks[ti];
    if (tid == LOOP_TID)
        loop_task = ti;
    if (lane_event) {
        if (!t->named)
            memcpy(t->name, lane, sizeof lane), t->named = 1;
        return 0;
    }
    if (!t->named && !t->name[0] && tid == LOOP_TID)
        snprintf(t->name, sizeof t->name, "loop");
    else if (!t->named && !t->name[0]) /* no lane event: name it after this one */
        snprintf(t->name, sizeof t->name, "%.80s#%zu", ph[0] == 'X' ? name : "task", (size_t)tid);
    if (!(ts > -MAX_TIME && ts < MAX_TIME))
        return fail(ps, "event without a sensible time (ts)");
    if (ph[0] == 'X' && !(dur >= 0 && dur < MAX_TIME))
        return fail(ps, "step without a sensible duration (dur)");
    enum kind k = K_SPAWN;
    while (ph[0] != 'X' && kind_names[k] && strcmp(kind_names[k], name))
        k++;
    evs = grow(evs, &cap_evs, nevs, sizeof *evs);
    if (ph[0] == 'X' && tid == LOOP_TID)
        k = K_WAIT;
    else if (ph[0] == 'X')
        k = K_STEP;
    evs[nevs++] = (struct ev){ti, seq, ts, ph[0] == 'X' ? dur : 0, k, ph[0] == 'X' ? from : name_at, to,
                              woke >= 0 && woke < 1e9 ? (long)woke : -1};
    return 0;
}

/* The whole trace: {"traceEvents":[...]}, other keys ignored.  Returns the
 * number of complete events. */
static size_t parse_trace(struct parser *ps)
{
    char key[32];
    int first = 1, efirst = 1, seen = 0;
    size_t n = 0;
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "an empty file, not a trace (a program killed early leaves one: the loop writes through a buffer)");
    } else if (*ps->p == '{') {
        ps->p++;
        while (!ps->err && next_member(ps, &first, key, sizeof key) == 1) {
            if (!strcmp(key, "otherData") && ps->p < ps->end && *ps->p == '{') {
                char clock[8] = "";
                int ofirst = 1, r;
                ps->p++;
                while ((r = next_member(ps, &ofirst, key, sizeof key)) == 1
                       && (!strcmp(key, "clock") ? parse_string(ps, clock, sizeof clock) : skip_value(ps, 2)) == 0)
                    ;
                ticks = r == 0 && !strcmp(clock, "steps");
            } else if (strcmp(key, "traceEvents") != 0) {
                skip_value(ps, 1);
            } else if (seen || ps->p >= ps->end || *ps->p != '[') {
                fail(ps, "traceEvents should be one array");
            } else {
                seen = 1;
                ps->p++;
                while (next_element(ps, &efirst) == 1 && parse_event(ps, n) == 0)
                    n++;
            }
        }
        if (!seen && !ps->err)
            fail(ps, "no traceEvents array: not a trace");
    } else {
        fail(ps, "not a trace: it should start with '{'");
    }
    skip_ws(ps);
    if (!ps->err && ps->p < ps->end)
        fail(ps, "more text after the end of the trace");
    return n;
}

/* ---- drawing ------------------------------------------------------------- */
#define LANE_H 28     /* px per task: marks above the bars, wake arrows below */
#define PLOT_W 1000.0 /* px for the whole time span */
#define TOP 86        /* px above the first lane: title, notes, axis labels */
#define CHAR_W 6.6    /* px per character of 11px monospace */
#define LABEL_MAX 28  /* characters of a lane label */

static FILE *out;
static const char *in_end;       /* the end of the input, to decode strings again */
static double t_lo, t_hi, scale, left; /* x = left + (t - t_lo) * scale */

static double xof(double t) { return left + (t - t_lo) * scale; }
static double mid(size_t task) { return TOP + tasks[task].lane * LANE_H + LANE_H / 2.0; }

/* Text for XML: escaped, invalid UTF-8 and control characters replaced (the
 * trace copies task names byte for byte), at most max characters. */
static void xml_text(const char *s, size_t max)
{
    for (size_t chars = 0; *s; chars++) {
        const unsigned char *u = (const unsigned char *)s;
        size_t len = u[0] < 0x80 ? 1 : u[0] >= 0xc2 && u[0] < 0xe0 ? 2 : u[0] >= 0xe0 && u[0] < 0xf0 ? 3
                   : u[0] >= 0xf0 && u[0] < 0xf5 ? 4 : 0;
        unsigned long cp = len == 1 ? u[0] : u[0] & (0x7fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((u[k] & 0xc0) != 0x80) { /* this also stops at the NUL */
                len = 0;
                break;
            }
            cp = cp << 6 | (u[k] & 0x3f);
        }
        if (len && (cp < (len == 3 ? 0x800ul : len == 4 ? 0x10000ul : 0) || cp > 0x10ffff
                    || (cp >= 0xd800 && cp < 0xe000) || cp == 0xfffe || cp == 0xffff))
            len = 0; /* overlong, out of range, or not allowed in XML */
        if (chars == max) {
            fputs("\xe2\x80\xa6", out); /* "…" */
            return;
        }
        if (!len) {
            fputc('?', out);
            s++;
            continue;
        }
        if (cp < 0x20)
            fputc(' ', out);
        else if (cp == '&' || cp == '<' || cp == '>' || cp == '"')
            fputs(cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : cp == '>' ? "&gt;" : "&quot;", out);
        else
            fwrite(s, 1, len, out);
        s += len;
    }
}

/* A string the parser met earlier, decoded again ("?" if there was none). */
static const char *decode(const char *at, char *buf, size_t cap)
{
    struct parser ps = {at, in_end, NULL, NULL, 0};
    if (!at || parse_string(&ps, buf, cap) < 0)
        snprintf(buf, cap, "?");
    return buf;
}

/* A length of time; in ticks, "1 tick", "3 ticks". */
static const char *fmt_time(double us, char *buf, size_t cap)
{
    double a = us < 0 ? -us : us;
    if (ticks) {
        snprintf(buf, cap, "%.0f tick%s", us, a == 1 ? "" : "s");
        return buf;
    }
    snprintf(buf, cap, a < 1000 ? "%.3f " US : a < 1e6 ? "%.3f ms" : "%.3f s",
             a < 1000 ? us : a < 1e6 ? us / 1e3 : us / 1e6);
    return buf;
}

/* A point in time; in ticks, "tick 5". */
static const char *fmt_at(double us, char *buf, size_t cap)
{
    if (!ticks)
        return fmt_time(us, buf, cap);
    snprintf(buf, cap, "tick %.0f", us);
    return buf;
}

/* Time order; at the same time the marks first (a wake before the step it
 * allows), then the order of the file, so the output is always the same. */
static int by_time(const void *pa, const void *pb)
{
    const struct ev *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if ((a->kind == K_STEP) != (b->kind == K_STEP))
        return a->kind == K_STEP ? 1 : -1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Ticks 1, 2 or 5 times a power of ten apart, at most ten of them, labelled
 * in µs or ms, with a grid line through the lanes. */
static void axis(double bottom)
{
    static const double m[] = {1, 2, 5};
    double step = 0;
    for (double p = ticks ? 1 : 0.001; !step; p *= 10)
        for (int k = 0; k < 3 && !step; k++)
            if ((t_hi - t_lo) / (p * m[k]) <= 10)
                step = p * m[k];
    int ms = step >= 1000 && !ticks;
    double su = ms ? step / 1000 : step;
    int dec = su >= 1 ? 0 : su >= 0.1 ? 1 : su >= 0.01 ? 2 : 3;
    long i = (long)(t_lo / step), n = 0;
    for (i += i * step < t_lo; i * step <= t_hi + step * 1e-9 && n++ < 12; i++) {
        double x = xof(i * step);
        fprintf(out, "<line class=\"g\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"ax\" x=\"%.1f\" y=\"%d\">%.*f%s</text>\n",
                x, TOP - 4, x, bottom, x, TOP - 8, dec, i * su, ticks ? "" : ms ? " ms" : " " US);
    }
}

/* A stretch of waiting in a task's lane: parked at `to` (a thin line, with
 * the function's name if it fits), or ready and waiting for its turn
 * (dashed; `to` is where it yielded, if it did).  An invisible wide line
 * under it makes it easy to hover. */
static void wait_line(size_t t, double a, double b, int ready, const char *to, int open)
{
    char site[160], fn[32], d[32];
    double x1 = xof(a), x2 = xof(b), y = mid(t);
    if (b <= a)
        return;
    decode(to, site, sizeof site);
    snprintf(fn, sizeof fn, "%.*s", (int)strcspn(site, " ("), site);
    fputs("<g><title>", out);
    xml_text(tasks[t].name, 96);
    fprintf(out, ready ? " ready for %s%s, waiting for its turn" : " parked for %s%s",
            fmt_time(b - a, d, sizeof d), open ? " (or more)" : "");
    if (to) {
        fputs(ready ? " (it yielded at " : " at ", out);
        xml_text(site, 160);
        fputs(ready ? ")" : "", out);
    }
    fprintf(out, "</title><line class=\"hit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
            x1, y, x2, y, ready ? "rd" : "pk", x1, y, x2, y);
    if (!ready && x2 - x1 > strlen(fn) * 5.4 + 8) {
        fprintf(out, "<text class=\"pl\" x=\"%.1f\" y=\"%.1f\">", x1 + 4, y - 3);
        xml_text(fn, 24);
        fputs("</text>", out);
    }
    fputs("</g>\n", out);
}

/* The shape of an instant at (x, y), its tag left open for a <title>;
 * returns the element's name, to close it. */
static const char *shape(enum kind k, double x, double y)
{
    switch (k) {
    case K_WAKE: case K_WAKE_ERR: /* an arrow up into the lane from below */
        fprintf(out, "<path class=\"%s\" d=\"M%.1f %.1fV%.1fM%.1f %.1fL%.1f %.1fL%.1f %.1f\"",
                k == K_WAKE ? "wk" : "we", x, y + 13, y + 6, x - 3, y + 9, x, y + 6, x + 3, y + 9);
        return "path";
    case K_CANCEL: fprintf(out, "<path class=\"cx\" d=\"M%.1f %.1fl6 6m0 -6l-6 6\"", x - 3, y - 12); return "path";
    case K_DEADLINE: fprintf(out, "<path class=\"dl\" d=\"M%.1f %.1fl4 4l-4 4l-4 -4z\"", x, y - 13); return "path";
    case K_DONE: case K_DONE_ERR:
        fprintf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\"",
                k == K_DONE ? "dn" : "er", x - 3, y - 12);
        return "rect";
    default: /* spawn, and any instant this tool does not know */
        fprintf(out, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"", k == K_SPAWN ? "sp" : "ot",
                x, y - 9, k == K_SPAWN ? "3" : "2.5");
        return "circle";
    }
}

/* A wait of the loop's, the `n`th: a grey bar, and above it how many tasks
 * it woke if that fits before x = `limit`, where the next wait begins (the
 * selector is in the <title>, and in the header: a loop has one). */
static void wait_bar(const struct ev *e, int n, double limit)
{
    char sel[32], d[32], d2[32], label[2][48] = {"", ""};
    double x = xof(e->ts), y = mid(e->task);
    decode(e->from, sel, sizeof sel);
    fprintf(out, "<g><title>loop wait %d: in ", n);
    xml_text(sel, 30);
    fprintf(out, ", %s at %s", fmt_time(e->dur, d, sizeof d), fmt_at(e->ts, d2, sizeof d2));
    if (e->woke >= 0)
        fprintf(out, ", woke %ld task%s", e->woke, e->woke == 1 ? "" : "s");
    fprintf(out, "</title><rect class=\"wt\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\"/>",
            x, y - 5, e->dur * scale < 2 ? 2 : e->dur * scale);
    if (e->woke >= 0) {
        snprintf(label[0], sizeof label[0], "woke %ld", e->woke);
        snprintf(label[1], sizeof label[1], "%ld", e->woke);
    }
    for (int i = 0; i < 2; i++)
        if (label[i][0] && x + strlen(label[i]) * 5.4 + 6 <= limit) {
            fprintf(out, "<text class=\"wl\" x=\"%.1f\" y=\"%.1f\">", x, y - 7);
            xml_text(label[i], 48);
            fputs("</text>", out);
            break;
        }
    fputs("</g>\n", out);
}

struct lane_state { int steps, woke, done; double end, wake; const char *to; };

/* What is drawn: the events before the (MAX_STEPS + 1)th step, in the
 * lanes of the first MAX_LANES tasks that have any, under the loop's lane
 * if it has any.  A task keeps the stripe and colour of its place among
 * the tasks, so a loop lane moves a picture's task lanes down, nothing
 * else. */
static void render(const char *title, const char *source, size_t nevents, int truncated)
{
    char d[32], d2[32], site[160], site2[160];
    size_t nd, k = 0, lanes = 0, label = 4, nsteps = 0, steps_in = 0, marks_in = 0, nwaits = 0, waits_in = 0;
    int waits_drawn = 0;
    if (nevs) /* qsort must not see the NULL of an empty array */
        qsort(evs, nevs, sizeof *evs, by_time);
    for (nd = 0; nd < nevs && !(evs[nd].kind == K_STEP && k++ == MAX_STEPS); nd++)
        tasks[evs[nd].task].lane = -2;
    int loop_rows = loop_task != NO_TASK && tasks[loop_task].lane == -2; /* the loop's lane is drawn */
    if (loop_rows)
        tasks[loop_task].lane = (int)lanes++;
    size_t ntasks_only = ntasks - (loop_task != NO_TASK);
    for (size_t t = 0; t < ntasks; t++)
        if (t == loop_task && loop_rows) {
            continue;
        } else if (tasks[t].lane == -2) {
            tasks[t].lane = lanes < MAX_LANES ? (int)lanes++ : -1;
            size_t n = strlen(tasks[t].name);
            if (tasks[t].lane >= 0 && n > label)
                label = n < LABEL_MAX ? n : LABEL_MAX;
        } else
            tasks[t].lane = -1;
    t_lo = MAX_TIME, t_hi = nd < nevs ? evs[nd].ts : -MAX_TIME;
    for (size_t i = 0; i < nevs; i++) {
        const struct ev *e = &evs[i];
        nsteps += e->kind == K_STEP;
        nwaits += e->kind == K_WAIT;
        if (i >= nd || tasks[e->task].lane < 0)
            continue;
        e->kind == K_STEP ? steps_in++ : e->kind == K_WAIT ? waits_in++ : marks_in++;
        t_lo = e->ts < t_lo ? e->ts : t_lo;
        t_hi = e->ts + e->dur > t_hi ? e->ts + e->dur : t_hi;
    }
    if (t_lo == MAX_TIME) /* nothing to draw */
        t_lo = 0, t_hi = 1;
    if (t_hi - t_lo < 0.001)
        t_hi = t_lo + 0.001;
    left = 20 + label * CHAR_W;
    scale = PLOT_W / (t_hi - t_lo);
    double bottom = TOP + lanes * LANE_H;
    int width = (int)(left + PLOT_W + 100), height = (int)bottom + 44;

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
            "<style>text{font:11px monospace;fill:#222}.t{font-size:14px;font-weight:bold}.n{fill:#b00}"
            ".ax{text-anchor:middle;fill:#666}.g{stroke:#e2e2e2}.bg{fill:#f5f5f5}"
            ".pk{stroke:#888}.rd{stroke:#888;stroke-dasharray:2 2}.hit{stroke:#000;stroke-opacity:0;stroke-width:8}"
            ".pl{font-size:9px;fill:#777}.c0{fill:#4e79a7}.c1{fill:#f28e2b}.c2{fill:#59a14f}.c3{fill:#b07aa1}"
            ".c4{fill:#76b7b2}.c5{fill:#9c755f}.sp{fill:#2a2}.dn{fill:#222}.er{fill:#d22}.ot{fill:#888}"
            ".cx{stroke:#d22;stroke-width:2}.dl{fill:#e80}.wk{stroke:#36c;fill:none;stroke-width:1.2}"
            ".we{stroke:#d22;fill:none;stroke-width:1.2}%s</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n<text class=\"t\" x=\"10\" y=\"20\">",
            width, height, width, height,
            loop_rows ? ".lp{fill:#eceff4}.wt{fill:#9a9a9a}.wl{font-size:9px;fill:#555}" : "");
    xml_text(title, 120);
    fprintf(out, "</text>\n<text x=\"10\" y=\"37\">%zu tasks, %zu steps, %zu marks", ntasks_only, nsteps,
            nevs - nsteps - nwaits);
    for (size_t i = 0; i < nevs && nwaits; i++)
        if (evs[i].kind == K_WAIT) {
            fprintf(out, ", %zu waits of the loop (", nwaits);
            xml_text(decode(evs[i].from, site, sizeof site), 30);
            fputs(")", out);
            break;
        }
    fputs(" in ", out);
    xml_text(source, 80);
    fprintf(out, "; drawn from %s", fmt_at(t_lo, d, sizeof d));
    fprintf(out, " to %s%s</text>\n", fmt_at(t_hi, d, sizeof d),
            ticks ? ": time counts events, a tick each (ASYNC_TRACE_CLOCK=steps)" : "");
    int ny = 52;
    if (steps_in + marks_in + waits_in < nevs) {
        char w[64] = "", wl[64] = "";
        if (nwaits) {
            snprintf(w, sizeof w, " and %zu waits", waits_in);
            snprintf(wl, sizeof wl, ", %zu waits", nwaits - waits_in);
        }
        fprintf(out, "<text class=\"n\" x=\"10\" y=\"%d\">Not all is drawn: the earliest %zu steps%s %zu marks%s, "
                "in %zu lanes; left out: %zu steps, %zu marks%s, %zu tasks.</text>\n", ny, steps_in,
                nwaits ? "," : " and", marks_in, w, lanes, nsteps - steps_in, nevs - nsteps - nwaits - marks_in,
                wl, ntasks_only - (lanes - loop_rows));
        ny += 14;
    }
    if (truncated)
        fprintf(out, "<text class=\"n\" x=\"10\" y=\"%d\">The trace is cut short: this is its first %zu "
                "events.</text>\n", ny, nevents);
    for (size_t t = 0; t < ntasks; t++) { /* lane backgrounds and labels */
        double y = TOP + tasks[t].lane * LANE_H;
        if (tasks[t].lane < 0)
            continue;
        if (t == loop_task || (tasks[t].lane - loop_rows) % 2)
            fprintf(out, "<rect class=\"%s\" x=\"0\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>",
                    t == loop_task ? "lp" : "bg", y, width, LANE_H);
        fprintf(out, "<text x=\"10\" y=\"%.1f\"><title>", y + LANE_H / 2.0 + 4);
        xml_text(tasks[t].name, 96);
        fputs("</title>", out);
        xml_text(tasks[t].name, LABEL_MAX);
        fputs("</text>\n", out);
    }
    axis(bottom);

    /* Waiting, by a sweep in time order.  Between two steps a task is parked
     * at the first one's `to` until its wake, then ready.  Every way back to
     * the ready queue writes a wake but one: task_yield() queues the task at
     * once, so no wake means it yielded.  Once spawned, a task is ready.
     * The loop's lane is no task's: it has its waits and nothing else. */
    struct lane_state *ls = calloc(ntasks + 1, sizeof *ls);
    if (!ls)
        die("out of memory", NULL);
    for (size_t i = 0; i < nd; i++) {
        const struct ev *e = &evs[i];
        struct lane_state *s = &ls[e->task];
        if (tasks[e->task].lane < 0 || e->task == loop_task)
            continue;
        if (e->kind == K_WAKE || e->kind == K_WAKE_ERR || e->kind == K_SPAWN)
            s->wake = e->ts, s->woke = 1;
        s->done |= e->kind == K_DONE || e->kind == K_DONE_ERR;
        if (e->kind != K_STEP)
            continue;
        double ready = s->wake > s->end || !s->steps ? s->wake : s->end; /* woken mid-step: at its end */
        if (s->steps && s->woke)
            wait_line(e->task, s->end, ready, 0, s->to, 0);
        if (s->woke)
            wait_line(e->task, ready, e->ts, 1, NULL, 0);
        else if (s->steps)
            wait_line(e->task, s->end, e->ts, 1, s->to, 0);
        s->steps++, s->woke = 0, s->end = e->ts + e->dur, s->to = e->to;
    }
    for (size_t t = 0; t < ntasks; t++) { /* still waiting at the right edge */
        struct lane_state *s = &ls[t];
        if (tasks[t].lane < 0 || t == loop_task || s->done || (s->steps && !strncmp(decode(s->to, site, sizeof site), "end of", 6)))
            continue;
        double ready = !s->woke ? t_hi : s->wake > s->end || !s->steps ? s->wake : s->end;
        if (s->steps)
            wait_line(t, s->end, ready, 0, s->to, !s->woke);
        if (s->woke)
            wait_line(t, ready, t_hi, 1, NULL, 1);
    }
    memset(ls, 0, ntasks * sizeof *ls);
    for (int pass = 0; pass < 2; pass++) /* the steps and waits, then the marks on top */
        for (size_t i = 0; i < nd; i++) {
            const struct ev *e = &evs[i];
            const char *tag = "rect";
            if (tasks[e->task].lane < 0 || (e->kind != K_STEP && e->kind != K_WAIT) != pass)
                continue;
            if (e->kind == K_WAIT) {
                size_t j = i + 1;
                while (j < nd && !(evs[j].kind == K_WAIT && tasks[evs[j].task].lane >= 0))
                    j++;
                wait_bar(e, ++waits_drawn, j < nd ? xof(evs[j].ts) : left + PLOT_W + 90);
                continue;
            }
            if (e->kind == K_STEP)
                fprintf(out, "<rect class=\"c%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\"><title>",
                        (tasks[e->task].lane - loop_rows) % 6, xof(e->ts), mid(e->task) - 5,
                        e->dur * scale < 2 ? 2 : e->dur * scale); /* at least 2 px, to be seen */
            else
                tag = shape(e->kind, xof(e->ts), mid(e->task)), fputs("><title>", out);
            xml_text(e->kind == K_OTHER || e->kind == K_STEP ? "" : kind_names[e->kind], 20);
            xml_text(e->kind == K_OTHER ? decode(e->from, site, sizeof site) : "", 40);
            fputs(e->kind == K_STEP ? "" : ": ", out);
            xml_text(tasks[e->task].name, 96);
            if (e->kind == K_STEP) {
                fprintf(out, " step %d: ran %s at %s\nfrom ", ++ls[e->task].steps,
                        fmt_time(e->dur, d, sizeof d), fmt_at(e->ts, d2, sizeof d2));
                xml_text(decode(e->from, site, sizeof site), 160);
                fputs("\nto ", out);
                xml_text(decode(e->to, site2, sizeof site2), 160);
            } else
                fprintf(out, " at %s", fmt_at(e->ts, d, sizeof d));
            fprintf(out, "</title></%s>\n", tag);
        }
    free(ls);

    /* The legend, with one of each. */
    static const enum kind shown[] = {K_SPAWN, K_WAKE, K_CANCEL, K_DEADLINE, K_DONE, K_DONE_ERR};
    static const char *const words[] = {"spawn", "wake", "cancel", "deadline", "done", "error"};
    double y = bottom + 26;
    fprintf(out, "<rect class=\"c0\" x=\"10\" y=\"%.1f\" width=\"14\" height=\"10\"/><text x=\"28\" y=\"%.1f\">step</text>"
            "<line class=\"pk\" x1=\"70\" y1=\"%.1f\" x2=\"94\" y2=\"%.1f\"/><text x=\"98\" y=\"%.1f\">parked (at)</text>"
            "<line class=\"rd\" x1=\"190\" y1=\"%.1f\" x2=\"214\" y2=\"%.1f\"/><text x=\"218\" y=\"%.1f\">ready</text>\n",
            y - 5, y + 4, y, y, y + 4, y, y, y + 4);
    for (int i = 0; i < 6; i++) {
        shape(shown[i], 280 + i * 84, y + (shown[i] == K_WAKE ? -9 : 9));
        fprintf(out, "/><text x=\"%d\" y=\"%.1f\">%s</text>\n", 288 + i * 84, y + 4, words[i]);
    }
    if (loop_rows)
        fprintf(out, "<rect class=\"wt\" x=\"784\" y=\"%.1f\" width=\"14\" height=\"10\"/>"
                "<text x=\"802\" y=\"%.1f\">the loop waits (woke n tasks)</text>\n", y - 5, y + 4);
    fputs("</svg>\n", out);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!f)
        die("cannot open", strerror(errno));
    do { /* one byte past the limit tells a file that is too big */
        if (n == cap && (cap = cap ? cap * 2 : 65536, !(buf = realloc(buf, cap))))
            die("out of memory", NULL);
        n += got = fread(buf + n, 1, cap - n, f);
    } while (got && n <= (size_t)MAX_INPUT);
    if (ferror(f))
        die("cannot read", strerror(errno));
    if (n > (size_t)MAX_INPUT)
        die("too big for a picture (over 64 MiB)", NULL);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL, *title = NULL;
    char deftitle[200];
    int partial = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--title") && i + 1 < argc)
            title = argv[++i];
        else if (!strcmp(argv[i], "--partial"))
            partial = 1;
        else if ((argv[i][0] == '-' && argv[i][1]) || outp)
            bad = 1;
        else
            *(in ? &outp : &in) = argv[i];
    }
    if (bad || !outp) {
        fprintf(stderr, "usage: timeline IN.json OUT.svg [--title T] [--partial]\n"
                "  draws a trace written with ASYNC_TRACE=IN.json as an SVG timeline;\n"
                "  --partial draws the complete events of a trace that was cut short\n");
        return 2;
    }
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    size_t len;
    subject = in;
    char *buf = read_file(in, &len);
    struct parser ps = {buf, buf + len, NULL, NULL, 0};
    size_t nevents = parse_trace(&ps);
    if (ps.err) {
        size_t line = 1;
        const char *col = buf;
        for (const char *c = buf; c < ps.at; c++)
            if (*c == '\n')
                line++, col = c + 1;
        if (!ps.eof || !partial) {
            fprintf(stderr, "timeline: %s: line %zu, column %zu: %s", in, line, (size_t)(ps.at - col) + 1, ps.err);
            if (ps.eof)
                fprintf(stderr, " (after %zu complete event(s): was the program killed before the loop "
                        "finished?  --partial draws them)", nevents);
            fputc('\n', stderr);
            free(buf);
            return 1;
        }
        fprintf(stderr, "timeline: %s: cut short at line %zu: drawing its %zu complete event(s)\n", in, line, nevents);
    }
    snprintf(deftitle, sizeof deftitle, "Timeline of %s", base);
    subject = outp;
    if (!(out = fopen(outp, "w")))
        die("cannot write", strerror(errno));
    in_end = buf + len;
    render(title ? title : deftitle, base, nevents, ps.err != NULL);
    if (ferror(out) | fclose(out)) { /* both, so the file is closed either way */
        remove(outp);
        die("cannot write", NULL);
    }
    free(buf);
    return 0;
}
