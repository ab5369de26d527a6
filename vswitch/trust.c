/* What a control client may name. Whoever reaches the control socket runs the switch, but not
 * the host: vswd runs as root, so every path a request names is checked here before a driver
 * sees it (as OVS keeps server-mode vhost sockets in its vhost-sock-dir).
 *  - server-mode vhost sockets live in a --vhost-dir; only there is a stale socket removed;
 *  - client-mode vhost paths may be anywhere, but are absolute and fit a unix socket address;
 *  - no path may hold a comma: it would reach the driver as more KEY=VALUE arguments;
 *  - a vdev (dpdk kind) must be of a driver below, and its keys that name files take paths in
 *    a --file-dir only (pcap's tx_pcap would otherwise truncate any file as root). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <rte_bus.h>
#include <rte_devargs.h>
#include <rte_kvargs.h>

#include "vswd.h"

#define MAX_DIRS 8
#define SUN_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

struct dirs {
	const char *opt;
	unsigned n;
	char path[MAX_DIRS][PATH_MAX];
};

static struct dirs vhost_dirs = {.opt = "--vhost-dir"};
static struct dirs file_dirs = {.opt = "--file-dir"};

/* vdev drivers a client may create, and their keys that name files. Anything else (net_vhost,
 * whose sockets have their own rules; net_failsafe, which can run a command) is refused. */
static const struct {
	const char *driver;
	const char *file_keys[3];
} vdevs[] = {
	{"net_af_packet", {NULL}},
	{"net_af_xdp", {"xdp_prog", "dp_path", NULL}},
	{"net_null", {NULL}},
	{"net_pcap", {"rx_pcap", "tx_pcap", NULL}},
	{"net_ring", {NULL}},
	{"net_tap", {NULL}},
	{"net_tun", {NULL}},
};

static int dir_add(struct dirs *d, const char *dir)
{
	if (d->n == MAX_DIRS || dir[0] != '/' || strlen(dir) >= PATH_MAX)
		return -EINVAL;
	snprintf(d->path[d->n++], PATH_MAX, "%s", dir);
	return 0;
}

int vsw_trust_vhost_dir(const char *dir)
{
	return dir_add(&vhost_dirs, dir);
}

int vsw_trust_file_dir(const char *dir)
{
	return dir_add(&file_dirs, dir);
}

static void mkdirs(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *s = strchr(buf + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(buf, 0755);
		*s = '/';
	}
	mkdir(buf, mode);
}

void vsw_trust_init(void)
{
	if (vhost_dirs.n == 0)
		dir_add(&vhost_dirs, "/run/vswkit/vhost");
	/* guests (QEMU, often another user) must reach their sockets: 0755, as OVS's run dir */
	for (unsigned i = 0; i < vhost_dirs.n; i++)
		mkdirs(vhost_dirs.path[i], 0755);
}

/* Resolves path (absolute) to its real directory + its own name, and checks that the directory
 * is one of d's and the name a plain one that is not a symbolic link. */
static int in_dirs(const struct dirs *d, const char *what, const char *path, char *out,
		   size_t outlen, char *err, size_t errlen)
{
	char parent[PATH_MAX], real[PATH_MAX], dreal[PATH_MAX];
	const char *base = strrchr(path, '/') + 1;
	struct stat st;

	snprintf(parent, sizeof(parent), "%.*s", (int)(base - path), path);
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(err, errlen, "bad %s %s: it must name a file", what, path);
		return -EINVAL;
	}
	if (realpath(parent, real) == NULL) {
		int e = errno;

		snprintf(err, errlen, "bad %s %s: %s", what, path, strerror(e));
		return -e;
	}
	for (unsigned i = 0; i < d->n; i++) {
		if (realpath(d->path[i], dreal) == NULL || strcmp(dreal, real) != 0)
			continue;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "bad %s %s: a symbolic link", what, path);
			return -EPERM;
		}
		if ((size_t)snprintf(out, outlen, "%s/%s", real, base) >= outlen) {
			snprintf(err, errlen, "bad %s %s: too long", what, path);
			return -ENAMETOOLONG;
		}
		return 0;
	}
	if (d->n == 0)
		snprintf(err, errlen, "bad %s %s: vswd was started without %s", what, path, d->opt);
	else
		snprintf(err, errlen, "bad %s %s: not in %s %s%s", what, path, d->opt, d->path[0],
			 d->n > 1 ? " (or another one given)" : "");
	return -EPERM;
}

int vsw_trust_vhost_path(const char *path, bool client, char *out, size_t outlen, char *err,
			 size_t errlen)
{
	char full[PATH_MAX];
	int rc;

	if (strchr(path, ',') != NULL) {
		snprintf(err, errlen, "bad vhost path %s: a comma is not allowed", path);
		return -EINVAL;
	}
	if (client) {
		if (path[0] != '/') {
			snprintf(err, errlen, "bad vhost path %s: a client path is absolute", path);
			return -EINVAL;
		}
		snprintf(full, sizeof(full), "%s", path);
	} else if (strchr(path, '/') == NULL) { /* a bare name: in the first --vhost-dir */
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", vhost_dirs.path[0], path) >=
		    sizeof(full)) {
			snprintf(err, errlen, "bad vhost path %s: too long", path);
			return -ENAMETOOLONG;
		}
	} else {
		if (path[0] != '/') {
			snprintf(err, errlen, "bad vhost path %s: a name or an absolute path", path);
			return -EINVAL;
		}
		rc = in_dirs(&vhost_dirs, "vhost path", path, full, sizeof(full), err, errlen);
		if (rc != 0)
			return rc;
	}
	if (strlen(full) > SUN_MAX) {
		snprintf(err, errlen, "bad vhost path %s: longer than a socket address (%zu bytes)",
			 full, SUN_MAX);
		return -ENAMETOOLONG;
	}
	snprintf(out, outlen, "%s", full);
	return 0;
}

static int check_files(unsigned v, struct rte_kvargs *kv, char *err, size_t errlen)
{
	char real[PATH_MAX];

	for (unsigned k = 0; vdevs[v].file_keys[k] != NULL; k++) {
		for (unsigned i = 0; i < kv->count; i++) {
			const char *val = kv->pairs[i].value;
			int rc;

			if (strcmp(kv->pairs[i].key, vdevs[v].file_keys[k]) != 0)
				continue;
			if (val == NULL || val[0] != '/') {
				snprintf(err, errlen, "bad %s: %s takes an absolute path in --file-dir",
					 vdevs[v].driver, kv->pairs[i].key);
				return -EINVAL;
			}
			rc = in_dirs(&file_dirs, kv->pairs[i].key, val, real, sizeof(real), err, errlen);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int vsw_trust_dev(const char *spec, char *err, size_t errlen)
{
	struct rte_devargs da;
	struct rte_kvargs *kv;
	unsigned v;
	int rc;

	if (rte_devargs_parse(&da, spec) != 0) {
		snprintf(err, errlen, "device not found: %s", spec);
		return -ENODEV;
	}
	rc = strcmp(rte_bus_name(da.bus), "vdev");
	rte_devargs_reset(&da);
	if (rc != 0) /* a PCI (or other bus) device: only an address, nothing on the file system */
		return 0;
	/* the vdev bus gives a device to the driver whose name starts its own (net_pcap_in) */
	for (v = 0; v < RTE_DIM(vdevs); v++)
		if (strncmp(spec, vdevs[v].driver, strlen(vdevs[v].driver)) == 0)
			break;
	if (v == RTE_DIM(vdevs)) {
		snprintf(err, errlen, "vdev driver not allowed: %.*s (allowed: net_af_packet, "
			 "net_af_xdp, net_null, net_pcap, net_ring, net_tap, net_tun; vhost ports are "
			 "kind vhost)", (int)strcspn(spec, ","), spec);
		return -EPERM;
	}
	if (strchr(spec, ',') == NULL)
		return 0;
	kv = rte_kvargs_parse(strchr(spec, ',') + 1, NULL);
	if (kv == NULL) {
		snprintf(err, errlen, "bad device arguments: %s", spec);
		return -EINVAL;
	}
	rc = check_files(v, kv, err, errlen);
	rte_kvargs_free(kv);
	return rc;
}
