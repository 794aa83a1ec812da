/*
 * stage05_util.c - the helpers the stage-5 test files share (declared in
 * stage05_util.h).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage05_util.h"

extern char **environ;

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

/* ---- running a program ------------------------------------------------------ */

char **s5_quiet_environ(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    ck_assert_ptr_nonnull(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ASYNC_TRACE=", 12) != 0 &&
            strncmp(environ[i], "ASYNC_DEBUG=", 12) != 0 &&
            strncmp(environ[i], "ASYNC_SLOW_MS=", 14) != 0)
            env[k++] = environ[i];
    return env;
}

struct s5_output s5_run_program(const char *dir, const char *name, const char *const args[])
{
    char path[512];
    char *argv[16];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    argv[n++] = path;
    for (; args && args[n - 1]; n++) {
        ck_assert_uint_lt(n, sizeof argv / sizeof argv[0] - 1);
        argv[n] = (char *)(uintptr_t)args[n - 1]; /* posix_spawn's type; it does not write */
    }
    argv[n] = NULL;

    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_gt(p[1], 2); /* 0..2 are open: the dup2s cannot clash */
    posix_spawn_file_actions_t fa;
    ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    char **env = s5_quiet_environ();
    pid_t pid;
    int err = posix_spawn(&pid, path, &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(p[1]);
    if (err != 0) {
        close(p[0]);
        ck_abort_msg("cannot run %s: %s (run the tests from the repository root, "
                     "after building the examples)", path, strerror(err));
    }

    struct s5_output o = {0};
    size_t cap = 4096;
    o.text = malloc(cap);
    ck_assert_ptr_nonnull(o.text);
    for (;;) {
        if (cap - o.len < 1024) {
            cap *= 2;
            o.text = realloc(o.text, cap);
            ck_assert_ptr_nonnull(o.text);
        }
        ssize_t r = read(p[0], o.text + o.len, cap - o.len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        o.len += (size_t)r;
    }
    o.text[o.len] = '\0';
    close(p[0]);
    while (waitpid(pid, &o.status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    return o;
}

void s5_assert_exit_0(const char *name, const struct s5_output *o)
{
    ck_assert_msg(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0,
                  "%s: %s %d; its output:\n%s", name,
                  WIFEXITED(o->status) ? "exit status" : "killed by signal",
                  WIFEXITED(o->status) ? WEXITSTATUS(o->status) : WTERMSIG(o->status),
                  o->text);
}

/* Compare line by line, so a failure names the first line that differs. */
void s5_assert_same_text(const char *name, const char *got, const char *want)
{
    int line = 1;
    const char *g = got, *w = want;
    while (*g && *w) {
        size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
        if (gl != wl || memcmp(g, w, gl) != 0)
            ck_abort_msg("%s, line %d:\n  want: %.*s\n  got:  %.*s\nwhole output:\n%s",
                         name, line, (int)wl, w, (int)gl, g, got);
        g += gl + (g[gl] == '\n');
        w += wl + (w[wl] == '\n');
        line++;
    }
    if (*g || *w)
        ck_abort_msg("%s, line %d: %s\nwhole output:\n%s", name, line,
                     *g ? "more output than expected" : "output ends early", got);
}
