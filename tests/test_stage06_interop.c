/*
 * test_stage06_interop.c - the demo server (examples/http_demo.c) as a
 * program, driven by clients this course did not write: curl, Python's
 * http.client and headless Chromium.  A test whose tool is not installed
 * says so on a line of its own and passes.
 *
 * Each test starts its own demo with --port 0 (so a fresh server: its
 * /stats counters see only that test's clients), learns the port from the
 * "serving on" line it prints, runs the clients with s6_spawn (posix_spawnp),
 * their output captured in files, and stops the demo the way a user does: SIGINT,
 * after which it must say "stopped" and exit 0 (under SAN=1 the demo is
 * built with the sanitizers too, so this is also its leak check).
 *
 * Nothing here sleeps except to wait for another process, and every such
 * wait is bounded: a client or a demo that hangs is killed and the test
 * fails.  A failing check while a child runs first stops that child
 * (EXPECT), so a failure never leaves a server listening behind it.  The
 * files live in <build>/stage6/interop, next to the examples the tests run,
 * and the screenshot in <build>/stage6/demo.png, to be looked at.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stage02_util.h"
#include "stage05_util.h"
#include "stage06_util.h"

#ifndef EXAMPLES_DIR
#error "build with -DEXAMPLES_DIR='\"build/stage6/examples\"'"
#endif

#define N_OF(a) (sizeof a / sizeof a[0])

extern char **environ;

/* ---- time and places ------------------------------------------------------ */

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* <build>/stage6, from EXAMPLES_DIR = <build>/stage6/examples. */
static const char *stage_dir(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", EXAMPLES_DIR);
    char *slash = strrchr(dir, '/');
    if (slash && strcmp(slash, "/examples") == 0)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, "%s/..", EXAMPLES_DIR);
    return dir;
}

/* <build>/stage6/interop/name (the directory made on first use). */
static const char *work_file(const char *name)
{
    static char bufs[4][600];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/interop", stage_dir());
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        ck_abort_msg("mkdir %s: %s", p, strerror(errno));
    size_t n = strlen(p);
    snprintf(p + n, sizeof bufs[0] - n, "/%s", name);
    return p;
}

/* Is the tool there?  If not, say so: the test passes, visibly skipped. */
static int have(const char *tool, const char *test)
{
    char path[512];
    if (s6_find_in_path(tool, path, sizeof path))
        return 1;
    printf("skipped %s: %s is not installed\n", test, tool);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    ck_assert_ptr_nonnull(p);
    if (fp) {
        size_t r;
        while ((r = fread(p + n, 1, cap - n - 1, fp)) > 0) {
            n += r;
            if (cap - n < 1024) {
                cap *= 2;
                p = realloc(p, cap);
                ck_assert_ptr_nonnull(p);
            }
        }
        fclose(fp);
    }
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
}

/* Chromium's profile directory, emptied before and after each run (the
 * directory is a few MB, and a stale lock in it would confuse the next
 * run). */
static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Lines that are exactly line. */
static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = text; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'))
        n += strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0');
    return n;
}

/* ---- children ---------------------------------------------------------------- */

/* Every child still running, so that a failed check can stop them all
 * before it ends the test. */
static pid_t kids[8];
static int nkids;

static void forget(pid_t pid)
{
    for (int i = 0; i < nkids; i++)
        if (kids[i] == pid) {
            kids[i] = kids[--nkids];
            return;
        }
}

/* Wait up to ms for pid to end; 1 if it did (*status filled, reaped). */
static int wait_for(pid_t pid, int *status, long ms)
{
    long long end = s6_now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            forget(pid);
            return 1;
        }
        ck_assert_msg(r == 0 || errno == EINTR, "waitpid %d: %s", (int)pid, strerror(errno));
        if (s6_now_ms() >= end)
            return 0;
        nap_ms(10);
    }
}

/* A child that is still there after ms is killed, and reaped. */
static void kill_after(pid_t pid, long ms)
{
    int status;
    if (!wait_for(pid, &status, ms)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        forget(pid);
    }
}

/* On a failure: SIGTERM each child (a demo with --workers passes it on to
 * its workers), SIGKILL what is left after 3 s. */
static void stop_all(void)
{
    for (int i = 0; i < nkids; i++)
        kill(kids[i], SIGTERM);
    while (nkids > 0)
        kill_after(kids[0], 3000);
}

#define EXPECT(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            stop_all();                                                                        \
            ck_abort_msg(__VA_ARGS__);                                                         \
        }                                                                                      \
    } while (0)

/* Run argv (s6_spawn: argv[0] looked up in PATH, the signals at their
 * defaults) with stdout into the file out and stderr into err (NULL: into
 * out as well); stop_all ends it if a check fails. */
static pid_t spawn(const char *const argv[], const char *out, const char *err)
{
    /* O_APPEND: the demo's workers share the file */
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644) : -1;
    EXPECT(o >= 0 && (!err || e >= 0), "cannot write %s or %s: %s", out, err ? err : "-",
           strerror(errno));
    pid_t pid;
    int rc = s6_spawn(argv, o, e, &pid);
    close(o);
    if (e >= 0)
        close(e);
    EXPECT(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
    ck_assert_int_lt(nkids, (int)N_OF(kids));
    kids[nkids++] = pid;
    return pid;
}

/* What a client printed (its stdout and stderr, NUL-terminated, to free)
 * and how it ended. */
struct run {
    int status;
    char *out, *err;
    size_t len;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Run a client to its end, for up to ms: one that takes longer is killed
 * and the test fails (stopping the demo first). */
static struct run run_tool(const char *const argv[], long ms)
{
    const char *out = work_file("client.out"), *err = work_file("client.err");
    char outp[600], errp[600];
    snprintf(outp, sizeof outp, "%s", out);
    snprintf(errp, sizeof errp, "%s", err);
    struct run r = {0};
    pid_t pid = spawn(argv, outp, errp);
    if (!wait_for(pid, &r.status, ms)) {
        kill(pid, SIGKILL);
        waitpid(pid, &r.status, 0);
        forget(pid);
        EXPECT(0, "%s did not finish in %ld ms", argv[0], ms);
    }
    r.out = slurp(outp, &r.len);
    r.err = slurp(errp, NULL);
    return r;
}

static int exited_0(const struct run *r)
{
    return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* ---- the demo ---------------------------------------------------------------- */

struct demo {
    pid_t pid;
    int port, workers;
    char log[600]; /* its stdout and stderr */
};

/* Start http_demo --port 0 [--workers N] and wait (up to 10 s: the
 * sanitizers slow the start) until every worker says where it serves. */
static void demo_start(struct demo *d, int workers)
{
    char n[16];
    snprintf(n, sizeof n, "%d", workers);
    const char *argv[] = {EXAMPLES_DIR "/http_demo", "--port", "0", "--workers", n, NULL};
    if (workers == 1)
        argv[3] = NULL;
    d->workers = workers;
    snprintf(d->log, sizeof d->log, "%s", work_file("demo.out"));
    d->pid = spawn(argv, d->log, NULL);
    static const char serving[] = "serving on http://127.0.0.1:";
    long long end = s6_now_ms() + 10000;
    for (;;) {
        char *text = slurp(d->log, NULL);
        if (count_of(text, serving) >= workers) {
            d->port = atoi(strstr(text, serving) + strlen(serving));
            free(text);
            break;
        }
        int status = 0;
        if (wait_for(d->pid, &status, 0) || s6_now_ms() > end) {
            char msg[2048];
            snprintf(msg, sizeof msg, "%s", text);
            free(text);
            EXPECT(0, "http_demo did not start (status %d); its output:\n%s", status, msg);
        }
        free(text);
        nap_ms(10);
    }
    EXPECT(d->port > 0 && d->port < 65536, "no port in the demo's output");
}

/* Stop it the way a user does (Ctrl-C: SIGINT): it must finish within 10 s,
 * exit 0 and say "stopped" (each worker does).  Returns what it printed,
 * the access log included (free it). */
static char *demo_stop(struct demo *d)
{
    int status = 0;
    kill(d->pid, SIGINT);
    int ended = wait_for(d->pid, &status, 10000);
    if (!ended)
        stop_all(); /* SIGTERM: for the workers, the second signal, "stop now" */
    char *text = slurp(d->log, NULL);
    ck_assert_msg(ended, "http_demo still running 10 s after SIGINT; its output:\n%s", text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "http_demo: %s %d after SIGINT; its output:\n%s",
                  WIFEXITED(status) ? "exit status" : "killed by signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), text);
    ck_assert_msg(count_lines(text, "stopped") == d->workers, "want %d \"stopped\" in:\n%s",
                  d->workers, text);
    return text;
}

/* http://127.0.0.1:PORT/path, in one of four buffers used in turn. */
static const char *url(const struct demo *d, const char *path)
{
    static char bufs[4][128];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "http://127.0.0.1:%d%s", d->port, path);
    return p;
}

/* ===== curl ===================================================================== */

/* -q first: no ~/.curlrc; no proxy, whatever the environment says. */
#define CURL "curl", "-q", "--noproxy", "*", "--max-time", "20"

static void expect_curl_ok(const struct run *r)
{
    EXPECT(exited_0(r), "curl: status %d; stderr:\n%s", r->status, r->err);
}

START_TEST(curl_get_and_head)
{
    if (!have("curl", "curl_get_and_head"))
        return;
    struct demo d;
    demo_start(&d, 1);
    const char *get[] = {CURL, "-sS", url(&d, "/hello"), NULL};
    struct run r = run_tool(get, 30000);
    expect_curl_ok(&r);
    EXPECT(strcmp(r.out, "hello, world\n") == 0, "GET /hello: '%s'", r.out);
    run_free(&r);

    /* Two HEADs on one connection: a body sent after the first head would
     * be read as the second response's status line. */
    const char *head[] = {CURL, "-sSI", url(&d, "/hello"), url(&d, "/hello"), NULL};
    r = run_tool(head, 30000);
    expect_curl_ok(&r);
    EXPECT(count_of(r.out, "HTTP/1.1 200 OK\r\n") == 2, "HEAD: %s", r.out);
    EXPECT(count_of(r.out, "\r\nContent-Length: 13\r\n") == 2, "HEAD: %s", r.out);
    EXPECT(strstr(r.out, "hello") == NULL, "HEAD answered with a body: %s", r.out);
    run_free(&r);

    /* The log's lines begin with the client's address and port: the same
     * for both HEADs, so they did share the connection. */
    char *log = demo_stop(&d);
    static const char head_line[] = " \"HEAD /hello HTTP/1.1\" 200 0 ";
    ck_assert_msg(count_of(log, head_line) == 2, "%s", log);
    const char *h1 = strstr(log, head_line), *h2 = strstr(h1 + 1, head_line);
    const char *p1 = h1, *p2 = h2;
    while (p1 > log && p1[-1] != '\n')
        p1--;
    while (p2 > log && p2[-1] != '\n')
        p2--;
    ck_assert_msg(h1 - p1 == h2 - p2 && memcmp(p1, p2, (size_t)(h1 - p1)) == 0,
                  "two connections:\n%s", log);
    free(log);
}
END_TEST

/* A body for curl to upload: written to NAME.in, to be sent as `data`
 * ("@file"), and echoed into NAME.got. */
struct upload {
    char in[600], out[600], data[610];
};

static void upload_files(struct upload *u, const char *name, const void *body, size_t len)
{
    char file[64];
    snprintf(file, sizeof file, "%s.in", name);
    snprintf(u->in, sizeof u->in, "%s", work_file(file));
    snprintf(file, sizeof file, "%s.got", name);
    snprintf(u->out, sizeof u->out, "%s", work_file(file));
    snprintf(u->data, sizeof u->data, "@%s", u->in);
    spit(u->in, body, len);
}

/* The echo curl saved must be the body, byte for byte. */
static void expect_echoed(const struct upload *u, const void *body, size_t len)
{
    size_t got_len;
    char *got = slurp(u->out, &got_len);
    EXPECT(got_len == len && memcmp(got, body, len) == 0, "echoed %zu bytes, not the %zu sent",
           got_len, len);
    free(got);
}

/* Every byte value, CR, LF and NUL included, must come back as it went. */
START_TEST(curl_post_echo)
{
    if (!have("curl", "curl_post_echo"))
        return;
    unsigned char body[512];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)(i * 7);
    struct upload u;
    upload_files(&u, "echo", body, sizeof body);

    struct demo d;
    demo_start(&d, 1);
    const char *post[] = {CURL, "-sS", "--data-binary", u.data, "-H",
                          "Content-Type: application/x-bytes", "-o", u.out, "-w",
                          "%{http_code} %{content_type}", url(&d, "/echo"), NULL};
    struct run r = run_tool(post, 30000);
    expect_curl_ok(&r);
    EXPECT(strcmp(r.out, "200 application/x-bytes") == 0, "POST /echo: %s", r.out);
    expect_echoed(&u, body, sizeof body);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* A body of unknown length, sent in chunks: the server decodes them. */
START_TEST(curl_chunked_upload)
{
    if (!have("curl", "curl_chunked_upload"))
        return;
    char body[5000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    struct upload u;
    upload_files(&u, "chunked", body, sizeof body);

    struct demo d;
    demo_start(&d, 1);
    const char *post[] = {CURL, "-sSv", "-H", "Transfer-Encoding: chunked", "-H",
                          "Content-Type: text/x-letters", "--data-binary", u.data, "-o", u.out, "-w",
                          "%{http_code} %{content_type}", url(&d, "/echo"), NULL};
    struct run r = run_tool(post, 30000);
    expect_curl_ok(&r);
    EXPECT(strstr(r.err, "> Transfer-Encoding: chunked") != NULL, "not sent chunked:\n%s", r.err);
    EXPECT(strstr(r.err, "> Content-Length") == NULL, "sent a length:\n%s", r.err);
    EXPECT(strcmp(r.out, "200 text/x-letters") == 0, "POST /echo: %s", r.out);
    expect_echoed(&u, body, sizeof body);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* Two URLs on one command line: curl keeps the connection, and the
 * server's own count (accepted) agrees that there was only one: that is
 * the proof, curl's words for it vary with its version. */
START_TEST(curl_keep_alive)
{
    if (!have("curl", "curl_keep_alive"))
        return;
    struct demo d;
    demo_start(&d, 1);
    const char *two[] = {CURL, "-sSv", url(&d, "/hello"), url(&d, "/stats"), NULL};
    struct run r = run_tool(two, 30000);
    expect_curl_ok(&r);
    /* 7.x and 8.x say "Re-using existing connection", newer ones "Reusing
     * existing http: connection" */
    EXPECT(strstr(r.err, "Re-using existing") != NULL || strstr(r.err, "Reusing existing") != NULL,
           "not reused:\n%s", r.err);
    EXPECT(strncmp(r.out, "hello, world\n{", 14) == 0, "got: %s", r.out);
    EXPECT(strstr(r.out, "\"accepted\":1,") != NULL, "/stats: %s", r.out);
    EXPECT(strstr(r.out, "\"requests\":1,") != NULL, "/stats: %s", r.out);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* curl waits for the 100 Continue before it sends the body - but only for
 * a second, then it sends anyway: so the interim answer itself must be seen
 * in curl's log. */
START_TEST(curl_expect_continue)
{
    if (!have("curl", "curl_expect_continue"))
        return;
    char body[3000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('0' + i % 10);
    struct upload u;
    upload_files(&u, "continue", body, sizeof body);

    struct demo d;
    demo_start(&d, 1);
    const char *post[] = {CURL, "-sSv", "-H", "Expect: 100-continue", "--data-binary", u.data,
                          "-o", u.out, "-w", "%{http_code}", url(&d, "/echo"), NULL};
    struct run r = run_tool(post, 30000);
    expect_curl_ok(&r);
    EXPECT(strstr(r.err, "> Expect: 100-continue") != NULL, "no Expect sent:\n%s", r.err);
    EXPECT(strstr(r.err, "< HTTP/1.1 100 Continue") != NULL, "no 100 Continue:\n%s", r.err);
    /* The 100 in curl's log is the proof that the server sent it: a curl
     * that heard nothing would send the body after its own 1 s wait, and
     * the test would still get its echo. */
    int code = 0;
    EXPECT(sscanf(r.out, "%d", &code) == 1 && code == 200, "POST /echo: %s", r.out);
    expect_echoed(&u, body, sizeof body);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

START_TEST(curl_not_found_and_not_allowed)
{
    if (!have("curl", "curl_not_found_and_not_allowed"))
        return;
    struct demo d;
    demo_start(&d, 1);
    const char *nope[] = {CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", url(&d, "/nope"),
                          NULL};
    struct run r = run_tool(nope, 30000);
    expect_curl_ok(&r);
    EXPECT(strcmp(r.out, "404") == 0, "GET /nope: %s", r.out);
    run_free(&r);

    const char *post[] = {CURL, "-sSi", "--data-binary", "x", "-w", "%{http_code}",
                          url(&d, "/hello"), NULL};
    r = run_tool(post, 30000);
    expect_curl_ok(&r);
    EXPECT(strncmp(r.out, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0, "POST /hello: %s",
           r.out);
    EXPECT(strstr(r.out, "\r\nAllow: GET, HEAD\r\n") != NULL, "POST /hello: %s", r.out);
    EXPECT(strlen(r.out) > 3 && strcmp(r.out + strlen(r.out) - 3, "405") == 0, "%s", r.out);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* One curl, two transfers started at once on two connections; -w prints a
 * line as each one ends, so the order of the lines is the order in which
 * they finished: /hello first, while /sleep still sleeps. */
START_TEST(curl_slow_request_does_not_block)
{
    if (!have("curl", "curl_slow_request_does_not_block"))
        return;
    struct demo d;
    demo_start(&d, 1);
    const char *both[] = {CURL, "-sS", "--parallel", "--parallel-immediate", "-o", "/dev/null",
                          "-o", "/dev/null", "-w", "%{url_effective} %{http_code} %{time_total}\n",
                          url(&d, "/sleep?ms=300"), url(&d, "/hello"), NULL};
    struct run r = run_tool(both, 30000);
    expect_curl_ok(&r);
    char first[128], second[128];
    int c1 = 0, c2 = 0;
    double t1 = 0, t2 = 0;
    EXPECT(sscanf(r.out, "%127s %d %lf %127s %d %lf", first, &c1, &t1, second, &c2, &t2) == 6,
           "curl --parallel: %s", r.out);
    EXPECT(strcmp(first, url(&d, "/hello")) == 0 && c1 == 200,
           "/hello did not finish first:\n%s", r.out);
    EXPECT(strcmp(second, url(&d, "/sleep?ms=300")) == 0 && c2 == 200, "%s", r.out);
    /* The order is the proof (a server that served one request at a time
     * would finish /sleep first); no upper bound on a time, which a loaded
     * machine could break.  The sleep's lower bound is the handler's own. */
    EXPECT(t2 >= 0.3, "times: /hello %.3f s, /sleep %.3f s", t1, t2);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* ===== Python's http.client ======================================================= */

/* One HTTPConnection for three requests: http.client reconnects silently
 * when the server closes, so the script checks that its socket is the same
 * one, and the server's count agrees (accepted 1). */
static const char py_keep_alive[] =
    "import http.client, json, sys\n"
    "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)\n"
    "c.request('GET', '/hello')\n"
    "r = c.getresponse(); b = r.read()\n"
    "assert (r.status, b) == (200, b'hello, world\\n'), (r.status, b)\n"
    "sock = c.sock\n"
    "body = bytes(range(256))\n"
    "c.request('POST', '/echo', body=body, headers={'Content-Type': 'application/x-py'})\n"
    "r = c.getresponse(); b = r.read()\n"
    "assert (r.status, b) == (200, body), (r.status, b)\n"
    "assert r.getheader('Content-Type') == 'application/x-py', r.getheaders()\n"
    "c.request('GET', '/stats')\n"
    "r = c.getresponse()\n"
    "assert r.status == 200 and r.getheader('Content-Type') == 'application/json', r.getheaders()\n"
    "s = json.loads(r.read())\n"
    "assert c.sock is sock, 'a new connection'\n"
    "missing = {'tasks', 'ready', 'parked', 'io_waiting', 'fds', 'timers', 'requests', 'conns',\n"
    "           'pid'} - s.keys()\n"
    "assert not missing, missing\n"
    "assert all(isinstance(s[k], int) for k in s if k != 'selector'), s\n"
    "assert s['requests'] >= 2 and s['accepted'] == 1 and s['conns'] == 1, s\n"
    "c.close()\n"
    "print('ok')\n";

START_TEST(python_http_client)
{
    if (!have("python3", "python_http_client"))
        return;
    struct demo d;
    demo_start(&d, 1);
    char port[16];
    snprintf(port, sizeof port, "%d", d.port);
    const char *py[] = {"python3", "-c", py_keep_alive, port, NULL};
    struct run r = run_tool(py, 30000);
    EXPECT(exited_0(&r) && strcmp(r.out, "ok\n") == 0, "python3: status %d: %s%s", r.status, r.out,
           r.err);
    run_free(&r);
    free(demo_stop(&d));
}
END_TEST

/* ===== --workers ===================================================================== */

/* Two processes listen on one port (SO_REUSEPORT): the kernel spreads new
 * connections between them, so fetching /stats on new connections soon
 * shows both pids.  SIGINT to the parent must stop both: it exits 0 only
 * once it has reaped them, so none may be left. */
START_TEST(workers_share_the_port)
{
    if (!have("curl", "workers_share_the_port"))
        return;
    struct demo d;
    demo_start(&d, 2);
    long pids[2] = {0, 0};
    int seen = 0, fetched = 0;
    char stats[128];
    snprintf(stats, sizeof stats, "%s", url(&d, "/stats"));
    for (int batch = 0; batch < 10 && seen < 2; batch++) { /* 200 connections at most */
        const char *argv[32] = {CURL, "-sS", "-H", "Connection: close"};
        int n = 0;
        while (argv[n])
            n++;
        for (int i = 0; i < 20; i++)
            argv[n++] = stats;
        argv[n] = NULL;
        struct run r = run_tool(argv, 30000);
        expect_curl_ok(&r);
        for (const char *p = r.out; (p = strstr(p, "\"pid\":")) != NULL; p++) {
            long pid = strtol(p + 6, NULL, 10);
            fetched++;
            EXPECT(pid > 0 && pid != (long)d.pid, "pid %ld answered (the parent is %d)", pid,
                   (int)d.pid);
            if (seen == 0 || (seen == 1 && pid != pids[0]))
                pids[seen++] = pid;
        }
        run_free(&r);
    }
    EXPECT(seen == 2, "only pid %ld answered %d fetches", pids[0], fetched);
    free(demo_stop(&d));
    for (int i = 0; i < 2; i++)
        ck_assert_msg(kill((pid_t)pids[i], 0) < 0 && errno == ESRCH, "worker %ld still there",
                      pids[i]);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* ===== headless Chromium ============================================================ */

static int find_chromium(char *path, size_t n, const char *test)
{
    if (s6_find_in_path("chromium", path, n) || s6_find_in_path("chromium-browser", path, n))
        return 1;
    printf("skipped %s: chromium (or chromium-browser) is not installed\n", test);
    return 0;
}

/* The value of the element with id="id" in the dumped DOM, into out. */
static int dom_text(const char *dom, const char *id, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\">", id);
    const char *p = strstr(dom, key);
    if (!p)
        return 0;
    p += strlen(key);
    size_t len = strcspn(p, "<");
    snprintf(out, n, "%.*s", (int)len, p);
    return 1;
}

/* The page fetches /stats from its script and writes the numbers in: what
 * Chromium dumps after 3 s of the page's (virtual) time must show numbers
 * where the page had "-". */
START_TEST(chromium_page_shows_stats)
{
    char chromium[512];
    if (!find_chromium(chromium, sizeof chromium, "chromium_page_shows_stats"))
        return;
    char profile[700];
    snprintf(profile, sizeof profile, "--user-data-dir=%s", work_file("chromium-profile"));
    rm_tree(profile + strlen("--user-data-dir="));
    struct demo d;
    demo_start(&d, 1);
    const char *argv[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-proxy-server", profile, "--virtual-time-budget=3000",
                          "--dump-dom", url(&d, "/"), NULL};
    struct run r = run_tool(argv, 60000);
    EXPECT(exited_0(&r), "chromium: status %d:\n%s", r.status, r.err);
    static const char *const numbers[] = {"tasks",  "parked", "io_waiting", "fds",
                                          "timers", "conns",  "requests",   "steps"};
    char v[128];
    for (size_t i = 0; i < N_OF(numbers); i++) {
        EXPECT(dom_text(r.out, numbers[i], v, sizeof v), "no #%s in:\n%s", numbers[i], r.out);
        EXPECT(v[0] && strspn(v, "0123456789") == strlen(v), "#%s is '%s', not a number",
               numbers[i], v);
    }
    EXPECT(dom_text(r.out, "requests", v, sizeof v) && atoi(v) >= 1, "#requests %s", v);
    EXPECT(dom_text(r.out, "selector", v, sizeof v) &&
               (strcmp(v, "select") == 0 || strcmp(v, "poll") == 0 || strcmp(v, "epoll") == 0),
           "#selector is '%s'", v);
    EXPECT(dom_text(r.out, "status", v, sizeof v) && strncmp(v, "updated at ", 11) == 0,
           "#status is '%s'", v);
    run_free(&r);
    char *log = demo_stop(&d);
    ck_assert_msg(strstr(log, "\"GET /stats HTTP/1.1\" 200 ") != NULL, "no fetch of /stats:\n%s",
                  log);
    free(log);
    rm_tree(profile + strlen("--user-data-dir="));
}
END_TEST

START_TEST(chromium_screenshot)
{
    char chromium[512];
    if (!find_chromium(chromium, sizeof chromium, "chromium_screenshot"))
        return;
    char profile[700], shot[700], png[600];
    snprintf(profile, sizeof profile, "--user-data-dir=%s", work_file("chromium-profile"));
    rm_tree(profile + strlen("--user-data-dir="));
    snprintf(png, sizeof png, "%s/demo.png", stage_dir());
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    unlink(png);
    struct demo d;
    demo_start(&d, 1);
    const char *argv[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-proxy-server", profile, "--virtual-time-budget=3000", shot,
                          "--window-size=1000,700", url(&d, "/"), NULL};
    struct run r = run_tool(argv, 60000);
    EXPECT(exited_0(&r), "chromium: status %d:\n%s", r.status, r.err);
    run_free(&r);
    free(demo_stop(&d));
    rm_tree(profile + strlen("--user-data-dir="));
    size_t len;
    unsigned char *p = (unsigned char *)slurp(png, &len);
    /* the signature, then the IHDR chunk: width and height, big-endian */
    ck_assert_msg(len > 24 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 &&
                      memcmp(p + 12, "IHDR", 4) == 0,
                  "%s: not a PNG (%zu bytes)", png, len);
    unsigned w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    unsigned h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    ck_assert_msg(w == 1000 && h == 700, "%s is %ux%u, not 1000x700", png, w, h);
    free(p);
}
END_TEST

/* ===== the tcases ===================================================================== */

void stage06_interop_tcases(Suite *s)
{
    TCase *tc = tcase_create("interop_curl");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, curl_get_and_head);
    tcase_add_test(tc, curl_post_echo);
    tcase_add_test(tc, curl_chunked_upload);
    tcase_add_test(tc, curl_keep_alive);
    tcase_add_test(tc, curl_expect_continue);
    tcase_add_test(tc, curl_not_found_and_not_allowed);
    tcase_add_test(tc, curl_slow_request_does_not_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("interop_python");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, python_http_client);
    suite_add_tcase(s, tc);

    tc = tcase_create("interop_workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, workers_share_the_port);
    suite_add_tcase(s, tc);

    tc = tcase_create("interop_chromium");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, chromium_page_shows_stats);
    tcase_add_test(tc, chromium_screenshot);
    suite_add_tcase(s, tc);
}
