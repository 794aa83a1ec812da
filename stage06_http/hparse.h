/*
 * hparse.h - HTTP/1.1 message framing (RFC 9112), parsed without trusting
 * the peer.
 *
 * Nothing here does I/O.  The connection code keeps bytes in a buffer (a
 * stream, stream.h); these functions look at what has arrived so far.
 *
 *   1. hparse_scan_head() finds the end of the head (the blank line),
 *      remembering where it stopped, so input split at any byte costs one
 *      pass over it in all - the head is never re-scanned from the start.
 *   2. hparse_request() / hparse_response() parse a complete head in place:
 *      they write '\0' over the delimiters, so the method, path, header
 *      names and values become C strings pointing into the buffer.
 *   3. the head decides the body's framing, once: none, Content-Length
 *      bytes, chunked, or (a response only) until the peer closes.  Forms
 *      that two implementations could read differently - Content-Length
 *      beside Transfer-Encoding, differing Content-Lengths, a bad chunk size
 *      - are errors, never guesses: that is how requests are smuggled.
 *   4. hparse_chunked() removes chunked framing from a body, incrementally.
 *
 * Errors are negative codes of this module; hparse_status() maps each to the
 * HTTP status a server answers with.
 */
#ifndef HPARSE_H
#define HPARSE_H

#include <stddef.h>
#include <stdint.h>

/* The most header fields one head may hold (a server's limit may be lower). */
#define HPARSE_MAX_HEADERS 100

enum {
    HPARSE_EBAD = -1201,       /* malformed: 400 Bad Request */
    HPARSE_EFRAMING = -1202,   /* ambiguous or invalid body framing: 400 */
    HPARSE_ETOOMANY = -1203,   /* more header fields than allowed: 431 */
    HPARSE_EVERSION = -1204,   /* a version other than HTTP/1.0 and 1.1: 505 */
    HPARSE_ECODING = -1205,    /* a transfer coding we do not implement: 501 */
    HPARSE_EEXPECT = -1206,    /* an Expect other than 100-continue: 417 */
    HPARSE_ECHUNK = -1207,     /* bad chunked framing: 400 */
};

/* Where hparse_scan_head() got to: zero it before the first call (and again
 * for the next message). */
struct hparse_scan {
    size_t pos;       /* bytes examined so far (each byte once, in all) */
    size_t line_len;  /* bytes through the '\n' of the first line that is
                         not empty - empty lines before it included - once
                         that '\n' is seen, 0 until then (a server answers
                         a long one 414) */
    int nl;           /* 1 after '\n' (and at the start), 2 after '\n' '\r',
                         3 once the end is found; 0 inside a line */
};

/* Look at buf[0..len) (the same buffer as before, possibly longer) for the
 * blank line that ends a head.  Returns the head's length through that
 * blank line, or 0 when it has not arrived yet; once found, later calls
 * return the same length.  Lines may end in CRLF or a bare LF (RFC 9112
 * section 2.2).  Empty lines before the first line are passed over (2.2
 * lets a server ignore them), not taken for the end of an empty head: so
 * "\r\n\r\n" alone is not a head, the scan goes on (a server's limit on the
 * bytes it waits for ends that), and what it returns for
 * "\r\nGET / HTTP/1.1\r\n..." includes the leading CRLF, which the parsers
 * skip.  A CR not followed by LF is not judged here: the parsers refuse it
 * (EBAD). */
size_t hparse_scan_head(struct hparse_scan *s, const char *buf, size_t len);

/* A header field, both parts NUL-terminated inside the head buffer.  The
 * value has no leading or trailing whitespace. */
struct hparse_header {
    char *name;
    char *value;
};

enum hparse_body {
    HPARSE_BODY_NONE,        /* no body */
    HPARSE_BODY_LENGTH,      /* content_length bytes */
    HPARSE_BODY_CHUNKED,     /* chunked: decode with hparse_chunked() */
    HPARSE_BODY_UNTIL_CLOSE, /* a response read until the peer closes */
};

struct hparse_req {
    char *method;            /* "GET" - case-sensitive, as RFC 9110 says */
    char *path;              /* "/users/7" (the target up to '?'; from an
                                absolute-form target, the part after the
                                authority, "/" if none); "*" for OPTIONS *.
                                Still %-encoded, and may be decoded in place:
                                every string here is inside the head */
    char *query;             /* "a=1&b=2" after the '?', or "" */
    char *host;              /* the Host field (or the absolute-form
                                target's authority), "" if none */
    int minor;               /* HTTP/1.minor: 0 or 1 */
    int keep_alive;          /* may another request follow on this
                                connection (version and Connection) */
    int expect_continue;     /* Expect: 100-continue */
    enum hparse_body body;   /* NONE, LENGTH or CHUNKED ("Content-Length: 0"
                                is NONE) */
    uint64_t content_length; /* when body == HPARSE_BODY_LENGTH (> 0, at
                                most INT64_MAX); 0 otherwise */
    int nheaders;
    struct hparse_header headers[HPARSE_MAX_HEADERS];
};

/* Parse a request head of `len` bytes (as hparse_scan_head() measured it)
 * in place.  Takes at most max_headers fields (clamped to 0 ..
 * HPARSE_MAX_HEADERS; more is HPARSE_ETOOMANY).  Empty lines before the
 * request line are skipped; the head ends at the first empty line after it,
 * and any bytes after that are not looked at.  Returns 0, or a negative
 * HPARSE_E* code; on error *req is unspecified.  A request with several
 * faults gets the first error of: the request line (EBAD, EVERSION), the
 * field lines (EBAD, ETOOMANY), Host (EBAD), framing (EFRAMING, ECODING),
 * Expect (EEXPECT). */
int hparse_request(char *head, size_t len, int max_headers, struct hparse_req *req);

struct hparse_resp {
    int status;              /* 100..999 */
    char *reason;            /* "OK", or "" (also for "HTTP/1.1 200" with no
                                SP after the code, accepted though RFC 9112
                                section 4 requires the SP) */
    int minor;
    int keep_alive;          /* may another request use this connection
                                (version and Connection; 0 whenever the body
                                ends at close, or Transfer-Encoding came
                                with a Content-Length) */
    enum hparse_body body;   /* RFC 9112 6.3: NONE for HEAD, 1xx, 204, 304
                                and "Content-Length: 0"; CHUNKED when chunked
                                is the final coding; UNTIL_CLOSE for another
                                final coding or no framing field */
    uint64_t content_length; /* as in hparse_req */
    int nheaders;
    struct hparse_header headers[HPARSE_MAX_HEADERS];
};

/* Parse a response head in place.  `to_head` says the request was HEAD (so
 * there is no body, whatever the fields say).  Returns 0 or HPARSE_E*:
 * EFRAMING for a bad or disagreeing Content-Length (when it counts),
 * "chunked" listed twice, a malformed coding, or Transfer-Encoding in an
 * HTTP/1.0 response (RFC 9112 6.1: faulty framing).  Codings other than
 * chunked are not decoded, nor refused: look at the field. */
int hparse_response(char *head, size_t len, int max_headers, int to_head, struct hparse_resp *resp);

/* The value of the first field called `name` (ASCII case-insensitive), or
 * NULL. */
const char *hparse_get(const struct hparse_header *h, int n, const char *name);

/* ---- chunked bodies (RFC 9112 section 7.1) ---------------------------- */

struct hparse_chunked {
    int state;          /* where in the framing we are: zero to start */
    int digits;         /* hex digits of the size read so far */
    uint64_t left;      /* data bytes left in this chunk */
    size_t line;        /* bytes of the current extension or trailer line */
    size_t trailers;    /* bytes of trailer fields so far */
};

/* Decode chunked framing from in[0..n).  Sets *used to the bytes consumed,
 * and when some of them are body data, *data and *dlen to that data (inside
 * `in`; else NULL and 0); a call reports at most one stretch of data - it
 * reads framing up to the data, and stops right after the stretch - so call
 * again with the rest.  Returns 1 once the last chunk and the trailer
 * section are complete (the bytes after them, from in + *used on, are the
 * next message's), 0 when it needs more input, or HPARSE_ECHUNK (bad size,
 * missing CRLF, a line too long).  Byte-at-a-time input is fine.  Strict:
 * the size is 1 to 15 hex digits, with nothing before it and only BWS ";"
 * extensions after it; every line ends in CRLF, never a bare LF; a size
 * line may be 4096 bytes before its CRLF, the trailer section 8192 in all.
 * Trailer fields are skipped, not returned.  After 1 or an error it keeps
 * returning the same, consuming nothing. */
int hparse_chunked(struct hparse_chunked *c, const char *in, size_t n, size_t *used,
                   const char **data, size_t *dlen);

/* The HTTP status a server answers a parse error with (400 for an unknown
 * code), and a short description for logs. */
int hparse_status(int err);
const char *hparse_strerror(int err);

#endif
