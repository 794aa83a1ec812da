/*
 * hparse.c - HTTP/1.1 heads and chunked bodies, read without trusting the
 * peer (RFC 9112, with the field rules of RFC 9110).
 *
 * The bytes come from the network, so every one is checked against the
 * grammar and nothing is read past `len`: the buffer is not NUL-terminated.
 * Where the RFCs let a recipient choose between accepting a sloppy form and
 * rejecting it, this file accepts only what cannot be read two ways (a bare
 * LF ending a head line, empty lines before a request, a status line with
 * no SP after the code) and rejects the rest.  The forms that matter most are the ones that decide where a
 * body ends: a server and a proxy in front of it that disagree on that see
 * different requests in the same bytes ("request smuggling").  So the
 * framing fields are checked as a whole, after every field line has been
 * read, and any doubt is an error rather than a guess.
 *
 * A head is parsed in two passes: field_lines() cuts it into name/value
 * strings in place, then fields_scan() reads the few fields that matter to
 * framing and persistence (Host, Content-Length, Transfer-Encoding,
 * Connection, Expect) into a struct fields that the request and response
 * rules then judge.
 */
#include "hparse.h"

#include <string.h>

/* Limits of the chunked framing (RFC 9112 7.1 sets none; without them a peer
 * could make us skip an extension or a trailer section for ever). */
#define CHUNK_DIGITS 15       /* 15 hex digits: < 2^60, no overflow possible */
#define CHUNK_LINE_MAX 4096   /* a chunk-size line before its CRLF */
#define TRAILERS_MAX 8192     /* the trailer section, CRLFs included */
/* Content-Length above this is refused, so it fits an off_t or int64_t. */
#define LENGTH_MAX ((uint64_t)INT64_MAX)

/* ---- characters --------------------------------------------------------- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A token character (RFC 9110 5.6.2): what method and field names are made
 * of.  strchr() would match the terminator, hence the c != 0. */
static int is_tchar(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* Control characters: the bytes a field value or a target may not hold
 * (HTAB is one, and allowed in values by its callers). */
static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

static int is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* What a host[:port] may hold (RFC 3986 reg-name, IP literals, a port):
 * notably not '@' (userinfo, which RFC 9110 4.2.4 says to treat as an
 * error), '/', '?' or whitespace. */
static int is_host_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~%!$&'()*+,;=:[]", c));
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* s[0..n) equals the lower-case literal `lit`, ignoring ASCII case. */
static int ieq_n(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return i == n && lit[i] == '\0';
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int valid_host(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_host_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ---- finding the end of a head ------------------------------------------ */

size_t hparse_scan_head(struct hparse_scan *s, const char *buf, size_t len)
{
    if (s->nl == 3) /* found already: say so again */
        return s->pos;
    /* The start of the buffer counts as the start of a line, so that empty
     * lines before the first line are seen as empty - and passed over, not
     * taken for the end of an empty head. */
    int nl = s->pos == 0 ? 1 : s->nl;
    size_t i = s->pos;
    while (i < len) {
        if (nl == 0) { /* inside a line only its '\n' matters: jump to it */
            const char *e = memchr(buf + i, '\n', len - i);
            if (!e) {
                i = len;
                break;
            }
            i = (size_t)(e - buf);
        }
        char c = buf[i++];
        if (c == '\n' && nl == 0) { /* the end of a line with something on it */
            if (s->line_len == 0)
                s->line_len = i;
            nl = 1;
        } else if (c == '\n' && s->line_len) { /* an empty line ends the head */
            s->pos = i;
            s->nl = 3;
            return i;
        } else if (c == '\n') { /* an empty line before the first: skipped */
            nl = 1;
        } else {
            nl = c == '\r' && nl == 1 ? 2 : 0;
        }
    }
    s->pos = i;
    s->nl = nl;
    return 0;
}

/* ---- cutting a head into lines and fields --------------------------------- */

struct lines {
    char *p;     /* the next line */
    size_t left; /* bytes from p to the end of the head */
};

/* The next line: *line and *n its content without the CRLF or LF that ends
 * it, so line[*n] is a byte of the head that may be overwritten with '\0'.
 * A line with no '\n' before the end: the head was cut short. */
static int next_line(struct lines *ls, char **line, size_t *n)
{
    char *nl = ls->left ? memchr(ls->p, '\n', ls->left) : NULL;
    if (!nl)
        return HPARSE_EBAD;
    size_t through = (size_t)(nl - ls->p) + 1;
    *line = ls->p;
    *n = through - 1;
    if (*n > 0 && nl[-1] == '\r')
        (*n)--;
    ls->p += through;
    ls->left -= through;
    return 0;
}

/* The start line, after any empty lines (RFC 9112 2.2 lets a server ignore
 * them: clients have sent a stray CRLF after a POST body). */
static int first_line(struct lines *ls, char **line, size_t *n)
{
    do {
        int r = next_line(ls, line, n);
        if (r < 0)
            return r;
    } while (*n == 0);
    return 0;
}

/* One field line, name ":" OWS value OWS (RFC 9112 5), split in place.  A
 * line starting with whitespace is obs-fold, a continuation that RFC 9112
 * 5.2 lets a server reject; whitespace before the colon is a 400 by 5.1. */
static int field_line(char *line, size_t n, struct hparse_header *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i == n || line[i] != ':')
        return HPARSE_EBAD;
    line[i] = '\0';
    size_t b = i + 1, e = n;
    while (b < e && is_ows((unsigned char)line[b]))
        b++;
    while (e > b && is_ows((unsigned char)line[e - 1]))
        e--;
    /* NUL, CR and LF among them: a bare CR is how a field is smuggled past
     * a parser that splits lines at CR. obs-text (0x80-0xff) is allowed. */
    for (size_t k = b; k < e; k++)
        if (is_ctl((unsigned char)line[k]) && line[k] != '\t')
            return HPARSE_EBAD;
    line[e] = '\0';
    h->name = line;
    h->value = line + b;
    return 0;
}

/* The field lines up to the empty line that ends the head.  Bytes after it
 * (a body, the next request) are not looked at. */
static int field_lines(struct lines *ls, int max, struct hparse_header *h, int *nh)
{
    if (max < 0)
        max = 0;
    if (max > HPARSE_MAX_HEADERS)
        max = HPARSE_MAX_HEADERS;
    for (*nh = 0;;) {
        char *line;
        size_t n;
        int r = next_line(ls, &line, &n);
        if (r < 0)
            return r;
        if (n == 0)
            return 0;
        if (*nh == max)
            return HPARSE_ETOOMANY;
        r = field_line(line, n, &h[*nh]);
        if (r < 0)
            return r;
        (*nh)++;
    }
}

/* "HTTP/1.0" or "HTTP/1.1" (RFC 9112 2.3: case-sensitive, one digit each):
 * the minor version, or EVERSION for another version, EBAD for no version. */
static int version(const char *p, size_t n)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit((unsigned char)p[5]) || p[6] != '.' ||
        !is_digit((unsigned char)p[7]))
        return HPARSE_EBAD;
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return HPARSE_EVERSION;
    return p[7] - '0';
}

/* ---- the fields that decide framing and persistence --------------------- */

/* The next element of a comma-separated list (RFC 9110 5.6.1) in the
 * NUL-terminated p, OWS trimmed (it may be empty).  Returns where the next
 * element starts, or NULL after the last one.  Quoted strings are not
 * understood: a comma inside one (possible only in a parameter) splits it,
 * which turns a coding or expectation we would refuse anyway into another
 * refused one. */
static const char *list_next(const char *p, const char **s, size_t *n)
{
    const char *e = p;
    while (*e && *e != ',')
        e++;
    const char *next = *e == ',' ? e + 1 : NULL;
    while (p < e && is_ows((unsigned char)*p))
        p++;
    while (e > p && is_ows((unsigned char)e[-1]))
        e--;
    *s = p;
    *n = (size_t)(e - p);
    return next;
}

struct fields {
    int hosts;               /* Host fields */
    char *host;              /* the first one's value */
    int lengths;             /* Content-Length fields */
    int length_bad;          /* some value not a number, or two differing */
    uint64_t length;
    int codings_fields;      /* Transfer-Encoding fields */
    int codings_bad;         /* a coding that is not a token [params] */
    int chunked;             /* times "chunked" is listed */
    int last_chunked;        /* the final coding is chunked */
    int others;              /* codings other than chunked */
    int close, keep;         /* Connection: close, keep-alive */
    int expect_continue, expect_other;
};

/* Content-Length = 1*DIGIT; RFC 9110 8.6 lets us accept "42, 42" and
 * repeated fields, if every value is the same. */
static void content_length(const char *v, struct fields *f)
{
    const char *s;
    size_t n;
    do {
        v = list_next(v, &s, &n);
        uint64_t x = 0;
        if (n == 0)
            f->length_bad = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned d = is_digit((unsigned char)s[i]) ? (unsigned)(s[i] - '0') : 10;
            if (d > 9 || x > (LENGTH_MAX - d) / 10) {
                f->length_bad = 1;
                break;
            }
            x = x * 10 + d;
        }
        if (f->lengths++ && x != f->length)
            f->length_bad = 1;
        f->length = x;
    } while (v);
}

/* Transfer-Encoding: the fields together are one list, in order (RFC 9110
 * 5.3); empty elements are ignored, as 5.6.1 requires. */
static void codings(const char *v, struct fields *f)
{
    const char *s;
    size_t n;
    f->codings_fields++;
    do {
        v = list_next(v, &s, &n);
        if (n == 0)
            continue;
        size_t t = 0;
        while (t < n && is_tchar((unsigned char)s[t]))
            t++;
        size_t rest = t;
        while (rest < n && is_ows((unsigned char)s[rest]))
            rest++;
        if (t == 0 || (rest < n && s[rest] != ';'))
            f->codings_bad = 1;
        if (ieq_n(s, t, "chunked")) {
            f->chunked++;
            f->last_chunked = 1;
            if (rest < n) /* chunked takes no parameters */
                f->codings_bad = 1;
        } else {
            f->others++;
            f->last_chunked = 0;
        }
    } while (v);
}

static void connection(const char *v, struct fields *f)
{
    const char *s;
    size_t n;
    do {
        v = list_next(v, &s, &n);
        f->close |= ieq_n(s, n, "close");
        f->keep |= ieq_n(s, n, "keep-alive");
    } while (v);
}

static void expect(const char *v, struct fields *f)
{
    const char *s;
    size_t n;
    do {
        v = list_next(v, &s, &n);
        if (n > 0 && ieq_n(s, n, "100-continue"))
            f->expect_continue = 1;
        else if (n > 0)
            f->expect_other = 1;
    } while (v);
}

static void fields_scan(const struct hparse_header *h, int nh, struct fields *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < nh; i++) {
        const char *name = h[i].name, *v = h[i].value;
        if (ieq(name, "host")) {
            if (f->hosts++ == 0)
                f->host = h[i].value;
        } else if (ieq(name, "content-length"))
            content_length(v, f);
        else if (ieq(name, "transfer-encoding"))
            codings(v, f);
        else if (ieq(name, "connection"))
            connection(v, f);
        else if (ieq(name, "expect"))
            expect(v, f);
    }
}

/* ---- requests ----------------------------------------------------------- */

/* Split p at its first '?' into path and query. */
static void path_query(char *p, struct hparse_req *req)
{
    char *q = strchr(p, '?');
    req->path = p;
    if (q) {
        *q = '\0';
        req->query = q + 1;
    } else {
        req->query = p + strlen(p);
    }
}

/* 7 for "http://", 8 for "https://" (schemes are case-insensitive), else 0. */
static size_t scheme_len(const char *t, size_t n)
{
    if (n >= 7 && ieq_n(t, 7, "http://"))
        return 7;
    if (n >= 8 && ieq_n(t, 8, "https://"))
        return 8;
    return 0;
}

/* The absolute-form http://authority[/path][?query] (RFC 9112 3.2.2).  The
 * authority is moved over the scheme so that it can be NUL-terminated
 * without cutting the path, and a missing path becomes "/" in the room the
 * scheme left: every string stays inside the buffer, so a caller may edit
 * it in place (decode %xx, say). */
static int absolute_form(char *t, size_t n, struct hparse_req *req, char **authority)
{
    size_t s = scheme_len(t, n), a = s;
    while (a < n && t[a] != '/' && t[a] != '?')
        a++;
    size_t alen = a - s;
    /* An empty host is invalid in an http URI (RFC 9110 4.2.1). */
    if (s == 0 || alen == 0 || t[s] == ':' || !valid_host(t + s, alen))
        return HPARSE_EBAD;
    char *rest = t + a; /* '/', '?' or the target's '\0' */
    memmove(t, t + s, alen);
    t[alen] = '\0';
    *authority = t;
    if (*rest == '/') {
        path_query(rest, req);
    } else { /* alen + 2 < a: the "/" fits before rest */
        char *slash = t + alen + 1;
        slash[0] = '/';
        slash[1] = '\0';
        req->path = slash;
        req->query = *rest == '?' ? rest + 1 : rest;
    }
    return 0;
}

/* request-line = method SP request-target SP HTTP-version, one SP each
 * (RFC 9112 3).  The forms of target: origin ("/p?q"), absolute
 * ("http://h/p?q"), asterisk ("*", OPTIONS only).  CONNECT's authority-form
 * is not served and is rejected with everything else. */
static int request_line(char *l, size_t n, struct hparse_req *req, char **authority)
{
    size_t m = 0;
    while (m < n && is_tchar((unsigned char)l[m]))
        m++;
    if (m == 0 || m == n || l[m] != ' ')
        return HPARSE_EBAD;
    size_t t = m + 1, e = t;
    for (; e < n && l[e] != ' '; e++)
        if (is_ctl((unsigned char)l[e]) || l[e] == '#') /* a fragment is never sent */
            return HPARSE_EBAD;
    if (e == t || e == n)
        return HPARSE_EBAD;
    int minor = version(l + e + 1, n - e - 1);
    if (minor < 0)
        return minor;
    l[m] = l[e] = l[n] = '\0';
    req->method = l;
    req->minor = minor;
    req->host = l + n; /* "" until a Host field says otherwise */
    char *target = l + t;
    if (target[0] == '/') {
        path_query(target, req);
        return 0;
    }
    if (strcmp(target, "*") == 0) {
        if (strcmp(req->method, "OPTIONS") != 0)
            return HPARSE_EBAD;
        req->path = target;
        req->query = target + 1;
        return 0;
    }
    return absolute_form(target, e - t, req, authority);
}

/* The message body length of a request (RFC 9112 6.1, 6.3).  The order of
 * the checks decides which error a message with several faults gets. */
static int request_framing(const struct fields *f, struct hparse_req *req)
{
    if (f->codings_fields) {
        /* 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; with a
         * Content-Length beside it, one of the two is a lie. */
        if (req->minor == 0 || f->lengths)
            return HPARSE_EFRAMING;
        /* 6.3: unless chunked is final, and once, the end cannot be found. */
        if (f->codings_bad || f->chunked != 1 || !f->last_chunked)
            return HPARSE_EFRAMING;
        if (f->others) /* gzip, chunked: framed, but we cannot decode it */
            return HPARSE_ECODING;
        req->body = HPARSE_BODY_CHUNKED;
    } else if (f->lengths) {
        if (f->length_bad)
            return HPARSE_EFRAMING;
        req->content_length = f->length;
        req->body = f->length ? HPARSE_BODY_LENGTH : HPARSE_BODY_NONE;
    }
    return 0;
}

int hparse_request(char *head, size_t len, int max_headers, struct hparse_req *req)
{
    struct lines ls = {head, head ? len : 0};
    char *line, *authority = NULL;
    size_t n;
    struct fields f;
    req->nheaders = 0;
    req->keep_alive = req->expect_continue = 0;
    req->body = HPARSE_BODY_NONE;
    req->content_length = 0;
    int r = first_line(&ls, &line, &n);
    if (r == 0)
        r = request_line(line, n, req, &authority);
    if (r == 0)
        r = field_lines(&ls, max_headers, req->headers, &req->nheaders);
    if (r < 0)
        return r;
    fields_scan(req->headers, req->nheaders, &f);
    /* RFC 9112 3.2: a 400 for an HTTP/1.1 request without Host, for any
     * with two, or with an invalid one - even when an absolute-form target
     * names the host, which then wins over the field. */
    if (f.hosts > 1 || (f.hosts == 0 && req->minor == 1) ||
        (f.hosts == 1 && !valid_host(f.host, strlen(f.host))))
        return HPARSE_EBAD;
    if (authority)
        req->host = authority;
    else if (f.hosts)
        req->host = f.host;
    r = request_framing(&f, req);
    if (r < 0)
        return r;
    if (f.expect_other)
        return HPARSE_EEXPECT;
    /* RFC 9110 10.1.1: an HTTP/1.0 client cannot be waiting for a 100. */
    req->expect_continue = f.expect_continue && req->minor == 1;
    req->keep_alive = !f.close && (req->minor == 1 || f.keep);
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

/* status-line = HTTP-version SP status-code SP [ reason-phrase ].  The SP
 * after the code is required (RFC 9112 4), but servers that send no reason
 * often drop it too, so "HTTP/1.1 200" is accepted as an empty reason. */
static int status_line(char *l, size_t n, struct hparse_resp *resp)
{
    int minor = version(l, n < 8 ? n : 8);
    if (minor < 0)
        return minor;
    if (n < 12 || l[8] != ' ' || !is_digit((unsigned char)l[9]) || l[9] == '0' ||
        !is_digit((unsigned char)l[10]) || !is_digit((unsigned char)l[11]) ||
        (n > 12 && l[12] != ' '))
        return HPARSE_EBAD;
    size_t reason = n > 12 ? 13 : 12;
    for (size_t k = reason; k < n; k++)
        if (is_ctl((unsigned char)l[k]) && l[k] != '\t')
            return HPARSE_EBAD;
    l[n] = '\0';
    resp->minor = minor;
    resp->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    resp->reason = l + reason;
    return 0;
}

/* The message body length of a response (RFC 9112 6.3, in its order). */
static int response_framing(const struct fields *f, int to_head, struct hparse_resp *resp)
{
    int st = resp->status;
    if (to_head || st < 200 || st == 204 || st == 304) {
        if (f->codings_fields && resp->minor == 0) /* 6.1: close after it */
            resp->keep_alive = 0;
        return 0;
    }
    if (f->codings_fields) {
        if (resp->minor == 0 || f->codings_bad || f->chunked > 1)
            return HPARSE_EFRAMING;
        if (f->last_chunked) {
            resp->body = HPARSE_BODY_CHUNKED;
            /* Transfer-Encoding overrides Content-Length, but the pair
             * smells of smuggling: do not trust the connection after it. */
            if (f->lengths)
                resp->keep_alive = 0;
        } else {
            resp->body = HPARSE_BODY_UNTIL_CLOSE;
            resp->keep_alive = 0;
        }
    } else if (f->lengths) {
        if (f->length_bad)
            return HPARSE_EFRAMING;
        resp->content_length = f->length;
        resp->body = f->length ? HPARSE_BODY_LENGTH : HPARSE_BODY_NONE;
    } else {
        resp->body = HPARSE_BODY_UNTIL_CLOSE;
        resp->keep_alive = 0;
    }
    return 0;
}

int hparse_response(char *head, size_t len, int max_headers, int to_head, struct hparse_resp *resp)
{
    struct lines ls = {head, head ? len : 0};
    char *line;
    size_t n;
    struct fields f;
    resp->nheaders = 0;
    resp->keep_alive = 0;
    resp->body = HPARSE_BODY_NONE;
    resp->content_length = 0;
    int r = first_line(&ls, &line, &n);
    if (r == 0)
        r = status_line(line, n, resp);
    if (r == 0)
        r = field_lines(&ls, max_headers, resp->headers, &resp->nheaders);
    if (r < 0)
        return r;
    fields_scan(resp->headers, resp->nheaders, &f);
    resp->keep_alive = !f.close && (resp->minor == 1 || f.keep);
    return response_framing(&f, to_head, resp);
}

const char *hparse_get(const struct hparse_header *h, int n, const char *name)
{
    for (int i = 0; h && name && i < n; i++)
        if (ieq(h[i].name, name))
            return h[i].value;
    return NULL;
}

/* ---- chunked bodies ----------------------------------------------------- */

/* chunked-body = *chunk last-chunk trailer-section CRLF, where
 *     chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * Strict where the head is lenient: a bare LF, a space before the size or
 * a missing CRLF after the data is an error, since those are the bytes on
 * which two parsers have disagreed about where a chunk ends. */
enum {
    C_SIZE,         /* hex digits of chunk-size */
    C_SIZE_WS,      /* BWS after the size: only a ';' may follow */
    C_EXT,          /* chunk extensions, skipped */
    C_SIZE_LF,      /* the LF of the size line */
    C_DATA,         /* `left` bytes of data */
    C_DATA_CR,      /* the CRLF after the data */
    C_DATA_LF,
    C_TRAILER,      /* the start of a trailer line, or of the final CRLF */
    C_TRAILER_LINE, /* a trailer field, skipped */
    C_TRAILER_LF,
    C_END_LF,       /* the LF of the final CRLF */
    C_DONE,
    C_ERROR,
};

/* The framing byte `want` must come now, and then state `next`. */
static int expect_byte(struct hparse_chunked *c, unsigned char b, unsigned char want, int next)
{
    if (b != want)
        return HPARSE_ECHUNK;
    c->state = next;
    return next == C_DONE;
}

/* One byte of framing: 0 to go on, 1 at the end of the body, or ECHUNK. */
static int chunk_step(struct hparse_chunked *c, unsigned char b)
{
    int hex = hex_value(b), ok = 1;
    if (c->state <= C_EXT && b != '\r' && ++c->line > CHUNK_LINE_MAX)
        return HPARSE_ECHUNK;
    if (c->state >= C_TRAILER && ++c->trailers > TRAILERS_MAX)
        return HPARSE_ECHUNK;
    switch (c->state) {
    case C_SIZE:
        if (hex >= 0) {
            ok = c->digits++ < CHUNK_DIGITS;
            c->left = c->left * 16 + (uint64_t)hex;
        } else {
            ok = c->digits > 0 && (b == '\r' || b == ';' || is_ows(b));
            c->state = b == '\r' ? C_SIZE_LF : b == ';' ? C_EXT : C_SIZE_WS;
        }
        break;
    case C_SIZE_WS:
        ok = b == ';' || is_ows(b);
        c->state = b == ';' ? C_EXT : C_SIZE_WS;
        break;
    case C_EXT:
    case C_TRAILER_LINE: /* skipped up to their CR, but not a control byte */
        ok = !is_ctl(b) || b == '\t' || b == '\r';
        if (b == '\r')
            c->state = c->state == C_EXT ? C_SIZE_LF : C_TRAILER_LF;
        break;
    case C_SIZE_LF:
        return expect_byte(c, b, '\n', c->left ? C_DATA : C_TRAILER);
    case C_DATA_CR:
        return expect_byte(c, b, '\r', C_DATA_LF);
    case C_DATA_LF:
        c->digits = 0;
        c->line = 0;
        return expect_byte(c, b, '\n', C_SIZE);
    case C_TRAILER: /* a field name starts with a tchar: no obs-fold */
        ok = b == '\r' || is_tchar(b);
        c->state = b == '\r' ? C_END_LF : C_TRAILER_LINE;
        break;
    case C_TRAILER_LF:
        return expect_byte(c, b, '\n', C_TRAILER);
    case C_END_LF:
        return expect_byte(c, b, '\n', C_DONE);
    default:
        ok = 0;
    }
    return ok ? 0 : HPARSE_ECHUNK;
}

int hparse_chunked(struct hparse_chunked *c, const char *in, size_t n, size_t *used,
                   const char **data, size_t *dlen)
{
    size_t i = 0;
    int r = 0;
    *data = NULL;
    *dlen = 0;
    if (c->state == C_DONE || c->state == C_ERROR) {
        *used = 0;
        return c->state == C_DONE ? 1 : HPARSE_ECHUNK;
    }
    while (i < n && r == 0) {
        if (c->state == C_DATA) { /* as much of the chunk as is here, then stop */
            size_t k = n - i < c->left ? n - i : (size_t)c->left;
            *data = in + i;
            *dlen = k;
            i += k;
            c->left -= k;
            if (c->left == 0)
                c->state = C_DATA_CR;
            break;
        }
        r = chunk_step(c, (unsigned char)in[i++]);
    }
    if (r < 0)
        c->state = C_ERROR;
    *used = i;
    return r;
}

/* ---- errors ------------------------------------------------------------- */

int hparse_status(int err)
{
    switch (err) {
    case HPARSE_ETOOMANY: return 431;
    case HPARSE_EVERSION: return 505;
    case HPARSE_ECODING: return 501;
    case HPARSE_EEXPECT: return 417;
    default: return 400; /* EBAD, EFRAMING, ECHUNK, and anything unknown */
    }
}

const char *hparse_strerror(int err)
{
    switch (err) {
    case 0: return "no error";
    case HPARSE_EBAD: return "malformed message";
    case HPARSE_EFRAMING: return "invalid body framing";
    case HPARSE_ETOOMANY: return "too many header fields";
    case HPARSE_EVERSION: return "HTTP version not supported";
    case HPARSE_ECODING: return "transfer coding not implemented";
    case HPARSE_EEXPECT: return "expectation not supported";
    case HPARSE_ECHUNK: return "bad chunked framing";
    default: return "unknown parse error";
    }
}
