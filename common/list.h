/*
 * list.h - an intrusive, circular, doubly linked list.
 *
 * "Intrusive" means the links live inside the element (a `struct list` member
 * of the task, say), so putting an element on a list never allocates, and an
 * element can take itself off in O(1) without knowing which list it is on.
 * An empty list, and an element on no list, point at themselves.
 */
#ifndef LIST_H
#define LIST_H

#include <stddef.h>

struct list {
    struct list *prev, *next;
};

/* From a pointer to the `member` link back to the struct that contains it. */
#define list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list *l) { l->prev = l->next = l; }

static inline int list_empty(const struct list *l) { return l->next == l; }

static inline void list_append(struct list *head, struct list *item)
{
    item->prev = head->prev;
    item->next = head;
    head->prev->next = item;
    head->prev = item;
}

/* Safe on an element that is on no list (it points at itself). */
static inline void list_remove(struct list *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    item->prev = item->next = item;
}

static inline struct list *list_first(const struct list *head)
{
    return list_empty(head) ? NULL : head->next;
}

#endif
