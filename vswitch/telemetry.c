/* DPDK telemetry commands, so dpdk-telemetry.py shows the switch: /vswkit/ports, /vswkit/fdb and
 * /vswkit/stats[,PORT]; /vswkit/fdb comes in pages (tel_fdb). They reuse the vswctl command
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
 * are letters, digits and '_', so a MAC key reads 02_00_00_00_00_01). */
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
		flatten(o, "", c);
		snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(o, key)));
		for (char *p = name; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p))
				*p = '_';
		if (rte_tel_data_add_dict_container(d, name, c, 0) != 0)
			rte_tel_data_free(c);
	}
}

/* Runs fn under the switch lock, or fails while the switch is not (or no longer) there. A port
 * parameter must name a port. */
static int with_switch(const char *params, json_t *(*fn)(const struct vsw_port *p), const char *key,
		       const char *sub, struct rte_tel_data *d)
{
	struct vsw_port *p = NULL;
	json_t *out = NULL;

	pthread_mutex_lock(&vsw.lock);
	if (!vsw.closed && vsw.fdb != NULL &&
	    (params == NULL || *params == '\0' || (p = vsw_port_find(params)) != NULL))
		out = fn(p);
	pthread_mutex_unlock(&vsw.lock);
	if (out == NULL)
		return -1;
	if (json_is_array(out)) {
		by_key(out, key, d);
	} else if (p == NULL) {
		by_key(json_object_get(out, sub), key, d);
	} else {
		rte_tel_data_start_dict(d);
		flatten(out, "", d);
	}
	json_decref(out);
	return 0;
}

static json_t *ports(const struct vsw_port *p)
{
	(void)p;
	return vsw_ports_json();
}

static json_t *fdb(const struct vsw_port *p)
{
	return vsw_fdb_json(p ? (uint16_t)vsw_port_index(p) : VSW_FDB_NO_PORT);
}

static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return with_switch(NULL, ports, "name", NULL, d);
}

/* Rows per /vswkit/fdb reply: a row takes up to about 130 bytes of telemetry's 16 KB output, and
 * a dict holds 256 entries at most; telemetry drops what does not fit without a word. */
#define TEL_FDB_ROWS 100

/* /vswkit/fdb[,PORT][,from=N]: up to TEL_FDB_ROWS rows from row N (0 first). When rows are left
 * out, the reply says so in "more": {"total", "from", "next"} (next 0: none after these). */
static int tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char port[VSW_NAME_LEN] = "", *end;
	const char *f = NULL;
	unsigned long from = 0;
	size_t total, shown, i;
	json_t *out, *page, *row;
	struct rte_tel_data *more;

	(void)cmd;
	if (params != NULL && *params != '\0') {
		f = strncmp(params, "from=", 5) == 0 ? params : strstr(params, ",from=");
		if (f != NULL) {
			if ((size_t)(f - params) >= sizeof(port))
				return -1;
			memcpy(port, params, (size_t)(f - params));
			f = strchr(f, '=') + 1;
			from = strtoul(f, &end, 10);
			if (*f == '\0' || *end != '\0' || !isdigit((unsigned char)*f))
				return -1;
		} else if (snprintf(port, sizeof(port), "%s", params) >= (int)sizeof(port)) {
			return -1;
		}
	}
	pthread_mutex_lock(&vsw.lock);
	out = NULL;
	if (!vsw.closed && vsw.fdb != NULL) {
		struct vsw_port *p = port[0] != '\0' ? vsw_port_find(port) : NULL;

		if (port[0] == '\0' || p != NULL)
			out = fdb(p);
	}
	pthread_mutex_unlock(&vsw.lock);
	if (out == NULL)
		return -1;
	total = json_array_size(out);
	page = json_array();
	for (i = from; i < total && i - from < TEL_FDB_ROWS; i++) {
		row = json_array_get(out, i);
		json_array_append(page, row);
	}
	shown = json_array_size(page);
	by_key(page, "mac", d);
	if (shown < total && (more = rte_tel_data_alloc()) != NULL) {
		rte_tel_data_start_dict(more);
		rte_tel_data_add_dict_u64(more, "total", total);
		rte_tel_data_add_dict_u64(more, "from", from);
		rte_tel_data_add_dict_u64(more, "next", from + shown < total ? from + shown : 0);
		if (rte_tel_data_add_dict_container(d, "more", more, 0) != 0)
			rte_tel_data_free(more);
	}
	json_decref(page);
	json_decref(out);
	return 0;
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return with_switch(params, vsw_stats_json, "name", "ports", d);
}

void vsw_telemetry_init(void)
{
	rte_telemetry_register_cmd("/vswkit/ports", tel_ports, "Lists the switch ports.");
	rte_telemetry_register_cmd("/vswkit/fdb", tel_fdb, "MAC table. Parameters: [port]");
	rte_telemetry_register_cmd("/vswkit/stats", tel_stats, "Port counters. Parameters: [port]");
}
