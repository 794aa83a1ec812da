/*
 * http_route.c - from a method and a path to a handler, and the request's
 * parameters.
 *
 * The table is short and fixed, so a linear walk in order of precedence is
 * the whole router: compare segment by segment, a {name} segment taking any
 * one segment.  The answer is one of three: a route; 404, when no pattern
 * matches the path; or 405, when some do but for other methods - and then
 * the Allow field must list those methods (RFC 9110 section 15.5.6).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

/* Does path match pattern?  With req, also records where each {name}
 * parameter's value is in path (not yet decoded). */
static int match(const char *pattern, const char *path, struct http_req *req,
                 const char **val, size_t *vlen)
{
    int n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t len = strcspn(s, "/");
            if (!close || len == 0 || n == HTTP_MAX_PARAMS)
                return 0;
            if (req) {
                req->param_name[n] = p + 1;
                req->param_len[n] = (size_t)(close - p - 1);
                val[n] = s;
                vlen[n] = len;
            }
            n++;
            p = close + 1;
            s += len;
        } else if (*p++ != *s++) {
            return 0;
        }
    }
    if (*p || *s)
        return 0;
    if (req)
        req->nparams = n;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode src[0..n) into out (room for cap bytes with the NUL);
 * '+' is a space when plus_space (in a query, as forms send it).  Returns
 * the length, -ENAMETOOLONG, or -EINVAL for a bad or NUL escape. */
static int decode(const char *src, size_t n, char *out, size_t cap, int plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0)
                return -EINVAL;
            c = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            if (c == '\0')
                return -EINVAL; /* would cut the C string short */
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return -ENAMETOOLONG;
        out[o++] = c;
    }
    if (cap == 0)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return (int)o;
}

const struct http_route *http__route(const struct http_config *cfg, struct http_req *req,
                                     int *status, char *allow, size_t allow_cap)
{
    const char *val[HTTP_MAX_PARAMS];
    size_t vlen[HTTP_MAX_PARAMS];
    size_t alen = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct http_route *r = &cfg->routes[i];
        if (!match(r->pattern, req->h.path, NULL, NULL, NULL))
            continue;
        if (strcmp(r->method, req->method) == 0) {
            match(r->pattern, req->h.path, req, val, vlen);
            size_t used = 0;
            for (int k = 0; k < req->nparams; k++) {
                int len = decode(val[k], vlen[k], req->params + used, sizeof req->params - used, 0);
                if (len < 0) {
                    *status = len == -ENAMETOOLONG ? 414 : 400;
                    return NULL;
                }
                req->param_val[k] = req->params + used;
                used += (size_t)len + 1;
            }
            return r;
        }
        /* A known path, another method: remember it for Allow, once. */
        const char *m = r->method;
        size_t mlen = strlen(m);
        int dup = 0;
        for (const char *a = allow; (a = strstr(a, m)) != NULL; a += mlen)
            if ((a == allow || a[-1] == ' ') && (a[mlen] == ',' || a[mlen] == '\0'))
                dup = 1;
        if (!dup && alen + mlen + 12 < allow_cap) {
            alen += (size_t)snprintf(allow + alen, allow_cap - alen, "%s%s", alen ? ", " : "", m);
            if (strcmp(m, "GET") == 0)
                alen += (size_t)snprintf(allow + alen, allow_cap - alen, ", HEAD");
        }
    }
    *status = alen ? 405 : 404;
    return NULL;
}

const char *http_param(const struct http_req *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nparams; i++)
        if (req->param_len[i] == n && memcmp(req->param_name[i], name, n) == 0)
            return req->param_val[i];
    return NULL;
}

int http_query(const struct http_req *req, const char *name, char *out, size_t n)
{
    size_t nlen = strlen(name);
    const char *q = req->h.query;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (klen == nlen && memcmp(q, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : q + len;
            return decode(v, (size_t)(q + len - v), out, n, 1);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return -ENOENT;
}

const char *http_header_in(const struct http_req *req, const char *name)
{
    return hparse_get(req->h.headers, req->h.nheaders, name);
}
