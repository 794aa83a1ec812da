/*
 * fuzz_request.c - libFuzzer target: a request head, as a server gets it.
 *
 * The input is the bytes a client sent.  Two oracles besides the
 * sanitizers: hparse_scan_head must find the same end of head whether the
 * bytes come at once or in two pieces (split where the input's first byte
 * says), and a head it accepts must parse to strings that lie inside the
 * head, with a framing that agrees with itself.  The head is parsed in a
 * buffer of exactly its length, so reading one byte past it is caught.
 */
#include "fuzz_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *head;
    size_t a = scan_head(data, n, &head);
    if (!head)
        return 0;
    struct hparse_req req;
    int max = n > 1 ? data[1] % (HPARSE_MAX_HEADERS + 2) : HPARSE_MAX_HEADERS;
    int r = hparse_request(head, a, max, &req);
    if (r == 0) {
        if (!inside(req.method, head, a) || !inside(req.path, head, a) ||
            (req.minor != 0 && req.minor != 1) || req.nheaders > max ||
            (req.body == HPARSE_BODY_LENGTH) != (req.content_length > 0))
            abort();
        for (int i = 0; i < req.nheaders; i++)
            if (!inside(req.headers[i].name, head, a) || !inside(req.headers[i].value, head, a))
                abort();
    } else if (hparse_status(r) < 400 || hparse_status(r) > 599 || !*hparse_strerror(r)) {
        abort();
    }
    free(head);
    return 0;
}
