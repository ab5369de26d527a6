/* app.h: what the gs tools share: device options, EAL start, signals, the JSON summary. */
#ifndef GS_APP_H
#define GS_APP_H

#include <getopt.h>
#include <jansson.h>
#include "gstack.h"

struct gs_app {
	const char *name, *usage; /* usage: the tool's own options, one per line */
	struct gs_conf conf;
	const char *cores;
	bool json;
	double duration; /* seconds, 0: until SIGINT/SIGTERM */
	int eal_argc;
	char **eal_argv;
};

/* Parses the common options and, through opt(), the tool's own (`extra`, getopt_long values
 * >= 256).  Exits 0 on --help, 2 with one line on stderr on bad input. */
typedef int (*gs_app_opt_fn)(int opt, const char *arg, void *ctx);
void gs_app_parse(struct gs_app *a, int argc, char **argv, const struct option *extra,
		  gs_app_opt_fn opt, void *ctx);
/* EAL with the tools' defaults, the stack, SIGINT/SIGTERM -> gs_stop(); exits 1 on failure. */
void gs_app_start(struct gs_app *a);
/* Adds the stack's counters, per-core counters and the device's statistics to o. */
void gs_app_json_stack(json_t *o);
/* Stops the stack and the EAL; prints o (when --json) with the stack's counters and the mbufs
 * never given back ("mbufs_leaked"); returns rc for main(). */
int gs_app_finish(struct gs_app *a, json_t *o, int rc);
void gs_app_die(const struct gs_app *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* A worker loop's stop condition: gs_running() and within --duration. */
bool gs_app_go(const struct gs_app *a, uint64_t start_tsc);
double gs_app_seconds(uint64_t tsc);
/* The bucket holding quantile q of n samples counted in hist[0..nb). */
unsigned int gs_app_quantile(const uint64_t *hist, unsigned int nb, uint64_t n, double q);
/* Polls until dst's next hop answers ARP (0) or secs pass (negative errno). */
int gs_app_wait_neigh(struct gs_worker *w, uint32_t dst, double secs);
uint32_t gs_app_ip(const struct gs_app *a, const char *opt, const char *s);

#endif
