/*
 * csv.c
 *	  The streaming CSV reader every dataset loader uses: sources (gzip or
 *	  plain file, memory), record splitting and unquoting, header lookup, error
 *	  reporting.  The dialect and its decisions are written up in docs/csv.md.
 *
 * Everything above the SHELFOPS_NO_BACKEND section is plain C on libc and
 * zlib, so the unit tests and the fuzzer build it without a server.  The
 * backend section ties a reader's lifetime to a MemoryContext and turns its
 * errors into ereport(ERROR).
 *
 * How a record is read: the raw bytes sit in one buffer; the parser walks them
 * with a read offset and writes the unquoted field bytes back into the same
 * buffer through a write offset that never passes the read offset, ending each
 * field with a NUL where its delimiter was.  So a record without quotes costs
 * no copy, and the state (offsets, not pointers) survives refills: when the
 * buffer runs dry mid-record, the finished part of the record is moved to the
 * front, the buffer grows if it must, and parsing carries on where it was.
 */
#ifndef SHELFOPS_NO_BACKEND
#include "postgres.h"			/* first, as the server requires; the core uses libc only */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "csv.h"

#define CSV_MIN_BUFFER_BYTES 8

typedef enum ParseState
{
	STATE_RECORD_START,			/* between records: blank lines are skipped */
	STATE_FIELD_START,
	STATE_UNQUOTED,
	STATE_QUOTED,
	STATE_QUOTE_IN_QUOTED		/* saw '"' inside a quoted field: end or "" */
} ParseState;

struct CsvReader
{
	char	   *name;
	CsvOptions	opts;

	/* source: exactly one of gz / read_fn / mem is in use */
	gzFile		gz;
	CsvReadFn	read_fn;
	void	   *read_arg;
	bool		gz_required;	/* name ends in .gz: plain content is an error */
	const unsigned char *mem;
	size_t		mem_len;
	size_t		mem_pos;
	bool		source_eof;
	bool		bom_checked;

	/* buffer: buf[0..len) valid; one spare byte always kept for a final NUL */
	char	   *buf;
	size_t		cap;
	size_t		len;
	size_t		pos;			/* read offset */

	/* the record in progress (offsets into buf) */
	ParseState	state;
	size_t		rec_start;
	size_t		wpos;			/* write offset, <= pos */
	size_t		field_start;
	size_t		rec_raw_before; /* raw bytes of this record already compacted */
	long		rec_line;
	long		quote_line;		/* line of the opening quote of the field */
	int			nfields;
	int			fields_cap;
	size_t	   *field_off;
	size_t	   *field_len;
	char	  **field_ptr;

	/* line bookkeeping */
	long		line;			/* physical line at pos */
	long		nrecords;		/* records started (number_records) */
	bool		skip_lf;		/* previous record ended with CR: eat one LF */
	bool		prev_cr;		/* inside quotes: last byte was CR */

	/* header */
	int			header_ncolumns;
	char	  **header;
	int			expected_fields;	/* 0 = not checked */

	CsvError	error;

	/* backend hook: told when the reader is closed, so a context callback
	 * does not close it a second time */
	void		(*on_close) (void *arg);
	void	   *on_close_arg;
};

const char *
csv_status_text(int status)
{
	switch (status)
	{
		case CSV_OK:
			return "ok";
		case CSV_EOF:
			return "end of file";
		case CSV_ERR_OPEN:
			return "could not open file";
		case CSV_ERR_READ:
			return "could not read file";
		case CSV_ERR_GZIP:
			return "corrupt gzip data";
		case CSV_ERR_UNTERMINATED_QUOTE:
			return "unterminated quoted field";
		case CSV_ERR_STRAY_QUOTE:
			return "quote inside an unquoted field";
		case CSV_ERR_AFTER_QUOTE:
			return "unexpected character after closing quote";
		case CSV_ERR_RECORD_TOO_LONG:
			return "record too long";
		case CSV_ERR_FIELD_COUNT:
			return "wrong number of fields";
		case CSV_ERR_NO_HEADER:
			return "no header";
		case CSV_ERR_MISSING_COLUMN:
			return "missing column";
		case CSV_ERR_FIELD_VALUE:
			return "invalid field value";
		case CSV_ERR_NOMEM:
			return "out of memory";
	}
	return "unknown status";
}

void
csv_options_init(CsvOptions *opts)
{
	opts->delimiter = ',';
	opts->buffer_bytes = CSV_DEFAULT_BUFFER_BYTES;
	opts->max_record_bytes = CSV_DEFAULT_MAX_RECORD_BYTES;
	opts->check_field_count = false;
	opts->number_records = false;
}

static void
error_set(CsvError *err, CsvStatus code, long line, int column, const char *fmt,...)
__attribute__((format(printf, 5, 6)));

static void
error_set(CsvError *err, CsvStatus code, long line, int column, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	err->code = code;
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

/* Record an error on the reader; errors are sticky, so keep the first. */
static int
fail(CsvReader *r, CsvStatus code, long line, int column, const char *fmt,...)
__attribute__((format(printf, 5, 6)));

static int
fail(CsvReader *r, CsvStatus code, long line, int column, const char *fmt,...)
{
	va_list		ap;

	if (r->error.code != CSV_OK)
		return r->error.code;
	r->error.code = code;
	r->error.line = line;
	r->error.column = column;
	va_start(ap, fmt);
	vsnprintf(r->error.reason, sizeof(r->error.reason), fmt, ap);
	va_end(ap);
	return code;
}

static bool
ends_with_gz(const char *path)
{
	size_t		n = strlen(path);

	return n >= 3 && strcasecmp(path + n - 3, ".gz") == 0;
}

static CsvReader *
reader_alloc(const char *name, const CsvOptions *opts, CsvError *err)
{
	CsvReader  *r = calloc(1, sizeof(CsvReader));

	if (r == NULL)
		goto nomem;
	if (opts != NULL)
		r->opts = *opts;
	else
		csv_options_init(&r->opts);
	if (r->opts.delimiter == '\0' || r->opts.delimiter == '"' ||
		r->opts.delimiter == '\n' || r->opts.delimiter == '\r')
		r->opts.delimiter = ',';
	if (r->opts.buffer_bytes < CSV_MIN_BUFFER_BYTES)
		r->opts.buffer_bytes = CSV_MIN_BUFFER_BYTES;
	if (r->opts.max_record_bytes == 0)
		r->opts.max_record_bytes = CSV_DEFAULT_MAX_RECORD_BYTES;

	r->name = strdup(name ? name : "(memory)");
	r->cap = r->opts.buffer_bytes;
	r->buf = malloc(r->cap);
	r->fields_cap = 16;
	r->field_off = malloc(sizeof(size_t) * r->fields_cap);
	r->field_len = malloc(sizeof(size_t) * r->fields_cap);
	r->field_ptr = malloc(sizeof(char *) * r->fields_cap);
	if (!r->name || !r->buf || !r->field_off || !r->field_len || !r->field_ptr)
	{
		csv_reader_close(r);
		goto nomem;
	}
	r->line = 1;
	r->state = STATE_RECORD_START;
	return r;

nomem:
	error_set(err, CSV_ERR_NOMEM, 0, 0, "could not allocate a CSV reader for %s",
			  name ? name : "(memory)");
	return NULL;
}

CsvReader *
csv_reader_open_file(const char *path, const CsvOptions *opts, CsvError *err)
{
	CsvReader  *r;

	if (err)
		memset(err, 0, sizeof(*err));
	r = reader_alloc(path, opts, err);
	if (r == NULL)
		return NULL;
	errno = 0;
	r->gz = gzopen(path, "rb");
	if (r->gz == NULL)
	{
		int			saved = errno;

		error_set(err, saved ? CSV_ERR_OPEN : CSV_ERR_NOMEM, 0, 0,
				  "could not open \"%s\": %s", path,
				  saved ? strerror(saved) : "out of memory");
		csv_reader_close(r);
		return NULL;
	}
	/* zlib's own input buffer; ours holds the decompressed text */
	gzbuffer(r->gz, 128 * 1024);
	r->gz_required = ends_with_gz(path);
	return r;
}

CsvReader *
csv_reader_open_memory(const void *data, size_t len, const char *name,
					   const CsvOptions *opts, CsvError *err)
{
	CsvReader  *r;

	if (err)
		memset(err, 0, sizeof(*err));
	r = reader_alloc(name, opts, err);
	if (r == NULL)
		return NULL;
	r->mem = data;
	r->mem_len = data ? len : 0;
	return r;
}

CsvReader *
csv_reader_open_callback(CsvReadFn read, void *arg, const char *name,
						 const CsvOptions *opts, CsvError *err)
{
	CsvReader  *r;

	if (err)
		memset(err, 0, sizeof(*err));
	r = reader_alloc(name, opts, err);
	if (r == NULL)
		return NULL;
	r->read_fn = read;
	r->read_arg = arg;
	return r;
}

void
csv_reader_close(CsvReader *r)
{
	if (r == NULL)
		return;
	if (r->on_close)
		r->on_close(r->on_close_arg);
	if (r->gz)
		gzclose_r(r->gz);
	if (r->header)
	{
		for (int i = 0; i < r->header_ncolumns; i++)
			free(r->header[i]);
		free(r->header);
	}
	free(r->field_off);
	free(r->field_len);
	free(r->field_ptr);
	free(r->buf);
	free(r->name);
	free(r);
}

const CsvError *
csv_reader_error(const CsvReader *r)
{
	return &r->error;
}

const char *
csv_reader_name(const CsvReader *r)
{
	return r->name;
}

const char *
csv_reader_column_name(const CsvReader *r, int column)
{
	if (r->header && column >= 1 && column <= r->header_ncolumns)
		return r->header[column - 1];
	return "?";
}

const char *const *
csv_reader_header(const CsvReader *r, int *ncolumns)
{
	if (ncolumns)
		*ncolumns = r->header ? r->header_ncolumns : 0;
	return (const char *const *) r->header;
}

/*
 * Append up to `want` bytes from the source at buf + len.  Returns bytes
 * read (0 at end of input) or a negative CsvStatus.
 */
static long
source_read(CsvReader *r, size_t want)
{
	if (r->read_fn != NULL)
	{
		long		n = r->read_fn(r->read_arg, r->buf + r->len, want);

		if (n < 0)
			return fail(r, n < CSV_ERR_NOMEM || n > CSV_ERR_OPEN ? CSV_ERR_READ : (CsvStatus) n,
						r->line, 0, "the source of \"%s\" failed", r->name);
		if ((size_t) n > want)
			return fail(r, CSV_ERR_READ, r->line, 0, "the source of \"%s\" overran its buffer",
						r->name);
		return n;
	}
	if (r->gz == NULL)
	{
		size_t		n = r->mem_len - r->mem_pos;

		if (n > want)
			n = want;
		if (n > 0)
			memcpy(r->buf + r->len, r->mem + r->mem_pos, n);
		r->mem_pos += n;
		return (long) n;
	}
	else
	{
		int			n;
		int			zerr;
		const char *zmsg;

		if (want > (1u << 30))
			want = 1u << 30;
		errno = 0;
		n = gzread(r->gz, r->buf + r->len, (unsigned) want);
		if (n < 0)
		{
			zmsg = gzerror(r->gz, &zerr);
			if (zerr == Z_ERRNO)
				return fail(r, CSV_ERR_READ, r->line, 0, "read failed: %s",
							strerror(errno));
			return fail(r, CSV_ERR_GZIP, r->line, 0, "corrupt gzip data: %s",
						zmsg ? zmsg : "unknown zlib error");
		}
		if (r->gz_required && gzdirect(r->gz))
			return fail(r, CSV_ERR_GZIP, 1, 0,
						"file name ends in .gz but the content is not gzip");
		if (n == 0)
		{
			/* zlib reports a stream cut short only through gzerror at EOF */
			zmsg = gzerror(r->gz, &zerr);
			if (zerr == Z_BUF_ERROR)
				return fail(r, CSV_ERR_GZIP, r->line, 0,
							"truncated gzip data: %s",
							zmsg ? zmsg : "unexpected end of file");
			if (zerr != Z_OK)
				return fail(r, CSV_ERR_GZIP, r->line, 0, "corrupt gzip data: %s",
							zmsg ? zmsg : "unknown zlib error");
		}
		return n;
	}
}

/* Read more bytes after buf[len]; sets source_eof at end of input. */
static int
fill(CsvReader *r)
{
	size_t		room = r->cap - 1 - r->len;
	long		n;

	if (room == 0)
		return CSV_OK;
	n = source_read(r, room);
	if (n < 0)
		return (int) n;
	if (n == 0)
		r->source_eof = true;
	r->len += (size_t) n;
	return CSV_OK;
}

static int
grow_fields(CsvReader *r)
{
	int			ncap = r->fields_cap * 2;
	size_t	   *off = realloc(r->field_off, sizeof(size_t) * ncap);

	if (off == NULL)
		return fail(r, CSV_ERR_NOMEM, r->line, r->nfields + 1, "out of memory");
	r->field_off = off;
	off = realloc(r->field_len, sizeof(size_t) * ncap);
	if (off == NULL)
		return fail(r, CSV_ERR_NOMEM, r->line, r->nfields + 1, "out of memory");
	r->field_len = off;
	{
		char	  **p = realloc(r->field_ptr, sizeof(char *) * ncap);

		if (p == NULL)
			return fail(r, CSV_ERR_NOMEM, r->line, r->nfields + 1, "out of memory");
		r->field_ptr = p;
	}
	r->fields_cap = ncap;
	return CSV_OK;
}

/* Close the current field: NUL-terminate it where its delimiter was. */
static inline int
end_field(CsvReader *r)
{
	if (r->nfields == r->fields_cap)
	{
		int			rc = grow_fields(r);

		if (rc != CSV_OK)
			return rc;
	}
	r->field_off[r->nfields] = r->field_start;
	r->field_len[r->nfields] = r->wpos - r->field_start;
	r->nfields++;
	r->buf[r->wpos++] = '\0';
	return CSV_OK;
}

/* Raw bytes (quotes and line end included) the current record has consumed. */
static inline size_t
record_raw_bytes(const CsvReader *r)
{
	return r->rec_raw_before + (r->pos - r->rec_start);
}

/*
 * column: the field being read when the cap was passed.  The scanning loops
 * stop at the cap (scan_end), so this is found at the same byte whatever the
 * buffer size, and the error is the same for any buffering.
 */
static int
check_record_length(CsvReader *r, int column)
{
	if (record_raw_bytes(r) > r->opts.max_record_bytes)
		return fail(r, CSV_ERR_RECORD_TOO_LONG, r->rec_line, column,
					"record longer than %zu bytes", r->opts.max_record_bytes);
	return CSV_OK;
}

/* Where a scanning loop must stop: end of data, or one byte past the cap. */
static inline size_t
scan_end(const CsvReader *r)
{
	size_t		budget = r->opts.max_record_bytes + 1 - r->rec_raw_before;
	size_t		cap_pos = r->rec_start + budget;

	return cap_pos < r->len ? cap_pos : r->len;
}

static int
finish_record(CsvReader *r, CsvRecord *rec)
{
	int			rc = check_record_length(r, r->nfields);

	if (rc != CSV_OK)
		return rc;
	if (r->expected_fields > 0 && r->nfields != r->expected_fields)
		return fail(r, CSV_ERR_FIELD_COUNT, r->rec_line,
					r->nfields < r->expected_fields ? r->nfields + 1 : r->expected_fields + 1,
					"expected %d fields, found %d", r->expected_fields, r->nfields);
	for (int i = 0; i < r->nfields; i++)
		r->field_ptr[i] = r->buf + r->field_off[i];
	rec->nfields = r->nfields;
	rec->fields = r->field_ptr;
	rec->lengths = r->field_len;
	rec->line = r->rec_line;
	r->state = STATE_RECORD_START;
	return CSV_OK;
}

/*
 * The buffer is exhausted: keep the record in progress (only its finished
 * bytes, buf[rec_start..wpos)), move it to the front, grow if it fills the
 * buffer, and read more.
 */
static int
refill(CsvReader *r)
{
	int			rc;

	if (r->state == STATE_RECORD_START)
	{
		r->len = r->pos = 0;
	}
	else
	{
		size_t		keep = r->wpos - r->rec_start;

		rc = check_record_length(r, r->nfields + 1);
		if (rc != CSV_OK)
			return rc;
		/* count the raw bytes that vanish (quotes squeezed out, and the
		 * move); the kept ones are still counted by pos - rec_start */
		r->rec_raw_before += r->pos - r->rec_start - keep;
		if (r->rec_start > 0)
		{
			memmove(r->buf, r->buf + r->rec_start, keep);
			for (int i = 0; i < r->nfields; i++)
				r->field_off[i] -= r->rec_start;
			r->field_start -= r->rec_start;
		}
		r->rec_start = 0;
		r->wpos = r->pos = r->len = keep;
		/*
		 * Grow once the record fills half the buffer, so a long record costs
		 * O(n) moves, not O(n^2).  Never beyond the record cap (+2: NUL and
		 * one byte to read): check_record_length() keeps len within it.
		 */
		if (r->len >= r->cap / 2 && r->cap < r->opts.max_record_bytes + 2)
		{
			size_t		ncap = r->cap * 2;
			char	   *nbuf;

			if (ncap > r->opts.max_record_bytes + 2)
				ncap = r->opts.max_record_bytes + 2;
			nbuf = realloc(r->buf, ncap);
			if (nbuf == NULL)
				return fail(r, CSV_ERR_NOMEM, r->rec_line, r->nfields + 1,
							"out of memory growing the record buffer to %zu bytes", ncap);
			r->buf = nbuf;
			r->cap = ncap;
		}
	}
	rc = fill(r);
	if (rc != CSV_OK)
		return rc;

	/* A UTF-8 byte order mark may open the file; it is not data. */
	if (!r->bom_checked)
	{
		while (r->len < 3 && !r->source_eof)
		{
			rc = fill(r);
			if (rc != CSV_OK)
				return rc;
		}
		if (r->len >= 3 && (unsigned char) r->buf[0] == 0xEF &&
			(unsigned char) r->buf[1] == 0xBB && (unsigned char) r->buf[2] == 0xBF)
			r->pos = 3;
		r->bom_checked = true;
	}
	return CSV_OK;
}

int
csv_reader_next(CsvReader *r, CsvRecord *rec)
{
	const char	delim = r->opts.delimiter;
	char	   *buf;
	int			rc;

	if (r->error.code != CSV_OK)
		return r->error.code;

	for (;;)
	{
		if (r->state != STATE_RECORD_START &&
			(rc = check_record_length(r, r->nfields + 1)) != CSV_OK)
			return rc;
		if (r->pos >= r->len)
		{
			if (r->source_eof)
			{
				switch (r->state)
				{
					case STATE_RECORD_START:
						return CSV_EOF;
					case STATE_QUOTED:
						return fail(r, CSV_ERR_UNTERMINATED_QUOTE, r->quote_line,
									r->nfields + 1,
									"quoted field opened on line %ld is not closed before end of file",
									r->quote_line);
					default:
						/* missing final newline: the last record ends here */
						if ((rc = end_field(r)) != CSV_OK)
							return rc;
						return finish_record(r, rec);
				}
			}
			if ((rc = refill(r)) != CSV_OK)
				return rc;
			continue;
		}

		buf = r->buf;
		switch (r->state)
		{
			case STATE_RECORD_START:
				{
					char		c = buf[r->pos];

					if (r->skip_lf)
					{
						r->skip_lf = false;
						if (c == '\n')
						{
							r->pos++;
							continue;
						}
					}
					if (c == '\n' || c == '\r')
					{
						/* blank line: no record */
						r->line++;
						r->skip_lf = (c == '\r');
						r->pos++;
						continue;
					}
					r->rec_start = r->wpos = r->pos;
					r->rec_raw_before = 0;
					r->rec_line = r->opts.number_records ? r->nrecords : r->line;
					r->nrecords++;
					r->nfields = 0;
					r->state = STATE_FIELD_START;
				}
				/* FALLTHROUGH */
			case STATE_FIELD_START:
				r->field_start = r->wpos;
				if (buf[r->pos] == '"')
				{
					r->quote_line = r->line;
					r->prev_cr = false;
					r->pos++;
					r->state = STATE_QUOTED;
					continue;
				}
				r->state = STATE_UNQUOTED;
				/* FALLTHROUGH */
			case STATE_UNQUOTED:
				{
					size_t		p = r->pos;
					size_t		w = r->wpos;
					const size_t end = scan_end(r);
					char		stop;

					/* the hot loop: plain bytes up to the next special one */
					while (p < end)
					{
						char		c = buf[p];

						if (c == delim || c == '\n' || c == '\r' || c == '"')
							break;
						buf[w++] = c;
						p++;
					}
					r->pos = p;
					r->wpos = w;
					if (p == end)
						continue;
					stop = buf[p];
					if (stop == '"')
						return fail(r, CSV_ERR_STRAY_QUOTE, r->line, r->nfields + 1,
									"quote character inside an unquoted field "
									"(quote the whole field and double the quote)");
					/* end_field() may write its NUL over buf[p]: stop keeps it */
					if ((rc = end_field(r)) != CSV_OK)
						return rc;
					r->pos++;
					if (stop == delim)
					{
						r->field_start = r->wpos;
						r->state = STATE_FIELD_START;
						continue;
					}
					r->line++;
					r->skip_lf = (stop == '\r');
					return finish_record(r, rec);
				}
			case STATE_QUOTED:
				{
					size_t		p = r->pos;
					size_t		w = r->wpos;
					const size_t end = scan_end(r);

					while (p < end)
					{
						char		c = buf[p];

						if (c == '"')
							break;
						/* embedded line breaks count as physical lines */
						if (c == '\r' || (c == '\n' && !r->prev_cr))
							r->line++;
						r->prev_cr = (c == '\r');
						buf[w++] = c;
						p++;
					}
					r->pos = p;
					r->wpos = w;
					if (p == end)
						continue;
					r->pos++;
					r->state = STATE_QUOTE_IN_QUOTED;
					continue;
				}
			case STATE_QUOTE_IN_QUOTED:
				{
					char		c = buf[r->pos];

					if (c == '"')
					{
						/* "" stands for one quote */
						buf[r->wpos++] = '"';
						r->pos++;
						r->prev_cr = false;
						r->state = STATE_QUOTED;
						continue;
					}
					if (c == delim)
					{
						if ((rc = end_field(r)) != CSV_OK)
							return rc;
						r->pos++;
						r->field_start = r->wpos;
						r->state = STATE_FIELD_START;
						continue;
					}
					if (c == '\n' || c == '\r')
					{
						if ((rc = end_field(r)) != CSV_OK)
							return rc;
						r->pos++;
						r->line++;
						r->skip_lf = (c == '\r');
						return finish_record(r, rec);
					}
					return fail(r, CSV_ERR_AFTER_QUOTE, r->line, r->nfields + 1,
								"unexpected character after the closing quote "
								"(a quoted field must end at a delimiter or line end)");
				}
		}
	}
}

/* Header names: trim whitespace, a BOM and one level of quotes. */
static char *
normalise_name(const char *s, size_t len)
{
	char	   *out;

	for (int pass = 0; pass < 2; pass++)
	{
		if (len >= 3 && (unsigned char) s[0] == 0xEF &&
			(unsigned char) s[1] == 0xBB && (unsigned char) s[2] == 0xBF)
		{
			s += 3;
			len -= 3;
		}
		while (len > 0 && (*s == ' ' || *s == '\t'))
		{
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
						   s[len - 1] == '\r' || s[len - 1] == '\n'))
			len--;
		/* left-over quotes, e.g. a header written as ' "Store" ' by hand */
		if (pass == 0 && len >= 2 && s[0] == '"' && s[len - 1] == '"')
		{
			s++;
			len -= 2;
		}
		else
			break;
	}
	out = malloc(len + 1);
	if (out)
	{
		memcpy(out, s, len);
		out[len] = '\0';
	}
	return out;
}

int
csv_reader_find_column(const CsvReader *r, const char *name)
{
	if (r->header == NULL || name == NULL)
		return -1;
	for (int i = 0; i < r->header_ncolumns; i++)
		if (strcasecmp(r->header[i], name) == 0)
			return i;
	return -1;
}

/* Append s to out (size outsz) at *used, truncating with "..." when full. */
static void
append_text(char *out, size_t outsz, size_t *used, const char *s)
{
	size_t		n = strlen(s);

	if (*used >= outsz - 1)
		return;
	if (*used + n >= outsz - 4)
	{
		size_t		fit = outsz - 4 - *used;

		if (*used + 4 > outsz)
			return;
		memcpy(out + *used, s, fit < n ? fit : n);
		*used += fit < n ? fit : n;
		memcpy(out + *used, "...", 4);
		*used = outsz - 1;
		return;
	}
	memcpy(out + *used, s, n + 1);
	*used += n;
}

int
csv_reader_read_header(CsvReader *r, const char *const *required, int nrequired,
					   int *indexes)
{
	CsvRecord	rec;
	int			rc;
	int			nmissing = 0;
	char		missing[CSV_REASON_BYTES];
	size_t		missing_used = 0;

	if (r->header != NULL)
		return fail(r, CSV_ERR_NO_HEADER, 0, 0, "header already read");
	rc = csv_reader_next(r, &rec);
	if (rc == CSV_EOF)
		return fail(r, CSV_ERR_NO_HEADER, 1, 0, "empty file: no header line");
	if (rc != CSV_OK)
		return rc;

	r->header = calloc(rec.nfields, sizeof(char *));
	if (r->header == NULL)
		return fail(r, CSV_ERR_NOMEM, rec.line, 0, "out of memory");
	for (int i = 0; i < rec.nfields; i++)
	{
		r->header[i] = normalise_name(rec.fields[i], rec.lengths[i]);
		if (r->header[i] == NULL)
		{
			r->header_ncolumns = i;
			return fail(r, CSV_ERR_NOMEM, rec.line, i + 1, "out of memory");
		}
	}
	r->header_ncolumns = rec.nfields;
	if (r->opts.check_field_count)
		r->expected_fields = rec.nfields;

	missing[0] = '\0';
	for (int i = 0; i < nrequired; i++)
	{
		int			found = -1;
		bool		twice = false;

		for (int j = 0; j < r->header_ncolumns; j++)
			if (strcasecmp(r->header[j], required[i]) == 0)
			{
				if (found >= 0)
					twice = true;
				else
					found = j;
			}
		if (indexes)
			indexes[i] = found;
		if (found < 0 || twice)
		{
			if (nmissing++ > 0)
				append_text(missing, sizeof(missing), &missing_used, ", ");
			append_text(missing, sizeof(missing), &missing_used, required[i]);
			if (twice)
				append_text(missing, sizeof(missing), &missing_used, " (more than once)");
		}
	}
	if (nmissing > 0)
	{
		char		reqlist[CSV_REASON_BYTES / 3];
		char		foundlist[CSV_REASON_BYTES / 3];
		size_t		used = 0;

		reqlist[0] = foundlist[0] = '\0';
		for (int i = 0; i < nrequired; i++)
		{
			if (i > 0)
				append_text(reqlist, sizeof(reqlist), &used, ", ");
			append_text(reqlist, sizeof(reqlist), &used, required[i]);
		}
		used = 0;
		for (int j = 0; j < r->header_ncolumns; j++)
		{
			if (j > 0)
				append_text(foundlist, sizeof(foundlist), &used, ", ");
			append_text(foundlist, sizeof(foundlist), &used, r->header[j]);
		}
		/* keep the three parts inside the reason buffer */
		if (strlen(missing) > CSV_REASON_BYTES / 4)
			strcpy(missing + CSV_REASON_BYTES / 4 - 4, "...");
		return fail(r, CSV_ERR_MISSING_COLUMN, rec.line, 0,
					"missing column%s %s; required: %s; found: %s",
					nmissing > 1 ? "s" : "", missing, reqlist, foundlist);
	}
	return CSV_OK;
}

int
csv_reader_set_field_error(CsvReader *r, const CsvRecord *rec, int column,
						   const char *fmt,...)
{
	va_list		ap;

	if (r->error.code != CSV_OK)
		return r->error.code;
	r->error.code = CSV_ERR_FIELD_VALUE;
	r->error.line = rec ? rec->line : r->line;
	r->error.column = column + 1;
	va_start(ap, fmt);
	vsnprintf(r->error.reason, sizeof(r->error.reason), fmt, ap);
	va_end(ap);
	return CSV_ERR_FIELD_VALUE;
}

#ifndef SHELFOPS_NO_BACKEND
/* ------------------------------------------------------------------------
 * Backend part: MemoryContext-bound lifetime and ereport.
 * ------------------------------------------------------------------------
 */
#include "utils/memutils.h"

typedef struct CsvContextBinding
{
	MemoryContextCallback callback;
	CsvReader  *reader;			/* NULL once closed explicitly */
} CsvContextBinding;

/* Called on context reset/delete, including after an ERROR: release the file. */
static void
csv_context_reset(void *arg)
{
	CsvContextBinding *binding = arg;
	CsvReader  *reader = binding->reader;

	if (reader != NULL)
	{
		binding->reader = NULL;
		reader->on_close = NULL;
		csv_reader_close(reader);
	}
}

/* Called by csv_reader_close(): the binding must forget the reader. */
static void
csv_binding_forget(void *arg)
{
	((CsvContextBinding *) arg)->reader = NULL;
}

/* Tie reader to ctx: closed when ctx is reset or deleted, unless closed first. */
static void
bind_to_context(MemoryContext ctx, CsvContextBinding *binding, CsvReader *reader)
{
	binding->reader = reader;
	binding->callback.func = csv_context_reset;
	binding->callback.arg = binding;
	reader->on_close = csv_binding_forget;
	reader->on_close_arg = binding;
	MemoryContextRegisterResetCallback(ctx, &binding->callback);
}

CsvReader *
csv_reader_open_in_context(MemoryContext ctx, const char *path, const CsvOptions *opts)
{
	CsvError	err;
	CsvReader  *reader;
	CsvContextBinding *binding;

	/* allocate the binding first, so no reader exists if this fails */
	binding = MemoryContextAllocZero(ctx, sizeof(CsvContextBinding));
	reader = csv_reader_open_file(path, opts, &err);
	if (reader == NULL)
	{
		pfree(binding);
		ereport(ERROR,
				(errcode(err.code == CSV_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY
						 : ERRCODE_UNDEFINED_FILE),
				 errmsg("could not open CSV file \"%s\"", path),
				 errdetail("%s", err.reason)));
	}
	bind_to_context(ctx, binding, reader);
	return reader;
}

CsvReader *
csv_reader_open_callback_in_context(MemoryContext ctx, CsvReadFn read, void *arg,
									const char *name, const CsvOptions *opts)
{
	CsvError	err;
	CsvReader  *reader;
	CsvContextBinding *binding;

	binding = MemoryContextAllocZero(ctx, sizeof(CsvContextBinding));
	reader = csv_reader_open_callback(read, arg, name, opts, &err);
	if (reader == NULL)
	{
		pfree(binding);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not open a CSV reader for \"%s\"", name),
				 errdetail("%s", err.reason)));
	}
	bind_to_context(ctx, binding, reader);
	return reader;
}

void
csv_reader_raise(const CsvReader *reader)
{
	const CsvError *err = &reader->error;
	int			code = err->code;

	ereport(ERROR,
			(errcode(code == CSV_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY
					 : code == CSV_ERR_OPEN || code == CSV_ERR_READ ? ERRCODE_IO_ERROR
					 : ERRCODE_BAD_COPY_FILE_FORMAT),
			 errmsg("%s in CSV file \"%s\"",
					csv_status_text(code == CSV_OK ? CSV_ERR_READ : code), reader->name),
			 errdetail("file %s, line %ld, column %d (%s): %s",
					   reader->name, err->line, err->column,
					   csv_reader_column_name(reader, err->column),
					   err->reason[0] ? err->reason : csv_status_text(code))));
	pg_unreachable();
}
#endif							/* SHELFOPS_NO_BACKEND */
