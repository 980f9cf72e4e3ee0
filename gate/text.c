/* labd's words, made safe to print on a student's terminal (see text.h). */
#include "gate/text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/proto.h"

const char *text_clean(const char *in, char *out, size_t outlen)
{
	size_t i;

	if (in == NULL)
		in = "";
	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
	return out;
}

const char *text_status_line(json_object *reply, const char *student, char *out, size_t outlen)
{
	char state[64], user[64], ip[64], who[64];
	const char *s = NULL, *u = NULL, *a = NULL;
	int64_t port = 0;

	(void)proto_get_string(reply, "state", false, &s, NULL);
	(void)proto_get_string(reply, "user", false, &u, NULL);
	(void)proto_get_string(reply, "public_ip", false, &a, NULL);
	(void)proto_get_int(reply, "public_port", false, 1, 65535, &port, NULL);
	text_clean(student, who, sizeof(who));
	text_clean(s ? s : "unknown", state, sizeof(state));
	if (u != NULL && a != NULL && port > 0)
		snprintf(out, outlen, "%s: %s; ssh -p %" PRId64 " %s@%s", who, state, port,
			 text_clean(u, user, sizeof(user)), text_clean(a, ip, sizeof(ip)));
	else
		snprintf(out, outlen, "%s: %s", who, state);
	return out;
}
