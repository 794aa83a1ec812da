/*
 * fuzz_head.h - what the two head targets (fuzz_request.c, fuzz_response.c)
 * check alike, before each parses the head its own way.
 */
#ifndef FUZZ_HEAD_H
#define FUZZ_HEAD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"

/* A parsed string lies inside the head (its NUL at most one past it). */
static int inside(const char *p, const char *head, size_t len)
{
    return p >= head && p + strlen(p) < head + len + 1;
}

/* The end of the head in data[0..n), found at once and again in two pieces
 * split where the first byte says: the two must agree (else abort).  0 when
 * no head ends there; otherwise *head is a malloc'd copy of exactly that
 * many bytes (so that reading one past it is caught), or NULL. */
static size_t scan_head(const uint8_t *data, size_t n, char **head)
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
    *head = NULL;
    if (a && (*head = malloc(a)) != NULL)
        memcpy(*head, in, a);
    return a;
}

#endif
