/*
 * test_stage06_parse.c - hparse, the HTTP/1.1 message parser: the end of a
 * head found the same wherever the input is split, requests and responses
 * parsed in place, every malformed or ambiguous form refused with its own
 * error and status, the framing rules of RFC 9112 6.3, and chunked bodies
 * decoded the same whether they come at once, split anywhere, or a byte at
 * a time - with the bytes after the message left for the next one.
 *
 * Every buffer given to the parser is a copy in a block of exactly its
 * length (exact()), so a read past `len` is caught by AddressSanitizer in a
 * sanitized build.  A parse is checked as one string (describe_req(),
 * describe_resp()) holding every field of the result, after checking that
 * each string it points to lies inside the head.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"
#include "stage06_util.h"

/* A string literal and its length, NULs inside it included. */
#define S(lit) lit, sizeof lit - 1
#define N_OF(a) (sizeof a / sizeof a[0])

static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* p points at a NUL-terminated string inside buf[0..len). */
static void assert_inside(const char *p, const char *buf, size_t len)
{
    ck_assert_ptr_nonnull(p);
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;
    ck_assert_msg(a >= b && a < b + len, "a string outside the head");
    ck_assert_msg(memchr(p, '\0', len - (a - b)) != NULL, "a string not ended inside the head");
}

static const char *body_name(enum hparse_body b)
{
    switch (b) {
    case HPARSE_BODY_NONE:
        return "none";
    case HPARSE_BODY_LENGTH:
        return "length";
    case HPARSE_BODY_CHUNKED:
        return "chunked";
    case HPARSE_BODY_UNTIL_CLOSE:
        return "close";
    }
    return "?";
}

static void describe_headers(char *out, size_t cap, size_t at, const struct hparse_header *h,
                             int n, const char *buf, size_t len)
{
    at += (size_t)snprintf(out + at, cap - at, "[");
    for (int i = 0; i < n && at < cap; i++) {
        assert_inside(h[i].name, buf, len);
        assert_inside(h[i].value, buf, len);
        at += (size_t)snprintf(out + at, cap - at, "%s%s=%s", i ? "|" : "", h[i].name, h[i].value);
    }
    if (at < cap)
        snprintf(out + at, cap - at, "]");
}

/* "GET /p ?q host=h 1.1 ka=1 exp=0 length:5 [Host=h|...]" */
static const char *describe_req(const struct hparse_req *r, const char *buf, size_t len)
{
    static char out[8192];
    assert_inside(r->method, buf, len);
    assert_inside(r->path, buf, len);
    assert_inside(r->query, buf, len);
    assert_inside(r->host, buf, len);
    int at = snprintf(out, sizeof out, "%s %s ?%s host=%s 1.%d ka=%d exp=%d %s:%llu ", r->method,
                      r->path, r->query, r->host, r->minor, r->keep_alive, r->expect_continue,
                      body_name(r->body), (unsigned long long)r->content_length);
    describe_headers(out, sizeof out, (size_t)at, r->headers, r->nheaders, buf, len);
    return out;
}

/* "200 [OK] 1.1 ka=1 length:5 [Content-Length=5]" */
static const char *describe_resp(const struct hparse_resp *r, const char *buf, size_t len)
{
    static char out[8192];
    assert_inside(r->reason, buf, len);
    int at = snprintf(out, sizeof out, "%d [%s] 1.%d ka=%d %s:%llu ", r->status, r->reason,
                      r->minor, r->keep_alive, body_name(r->body),
                      (unsigned long long)r->content_length);
    describe_headers(out, sizeof out, (size_t)at, r->headers, r->nheaders, buf, len);
    return out;
}

/* Parse a copy of head[0..len): the result, and *desc the description (or
 * "" on an error). */
static int parse_req(const char *head, size_t len, int max, const char **desc)
{
    static struct hparse_req req;
    char *copy = exact(head, len);
    int r = hparse_request(copy, len, max, &req);
    *desc = r == 0 ? describe_req(&req, copy, len) : "";
    free(copy);
    return r;
}

static int parse_resp(const char *head, size_t len, int to_head, const char **desc)
{
    static struct hparse_resp resp;
    char *copy = exact(head, len);
    int r = hparse_response(copy, len, HPARSE_MAX_HEADERS, to_head, &resp);
    *desc = r == 0 ? describe_resp(&resp, copy, len) : "";
    free(copy);
    return r;
}

/* The head's length found by one hparse_scan_head() call over all of it. */
static size_t scan_all(const char *msg, size_t len, struct hparse_scan *s)
{
    memset(s, 0, sizeof *s);
    char *copy = exact(msg, len);
    size_t h = hparse_scan_head(s, copy, len);
    free(copy);
    return h;
}

/* ===== valid requests, however they arrive ================================ */

struct valid {
    const char *msg;
    size_t after;     /* bytes after the head: a body, the next request */
    size_t line_len;  /* through the '\n' of the request line */
    const char *want; /* describe_req() of the parse */
};

static const struct valid valid[] = {
    {"GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n", 0, 34,
     "GET /index.html ?a=1&b=2 host=example.com 1.1 ka=1 exp=0 none:0 "
     "[Host=example.com|User-Agent=t/1]"},
    {"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 5, 23,
     "POST /submit ? host=a 1.1 ka=1 exp=0 length:5 [Host=a|Content-Length=5]"},
    {"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     15, 19, "POST /up ? host=a 1.1 ka=1 exp=0 chunked:0 [Host=a|Transfer-Encoding=chunked]"},
    /* absolute-form: the host is the target's, the Host field is ignored */
    {"GET http://example.com:8080/p/q?x=y HTTP/1.1\r\nHost: other\r\n\r\n", 0, 46,
     "GET /p/q ?x=y host=example.com:8080 1.1 ka=1 exp=0 none:0 [Host=other]"},
    {"GET HTTPS://Example.com?x HTTP/1.1\r\nHost: e\r\n\r\n", 0, 36,
     "GET / ?x host=Example.com 1.1 ka=1 exp=0 none:0 [Host=e]"},
    {"DELETE http://h HTTP/1.1\r\nHost: h\r\n\r\n", 0, 26,
     "DELETE / ? host=h 1.1 ka=1 exp=0 none:0 [Host=h]"},
    /* two requests in one buffer: the head is the first one's */
    {"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", 28, 17,
     "GET /1 ? host=a 1.1 ka=1 exp=0 none:0 [Host=a]"},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 16,
     "GET / ? host= 1.0 ka=1 exp=0 none:0 [Connection=Keep-Alive]"},
    {"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc", 3, 17,
     "PUT /f ? host=a 1.1 ka=1 exp=1 length:3 [Host=a|Expect=100-Continue|Content-Length=3]"},
    {"GET / HTTP/1.1\nHost: a\n\n", 0, 15, "GET / ? host=a 1.1 ka=1 exp=0 none:0 [Host=a]"},
    /* empty lines before the request line are skipped (RFC 9112 2.2) */
    {"\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 19,
     "GET / ? host=a 1.1 ka=1 exp=0 none:0 [Host=a]"},
    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 20,
     "OPTIONS * ? host=a 1.1 ka=1 exp=0 none:0 [Host=a]"},
    {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: \t a \t\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9 \r\n"
     "Connection: close\r\n\r\n",
     0, 21,
     "GET /caf\xc3\xa9 ? host=a 1.1 ka=0 exp=0 none:0 "
     "[Host=a|X-Empty=|X-Obs=caf\xc3\xa9|Connection=close]"},
};

/* Fed at once, split into two at every byte, and a byte at a time (each
 * call given a buffer of exactly the bytes that have "arrived"): the same
 * head length, the same line_len, the same parse. */
START_TEST(request_any_split)
{
    const struct valid *v = &valid[_i];
    size_t len = strlen(v->msg), head = len - v->after;
    struct hparse_scan s;
    const char *desc;

    ck_assert_uint_eq(scan_all(v->msg, len, &s), head);
    ck_assert_uint_eq(s.line_len, v->line_len);
    ck_assert_int_eq(parse_req(v->msg, head, HPARSE_MAX_HEADERS, &desc), 0);
    ck_assert_str_eq(desc, v->want);

    for (size_t k = 0; k <= len; k++) {
        memset(&s, 0, sizeof s);
        char *a = exact(v->msg, k), *b = exact(v->msg, len);
        ck_assert_uint_eq(hparse_scan_head(&s, a, k), k >= head ? head : 0);
        ck_assert_uint_eq(hparse_scan_head(&s, b, len), head);
        ck_assert_uint_eq(s.line_len, v->line_len);
        free(a);
        free(b);
        ck_assert_int_eq(parse_req(v->msg, head, HPARSE_MAX_HEADERS, &desc), 0);
        ck_assert_str_eq(desc, v->want);
    }

    memset(&s, 0, sizeof s);
    for (size_t k = 1; k <= len; k++) {
        char *a = exact(v->msg, k);
        ck_assert_uint_eq(hparse_scan_head(&s, a, k), k >= head ? head : 0);
        ck_assert_uint_eq(s.pos, k <= head ? k : head); /* each byte looked at once */
        ck_assert_uint_eq(s.line_len, k >= v->line_len ? v->line_len : 0);
        free(a);
    }
}
END_TEST

/* A body or the next request follows the head, where the framing says. */
START_TEST(request_pipelined)
{
    static const char two[] = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                              "GET /b?c HTTP/1.0\r\n\r\n";
    struct hparse_scan s;
    const char *desc;
    size_t h1 = scan_all(two, strlen(two), &s);
    ck_assert_uint_eq(h1, 48);
    ck_assert_int_eq(parse_req(two, h1, HPARSE_MAX_HEADERS, &desc), 0);
    ck_assert_str_eq(desc, "POST /a ? host=h 1.1 ka=1 exp=0 length:3 [Host=h|Content-Length=3]");
    const char *next = two + h1 + 3;
    size_t h2 = scan_all(next, strlen(next), &s);
    ck_assert_uint_eq(h2, strlen(next));
    ck_assert_int_eq(parse_req(next, h2, HPARSE_MAX_HEADERS, &desc), 0);
    ck_assert_str_eq(desc, "GET /b ?c host= 1.0 ka=0 exp=0 none:0 []");

    /* bytes after the empty line are not part of the head, even when a
     * caller passes them: they are not looked at */
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1\r\nHost: h\r\n\r\n\x01 garbage"), 10, &desc), 0);
    ck_assert_str_eq(desc, "GET / ? host=h 1.1 ka=1 exp=0 none:0 [Host=h]");
}
END_TEST

/* ===== finding the end of a head ========================================== */

START_TEST(scan_empty_lines)
{
    struct hparse_scan s;
    /* empty lines alone are not an (empty) head: the scan goes on */
    ck_assert_uint_eq(scan_all(S("\r\n\r\n"), &s), 0);
    ck_assert_uint_eq(s.line_len, 0);
    ck_assert_uint_eq(s.pos, 4);
    ck_assert_uint_eq(scan_all(S("\n\n\n\n\r\n\n"), &s), 0);
    ck_assert_uint_eq(s.line_len, 0);

    /* ... until a request follows them */
    static const char msg[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    memset(&s, 0, sizeof s);
    ck_assert_uint_eq(hparse_scan_head(&s, msg, 4), 0);
    ck_assert_uint_eq(hparse_scan_head(&s, msg, sizeof msg - 1), sizeof msg - 1);
    ck_assert_uint_eq(s.line_len, 20);
    const char *desc;
    ck_assert_int_eq(parse_req(msg, sizeof msg - 1, 10, &desc), 0);
    ck_assert_str_eq(desc, "GET / ? host=a 1.1 ka=1 exp=0 none:0 [Host=a]");

    /* the parser refuses a head of empty lines however it got one */
    ck_assert_int_eq(parse_req(S("\r\n\r\n"), 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("\n"), 10, &desc), HPARSE_EBAD);
}
END_TEST

START_TEST(scan_line_endings)
{
    struct hparse_scan s;
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\r\nHost: a\n\r\n"), &s), 26);
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\r\nHost: a\r\n\nX"), &s), 26);
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\n\n"), &s), 16);
    ck_assert_uint_eq(s.line_len, 15);
    /* "\r\n\r" and a byte that is not '\n': not the end */
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\r\nHost: a\r\n\rX"), &s), 0);
    ck_assert_uint_eq(s.line_len, 16);
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\r\nHos"), &s), 0);
    ck_assert_uint_eq(s.line_len, 16);
    ck_assert_uint_eq(scan_all(S("GET / HTTP/1.1\r"), &s), 0);
    ck_assert_uint_eq(s.line_len, 0);
    ck_assert_uint_eq(scan_all("", 0, &s), 0);

    /* once found, the same length again, however much more there is */
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    memset(&s, 0, sizeof s);
    ck_assert_uint_eq(hparse_scan_head(&s, msg, 30), 27);
    ck_assert_uint_eq(hparse_scan_head(&s, msg, sizeof msg - 1), 27);
}
END_TEST

/* A bare CR is the parser's to refuse: the scan only counts lines. */
START_TEST(scan_bare_cr)
{
    static const char *const msgs[] = {
        "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\rX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
        "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (size_t i = 0; i < N_OF(msgs); i++) {
        struct hparse_scan s;
        const char *desc;
        size_t len = strlen(msgs[i]);
        ck_assert_uint_eq(scan_all(msgs[i], len, &s), len);
        ck_assert_int_eq(parse_req(msgs[i], len, 10, &desc), HPARSE_EBAD);
    }
}
END_TEST

/* ===== refused requests =================================================== */

struct invalid {
    const char *msg;
    size_t len;
    int err, status;
};

#define BAD(lit) {S(lit), HPARSE_EBAD, 400}
#define FRAMING(lit) {S(lit), HPARSE_EFRAMING, 400}
#define VERSION(lit) {S(lit), HPARSE_EVERSION, 505}
#define CODING(lit) {S(lit), HPARSE_ECODING, 501}
#define EXPECT(lit) {S(lit), HPARSE_EEXPECT, 417}
/* A request line, Host, and then `fields` */
#define REQ(fields) "POST / HTTP/1.1\r\nHost: a\r\n" fields "\r\n"
#define REQ10(fields) "POST / HTTP/1.0\r\n" fields "\r\n"

static const struct invalid invalid[] = {
    /* the request line: one SP between three parts */
    BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
    BAD(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /\r\nHost: a\r\n\r\n"),
    BAD("GET\r\nHost: a\r\n\r\n"),
    BAD("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET / http/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/11\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1,1\r\nHost: a\r\n\r\n"),
    VERSION("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    VERSION("GET / HTTP/0.9\r\nHost: a\r\n\r\n"),
    VERSION("GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    VERSION("GET / HTTP/3.1\r\n\r\n"),
    /* the target */
    BAD("GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /a\x01z HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /a\x00z HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("OPTIONS */ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    BAD("GET example.com/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http:/h/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http://u@h/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    BAD("GET http://h\"/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    /* Host: exactly one in HTTP/1.1, at most one in 1.0, and valid */
    BAD("GET / HTTP/1.1\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nX: y\r\n\r\n"),
    BAD("GET http://h/ HTTP/1.1\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n"),
    BAD("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n"),
    /* field lines */
    BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
    BAD(REQ(" X: y\r\n")),
    BAD(REQ("X: y\r\n  z\r\n")),
    BAD(REQ("X: y\r\n\tz\r\n")),
    BAD(REQ(": v\r\n")),
    BAD(REQ("NoColon\r\n")),
    BAD(REQ("X-\xff: a\r\n")),
    BAD(REQ("X(: a\r\n")),
    BAD(REQ("X: a\x00z\r\n")),
    BAD(REQ("X: \x00\r\n")),
    BAD(REQ("X: a\x01\r\n")),
    BAD(REQ("X: a\x7f\r\n")),
    BAD(REQ("X: a\x1b[0m\r\n")),
    BAD(REQ("X: a\rb\r\n")),
    BAD(REQ("X: a\r\r\n")),
    BAD(REQ("\r\r\n")),
    /* Content-Length: one number, however often it is given */
    FRAMING(REQ("Content-Length: abc\r\n")),
    FRAMING(REQ("Content-Length: -1\r\n")),
    FRAMING(REQ("Content-Length: +1\r\n")),
    FRAMING(REQ("Content-Length: 1 2\r\n")),
    FRAMING(REQ("Content-Length: 0x10\r\n")),
    FRAMING(REQ("Content-Length: 1.0\r\n")),
    FRAMING(REQ("Content-Length:\r\n")),
    FRAMING(REQ("Content-Length: 5, 6\r\n")),
    FRAMING(REQ("Content-Length: 5,\r\n")),
    FRAMING(REQ("Content-Length: ,5\r\n")),
    FRAMING(REQ("Content-Length: 5,,5\r\n")),
    FRAMING(REQ("Content-Length: 5\r\nContent-Length: 6\r\n")),
    FRAMING(REQ("Content-Length: 5\r\ncontent-length: 5, 50\r\n")),
    FRAMING(REQ("Content-Length: 99999999999999999999\r\n")),
    FRAMING(REQ("Content-Length: 18446744073709551616\r\n")),
    FRAMING(REQ("Content-Length: 9223372036854775808\r\n")),
    /* Transfer-Encoding: chunked, last and once, alone, in HTTP/1.1 */
    FRAMING(REQ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")),
    FRAMING(REQ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked\r\nContent-Length: x\r\n")),
    FRAMING(REQ10("Transfer-Encoding: chunked\r\n")),
    FRAMING(REQ10("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")),
    FRAMING(REQ("Transfer-Encoding: gzip\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked, gzip\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked, chunked\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
    FRAMING(REQ("Transfer-Encoding: gzip, chunked, chunked\r\n")),
    FRAMING(REQ("Transfer-Encoding:\r\n")),
    FRAMING(REQ("Transfer-Encoding: ,\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked;x=1\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked\"\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunked x\r\n")),
    FRAMING(REQ("Transfer-Encoding: \"chunked\"\r\n")),
    FRAMING(REQ("Transfer-Encoding: chunke\r\n")),
    CODING(REQ("Transfer-Encoding: gzip, chunked\r\n")),
    CODING(REQ("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
    CODING(REQ("Transfer-Encoding: deflate;q=1 , Chunked\r\n")),
    /* Expect: 100-continue or nothing */
    EXPECT(REQ("Expect: foo\r\n")),
    EXPECT(REQ("Expect: 100-continue, foo\r\n")),
    EXPECT(REQ("Expect: 100-continue=1\r\n")),
    EXPECT(REQ("Expect: 100-continue;a\r\n")),
    EXPECT(REQ("Expect: 200-ok\r\n")),
    EXPECT(REQ10("Expect: foo\r\n")),
    /* several faults: the field syntax first, then Host, framing, Expect */
    BAD("GET / HTTP/1.1\r\nContent-Length: x\r\nExpect: foo\r\n\r\n"),
    FRAMING(REQ("Content-Length: x\r\nExpect: foo\r\n")),
    BAD(REQ("Content-Length: x\r\nX : y\r\n")),
};

START_TEST(request_refused)
{
    const struct invalid *v = &invalid[_i];
    struct hparse_scan s;
    const char *desc;
    ck_assert_uint_eq(scan_all(v->msg, v->len, &s), v->len);
    int r = parse_req(v->msg, v->len, HPARSE_MAX_HEADERS, &desc);
    ck_assert_msg(r == v->err, "case %d: %s, want %s", _i, hparse_strerror(r),
                  hparse_strerror(v->err));
    ck_assert_int_eq(hparse_status(r), v->status);
}
END_TEST

START_TEST(request_cut_short)
{
    struct hparse_req req;
    const char *desc;
    ck_assert_int_eq(hparse_request(NULL, 0, 10, &req), HPARSE_EBAD);
    ck_assert_int_eq(parse_req("", 0, 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1"), 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1\r\n"), 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\n"), 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\n\r"), 10, &desc), HPARSE_EBAD);
    ck_assert_int_eq(parse_req(S("GET / HTTP/1.1\r\nHost: a"), 10, &desc), HPARSE_EBAD);
}
END_TEST

START_TEST(request_header_limit)
{
    static char msg[16384];
    const char *desc;
    for (int n = 0; n <= HPARSE_MAX_HEADERS + 1; n++) {
        size_t at = (size_t)snprintf(msg, sizeof msg, "GET / HTTP/1.1\r\nHost: h\r\n");
        for (int i = 1; i < n; i++)
            at += (size_t)snprintf(msg + at, sizeof msg - at, "X-%d: %d\r\n", i, i);
        at += (size_t)snprintf(msg + at, sizeof msg - at, "\r\n");
        if (n == 0) /* a 1.0 request with no field at all */
            at = (size_t)snprintf(msg, sizeof msg, "GET / HTTP/1.0\r\n\r\n");
        const int maxes[] = {-1, 0, 1, n - 1, n, n + 1, HPARSE_MAX_HEADERS, 1000};
        for (size_t k = 0; k < N_OF(maxes); k++) {
            int max = maxes[k];
            int cap = max < 0 ? 0 : max > HPARSE_MAX_HEADERS ? HPARSE_MAX_HEADERS : max;
            int r = parse_req(msg, at, max, &desc);
            ck_assert_msg(r == (n > cap ? HPARSE_ETOOMANY : 0), "%d fields, max %d: %d", n, max, r);
        }
    }
    ck_assert_int_eq(parse_req(msg, strlen(msg), 1000, &desc), HPARSE_ETOOMANY);
    ck_assert_int_eq(hparse_status(HPARSE_ETOOMANY), 431);
    /* all HPARSE_MAX_HEADERS of them are kept, in order */
    char *copy = exact(msg, strlen(msg));
    static struct hparse_req req;
    ck_assert_int_eq(hparse_request(copy, strlen(msg), 1000, &req), HPARSE_ETOOMANY);
    free(copy);
    size_t at = (size_t)snprintf(msg, sizeof msg, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < HPARSE_MAX_HEADERS; i++)
        at += (size_t)snprintf(msg + at, sizeof msg - at, "X-%d: %d\r\n", i, i);
    at += (size_t)snprintf(msg + at, sizeof msg - at, "\r\n");
    copy = exact(msg, at);
    ck_assert_int_eq(hparse_request(copy, at, HPARSE_MAX_HEADERS, &req), 0);
    ck_assert_int_eq(req.nheaders, HPARSE_MAX_HEADERS);
    ck_assert_str_eq(req.headers[0].name, "Host");
    ck_assert_str_eq(req.headers[HPARSE_MAX_HEADERS - 1].name, "X-99");
    ck_assert_str_eq(req.headers[HPARSE_MAX_HEADERS - 1].value, "99");
    free(copy);
}
END_TEST

/* ===== what the fields mean =============================================== */

struct meaning {
    const char *msg, *want;
};

static const struct meaning meanings[] = {
    /* Content-Length: repeated values are one value; 0 is no body */
    {REQ("Content-Length: 5, 5\r\n"), "length:5"},
    {REQ("Content-Length: 5\r\nContent-Length: 5\r\n"), "length:5"},
    {REQ("Content-Length: 007\r\n"), "length:7"},
    {REQ("Content-Length: 0\r\n"), "none:0"},
    {REQ("Content-Length:  42 \r\n"), "length:42"},
    {REQ("Content-Length: 9223372036854775807\r\n"), "length:9223372036854775807"},
    /* Transfer-Encoding: case and empty elements do not matter */
    {REQ("Transfer-Encoding: CHUNKED\r\n"), "chunked:0"},
    {REQ("Transfer-Encoding: , chunked ,\r\n"), "chunked:0"},
    {REQ("Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n"), "chunked:0"},
    /* Connection */
    {REQ("Connection: close\r\n"), "ka=0"},
    {REQ("Connection: Keep-Alive, CLOSE\r\n"), "ka=0"},
    {REQ("Connection: upgrade\r\nConnection: x, closed\r\n"), "ka=1"},
    {REQ10(""), "ka=0"},
    {REQ10("Connection: keep-alive\r\n"), "ka=1"},
    {REQ10("Connection: foo ,keep-alive\r\n"), "ka=1"},
    {REQ10("Connection: keep-alive\r\nConnection: close\r\n"), "ka=0"},
    {REQ10("Connection: keep-alive-ish\r\n"), "ka=0"},
    /* Expect: 100-continue means nothing to an HTTP/1.0 client */
    {REQ("Expect: 100-continue\r\n"), "exp=1"},
    {REQ("Expect: 100-CONTINUE, ,100-continue\r\n"), "exp=1"},
    {REQ("Expect:\r\n"), "exp=0"},
    {REQ10("Expect: 100-continue\r\n"), "exp=0"},
    /* Host may be empty, an IP literal, have a port */
    {"GET / HTTP/1.1\r\nHost:\r\n\r\n", "host= "},
    {"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "host=[::1]:8080 "},
    {"GET / HTTP/1.0\r\nHost: a.b\r\n\r\n", "host=a.b "},
    {"GET http://t/ HTTP/1.0\r\n\r\n", "host=t "},
    /* targets */
    {"GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n", "GET /a ?b?c "},
    {"GET /? HTTP/1.1\r\nHost: h\r\n\r\n", "GET / ? "},
    {"GET //x HTTP/1.1\r\nHost: h\r\n\r\n", "GET //x ? "},
    {"GET http://h/?q HTTP/1.1\r\nHost: h\r\n\r\n", "GET / ?q host=h "},
    {"GET http://h:1/a/b HTTP/1.1\r\nHost: h\r\n\r\n", "GET /a/b ? host=h:1 "},
    {"M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n", NULL}, /* asterisk: OPTIONS only */
    {"get / HTTP/1.1\r\nHost: h\r\n\r\n", "get / ? "},
    {"X!#$%&'*+-.^_`|~ / HTTP/1.1\r\nHost: h\r\n\r\n", "X!#$%&'*+-.^_`|~ / ? "},
    {"GET /\"<>\\^`{|}\x80\xff HTTP/1.1\r\nHost: h\r\n\r\n", "GET /\"<>\\^`{|}\x80\xff ? "},
};

/* Each parse holds `want` (NULL: is refused with EBAD). */
START_TEST(request_meaning)
{
    const struct meaning *m = &meanings[_i];
    const char *desc;
    int r = parse_req(m->msg, strlen(m->msg), 10, &desc);
    if (!m->want) {
        ck_assert_int_eq(r, HPARSE_EBAD);
        return;
    }
    ck_assert_int_eq(r, 0);
    ck_assert_msg(strstr(desc, m->want) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, desc, m->want);
}
END_TEST

/* ===== responses ========================================================== */

struct response {
    const char *msg;
    int to_head, err;
    const char *want;
};

#define RESP(lit, want) {lit, 0, 0, want}
#define RESP_HEAD(lit, want) {lit, 1, 0, want}
#define RESP_ERR(lit, err) {lit, 0, err, NULL}

static const struct response responses[] = {
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
         "200 [OK] 1.1 ka=1 length:5 [Content-Length=5]"),
    RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "200 [] 1.1 ka=1 none:0 [Content-Length=0]"),
    RESP("HTTP/1.1 404 \r\nContent-Length: 2\r\n\r\n",
         "404 [] 1.1 ka=1 length:2 [Content-Length=2]"),
    RESP("HTTP/1.1 500 Internal  Server\tError \r\nContent-Length: 1\r\n\r\n",
         "500 [Internal  Server\tError ] 1.1 ka=1 length:1 [Content-Length=1]"),
    RESP("HTTP/1.1 200 \xc3\xa7""a va\r\nContent-Length: 1\r\n\r\n",
         "200 [\xc3\xa7""a va] 1.1 ka=1 length:1 [Content-Length=1]"),
    RESP("\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
         "200 [OK] 1.1 ka=1 length:1 [Content-Length=1]"),
    /* persistence: version and Connection */
    RESP("HTTP/1.0 200 OK\r\n\r\n", "200 [OK] 1.0 ka=0 close:0 []"),
    RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
         "200 [OK] 1.0 ka=1 length:2 [Connection=keep-alive|Content-Length=2]"),
    RESP("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
         "200 [OK] 1.0 ka=0 length:2 [Content-Length=2]"),
    RESP("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
         "200 [OK] 1.1 ka=0 length:2 [Connection=close|Content-Length=2]"),
    /* no body, whatever the fields say */
    RESP("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
         "204 [No Content] 1.1 ka=1 none:0 [Content-Length=5]"),
    RESP("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
         "304 [Not Modified] 1.1 ka=1 none:0 [Transfer-Encoding=chunked]"),
    RESP("HTTP/1.1 100 Continue\r\n\r\n", "100 [Continue] 1.1 ka=1 none:0 []"),
    RESP("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
         "101 [Switching Protocols] 1.1 ka=1 none:0 [Connection=upgrade]"),
    RESP("HTTP/1.1 199 X\r\nContent-Length: abc\r\n\r\n",
         "199 [X] 1.1 ka=1 none:0 [Content-Length=abc]"),
    RESP_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
              "200 [OK] 1.1 ka=1 none:0 [Content-Length=100]"),
    RESP_HEAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
              "200 [OK] 1.1 ka=1 none:0 [Transfer-Encoding=chunked]"),
    RESP_HEAD("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
              "200 [OK] 1.0 ka=0 none:0 [Connection=keep-alive|Transfer-Encoding=chunked]"),
    /* Transfer-Encoding wins; without chunked last, the body ends at close */
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
         "200 [OK] 1.1 ka=1 chunked:0 [Transfer-Encoding=chunked]"),
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
         "200 [OK] 1.1 ka=0 chunked:0 [Transfer-Encoding=chunked|Content-Length=5]"),
    RESP("HTTP/1.1 200 OK\r\nContent-Length: abc\r\nTransfer-Encoding: chunked\r\n\r\n",
         "200 [OK] 1.1 ka=0 chunked:0 [Content-Length=abc|Transfer-Encoding=chunked]"),
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
         "200 [OK] 1.1 ka=0 close:0 [Transfer-Encoding=gzip]"),
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n\r\n",
         "200 [OK] 1.1 ka=0 close:0 [Transfer-Encoding=chunked, gzip|Content-Length=1]"),
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         "200 [OK] 1.1 ka=1 chunked:0 [Transfer-Encoding=gzip, chunked]"),
    RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
         "200 [OK] 1.1 ka=0 close:0 [Transfer-Encoding=]"),
    RESP("HTTP/1.1 200 OK\r\n\r\n", "200 [OK] 1.1 ka=0 close:0 []"),
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
         "200 [OK] 1.1 ka=1 length:5 [Content-Length=5, 5]"),
    RESP("HTTP/1.1 999 Whatever\r\nContent-Length: 1\r\n\r\n",
         "999 [Whatever] 1.1 ka=1 length:1 [Content-Length=1]"),
    RESP("HTTP/1.1 200 OK\nContent-Length: 1\n\n", "200 [OK] 1.1 ka=1 length:1 [Content-Length=1]"),
    /* refused */
    RESP_ERR("HTTP/1.1 20 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 2000 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 099 X\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 abc OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 2x0 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1  200 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1200 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1\t200 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 O\x01K\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 O\rK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 OK\x7f\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("http/1.1 200 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 \r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 20\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/2 200\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("ICY 200 OK\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/2.0 200 OK\r\n\r\n", HPARSE_EVERSION),
    RESP_ERR("HTTP/0.9 200 OK\r\n\r\n", HPARSE_EVERSION),
    RESP_ERR("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", HPARSE_EBAD),
    RESP_ERR("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: \"gzip\"\r\n\r\n", HPARSE_EFRAMING),
    RESP_ERR("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HPARSE_EFRAMING),
};

START_TEST(response_parse)
{
    const struct response *v = &responses[_i];
    size_t len = strlen(v->msg);
    struct hparse_scan s;
    const char *desc;
    ck_assert_uint_eq(scan_all(v->msg, len, &s), len);
    int r = parse_resp(v->msg, len, v->to_head, &desc);
    ck_assert_msg(r == v->err, "case %d: %s, want %s", _i, hparse_strerror(r),
                  hparse_strerror(v->err));
    if (v->want)
        ck_assert_str_eq(desc, v->want);
}
END_TEST

START_TEST(response_header_limit)
{
    static const char msg[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    static struct hparse_resp resp;
    char *copy = exact(msg, sizeof msg - 1);
    ck_assert_int_eq(hparse_response(copy, sizeof msg - 1, 2, 0, &resp), HPARSE_ETOOMANY);
    free(copy);
    copy = exact(msg, sizeof msg - 1);
    ck_assert_int_eq(hparse_response(copy, sizeof msg - 1, 3, 0, &resp), 0);
    ck_assert_int_eq(resp.nheaders, 3);
    ck_assert_str_eq(hparse_get(resp.headers, resp.nheaders, "c"), "3");
    free(copy);
    ck_assert_int_eq(hparse_response(NULL, 0, 3, 0, &resp), HPARSE_EBAD);
}
END_TEST

/* ===== hparse_get ========================================================= */

START_TEST(get_ignores_case)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: h\r\nContent-TYPE: a\r\n"
                              "content-type: b\r\nX^: e\r\nX~: f\r\n\r\n";
    static struct hparse_req req;
    char *copy = exact(msg, sizeof msg - 1);
    ck_assert_int_eq(hparse_request(copy, sizeof msg - 1, 10, &req), 0);
    ck_assert_int_eq(req.nheaders, 5);
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "content-type"), "a");
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "CONTENT-TYPE"), "a");
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "Content-Type"), "a");
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "HOST"), "h");
    ck_assert_ptr_null(hparse_get(req.headers, req.nheaders, "Content-Typ"));
    ck_assert_ptr_null(hparse_get(req.headers, req.nheaders, "Content-Types"));
    ck_assert_ptr_null(hparse_get(req.headers, req.nheaders, ""));
    /* only letters fold: '^' and '~' are 0x20 apart too */
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "x^"), "e");
    ck_assert_str_eq(hparse_get(req.headers, req.nheaders, "x~"), "f");
    ck_assert_ptr_null(hparse_get(req.headers, req.nheaders, "HOST\xff"));
    /* only the first n fields are looked at */
    ck_assert_ptr_null(hparse_get(req.headers, 1, "content-type"));
    ck_assert_ptr_null(hparse_get(req.headers, 0, "host"));
    ck_assert_ptr_null(hparse_get(NULL, 0, "host"));
    free(copy);
}
END_TEST

/* ===== chunked bodies ===================================================== */

enum { OUT_CAP = 1 << 17 };

/* Decode in[0..n) as a caller would, calling again while bytes remain and
 * the decoder makes progress, appending each stretch of data to out.
 * Returns the last result; *used is the bytes consumed in all. */
static int decode(struct hparse_chunked *c, const char *in, size_t n, size_t *used, char *out,
                  size_t *olen)
{
    char *buf = exact(in, n);
    size_t off = 0;
    int r;
    for (;;) {
        size_t u = 12345, dl = 12345;
        const char *d = in;
        r = hparse_chunked(c, buf + off, n - off, &u, &d, &dl);
        ck_assert_uint_le(u, n - off);
        if (dl > 0) { /* inside the bytes this call consumed */
            ck_assert_msg(d >= buf + off && d + dl <= buf + off + u, "data outside the input");
            ck_assert_uint_le(*olen + dl, OUT_CAP);
            memcpy(out + *olen, d, dl);
            *olen += dl;
        } else {
            ck_assert_ptr_null(d);
        }
        off += u;
        if (r != 0 || off == n)
            break;
        ck_assert_msg(u > 0, "no progress with %zu bytes left", n - off);
    }
    free(buf);
    *used = off;
    return r;
}

struct chunked_case {
    const char *msg;   /* the chunked body, then NEXT */
    const char *data;  /* what it decodes to */
};

#define NEXT "GET / HTTP/1.1\r\n"

static const struct chunked_case chunked_ok[] = {
    {"5\r\nhello\r\n6;ext=1;y\r\n world\r\nA\r\n0123456789\r\n"
     "0\r\nTrailer: x\r\nT2: y\r\n\r\n" NEXT,
     "hello world0123456789"},
    {"0\r\n\r\n" NEXT, ""},
    {"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n1a\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
     "000;last\r\n\r\n" NEXT,
     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    /* BWS before an extension is in the grammar */
    {"3 ;a=b\r\nabc\r\n2\t; x=\"q;\\\"\"\r\nde\r\n0 \t;z\r\n\r\n" NEXT, "abcde"},
    {"000000000000003\r\nabc\r\n0\r\n\r\n" NEXT, "abc"},
    /* data that looks like framing is data */
    {"7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n" NEXT, "0\r\n\r\n\r\n"},
    {"1\r\n\n\r\n1\r\n\r\r\n0\r\n\r\n" NEXT, "\n\r"},
};

/* All at once, split in two at every byte, and a byte at a time. */
START_TEST(chunked_any_split)
{
    const struct chunked_case *v = &chunked_ok[_i];
    size_t n = strlen(v->msg), body = n - strlen(NEXT), dlen = strlen(v->data), used, olen;
    static char out[OUT_CAP];
    struct hparse_chunked c;

    for (size_t k = 0; k <= n; k++) {
        memset(&c, 0, sizeof c);
        olen = 0;
        int r = decode(&c, v->msg, k, &used, out, &olen);
        if (k < body) {
            ck_assert_int_eq(r, 0);
            ck_assert_uint_eq(used, k);
            r = decode(&c, v->msg + k, n - k, &used, out, &olen);
            used += k;
        }
        ck_assert_int_eq(r, 1);
        ck_assert_uint_eq(used, body); /* NEXT is left alone */
        ck_assert_uint_eq(olen, dlen);
        ck_assert(memcmp(out, v->data, dlen) == 0);
    }

    memset(&c, 0, sizeof c);
    olen = 0;
    for (size_t i = 0; i < body; i++) {
        int r = decode(&c, v->msg + i, 1, &used, out, &olen);
        ck_assert_int_eq(used, 1);
        ck_assert_int_eq(r, i + 1 == body);
    }
    ck_assert_uint_eq(olen, dlen);
    ck_assert(memcmp(out, v->data, dlen) == 0);
    /* finished: it stays so, and takes nothing more */
    size_t u, dl;
    const char *d;
    ck_assert_int_eq(hparse_chunked(&c, NEXT, strlen(NEXT), &u, &d, &dl), 1);
    ck_assert_uint_eq(u, 0);
    ck_assert_uint_eq(dl, 0);
}
END_TEST

struct chunked_bad {
    const char *msg;
    size_t len;
};

static const struct chunked_bad chunked_bad[] = {
    {S("x\r\n")},
    {S("\r\n")},
    {S(";x\r\n5\r\nhello\r\n0\r\n\r\n")},
    {S(" 5\r\nhello\r\n0\r\n\r\n")},
    {S("\t5\r\nhello\r\n0\r\n\r\n")},
    {S("+5\r\nhello\r\n0\r\n\r\n")},
    {S("-5\r\nhello\r\n0\r\n\r\n")},
    {S("0x5\r\nhello\r\n0\r\n\r\n")},
    {S("5\nhello\r\n0\r\n\r\n")},
    {S("5 \r\nhello\r\n0\r\n\r\n")},
    {S("5\t\r\nhello\r\n0\r\n\r\n")},
    {S("5 5\r\nhello\r\n0\r\n\r\n")},
    {S("5\r\r\nhello\r\n0\r\n\r\n")},
    {S("5\rhello\r\n0\r\n\r\n")},
    {S("0000000000000001\r\nx\r\n0\r\n\r\n")},
    {S("FFFFFFFFFFFFFFFF\r\n")},
    {S("5\r\nhelloX\r\n0\r\n\r\n")},
    {S("5\r\nhello\n0\r\n\r\n")},
    {S("5\r\nhello\r0\r\n\r\n")},
    {S("5\r\nhello\r\n\r\n0\r\n\r\n")},
    {S("5;a\x01\r\nhello\r\n0\r\n\r\n")},
    {S("5;a\nb\r\nhello\r\n0\r\n\r\n")},
    {S("5;\x00\r\nhello\r\n0\r\n\r\n")},
    {S("0\r\n\n")},
    {S("0\n\r\n")},
    {S("0\r\nX: y\n\r\n")},
    {S("0\r\nX: y\r\r\n\r\n")},
    {S("0\r\nX: a\x00\r\n\r\n")},
    {S("0\r\n X: y\r\n\r\n")},
    {S("0\r\n:\r\n\r\n")},
    {S("0\r\n\r\r")},
    {S("0\r\n\rx")},
};

/* Refused with ECHUNK whole and a byte at a time; then refused for good. */
START_TEST(chunked_refused)
{
    const struct chunked_bad *v = &chunked_bad[_i];
    static char out[OUT_CAP];
    struct hparse_chunked c;
    size_t used, olen = 0, u, dl;
    const char *d;

    memset(&c, 0, sizeof c);
    ck_assert_int_eq(decode(&c, v->msg, v->len, &used, out, &olen), HPARSE_ECHUNK);
    ck_assert_int_eq(hparse_chunked(&c, "0\r\n\r\n", 5, &u, &d, &dl), HPARSE_ECHUNK);
    ck_assert_uint_eq(u, 0);
    ck_assert_uint_eq(dl, 0);

    memset(&c, 0, sizeof c);
    int r = 0;
    size_t i = 0;
    for (; i < v->len && r == 0; i++)
        r = decode(&c, v->msg + i, 1, &used, out, &olen);
    ck_assert_int_eq(r, HPARSE_ECHUNK);
}
END_TEST

/* A chunk-size line may be 4096 bytes (CRLF not counted), the trailer
 * section 8192 (CRLFs counted), the size 15 hex digits. */
START_TEST(chunked_limits)
{
    static char msg[20000], out[OUT_CAP];
    struct hparse_chunked c;
    size_t used, olen, n;

    for (size_t line = 4095; line <= 4097; line++) {
        n = 0;
        msg[n++] = '1';
        msg[n++] = ';';
        memset(msg + n, 'a', line - 2);
        n += line - 2;
        memcpy(msg + n, "\r\nx\r\n0\r\n\r\n", 10);
        n += 10;
        memset(&c, 0, sizeof c);
        olen = 0;
        ck_assert_int_eq(decode(&c, msg, n, &used, out, &olen), line <= 4096 ? 1 : HPARSE_ECHUNK);
    }

    for (size_t total = 8191; total <= 8193; total++) {
        /* "0\r\n", then "X: aaa...\r\n" and the final "\r\n": total bytes */
        n = 0;
        memcpy(msg, "0\r\nX: ", 6);
        n = 6;
        memset(msg + n, 'a', total - 2 - 5);
        n += total - 2 - 5;
        memcpy(msg + n, "\r\n\r\n", 4);
        n += 4;
        ck_assert_uint_eq(n - 3, total);
        memset(&c, 0, sizeof c);
        olen = 0;
        ck_assert_int_eq(decode(&c, msg, n, &used, out, &olen), total <= 8192 ? 1 : HPARSE_ECHUNK);
    }

    /* many small trailer lines count up too */
    n = (size_t)snprintf(msg, sizeof msg, "0\r\n");
    while (n < 8200)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "T: 1\r\n");
    n += (size_t)snprintf(msg + n, sizeof msg - n, "\r\n");
    memset(&c, 0, sizeof c);
    olen = 0;
    ck_assert_int_eq(decode(&c, msg, n, &used, out, &olen), HPARSE_ECHUNK);

    /* the largest size: 15 digits; one call takes the size line and the
     * data after it */
    static const char big[] = "fFFFFFFFFFFFFFF\r\nabc";
    size_t u, dl;
    const char *d;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(hparse_chunked(&c, big, 17, &u, &d, &dl), 0);
    ck_assert_uint_eq(u, 17);
    ck_assert_uint_eq(dl, 0);
    ck_assert(c.left == 0xFFFFFFFFFFFFFFFull);
    ck_assert_int_eq(hparse_chunked(&c, big + u, sizeof big - 1 - u, &u, &d, &dl), 0);
    ck_assert_uint_eq(u, 3);
    ck_assert_uint_eq(dl, 3);
    ck_assert_ptr_eq(d, big + 17);
    ck_assert(c.left == 0xFFFFFFFFFFFFFFFull - 3);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(hparse_chunked(&c, big, sizeof big - 1, &u, &d, &dl), 0);
    ck_assert_uint_eq(u, 20);
    ck_assert_uint_eq(dl, 3);
    ck_assert_ptr_eq(d, big + 17);
}
END_TEST

/* A chunk larger than what has arrived comes out in pieces, each call
 * returning at most one stretch, never running into the next chunk. */
START_TEST(chunked_stretches)
{
    static char msg[OUT_CAP], out[OUT_CAP], want[OUT_CAP];
    size_t n = (size_t)snprintf(msg, sizeof msg, "%x\r\n", 70000u), w = 0;
    for (unsigned i = 0; i < 70000; i++)
        want[w++] = msg[n++] = (char)('a' + i % 26);
    n += (size_t)snprintf(msg + n, sizeof msg - n, "\r\n3\r\nxyz\r\n0\r\n\r\n");
    memcpy(want + w, "xyz", 3);
    w += 3;

    struct hparse_chunked c;
    memset(&c, 0, sizeof c);
    size_t off = 0, olen = 0, calls = 0;
    int r = 0;
    while (r == 0) {
        size_t piece = n - off < 1000 ? n - off : 1000, u;
        const char *d;
        size_t dl;
        r = hparse_chunked(&c, msg + off, piece, &u, &d, &dl);
        ck_assert(dl <= 1000);
        memcpy(out + olen, d ? d : "", dl);
        olen += dl;
        off += u;
        ck_assert(++calls < 10000);
    }
    ck_assert_int_eq(r, 1);
    ck_assert_uint_eq(off, n);
    ck_assert_uint_eq(olen, w);
    ck_assert(memcmp(out, want, w) == 0);

    /* all at once: one call per stretch of data, the last one finishing */
    memset(&c, 0, sizeof c);
    size_t u, dl;
    const char *d;
    ck_assert_int_eq(hparse_chunked(&c, msg, n, &u, &d, &dl), 0);
    ck_assert_uint_eq(dl, 70000);
    ck_assert_ptr_eq(d, msg + 7);
    off = u;
    ck_assert_int_eq(hparse_chunked(&c, msg + off, n - off, &u, &d, &dl), 0);
    ck_assert_uint_eq(dl, 3);
    ck_assert(memcmp(d, "xyz", 3) == 0);
    off += u;
    ck_assert_int_eq(hparse_chunked(&c, msg + off, n - off, &u, &d, &dl), 1);
    ck_assert_uint_eq(dl, 0);
    ck_assert_uint_eq(off + u, n);
    /* nothing given: nothing consumed */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(hparse_chunked(&c, msg, 0, &u, &d, &dl), 0);
    ck_assert_uint_eq(u, 0);
}
END_TEST

/* A chunked request, then the next request, in one buffer. */
START_TEST(chunked_request_then_next)
{
    static const char msg[] = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip , chunked\r\n"
                              "Transfer-Encoding: x\r\n\r\n";
    const char *desc;
    ck_assert_int_eq(parse_req(S(msg), 10, &desc), HPARSE_EFRAMING); /* x last */

    static const char two[] = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "4\r\nwiki\r\n5;a\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
                              "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    struct hparse_scan s;
    size_t head = scan_all(two, sizeof two - 1, &s);
    ck_assert_uint_eq(head, 57);
    ck_assert_int_eq(parse_req(two, head, 10, &desc), 0);
    ck_assert_str_eq(desc, "POST /u ? host=h 1.1 ka=1 exp=0 chunked:0 "
                           "[Host=h|Transfer-Encoding=chunked]");
    struct hparse_chunked c;
    memset(&c, 0, sizeof c);
    static char out[OUT_CAP];
    size_t used, olen = 0;
    ck_assert_int_eq(decode(&c, two + head, sizeof two - 1 - head, &used, out, &olen), 1);
    ck_assert_uint_eq(olen, 9);
    ck_assert(memcmp(out, "wikipedia", 9) == 0);
    const char *next = two + head + used;
    ck_assert_uint_eq(scan_all(next, strlen(next), &s), strlen(next));
    ck_assert_int_eq(parse_req(next, strlen(next), 10, &desc), 0);
    ck_assert_str_eq(desc, "GET /next ? host=h 1.1 ka=1 exp=0 none:0 [Host=h]");
}
END_TEST

/* ===== errors ============================================================= */

START_TEST(error_statuses)
{
    static const struct {
        int err, status;
    } map[] = {
        {HPARSE_EBAD, 400},     {HPARSE_EFRAMING, 400}, {HPARSE_ECHUNK, 400},
        {HPARSE_ETOOMANY, 431}, {HPARSE_EVERSION, 505}, {HPARSE_ECODING, 501},
        {HPARSE_EEXPECT, 417},  {-1, 400},              {-1200, 400},
        {-1208, 400},
    };
    for (size_t i = 0; i < N_OF(map); i++) {
        ck_assert_int_eq(hparse_status(map[i].err), map[i].status);
        const char *m = hparse_strerror(map[i].err);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_gt(strlen(m), 0);
        /* the seven codes each have their own words */
        for (size_t j = 0; j < i && i < 7; j++)
            ck_assert_str_ne(m, hparse_strerror(map[j].err));
    }
    ck_assert_str_eq(hparse_strerror(HPARSE_EVERSION), "HTTP version not supported");
    ck_assert_str_eq(hparse_strerror(-1), "unknown parse error");
}
END_TEST

/* ===== the tcases ========================================================= */

/* A tcase with a timeout that a sanitized or valgrind build can meet. */
static TCase *parse_case(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    return tc;
}

void stage06_parse_tcases(Suite *s)
{
    TCase *tc = parse_case("parse_head");
    tcase_add_loop_test(tc, request_any_split, 0, (int)N_OF(valid));
    tcase_add_test(tc, request_pipelined);
    tcase_add_test(tc, scan_empty_lines);
    tcase_add_test(tc, scan_line_endings);
    tcase_add_test(tc, scan_bare_cr);
    suite_add_tcase(s, tc);

    tc = parse_case("parse_request");
    tcase_add_loop_test(tc, request_refused, 0, (int)N_OF(invalid));
    tcase_add_test(tc, request_cut_short);
    tcase_add_test(tc, request_header_limit);
    tcase_add_loop_test(tc, request_meaning, 0, (int)N_OF(meanings));
    tcase_add_test(tc, get_ignores_case);
    suite_add_tcase(s, tc);

    tc = parse_case("parse_response");
    tcase_add_loop_test(tc, response_parse, 0, (int)N_OF(responses));
    tcase_add_test(tc, response_header_limit);
    suite_add_tcase(s, tc);

    tc = parse_case("parse_chunked");
    tcase_add_loop_test(tc, chunked_any_split, 0, (int)N_OF(chunked_ok));
    tcase_add_loop_test(tc, chunked_refused, 0, (int)N_OF(chunked_bad));
    tcase_add_test(tc, chunked_limits);
    tcase_add_test(tc, chunked_stretches);
    tcase_add_test(tc, chunked_request_then_next);
    tcase_add_test(tc, error_statuses);
    suite_add_tcase(s, tc);
}
