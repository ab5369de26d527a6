/* VLAN settings of ports, the control side: `vlan=ID` makes an access port (it tags what it
 * receives, strips what it sends), `trunks=ID[,ID|A-B]... [native=ID]` a trunk (the listed
 * VLANs tagged, the native one untagged), `vlan=none` neither. A port without a setting carries
 * every VLAN as it comes, its untagged frames in VLAN 0 (as OVS's ports without tag or trunks).
 * A setting changes at run time: the datapath table is published again (RCU) and the port's
 * learned FDB entries go, since they may be in VLANs it no longer carries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

#define VLAN_MAX 4094

static void bit_set(uint64_t *bits, unsigned v)
{
	bits[v >> 6] |= 1ULL << (v & 63);
}

static bool bit_get(const uint64_t *bits, unsigned v)
{
	return (bits[v >> 6] >> (v & 63)) & 1;
}

/* One VLAN id, min to 4094: 0 means "untagged" and 4095 is reserved by 802.1Q. */
int vsw_vlan_id(const char *s, uint16_t min, uint16_t *v, char *err, size_t errlen)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = (*s >= '0' && *s <= '9') ? strtoul(s, &end, 10) : 0;
	if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || x < min || x > VLAN_MAX) {
		snprintf(err, errlen, "bad VLAN id '%s': %u to %u (%s4095 is reserved)", s, min,
			 VLAN_MAX, min > 0 ? "0 means untagged, " : "");
		return -EINVAL;
	}
	*v = (uint16_t)x;
	return 0;
}

/* "10,20,30-40" into bits */
static int parse_list(const char *list, uint64_t *bits, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *item;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "trunks= list too long (%zu characters at most)",
			 sizeof(buf) - 1);
		return -EINVAL;
	}
	if (buf[0] == '\0' || buf[0] == ',' || buf[strlen(buf) - 1] == ',' ||
	    strstr(buf, ",,") != NULL) {
		snprintf(err, errlen, "bad trunks '%s': use ID[,ID|A-B]...", list);
		return -EINVAL;
	}
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(item, '-');
		uint16_t a, b;

		if (dash != NULL)
			*dash = '\0';
		if (vsw_vlan_id(item, 1, &a, err, errlen) != 0)
			return -EINVAL;
		b = a;
		if (dash != NULL && vsw_vlan_id(dash + 1, 1, &b, err, errlen) != 0)
			return -EINVAL;
		if (b < a) {
			snprintf(err, errlen, "bad trunks range %u-%u: the first id is larger", a,
				 b);
			return -EINVAL;
		}
		for (unsigned v = a; v <= b; v++)
			bit_set(bits, v);
	}
	return 0;
}

int vsw_vlan_parse(const char *port, const struct vsw_port_vlan *cur, int *argc, char **argv,
		   struct vsw_port_vlan *cfg, bool *found, char *err, size_t errlen)
{
	const char *vlan = NULL, *trunks = NULL, *native = NULL;
	int kept = 0;

	*found = false;
	for (int i = 0; i < *argc; i++) {
		const char **slot = NULL, *v;

		if (vsw_kv(argv[i], "vlan", &v))
			slot = &vlan;
		else if (vsw_kv(argv[i], "trunks", &v))
			slot = &trunks;
		else if (vsw_kv(argv[i], "native", &v))
			slot = &native;
		if (slot == NULL) {
			argv[kept++] = argv[i];
			continue;
		}
		if (*slot != NULL) {
			snprintf(err, errlen, "port %s: %.*s= given twice", port,
				 (int)(strchr(argv[i], '=') - argv[i]), argv[i]);
			return -EINVAL;
		}
		*slot = v;
	}
	*found = vlan != NULL || trunks != NULL || native != NULL;
	*cfg = *cur;
	if (!*found)
		return 0;
	if (vlan != NULL && (trunks != NULL || native != NULL)) {
		snprintf(err, errlen,
			 "port %s: vlan= (access) and trunks=/native= (trunk) exclude "
			 "each other",
			 port);
		return -EINVAL;
	}
	if (native != NULL && trunks == NULL) {
		snprintf(err, errlen, "port %s: native= goes with trunks=", port);
		return -EINVAL;
	}
	memset(cfg, 0, sizeof(*cfg));
	if (vlan != NULL && strcmp(vlan, "none") == 0) {
		cfg->mode = VSW_VLAN_MODE_NONE;
	} else if (vlan != NULL) {
		cfg->mode = VSW_VLAN_MODE_ACCESS;
		if (vsw_vlan_id(vlan, 1, &cfg->vlan, err, errlen) != 0)
			return -EINVAL;
	} else {
		cfg->mode = VSW_VLAN_MODE_TRUNK;
		if (parse_list(trunks, cfg->trunks, err, errlen) != 0 ||
		    (native != NULL && vsw_vlan_id(native, 1, &cfg->vlan, err, errlen) != 0))
			return -EINVAL;
	}
	*argc = kept;
	return 0;
}

bool vsw_vlan_any(void)
{
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used && vsw.ports[i].vlan.mode != VSW_VLAN_MODE_NONE)
			return true;
	return false;
}

void vsw_vlan_apply(struct vsw_port *p, const struct vsw_port_vlan *cfg)
{
	bool before = vsw_vlan_any(), after;

	p->vlan = *cfg;
	after = vsw_vlan_any();
	vsw_dp_publish(); /* returns once no PMD classifies by the old setting */
	/* what was learned may be in VLANs the port no longer carries; when classification by
	 * VLAN starts or stops, everything learned was keyed the other way */
	vsw_fdb_flush(vsw.fdb, before != after ? VSW_FDB_NO_PORT : (uint16_t)vsw_port_index(p),
		      VSW_FDB_ANY_VLAN, false);
	VSW_LOG(INFO, "port %s: VLAN setting changed\n", p->name);
}

uint16_t vsw_vlan_untagged(const struct vsw_port *p)
{
	switch (p->vlan.mode) {
	case VSW_VLAN_MODE_ACCESS:
		return p->vlan.vlan;
	case VSW_VLAN_MODE_TRUNK:
		return p->vlan.vlan != 0 ? p->vlan.vlan : VSW_VLAN_NONE;
	default:
		return 0;
	}
}

void vsw_vlan_dp(const struct vsw_port *p, struct vsw_dp_vlan *dv)
{
	memset(dv, 0, sizeof(*dv));
	dv->untagged = vsw_vlan_untagged(p);
	dv->tx_offload = p->vlan_tx_offload;
	if (p->vlan.mode == VSW_VLAN_MODE_TRUNK) {
		memcpy(dv->tagged, p->vlan.trunks, sizeof(dv->tagged));
	} else if (p->vlan.mode == VSW_VLAN_MODE_NONE) {
		memset(dv->tagged, 0xff, sizeof(dv->tagged));
		dv->tagged[0] &= ~1ULL;			/* VLAN 0 is the untagged one */
		dv->tagged[4095 >> 6] &= ~(1ULL << 63); /* 4095 is reserved */
	}
}

bool vsw_vlan_carries(const struct vsw_port *p, uint16_t vlan)
{
	struct vsw_dp_vlan dv;

	vsw_vlan_dp(p, &dv);
	return vlan == dv.untagged || (vlan <= VLAN_MAX && bit_get(dv.tagged, vlan));
}

/* A trunk list as the user would write it: 10,20,30-40 */
static void format_list(const uint64_t *bits, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned v = 1; v <= VLAN_MAX && n < len; v++) {
		unsigned e = v;

		if (!bit_get(bits, v))
			continue;
		while (e + 1 <= VLAN_MAX && bit_get(bits, e + 1))
			e++;
		n += (size_t)snprintf(out + n, len - n, e > v ? "%s%u-%u" : "%s%u", n ? "," : "", v,
				      e);
		v = e;
	}
}

void vsw_vlan_json(const struct vsw_port *p, json_t *o)
{
	static const char *const modes[] = {"none", "access", "trunk"};
	char list[512];
	const struct vsw_port_vlan *c = &p->vlan;

	json_object_set_new(o, "vlan_mode", json_string(modes[c->mode]));
	json_object_set_new(o, "vlan",
			    c->mode == VSW_VLAN_MODE_ACCESS ? json_integer(c->vlan) : json_null());
	if (c->mode == VSW_VLAN_MODE_TRUNK)
		format_list(c->trunks, list, sizeof(list));
	json_object_set_new(o, "trunks",
			    c->mode == VSW_VLAN_MODE_TRUNK ? json_string(list) : json_null());
	json_object_set_new(o, "native",
			    c->mode == VSW_VLAN_MODE_TRUNK && c->vlan != 0 ? json_integer(c->vlan)
									   : json_null());
}

uint64_t vsw_vlan_tx_offloads(const struct rte_eth_dev_info *info)
{
	return info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
}
