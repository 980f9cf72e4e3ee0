/*
 * What sshd tells a forced command about its session, read strictly: the client's
 * address (SSH_CONNECTION) for labd's audit log, and the key the session authenticated
 * with (ExposeAuthInfo's SSH_USER_AUTH file) so that labd can check it belongs to the
 * student. sshd sets both; the client cannot (AcceptEnv and PermitUserEnvironment are off).
 */
#ifndef VLAB_GATE_SSHENV_H
#define VLAB_GATE_SSHENV_H

#include <stddef.h>

#define SSHENV_CLIENT_MAX 64     /* "ADDR PORT": an IPv6 address, a space, a port */
#define SSHENV_AUTH_MAX (64 * 1024) /* bytes read from the SSH_USER_AUTH file */

/* "CLIENT_ADDR CLIENT_PORT SERVER_ADDR SERVER_PORT" -> "CLIENT_ADDR CLIENT_PORT" in OUT
 * (SSHENV_CLIENT_MAX bytes). 0, or -EINVAL when it is not exactly that. */
int sshenv_client(const char *ssh_connection, char out[SSHENV_CLIENT_MAX]);

/* The SSH_USER_AUTH text: exactly one line "publickey TYPE BASE64", the key valid.
 * 0 with *KEY = "TYPE BASE64" (malloc'd, canonical), -EINVAL, or -ENOMEM. */
int sshenv_auth_key(const char *text, size_t len, char **key);

/* Reads the file at PATH (at most SSHENV_AUTH_MAX bytes) and parses it as above.
 * -ENOENT etc. when it cannot be read, -EFBIG when it is larger. */
int sshenv_read_auth(const char *path, char **key);

#endif
