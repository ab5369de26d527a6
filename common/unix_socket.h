/* unix_socket.h: bounded connects to unix socket paths. Shared by vswd's control socket and the
 * vhost-user server sockets, which both refuse to take over a live socket, and by vswctl.
 * Nothing here blocks for longer than its bound: a listener that never accepts (its backlog
 * full) must not hang the caller. */
#ifndef VSW_UNIX_SOCKET_H
#define VSW_UNIX_SOCKET_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fills *sa for path; -ENAMETOOLONG if it does not fit. */
static inline int unix_addr(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static inline long unix_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A connected stream socket to path (blocking again once connected), or a negative errno.
 * Tries for at most timeout_ms: a listener with a full backlog answers EAGAIN at once, and is
 * tried again every 10 ms until the bound; then -EAGAIN. */
static inline int unix_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	long deadline = unix_ms_now() + timeout_ms;
	int fd, rc = unix_addr(path, &sa);

	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		long left;

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		rc = -errno;
		left = deadline - unix_ms_now();
		if (rc == -EINPROGRESS && left > 0) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (poll(&p, 1, (int)left) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			rc = soerr ? -soerr : -EAGAIN;
		} else if ((rc == -EAGAIN || rc == -EINTR) && left > 0) {
			struct timespec ts = {.tv_nsec = (left < 10 ? left : 10) * 1000000L};

			nanosleep(&ts, NULL);
			continue;
		}
		close(fd);
		return rc == -EINPROGRESS ? -EAGAIN : rc;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* 1 if something listens on path (it accepted, or its backlog is full: alive but busy), 0 if
 * not, a negative errno for a bad path. Takes at most about 100 ms. */
static inline int unix_listening(const char *path)
{
	int fd = unix_connect(path, 100);

	if (fd == -ENAMETOOLONG)
		return fd;
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd == -EAGAIN || fd == -ETIMEDOUT;
}

#endif
