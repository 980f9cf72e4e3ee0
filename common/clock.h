/* Time for timers and windows: monotonic, so a clock step never fires or delays them. */
#ifndef VLAB_CLOCK_H
#define VLAB_CLOCK_H

/* CLOCK_MONOTONIC in milliseconds. */
long long clock_now_ms(void);

#endif
