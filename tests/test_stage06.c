/*
 * test_stage06.c - HTTP/1.1 on the framework: the message parser, and the
 * server and client built on it.
 *
 * The suite is built here from one file per topic:
 *     test_stage06_parse.c   hparse: finding the end of a head split at any
 *                            byte, requests and responses parsed in place,
 *                            every malformed or ambiguous form refused with
 *                            its own error and status, the framing rules of
 *                            RFC 9112 6.3, chunked bodies decoded
 *                            incrementally and strictly
 *     test_stage06_client.c  the client against scripted servers and
 *                            python3 -m http.server
 *     test_stage06_server.c  the server over loopback, raw sockets and the
 *                            client: keep-alive, pipelining, every error
 *                            status, timeouts on the virtual clock, shutdown
 *     test_stage06_faults.c  the server against slowloris, resets, half-closes
 *                            and vanishing clients, and out of descriptors
 *     stage06_script.c       the scripted clients those two run
 *     test_stage06_alloc.c   a scenario of server, client, queue and timers
 *                            with each of its allocations failing in turn
 *     test_stage06_interop.c the demo against curl, Python's http.client and
 *                            headless Chromium, each when installed
 *     test_stage06_examples.c http_journey's exact output, http_fetch's errors
 *     test_stage06_stop.c    SIGTERM to the demo under load: requests in flight
 *                            answered, new connections refused, exit 0
 * and stage06_util.h declares what they share.
 */
#include <check.h>

#include "stage06_util.h"

Suite *stage06_suite(void)
{
    Suite *s = suite_create("stage06");
    stage06_parse_tcases(s);
    stage06_client_tcases(s);
    stage06_server_tcases(s);
    stage06_faults_tcases(s);
    stage06_alloc_tcases(s);
    stage06_interop_tcases(s);
    stage06_examples_tcases(s);
    stage06_stop_tcases(s);
    return s;
}
