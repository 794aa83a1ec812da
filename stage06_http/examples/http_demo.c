/*
 * http_demo.c - the course's main demo: an HTTP/1.1 server on 127.0.0.1:8080.
 *
 * (Work in progress: /hello, /echo, /sleep?ms=N, /users/{id}; the live
 * stats page of issue 5 is still to come.)
 *
 *   http_demo [--host H] [--port P] [--workers N] [--quiet]
 *   (HTTP_HOST and HTTP_PORT set the defaults)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "loop.h"
#include "sleep.h"

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

static const struct http_route routes[] = {
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
    if (getenv("HTTP_HOST"))
        frame.cfg.host = getenv("HTTP_HOST");
    if (getenv("HTTP_PORT"))
        frame.cfg.port = atoi(getenv("HTTP_PORT"));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            frame.cfg.host = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            frame.cfg.port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0)
            frame.cfg.access_log = NULL;
        else {
            fprintf(stderr, "usage: %s [--host H] [--port P] [--workers N] [--quiet]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (workers > 1) {
        frame.cfg.reuse_port = 1;
        return http_workers(workers, run, NULL) == 0 ? 0 : 1;
    }
    return run(NULL);
}
