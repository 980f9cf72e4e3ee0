#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_name = "vlab";
static bool log_fg = true;
static int log_lvl = LOG_LVL_INFO;

void log_init(const char *name, bool foreground, int level)
{
	log_name = name;
	log_fg = foreground;
	log_lvl = level;
	if (!foreground)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(int level) { log_lvl = level; }
int log_getlevel(void) { return log_lvl; }

static void log_vemit(int lvl, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_vemit(int lvl, int errnum, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	int n;

	if (lvl > log_lvl)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
	if (log_fg) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%s]: %s\n", when, ts.tv_nsec / 1000000L,
			log_name, tag[lvl], msg);
	} else {
		syslog(prio[lvl], "%s", msg);
	}
}

#define LOG_BODY(lvl, errnum)                       \
	do {                                        \
		int saved = errno;                  \
		va_list ap;                         \
		va_start(ap, fmt);                  \
		log_vemit((lvl), (errnum), fmt, ap); \
		va_end(ap);                         \
		errno = saved;                      \
	} while (0)

void log_warn(const char *fmt, ...)  { LOG_BODY(LOG_LVL_WARN, errno); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }
void log_err(const char *fmt, ...)   { LOG_BODY(LOG_LVL_ERR, errno); }
void log_errx(const char *fmt, ...)  { LOG_BODY(LOG_LVL_ERR, 0); }

void fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, errno);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
	exit(1);
}
