/* vswd: options, EAL start, PMD launch, the control loop, and a clean stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <mntent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "vswd.h"

struct vsw_switch vsw = {.lock = PTHREAD_MUTEX_INITIALIZER, .link_lock = PTHREAD_MUTEX_INITIALIZER};
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
		"  --ctl-group NAME      group of the control socket (mode 0660): who may run vswctl\n"
		"  --vhost-dir DIR       where server-mode vhost sockets may live; repeatable, a bare\n"
		"                        path=NAME goes in the first (default /run/vswkit/vhost)\n"
		"  --file-dir DIR        where vdev files (pcap rx_pcap=, tx_pcap=) may be; repeatable\n"
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
	       O_FDB_LIMIT, O_FDB_AGING, O_MTU, O_MBUFS, O_GROUP, O_VHOST_DIR, O_FILE_DIR };
	static const struct option opts[] = {
		{"ctl", 1, 0, O_CTL}, {"config", 1, 0, O_CONFIG}, {"cores", 1, 0, O_CORES},
		{"socket-mem", 1, 0, O_MEM}, {"file-prefix", 1, 0, O_PREFIX},
		{"log-level", 1, 0, O_LOG}, {"pmd-maxsleep", 1, 0, O_SLEEP},
		{"fdb-size", 1, 0, O_FDB_SIZE}, {"fdb-port-limit", 1, 0, O_FDB_LIMIT},
		{"fdb-aging", 1, 0, O_FDB_AGING}, {"mtu", 1, 0, O_MTU}, {"mbufs", 1, 0, O_MBUFS},
		{"ctl-group", 1, 0, O_GROUP}, {"vhost-dir", 1, 0, O_VHOST_DIR},
		{"file-dir", 1, 0, O_FILE_DIR}, {"version", 0, 0, 'V'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	int c;

	snprintf(vsw.cfg.ctl_path, sizeof(vsw.cfg.ctl_path), "/run/vswkit/vswd.sock");
	vsw.cfg.ctl_gid = -1;
	vsw.cfg.n_pmds = 0; /* no --cores: the last allowed CPU, see lcores_arg() */
	vsw.cfg.pmd_maxsleep_us = 200;
	vsw.cfg.fdb_size = 8192;
	vsw.cfg.fdb_aging_s = 300;
	vsw.cfg.mtu = 1500;
	vsw.cfg.nb_mbufs = 16383;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case O_CTL: snprintf(vsw.cfg.ctl_path, sizeof(vsw.cfg.ctl_path), "%s", optarg); break;
		case O_GROUP: {
			struct group *g = getgrnam(optarg);

			if (g == NULL)
				die("bad --ctl-group '%s': no such group", optarg);
			vsw.cfg.ctl_gid = (int)g->gr_gid;
			break;
		}
		case O_VHOST_DIR:
			if (vsw_trust_vhost_dir(optarg) != 0)
				die("bad --vhost-dir '%s': an absolute path, at most 8 of them", optarg);
			break;
		case O_FILE_DIR:
			if (vsw_trust_file_dir(optarg) != 0)
				die("bad --file-dir '%s': an absolute path, at most 8 of them", optarg);
			break;
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

/* The CPUs this process may run on (its affinity, e.g. under taskset or a cgroup), however many
 * the machine has; NULL if the kernel will not say. *setsize is the set's size in bytes. */
static cpu_set_t *allowed_cpus(size_t *setsize)
{
	for (int n = 1024; n <= (1 << 22); n *= 2) {
		cpu_set_t *set = CPU_ALLOC(n);

		if (set == NULL)
			return NULL;
		*setsize = CPU_ALLOC_SIZE(n);
		if (sched_getaffinity(0, *setsize, set) == 0)
			return set;
		CPU_FREE(set);
		if (errno != EINVAL) /* EINVAL: the set is smaller than the kernel's */
			return NULL;
	}
	return NULL;
}

/* --lcores: lcore 0 (control) on the allowed CPUs no PMD uses (on all allowed CPUs if the PMDs
 * take every one), lcore i+1 on PMD CPU i. Built in a growing buffer, CPU ranges as a-b; CPUs
 * from CPU_SETSIZE up are beyond what the EAL can name and left out. */
static char *lcores_arg(void)
{
	size_t setsize, len = 0;
	cpu_set_t *set = allowed_cpus(&setsize);
	unsigned ncpu = (unsigned)(setsize * 8), n_ctl = 0, last = 0, lo;
	char *out = NULL;
	FILE *f;
	bool any = false;

	if (set == NULL)
		die("cannot read this process's CPU affinity: %s", strerror(errno));
	if (ncpu > CPU_SETSIZE)
		ncpu = CPU_SETSIZE;
	for (unsigned c = 0; c < ncpu; c++)
		if (CPU_ISSET_S(c, setsize, set))
			last = c, any = true;
	if (!any) {
		CPU_FREE(set); /* every exit frees it: a leak report under LSan otherwise */
		die("no CPU in this process's affinity that DPDK can use");
	}
	if (vsw.cfg.n_pmds == 0) {
		vsw.cfg.n_pmds = 1;
		vsw.cfg.pmd_cpus[0] = last;
	}
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
		if (vsw.cfg.pmd_cpus[i] >= ncpu || !CPU_ISSET_S(vsw.cfg.pmd_cpus[i], setsize, set)) {
			CPU_FREE(set);
			die("bad --cores: CPU %u is not one this process may run on (see taskset -p %d)",
			    vsw.cfg.pmd_cpus[i], (int)getpid());
		}
	for (unsigned c = 0; c < ncpu; c++) {
		bool pmd = false;

		for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
			pmd |= vsw.cfg.pmd_cpus[i] == c;
		if (!CPU_ISSET_S(c, setsize, set))
			continue;
		if (pmd)
			CPU_CLR_S(c, setsize, set);
		else
			n_ctl++;
	}
	if (n_ctl == 0) /* the PMDs have every CPU: the control thread shares them */
		for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
			CPU_SET_S(vsw.cfg.pmd_cpus[i], setsize, set);
	f = open_memstream(&out, &len);
	if (f == NULL) {
		CPU_FREE(set);
		die("out of memory");
	}
	fputs("0@(", f);
	any = false;
	for (unsigned c = 0; c < ncpu; c = lo + 1) {
		lo = c;
		if (!CPU_ISSET_S(c, setsize, set))
			continue;
		while (lo + 1 < ncpu && CPU_ISSET_S(lo + 1, setsize, set))
			lo++;
		if (lo == c)
			fprintf(f, "%s%u", any ? "," : "", c);
		else
			fprintf(f, "%s%u-%u", any ? "," : "", c, lo);
		any = true;
	}
	fputc(')', f);
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
		fprintf(f, ",%u@%u", i + 1, vsw.cfg.pmd_cpus[i]);
	CPU_FREE(set);
	if (fclose(f) != 0 || out == NULL)
		die("out of memory");
	return out;
}

/* EAL arguments: the lcores above; PCI scan on but an allow list nobody matches, so vswd takes
 * only the devices it is told to add. */
static char *lcores; /* eal_args' --lcores text, freed once the EAL is done (LSan) */

static int eal_args(char **out, int max, char **extra, int n_extra)
{
	static char mem[32], prefix[80], level[80];
	int n = 0;

	out[n++] = "vswd";
	out[n++] = "--lcores";
	out[n++] = lcores = lcores_arg();
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
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's shadow covers the EAL's usual base (4 GiB), so the hugepage memory would land
	 * among the libraries, where a secondary (dpdk-dumpcap) may have its own and cannot map
	 * it: 32 TiB is in ASan's high memory, far from both. EAL-ARGS may say otherwise. */
	out[n++] = "--base-virtaddr=0x200000000000";
#endif
	for (int i = 0; i < n_extra && n < max - 1; i++)
		out[n++] = extra[i];
	out[n] = NULL;
	return n;
}

/* Files to remove at exit, found before they are needed so that a forced exit in a signal
 * handler can remove them with async-signal-safe calls only: every hugetlbfs mount (the EAL
 * may use any of them, --huge-dir too) and our runtime directory once the EAL has made it. */
#define MAX_HUGE_DIRS 16
static char huge_dirs[MAX_HUGE_DIRS][PATH_MAX];
static unsigned n_huge_dirs;
static char runtime_dir[PATH_MAX];
static char owned_ctl[PATH_MAX]; /* our control socket, once it is ours */
static volatile sig_atomic_t eal_ready; /* the EAL is up: the file prefix is ours */

static void find_huge_dirs(void)
{
	FILE *m = setmntent("/proc/mounts", "r");
	struct mntent *e;

	if (m == NULL)
		return;
	while ((e = getmntent(m)) != NULL && n_huge_dirs < MAX_HUGE_DIRS)
		if (strcmp(e->mnt_type, "hugetlbfs") == 0)
			snprintf(huge_dirs[n_huge_dirs++], PATH_MAX, "%s", e->mnt_dir);
	endmntent(m);
}

/* Removes the entries of dir whose names start with prefix (all if prefix is ""); uses only
 * open, getdents64, unlinkat and close, so a signal handler may call it. */
static void remove_in(const char *dir, const char *prefix)
{
	char buf[4096];
	size_t plen = strlen(prefix);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);

			if (d->name[0] != '.' && strncmp(d->name, prefix, plen) == 0)
				unlinkat(fd, d->name, 0);
			off += d->reclen;
		}
	}
	close(fd);
}

/* Hugepage files (once the EAL is up: the prefix is ours) and the runtime directory of our
 * file prefix: nothing stays behind. Async-signal-safe, for exit_now() too. */
static void remove_runtime_files(void)
{
	char prefix[80];
	size_t n = strlen(file_prefix);

	if (eal_ready && n + 5 < sizeof(prefix)) {
		memcpy(prefix, file_prefix, n);
		memcpy(prefix + n, "map_", 5);
		for (unsigned d = 0; d < n_huge_dirs; d++)
			remove_in(huge_dirs[d], prefix);
	}
	if (runtime_dir[0] != '\0') {
		remove_in(runtime_dir, "");
		rmdir(runtime_dir);
	}
}

/* Exits at once, removing what is safe to remove from a signal handler (our control socket,
 * hugepage and runtime files: mappings outlive their files); msg goes to stderr first. */
static void exit_now(const char *msg, size_t len, int code)
{
	if (write(STDERR_FILENO, msg, len) < 0) {
		/* nothing to do about it */
	}
	if (owned_ctl[0] != '\0')
		unlink(owned_ctl);
	remove_runtime_files();
	_exit(code);
}

/* SIGINT, SIGTERM, SIGHUP: the first asks for a clean stop; a second one while stopping exits
 * at once. */
static void on_signal(int sig)
{
	static const char msg[] = "vswd: second signal: exiting at once\n";

	if (vsw.stop)
		exit_now(msg, sizeof(msg) - 1, 128 + sig);
	vsw.stop = true;
}

/* The stop's watchdog. A DPDK secondary process (dpdk-dumpcap, dpdk-proc-info) that died in
 * its start-up or while holding a lock of the shared memory config leaves that lock taken for
 * good, and the EAL's cleanup would wait on it forever; a stop that hangs like that exits. */
#define STOP_TIMEOUT_S 10

static void on_stop_timeout(int sig)
{
	static const char msg[] = "vswd: stop stuck for " RTE_STR(STOP_TIMEOUT_S) " s (a DPDK lock "
				  "held by a secondary process that died?): exiting at once\n";

	(void)sig;
	exit_now(msg, sizeof(msg) - 1, 1);
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The --config file, opened before DPDK starts: a file named but missing or unreadable is an
 * error at once, without hugepages or EAL noise in the way of its one line. */
static FILE *config;

static void open_config(void)
{
	struct stat st;

	if (vsw.cfg.config_path[0] == '\0')
		return;
	config = fopen(vsw.cfg.config_path, "r");
	if (config == NULL)
		die("cannot read %s: %s", vsw.cfg.config_path, strerror(errno));
	if (fstat(fileno(config), &st) == 0 && S_ISDIR(st.st_mode))
		die("cannot read %s: %s", vsw.cfg.config_path, strerror(EISDIR));
}

static void run_config(void)
{
	char err[VSW_ERR_LEN], *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;

	if (config == NULL)
		return;
	while (!vsw.stop && getline(&line, &cap, config) != -1) {
		json_t *out;

		lineno++;
		if (vsw_cmd_line(line, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "vswd: %s:%u: %s\n", vsw.cfg.config_path, lineno, err);
			vsw.stop = true;
			exit_code = 1;
		}
		json_decref(out);
	}
	if (ferror(config)) {
		fprintf(stderr, "vswd: %s:%u: cannot read: %s\n", vsw.cfg.config_path, lineno + 1,
			strerror(errno));
		vsw.stop = true;
		exit_code = 1;
	}
	free(line);
	fclose(config);
	config = NULL;
}

static int setup(void)
{
	struct vsw_fdb_params fp;
	unsigned lcore, i = 0;
	uint16_t data_room;

	vsw.max_frame = vsw.cfg.mtu + RTE_ETHER_HDR_LEN + 4 /* one VLAN tag */;
	/* As OVS sizes its mbufs from the MTU: every frame vswd forwards fits one mbuf, so no port
	 * needs RX scatter or TX multi-segment support (a chained frame is made linear, l2.c). */
	data_room = (uint16_t)RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE,
				      RTE_ALIGN_CEIL(RTE_PKTMBUF_HEADROOM + vsw.max_frame +
						     RTE_ETHER_CRC_LEN, 1024u));
	vsw.pool = rte_pktmbuf_pool_create("vsw_mbufs", vsw.cfg.nb_mbufs, 256, 0, data_room,
					   (int)rte_socket_id());
	if (vsw.pool == NULL)
		return -ENOMEM;
	if (vsw_ol_init() != 0 || vsw_dp_init() != 0)
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
	int first, n;
	uint64_t hz, next_tick = 0, last_age = 0;
	unsigned lcore;

	install_signals(); /* before anything slow: a signal during start-up stops cleanly */
	first = parse_args(argc, argv);
	open_config();
	find_huge_dirs();
	if (vsw_ctl_check(vsw.cfg.ctl_path, err, sizeof(err)) != 0)
		die("%s", err);
	n = eal_args(eal, (int)RTE_DIM(eal), argv + first, argc - first);
	if (rte_eal_init(n, eal) < 0) {
		/* Nothing removed: the files may be another process's (a --file-prefix in use). */
		if (vsw.stop) /* interrupted by a signal: a stop, not an error */
			return 0;
		die("cannot start DPDK: %s", rte_strerror(rte_errno));
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	eal_ready = 1; /* the prefix is ours: a forced exit may remove its files */
	vsw_logtype = rte_log_register_type_and_pick_level("vswd", RTE_LOG_INFO);
	if (rte_lcore_count() != vsw.cfg.n_pmds + 1 || setup() != 0) {
		fprintf(stderr, "vswd: cannot set up the switch (hugepage memory? see --socket-mem)\n");
		vsw.stop = true;
		exit_code = 1;
	}
	rte_pdump_init();
	vsw_telemetry_init();
	vsw_trust_init();
	pthread_mutex_lock(&vsw.lock);
	if (!vsw.stop)
		run_config();
	pthread_mutex_unlock(&vsw.lock);
	dir = strdup(vsw.cfg.ctl_path);
	if (strrchr(dir, '/') != NULL && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		mkdir(dir, 0755); /* the socket's own mode (0660) and group decide who gets in */
	}
	free(dir);
	if (!vsw.stop && vsw_ctl_open(vsw.cfg.ctl_path, vsw.cfg.ctl_gid, err, sizeof(err)) != 0) {
		fprintf(stderr, "vswd: %s\n", err);
		vsw.stop = true;
		exit_code = 1;
	} else if (!vsw.stop) {
		snprintf(owned_ctl, sizeof(owned_ctl), "%s", vsw.cfg.ctl_path);
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
	signal(SIGALRM, on_stop_timeout);
	alarm(STOP_TIMEOUT_S);
	vsw_ctl_close();
	owned_ctl[0] = '\0';
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
	vsw_ol_fini();
	rte_mempool_free(vsw.pool);
	rte_eal_cleanup();
	free(lcores);
	remove_runtime_files();
	return exit_code;
}
