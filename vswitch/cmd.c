/* The vswctl language: one command, as words, to a JSON result. Used by the control socket
 * and by --config files alike. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_version.h>

#include "vswd.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

static int parse_u32(const char *s, uint32_t max, uint32_t *v)
{
	char *end;
	unsigned long x;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static int port_cmd(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
		*out = vsw_ports_json();
		return 0;
	}
	if (argc >= 3 && strcmp(argv[0], "add") == 0) {
		int rc = vsw_port_add(argv[1], argv[2], argc - 3, argv + 3, err, errlen);

		if (rc == 0)
			*out = vsw_port_json(vsw_port_find(argv[1]));
		return rc;
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0)
		return vsw_port_del(argv[1], err, errlen);
	if (argc >= 2 && strcmp(argv[0], "set") == 0) {
		struct vsw_port *p = vsw_port_find(argv[1]);
		int rc;

		if (p == NULL) {
			snprintf(err, errlen, "unknown port %s", argv[1]);
			return -ENOENT;
		}
		rc = vsw_port_set(p, argc - 2, argv + 2, err, errlen);
		if (rc == 0)
			*out = vsw_port_json(p);
		return rc;
	}
	return ERR("usage: port add NAME vhost|dpdk|tap [KEY=VALUE...] | port del NAME | port list | "
		   "port set NAME drop=PERCENT[,seed=N]");
}

json_t *vsw_ports_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			json_array_append_new(a, vsw_port_json(&vsw.ports[i]));
	return a;
}

static int fdb_entry_json(const struct vsw_fdb_entry *e, void *arg)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:I}", "mac", mac, "port",
					     vsw.ports[e->port].name, "type",
					     e->is_static ? "static" : "learned", "age",
					     (json_int_t)e->age_s));
	return 0;
}

json_t *vsw_fdb_json(uint16_t port)
{
	json_t *a = json_array();

	vsw_fdb_walk(vsw.fdb, port, vsw_now_s(), fdb_entry_json, a);
	return a;
}

static int port_arg(const char *name, uint16_t *idx, char *err, size_t errlen)
{
	struct vsw_port *p = vsw_port_find(name);

	if (p == NULL) {
		snprintf(err, errlen, "unknown port %s", name);
		return -ENOENT;
	}
	*idx = (uint16_t)vsw_port_index(p);
	return 0;
}

static int mac_arg(const char *s, struct rte_ether_addr *mac, char *err, size_t errlen)
{
	if (rte_ether_unformat_addr(s, mac) != 0 || strlen(s) != 17) {
		snprintf(err, errlen, "bad MAC address '%s': use xx:xx:xx:xx:xx:xx", s);
		return -EINVAL;
	}
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac)) {
		snprintf(err, errlen, "bad MAC address '%s': not a unicast address", s);
		return -EINVAL;
	}
	return 0;
}

static int fdb_cmd(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	struct rte_ether_addr mac;
	uint16_t idx = VSW_FDB_NO_PORT;
	uint32_t v;
	int rc;

	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "show") == 0) {
		if (argc == 2 && (rc = port_arg(argv[1], &idx, err, errlen)) != 0)
			return rc;
		*out = vsw_fdb_json(idx);
		return 0;
	}
	if (argc == 3 && strcmp(argv[0], "add") == 0) {
		if ((rc = mac_arg(argv[1], &mac, err, errlen)) != 0 ||
		    (rc = port_arg(argv[2], &idx, err, errlen)) != 0)
			return rc;
		rc = vsw_fdb_add_static(vsw.fdb, &mac, idx);
		if (rc != 0)
			snprintf(err, errlen, "FDB is full (%u entries)", vsw.cfg.fdb_size);
		return rc;
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		if ((rc = mac_arg(argv[1], &mac, err, errlen)) != 0)
			return rc;
		rc = vsw_fdb_del(vsw.fdb, &mac);
		if (rc != 0)
			snprintf(err, errlen, "no FDB entry for %s", argv[1]);
		return rc;
	}
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "flush") == 0) {
		if (argc == 2 && (rc = port_arg(argv[1], &idx, err, errlen)) != 0)
			return rc;
		*out = json_pack("{s:i}", "flushed", vsw_fdb_flush(vsw.fdb, idx, false));
		return 0;
	}
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "aging") == 0) {
		if (argc == 2) {
			if (parse_u32(argv[1], 1000000, &v) != 0)
				return ERR("bad aging time '%s': 0 (never) to 1000000 seconds", argv[1]);
			vsw_fdb_set_aging(vsw.fdb, v);
		}
		*out = json_pack("{s:i}", "aging", vsw_fdb_aging(vsw.fdb));
		return 0;
	}
	return ERR("usage: fdb show [PORT] | fdb add MAC PORT | fdb del MAC | fdb flush [PORT] | "
		   "fdb aging [SECONDS]");
}

static int stats_cmd(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	struct vsw_port *p = NULL;

	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "clear") == 0) {
		if (argc == 2 && (p = vsw_port_find(argv[1])) == NULL) {
			snprintf(err, errlen, "unknown port %s", argv[1]);
			return -ENOENT;
		}
		vsw_stats_clear(p);
		return 0;
	}
	if (argc == 1 && (p = vsw_port_find(argv[0])) == NULL) {
		snprintf(err, errlen, "unknown port %s", argv[0]);
		return -ENOENT;
	}
	if (argc > 1)
		return ERR("usage: stats [PORT] | stats clear [PORT]");
	*out = vsw_stats_json(p);
	return 0;
}

int vsw_cmd_exec(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	err[0] = '\0';
	if (argc == 0)
		return ERR("empty command");
	if (strcmp(argv[0], "port") == 0)
		return port_cmd(argc - 1, argv + 1, out, err, errlen);
	if (strcmp(argv[0], "fdb") == 0)
		return fdb_cmd(argc - 1, argv + 1, out, err, errlen);
	if (strcmp(argv[0], "stats") == 0)
		return stats_cmd(argc - 1, argv + 1, out, err, errlen);
	if (strcmp(argv[0], "version") == 0 && argc == 1) {
		*out = json_pack("{s:s, s:s}", "vswd", VSWKIT_VERSION, "dpdk", rte_version());
		return 0;
	}
	return ERR("unknown command '%s' (port, fdb, stats, version)", argv[0]);
}

/* A line of a --config file: words split on blanks, '#' starts a comment. */
int vsw_cmd_line(char *line, json_t **out, char *err, size_t errlen)
{
	char *argv[64], *save = NULL, *w;
	int argc = 0;

	*out = NULL;
	line[strcspn(line, "#\n")] = '\0';
	for (w = strtok_r(line, " \t\r", &save); w != NULL; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == (int)RTE_DIM(argv))
			return ERR("too many words (%d at most)", (int)RTE_DIM(argv));
		argv[argc++] = w;
	}
	if (argc == 0)
		return 0;
	return vsw_cmd_exec(argc, argv, out, err, errlen);
}
