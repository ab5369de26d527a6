/* vswd: options, EAL start, PMD launch, the control loop, and a clean stop. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "vswd.h"

struct vsw_switch vsw = {.lock = PTHREAD_MUTEX_INITIALIZER};
int vsw_logtype;

static char file_prefix[64] = "vswd";
static char log_level[64];
static unsigned socket_mem = 512;
static int exit_code;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vswd [OPTIONS] [-- EAL-ARGS]\n"
		"  --ctl PATH            control socket (default /run/vswkit/vswd.sock)\n"
		"  --config FILE         startup commands in the vswctl language, one a line\n"
		"  --cores LIST          CPUs for PMD threads, e.g. 1 or 1,2 or 1-3 (default: the last CPU)\n"
		"  --socket-mem MB       hugepage memory (default 512)\n"
		"  --file-prefix NAME    DPDK runtime and hugepage file prefix (default vswd)\n"
		"  --log-level LEVEL     EAL log level: error, warning, notice, info, debug, or TYPE:LEVEL\n"
		"  --pmd-maxsleep US     longest idle sleep of a PMD, 0 = always busy-poll (default 200)\n"
		"  --fdb-size N          MAC table entries (default 8192)\n"
		"  --fdb-port-limit N    learned entries per port, 0 = no limit (default 0)\n"
		"  --fdb-aging S         seconds before an idle entry goes, 0 = never (default 300)\n"
		"  --mtu N               largest IP packet forwarded (default 1500)\n"
		"  --mbufs N             packet buffers in the pool (default 16383)\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this text\n");
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("vswd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned num(const char *opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
		die("bad %s '%s': a number from 0 to %u", opt, s, max);
	return (unsigned)v;
}

static void parse_cores(const char *s)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	vsw.cfg.n_pmds = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		unsigned lo, hi;

		if (dash != NULL)
			*dash = '\0';
		lo = num("--cores", tok, 1023);
		hi = dash ? num("--cores", dash + 1, 1023) : lo;
		if (hi < lo)
			die("bad --cores '%s': a range goes up", s);
		for (unsigned c = lo; c <= hi; c++) {
			if (vsw.cfg.n_pmds == VSW_MAX_PMDS)
				die("bad --cores '%s': at most %d PMD cores", s, VSW_MAX_PMDS);
			vsw.cfg.pmd_cpus[vsw.cfg.n_pmds++] = c;
		}
	}
	if (vsw.cfg.n_pmds == 0)
		die("bad --cores '%s': no CPU", s);
}

static int parse_args(int argc, char **argv)
{
	enum { O_CTL = 256, O_CONFIG, O_CORES, O_MEM, O_PREFIX, O_LOG, O_SLEEP, O_FDB_SIZE,
	       O_FDB_LIMIT, O_FDB_AGING, O_MTU, O_MBUFS };
	static const struct option opts[] = {
		{"ctl", 1, 0, O_CTL}, {"config", 1, 0, O_CONFIG}, {"cores", 1, 0, O_CORES},
		{"socket-mem", 1, 0, O_MEM}, {"file-prefix", 1, 0, O_PREFIX},
		{"log-level", 1, 0, O_LOG}, {"pmd-maxsleep", 1, 0, O_SLEEP},
		{"fdb-size", 1, 0, O_FDB_SIZE}, {"fdb-port-limit", 1, 0, O_FDB_LIMIT},
		{"fdb-aging", 1, 0, O_FDB_AGING}, {"mtu", 1, 0, O_MTU}, {"mbufs", 1, 0, O_MBUFS},
		{"version", 0, 0, 'V'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	snprintf(vsw.cfg.ctl_path, sizeof(vsw.cfg.ctl_path), "/run/vswkit/vswd.sock");
	vsw.cfg.n_pmds = 1;
	vsw.cfg.pmd_cpus[0] = ncpu > 1 ? (unsigned)ncpu - 1 : 0;
	vsw.cfg.pmd_maxsleep_us = 200;
	vsw.cfg.fdb_size = 8192;
	vsw.cfg.fdb_aging_s = 300;
	vsw.cfg.mtu = 1500;
	vsw.cfg.nb_mbufs = 16383;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case O_CTL: snprintf(vsw.cfg.ctl_path, sizeof(vsw.cfg.ctl_path), "%s", optarg); break;
		case O_CONFIG: snprintf(vsw.cfg.config_path, sizeof(vsw.cfg.config_path), "%s", optarg); break;
		case O_CORES: parse_cores(optarg); break;
		case O_MEM: socket_mem = num("--socket-mem", optarg, 1 << 20); break;
		case O_PREFIX: snprintf(file_prefix, sizeof(file_prefix), "%s", optarg); break;
		case O_LOG: snprintf(log_level, sizeof(log_level), "%s", optarg); break;
		case O_SLEEP: vsw.cfg.pmd_maxsleep_us = num("--pmd-maxsleep", optarg, 100000); break;
		case O_FDB_SIZE: vsw.cfg.fdb_size = num("--fdb-size", optarg, 1 << 24); break;
		case O_FDB_LIMIT: vsw.cfg.fdb_port_limit = num("--fdb-port-limit", optarg, 1 << 24); break;
		case O_FDB_AGING: vsw.cfg.fdb_aging_s = num("--fdb-aging", optarg, 1000000); break;
		case O_MTU: vsw.cfg.mtu = num("--mtu", optarg, 9600); break;
		case O_MBUFS: vsw.cfg.nb_mbufs = num("--mbufs", optarg, 1 << 22); break;
		case 'V': printf("vswd %s\n", VSWKIT_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default:
			die("unknown option '%s' (see vswd --help)", argv[optind - 1]);
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		die("unexpected argument '%s' (EAL arguments go after --)", argv[optind]);
	if (vsw.cfg.fdb_size == 0 || socket_mem < 64 || vsw.cfg.mtu < 68 || vsw.cfg.nb_mbufs < 1024)
		die("bad sizes: --fdb-size > 0, --socket-mem >= 64, --mtu >= 68, --mbufs >= 1024");
	return optind;
}

/* EAL arguments: lcore 0 (control) on the CPUs no PMD uses, lcore i+1 on PMD CPU i; PCI scan on
 * but an allow list nobody matches, so vswd takes only the devices it is told to add. */
static int eal_args(char **out, int max, char **extra, int n_extra)
{
	static char lcores[1024], mem[32], prefix[80], level[80];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t off;
	int n = 0;

	off = (size_t)snprintf(lcores, sizeof(lcores), "0@(");
	for (long cpu = 0, first = 1; cpu < ncpu; cpu++) {
		bool pmd = false;

		for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
			pmd |= vsw.cfg.pmd_cpus[i] == cpu;
		if (pmd && ncpu > (long)vsw.cfg.n_pmds)
			continue;
		off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, "%s%ld", first ? "" : ",", cpu);
		first = 0;
	}
	off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, ")");
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
		off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, ",%u@%u", i + 1,
					vsw.cfg.pmd_cpus[i]);
	out[n++] = "vswd";
	out[n++] = "--lcores";
	out[n++] = lcores;
	snprintf(mem, sizeof(mem), "%u", socket_mem);
	out[n++] = access("/sys/devices/system/node/node0", F_OK) == 0 ? "--socket-mem" : "-m";
	out[n++] = mem;
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", file_prefix);
	out[n++] = prefix;
	out[n++] = "-a";
	out[n++] = "0000:00:00.0";
	if (log_level[0] != '\0') {
		snprintf(level, sizeof(level), "--log-level=%s", log_level);
		out[n++] = level;
	}
	for (int i = 0; i < n_extra && n < max - 1; i++)
		out[n++] = extra[i];
	out[n] = NULL;
	return n;
}

static void on_signal(int sig)
{
	(void)sig;
	vsw.stop = true;
}

static void run_config(void)
{
	char err[VSW_ERR_LEN], *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f;

	if (vsw.cfg.config_path[0] == '\0')
		return;
	f = fopen(vsw.cfg.config_path, "r");
	if (f == NULL) {
		fprintf(stderr, "vswd: cannot read %s: %s\n", vsw.cfg.config_path, strerror(errno));
		vsw.stop = true;
		exit_code = 1;
		return;
	}
	while (!vsw.stop && getline(&line, &cap, f) != -1) {
		json_t *out;

		lineno++;
		if (vsw_cmd_line(line, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "vswd: %s:%u: %s\n", vsw.cfg.config_path, lineno, err);
			vsw.stop = true;
			exit_code = 1;
		}
		json_decref(out);
	}
	free(line);
	fclose(f);
}

/* Hugepage files and the runtime directory of our file prefix: nothing stays behind. */
static void remove_runtime_files(void)
{
	char path[PATH_MAX + 300], prefix[80];
	const char *dirs[] = {"/dev/hugepages", rte_eal_get_runtime_dir()};
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "%smap_", file_prefix);

	for (unsigned d = 0; d < RTE_DIM(dirs); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		if (dir == NULL)
			continue;
		while ((e = readdir(dir)) != NULL) {
			if (e->d_name[0] == '.' || (d == 0 && strncmp(e->d_name, prefix, plen) != 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(rte_eal_get_runtime_dir());
}

static int setup(void)
{
	struct vsw_fdb_params fp;
	unsigned lcore, i = 0;

	vsw.max_frame = vsw.cfg.mtu + RTE_ETHER_HDR_LEN + 4 /* one VLAN tag */;
	vsw.pool = rte_pktmbuf_pool_create("vsw_mbufs", vsw.cfg.nb_mbufs, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (vsw.pool == NULL)
		return -ENOMEM;
	if (vsw_dp_init() != 0)
		return -ENOMEM;
	fp = (struct vsw_fdb_params){.size = vsw.cfg.fdb_size, .port_limit = vsw.cfg.fdb_port_limit,
				     .aging_s = vsw.cfg.fdb_aging_s, .max_ports = VSW_MAX_PORTS,
				     .qsbr = vsw.qsbr};
	vsw.fdb = vsw_fdb_create("vsw_fdb", &fp);
	if (vsw.fdb == NULL)
		return -ENOMEM;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		vsw.pmds[i] = (struct vsw_pmd){.lcore = lcore, .index = i};
		if (rte_eal_remote_launch(vsw_pmd_main, &vsw.pmds[i], lcore) != 0)
			return -EIO;
		i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *eal[128], err[VSW_ERR_LEN], *dir;
	int first = parse_args(argc, argv), n;
	uint64_t hz, next_tick = 0, last_age = 0;
	unsigned lcore;

	if (vsw_ctl_check(vsw.cfg.ctl_path, err, sizeof(err)) != 0)
		die("%s", err);
	n = eal_args(eal, (int)RTE_DIM(eal), argv + first, argc - first);
	if (rte_eal_init(n, eal) < 0)
		die("cannot start DPDK: %s", rte_strerror(rte_errno));
	vsw_logtype = rte_log_register_type_and_pick_level("vswd", RTE_LOG_INFO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (rte_lcore_count() != vsw.cfg.n_pmds + 1 || setup() != 0) {
		fprintf(stderr, "vswd: cannot set up the switch (hugepage memory? see --socket-mem)\n");
		vsw.stop = true;
		exit_code = 1;
	}
	rte_pdump_init();
	vsw_telemetry_init();
	pthread_mutex_lock(&vsw.lock);
	if (!vsw.stop)
		run_config();
	pthread_mutex_unlock(&vsw.lock);
	dir = strdup(vsw.cfg.ctl_path);
	if (strrchr(dir, '/') != NULL && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		mkdir(dir, 0750);
	}
	free(dir);
	if (!vsw.stop && vsw_ctl_open(vsw.cfg.ctl_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "vswd: %s\n", err);
		vsw.stop = true;
		exit_code = 1;
	}
	if (!vsw.stop)
		VSW_LOG(NOTICE, "ready on %s\n", vsw.cfg.ctl_path);
	/* Links, vhost queue state and FDB aging on their own 100 ms tick; the control socket
	 * between ticks never waits on a client (ctl.c). */
	hz = rte_get_timer_hz();
	while (!vsw.stop) {
		uint64_t t = rte_get_timer_cycles();

		if (t >= next_tick) {
			uint64_t now = vsw_now_s();

			pthread_mutex_lock(&vsw.lock);
			vsw_ports_poll_link();
			if (now != last_age) {
				vsw_fdb_age(vsw.fdb, now);
				last_age = now;
			}
			pthread_mutex_unlock(&vsw.lock);
			next_tick = t + hz / 10;
		}
		t = rte_get_timer_cycles();
		vsw_ctl_poll(next_tick > t ? (int)((next_tick - t) * 1000 / hz) + 1 : 0);
	}
	VSW_LOG(NOTICE, "stopping\n");
	vsw_ctl_close();
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (rte_eal_wait_lcore(lcore) < 0)
			exit_code = 1;
	}
	pthread_mutex_lock(&vsw.lock);
	vsw_port_del_all();
	vsw.closed = true; /* telemetry, on its own thread, stops looking */
	pthread_mutex_unlock(&vsw.lock);
	rte_pdump_uninit();
	vsw_fdb_free(vsw.fdb);
	vsw_dp_fini();
	rte_mempool_free(vsw.pool);
	rte_eal_cleanup();
	remove_runtime_files();
	return exit_code;
}
