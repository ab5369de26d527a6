/* The control socket: a client sends one JSON line {"argv": [...]} and reads one JSON line back,
 * {"ok": true, "result": ...} or {"ok": false, "error": "..."}. Requests run one at a time on the
 * control thread, under the switch lock that telemetry readers take too.
 *
 * Clients are non-blocking: one poll() watches the listening socket and every client, each with
 * its own buffers and deadline, so a slow or silent client costs nothing and never holds the
 * control thread (which also polls links and vhost queue state, see main.c). */
#include <errno.h>
#include <fcntl.h>
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

int vsw_ctl_open(const char *path, int gid, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t mask;
	int rc = vsw_ctl_check(path, err, errlen);

	if (rc != 0)
		return rc;
	unix_addr(path, &sa);
	if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket path %s exists and is not a socket", path);
		return -EEXIST;
	}
	unlink(path); /* nobody listens: a stale socket */
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mask = umask(0117); /* born 0660: no moment when others may connect */
	rc = listen_fd < 0 ? -1 : bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	/* the group is set on the socket itself, never through a link someone put there */
	if (rc != 0 ||
	    (gid >= 0 &&
	     fchownat(AT_FDCWD, path, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW) != 0) ||
	    listen(listen_fd, 16) != 0) {
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

/* A client gets CLIENT_MS to send its line and CLIENT_MS to take the answer; then it is dropped.
 * Only the client waits meanwhile. A reply cut short has no newline (the newline is its last
 * byte), so the client sees it is cut. */
#define CLIENT_MS 5000
#define MAX_CLIENTS 32

struct client {
	int fd;
	char *in; /* the request as read so far, REQ_MAX bytes */
	size_t in_len;
	char *out; /* the reply with its newline, once the request has run */
	size_t out_len, out_off;
	uint64_t deadline; /* timer cycles */
};

static struct client clients[MAX_CLIENTS];
static unsigned n_clients;

static void drop(unsigned i)
{
	close(clients[i].fd);
	free(clients[i].in);
	free(clients[i].out);
	clients[i] = clients[--n_clients];
}

static json_t *refuse(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/* The request is complete (or refused): run it and turn the client round to writing. */
static void answer(struct client *c, json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t tl;

	json_decref(reply);
	if (text == NULL) /* e.g. an error text json cannot encode */
		text = strdup("{\"ok\":false,\"error\":\"internal error\"}");
	tl = text ? strlen(text) : 0;
	c->out = text ? realloc(text, tl + 1) : NULL;
	if (c->out == NULL) {
		free(text);
		c->out_len = 0;
	} else {
		c->out[tl] = '\n'; /* not a string any more: length-counted */
		c->out_len = tl + 1;
	}
	c->out_off = 0;
	c->deadline = rte_get_timer_cycles() + CLIENT_MS * rte_get_timer_hz() / 1000;
}

/* Reads what the client has sent; false once the client is to be dropped. */
static bool client_read(struct client *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->in_len, REQ_MAX - 1 - c->in_len);
		char *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r == 0 && c->in_len > 0) { /* EOF: the request is what came, newline or not */
			c->in[c->in_len] = '\0';
			answer(c, run(c->in));
			return c->out != NULL;
		}
		if (r <= 0)
			return false;
		c->in_len += (size_t)r;
		nl = memchr(c->in, '\n', c->in_len);
		if (nl != NULL && (size_t)(nl - c->in) + 1 < c->in_len) {
			answer(c, refuse("malformed request: bytes after its newline (one request a "
					 "connection)"));
			return c->out != NULL;
		}
		if (nl != NULL) {
			*nl = '\0';
			answer(c, run(c->in));
			return c->out != NULL;
		}
		if (c->in_len == REQ_MAX - 1) {
			answer(c, refuse("malformed request: longer than 64 KiB"));
			return c->out != NULL; /* out of memory: dropped */
		}
	}
}

/* Sends what the socket takes; false once the client is done (all sent) or to be dropped. */
static bool client_write(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0)
			return false;
		c->out_off += (size_t)w;
	}
	return false;
}

static void accept_clients(void)
{
	while (n_clients < MAX_CLIENTS) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *c;

		if (fd < 0)
			return; /* EAGAIN: none left, or an error: try at the next poll */
		c = &clients[n_clients];
		*c = (struct client){.fd = fd, .in = malloc(REQ_MAX)};
		if (c->in == NULL) {
			close(fd);
			return;
		}
		c->deadline = rte_get_timer_cycles() + CLIENT_MS * rte_get_timer_hz() / 1000;
		n_clients++;
	}
}

/* Waits up to timeout_ms for the listening socket or a client, then serves what is ready and
 * drops clients past their deadline. Never waits on one client. */
void vsw_ctl_poll(int timeout_ms)
{
	struct pollfd pfd[MAX_CLIENTS + 1];
	uint64_t hz = rte_get_timer_hz(), now = rte_get_timer_cycles();
	unsigned n = 0, i;
	int rc;

	if (listen_fd < 0)
		return;
	for (i = 0; i < n_clients; i++) {
		uint64_t left_ms = clients[i].deadline > now ?
					   (clients[i].deadline - now) * 1000 / hz + 1 : 0;

		if ((int)left_ms < timeout_ms)
			timeout_ms = (int)left_ms;
		pfd[n++] = (struct pollfd){.fd = clients[i].fd,
					   .events = clients[i].out ? POLLOUT : POLLIN};
	}
	if (n_clients < MAX_CLIENTS)
		pfd[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
	rc = poll(pfd, n, timeout_ms);
	if (rc < 0)
		return; /* EINTR: a signal; the caller looks at vsw.stop */
	/* clients first (their pfd index is their index), newest accepted last */
	for (i = n_clients; i-- > 0;) {
		struct client *c = &clients[i];
		bool keep = true;

		if (pfd[i].revents != 0) {
			if (c->out == NULL)
				keep = client_read(c);
			if (keep && c->out != NULL)
				keep = client_write(c);
		}
		if (keep && rte_get_timer_cycles() >= c->deadline)
			keep = false; /* too slow: dropped, a reply cut short has no newline */
		if (!keep)
			drop(i);
	}
	if (n > 0 && pfd[n - 1].fd == listen_fd && pfd[n - 1].revents != 0)
		accept_clients();
}

void vsw_ctl_close(void)
{
	while (n_clients > 0)
		drop(n_clients - 1);
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (listen_path[0] != '\0')
		unlink(listen_path);
	listen_path[0] = '\0';
}
