/* Port kind "vhost": a vhost-user socket, through the vhost/ module. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhost.h"
#include "vswd.h"

static int vhost_open(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	const char *v, *path = NULL, *mode = "server";
	struct vhp_params vp;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (vsw_kv(argv[i], "path", &v)) {
			path = v;
		} else if (vsw_kv(argv[i], "mode", &v)) {
			mode = v;
		} else if (vsw_kv(argv[i], "queues", &v)) {
			char *end;
			long q = strtol(v, &end, 10);

			if (*v == '\0' || *end != '\0' || q < 1 || q > VSW_MAX_QUEUES) {
				snprintf(err, errlen, "bad queues '%s': 1 to %d", v, VSW_MAX_QUEUES);
				return -EINVAL;
			}
			p->queues = (uint16_t)q;
		} else {
			snprintf(err, errlen, "unknown vhost option '%s' (path=, mode=, queues=)",
				 argv[i]);
			return -EINVAL;
		}
	}
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "vhost port needs path=SOCKET");
		return -EINVAL;
	}
	if (strcmp(mode, "server") != 0 && strcmp(mode, "client") != 0) {
		snprintf(err, errlen, "bad mode '%s': server or client", mode);
		return -EINVAL;
	}
	p->client = strcmp(mode, "client") == 0;
	rc = vsw_trust_vhost_path(path, p->client, p->path, sizeof(p->path), err, errlen);
	if (rc != 0)
		return rc;
	vp = (struct vhp_params){.path = p->path, .client = p->client, .queues = p->queues};
	return vhp_create(p->name, &vp, &p->port_id, err, errlen);
}

static void vhost_close(struct vsw_port *p)
{
	vhp_destroy(p->port_id);
}

static void vhost_describe(const struct vsw_port *p, json_t *o)
{
	json_object_set_new(o, "path", json_string(p->path));
	json_object_set_new(o, "mode", json_string(p->client ? "client" : "server"));
	json_object_set_new(o, "queues", json_integer(p->queues));
	json_object_set_new(o, "connected", json_boolean(vhp_connected(p->port_id)));
}

static bool vhost_poll_txqs(struct vsw_port *p)
{
	return vhp_poll_txqs(p->port_id, &p->txq_mask);
}

const struct vsw_port_ops vsw_port_vhost = {
	.kind = "vhost",
	.open = vhost_open,
	.close = vhost_close,
	.describe = vhost_describe,
	.poll_txqs = vhost_poll_txqs,
};
