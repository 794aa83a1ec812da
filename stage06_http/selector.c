/*
 * selector.c - choosing a backend, and the one helper they share.
 */
#include "selector.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEL_DEFAULT
#define SEL_DEFAULT "select" /* make SELECTOR=poll|epoll changes it */
#endif

static const struct sel_ops *const backends[] = {
    &sel_select_ops,
    &sel_poll_ops,
#ifdef __linux__
    &sel_epoll_ops,
#endif
};

const struct sel_ops *sel_find(const char *name)
{
    if (!name || !*name) {
        name = getenv("ASYNC_SELECTOR");
        if (!name || !*name)
            name = SEL_DEFAULT;
    }
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int sel_timeout_ms(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return -1;
    int64_t ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}
