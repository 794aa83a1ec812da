/*
 * fuzz_response.c - libFuzzer target: a reply head, as the client gets it.
 *
 * Like fuzz_request.c: the end of the head must not depend on how the
 * bytes were split, and an accepted head must parse to strings inside it
 * and a status in 100..999.  The input's first byte also says whether the
 * request was HEAD, which changes the framing rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static int inside(const char *p, const char *head, size_t len)
{
    return p >= head && p + strlen(p) < head + len + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *in = (const char *)data;
    struct hparse_scan whole = {0}, parts = {0};
    size_t split = n ? data[0] % (n + 1) : 0;
    size_t a = hparse_scan_head(&whole, in, n);
    size_t b = hparse_scan_head(&parts, in, split);
    if (!b)
        b = hparse_scan_head(&parts, in, n);
    if (a != b || a > n)
        abort();
    if (!a)
        return 0;
    char *head = malloc(a);
    if (!head)
        return 0;
    memcpy(head, in, a);
    struct hparse_resp resp;
    int to_head = n && (data[0] & 0x80);
    int r = hparse_response(head, a, HPARSE_MAX_HEADERS, to_head, &resp);
    if (r == 0) {
        if (resp.status < 100 || resp.status > 999 || !inside(resp.reason, head, a) ||
            (to_head && resp.body != HPARSE_BODY_NONE) ||
            (resp.body == HPARSE_BODY_LENGTH) != (resp.content_length > 0))
            abort();
        for (int i = 0; i < resp.nheaders; i++)
            if (!inside(resp.headers[i].name, head, a) || !inside(resp.headers[i].value, head, a))
                abort();
    }
    free(head);
    return 0;
}
