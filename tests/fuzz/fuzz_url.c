/*
 * fuzz_url.c - libFuzzer target: the client's URL parser (client_parse_url).
 *
 * Whatever it accepts goes into a request line and a Host field, so beyond
 * the sanitizers the target checks what it promises: one of three results;
 * on success a host of the allowed characters, in lower case, that fits; a
 * port in 1..65535; a target inside the URL that begins with '/' or '?'
 * and holds no fragment, no space and no control character.  And the parts
 * are the URL: written out again as http://host:port/target, they parse
 * back to the same parts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static void check_parts(const char *url, const struct client_url *u)
{
    size_t hlen = strlen(u->host);
    if (hlen == 0 || hlen >= sizeof u->host || u->port < 1 || u->port > 65535)
        abort();
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)u->host[i];
        if (ch >= 'A' && ch <= 'Z')
            abort();
        if (!u->ipv6 && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || strchr("-._", ch)))
            abort();
    }
    unsigned char probe[16];
    if (u->ipv6 && inet_pton(AF_INET6, u->host, probe) != 1)
        abort();
    size_t len = strlen(url);
    if (u->target < url || u->target > url + len || u->target_len > (size_t)(url + len - u->target))
        abort();
    if (u->target_len && u->target[0] != '/' && u->target[0] != '?')
        abort();
    for (size_t i = 0; i < u->target_len; i++) {
        unsigned char ch = (unsigned char)u->target[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '#')
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* A C string, as callers pass it: the input up to its first NUL. */
    char *url = malloc(n + 1);
    if (!url)
        return 0;
    memcpy(url, data, n);
    url[n] = '\0';
    struct client_url u, v;
    int r = client_parse_url(url, &u);
    if (r != 0 && r != -EINVAL && r != -EPROTONOSUPPORT)
        abort();
    if (r == 0) {
        check_parts(url, &u);
        /* Written out again, with every part explicit. */
        size_t cap = sizeof u.host + u.target_len + 32;
        char *again = malloc(cap);
        if (again) {
            int k = snprintf(again, cap, "http://%s%s%s:%d%.*s", u.ipv6 ? "[" : "", u.host,
                             u.ipv6 ? "]" : "", u.port, (int)u.target_len, u.target);
            if (k < 0 || (size_t)k >= cap || client_parse_url(again, &v) != 0)
                abort();
            if (strcmp(u.host, v.host) != 0 || u.port != v.port || u.ipv6 != v.ipv6 ||
                u.target_len != v.target_len || memcmp(u.target, v.target, u.target_len) != 0)
                abort();
            free(again);
        }
    }
    free(url);
    return 0;
}
