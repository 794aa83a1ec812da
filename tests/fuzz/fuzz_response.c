/*
 * fuzz_response.c - libFuzzer target: a reply head, as the client gets it.
 *
 * Like fuzz_request.c: the end of the head must not depend on how the
 * bytes were split, and an accepted head must parse to strings inside it
 * and a status in 100..999.  The input's first byte also says whether the
 * request was HEAD, which changes the framing rules.
 */
#include "fuzz_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *head;
    size_t a = scan_head(data, n, &head);
    if (!head)
        return 0;
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
