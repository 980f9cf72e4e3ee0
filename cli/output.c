/* labctl's output helpers: tables, CSV, JSON, the progress bar. */
#include "cli/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csv.h>

#define PROGRESS_BAR_WIDTH 30
#define PROGRESS_LABEL_MAX 32    /* bytes of the student id shown after the bar */

/* ---- display width ---- */

struct range {
	uint32_t lo, hi;
};

/* Zero-width: combining marks and joiners, the common cases of names in a class. */
static const struct range zero_width[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
	{ 0x064b, 0x065f }, { 0x0900, 0x0903 }, { 0x093a, 0x094f }, { 0x0e31, 0x0e31 },
	{ 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff },
	{ 0x200b, 0x200f }, { 0x202a, 0x202e }, { 0x2060, 0x2064 }, { 0x20d0, 0x20ff },
	{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff }, { 0xe0100, 0xe01ef },
};

/* East Asian wide and fullwidth, and the emoji blocks terminals draw two cells wide. */
static const struct range double_width[] = {
	{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
	{ 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
	{ 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
	{ 0x1f900, 0x1f9ff }, { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
};

static bool in_ranges(uint32_t c, const struct range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c >= r[i].lo && c <= r[i].hi)
			return true;
	return false;
}

/* Decodes one UTF-8 sequence at S: its length (>= 1) and *CP, or 1 and *CP = -1 for a
 * byte that does not start a valid, shortest-form sequence. */
static size_t utf8_decode(const unsigned char *s, int32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {   /* also stops at the terminating NUL */
			*cp = -1;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = (int32_t)c;
	return n;
}

size_t output_display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	int32_t cp;

	while (*p) {
		p += utf8_decode(p, &cp);
		if (cp < 0)
			w += 1;
		else if (in_ranges((uint32_t)cp, zero_width,
				   sizeof(zero_width) / sizeof(zero_width[0])))
			continue;
		else if (in_ranges((uint32_t)cp, double_width,
				   sizeof(double_width) / sizeof(double_width[0])))
			w += 2;
		else
			w += 1;
	}
	return w;
}

/* ---- tables ---- */

/* A copy of S with C0 controls, DEL and C1 controls (U+0080..U+009F) as '?'. */
static char *cell_dup(const char *s)
{
	const unsigned char *p;
	size_t i = 0, n;
	char *out;
	int32_t cp;

	if (s == NULL)
		s = "-";
	out = malloc(strlen(s) + 1);
	if (out == NULL)
		return NULL;
	p = (const unsigned char *)s;
	while (*p) {
		n = utf8_decode(p, &cp);
		if (cp >= 0 && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))) {
			out[i++] = '?';
		} else {
			memcpy(out + i, p, n);
			i += n;
		}
		p += n;
	}
	out[i] = '\0';
	return out;
}

static int table_push(struct table *t, const char *const *cells)
{
	size_t rows = t->nrows + (t->cells ? 1 : 0), i;

	if (rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->cells, ncap * t->ncols * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		t->cells = n;
		t->cap = ncap;
	}
	for (i = 0; i < t->ncols; i++) {
		t->cells[rows * t->ncols + i] = cell_dup(cells[i]);
		if (t->cells[rows * t->ncols + i] == NULL) {
			while (i-- > 0)
				free(t->cells[rows * t->ncols + i]);
			return -ENOMEM;
		}
	}
	return 0;
}

int table_init(struct table *t, size_t ncols, const char *const *header)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	r = table_push(t, header);
	if (r < 0) {
		/* No header: nothing in cells is a string table_free could free. */
		free(t->cells);
		memset(t, 0, sizeof(*t));
	}
	return r;
}

int table_add_row(struct table *t, const char *const *cells)
{
	int r = table_push(t, cells);

	if (r == 0)
		t->nrows++;
	return r;
}

int table_print(const struct table *t, FILE *f)
{
	size_t *width, r, c, w;
	int ret = 0;

	width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
	if (width == NULL)
		return -ENOMEM;
	for (r = 0; r <= t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = output_display_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r <= t->nrows; r++) {
		size_t last = t->ncols;

		/* No padding after the last cell that has text: no trailing blanks. */
		while (last > 1 && t->cells[r * t->ncols + last - 1][0] == '\0')
			last--;
		for (c = 0; c < last; c++) {
			const char *s = t->cells[r * t->ncols + c];

			fputs(s, f);
			if (c + 1 == last)
				break;
			/* Pad by display width: printf's %-*s counts bytes. */
			for (w = output_display_width(s); w < width[c] + 2; w++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
	if (ferror(f))
		ret = -EIO;
	free(width);
	return ret;
}

void table_free(struct table *t)
{
	size_t i, n = t->cells ? (t->nrows + 1) * t->ncols : 0;

	for (i = 0; i < n; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- CSV ---- */

int output_csv_field(FILE *f, const char *s)
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))) {
		/* libcsv's writer quotes the field and doubles the quotes inside. */
		if (csv_fwrite(f, s, n) != 0)
			return -EIO;
	} else if (fputs(s, f) == EOF && n > 0) {
		return -EIO;
	}
	return ferror(f) ? -EIO : 0;
}

int output_csv_row(FILE *f, const char *const *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && fputc(',', f) == EOF)
			return -EIO;
		if (output_csv_field(f, fields[i]) < 0)
			return -EIO;
	}
	return fputc('\n', f) == EOF ? -EIO : 0;
}

/* ---- JSON ---- */

int output_json(FILE *f, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (s == NULL)
		return -ENOMEM;
	if (fputs(s, f) == EOF || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

/* ---- the connection sheet ---- */

int output_ssh_command(char *buf, size_t len, const char *user, const char *ip,
		       int64_t port)
{
	int n;

	if (user == NULL || *user == '\0' || ip == NULL || *ip == '\0' || port < 1 ||
	    port > 65535)
		return -EINVAL;
	n = snprintf(buf, len, "ssh -p %" PRId64 " %s@%s", port, user, ip);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

/* ---- progress ---- */

void output_progress_format(char *buf, size_t len, unsigned done, unsigned total,
			    const char *label, unsigned width)
{
	char bar[128], safe[PROGRESS_LABEL_MAX + 1];
	unsigned fill, i;
	size_t j;

	if (width > sizeof(bar) - 1)
		width = sizeof(bar) - 1;
	if (done > total)
		done = total;
	fill = total ? (unsigned)((uint64_t)done * width / total) : 0;
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : ' ';
	/* The arrow head marks the front while work remains. */
	if (fill > 0 && done < total)
		bar[fill - 1] = '>';
	bar[width] = '\0';

	/* The label is an id from labd: printable ASCII only on the terminal. */
	for (j = 0; label != NULL && label[j] != '\0' && j < PROGRESS_LABEL_MAX; j++)
		safe[j] = (label[j] > 0x20 && label[j] < 0x7f) ? label[j] : '?';
	safe[j] = '\0';
	snprintf(buf, len, "[%s] %u/%u%s%s", bar, done, total, j ? " " : "", safe);
}

void progress_init(struct progress *p, FILE *f)
{
	p->f = f;
	p->enabled = isatty(fileno(f)) == 1;
	p->drawn = false;
}

void progress_update(struct progress *p, unsigned done, unsigned total, const char *label)
{
	char line[256];
	struct winsize ws;
	unsigned width = PROGRESS_BAR_WIDTH;
	size_t n;

	if (!p->enabled)
		return;
	/* On a narrow terminal a wrapped bar would scroll instead of redraw. */
	if (ioctl(fileno(p->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_col < PROGRESS_BAR_WIDTH + 20)
		width = ws.ws_col > 30 ? ws.ws_col - 20u : 10u;
	output_progress_format(line, sizeof(line), done, total, label, width);
	n = strlen(line);
	if (ioctl(fileno(p->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && n >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	/* \r back to column 0, \033[K erases what a longer label left behind. */
	fprintf(p->f, "\r%s\033[K", line);
	fflush(p->f);
	p->drawn = true;
}

void progress_clear(struct progress *p)
{
	if (!p->enabled || !p->drawn)
		return;
	fputs("\r\033[K", p->f);
	fflush(p->f);
	p->drawn = false;
}
