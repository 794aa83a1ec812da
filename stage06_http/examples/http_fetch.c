/*
 * http_fetch.c - fetch URLs over one kept-alive connection, and print what
 * came back.
 *
 * Each URL is one request on the same client (client.h): a second request
 * to the same host and port goes over the connection the first one opened,
 * unless the server said it would close it.  In Python:
 *
 *     conn = http.client.HTTPConnection("127.0.0.1", 8080, timeout=30)
 *     for path in paths:
 *         conn.request("GET", path)
 *         r = conn.getresponse()
 *         print(f"HTTP/1.{r.version % 10} {r.status} {r.reason}")
 *         print(r.headers)
 *         print(r.read().decode())
 *
 * `http_fetch [URL...]`; with no URL it fetches http://127.0.0.1:8080/hello
 * from the stage's demo server (`make run` in another terminal).  Any
 * failure - no server there, a reset, a timeout, a reply that is not HTTP -
 * is reported by name, and the exit status is 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "loop.h"

#define DEFAULT_URL "http://127.0.0.1:8080/hello"

struct main_frame {
    co_t co;
    char **urls;
    int nurls, i, err, failed;
    struct client c;
    struct client_request rq;
};

static void print_reply(const struct client_request *rq, const struct client *c)
{
    printf("HTTP/1.%d %d %s    (connection #%u%s)\n", rq->resp.minor, rq->status,
           rq->resp.reason, c->connects, rq->reused ? ", kept alive" : "");
    for (int i = 0; i < rq->resp.nheaders; i++)
        printf("%s: %s\n", rq->resp.headers[i].name, rq->resp.headers[i].value);
    putchar('\n');
    fwrite(rq->body, 1, rq->body_len, stdout);
    if (rq->body_len && rq->body[rq->body_len - 1] != '\n')
        putchar('\n');
}

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    client_init(&f->c);
    for (f->i = 0; f->i < f->nurls; f->i++) {
        if (f->i > 0)
            putchar('\n');
        printf("== GET %s\n", f->urls[f->i]);
        client_req(&f->rq, &f->c, "GET", f->urls[f->i], NULL, NULL, 0);
        AWAIT_CO_CATCH(&f->rq.co, client_request, f->err);
        if (f->err == -ECANCELED)
            CO_RAISE(f->err); /* not a failed fetch: we are being stopped */
        if (f->err) {
            fprintf(stderr, "http_fetch: %s: %s\n", f->urls[f->i], client_strerror(f->err));
            if (f->err == -ECONNREFUSED)
                fprintf(stderr, "http_fetch: is the server running? (`make run` starts "
                                "the demo on 127.0.0.1:8080)\n");
            if (f->err == -EPROTONOSUPPORT)
                fprintf(stderr, "http_fetch: only http:// URLs: this client speaks no TLS\n");
            f->failed = 1;
            continue;
        }
        print_reply(&f->rq, &f->c);
    }
    CO_RETURN(f->failed);
    CO_FINALLY
    client_request_fini(&f->rq);
    client_close(&f->c);
    CO_END;
}

int main(int argc, char **argv)
{
    static char default_url[] = DEFAULT_URL;
    char *fallback[] = {default_url};
    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [URL...]   (default: %s)\n", argv[0], DEFAULT_URL);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    intptr_t failed = 0;
    int rc = LOOP_RUN(&failed, main_task, struct main_frame,
                      .urls = argc > 1 ? argv + 1 : fallback, .nurls = argc > 1 ? argc - 1 : 1);
    if (rc)
        fprintf(stderr, "http_fetch: %s\n", client_strerror(rc));
    return rc == 0 && !failed ? 0 : 1;
}
