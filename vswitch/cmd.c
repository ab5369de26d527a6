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
		struct vsw_port_vlan vlan;
		bool has_vlan;
		int rc, n = argc - 2;

		if (p == NULL) {
			snprintf(err, errlen, "unknown port %s", argv[1]);
			return -ENOENT;
		}
		/* every setting is checked before any changes: the VLAN one, then drop= */
		rc = vsw_vlan_parse(p->name, &p->vlan, &n, argv + 2, &vlan, &has_vlan, err, errlen);
		if (rc == 0 && (!has_vlan || n > 0))
			rc = vsw_port_set(p, n, argv + 2, err, errlen);
		if (rc == 0 && has_vlan)
			vsw_vlan_apply(p, &vlan);
		if (rc == 0)
			*out = vsw_port_json(p);
		return rc;
	}
	return ERR("usage: port add NAME vhost|dpdk|tap|vxlan [KEY=VALUE...] [vlan=ID | trunks=LIST "
		   "[native=ID]] | port del NAME | port list | port set NAME drop=PERCENT[,seed=N] | "
		   "port set NAME vlan=ID|none | port set NAME trunks=LIST [native=ID]");
}

json_t *vsw_ports_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			json_array_append_new(a, vsw_port_json(&vsw.ports[i]));
	return a;
}

struct fdb_rows {
	json_t *a;
	uint16_t vlan; /* VSW_FDB_ANY_VLAN: every VLAN */
};

static int fdb_entry_json(const struct vsw_fdb_entry *e, void *arg)
{
	struct fdb_rows *r = arg;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (r->vlan != VSW_FDB_ANY_VLAN && e->vlan != r->vlan)
		return 0;
	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	/* vlan last: the columns people and scripts knew keep their places */
	json_array_append_new(r->a, json_pack("{s:s, s:s, s:s, s:I, s:i}", "mac", mac, "port",
					      vsw.ports[e->port].name, "type",
					      e->is_static ? "static" : "learned", "age",
					      (json_int_t)e->age_s, "vlan", e->vlan));
	vsw_vxlan_fdb_json(&vsw.ports[e->port], &e->mac,
			   json_array_get(r->a, json_array_size(r->a) - 1));
	return 0;
}

json_t *vsw_fdb_json_vlan(uint16_t port, uint16_t vlan)
{
	struct fdb_rows r = {.a = json_array(), .vlan = vlan};

	vsw_fdb_walk(vsw.fdb, port, vsw_now_s(), fdb_entry_json, &r);
	return r.a;
}

json_t *vsw_fdb_json(uint16_t port)
{
	return vsw_fdb_json_vlan(port, VSW_FDB_ANY_VLAN);
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

/* A trailing vlan=ID of an fdb command (0 is the untagged VLAN of ports without a VLAN
 * setting); takes it off argc. */
static int vlan_arg(int *argc, char **argv, uint16_t *vlan, char *err, size_t errlen)
{
	const char *v;

	if (*argc < 2 || !vsw_kv(argv[*argc - 1], "vlan", &v))
		return 0;
	(*argc)--;
	return vsw_vlan_id(v, 0, vlan, err, errlen);
}

struct fdb_vlans {
	struct rte_ether_addr mac;
	uint16_t n, vlan[64];
};

static int fdb_vlans_of(const struct vsw_fdb_entry *e, void *arg)
{
	struct fdb_vlans *f = arg;

	if (rte_is_same_ether_addr(&e->mac, &f->mac) && f->n < RTE_DIM(f->vlan))
		f->vlan[f->n++] = e->vlan;
	return 0;
}

/* `fdb del MAC` without vlan=: the MAC in every VLAN */
static int fdb_del_all(const struct rte_ether_addr *mac)
{
	struct fdb_vlans f = {.mac = *mac};

	vsw_fdb_walk(vsw.fdb, VSW_FDB_NO_PORT, 0, fdb_vlans_of, &f);
	for (unsigned i = 0; i < f.n; i++)
		vsw_fdb_del(vsw.fdb, &(struct vsw_fdb_key){.mac = *mac, .vlan = f.vlan[i]});
	return f.n > 0 ? 0 : -ENOENT;
}

static int fdb_cmd(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	struct vsw_fdb_key key = {.vlan = VSW_FDB_ANY_VLAN};
	uint16_t idx = VSW_FDB_NO_PORT;
	uint32_t v;
	int rc;

	if (argc >= 1 && strcmp(argv[0], "aging") != 0 &&
	    (rc = vlan_arg(&argc, argv, &key.vlan, err, errlen)) != 0)
		return rc;
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "show") == 0) {
		if (argc == 2 && (rc = port_arg(argv[1], &idx, err, errlen)) != 0)
			return rc;
		*out = vsw_fdb_json_vlan(idx, key.vlan);
		return 0;
	}
	if (argc == 3 && strcmp(argv[0], "add") == 0) {
		if ((rc = mac_arg(argv[1], &key.mac, err, errlen)) != 0 ||
		    (rc = port_arg(argv[2], &idx, err, errlen)) != 0)
			return rc;
		if (key.vlan == VSW_FDB_ANY_VLAN)
			key.vlan = vsw_vlan_untagged(&vsw.ports[idx]);
		if (key.vlan == VSW_VLAN_NONE)
			return ERR("port %s is a trunk without a native VLAN: say vlan=ID", argv[2]);
		if (!vsw_vlan_carries(&vsw.ports[idx], key.vlan))
			return ERR("port %s does not carry VLAN %u", argv[2], key.vlan);
		rc = vsw_fdb_add_static(vsw.fdb, &key, idx);
		if (rc != 0)
			snprintf(err, errlen, "FDB is full (%u entries)", vsw.cfg.fdb_size);
		return rc;
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		if ((rc = mac_arg(argv[1], &key.mac, err, errlen)) != 0)
			return rc;
		rc = key.vlan == VSW_FDB_ANY_VLAN ? fdb_del_all(&key.mac)
						   : vsw_fdb_del(vsw.fdb, &key);
		if (rc != 0 && key.vlan == VSW_FDB_ANY_VLAN)
			snprintf(err, errlen, "no FDB entry for %s", argv[1]);
		else if (rc != 0)
			snprintf(err, errlen, "no FDB entry for %s in VLAN %u", argv[1], key.vlan);
		return rc;
	}
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "flush") == 0) {
		if (argc == 2 && (rc = port_arg(argv[1], &idx, err, errlen)) != 0)
			return rc;
		*out = json_pack("{s:i}", "flushed", vsw_fdb_flush(vsw.fdb, idx, key.vlan, false));
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
	return ERR("usage: fdb show [PORT] [vlan=ID] | fdb add MAC PORT [vlan=ID] | "
		   "fdb del MAC [vlan=ID] | fdb flush [PORT] [vlan=ID] | fdb aging [SECONDS]");
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
