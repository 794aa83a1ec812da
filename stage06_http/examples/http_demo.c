/*
 * http_demo.c - the course's main demo: an HTTP/1.1 server on 127.0.0.1:8080.
 *
 *   /              a page that shows the loop live: it fetches /stats
 *                  every second and draws the numbers
 *   /stats         the loop and the server in numbers, as JSON
 *   /hello         "hello, world"
 *   POST /echo     the body back, with its Content-Type
 *   /sleep?ms=N    answers after N ms: open the page, run
 *                      curl localhost:8080/sleep?ms=5000 &
 *                  and watch "parked" go up while /hello stays instant
 *   /users/{id}    a path parameter
 *
 *   http_demo [--host H] [--port P] [--workers N] [--quiet]
 *   (HTTP_HOST and HTTP_PORT set the defaults; port 0 takes a free one)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "loop.h"
#include "sleep.h"
#include "sock.h"

struct hello {
    struct http_handler h;
};

static int hello(co_t *co)
{
    struct hello *f = (struct hello *)co;
    CO_BEGIN(co);
    http_text(f->h.res, 200, "hello, world\n");
    CO_END;
}

struct echo {
    struct http_handler h;
    struct http_read rd;
};

static int echo(co_t *co)
{
    struct echo *f = (struct echo *)co;
    const char *type;
    CO_BEGIN(co);
    http_reading(&f->rd, f->h.req);
    AWAIT_CO(&f->rd.co, http_read_all);
    type = http_header_in(f->h.req, "Content-Type");
    http_respond(f->h.res, 200, type ? type : "application/octet-stream", f->h.req->body.p,
                 f->h.req->body.len);
    CO_END;
}

struct slow {
    struct http_handler h;
    long ms;
};

static int slow(co_t *co)
{
    struct slow *f = (struct slow *)co;
    char v[24];
    CO_BEGIN(co);
    f->ms = http_query(f->h.req, "ms", v, sizeof v) > 0 ? strtol(v, NULL, 10) : 1000;
    if (f->ms < 0 || f->ms > 60000) {
        http_text(f->h.res, 400, "ms must be 0..60000\n");
        CO_RETURN(0);
    }
    AWAIT(sleep_ms((uint64_t)f->ms));
    http_text(f->h.res, 200, "slept %ld ms\n", f->ms);
    CO_END;
}

struct user {
    struct http_handler h;
};

static int user(co_t *co)
{
    struct user *f = (struct user *)co;
    CO_BEGIN(co);
    http_text(f->h.res, 200, "user %s\n", http_param(f->h.req, "id"));
    CO_END;
}

/* Every number comes from a struct this course built: the loop's task
 * lists (stage 2), its selector's registrations (stage 3), its deadline
 * heap (stage 4) and the server's counters.  Read them as they are, in the
 * middle of a step: "running" is this very handler's connection task. */
struct stats {
    struct http_handler h;
};

static int stats(co_t *co)
{
    struct stats *f = (struct stats *)co;
    const struct loop *l = loop_current();
    const struct http_stats *st = &f->h.req->srv->stats;
    CO_BEGIN(co);
    http_header(f->h.res, "Cache-Control", "no-store");
    f->h.res->content_type = "application/json";
    http_printf(f->h.res,
                "{\"tasks\":%zu,\"ready\":%zu,\"running\":%d,\"parked\":%zu,"
                "\"io_waiting\":%zu,\"fds\":%zu,\"timers\":%u,\"steps\":%llu,"
                "\"polls\":%llu,\"selector\":\"%s\",\"uptime_ms\":%llu,"
                "\"requests\":%llu,\"accepted\":%llu,\"refused\":%llu,"
                "\"errors\":%llu,\"bytes_out\":%llu,\"conns\":%d,\"active\":%d,\"pid\":%ld}\n",
                l->nlive, l->nready, l->current != NULL,
                l->nlive - l->nready - (l->current != NULL), l->io.nwaiting,
                l->io.nregistered, l->timers.n, (unsigned long long)l->steps,
                (unsigned long long)l->io.polls, l->io.ops->name,
                (unsigned long long)loop_time_ms(), (unsigned long long)st->requests,
                (unsigned long long)st->accepted, (unsigned long long)st->refused,
                (unsigned long long)st->errors, (unsigned long long)st->bytes_out, st->conns,
                st->active, (long)getpid()); /* --workers: which process answered */
    CO_END;
}

/* The page: plain HTML and a few lines of script, so that it is the loop's
 * own numbers that move, not a framework's. */
static const char page_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>async-c: the loop, live</title>\n"
    "<style>body{font:16px system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}td{padding:.3em 1em;border-bottom:1px solid #ddd}"
    "td.n{font:24px ui-monospace,monospace;text-align:right;min-width:6em}"
    "small{color:#666}</style></head><body>\n"
    "<h1>The loop, live</h1>\n"
    "<p><small>This page asks <a href=\"/stats\">/stats</a> once a second. Try "
    "<code id=\"cmd\">curl '/sleep?ms=5000' &amp;</code> a few times and watch the "
    "parked tasks.</small></p>\n"
    "<table>\n"
    "<tr><td>tasks alive</td><td class=\"n\" id=\"tasks\">-</td></tr>\n"
    "<tr><td>parked (waiting for something)</td><td class=\"n\" id=\"parked\">-</td></tr>\n"
    "<tr><td>parked on a descriptor</td><td class=\"n\" id=\"io_waiting\">-</td></tr>\n"
    "<tr><td>descriptors the selector watches</td><td class=\"n\" id=\"fds\">-</td></tr>\n"
    "<tr><td>pending timers</td><td class=\"n\" id=\"timers\">-</td></tr>\n"
    "<tr><td>open connections</td><td class=\"n\" id=\"conns\">-</td></tr>\n"
    "<tr><td>requests served</td><td class=\"n\" id=\"requests\">-</td></tr>\n"
    "<tr><td>requests per second</td><td class=\"n\" id=\"rate\">-</td></tr>\n"
    "<tr><td>task steps run</td><td class=\"n\" id=\"steps\">-</td></tr>\n"
    "<tr><td>selector</td><td class=\"n\" id=\"selector\">-</td></tr>\n"
    "</table>\n"
    "<p><small id=\"status\">waiting for the first answer</small></p>\n"
    "<script>\n"
    "let last = null;\n"
    "document.getElementById('cmd').textContent = \"curl '\" + location.origin + "
    "\"/sleep?ms=5000' &\";\n"
    "async function tick() {\n"
    "  try {\n"
    "    const r = await fetch('/stats', {cache: 'no-store'});\n"
    "    const s = await r.json();\n"
    "    for (const k of ['tasks','parked','io_waiting','fds','timers','conns','requests',"
    "'steps','selector'])\n"
    "      document.getElementById(k).textContent = s[k];\n"
    "    if (last) document.getElementById('rate').textContent =\n"
    "      Math.round((s.requests - last.requests) * 1000 / Math.max(1, s.uptime_ms - "
    "last.uptime_ms));\n"
    "    last = s;\n"
    "    document.getElementById('status').textContent = 'updated at ' + "
    "new Date().toLocaleTimeString();\n"
    "  } catch (e) {\n"
    "    document.getElementById('status').textContent = 'the server does not answer: ' + e;\n"
    "  }\n"
    "}\n"
    "tick(); setInterval(tick, 1000);\n"
    "</script></body></html>\n";

struct page {
    struct http_handler h;
};

static int page(co_t *co)
{
    struct page *f = (struct page *)co;
    CO_BEGIN(co);
    http_respond(f->h.res, 200, "text/html; charset=utf-8", page_html, sizeof page_html - 1);
    CO_END;
}

static const struct http_route routes[] = {
    HTTP_ROUTE("GET", "/", page, struct page),
    HTTP_ROUTE("GET", "/stats", stats, struct stats),
    HTTP_ROUTE("GET", "/hello", hello, struct hello),
    HTTP_ROUTE("POST", "/echo", echo, struct echo),
    HTTP_ROUTE("GET", "/sleep", slow, struct slow),
    HTTP_ROUTE("GET", "/users/{id}", user, struct user),
};

struct main_frame {
    co_t co;
    struct http_config cfg;
    struct http_server srv;
    struct http_serve serve;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    int r;
    CO_BEGIN(co);
    r = http_listen(&f->srv, &f->cfg);
    if (r < 0) {
        fprintf(stderr, "http_demo: cannot listen on %s:%d: %s\n", f->cfg.host, f->cfg.port,
                task_strerror(r));
        CO_RAISE(r);
    }
    printf("serving on http://%s:%d/  (Ctrl-C stops)\n", f->cfg.host, http_port(&f->srv));
    f->serve.srv = &f->srv;
    AWAIT_CO(&f->serve.co, http_serve);
    printf("stopped\n");
    CO_END;
}

static struct main_frame frame;

/* A whole decimal number in lo..hi, or -1: atoi would take "80x" for 80
 * and "x" for 0 (any free port), and the user would never know. */
static long number(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < lo || v > hi ? -1 : v;
}

static int run(void *arg)
{
    (void)arg;
    return loop_run(main_task, &frame, sizeof frame, NULL) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int workers = 1;
    http_config_default(&frame.cfg);
    frame.cfg.routes = routes;
    frame.cfg.nroutes = sizeof routes / sizeof routes[0];
    frame.cfg.handle_signals = 1;
    const char *port = getenv("HTTP_PORT");
    if (getenv("HTTP_HOST"))
        frame.cfg.host = getenv("HTTP_HOST");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            frame.cfg.host = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc &&
                 (workers = (int)number(argv[i + 1], 1, 64)) > 0)
            i++;
        else if (strcmp(argv[i], "--quiet") == 0)
            frame.cfg.access_log = NULL;
        else {
            fprintf(stderr, "usage: %s [--host H] [--port P] [--workers N] [--quiet]\n"
                            "  port 0..65535 (0: any free one), workers 1..64\n", argv[0]);
            return 2;
        }
    }
    if (port && (frame.cfg.port = (int)number(port, 0, 65535)) < 0) {
        fprintf(stderr, "http_demo: not a port: '%s' (0..65535)\n", port);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (workers > 1) {
        frame.cfg.reuse_port = 1;
        if (frame.cfg.port == 0) {
            /* Each worker listens on its own socket: with port 0 each would
             * get a port of its own.  Take one free port for all of them. */
            int fd = sock_listen_shared(frame.cfg.host, 0, 1);
            if (fd < 0 || (frame.cfg.port = sock_port(fd)) < 0) {
                fprintf(stderr, "http_demo: no free port on %s: %s\n", frame.cfg.host,
                        task_strerror(fd < 0 ? fd : frame.cfg.port));
                return 1;
            }
            close(fd);
        }
        return http_workers(workers, run, NULL) == 0 ? 0 : 1;
    }
    return run(NULL);
}
