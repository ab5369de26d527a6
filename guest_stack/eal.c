/* eal.c: EAL defaults that just work for a guest tool: the device (a vdev without a PCI scan,
 * or a PCI address), memory in hugepages without files (--in-memory), one file segment per
 * list (virtio_user shares memory by fd), a modest -m, a file prefix of its own and an lcore
 * map that fits any number of CPUs.  EAL arguments given by the user replace the default of the
 * same kind.  gs_eal_cleanup() also removes the runtime directory. */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rte_eal.h>
#include "gs_priv.h"

#define GS_MAX_ARGS 64
#define GS_RUN_DIR "/var/run/dpdk"

static char runtime_dir[256];

static bool user_has(int argc, char **argv, const char *const *opts)
{
	for (int i = 0; i < argc; i++)
		for (const char *const *o = opts; *o; o++)
			if (strncmp(argv[i], *o, strlen(*o)) == 0)
				return true;
	return false;
}

static bool is_pci(const char *dev)
{
	unsigned int a, b, c, d;
	char end;

	return sscanf(dev, "%x:%x:%x.%x%c", &a, &b, &c, &d, &end) == 4 ||
	       sscanf(dev, "%x:%x.%x%c", &a, &b, &c, &end) == 3;
}

/* "0-2,4" -> "0@0,1@1,2@(0-1),4@(0-1)": an lcore on a CPU we may not use floats over all. */
static int lcore_map(const char *cores, char *out, size_t len)
{
	cpu_set_t set;
	int first = -1, last = -1, used = 0;
	char *dup = strdup(cores), *save = NULL;

	if (!dup || sched_getaffinity(0, sizeof(set), &set) < 0) {
		free(dup);
		return -errno;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			last = c, first = first < 0 ? c : first;
	out[0] = '\0';
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long lo = strtol(tok, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (end == tok || *end || lo < 0 || hi < lo || hi >= RTE_MAX_LCORE) {
			free(dup);
			return -EINVAL;
		}
		for (long l = lo; l <= hi; l++) {
			int n = CPU_ISSET(l, &set)
					? snprintf(out + used, len - used, "%s%ld@%ld", used ? "," : "", l, l)
					: snprintf(out + used, len - used, "%s%ld@(%d-%d)",
						   used ? "," : "", l, first, last);
			if (n < 0 || (size_t)(used + n) >= len) {
				free(dup);
				return -E2BIG;
			}
			used += n;
		}
	}
	free(dup);
	return used ? 0 : -EINVAL;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	closedir(d);
	rmdir(dir);
}

/* What a gs tool that was killed (SIGKILL) left: its runtime directory, by the dead PID. */
static void remove_stale(void)
{
	DIR *d = opendir(GS_RUN_DIR);
	struct dirent *e;
	char path[512];
	int pid;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (sscanf(e->d_name, "gs-%d", &pid) == 1 && pid > 0 && kill(pid, 0) < 0 &&
		    errno == ESRCH &&
		    snprintf(path, sizeof(path), "%s/%s", GS_RUN_DIR, e->d_name) < (int)sizeof(path))
			remove_dir(path);
	closedir(d);
}

int gs_eal_init(const char *prog, const char *dev, const char *cores, int argc, char **argv)
{
	static char lcores[512], prefix[64], devarg[1024];
	static const char *const o_lcores[] = {"-l", "-c", "--lcores", NULL};
	static const char *const o_mem[] = {"-m", "--socket-mem", NULL};
	static const char *const o_prefix[] = {"--file-prefix", NULL};
	static const char *const o_dev[] = {"--vdev", "-a", "-b", "--allow", "--block", "--no-pci",
					    NULL};
	static const char *const o_memmode[] = {"--in-memory", "--no-huge", "--legacy-mem", NULL};
	char *args[GS_MAX_ARGS];
	int n = 0, rc;

	if (argc > GS_MAX_ARGS - 16)
		return -E2BIG;
	args[n++] = (char *)(uintptr_t)prog;
	if (!user_has(argc, argv, o_lcores)) {
		if ((rc = lcore_map(cores ? cores : "0", lcores, sizeof(lcores))) < 0)
			return rc;
		args[n++] = "--lcores";
		args[n++] = lcores;
	}
	if (!user_has(argc, argv, o_mem)) {
		args[n++] = "-m";
		args[n++] = "256";
	}
	if (!user_has(argc, argv, o_prefix)) {
		remove_stale();
		snprintf(prefix, sizeof(prefix), "--file-prefix=gs-%d", (int)getpid());
		args[n++] = prefix;
	}
	if (!user_has(argc, argv, o_memmode))
		args[n++] = "--in-memory";
	args[n++] = "--single-file-segments";
	if (dev && !user_has(argc, argv, o_dev)) {
		if (is_pci(dev)) {
			args[n++] = "-a";
			args[n++] = (char *)(uintptr_t)dev;
		} else {
			/* virtio_user's default ring of 256 is short for bursts with a back-off */
			bool vu = strncmp(dev, "net_virtio_user", 15) == 0 && !strstr(dev, "queue_size=");
			snprintf(devarg, sizeof(devarg), "%s%s", dev, vu ? ",queue_size=1024" : "");
			args[n++] = "--no-pci";
			args[n++] = "--vdev";
			args[n++] = devarg;
		}
	}
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	rc = rte_eal_init(n, args);
	/* also after a failed init, which may have made the directory */
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	return rc;
}

void gs_eal_cleanup(void)
{
	rte_eal_cleanup();
	if (runtime_dir[0])
		remove_dir(runtime_dir);
	runtime_dir[0] = '\0';
}
