/* backoff.c: the idle back-off of every polling loop (like OVS's pmd-maxsleep): after a few
 * empty polls sleep, doubling from 1 us up to max_us; any work resets it. */
#include <sys/prctl.h>
#include <time.h>
#include "gs_priv.h"

#define GS_SPIN_POLLS 64

void gs_backoff_init(struct gs_backoff *b, bool busy, uint32_t max_us)
{
	b->idle = 0;
	b->sleep_us = 1;
	b->max_us = max_us ? max_us : 100;
	b->busy = busy;
}

void gs_backoff_step(struct gs_backoff *b, unsigned int work)
{
	if (work || b->busy) {
		b->idle = 0;
		b->sleep_us = 1;
		return;
	}
	if (++b->idle < GS_SPIN_POLLS)
		return;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)b->sleep_us * 1000};
	nanosleep(&ts, NULL);
	if (b->sleep_us < b->max_us)
		b->sleep_us = RTE_MIN(b->sleep_us * 2, b->max_us);
}

/* Per thread: a timer slack of 1 ns so that short sleeps stay short. */
void gs_thread_prepare(void)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}
