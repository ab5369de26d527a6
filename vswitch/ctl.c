/* The control socket: a client sends one JSON line {"argv": [...]} and reads one JSON line back,
 * {"ok": true, "result": ...} or {"ok": false, "error": "..."}. Requests run one at a time on the
 * control thread, under the switch lock that telemetry readers take too. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "unix_socket.h"
#include "vswd.h"

#define REQ_MAX 65536

static int listen_fd = -1;
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

int vsw_ctl_check(const char *path, char *err, size_t errlen)
{
	int rc = unix_listening(path);

	if (rc < 0) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return rc;
	}
	if (rc == 1) {
		snprintf(err, errlen, "control socket %s is in use by another vswd", path);
		return -EADDRINUSE;
	}
	return 0;
}

int vsw_ctl_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int rc = vsw_ctl_check(path, err, errlen);

	if (rc != 0)
		return rc;
	unix_addr(path, &sa);
	if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket path %s exists and is not a socket", path);
		return -EEXIST;
	}
	unlink(path); /* nobody listens: a stale socket */
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(listen_fd, 16) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		vsw_ctl_close();
		return rc;
	}
	snprintf(listen_path, sizeof(listen_path), "%s", path);
	return 0;
}

static json_t *run(const char *req)
{
	char err[VSW_ERR_LEN] = "", *argv[64];
	json_t *j = json_loads(req, 0, NULL), *a = json_object_get(j, "argv"), *out = NULL, *reply;
	size_t n = json_array_size(a);
	int rc;

	if (!json_is_array(a) || n > RTE_DIM(argv)) {
		json_decref(j);
		return json_pack("{s:b, s:s}", "ok", 0, "error", "malformed request");
	}
	for (size_t i = 0; i < n; i++) {
		argv[i] = (char *)json_string_value(json_array_get(a, i));
		if (argv[i] == NULL) {
			json_decref(j);
			return json_pack("{s:b, s:s}", "ok", 0, "error", "malformed request");
		}
	}
	pthread_mutex_lock(&vsw.lock);
	rc = vsw_cmd_exec((int)n, argv, &out, err, sizeof(err));
	pthread_mutex_unlock(&vsw.lock);
	if (rc != 0) {
		reply = json_pack("{s:b, s:s}", "ok", 0, "error", err[0] ? err : strerror(-rc));
		json_decref(out);
	} else {
		reply = json_pack("{s:b, s:o}", "ok", 1, "result", out ? out : json_null());
	}
	json_decref(j);
	return reply;
}

/* One request, one reply. A client gets 2 s to send its line and 2 s to take the answer, so a
 * slow or stuck client cannot hold the control thread; the command itself may take longer (a
 * port add on a busy host). A reply cut short has no newline, so the client sees it is cut. */
static void serve(int fd)
{
	static char req[REQ_MAX];
	struct timeval tv = {.tv_sec = 2};
	uint64_t hz = rte_get_timer_hz(), deadline = rte_get_timer_cycles() + 2 * hz;
	size_t len = 0;
	json_t *reply;
	char *text;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(req) - 1 && memchr(req, '\n', len) == NULL &&
	       rte_get_timer_cycles() < deadline) {
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	req[len] = '\0';
	reply = run(req);
	text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (text == NULL) /* e.g. an error text json cannot encode */
		text = strdup("{\"ok\":false,\"error\":\"internal error\"}");
	deadline = rte_get_timer_cycles() + 2 * hz;
	for (size_t tl = strlen(text), off = 0; off <= tl && rte_get_timer_cycles() < deadline;) {
		/* the text, then its newline once the whole text is out */
		ssize_t w = off < tl ? write(fd, text + off, tl - off) : write(fd, "\n", 1);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(text);
	json_decref(reply);
}

void vsw_ctl_poll(int timeout_ms)
{
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};

	if (poll(&pfd, 1, timeout_ms) == 1) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			serve(fd);
			close(fd);
		}
	}
}

void vsw_ctl_close(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (listen_path[0] != '\0')
		unlink(listen_path);
	listen_path[0] = '\0';
}
