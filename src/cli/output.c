/*
 * output.c
 *	  Owns how the `shelfops` program prints and encodes: the aligned table of
 *	  whatever columns a result has, a growable string, JSON string escaping
 *	  (for the few client-side JSON lines: errors, written files) and the
 *	  text[] literal of a list of values.  Every other JSON document is made
 *	  by the server.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"

/* Type OIDs of the columns printed right-aligned (pg_type.h is server-side). */
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define OIDOID		26
#define FLOAT4OID	700
#define FLOAT8OID	701
#define NUMERICOID	1700

/* Longest cell of a table, in characters; longer ones end in "...". */
#define MAX_CELL	100

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "shelfops: out of memory\n");
		exit(EXIT_LOCAL);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;
	char	   *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

void
buf_init(Buf *b)
{
	b->cap = 256;
	b->len = 0;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
}

void
buf_putn(Buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
		{
			fprintf(stderr, "shelfops: out of memory\n");
			exit(EXIT_LOCAL);
		}
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_put(Buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	char		small[256];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < (int) sizeof(small))
	{
		buf_putn(b, small, n);
		return;
	}
	{
		char	   *big = xmalloc(n + 1);

		va_start(ap, fmt);
		vsnprintf(big, n + 1, fmt, ap);
		va_end(ap);
		buf_putn(b, big, n);
		free(big);
	}
}

void
buf_free(Buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* s as a JSON string, quotes included. */
void
buf_json_string(Buf *b, const char *s)
{
	buf_put(b, "\"");
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			buf_putn(b, "\\", 1);
			buf_putn(b, s, 1);
		}
		else if (c == '\n')
			buf_put(b, "\\n");
		else if (c == '\t')
			buf_put(b, "\\t");
		else if (c == '\r')
			buf_put(b, "\\r");
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putn(b, s, 1);
	}
	buf_put(b, "\"");
}

/* A text[] literal: every element double-quoted, " and \ escaped. */
void
buf_array_literal(Buf *b, char *const *items, int n)
{
	buf_put(b, "{");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			buf_put(b, ",");
		buf_put(b, "\"");
		for (const char *s = items[i]; *s; s++)
		{
			if (*s == '"' || *s == '\\')
				buf_putn(b, "\\", 1);
			buf_putn(b, s, 1);
		}
		buf_put(b, "\"");
	}
	buf_put(b, "}");
}

static bool
is_numeric_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID || t == OIDOID ||
		t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID;
}

/* Characters (UTF-8 code points) in s. */
static size_t
display_width(const char *s)
{
	size_t		w = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			w++;
	return w;
}

/*
 * One cell as shown: floats with six significant digits (the exact value is in
 * --json), control characters as spaces, at most MAX_CELL characters.
 */
static char *
format_cell(const struct pg_result *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	Oid			t = PQftype(res, col);
	Buf			b;
	size_t		chars = 0;

	if (PQgetisnull(res, row, col))
		return xstrdup("");
	buf_init(&b);
	if (t == FLOAT4OID || t == FLOAT8OID)
	{
		char	   *end;
		double		d = strtod(v, &end);

		if (*end != '\0' || !isfinite(d))
			buf_put(&b, v);
		else if (d == floor(d) && fabs(d) < 1e15)
			buf_printf(&b, "%.0f", d);
		else if (fabs(d) >= 1e5)
			buf_printf(&b, "%.1f", d);
		else
			buf_printf(&b, "%.6g", d);
		return b.data;
	}
	for (const char *s = v; *s; s++)
	{
		if (((unsigned char) *s & 0xC0) != 0x80)
		{
			if (++chars > MAX_CELL - 3)
			{
				buf_put(&b, "...");
				break;
			}
		}
		if ((unsigned char) *s < 0x20)
			buf_put(&b, " ");
		else
			buf_putn(&b, s, 1);
	}
	return b.data;
}

static void
pad(FILE *out, size_t n)
{
	while (n-- > 0)
		fputc(' ', out);
}

/*
 * The result as an aligned table: a header of the column names, a rule, one
 * line per row (numbers right-aligned, NULL empty), then "(N rows)".
 */
void
print_table(FILE *out, const struct pg_result *res)
{
	int			ncols = PQnfields(res);
	int			nrows = PQntuples(res);
	size_t	   *width = xmalloc(sizeof(size_t) * (ncols > 0 ? ncols : 1));
	char	  **cells = xmalloc(sizeof(char *) * ((size_t) nrows * ncols + 1));

	for (int c = 0; c < ncols; c++)
		width[c] = display_width(PQfname(res, c));
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++)
		{
			char	   *cell = format_cell(res, r, c);
			size_t		w = display_width(cell);

			cells[r * ncols + c] = cell;
			if (w > width[c])
				width[c] = w;
		}

	for (int c = 0; c < ncols; c++)
	{
		const char *name = PQfname(res, c);
		size_t		w = display_width(name);

		fputs(c == 0 ? "" : " | ", out);
		/* header centred like psql would be noisy; left-aligned reads well */
		fputs(name, out);
		if (c < ncols - 1)
			pad(out, width[c] - w);
	}
	fputc('\n', out);
	for (int c = 0; c < ncols; c++)
	{
		if (c > 0)
			fputs("-+-", out);
		for (size_t i = 0; i < width[c]; i++)
			fputc('-', out);
	}
	fputc('\n', out);
	for (int r = 0; r < nrows; r++)
	{
		for (int c = 0; c < ncols; c++)
		{
			const char *cell = cells[r * ncols + c];
			size_t		w = display_width(cell);

			fputs(c == 0 ? "" : " | ", out);
			if (is_numeric_type(PQftype(res, c)))
			{
				pad(out, width[c] - w);
				fputs(cell, out);
			}
			else
			{
				fputs(cell, out);
				if (c < ncols - 1)
					pad(out, width[c] - w);
			}
		}
		fputc('\n', out);
	}
	fprintf(out, "(%d row%s)\n", nrows, nrows == 1 ? "" : "s");

	for (int i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
}
