/* DPDK telemetry commands, so dpdk-telemetry.py shows the switch: /vswkit/ports, /vswkit/fdb and
 * /vswkit/stats[,PORT]; lists come in pages (page()). They reuse the vswctl command
 * results; telemetry nests one level, so each item becomes a flat dict (nested objects
 * flattened to parent_child keys). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "vswd.h"

static void flatten(json_t *o, const char *prefix, struct rte_tel_data *d)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char key[RTE_TEL_MAX_STRING_LEN];

		snprintf(key, sizeof(key), "%s%s", prefix, k);
		if (json_is_object(v)) {
			char sub[RTE_TEL_MAX_STRING_LEN + 1];

			snprintf(sub, sizeof(sub), "%s_", key);
			flatten(v, sub, d);
		}
		else if (json_is_array(v)) { /* a tunnel's remotes: remotes_0_ip, ... */
			char sub[RTE_TEL_MAX_STRING_LEN + 24];
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e) {
				snprintf(sub, sizeof(sub), "%s_%zu_", key, i);
				if (json_is_object(e))
					flatten(e, sub, d);
			}
		}
		else if (json_is_integer(v))
			rte_tel_data_add_dict_u64(d, key, (uint64_t)json_integer_value(v));
		else if (json_is_string(v))
			rte_tel_data_add_dict_string(d, key, json_string_value(v));
		else if (json_is_boolean(v))
			rte_tel_data_add_dict_string(d, key, json_is_true(v) ? "true" : "false");
		else if (json_is_real(v)) { /* telemetry has no dict doubles: 0.5 stays 0.5 */
			char num[32];

			snprintf(num, sizeof(num), "%g", json_real_value(v));
			rte_tel_data_add_dict_string(d, key, num);
		}
	}
}

/* An array of objects, as a dict of dicts keyed by each object's field `key` (telemetry names
 * are letters, digits and '_', so a MAC key reads 02_00_00_00_00_01); a key field whose name
 * starts with '_' names the row only and is not shown in it. */
static void by_key(json_t *a, const char *key, struct rte_tel_data *d)
{
	size_t i;
	json_t *o;

	rte_tel_data_start_dict(d);
	json_array_foreach(a, i, o) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		char name[RTE_TEL_MAX_STRING_LEN];

		if (c == NULL)
			return;
		rte_tel_data_start_dict(c);
		snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(o, key)));
		if (key[0] == '_')
			json_object_del(o, key);
		flatten(o, "", c);
		for (char *p = name; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p))
				*p = '_';
		if (rte_tel_data_add_dict_container(d, name, c, 0) != 0)
			rte_tel_data_free(c);
	}
}

/* Rows per reply: telemetry's output is 16 KB and a dict holds 256 entries at most, and it
 * drops what does not fit without a word. An FDB row takes up to about 145 bytes; a port's
 * stats or description (31-byte names, 20-digit counters, 107-byte paths) up to about 1 KB. */
#define TEL_FDB_ROWS 100
#define TEL_PORT_ROWS 12

/* params "[PORT][,from=N]" (or "from=N"): the port name ("" for none) and the first row. */
static int parse_params(const char *params, char *port, size_t portlen, unsigned long *from)
{
	const char *f;
	char *end;

	*from = 0;
	port[0] = '\0';
	if (params == NULL || *params == '\0')
		return 0;
	f = strncmp(params, "from=", 5) == 0 ? params : strstr(params, ",from=");
	if (f == NULL)
		return snprintf(port, portlen, "%s", params) >= (int)portlen ? -1 : 0;
	if ((size_t)(f - params) >= portlen)
		return -1;
	memcpy(port, params, (size_t)(f - params));
	port[f - params] = '\0';
	f = strchr(f, '=') + 1;
	*from = strtoul(f, &end, 10);
	return *f == '\0' || *end != '\0' || !isdigit((unsigned char)*f) ? -1 : 0;
}

/* Up to rows items of the array out from item `from`, keyed by key; when items are left out,
 * "more" says so: {"total", "from", "next"} (next 0: none after these). */
static void page(json_t *out, const char *key, unsigned long from, size_t rows,
		 struct rte_tel_data *d)
{
	size_t total = json_array_size(out), shown;
	json_t *pg = json_array();
	struct rte_tel_data *more;

	for (size_t i = from; i < total && i - from < rows; i++)
		json_array_append(pg, json_array_get(out, i));
	shown = json_array_size(pg);
	by_key(pg, key, d);
	if (shown < total && (more = rte_tel_data_alloc()) != NULL) {
		rte_tel_data_start_dict(more);
		rte_tel_data_add_dict_u64(more, "total", total);
		rte_tel_data_add_dict_u64(more, "from", from);
		rte_tel_data_add_dict_u64(more, "next", from + shown < total ? from + shown : 0);
		if (rte_tel_data_add_dict_container(d, "more", more, 0) != 0)
			rte_tel_data_free(more);
	}
	json_decref(pg);
}

/* The result of fn under the switch lock, or NULL while the switch is not (or no longer) there
 * or port names no port. */
static json_t *locked(const char *port, json_t *(*fn)(const struct vsw_port *p),
		      const struct vsw_port **found)
{
	json_t *out = NULL;

	pthread_mutex_lock(&vsw.lock);
	if (!vsw.closed && vsw.fdb != NULL) {
		*found = port[0] != '\0' ? vsw_port_find(port) : NULL;
		if (port[0] == '\0' || *found != NULL)
			out = fn(*found);
	}
	pthread_mutex_unlock(&vsw.lock);
	return out;
}

static json_t *ports(const struct vsw_port *p)
{
	(void)p;
	return vsw_ports_json();
}

/* FDB rows named by "_key": the MAC in VLAN 0, VLAN/MAC in others (the same MAC may be in
 * two VLANs, and a telemetry dict takes a name once) */
static json_t *fdb(const struct vsw_port *p)
{
	json_t *out = vsw_fdb_json(p ? (uint16_t)vsw_port_index(p) : VSW_FDB_NO_PORT), *row;
	size_t i;

	json_array_foreach(out, i, row) {
		json_int_t vlan = json_integer_value(json_object_get(row, "vlan"));
		const char *mac = json_string_value(json_object_get(row, "mac"));

		json_object_set_new(row, "_key", vlan == 0 ? json_string(mac)
							  : json_sprintf("%d/%s", (int)vlan, mac));
	}
	return out;
}

/* /vswkit/ports[,from=N] */
static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char port[VSW_NAME_LEN];
	const struct vsw_port *p;
	unsigned long from;
	json_t *out;

	(void)cmd;
	if (parse_params(params, port, sizeof(port), &from) != 0 || port[0] != '\0' ||
	    (out = locked(port, ports, &p)) == NULL)
		return -1;
	page(out, "name", from, TEL_PORT_ROWS, d);
	json_decref(out);
	return 0;
}

/* /vswkit/fdb[,PORT][,from=N] */
static int tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char port[VSW_NAME_LEN];
	const struct vsw_port *p;
	unsigned long from;
	json_t *out;

	(void)cmd;
	if (parse_params(params, port, sizeof(port), &from) != 0 ||
	    (out = locked(port, fdb, &p)) == NULL)
		return -1;
	page(out, "_key", from, TEL_FDB_ROWS, d);
	json_decref(out);
	return 0;
}

/* /vswkit/stats[,from=N]: the ports' counters, a page at a time; /vswkit/stats,PORT: one */
static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char port[VSW_NAME_LEN];
	const struct vsw_port *p;
	unsigned long from;
	json_t *out;

	(void)cmd;
	if (parse_params(params, port, sizeof(port), &from) != 0 ||
	    (out = locked(port, vsw_stats_json, &p)) == NULL)
		return -1;
	if (p != NULL) {
		rte_tel_data_start_dict(d);
		flatten(out, "", d);
	} else {
		page(json_object_get(out, "ports"), "name", from, TEL_PORT_ROWS, d);
	}
	json_decref(out);
	return 0;
}

void vsw_telemetry_init(void)
{
	rte_telemetry_register_cmd("/vswkit/ports", tel_ports,
				   "Lists the switch ports. Parameters: [from=N]");
	rte_telemetry_register_cmd("/vswkit/fdb", tel_fdb,
				   "MAC table. Parameters: [port][,from=N]");
	rte_telemetry_register_cmd("/vswkit/stats", tel_stats,
				   "Port counters. Parameters: [port] | [from=N]");
}
