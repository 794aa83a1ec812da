/*
 * http_journey.c - a server and three clients in one loop, so that one
 * trace shows every layer of the course at work on a few requests
 * (`make stage6 trace`, and GUIDE chapter 6's picture).
 *
 * The server listens on a free port of 127.0.0.1 and serves /hello and
 * /sleep?ms=N.  Three client tasks start together:
 *
 *     slow    GET /sleep?ms=100   parks on a timer inside its handler
 *     quick   GET /hello twice    over one kept-alive connection
 *     echo    POST /echo          a body the handler reads as it arrives
 *
 * The quick and echo replies come back while slow's handler still sleeps:
 * one slow request holds up nobody.  Then the main task stops the server
 * (http_stop: what SIGTERM does), and it returns once no connection is
 * left.  In Python terms:
 *
 *     server = await asyncio.start_server(handle, "127.0.0.1", 0)
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(get("/sleep?ms=100")); tg.create_task(get2("/hello"))
 *         tg.create_task(post("/echo", b"..."))
 *     server.close(); await server.wait_closed()
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "group.h"
#include "http.h"
#include "loop.h"
#include "sleep.h"

/* ---- the server's handlers -------------------------------------------------- */

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

struct slow {
    struct http_handler h;
    long ms;
};

static int slow(co_t *co)
{
    struct slow *f = (struct slow *)co;
    char v[24];
    CO_BEGIN(co);
    f->ms = http_query(f->h.req, "ms", v, sizeof v) > 0 ? strtol(v, NULL, 10) : 0;
    AWAIT(sleep_ms((uint64_t)f->ms));
    http_text(f->h.res, 200, "slept %ld ms\n", f->ms);
    CO_END;
}

struct echo {
    struct http_handler h;
    struct http_read rd;
};

static int echo(co_t *co)
{
    struct echo *f = (struct echo *)co;
    CO_BEGIN(co);
    http_reading(&f->rd, f->h.req);
    AWAIT_CO(&f->rd.co, http_read_all);
    http_respond(f->h.res, 200, "text/plain", f->h.req->body.p, f->h.req->body.len);
    CO_END;
}

static const struct http_route routes[] = {
    HTTP_ROUTE("GET", "/hello", hello, struct hello),
    HTTP_ROUTE("GET", "/sleep", slow, struct slow),
    HTTP_ROUTE("POST", "/echo", echo, struct echo),
};

/* ---- the clients --------------------------------------------------------------- */

/* One client task: `count` requests of `path` over one connection. */
struct fetch {
    co_t co;
    const char *who, *method, *path, *body;
    int port, count, i;
    char url[64];
    struct client c;
    struct client_request rq;
};

static int fetch(co_t *co)
{
    struct fetch *f = (struct fetch *)co;
    CO_BEGIN(co);
    client_init(&f->c);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d%s", f->port, f->path);
    for (f->i = 0; f->i < f->count; f->i++) {
        client_req(&f->rq, &f->c, f->method, f->url, NULL, f->body,
                   f->body ? strlen(f->body) : 0);
        AWAIT_CO(&f->rq.co, client_request);
        printf("%-5s %s %s -> %d%s: %s", f->who, f->method, f->path, f->rq.status,
               f->rq.reused ? " (same connection)" : "", f->rq.body);
    }
    CO_FINALLY
    client_request_fini(&f->rq);
    client_close(&f->c);
    CO_END;
}

struct main_frame {
    co_t co;
    struct http_config cfg;
    struct http_server srv;
    task_t *server;
    group_t clients;
    int port;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    int r;
    CO_BEGIN(co);
    group_init(&f->clients);
    http_config_default(&f->cfg);
    f->cfg.port = 0;
    f->cfg.routes = routes;
    f->cfg.nroutes = sizeof routes / sizeof routes[0];
    f->cfg.access_log = NULL; /* durations differ every run; the trace must not */
    r = http_listen(&f->srv, &f->cfg);
    if (r < 0)
        CO_RAISE(r);
    f->port = http_port(&f->srv);
    f->server = TASK_SPAWN(http_serve, struct http_serve, .srv = &f->srv);
    if (!f->server)
        CO_RAISE(-ENOMEM);

    GROUP_SPAWN(&f->clients, fetch, struct fetch, .who = "slow", .method = "GET",
                .path = "/sleep?ms=100", .port = f->port, .count = 1);
    GROUP_SPAWN(&f->clients, fetch, struct fetch, .who = "quick", .method = "GET",
                .path = "/hello", .port = f->port, .count = 2);
    GROUP_SPAWN(&f->clients, fetch, struct fetch, .who = "echo", .method = "POST",
                .path = "/echo", .body = "ping\n", .port = f->port, .count = 1);
    AWAIT(group_join(&f->clients, 0));

    http_stop(&f->srv);
    AWAIT(task_join(f->server));
    f->server = NULL;
    printf("server stopped: %llu requests on %llu connections\n",
           (unsigned long long)f->srv.stats.requests, (unsigned long long)f->srv.stats.accepted);
    CO_FINALLY
    if (f->server) { /* a client failed: stop the server, and wait for it */
        http_stop(&f->srv);
        AWAIT(task_join(f->server));
    }
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    if (rc != 0)
        fprintf(stderr, "http_journey: %s\n", client_strerror(rc));
    return rc == 0 ? 0 : 1;
}
