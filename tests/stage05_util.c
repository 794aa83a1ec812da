/*
 * stage05_util.c - the helpers the stage-5 test files share (declared in
 * stage05_util.h).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stage05_util.h"

TCase *s5_case(Suite *s, const char *name) { return s4_case(s, name); }

const char *s5_err(int err)
{
    static char other[8][24];
    static unsigned next;
    switch (err) {
    case 0: return "ok";
    case -ECANCELED: return "ECANCELED";
    case -ETIMEDOUT: return "ETIMEDOUT";
    case -EPERM: return "EPERM";
    case -EDEADLK: return "EDEADLK";
    case -EAGAIN: return "EAGAIN";
    case -EOVERFLOW: return "EOVERFLOW";
    case -EBUSY: return "EBUSY";
    case -EINVAL: return "EINVAL";
    case -EIO: return "EIO";
    case -ENOMEM: return "ENOMEM";
    case TASK_ENOLOOP: return "ENOLOOP";
    default: {
        char *b = other[next++ % 8];
        snprintf(b, sizeof other[0], "%d", err);
        return b;
    }
    }
}

size_t s5_lot_len(const struct lot *lot)
{
    size_t n = 0;
    for (const struct list *p = lot->tasks.next; p != &lot->tasks; p = p->next)
        n++;
    return n;
}

task_t *s5_lot_at(const struct lot *lot, size_t i)
{
    for (struct list *p = lot->tasks.next; p != &lot->tasks; p = p->next)
        if (i-- == 0)
            return list_entry(p, task_t, link);
    return NULL;
}

task_t *s5_named(task_t *t, const char *name)
{
    ck_assert_ptr_nonnull(t);
    t->name = name;
    return t;
}

const char *s5_lot_names(const struct lot *lot)
{
    static char bufs[4][512]; /* several may be in one ev() call */
    static unsigned next;
    char *buf = bufs[next++ % 4];
    const size_t size = sizeof bufs[0];
    size_t n = 0;
    buf[0] = '\0';
    for (struct list *p = lot->tasks.next; p != &lot->tasks && n + 1 < size; p = p->next) {
        const task_t *t = list_entry(p, task_t, link);
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", t->name);
    }
    return buf;
}

int s5_count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    int self = dirfd(d); /* reading /proc/self/fd lists this one too */
    char me[16];
    snprintf(me, sizeof me, "%d", self);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, me) == 0 && strstr(path, "/fd"))
            continue;
        n++;
    }
    closedir(d);
    return n;
}

void s5_pipe(int fds[2])
{
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
    ck_assert_int_eq(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
}

uint32_t s5_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

uint32_t s5_below(uint64_t *state, uint32_t n) { return n ? s5_rand(state) % n : 0; }
