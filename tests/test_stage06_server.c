/*
 * test_stage06_server.c - the HTTP/1.1 server (http.h) over loopback, in
 * the test's own loop, against scripted clients (stage06_script.h).
 *
 * Replies are compared byte for byte, with only the Date value replaced by
 * "D" (after checking its form); access-log lines likewise, with only the
 * duration replaced by "T".  What the server does when its clients
 * misbehave, or its resources run out, is in test_stage06_faults.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hparse.h"
#include "http.h"
#include "stage02_util.h"
#include "stage06_script.h"
#include "stage06_util.h"

#define N_OF(a) (sizeof a / sizeof a[0])

/* ===== keep-alive and closing ================================================== */

START_TEST(get_hello)
{
    static const struct sc_act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), HELLO);
    sc_check_fields(SC.out[0].got, 200);
    ck_assert_int_eq(SC.out[0].eof, 0);
    ck_assert_str_eq(sc_access_log(), sc_log_line(0, "GET /hello HTTP/1.1", 200, 6));
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
    ck_assert_uint_eq(SC.srv.stats.accepted, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 0);
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 6);
    ck_assert_uint_eq(SC.srv.stats.refused, 0);
}
END_TEST

START_TEST(head_has_no_body)
{
    /* The HEAD reply's Content-Length is the GET's; had a body followed,
     * the GET's reply would not start right after the head. */
    static const struct sc_act c[] = {
        CONNECT, SEND("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"), RECV_HEAD,
        SEND(GET_HELLO), RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                                     "Content-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Length: 6\r\n\r\n");
    ck_assert_str_eq(sc_got_step(0, 4), HELLO);
    ck_assert_str_eq(sc_access_log(), sc_fmt("%s%s", sc_log_line(0, "HEAD /hello HTTP/1.1", 200, 0),
                                       sc_log_line(0, "GET /hello HTTP/1.1", 200, 6)));
    ck_assert_uint_eq(SC.srv.stats.requests, 2);
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 6); /* body bytes sent: the GET's only */
}
END_TEST

START_TEST(no_content_has_no_body)
{
    /* Pipelined: a stray body after either 204 would come before HELLO. */
    static const struct sc_act c[] = {
        CONNECT,
        SEND("GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /nocontent?stream=1 HTTP/1.1\r\nHost: x\r\n\r\n" GET_HELLO),
        RECV(3), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0),
                     sc_fmt("%s%s%s", "HTTP/1.1 204 No Content\r\nServer: async-c\r\nDate: D\r\n\r\n",
                         "HTTP/1.1 204 No Content\r\nServer: async-c\r\nDate: D\r\n\r\n", HELLO));
    ck_assert_str_eq(sc_access_log(),
                     sc_fmt("%s%s%s", sc_log_line(0, "GET /nocontent HTTP/1.1", 204, 0),
                         sc_log_line(0, "GET /nocontent?stream=1 HTTP/1.1", 204, 0),
                         sc_log_line(0, "GET /hello HTTP/1.1", 200, 6)));
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 6);
}
END_TEST

START_TEST(keep_alive_two_requests)
{
    static const struct sc_act c[] = {CONNECT, SEND(GET_HELLO), RECV(1),
                                   SEND("GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1),
                                   CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), HELLO);
    ck_assert_str_eq(sc_got_step(0, 4), sc_reply(200, "", "id=1 x=-\n"));
    ck_assert_int_eq(SC.out[0].eof, 0);
    ck_assert_uint_eq(SC.srv.stats.accepted, 1);
    ck_assert_uint_eq(SC.srv.stats.requests, 2);
}
END_TEST

START_TEST(http10_closes)
{
    static const struct sc_act c[] = {CONNECT, SEND("GET /hello HTTP/1.0\r\n\r\n"), UNTIL_EOF, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_reply(200, CLOSE_F, "hello\n"));
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_int_eq(SC.out[0].recv_err, 0);
    ck_assert_str_eq(sc_access_log(), sc_log_line(0, "GET /hello HTTP/1.0", 200, 6));
}
END_TEST

START_TEST(http10_keep_alive)
{
    static const struct sc_act c[] = {
        CONNECT, SEND("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), RECV(1),
        SEND("GET /users/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), sc_reply(200, "Connection: keep-alive\r\n", "hello\n"));
    ck_assert_str_eq(sc_got_step(0, 4), sc_reply(200, "Connection: keep-alive\r\n", "id=2 x=-\n"));
    ck_assert_int_eq(SC.out[0].eof, 0);
    ck_assert_uint_eq(SC.srv.stats.accepted, 1);
}
END_TEST

START_TEST(connection_close_honoured)
{
    static const struct sc_act c[] = {
        CONNECT, SEND("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), UNTIL_EOF,
        END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_reply(200, CLOSE_F, "hello\n"));
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_int_eq(SC.out[0].recv_err, 0);
    ck_assert_uint_eq(SC.out[0].t[2], 0); /* at once: no linger after a 200 */
}
END_TEST

/* ===== pipelining and splits =================================================== */

START_TEST(pipelined_three)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND(GET_HELLO "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(3), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s%s", HELLO, sc_reply(200, "", "abc"),
                                     sc_reply(200, "", "id=3 x=-\n")));
    ck_assert_uint_eq(SC.srv.stats.requests, 3);
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 6 + 3 + 9);
}
END_TEST

START_TEST(byte_split_request)
{
    /* Every split of a head and of a chunked body. */
    static const struct sc_act c[] = {
        CONNECT, BYTES(GET_HELLO), RECV(1),
        BYTES("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"),
        RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), HELLO);
    ck_assert_str_eq(sc_got_step(0, 4), sc_reply(200, "", "abcde"));
}
END_TEST

/* ===== bodies ================================================================== */

START_TEST(echo_content_length)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 11\r\n\r\n{\"a\": [1]}\n"),
        RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_reply_t(200, "application/json", "", "{\"a\": [1]}\n"));
    ck_assert_str_eq(sc_access_log(), sc_log_line(0, "POST /echo HTTP/1.1", 200, 11));
}
END_TEST

START_TEST(echo_chunked)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\nX-Two: 2\r\n\r\n"
             GET_HELLO),
        RECV(2), CLOSE, END};
    sc_run1(c);
    /* The trailers are consumed: the next request starts right after them. */
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s", sc_reply(200, "", "hello world"), HELLO));
}
END_TEST

START_TEST(expect_continue)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
        RECV(1), SEND("body"), RECV(1), SEND(GET_HELLO), RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), "HTTP/1.1 100 Continue\r\n\r\n");
    ck_assert_str_eq(sc_got_step(0, 4), sc_reply(200, "", "body"));
    ck_assert_str_eq(sc_got_step(0, 6), HELLO);
    ck_assert_uint_eq(SC.srv.stats.requests, 2); /* the 100 is not an answer */
}
END_TEST

START_TEST(skipped_body)
{
    /* A handler that ignores the body: the server reads past it, so the
     * next request is found where it begins. */
    static const struct sc_act c[] = {
        CONNECT,
        SEND("POST /drop HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nxxxxx" GET_HELLO
             "POST /drop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nGE\r\n0\r\n\r\n" GET_HELLO),
        RECV(4), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s%s%s", sc_reply(200, "", "dropped\n"), HELLO,
                                     sc_reply(200, "", "dropped\n"), HELLO));
}
END_TEST

/* The body the handler skipped turns out to be bad after the answer went
 * out: the connection ends (where the next request begins is unknown), and
 * quietly, since it was the client's fault (sc_run1 checks the error log is
 * empty). */
START_TEST(skipped_body_goes_bad)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("POST /drop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz\r\n" GET_HELLO),
        UNTIL_EOF, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_reply(200, "", "dropped\n"));
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
}
END_TEST

START_TEST(body_too_large)
{
    /* Refused from its Content-Length, before a byte is read - so no 100
     * Continue either; and chunked, once the pieces pass max_body. */
    static const struct sc_act a[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"),
        UNTIL_EOF, END};
    static const struct sc_act b[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n"),
        UNTIL_EOF, END};
    static const struct sc_act *const both[] = {a, b};
    SC.cfg.max_body = 10;
    sc_run(both, 2);
    ck_assert_str_eq(sc_got_all(0), sc_error_reply(413, CLOSE_F));
    ck_assert_str_eq(sc_got_all(1), sc_error_reply(413, CLOSE_F));
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_int_eq(SC.out[1].eof, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 2);
}
END_TEST

START_TEST(body_at_max_body)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n"),
        RECV(2), CLOSE, END};
    SC.cfg.max_body = 10;
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s", sc_reply(200, "", "0123456789"),
                                     sc_reply(200, "", "0123456789")));
}
END_TEST

START_TEST(streamed_reply)
{
    static const struct sc_act c[] = {
        CONNECT, SEND("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1),
        SEND("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV_HEAD, CLOSE, END};
    static const struct sc_act raw[] = {SLEEP(10), CONNECT, SEND("GET /stream HTTP/1.0\r\n\r\n"),
                                     UNTIL_EOF, END};
    static const struct sc_act *const both[] = {c, raw};
    sc_run(both, 2);
    static const char head[] = "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    ck_assert_str_eq(sc_got_step(0, 2),
                     sc_fmt("%s4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n", head));
    sc_check_fields(SC.out[0].got, 200);
    ck_assert_str_eq(sc_got_step(0, 4), head);
    /* HTTP/1.0 knows no chunks: the body as it is, ended by the close. */
    ck_assert_str_eq(sc_got_all(1), "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Connection: close\r\n\r\none\ntwo\nthree\n");
    ck_assert_int_eq(SC.out[1].eof, 1);
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 14 + 14);
    ck_assert_str_eq(sc_access_log(), sc_fmt("%s%s%s", sc_log_line(0, "GET /stream HTTP/1.1", 200, 14),
                                       sc_log_line(0, "HEAD /stream HTTP/1.1", 200, 0),
                                       sc_log_line(1, "GET /stream HTTP/1.0", 200, 14)));
}
END_TEST

/* ===== errors ================================================================== */

/* A request answered with an error, and then the connection closed. */
static const struct bad_case {
    const char *name, *request;
    int status;
} bad_cases[] = {
    {"malformed request line", "GARBAGE\r\n\r\n", 400},
    {"no version", "GET /hello\r\nHost: x\r\n\r\n", 400},
    {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
    {"Content-Length and Transfer-Encoding",
     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n", 400},
    {"differing Content-Lengths",
     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
    {"bad chunk size",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
     400},
    {"chunked not the final coding: no way to find the end",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"a coding we cannot decode",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"unknown expectation", "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417},
    {"HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/3.0", "GET /hello HTTP/3.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/3 (no minor: not a version at all)", "GET /hello HTTP/3\r\nHost: x\r\n\r\n", 400},
    {"request line over max_request_line",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
    {"request line over max_request_line, unfinished",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 414},
    {"more fields than max_headers",
     "GET /hello HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
    {"head over max_head",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: "
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456789", 431},
    {"a bad escape in a path parameter", "GET /users/a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
};

START_TEST(error_status)
{
    const struct bad_case *k = &bad_cases[_i];
    const struct sc_act c[] = {CONNECT, SEND(k->request), UNTIL_EOF, END};
    SC.cfg.max_request_line = 64;
    SC.cfg.max_head = 200;
    SC.cfg.max_headers = 4;
    sc_run1(c);
    ck_assert_msg(strcmp(sc_got_all(0), sc_error_reply(k->status, CLOSE_F)) == 0, "%s: got %s",
                  k->name, sc_got_all(0));
    sc_check_fields(SC.out[0].got, k->status);
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 1);
    /* The server stops reading, then lingers until the client closes:
     * which it does at once, on the end of the reply. */
    ck_assert_uint_eq(SC.out[0].t[2], 0);
}
END_TEST

START_TEST(not_found_keeps_connection)
{
    static const struct sc_act c[] = {CONNECT, SEND("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   RECV(1), SEND(GET_HELLO), RECV(1), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), sc_error_reply(404, ""));
    sc_check_fields(SC.out[0].got, 404);
    ck_assert_str_eq(sc_got_step(0, 4), HELLO);
    ck_assert_uint_eq(SC.srv.stats.errors, 1);
    ck_assert_uint_eq(SC.srv.stats.requests, 2);
}
END_TEST

START_TEST(method_not_allowed)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" GET_HELLO),
        RECV(3), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s%s", sc_error_reply(405, "Allow: POST, PUT\r\n"),
                                     sc_error_reply(405, "Allow: GET, HEAD\r\n"), HELLO));
}
END_TEST

START_TEST(handler_failure)
{
    static const struct sc_act c[] = {CONNECT, SEND("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    SC.expect_errors = 1;
    sc_run1(c);
    /* Not the half-built answer: a 500, and the connection closed. */
    ck_assert_str_eq(sc_got_all(0), sc_error_reply(500, CLOSE_F));
    ck_assert_uint_ne(sc_fail_task_id, 0);
    ck_assert_str_eq(SC.errors, sc_fmt("http: GET /fail: handler /fail failed in task "
                                   "'conn_task#%u': %s\n",
                                   sc_fail_task_id, strerror(EIO)));
    ck_assert_str_eq(sc_access_log(), sc_log_line(0, "GET /fail HTTP/1.1", 500, 26));
    ck_assert_uint_eq(SC.srv.stats.errors, 1);
}
END_TEST

START_TEST(over_max_conns)
{
    /* One connection held open; the second is answered 503 and closed
     * without a task; once the first has gone, a third is served. */
    static const struct sc_act a[] = {CONNECT, SEND(GET_HELLO), RECV(1), SLEEP(200), CLOSE, END};
    static const struct sc_act b[] = {SLEEP(100), CONNECT, UNTIL_EOF, SLEEP(200), CONNECT,
                                   SEND(GET_HELLO), RECV(1), END};
    static const struct sc_act *const both[] = {a, b};
    SC.cfg.max_conns = 1;
    sc_run(both, 2);
    ck_assert_str_eq(sc_got_all(0), HELLO);
    ck_assert_str_eq(sc_got_step(1, 2), "HTTP/1.1 503 Service Unavailable\r\n"
                                     "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                                     "Retry-After: 1\r\nConnection: close\r\n\r\n"
                                     "503 Service Unavailable\n");
    ck_assert_uint_eq(SC.out[1].t[2], 100);
    ck_assert_str_eq(sc_got_step(1, 6), HELLO);
    ck_assert_uint_eq(SC.srv.stats.refused, 1);
    ck_assert_uint_eq(SC.srv.stats.accepted, 3);
    ck_assert_uint_eq(SC.srv.stats.requests, 2); /* the 503 is not a request */
}
END_TEST

/* ===== timeouts, on the virtual clock =========================================== */

START_TEST(head_timeout_partial)
{
    static const struct sc_act c[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\nHo"), UNTIL_EOF, END};
    SC.cfg.head_timeout_ms = 3000;
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_error_reply(408, CLOSE_F));
    ck_assert_uint_eq(SC.out[0].t[2], 3000);
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 1);
    ck_assert_str_eq(sc_access_log(), sc_log_line(0, "- - HTTP/1.1", 408, 20));
}
END_TEST

START_TEST(head_timeout_from_first_byte)
{
    /* Kept alive: idle until the next head's first byte (at 1000), and
     * from then on head_timeout_ms for the rest of it. */
    static const struct sc_act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), SLEEP(1000),
                                   SEND("GET /hel"), UNTIL_EOF, END};
    SC.cfg.head_timeout_ms = 3000;
    SC.cfg.idle_timeout_ms = 2000;
    sc_run1(c);
    ck_assert_str_eq(sc_got_step(0, 2), HELLO);
    ck_assert_str_eq(sc_got_step(0, 5), sc_error_reply(408, CLOSE_F));
    ck_assert_uint_eq(SC.out[0].t[5], 4000);
}
END_TEST

START_TEST(head_timeout_from_accept)
{
    /* Nothing sent at all: the first head's deadline counts from accept,
     * and the close is quiet - no request began, so there is nothing to
     * answer 408 to and nothing to log (a browser's unused preconnect). */
    static const struct sc_act c[] = {CONNECT, UNTIL_EOF, END};
    SC.cfg.head_timeout_ms = 2500;
    SC.cfg.idle_timeout_ms = 100; /* not this one: no request was ever kept alive */
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), "");
    ck_assert_uint_eq(SC.out[0].t[1], 2500);
    ck_assert_uint_eq(SC.srv.stats.errors, 0);
    ck_assert_uint_eq(SC.srv.stats.requests, 0);
    ck_assert_str_eq(sc_access_log(), "");
}
END_TEST

START_TEST(idle_close)
{
    static const struct sc_act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), UNTIL_EOF, END};
    SC.cfg.idle_timeout_ms = 2000;
    sc_run1(c);
    /* Closed quietly: nothing after the reply. */
    ck_assert_str_eq(sc_got_all(0), HELLO);
    ck_assert_uint_eq(SC.out[0].mark[3], SC.out[0].mark[2]);
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_int_eq(SC.out[0].recv_err, 0);
    ck_assert_uint_eq(SC.out[0].t[3], 2000);
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 0);
}
END_TEST

START_TEST(body_timeout)
{
    static const struct sc_act c[] = {
        CONNECT, SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"),
        SLEEP(1500), SEND("f"), UNTIL_EOF, END};
    SC.cfg.body_timeout_ms = 2000;
    sc_run1(c);
    /* Each byte restarts the wait: 1500 + 2000. */
    ck_assert_str_eq(sc_got_all(0), sc_error_reply(408, CLOSE_F));
    ck_assert_uint_eq(SC.out[0].t[4], 3500);
}
END_TEST

/* ===== the access log ========================================================== */

START_TEST(access_log_lines)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND(GET_HELLO "GET /users/7?x=1&y=%41 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                       "GET /nope?q HTTP/1.1\r\nHost: x\r\n\r\n"
                       "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(4), RECV_HEAD, CLOSE, END};
    static const struct sc_act later[] = {SLEEP(10), CONNECT, SEND("GET /hello HTTP/1.0\r\n\r\n"),
                                       UNTIL_EOF, END};
    static const struct sc_act *const both[] = {c, later};
    sc_run(both, 2);
    ck_assert_str_eq(sc_access_log(),
                     sc_fmt("%s%s%s%s%s%s", sc_log_line(0, "GET /hello HTTP/1.1", 200, 6),
                         sc_log_line(0, "GET /users/7?x=1&y=%41 HTTP/1.1", 200, 9),
                         sc_log_line(0, "POST /echo HTTP/1.1", 200, 5),
                         sc_log_line(0, "GET /nope?q HTTP/1.1", 404, 14),
                         sc_log_line(0, "HEAD /hello HTTP/1.1", 200, 0),
                         sc_log_line(1, "GET /hello HTTP/1.0", 200, 6)));
    ck_assert_int_ne(SC.out[0].port, SC.out[1].port);
}
END_TEST

/* ===== graceful shutdown =========================================================== */

START_TEST(graceful_stop)
{
    /* a: a request in flight at the stop, which completes, and the
     * connection with it; b: idle, closed at the stop; c: stops the server,
     * then finds it no longer listening. */
    static const struct sc_act a[] = {CONNECT, SEND("GET /slow?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    static const struct sc_act b[] = {CONNECT, SEND(GET_HELLO), RECV(1), UNTIL_EOF, END};
    static const struct sc_act c[] = {SLEEP(100), STOP, CONNECT, END};
    static const struct sc_act *const all[] = {a, b, c};
    sc_run(all, 3);
    ck_assert_str_eq(sc_got_all(0), sc_reply(200, CLOSE_F, "slept 500\n"));
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_uint_eq(SC.out[0].t[2], 500);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_int_eq(SC.out[1].eof, 1);
    ck_assert_uint_eq(SC.out[1].t[3], 100);
    ck_assert_int_eq(SC.out[2].connect_err, -ECONNREFUSED);
    ck_assert_uint_eq(SC.t_served, 500);
    ck_assert_uint_eq(SC.srv.stats.requests, 2);
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
}
END_TEST

START_TEST(grace_cut_off)
{
    /* A handler still asleep when grace_ms has passed is cancelled: its
     * client gets no answer, only the close, and the server returns 0. */
    static const struct sc_act a[] = {CONNECT, SEND("GET /slow?ms=10000 HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    static const struct sc_act c[] = {SLEEP(100), STOP, END};
    static const struct sc_act *const both[] = {a, c};
    SC.cfg.grace_ms = 1000;
    sc_run(both, 2);
    ck_assert_str_eq(sc_got_all(0), "");
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_uint_eq(SC.out[0].t[2], 1100);
    ck_assert_uint_eq(SC.t_served, 1100);
    ck_assert_str_eq(sc_access_log(), "");
    ck_assert_uint_eq(SC.srv.stats.requests, 0);
}
END_TEST

START_TEST(stop_closes_silent_connection)
{
    /* Connected, not a byte sent (a browser's preconnect): nothing is in
     * flight there, so the stop closes it at once, with no answer, rather
     * than wait grace_ms for it; one half-way through a head is waited for. */
    static const struct sc_act d[] = {CONNECT, UNTIL_EOF, END};
    static const struct sc_act h[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\n"), SLEEP(200),
                                   SEND("Host: x\r\n\r\n"), UNTIL_EOF, END};
    static const struct sc_act c[] = {SLEEP(100), STOP, END};
    static const struct sc_act *const all[] = {d, h, c};
    sc_run(all, 3);
    ck_assert_str_eq(sc_got_all(0), "");
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_uint_eq(SC.out[0].t[1], 100);
    ck_assert_str_eq(sc_got_all(1), sc_reply(200, CLOSE_F, "hello\n"));
    ck_assert_uint_eq(SC.out[1].t[4], 200);
    ck_assert_uint_eq(SC.t_served, 200);
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
}
END_TEST

/* ===== stats, parameters, the query ================================================ */

START_TEST(params_and_query)
{
    static const struct sc_act c[] = {
        CONNECT,
        SEND("GET /users/42?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/a%20b?y=2&x=1+2%21 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/ HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/1/2 HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(4), CLOSE, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s%s%s", sc_reply(200, "", "id=42 x=1\n"),
                                     sc_reply(200, "", "id=a b x=1 2!\n"), sc_error_reply(404, ""),
                                     sc_error_reply(404, "")));
}
END_TEST

START_TEST(stats_add_up)
{
    static const struct sc_act a[] = {
        CONNECT, SEND(GET_HELLO "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(2),
        SEND("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1), CLOSE, END};
    static const struct sc_act b[] = {SLEEP(10), CONNECT, SEND("BAD\r\n\r\n"), UNTIL_EOF, END};
    static const struct sc_act *const both[] = {a, b};
    sc_run(both, 2);
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
    ck_assert_uint_eq(SC.srv.stats.requests, 4);
    ck_assert_uint_eq(SC.srv.stats.errors, 2);
    ck_assert_uint_eq(SC.srv.stats.refused, 0);
    ck_assert_uint_eq(SC.srv.stats.bytes_out, 6 + 14 + 14 + 16);
}
END_TEST

/* ===== the project's client against the server ===================================== */

START_TEST(with_the_client)
{
    /* The client keeps the connection; after the server's idle close it
     * finds it closed and sends the GET again on a new one. */
    static const struct sc_act c[] = {
        CALL("GET", "/hello", NULL),       CALL("POST", "/echo", "posted"),
        CALL("GET", "/users/5?x=y", NULL), CALL("HEAD", "/hello", NULL),
        CALL("GET", "/nope", NULL),        SLEEP(1500),
        CALL("GET", "/hello", NULL),       CALL("GET", "/stream", NULL),
        END};
    SC.cfg.idle_timeout_ms = 1000;
    sc_run1(c);
    ck_assert_str_eq(SC.out[0].got, "200 0 0 hello\n\n"
                                   "200 1 0 posted\n"
                                   "200 1 0 id=5 x=y\n\n"
                                   "200 1 0 \n"
                                   "404 1 0 404 Not Found\n\n"
                                   "200 0 1 hello\n\n"
                                   "200 1 0 one\ntwo\nthree\n\n");
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
    ck_assert_uint_eq(SC.srv.stats.requests, 7);
}
END_TEST

/* ===== the tcases ================================================================= */

void stage06_server_tcases(Suite *s)
{
    TCase *tc = sc_case(s, "server_keep_alive");
    tcase_add_test(tc, get_hello);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, no_content_has_no_body);
    tcase_add_test(tc, keep_alive_two_requests);
    tcase_add_test(tc, http10_closes);
    tcase_add_test(tc, http10_keep_alive);
    tcase_add_test(tc, connection_close_honoured);

    tc = sc_case(s, "server_pipelining");
    tcase_add_test(tc, pipelined_three);
    tcase_add_test(tc, byte_split_request);

    tc = sc_case(s, "server_bodies");
    tcase_add_test(tc, echo_content_length);
    tcase_add_test(tc, echo_chunked);
    tcase_add_test(tc, expect_continue);
    tcase_add_test(tc, skipped_body);
    tcase_add_test(tc, skipped_body_goes_bad);
    tcase_add_test(tc, body_too_large);
    tcase_add_test(tc, body_at_max_body);
    tcase_add_test(tc, streamed_reply);

    tc = sc_case(s, "server_errors");
    tcase_add_loop_test(tc, error_status, 0, (int)N_OF(bad_cases));
    tcase_add_test(tc, not_found_keeps_connection);
    tcase_add_test(tc, method_not_allowed);
    tcase_add_test(tc, handler_failure);
    tcase_add_test(tc, over_max_conns);

    tc = sc_case(s, "server_timeouts");
    tcase_add_test(tc, head_timeout_partial);
    tcase_add_test(tc, head_timeout_from_first_byte);
    tcase_add_test(tc, head_timeout_from_accept);
    tcase_add_test(tc, idle_close);
    tcase_add_test(tc, body_timeout);

    tc = sc_case(s, "server_log");
    tcase_add_test(tc, access_log_lines);

    tc = sc_case(s, "server_shutdown");
    tcase_add_test(tc, graceful_stop);
    tcase_add_test(tc, grace_cut_off);
    tcase_add_test(tc, stop_closes_silent_connection);

    tc = sc_case(s, "server_stats");
    tcase_add_test(tc, params_and_query);
    tcase_add_test(tc, stats_add_up);

    tc = sc_case(s, "server_with_client");
    tcase_add_test(tc, with_the_client);
}
