/* vswctl: sends one command to vswd's control socket and prints the answer, as tables for
 * people or as JSON (--json) for scripts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "unix_socket.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vswctl [--ctl PATH] [--json] COMMAND\n"
		   "  port add NAME vhost path=SOCK [mode=server|client] [queues=N]\n"
		   "  port add NAME dpdk dev=PCI-ADDRESS-OR-VDEV-SPEC\n"
		   "  port add NAME tap [ip=CIDR]\n"
		   "  port add NAME vxlan vni=N local=IP remotes=IP[,IP]... underlay=PORT [dstport=4789]\n"
		   "      [udpcsum=on|off]\n"
		   "    ... [vlan=ID | trunks=ID[,ID|A-B]... [native=ID]]   on any port add: access\n"
		   "        port (untagged in VLAN ID) or trunk (those VLANs tagged, native untagged)\n"
		   "  port del NAME\n"
		   "  port list\n"
		   "  port set NAME drop=PERCENT[,seed=N]   lose PERCENT (0-100) of received frames\n"
		   "  port set NAME vlan=ID | trunks=LIST [native=ID] | vlan=none   change its VLANs\n"
		   "  fdb show [PORT] [vlan=ID] | fdb add MAC PORT [vlan=ID] | fdb del MAC [vlan=ID]\n"
		   "  fdb flush [PORT] [vlan=ID] | fdb aging [SECONDS]\n"
		   "  stats [PORT] | stats clear [PORT]\n"
		   "  version\n"
		   "  --ctl PATH  vswd's control socket (default /run/vswkit/vswd.sock)\n"
		   "  --json      print the result as JSON\n");
}

static int fail(const char *fmt, const char *a, const char *b)
{
	fputs("vswctl: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static void print_scalar(FILE *f, json_t *v, int width)
{
	char *s = json_is_string(v) || v == NULL ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	fprintf(f, "%-*s", width, s ? s : v ? json_string_value(v) : "-");
	free(s);
}

static int has(json_t *cols, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(cols, i, c) if (strcmp(json_string_value(c), name) == 0) return 1;
	return 0;
}

/* Columns of a table: the leaves of every row, nested objects as parent.child. */
static void leaves(json_t *o, const char *prefix, json_t *cols)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char name[128];

		snprintf(name, sizeof(name), "%s%s", prefix, k);
		if (json_is_object(v)) {
			char sub[sizeof(name) + 1];

			snprintf(sub, sizeof(sub), "%s.", name);
			leaves(v, sub, cols);
		}
		else if (!has(cols, name))
			json_array_append_new(cols, json_string(name));
	}
}

static json_t *leaf(json_t *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o;
}

static void print_table(json_t *rows)
{
	json_t *cols = json_array(), *row, *c;
	size_t i, j, ncol;
	int *width;

	if (json_array_size(rows) == 0) {
		printf("(none)\n");
		json_decref(cols);
		return;
	}
	json_array_foreach(rows, i, row) leaves(row, "", cols);
	ncol = json_array_size(cols);
	width = calloc(ncol ? ncol : 1, sizeof(*width));
	json_array_foreach(cols, j, c) {
		width[j] = (int)strlen(json_string_value(c));
		json_array_foreach(rows, i, row) {
			json_t *v = leaf(row, json_string_value(c));
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			int w = s ? (int)strlen(s) - (json_is_string(v) ? 2 : 0) : 4;

			width[j] = w > width[j] ? w : width[j];
			free(s);
		}
	}
	json_array_foreach(cols, j, c) printf("%-*s  ", width[j], json_string_value(c));
	printf("\n");
	json_array_foreach(rows, i, row) {
		json_array_foreach(cols, j, c) {
			print_scalar(stdout, leaf(row, json_string_value(c)), width[j]);
			printf("  ");
		}
		printf("\n");
	}
	free(width);
	json_decref(cols);
}

static void print_result(json_t *r)
{
	const char *k;
	json_t *v;

	if (json_is_array(r)) {
		print_table(r);
		return;
	}
	if (!json_is_object(r)) {
		if (!json_is_null(r)) {
			print_scalar(stdout, r, 0);
			printf("\n");
		}
		return;
	}
	json_object_foreach(r, k, v) {
		if (json_is_array(v)) {
			printf("%s:\n", k);
			print_table(v);
		} else if (json_is_object(v)) {
			json_t *one = json_array();

			json_array_append(one, v);
			printf("%s:\n", k);
			print_table(one);
			json_decref(one);
		} else {
			printf("%s: ", k);
			print_scalar(stdout, v, 0);
			printf("\n");
		}
	}
}

static int request(const char *path, json_t *req, json_t **reply)
{
	struct timeval tv = {.tv_sec = 30}; /* vswd answers at once; never hang a script */
	char *text;
	FILE *f;
	int fd = unix_connect(path, 10000); /* a full backlog: vswd is busy, not forever */

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	f = fdopen(fd, "r+");
	text = json_dumps(req, JSON_COMPACT);
	fprintf(f, "%s\n", text);
	fflush(f);
	free(text);
	*reply = json_loadf(f, JSON_DISABLE_EOF_CHECK, NULL);
	fclose(f);
	return *reply ? 0 : -EPROTO;
}

int main(int argc, char **argv)
{
	const char *ctl = "/run/vswkit/vswd.sock";
	json_t *req, *args, *reply = NULL, *result;
	int i = 1, as_json = 0, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc) {
			ctl = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return fail("unknown option '%s'%s", argv[i], "");
		}
	}
	if (i == argc) {
		usage(stderr);
		return fail("no command%s%s", "", "");
	}
	args = json_array();
	for (; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	req = json_pack("{s:o}", "argv", args);
	rc = request(ctl, req, &reply);
	json_decref(req);
	if (rc != 0)
		return fail("cannot reach vswd on %s: %s", ctl,
			    rc == -EPROTO ? "no answer" : strerror(-rc));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));

		rc = fail("%s%s", e ? e : "vswd refused the command", "");
		json_decref(reply); /* e is the reply's: freed once printed (LSan found it leaked) */
		return rc;
	}
	result = json_object_get(reply, "result");
	if (as_json) {
		char *s = json_dumps(result, JSON_ENCODE_ANY | JSON_INDENT(2));

		printf("%s\n", s);
		free(s);
	} else {
		print_result(result);
	}
	json_decref(reply);
	return 0;
}
