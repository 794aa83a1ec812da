/*
 * sleep.h - asyncio.sleep for tasks.
 *
 * A sleeping task is parked like any other; what wakes it is its timer,
 * which the loop fires once the deadline has passed.  Cancelling a sleep
 * takes its timer out of the heap at once.
 */
#ifndef SLEEP_H
#define SLEEP_H

#include <stdint.h>

/* Operations to AWAIT.  The value is 0; cancelled, -ECANCELED. */
int sleep_ms(uint64_t ms);
/* Until the loop's clock (loop_time_ns) reaches `deadline`. */
int sleep_until(uint64_t deadline_ns);

#endif
