/* unix_socket.h: is something listening on a unix socket path? Shared by vswd's control socket
 * and the vhost-user server sockets, which both refuse to take over a live socket. */
#ifndef VSW_UNIX_SOCKET_H
#define VSW_UNIX_SOCKET_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* 1 if a connect() to path succeeds, 0 if not, a negative errno for a bad path. */
static inline int unix_listening(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = unix_addr(path, &sa);

	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

#endif
