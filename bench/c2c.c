/* c2c: how far apart two CPUs are right now. Two threads pinned to CPU A and CPU B pass one
 * cache line back and forth for --ms milliseconds; prints the median round trip in ns as JSON.
 * On these hosts the vCPUs move: the same pair measures ~40 ns at one time and ~200 ns at
 * another, and every switch's figures move with it (DESIGN.md), so vsw-bench probes beside
 * each sample and labels the sample with it.
 *
 * usage: c2c [CPU_A CPU_B [MS]]      (default 0 1 20) */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 1000 /* round trips per timed batch */
#define MAX_BATCHES 4096

/* the line alone in its cache line: nothing else moves with it */
static struct {
	_Alignas(64) _Atomic uint64_t v;
	char pad[64 - sizeof(uint64_t)];
} cl;
static _Atomic int started; /* the responder: 1 pinned, -1 could not pin */

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The responder: answers each odd value with the next even one; 0 ends it. */
static void *responder(void *arg)
{
	if (pin(*(int *)arg) != 0) {
		atomic_store(&started, -1);
		return NULL;
	}
	atomic_store(&started, 1);
	for (;;) {
		uint64_t v = atomic_load_explicit(&cl.v, memory_order_acquire);
		if (v == UINT64_MAX)
			return NULL;
		if (v & 1)
			atomic_store_explicit(&cl.v, v + 1, memory_order_release);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int a = argc > 2 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 1;
	double ms = argc > 3 ? atof(argv[3]) : 20;
	static double batch[MAX_BATCHES];
	pthread_t t;
	int n = 0;

	if (argc == 2 || argc > 4 || ms <= 0 || pin(a) != 0 ||
	    pthread_create(&t, NULL, responder, &b) != 0) {
		fprintf(stderr, "c2c: usage: c2c [CPU_A CPU_B [MS]] (two CPUs this process may use)\n");
		return 1;
	}
	while (atomic_load(&started) == 0)
		;
	if (atomic_load(&started) < 0) {
		pthread_join(t, NULL);
		fprintf(stderr, "c2c: cannot pin to CPU %d\n", b);
		return 1;
	}
	uint64_t end = now_ns() + (uint64_t)(ms * 1e6), v = 0;
	while (n < MAX_BATCHES && now_ns() < end) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < ROUNDS; i++) {
			atomic_store_explicit(&cl.v, ++v, memory_order_release); /* odd: a ping */
			while (atomic_load_explicit(&cl.v, memory_order_acquire) != v + 1)
				;
			v++;
		}
		batch[n++] = (double)(now_ns() - t0) / ROUNDS;
	}
	atomic_store(&cl.v, UINT64_MAX);
	pthread_join(t, NULL);
	if (n == 0) {
		fprintf(stderr, "c2c: no round trip finished in %g ms (the CPUs are busy)\n", ms);
		return 1;
	}
	qsort(batch, n, sizeof(batch[0]), cmp);
	printf("{\"cpus\": [%d, %d], \"rtt_ns\": %.1f, \"batches\": %d}\n", a, b, batch[n / 2], n);
	return 0;
}
