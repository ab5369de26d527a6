/* app.c: option parsing, start, stop and the JSON summary shared by gs-echo, gs-ping and
 * gs-udpperf. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include "app.h"

#define COMMON_USAGE                                                                               \
	"device options:\n"                                                                        \
	"  --dev SPEC        ethdev: PCI address or vdev spec (net_virtio_user0,path=SOCK)\n"      \
	"  --ip ADDR/PREFIX  this host's address, e.g. 10.0.0.2/24\n"                               \
	"  --mac MAC         MAC address to set on the device\n"                                   \
	"  --gw ADDR         default gateway\n"                                                    \
	"  --cores LIST      lcores, e.g. 0-2 (default: 1, 2 or 3 lcores by mode)\n"               \
	"  --mode MODE       single | 1kb (RX+TX dispatcher thread) | 2kb (RX and TX threads)\n"   \
	"  --busy-poll       no idle back-off (benchmarks)\n"                                      \
	"  --max-sleep US    idle back-off ceiling in microseconds (default 100)\n"               \
	"  --nb-desc N       NIC descriptors per queue (default 1024; with virtio_user also set\n" \
	"                    queue_size=N in --dev)\n"                                             \
	"  --symmetric       symmetric RSS key (both directions of a flow on one core)\n"         \
	"  --soft-rss        software RSS even if the device has enough queues\n"                  \
	"  --csum-offload    use the device's checksum offloads\n"                                 \
	"  --no-tso          no TCP segmentation offload nor large receive (default: used when\n"  \
	"                    the device has them)\n"                                               \
	"  --duration S      stop after S seconds\n"                                               \
	"  --json            print a JSON summary at exit\n"                                       \
	"  -h, --help        this text\n"                                                          \
	"  -- EAL-ARGS       EAL arguments, replacing the defaults of the same kind\n"

enum { O_DEV = 1000, O_IP, O_MAC, O_GW, O_CORES, O_MODE, O_BUSY, O_SLEEP, O_SYM, O_SOFT, O_CSUM,
       O_DURATION, O_JSON, O_DESC, O_NOTSO };
static const struct option common[] = {
	{"dev", required_argument, NULL, O_DEV},     {"ip", required_argument, NULL, O_IP},
	{"mac", required_argument, NULL, O_MAC},     {"gw", required_argument, NULL, O_GW},
	{"cores", required_argument, NULL, O_CORES}, {"mode", required_argument, NULL, O_MODE},
	{"busy-poll", no_argument, NULL, O_BUSY},    {"max-sleep", required_argument, NULL, O_SLEEP},
	{"symmetric", no_argument, NULL, O_SYM},     {"soft-rss", no_argument, NULL, O_SOFT},
	{"csum-offload", no_argument, NULL, O_CSUM}, {"duration", required_argument, NULL, O_DURATION},
	{"json", no_argument, NULL, O_JSON},	     {"help", no_argument, NULL, 'h'},
	{"nb-desc", required_argument, NULL, O_DESC},	     {"no-tso", no_argument, NULL, O_NOTSO},
};

void gs_app_die(const struct gs_app *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", a->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

uint32_t gs_app_ip(const struct gs_app *a, const char *opt, const char *s)
{
	uint32_t ip;

	if (gs_parse_ipv4(s, &ip, NULL) < 0)
		gs_app_die(a, "bad %s '%s': want an IPv4 address", opt, s);
	return ip;
}

static double number(const struct gs_app *a, const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0)
		gs_app_die(a, "bad %s '%s': want a number >= 0", opt, s);
	return v;
}

void gs_app_parse(struct gs_app *a, int argc, char **argv, const struct option *extra,
		  gs_app_opt_fn opt, void *ctx)
{
	struct option all[64];
	unsigned int n = 0;
	int c;

	for (unsigned int i = 0; i < RTE_DIM(common); i++)
		all[n++] = common[i];
	for (; extra && extra->name && n < RTE_DIM(all) - 1; extra++)
		all[n++] = *extra;
	memset(&all[n], 0, sizeof(all[n]));
	a->conf.mode = GS_MODE_SINGLE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: %s [OPTIONS] [-- EAL-ARGS]\n%s\n%s", a->name, a->usage,
			       COMMON_USAGE);
			exit(0);
		case O_DEV:
			a->conf.dev = optarg;
			break;
		case O_IP:
			if (gs_parse_ipv4(optarg, &a->conf.ip, &a->conf.prefix) < 0 || !a->conf.ip)
				gs_app_die(a, "bad --ip '%s': want ADDR/PREFIX, e.g. 10.0.0.2/24",
					   optarg);
			break;
		case O_MAC:
			if (rte_ether_unformat_addr(optarg, &a->conf.mac) < 0)
				gs_app_die(a, "bad --mac '%s': want xx:xx:xx:xx:xx:xx", optarg);
			a->conf.mac_set = true;
			break;
		case O_GW:
			a->conf.gw = gs_app_ip(a, "--gw", optarg);
			break;
		case O_CORES:
			a->cores = optarg;
			break;
		case O_MODE:
			if (gs_mode_parse(optarg, &a->conf.mode) < 0)
				gs_app_die(a, "unknown --mode '%s': want single, 1kb or 2kb", optarg);
			break;
		case O_BUSY:
			a->conf.busy_poll = true;
			break;
		case O_SLEEP:
			a->conf.max_sleep_us = (unsigned int)number(a, "--max-sleep", optarg);
			break;
		case O_DESC:
			a->conf.nb_desc = (unsigned int)number(a, "--nb-desc", optarg);
			break;
		case O_SYM:
			a->conf.symmetric_rss = true;
			break;
		case O_SOFT:
			a->conf.soft_rss = true;
			break;
		case O_CSUM:
			a->conf.csum_offload = true;
			break;
		case O_NOTSO:
			a->conf.no_tso = true;
			break;
		case O_DURATION:
			a->duration = number(a, "--duration", optarg);
			break;
		case O_JSON:
			a->json = true;
			break;
		case '?':
			gs_app_die(a, "unknown or incomplete option '%s' (see --help)",
				   argv[optind - 1]);
		default:
			if (!opt || opt(c, optarg, ctx) < 0)
				gs_app_die(a, "bad option '%s' (see --help)", argv[optind - 1]);
		}
	}
	/* getopt_long permutes: what follows "--" are EAL arguments. */
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		gs_app_die(a, "unexpected argument '%s' (EAL arguments go after --)", argv[optind]);
	a->eal_argc = argc - optind;
	a->eal_argv = argv + optind;
	if (!a->conf.dev)
		gs_app_die(a, "missing --dev (e.g. --dev net_virtio_user0,path=/tmp/vsw.sock)");
	if (!a->conf.ip)
		gs_app_die(a, "missing --ip (e.g. --ip 10.0.0.2/24)");
	if (!a->cores)
		a->cores = a->conf.mode == GS_MODE_SINGLE ? "0"
			   : a->conf.mode == GS_MODE_1KB  ? "0-1"
							  : "0-2";
}

static void on_signal(int sig)
{
	(void)sig;
	gs_stop();
}

void gs_app_start(struct gs_app *a)
{
	struct sigaction sa = {.sa_handler = on_signal};
	static char dev[1024];

	/* virtio_user takes its MAC as a devarg (it has no control queue to set one later). */
	if (a->conf.mac_set && strncmp(a->conf.dev, "net_virtio_user", 15) == 0 &&
	    !strstr(a->conf.dev, "mac=")) {
		snprintf(dev, sizeof(dev), "%s,mac=" RTE_ETHER_ADDR_PRT_FMT, a->conf.dev,
			 RTE_ETHER_ADDR_BYTES(&a->conf.mac));
		a->conf.dev = dev;
		a->conf.mac_set = false;
	}

	rte_openlog_stream(stderr);
	if (gs_eal_init(a->name, a->conf.dev, a->cores, a->eal_argc, a->eal_argv) < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", a->name, rte_strerror(rte_errno));
		gs_eal_cleanup();
		exit(1);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = gs_init(&a->conf);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot start the stack on %s: %s\n", a->name, a->conf.dev,
			strerror(-rc));
		gs_fini();
		gs_eal_cleanup();
		exit(1);
	}
}

/* Called once per loop iteration by every tool. It reads the clock once every 64 calls: a
 * read (rdtsc) costs about 25 ns on these VMs, a tenth of a small RPC's round on one core. */
bool gs_app_go(const struct gs_app *a, uint64_t start_tsc)
{
	static __thread unsigned int calls;

	if (!gs_running())
		return false;
	if (a->duration <= 0 || (++calls & 63) != 0)
		return true;
	return rte_get_tsc_cycles() - start_tsc < (uint64_t)(a->duration * (double)rte_get_tsc_hz());
}

double gs_app_seconds(uint64_t tsc)
{
	return (double)tsc / (double)rte_get_tsc_hz();
}

unsigned int gs_app_quantile(const uint64_t *hist, unsigned int nb, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;

	for (unsigned int b = 0; b < nb; b++)
		if ((seen += hist[b]) > want || (seen == n && hist[b]))
			return b;
	return 0;
}

int gs_app_wait_neigh(struct gs_worker *w, uint32_t dst, double secs)
{
	uint64_t t0 = rte_get_tsc_cycles();
	int rc;

	/* ARP retries, then a hold-down after failure: keep asking for a while */
	while ((rc = gs_neigh_resolve(w, dst)) < 0 && gs_running() &&
	       gs_app_seconds(rte_get_tsc_cycles() - t0) < secs) {
		gs_poll(w);
		gs_idle(w, 0);
	}
	return rc;
}

static json_t *counters(const uint64_t *c, bool all)
{
	json_t *o = json_object();

	for (unsigned int i = 0; i < GS_C_MAX; i++)
		if (all || c[i])
			json_object_set_new(o, gs_ctr_name(i), json_integer((json_int_t)c[i]));
	return o;
}

void gs_app_json_stack(json_t *o)
{
	uint64_t c[GS_C_MAX], drops = 0;
	struct rte_eth_stats st;
	json_t *per = json_array();
	const char *role;
	unsigned int lcore;

	gs_stats_total(c);
	for (unsigned int i = 0; i < GS_C_MAX; i++)
		drops += gs_ctr_is_drop(i) ? c[i] : 0;
	json_object_set_new(o, "counters", counters(c, true));
	json_object_set_new(o, "drops", json_integer((json_int_t)drops));
	for (unsigned int s = 0; s < gs_stats_sources(); s++) {
		gs_stats_get(s, c, &role, &lcore);
		json_t *e = counters(c, false);
		json_object_set_new(e, "role", json_string(role));
		json_object_set_new(e, "lcore", json_integer(lcore));
		json_array_append_new(per, e);
	}
	json_object_set_new(o, "per_core", per);
	if (rte_eth_stats_get(gs_port(), &st) == 0)
		json_object_set_new(o, "eth",
				    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "ipackets",
					      (json_int_t)st.ipackets, "opackets", (json_int_t)st.opackets,
					      "imissed", (json_int_t)st.imissed, "ierrors",
					      (json_int_t)st.ierrors, "oerrors", (json_int_t)st.oerrors,
					      "rx_nombuf", (json_int_t)st.rx_nombuf));
}

int gs_app_finish(struct gs_app *a, json_t *o, int rc)
{
	if (o && a->json) {
		json_object_set_new(o, "tool", json_string(a->name));
		json_object_set_new(o, "mode", json_string(gs_mode_name(a->conf.mode)));
		json_object_set_new(o, "workers", json_integer(gs_worker_count()));
		gs_app_json_stack(o);
	}
	unsigned int leaked = gs_fini();
	if (o && a->json) {
		json_object_set_new(o, "mbufs_leaked", json_integer(leaked));
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
	}
	json_decref(o);
	gs_eal_cleanup();
	return rc;
}
