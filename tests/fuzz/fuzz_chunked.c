/*
 * fuzz_chunked.c - libFuzzer target: a chunked body, decoded incrementally.
 *
 * The decoder is fed the input whole, then a byte at a time, as a peer
 * could send it.  Both ways must agree on the outcome (an error, the end of
 * the body, or more to come), on how many bytes the body took, and on every
 * byte of the data; the data can never be more than the input, and always
 * lies inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

struct outcome {
    int r;       /* the last return: < 0, 1 (the end) or 0 (more to come) */
    size_t used; /* bytes consumed when it came */
    char *out;   /* the data, n bytes at most */
    size_t len;
};

/* Decode in[0..n), offering at most `piece` bytes per call. */
static void decode(const char *in, size_t n, size_t piece, struct outcome *o)
{
    struct hparse_chunked c = {0};
    o->r = 0;
    o->used = o->len = 0;
    while (o->used < n && o->r == 0) {
        size_t offer = n - o->used < piece ? n - o->used : piece, used = 0, dlen = 0;
        const char *d = NULL;
        o->r = hparse_chunked(&c, in + o->used, offer, &used, &d, &dlen);
        if (used > offer || (dlen && (d < in + o->used || d + dlen > in + o->used + used)))
            abort();
        if (o->r >= 0 && dlen) { /* memcpy from NULL is undefined, even of 0 bytes */
            memcpy(o->out + o->len, d, dlen);
            o->len += dlen;
        }
        o->used += used;
        if (used == 0 && o->r == 0)
            abort(); /* offered bytes, took none and asked for more: a hang */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *in = (const char *)data;
    struct outcome a, b;
    a.out = malloc(n + 1);
    b.out = malloc(n + 1);
    if (!a.out || !b.out) {
        free(a.out);
        free(b.out);
        return 0;
    }
    decode(in, n, n ? n : 1, &a);
    decode(in, n, 1, &b);
    if ((a.r < 0) != (b.r < 0) || a.len > n || b.len > n)
        abort();
    if (a.r >= 0 && (a.r != b.r || a.len != b.len || memcmp(a.out, b.out, a.len) != 0 ||
                     (a.r == 1 && a.used != b.used)))
        abort();
    free(a.out);
    free(b.out);
    return 0;
}
