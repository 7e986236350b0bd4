/*
 * csv_test.c
 *	  Unit tests (TAP) for the CSV reader (src/csv.c) and field parsers
 *	  (src/parse.c), built outside the server with -DSHELFOPS_NO_BACKEND, and a
 *	  throughput benchmark (--bench FILE).
 *
 * Run: make -C test/unit          (build and run under prove)
 *      make -C test/unit bench    (time Rossmann train.csv.gz)
 * The real-dataset checks read ../shared/datasets beside the checkout (or
 * $SHELFOPS_DATASETS) and are skipped, saying so, when it is absent.
 *
 * Most reader cases run twice: with the default 256 KiB buffer and with an
 * 8-byte one, which forces a refill inside nearly every field and so tests the
 * resumable parser state, not just the easy path.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "csv.h"
#include "parse.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "fixtures"
#endif
#ifndef DATASET_DIR
#define DATASET_DIR "../../../shared/datasets"
#endif

/* ---------------------------------------------------------------- TAP */

static int	tests_run = 0;
static int	tests_failed = 0;

static bool
ok(bool cond, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

static bool
ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tests_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

static void
skip(const char *why, const char *what)
{
	tests_run++;
	printf("ok %d - %s # skip %s\n", tests_run, what, why);
}

static void
diag(const char *fmt,...)
__attribute__((format(printf, 1, 2)));

static void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static bool
is_str(const char *got, const char *want, const char *name)
{
	bool		same = strcmp(got, want) == 0;

	ok(same, "%s", name);
	if (!same)
	{
		diag("     got: '%s'", got);
		diag("expected: '%s'", want);
	}
	return same;
}

/* ------------------------------------------------------ reader helpers */

/*
 * Read everything and describe it as text: "line:f1|f2;line:f1" per record,
 * then "!ERRNAME@line:col" if reading stopped on an error.  Control bytes in
 * fields are shown as \n, \r.
 */
static void
describe_reader(CsvReader *r, char *out, size_t outsz)
{
	CsvRecord	rec;
	size_t		used = 0;
	int			rc;

#define PUT(...) do { int n_ = snprintf(out + used, outsz - used, __VA_ARGS__); \
		if (n_ > 0) used += (size_t) n_ < outsz - used ? (size_t) n_ : outsz - used - 1; } while (0)

	out[0] = '\0';
	while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
	{
		PUT("%s%ld:", used ? ";" : "", rec.line);
		for (int i = 0; i < rec.nfields; i++)
		{
			if (i > 0)
				PUT("|");
			for (size_t k = 0; k < rec.lengths[i]; k++)
			{
				char		c = rec.fields[i][k];

				if (c == '\n')
					PUT("\\n");
				else if (c == '\r')
					PUT("\\r");
				else
					PUT("%c", c);
			}
			if (rec.fields[i][rec.lengths[i]] != '\0')
				PUT("<no NUL>");
		}
	}
	if (rc != CSV_EOF)
	{
		const CsvError *e = csv_reader_error(r);

		PUT("!%s@%ld:%d", csv_status_text(e->code), e->line, e->column);
	}
#undef PUT
}

static void
describe_memory(const char *data, size_t len, size_t buffer_bytes, char *out, size_t outsz)
{
	CsvOptions	opts;
	CsvError	err;
	CsvReader  *r;

	csv_options_init(&opts);
	if (buffer_bytes)
		opts.buffer_bytes = buffer_bytes;
	r = csv_reader_open_memory(data, len, "mem", &opts, &err);
	if (r == NULL)
	{
		snprintf(out, outsz, "open failed: %s", err.reason);
		return;
	}
	describe_reader(r, out, outsz);
	csv_reader_close(r);
}

/* ------------------------------------------------------ callback source */

/* Hands out text a few bytes at a time, as the staging-table source does by chunks. */
typedef struct DripSource
{
	const char *text;
	size_t		len;
	size_t		pos;
	size_t		step;
	bool		fail_at_end;
} DripSource;

static long
drip_read(void *arg, char *buf, size_t want)
{
	DripSource *d = arg;
	size_t		n = d->len - d->pos;

	if (n == 0 && d->fail_at_end)
		return CSV_ERR_READ;
	if (n > d->step)
		n = d->step;
	if (n > want)
		n = want;
	memcpy(buf, d->text + d->pos, n);
	d->pos += n;
	return (long) n;
}

static void
test_callback_source(void)
{
	static const char text[] = "a,b\n1,\"x\ny\"\n2,z\n";
	CsvOptions	opts;
	CsvReader  *r;
	char		got[512];

	for (int numbered = 0; numbered <= 1; numbered++)
	{
		DripSource	d = {text, sizeof(text) - 1, 0, 3, false};

		csv_options_init(&opts);
		opts.buffer_bytes = 8;
		opts.number_records = numbered;
		r = csv_reader_open_callback(drip_read, &d, "drip", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		ok(strcmp(got, numbered ? "0:a|b;1:1|x\\ny;2:2|z" : "1:a|b;2:1|x\\ny;4:2|z") == 0,
		   "callback source, %s: %s", numbered ? "records numbered" : "physical lines", got);
		csv_reader_close(r);
	}
	{
		DripSource	d = {text, sizeof(text) - 1, 0, 64, true};

		r = csv_reader_open_callback(drip_read, &d, "drip", NULL, NULL);
		describe_reader(r, got, sizeof(got));
		ok(strstr(got, "!could not read file") != NULL, "callback failure is a read error: %s", got);
		csv_reader_close(r);
	}
}

/* Same input with big and tiny buffers: both must give `want`. */
static void
check_csv(const char *name, const char *data, size_t len, const char *want)
{
	char		got[8192];
	char		label[256];

	describe_memory(data, len, 0, got, sizeof(got));
	snprintf(label, sizeof(label), "%s", name);
	is_str(got, want, label);
	describe_memory(data, len, 8, got, sizeof(got));
	snprintf(label, sizeof(label), "%s (8-byte buffer)", name);
	is_str(got, want, label);
}

#define CHECK_CSV(name, lit, want) check_csv(name, lit, sizeof(lit) - 1, want)

static char tmpdir[256];

static const char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
}

static void
write_gzip(const char *path, const void *data, size_t len)
{
	gzFile		gz = gzopen(path, "wb9");

	if (gz == NULL || gzwrite(gz, data, (unsigned) len) != (int) len || gzclose(gz) != Z_OK)
	{
		fprintf(stderr, "could not write %s\n", path);
		exit(2);
	}
}

static void
describe_file(const char *path, char *out, size_t outsz)
{
	CsvError	err;
	CsvReader  *r = csv_reader_open_file(path, NULL, &err);

	if (r == NULL)
	{
		snprintf(out, outsz, "!%s: %s", csv_status_text(err.code), err.reason);
		return;
	}
	describe_reader(r, out, outsz);
	csv_reader_close(r);
}

/* -------------------------------------------------------- reader tests */

static void
test_line_endings(void)
{
	CHECK_CSV("LF", "a,b\nc,d\n", "1:a|b;2:c|d");
	CHECK_CSV("CRLF", "a,b\r\nc,d\r\n", "1:a|b;2:c|d");
	CHECK_CSV("CR only", "a,b\rc,d\r", "1:a|b;2:c|d");
	CHECK_CSV("mixed endings", "a\rb\r\nc\nd\n", "1:a;2:b;3:c;4:d");
	CHECK_CSV("no final newline", "a,b\nc,d", "1:a|b;2:c|d");
	CHECK_CSV("CR only, no final newline", "a,b\rc,d", "1:a|b;2:c|d");
	CHECK_CSV("CRLF, no final newline", "a,b\r\nc,d", "1:a|b;2:c|d");
	CHECK_CSV("blank lines skipped, counted", "a\n\n\r\nb\n\n", "1:a;4:b");
	CHECK_CSV("CR CR is two line ends", "a\r\rb\r", "1:a;3:b");
	CHECK_CSV("empty input", "", "");
	CHECK_CSV("only newlines", "\n\r\n\r", "");
}

static void
test_quoting(void)
{
	CHECK_CSV("quoted fields", "\"a\",\"b\"\n", "1:a|b");
	CHECK_CSV("embedded delimiter", "\"a,b\",c\n", "1:a,b|c");
	CHECK_CSV("doubled quote", "\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x");
	CHECK_CSV("only a doubled quote", "\"\"\"\"\n", "1:\"");
	CHECK_CSV("empty quoted", "\"\",x,\"\"\n", "1:|x|");
	CHECK_CSV("embedded LF, line count", "\"a\nb\",c\nd\n", "1:a\\nb|c;3:d");
	CHECK_CSV("embedded CRLF, line count", "\"a\r\nb\",c\r\nd\r\n", "1:a\\r\\nb|c;3:d");
	CHECK_CSV("embedded CR, line count", "\"a\rb\"\rd\r", "1:a\\rb;3:d");
	CHECK_CSV("quoted last field, no newline", "a,\"b\"", "1:a|b");
	CHECK_CSV("quoted then CRLF", "\"a\"\r\n\"b\"\r\n", "1:a;2:b");
	CHECK_CSV("partly quoted row (Rossmann)", "1,5,2015-07-31,5263,555,1,1,\"0\",\"1\"\n",
			  "1:1|5|2015-07-31|5263|555|1|1|0|1");
	CHECK_CSV("R-style empties (Rossmann store)", "1,\"c\",\"a\",1270,9,2008,0,,,\"\"\n",
			  "1:1|c|a|1270|9|2008|0|||");
	CHECK_CSV("spaces kept in unquoted", " a , b \n", "1: a | b ");
	CHECK_CSV("quote-looking UTF-8 kept", "caf\xc3\xa9,\xe2\x80\x9cq\xe2\x80\x9d\n",
			  "1:caf\xc3\xa9|\xe2\x80\x9cq\xe2\x80\x9d");
}

static void
test_empty_fields(void)
{
	CHECK_CSV("empty fields", ",,\n", "1:||");
	CHECK_CSV("empty first (Favorita oil)", "date,v\n2013-01-01,\n2013-01-02,93.14\n",
			  "1:date|v;2:2013-01-01|;3:2013-01-02|93.14");
	CHECK_CSV("single empty then value", ",a\n", "1:|a");
	CHECK_CSV("trailing comma, no newline", "a,", "1:a|");
}

static void
test_bom(void)
{
	CHECK_CSV("BOM at start dropped", "\xEF\xBB\xBF" "a,b\n", "1:a|b");
	CHECK_CSV("BOM before quoted header", "\xEF\xBB\xBF\"a\",b\n", "1:a|b");
	CHECK_CSV("BOM only", "\xEF\xBB\xBF", "");
	CHECK_CSV("BOM not at start kept", "a\n\xEF\xBB\xBF" "b\n", "1:a;2:\xEF\xBB\xBF" "b");
	CHECK_CSV("partial BOM kept", "\xEF\xBB" "a\n", "1:\xEF\xBB" "a");
}

static void
test_errors(void)
{
	CHECK_CSV("unterminated quote at EOF", "a,b\nc,\"d\ne\n",
			  "1:a|b!unterminated quoted field@2:2");
	CHECK_CSV("stray quote in unquoted field", "a,b\nc,d\"e\n",
			  "1:a|b!quote inside an unquoted field@2:2");
	CHECK_CSV("character after closing quote", "x\n\"a\"b,c\n",
			  "1:x!unexpected character after closing quote@2:1");
	CHECK_CSV("space after closing quote", "\"a\" ,c\n",
			  "!unexpected character after closing quote@1:1");
	CHECK_CSV("stray quote after multi-line field", "\"a\nb\",x\nc,d\"\n",
			  "1:a\\nb|x!quote inside an unquoted field@3:2");
	CHECK_CSV("unterminated quote reports opening line", "a\n\"b\n\n\nc",
			  "1:a!unterminated quoted field@2:1");

	/* record too long: cap 10 bytes */
	{
		const char	data[] = "a,b\n0123456789012,x\nz\n";
		CsvOptions	opts;
		CsvReader  *r;
		char		got[512];

		csv_options_init(&opts);
		opts.max_record_bytes = 10;
		r = csv_reader_open_memory(data, sizeof(data) - 1, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "1:a|b!record too long@2:1", "record over the cap (in buffer)");
		csv_reader_close(r);

		opts.buffer_bytes = 8;
		r = csv_reader_open_memory(data, sizeof(data) - 1, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "1:a|b!record too long@2:1", "record over the cap (across refills)");
		csv_reader_close(r);

		/* the cap counts raw bytes with the line end: 11 passes, 10 fails */
		opts.buffer_bytes = 8;
		opts.max_record_bytes = 11;
		r = csv_reader_open_memory("0123456789\n", 11, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "1:0123456789", "record at the cap passes (8-byte buffer)");
		csv_reader_close(r);
		opts.buffer_bytes = 0;
		r = csv_reader_open_memory("0123456789\n", 11, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "1:0123456789", "record at the cap passes");
		csv_reader_close(r);
		opts.max_record_bytes = 10;
		r = csv_reader_open_memory("0123456789\n", 11, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "!record too long@1:1", "line end counts toward the cap");
		csv_reader_close(r);
		r = csv_reader_open_memory("\"0123\"\"45678\"", 13, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "!record too long@1:1", "quoted record over the cap (quotes count)");
		csv_reader_close(r);
		opts.buffer_bytes = 8;
		r = csv_reader_open_memory("\"0123\"\"45678\"", 13, "mem", &opts, NULL);
		describe_reader(r, got, sizeof(got));
		is_str(got, "!record too long@1:1", "quoted record over the cap (8-byte buffer)");
		csv_reader_close(r);
	}

	/* a record longer than the initial buffer grows it */
	{
		size_t		n = 300000;
		char	   *big = malloc(n + 8);
		CsvOptions	opts;
		CsvReader  *r;
		CsvRecord	rec;

		memset(big, 'x', n);
		memcpy(big + n, ",y\nz\n", 5);
		csv_options_init(&opts);
		opts.buffer_bytes = 64;
		r = csv_reader_open_memory(big, n + 5, "big", &opts, NULL);
		ok(csv_reader_next(r, &rec) == CSV_OK && rec.nfields == 2 &&
		   rec.lengths[0] == n && strcmp(rec.fields[1], "y") == 0,
		   "300 kB field read through a 64-byte starting buffer");
		ok(csv_reader_next(r, &rec) == CSV_OK && rec.line == 2 &&
		   strcmp(rec.fields[0], "z") == 0, "record after the long one");
		csv_reader_close(r);
		free(big);
	}

	/* field count against the header */
	{
		const char	data[] = "a,b,c\n1,2,3\n4,5\n";
		CsvOptions	opts;
		CsvReader  *r;
		CsvRecord	rec;
		const CsvError *e;

		csv_options_init(&opts);
		opts.check_field_count = true;
		r = csv_reader_open_memory(data, sizeof(data) - 1, "mem", &opts, NULL);
		ok(csv_reader_read_header(r, NULL, 0, NULL) == CSV_OK, "header read");
		ok(csv_reader_next(r, &rec) == CSV_OK, "full-width record");
		ok(csv_reader_next(r, &rec) == CSV_ERR_FIELD_COUNT, "short record refused");
		e = csv_reader_error(r);
		ok(e->line == 3 && e->column == 3 && strstr(e->reason, "expected 3 fields, found 2"),
		   "field count error at line 3 column 3 (c): %ld:%d %s", e->line, e->column, e->reason);
		ok(strcmp(csv_reader_column_name(r, e->column), "c") == 0, "column name c");
		ok(csv_reader_next(r, &rec) == CSV_ERR_FIELD_COUNT, "errors are sticky");
		csv_reader_close(r);
	}

	/* caller-reported field error */
	{
		const char	data[] = "Store,Sales\n1,12x\n";
		CsvReader  *r = csv_reader_open_memory(data, sizeof(data) - 1, "mem", NULL, NULL);
		CsvRecord	rec;
		const char *reason = NULL;
		int64_t		v;
		const CsvError *e;

		csv_reader_read_header(r, NULL, 0, NULL);
		csv_reader_next(r, &rec);
		ok(!field_parse_int64(rec.fields[1], rec.lengths[1], &v, &reason), "12x is not an int");
		ok(csv_reader_set_field_error(r, &rec, 1, "%s: \"%s\"", reason, rec.fields[1])
		   == CSV_ERR_FIELD_VALUE, "field error recorded");
		e = csv_reader_error(r);
		ok(e->line == 2 && e->column == 2 &&
		   strcmp(csv_reader_column_name(r, e->column), "Sales") == 0 &&
		   strstr(e->reason, "12x") != NULL,
		   "field error: line 2, column 2 (Sales): %s", e->reason);
		csv_reader_close(r);
	}
}

static void
test_header(void)
{
	const char	data[] = "\xEF\xBB\xBF\"Store\", date ,\"Sales\"\r\n1,2015-07-31,5\r\n";
	const char *const want[] = {"store", "DATE", "Sales"};
	int			idx[4];
	CsvReader  *r;
	const char *const *names;
	int			n;

	r = csv_reader_open_memory(data, sizeof(data) - 1, "hdr", NULL, NULL);
	ok(csv_reader_read_header(r, want, 3, idx) == CSV_OK, "header with BOM, quotes, spaces");
	ok(idx[0] == 0 && idx[1] == 1 && idx[2] == 2, "case-insensitive indexes 0,1,2");
	names = csv_reader_header(r, &n);
	ok(n == 3 && strcmp(names[0], "Store") == 0 && strcmp(names[1], "date") == 0,
	   "names normalised: %s|%s", n > 1 ? names[0] : "", n > 1 ? names[1] : "");
	ok(csv_reader_find_column(r, "SALES") == 2 && csv_reader_find_column(r, "x") == -1,
	   "find_column");
	csv_reader_close(r);

	{
		const char *const req[] = {"Store", "Date", "Customers", "Open"};
		const CsvError *e;

		r = csv_reader_open_memory(data, sizeof(data) - 1, "hdr", NULL, NULL);
		ok(csv_reader_read_header(r, req, 4, idx) == CSV_ERR_MISSING_COLUMN, "missing columns");
		e = csv_reader_error(r);
		is_str(e->reason,
			   "missing columns Customers, Open; required: Store, Date, Customers, Open; "
			   "found: Store, date, Sales", "missing-column message lists both sides");
		ok(idx[0] == 0 && idx[2] == -1, "found ones indexed, missing ones -1");
		csv_reader_close(r);
	}
	{
		const char	dup[] = "a,b,A\n";
		const char *const req[] = {"a"};

		r = csv_reader_open_memory(dup, sizeof(dup) - 1, "dup", NULL, NULL);
		ok(csv_reader_read_header(r, req, 1, idx) == CSV_ERR_MISSING_COLUMN &&
		   strstr(csv_reader_error(r)->reason, "more than once") != NULL,
		   "ambiguous column refused: %s", csv_reader_error(r)->reason);
		csv_reader_close(r);
	}
	{
		CsvRecord	rec;

		r = csv_reader_open_memory("", 0, "empty", NULL, NULL);
		ok(csv_reader_read_header(r, NULL, 0, NULL) == CSV_ERR_NO_HEADER,
		   "empty file: no header");
		csv_reader_close(r);

		r = csv_reader_open_memory("a,b\n", 4, "hdr-only", NULL, NULL);
		ok(csv_reader_read_header(r, NULL, 0, NULL) == CSV_OK &&
		   csv_reader_next(r, &rec) == CSV_EOF, "header-only file: header then EOF");
		csv_reader_close(r);

		r = csv_reader_open_memory("a,b", 3, "hdr-only-nonl", NULL, NULL);
		ok(csv_reader_read_header(r, NULL, 0, NULL) == CSV_OK &&
		   csv_reader_next(r, &rec) == CSV_EOF, "header-only file without newline");
		csv_reader_close(r);
	}
}

static void
test_files(void)
{
	const char	text[] = "\"Store\",\"Date\"\r\n1,\"a,b\"\r\n2,x";
	char		got[1024];
	const char *want = "1:Store|Date;2:1|a,b;3:2|x";
	static char big[200000];
	size_t		n = 0;

	write_file(tmp_path("plain.csv"), text, sizeof(text) - 1);
	describe_file(tmp_path("plain.csv"), got, sizeof(got));
	is_str(got, want, "plain file");

	write_gzip(tmp_path("text.csv.gz"), text, sizeof(text) - 1);
	describe_file(tmp_path("text.csv.gz"), got, sizeof(got));
	is_str(got, want, "gzip file");

	/* a gzip file whose name does not say so is still decompressed */
	{
		char		from[512];

		snprintf(from, sizeof(from), "%s", tmp_path("text.csv.gz"));
		rename(from, tmp_path("text.dat"));
	}
	describe_file(tmp_path("text.dat"), got, sizeof(got));
	is_str(got, want, "gzip detected by content");

	/* truncated gzip: enough data that the cut falls inside the stream */
	while (n + 40 < sizeof(big))
		n += (size_t) snprintf(big + n, sizeof(big) - n, "%zu,%zu,row\n", n * 7919 % 100003, n);
	write_gzip(tmp_path("big.csv.gz"), big, n);
	{
		struct stat st;
		FILE	   *f;
		char	   *gzbytes;

		stat(tmp_path("big.csv.gz"), &st);
		gzbytes = malloc(st.st_size);
		f = fopen(tmp_path("big.csv.gz"), "rb");
		if (fread(gzbytes, 1, st.st_size, f) != (size_t) st.st_size)
			exit(2);
		fclose(f);
		/* checked below: its records fill more than `got` */
		write_file(tmp_path("trunc.csv.gz"), gzbytes, st.st_size / 2);

		/* corrupt the deflate data in the middle */
		for (off_t i = st.st_size / 3; i < st.st_size / 3 + 64; i++)
			gzbytes[i] ^= 0x5A;
		write_file(tmp_path("flipped.csv.gz"), gzbytes, st.st_size);
		describe_file(tmp_path("flipped.csv.gz"), got, sizeof(got));
		ok(strstr(got, "!corrupt gzip data@") != NULL, "corrupted gzip stream is an error");

		/* gzip magic then garbage */
		memcpy(gzbytes, "\x1f\x8b\x08\x00garbage-garbage-garbage\n", 28);
		write_file(tmp_path("garbage.csv.gz"), gzbytes, 28);
		describe_file(tmp_path("garbage.csv.gz"), got, sizeof(got));
		ok(strstr(got, "!corrupt gzip data@") != NULL, "gzip header then garbage: %s", got);

		/* named .gz, not gzip */
		write_file(tmp_path("fake.csv.gz"), "a,b\n", 4);
		describe_file(tmp_path("fake.csv.gz"), got, sizeof(got));
		ok(strstr(got, "!corrupt gzip data@") != NULL, ".gz name with plain content: %s", got);
		free(gzbytes);
	}
	{
		CsvError	err;
		CsvReader  *r = csv_reader_open_file(tmp_path("trunc.csv.gz"), NULL, &err);
		CsvRecord	rec;
		long		rows = 0;
		int			rc;

		while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			rows++;
		ok(rc == CSV_ERR_GZIP && strstr(csv_reader_error(r)->reason, "truncated") != NULL,
		   "truncated gzip says so after %ld rows: %s", rows, csv_reader_error(r)->reason);
		csv_reader_close(r);
	}

	write_file(tmp_path("empty.csv"), "", 0);
	describe_file(tmp_path("empty.csv"), got, sizeof(got));
	is_str(got, "", "empty file: no records");
	write_gzip(tmp_path("empty.csv.gz"), "", 0);
	describe_file(tmp_path("empty.csv.gz"), got, sizeof(got));
	is_str(got, "", "empty gzip file: no records");

	{
		CsvError	err;
		CsvReader  *r = csv_reader_open_file(tmp_path("does-not-exist.csv"), NULL, &err);

		ok(r == NULL && err.code == CSV_ERR_OPEN && strstr(err.reason, "does-not-exist.csv"),
		   "missing file: %s", err.reason);
	}
}

static void
test_fixtures(void)
{
	static const struct
	{
		const char *file;
		const char *want;
	}			cases[] = {
		{"crlf.csv", "1:Store|Date|Weekly_Sales;2:7|05-02-2010|1000.5;3:7|12-02-2010|998.25"},
		{"cr_only.csv", "1:Store|Type|Size;2:1|A|1000;3:9|B|2000"},
		{"bom_quoted.csv", "1:Store|Note;2:1|say \"hi\", then\\nleave;4:2|"},
		{"sample.csv.gz",
			"1:Store|DayOfWeek|Date|Sales|Customers|Open|Promo|StateHoliday|SchoolHoliday;"
			"2:1|5|2015-07-31|100|10|1|1|0|1;3:2|7|2015-08-02|0|0|0|0|a|0"},
	};
	char		path[512];
	char		got[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, cases[i].file);
		describe_file(path, got, sizeof(got));
		is_str(got, cases[i].want, cases[i].file);
	}
}

/* ------------------------------------------------------- parser tests */

static void
test_int(void)
{
	static const struct
	{
		const char *text;
		bool		ok;
		int64_t		value;
	}			cases[] = {
		{"0", true, 0}, {"42", true, 42}, {"-42", true, -42}, {"+7", true, 7},
		{"  12 ", true, 12}, {"\t5\t", true, 5}, {"007", true, 7},
		{"9223372036854775807", true, INT64_MAX},
		{"-9223372036854775808", true, INT64_MIN},
		{"9223372036854775808", false, 0}, {"-9223372036854775809", false, 0},
		{"99999999999999999999", false, 0},
		{"", false, 0}, {"   ", false, 0}, {"-", false, 0}, {"+", false, 0},
		{"12x", false, 0}, {"1 2", false, 0}, {"1.0", false, 0}, {"1e3", false, 0},
		{"0x10", false, 0}, {"--1", false, 0}, {"NA", false, 0}, {"1,000", false, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int64_t		v = -1;
		const char *reason = NULL;
		bool		got = field_parse_int64(cases[i].text, strlen(cases[i].text), &v, &reason);

		ok(got == cases[i].ok && (!got || v == cases[i].value) && (got || reason != NULL),
		   "int64 '%s' -> %s%s%s", cases[i].text, got ? "ok" : "fail",
		   got ? "" : ": ", got ? "" : reason);
	}
	{
		int32_t		v;

		ok(field_parse_int32("2147483647", 10, &v, NULL) && v == INT32_MAX, "int32 max");
		ok(!field_parse_int32("2147483648", 10, &v, NULL), "int32 overflow");
		ok(field_parse_int32("-2147483648", 11, &v, NULL) && v == INT32_MIN, "int32 min");
	}
	/* length is honoured: no reading past it */
	{
		int64_t		v;

		ok(field_parse_int64("123456", 3, &v, NULL) && v == 123, "int64 uses only len bytes");
	}
}

static void
test_float(void)
{
	static const struct
	{
		const char *text;
		bool		ok;
		double		value;
	}			cases[] = {
		{"0", true, 0}, {"1.5", true, 1.5}, {"-2.25", true, -2.25}, {"+3", true, 3},
		{".5", true, .5}, {"5.", true, 5}, {"1e3", true, 1000}, {"1E-2", true, .01},
		{"2.5e+2", true, 250}, {" 24924.5 ", true, 24924.5}, {"211.0963582", true, 211.0963582},
		{"-0", true, 0}, {"4.9e-324", true, 4.9e-324},
		{"1e309", false, 0}, {"-1e309", false, 0}, {"1e-400", false, 0},
		{"", false, 0}, {" ", false, 0}, {"NaN", false, 0}, {"nan", false, 0},
		{"Inf", false, 0}, {"-inf", false, 0}, {"Infinity", false, 0},
		{"0x1p3", false, 0}, {"1.5x", false, 0}, {"1,5", false, 0}, {".", false, 0},
		{"-", false, 0}, {"e5", false, 0}, {"1e", false, 0}, {"1e+", false, 0},
		{"1.2.3", false, 0}, {"NA", false, 0}, {"1 000", false, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		double		v = -1;
		const char *reason = NULL;
		bool		got = field_parse_float8(cases[i].text, strlen(cases[i].text), &v, &reason);

		ok(got == cases[i].ok && (!got || v == cases[i].value) && (got || reason != NULL),
		   "float8 '%s' -> %s%s%s", cases[i].text, got ? "ok" : "fail",
		   got ? "" : ": ", got ? "" : reason);
	}
	{
		char		longnum[600];
		double		v;

		memset(longnum, '1', sizeof(longnum));
		ok(!field_parse_float8(longnum, sizeof(longnum), &v, NULL), "600-digit number refused");
		ok(field_parse_float8("1.25e2xyz", 6, &v, NULL) && v == 125, "float8 uses only len bytes");
	}
}

static void
test_bool_and_missing(void)
{
	static const char *const truths[] = {"1", "true", "TRUE", "True", "t", "T", "yes", "YES", "y", "Y", " true "};
	static const char *const falsehoods[] = {"0", "false", "FALSE", "f", "F", "no", "No", "n", "N"};
	static const char *const bad[] = {"", "2", "tru", "yess", "on", "off", "-1", "10", "truex"};

	for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++)
	{
		bool		v = false;

		ok(field_parse_bool(truths[i], strlen(truths[i]), &v, NULL) && v, "bool '%s' true", truths[i]);
	}
	for (size_t i = 0; i < sizeof(falsehoods) / sizeof(falsehoods[0]); i++)
	{
		bool		v = true;

		ok(field_parse_bool(falsehoods[i], strlen(falsehoods[i]), &v, NULL) && !v,
		   "bool '%s' false", falsehoods[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		bool		v;
		const char *reason = NULL;

		ok(!field_parse_bool(bad[i], strlen(bad[i]), &v, &reason) && reason,
		   "bool '%s' refused", bad[i]);
	}
	ok(field_is_missing("", 0) && field_is_missing(" NA ", 4) && field_is_missing("n/a", 3) &&
	   field_is_missing("null", 4) && !field_is_missing("0", 1) && !field_is_missing("NaN", 3),
	   "missing markers: empty, NA, N/A, NULL; not 0 or NaN");
}

static void
test_dates(void)
{
	static const struct
	{
		const char *text;
		FieldDateFormat fmt;
		bool		ok;
		int			y,
					m,
					d;
	}			cases[] = {
		{"2000-01-01", DATE_FORMAT_ISO, true, 2000, 1, 1},
		{"2015-07-31", DATE_FORMAT_ISO, true, 2015, 7, 31},
		{"2016-02-29", DATE_FORMAT_ISO, true, 2016, 2, 29},
		{"2000-02-29", DATE_FORMAT_ISO, true, 2000, 2, 29},
		{"0001-01-01", DATE_FORMAT_ISO, true, 1, 1, 1},
		{"9999-12-31", DATE_FORMAT_ISO, true, 9999, 12, 31},
		{" 2013-01-01 ", DATE_FORMAT_ISO, true, 2013, 1, 1},
		{"1900-02-29", DATE_FORMAT_ISO, false}, {"2015-02-29", DATE_FORMAT_ISO, false},
		{"2015-04-31", DATE_FORMAT_ISO, false}, {"2015-13-01", DATE_FORMAT_ISO, false},
		{"2015-00-10", DATE_FORMAT_ISO, false}, {"2015-01-00", DATE_FORMAT_ISO, false},
		{"0000-01-01", DATE_FORMAT_ISO, false}, {"2015-7-31", DATE_FORMAT_ISO, false},
		{"2015/07/31", DATE_FORMAT_ISO, false}, {"2015-07-31x", DATE_FORMAT_ISO, false},
		{"2015-07-3a", DATE_FORMAT_ISO, false}, {"", DATE_FORMAT_ISO, false},
		{"20150731", DATE_FORMAT_ISO, false},
		{"07-31-2015", DATE_FORMAT_MDY_DASH, true, 2015, 7, 31},
		{"7-4-2015", DATE_FORMAT_MDY_DASH, true, 2015, 7, 4},
		{"31-07-2015", DATE_FORMAT_MDY_DASH, false},
		{"07/31/2015", DATE_FORMAT_MDY_SLASH, true, 2015, 7, 31},
		{"2/5/2010", DATE_FORMAT_MDY_SLASH, true, 2010, 2, 5},
		{"07-31-2015", DATE_FORMAT_MDY_SLASH, false},
		{"05-02-2010", DATE_FORMAT_DMY_DASH, true, 2010, 2, 5},
		{"26-10-2012", DATE_FORMAT_DMY_DASH, true, 2012, 10, 26},
		{"29-02-2011", DATE_FORMAT_DMY_DASH, false},
		{"05-02-10", DATE_FORMAT_DMY_DASH, false},
		{"005-02-2010", DATE_FORMAT_DMY_DASH, false},
		{"05-02-2010-", DATE_FORMAT_DMY_DASH, false},
		{"31/12/1999", DATE_FORMAT_DMY_SLASH, true, 1999, 12, 31},
		{"31/12/1999 ", DATE_FORMAT_DMY_SLASH, true, 1999, 12, 31},
		{"31/12/99", DATE_FORMAT_DMY_SLASH, false},
		{"20150731", DATE_FORMAT_COMPACT, true, 2015, 7, 31},
		{"2015073", DATE_FORMAT_COMPACT, false}, {"20150732", DATE_FORMAT_COMPACT, false},
		{"2015-07-31", DATE_FORMAT_COMPACT, false},
		{"2015-07-31", DATE_FORMAT_ISO_TIMESTAMP, true, 2015, 7, 31},
		{"2015-07-31T23:59:59+14:00", DATE_FORMAT_ISO_TIMESTAMP, true, 2015, 7, 31},
		{"2015-07-31T24:00:00", DATE_FORMAT_ISO_TIMESTAMP, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int32_t		day = INT32_MIN;
		const char *reason = NULL;
		bool		got = field_parse_date(cases[i].text, strlen(cases[i].text), cases[i].fmt,
										   &day, &reason);
		bool		right = got == cases[i].ok;

		if (got && right)
			right = day == calendar_day_from_ymd(cases[i].y, cases[i].m, cases[i].d);
		ok(right && (got || reason), "date '%s' (format %d) -> %s%s%s", cases[i].text,
		   (int) cases[i].fmt, got ? "ok" : "fail", got ? "" : ": ", got ? "" : reason);
		/* the ISO fast path agrees with the general one */
		if (cases[i].fmt == DATE_FORMAT_ISO)
		{
			int32_t		day2 = INT32_MIN;
			bool		got2 = field_parse_date_iso(cases[i].text, strlen(cases[i].text), &day2, NULL);

			if (got2 != got || (got && day2 != day))
				ok(false, "field_parse_date_iso disagrees on '%s'", cases[i].text);
		}
	}

	/* DateADT anchors, as PostgreSQL computes them ('x'::date - '2000-01-01') */
	ok(calendar_day_from_ymd(2000, 1, 1) == 0, "2000-01-01 is day 0");
	ok(calendar_day_from_ymd(1999, 12, 31) == -1, "1999-12-31 is day -1");
	ok(calendar_day_from_ymd(2015, 7, 31) == 5690, "2015-07-31 is day 5690");
	ok(calendar_day_from_ymd(1970, 1, 1) == -10957, "1970-01-01 is day -10957");
	ok(calendar_day_from_ymd(1, 1, 1) == -730119, "0001-01-01 is day -730119");
	ok(calendar_day_from_ymd(9999, 12, 31) == 2921939, "9999-12-31 is day 2921939");

	/* round trip over every day of years 1..9999 plus day of week continuity */
	{
		bool		all = true;
		int32_t		first = calendar_day_from_ymd(1, 1, 1);
		int32_t		last = calendar_day_from_ymd(9999, 12, 31);
		int			prev_dow = calendar_day_of_week(first - 1);

		for (int32_t d = first; d <= last && all; d++)
		{
			int			y,
						m,
						md;
			int			dow = calendar_day_of_week(d);

			calendar_ymd_from_day(d, &y, &m, &md);
			if (!calendar_valid_ymd(y, m, md) || calendar_day_from_ymd(y, m, md) != d ||
				dow != (prev_dow + 1) % 7)
			{
				diag("round trip broke at day %d: %04d-%02d-%02d dow %d", d, y, m, md, dow);
				all = false;
			}
			prev_dow = dow;
		}
		ok(all, "ymd <-> day round trip for all %d days of years 1..9999", last - first + 1);
	}
	ok(calendar_day_of_week(0) == 6 && calendar_iso_day_of_week(0) == 6, "2000-01-01 Saturday");
	ok(calendar_day_of_week(calendar_day_from_ymd(2015, 7, 31)) == 5 &&
	   calendar_iso_day_of_week(calendar_day_from_ymd(2015, 7, 31)) == 5, "2015-07-31 Friday");
	ok(calendar_day_of_week(calendar_day_from_ymd(2013, 1, 6)) == 0 &&
	   calendar_iso_day_of_week(calendar_day_from_ymd(2013, 1, 6)) == 7, "2013-01-06 Sunday");
	ok(calendar_day_of_week(-1) == 5 && calendar_day_of_week(-730119) == 1,
	   "day of week before 2000 (1999-12-31 Fri, 0001-01-01 Mon)");

	{
		static const struct
		{
			const char *hint;
			bool		ok;
			FieldDateFormat fmt;
		}			hints[] = {
			{"YYYY-MM-DD", true, DATE_FORMAT_ISO}, {"iso", true, DATE_FORMAT_ISO},
			{"", true, DATE_FORMAT_ISO}, {"mm-dd-yyyy", true, DATE_FORMAT_MDY_DASH},
			{"MM/DD/YYYY", true, DATE_FORMAT_MDY_SLASH}, {"DD-MM-YYYY", true, DATE_FORMAT_DMY_DASH},
			{"DD/MM/YYYY", true, DATE_FORMAT_DMY_SLASH}, {"YYYYMMDD", true, DATE_FORMAT_COMPACT},
			{"ISO8601", true, DATE_FORMAT_ISO_TIMESTAMP}, {"timestamp", true, DATE_FORMAT_ISO_TIMESTAMP},
			{"DD.MM.YYYY", false, DATE_FORMAT_ISO}, {"YY-MM-DD", false, DATE_FORMAT_ISO},
		};

		for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		{
			FieldDateFormat f = -1;
			bool		got = field_date_format_from_hint(hints[i].hint, &f);

			ok(got == hints[i].ok && (!got || f == hints[i].fmt), "hint '%s'", hints[i].hint);
		}
		{
			FieldDateFormat f;

			ok(field_date_format_from_hint(NULL, &f) && f == DATE_FORMAT_ISO, "NULL hint is ISO");
		}
	}
}

static void
test_timestamps(void)
{
	static const struct
	{
		const char *text;
		bool		ok;
		int			y,
					m,
					d;
		int32_t		secs;
		int32_t		micro;
		bool		has_offset;
		int32_t		offset;
	}			cases[] = {
		{"2015-07-31T00:00:00", true, 2015, 7, 31, 0, 0, false, 0},
		{"2015-07-31T23:59:59", true, 2015, 7, 31, 86399, 0, false, 0},
		{"2015-07-31 12:30:15", true, 2015, 7, 31, 45015, 0, false, 0},
		{"2015-07-31t12:30:15", true, 2015, 7, 31, 45015, 0, false, 0},
		{"2015-07-31T12:30:15.5", true, 2015, 7, 31, 45015, 500000, false, 0},
		{"2015-07-31T12:30:15.123", true, 2015, 7, 31, 45015, 123000, false, 0},
		{"2015-07-31T12:30:15.123456789", true, 2015, 7, 31, 45015, 123456, false, 0},
		{"2015-07-31T12:30:15Z", true, 2015, 7, 31, 45015, 0, true, 0},
		{"2015-07-31T12:30:15.25z", true, 2015, 7, 31, 45015, 250000, true, 0},
		{"2015-07-31T12:30:15+02:00", true, 2015, 7, 31, 45015, 0, true, 7200},
		{"2015-07-31T12:30:15-05:30", true, 2015, 7, 31, 45015, 0, true, -19800},
		{"2015-07-31T12:30:15.1-00:00", true, 2015, 7, 31, 45015, 100000, true, 0},
		{"  2015-07-31T12:30:15Z  ", true, 2015, 7, 31, 45015, 0, true, 0},
		{"2015-07-31", false}, {"2015-07-31T", false}, {"2015-07-31T12:30", false},
		{"2015-07-31T12:30:60", false}, {"2015-07-31T12:60:00", false},
		{"2015-07-31T24:00:00", false}, {"2015-02-30T00:00:00", false},
		{"2015-07-31T12:30:15.", false}, {"2015-07-31T12:30:15.1234567890", false},
		{"2015-07-31T12:30:15+2", false}, {"2015-07-31T12:30:15+0200", false},
		{"2015-07-31T12:30:15+16:00", false}, {"2015-07-31T12:30:15+02:60", false},
		{"2015-07-31T12:30:15Zx", false}, {"2015-07-31T12:30:15 Z", false},
		{"2015-07-31X12:30:15", false}, {"2015-07-31T1a:30:15", false}, {"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		FieldTimestamp ts;
		const char *reason = NULL;
		bool		got = field_parse_timestamp(cases[i].text, strlen(cases[i].text), &ts, &reason);
		bool		right = got == cases[i].ok;

		if (got && right)
			right = ts.day == calendar_day_from_ymd(cases[i].y, cases[i].m, cases[i].d) &&
				ts.seconds == cases[i].secs && ts.microseconds == cases[i].micro &&
				ts.has_offset == cases[i].has_offset && ts.offset_seconds == cases[i].offset;
		ok(right && (got || reason), "timestamp '%s' -> %s%s%s", cases[i].text,
		   got ? "ok" : "fail", got ? "" : ": ", got ? "" : reason);
	}
}

/* ------------------------------------------------------ real datasets */

static char dataset_dir[512];

static bool
have_datasets(void)
{
	struct stat st;
	const char *env = getenv("SHELFOPS_DATASETS");

	snprintf(dataset_dir, sizeof(dataset_dir), "%s", env && *env ? env : DATASET_DIR);
	return stat(dataset_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static CsvReader *
open_dataset(const char *rel, const char *const *cols, int ncols, int *idx)
{
	char		path[1024];
	CsvOptions	opts;
	CsvError	err;
	CsvReader  *r;

	snprintf(path, sizeof(path), "%s/%s", dataset_dir, rel);
	csv_options_init(&opts);
	opts.check_field_count = true;
	r = csv_reader_open_file(path, &opts, &err);
	if (r == NULL)
	{
		ok(false, "open %s: %s", rel, err.reason);
		return NULL;
	}
	if (csv_reader_read_header(r, cols, ncols, idx) != CSV_OK)
	{
		ok(false, "header of %s: %s", rel, csv_reader_error(r)->reason);
		csv_reader_close(r);
		return NULL;
	}
	return r;
}

/* Finish a dataset read: EOF expected, or say where it failed. */
static bool
ended_cleanly(CsvReader *r, int rc, const char *rel)
{
	const CsvError *e = csv_reader_error(r);

	if (rc == CSV_EOF)
		return true;
	diag("%s stopped at line %ld column %d (%s): %s", rel, e->line, e->column,
		 csv_reader_column_name(r, e->column), e->reason);
	return false;
}

static void
test_rossmann_train(void)
{
	static const char *const cols[] = {"Store", "DayOfWeek", "Date", "Sales", "Customers",
	"Open", "Promo", "StateHoliday", "SchoolHoliday"};
	int			idx[9];
	CsvReader  *r = open_dataset("rossmann/train.csv.gz", cols, 9, idx);
	CsvRecord	rec;
	long		rows = 0,
				open_rows = 0,
				bad = 0;
	int32_t		min_day = INT32_MAX,
				max_day = INT32_MIN;
	int			rc;
	int			sh_counts[4] = {0};

	if (r == NULL)
		return;
	while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
	{
		int64_t		store,
					dow,
					sales,
					customers;
		bool		open,
					promo,
					school;
		int32_t		day;
		const char *why = NULL;

		rows++;
		if (!field_parse_int64(rec.fields[idx[0]], rec.lengths[idx[0]], &store, &why) ||
			!field_parse_int64(rec.fields[idx[1]], rec.lengths[idx[1]], &dow, &why) ||
			!field_parse_date_iso(rec.fields[idx[2]], rec.lengths[idx[2]], &day, &why) ||
			!field_parse_int64(rec.fields[idx[3]], rec.lengths[idx[3]], &sales, &why) ||
			!field_parse_int64(rec.fields[idx[4]], rec.lengths[idx[4]], &customers, &why) ||
			!field_parse_bool(rec.fields[idx[5]], rec.lengths[idx[5]], &open, &why) ||
			!field_parse_bool(rec.fields[idx[6]], rec.lengths[idx[6]], &promo, &why) ||
			!field_parse_bool(rec.fields[idx[8]], rec.lengths[idx[8]], &school, &why) ||
			dow != calendar_iso_day_of_week(day))
		{
			if (bad++ < 3)
				diag("rossmann line %ld: %s", rec.line, why ? why : "DayOfWeek mismatch");
			continue;
		}
		open_rows += open;
		if (day < min_day)
			min_day = day;
		if (day > max_day)
			max_day = day;
		if (rec.lengths[idx[7]] == 1 && rec.fields[idx[7]][0] >= 'a' && rec.fields[idx[7]][0] <= 'c')
			sh_counts[rec.fields[idx[7]][0] - 'a' + 1]++;
		else if (strcmp(rec.fields[idx[7]], "0") == 0)
			sh_counts[0]++;
		else if (bad++ < 3)
			diag("rossmann line %ld: StateHoliday '%s'", rec.line, rec.fields[idx[7]]);
	}
	ok(ended_cleanly(r, rc, "rossmann/train.csv.gz") && rows == 1017209,
	   "Rossmann train.csv.gz: 1,017,209 rows (got %ld)", rows);
	ok(bad == 0, "Rossmann train: every field parses, DayOfWeek matches Date (%ld bad)", bad);
	ok(open_rows == 844392, "Rossmann train: 844,392 rows with Open=1 (got %ld)", open_rows);
	ok(min_day == calendar_day_from_ymd(2013, 1, 1) && max_day == calendar_day_from_ymd(2015, 7, 31),
	   "Rossmann train: dates 2013-01-01 .. 2015-07-31");
	ok(sh_counts[0] + sh_counts[1] + sh_counts[2] + sh_counts[3] == rows,
	   "Rossmann train: StateHoliday in 0/a/b/c");
	csv_reader_close(r);
}

static void
test_rossmann_store(void)
{
	static const char *const cols[] = {"Store", "StoreType", "CompetitionDistance", "PromoInterval"};
	int			idx[4];
	CsvReader  *r = open_dataset("rossmann/store.csv", cols, 4, idx);
	CsvRecord	rec;
	long		rows = 0,
				empty_distance = 0,
				jan_apr = 0;
	int			rc;

	if (r == NULL)
		return;
	while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
	{
		rows++;
		if (field_is_missing(rec.fields[idx[2]], rec.lengths[idx[2]]))
			empty_distance++;
		if (strcmp(rec.fields[idx[3]], "Jan,Apr,Jul,Oct") == 0)
			jan_apr++;
	}
	ok(ended_cleanly(r, rc, "rossmann/store.csv") && rows == 1115,
	   "Rossmann store.csv: 1,115 rows (got %ld)", rows);
	ok(jan_apr > 0 && empty_distance == 3,
	   "Rossmann store.csv: quoted 'Jan,Apr,Jul,Oct' kept whole (%ld), 3 empty distances (%ld)",
	   jan_apr, empty_distance);
	csv_reader_close(r);
}

static void
test_walmart(void)
{
	int			idx[5];
	CsvRecord	rec;
	CsvReader  *r;
	long		rows;
	int			rc;

	{
		static const char *const cols[] = {"Store", "Type", "Size"};
		long		last_store = 0;
		int64_t		size_sum = 0,
					v;

		r = open_dataset("walmart/stores.csv", cols, 3, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				rows++;
				if (field_parse_int64(rec.fields[idx[2]], rec.lengths[idx[2]], &v, NULL))
					size_sum += v;
				last_store = strtol(rec.fields[idx[0]], NULL, 10);
			}
			ok(ended_cleanly(r, rc, "walmart/stores.csv") && rows == 45 && last_store == 45 &&
			   rec.line == 46,
			   "Walmart stores.csv (CR endings, no final newline): 45 rows, last on line 46 (got %ld)",
			   rows);
			ok(size_sum > 0, "Walmart stores.csv: sizes parse (sum %lld)", (long long) size_sum);
			csv_reader_close(r);
		}
	}
	{
		static const char *const cols[] = {"Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"};
		long		bad = 0,
					holidays = 0;

		r = open_dataset("walmart/train.csv.gz", cols, 5, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				int32_t		day;
				double		sales;
				bool		holiday;

				rows++;
				if (!field_parse_date_iso(rec.fields[idx[2]], rec.lengths[idx[2]], &day, NULL) ||
					calendar_day_of_week(day) != 5 ||
					!field_parse_float8(rec.fields[idx[3]], rec.lengths[idx[3]], &sales, NULL) ||
					!field_parse_bool(rec.fields[idx[4]], rec.lengths[idx[4]], &holiday, NULL))
					bad++;
				else
					holidays += holiday;
			}
			ok(ended_cleanly(r, rc, "walmart/train.csv.gz") && rows == 421570,
			   "Walmart train.csv.gz: 421,570 rows (got %ld)", rows);
			ok(bad == 0 && holidays > 0,
			   "Walmart train: Friday dates, float sales, TRUE/FALSE flags parse (%ld bad)", bad);
			csv_reader_close(r);
		}
	}
	{
		static const char *const cols[] = {"Store", "Date", "MarkDown1", "CPI", "IsHoliday"};
		long		na = 0,
					bad = 0;

		r = open_dataset("walmart/features.csv", cols, 5, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				double		v;

				rows++;
				if (field_is_missing(rec.fields[idx[2]], rec.lengths[idx[2]]))
					na++;
				else if (!field_parse_float8(rec.fields[idx[2]], rec.lengths[idx[2]], &v, NULL))
					bad++;
				if (!field_is_missing(rec.fields[idx[3]], rec.lengths[idx[3]]) &&
					!field_parse_float8(rec.fields[idx[3]], rec.lengths[idx[3]], &v, NULL))
					bad++;
			}
			ok(ended_cleanly(r, rc, "walmart/features.csv") && rows == 8190,
			   "Walmart features.csv: 8,190 rows (got %ld)", rows);
			ok(na > 0 && bad == 0, "features.csv: NA recognised (%ld), other values parse", na);
			csv_reader_close(r);
		}
	}
	{
		static const char *const cols[] = {"Store", "Date", "Weekly_Sales", "Holiday_Flag"};
		int32_t		min_day = INT32_MAX,
					max_day = INT32_MIN;
		long		bad = 0;

		r = open_dataset("walmart/Walmart_Store_sales.csv", cols, 4, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				int32_t		day;
				bool		flag;

				rows++;
				if (!field_parse_date(rec.fields[idx[1]], rec.lengths[idx[1]], DATE_FORMAT_DMY_DASH,
									  &day, NULL) ||
					calendar_day_of_week(day) != 5 ||
					!field_parse_bool(rec.fields[idx[3]], rec.lengths[idx[3]], &flag, NULL))
				{
					bad++;
					continue;
				}
				if (day < min_day)
					min_day = day;
				if (day > max_day)
					max_day = day;
			}
			ok(ended_cleanly(r, rc, "walmart/Walmart_Store_sales.csv") && rows == 6435,
			   "Walmart_Store_sales.csv (CRLF, no final newline): 6,435 rows (got %ld)", rows);
			ok(bad == 0 && min_day == calendar_day_from_ymd(2010, 2, 5) &&
			   max_day == calendar_day_from_ymd(2012, 10, 26),
			   "Walmart_Store_sales.csv: DD-MM-YYYY Fridays 2010-02-05 .. 2012-10-26 (%ld bad)", bad);
			csv_reader_close(r);
		}
	}
}

static void
test_favorita(void)
{
	int			idx[3];
	CsvRecord	rec;
	CsvReader  *r;
	long		rows;
	int			rc;

	{
		static const char *const cols[] = {"date", "dcoilwtico"};
		bool		first_empty = false;

		r = open_dataset("favorita/oil.csv", cols, 2, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				if (rows++ == 0)
					first_empty = rec.lengths[idx[1]] == 0;
			}
			ok(ended_cleanly(r, rc, "favorita/oil.csv") && rows == 1218 && first_empty,
			   "Favorita oil.csv: 1,218 rows, first value empty (got %ld)", rows);
			csv_reader_close(r);
		}
	}
	{
		static const char *const cols[] = {"date", "store_nbr", "transactions"};
		long		bad = 0;

		r = open_dataset("favorita/transactions.csv.gz", cols, 3, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				int32_t		day;
				int64_t		n;

				rows++;
				if (!field_parse_date_iso(rec.fields[idx[0]], rec.lengths[idx[0]], &day, NULL) ||
					!field_parse_int64(rec.fields[idx[2]], rec.lengths[idx[2]], &n, NULL))
					bad++;
			}
			ok(ended_cleanly(r, rc, "favorita/transactions.csv.gz") && rows == 83488 && bad == 0,
			   "Favorita transactions.csv.gz: 83,488 rows parse (got %ld, %ld bad)", rows, bad);
			csv_reader_close(r);
		}
	}
	{
		static const char *const cols[] = {"date", "type", "transferred"};
		long		bad = 0;

		r = open_dataset("favorita/holidays_events.csv", cols, 3, idx);
		if (r != NULL)
		{
			rows = 0;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				bool		b;

				rows++;
				if (!field_parse_bool(rec.fields[idx[2]], rec.lengths[idx[2]], &b, NULL))
					bad++;
			}
			ok(ended_cleanly(r, rc, "favorita/holidays_events.csv") && rows == 350 && bad == 0,
			   "Favorita holidays_events.csv: 350 rows, True/False flags (got %ld)", rows);
			csv_reader_close(r);
		}
	}
}

static void
test_datasets(void)
{
	if (!have_datasets())
	{
		static const char *const names[] = {
			"Rossmann train.csv.gz rows", "Rossmann store.csv rows",
			"Walmart stores.csv rows", "Walmart train.csv.gz rows", "Walmart features.csv rows",
			"Walmart_Store_sales.csv rows", "Favorita files"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			skip("../shared/datasets not found", names[i]);
		return;
	}
	test_rossmann_train();
	test_rossmann_store();
	test_walmart();
	test_favorita();
}

/* ---------------------------------------------------------- benchmark */

static double
seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Time three passes over one file: the records alone, the records with every
 * field parsed as a Rossmann loader would, and (for scale) bare gzread.
 */
static int
bench(const char *path)
{
	for (int pass = 0; pass < 3; pass++)
	{
		double		cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID),
					wall0 = seconds(CLOCK_MONOTONIC);
		long		rows = 0;
		size_t		bytes = 0;
		const char *what;

		if (pass == 2)
		{
			gzFile		gz = gzopen(path, "rb");
			static char buf[256 * 1024];
			int			n;

			what = "gzread only (decompression floor)";
			if (gz == NULL)
				return 1;
			gzbuffer(gz, 128 * 1024);
			while ((n = gzread(gz, buf, sizeof(buf))) > 0)
				bytes += n;
			gzclose(gz);
		}
		else
		{
			CsvError	err;
			CsvReader  *r = csv_reader_open_file(path, NULL, &err);
			CsvRecord	rec;
			int			rc;
			int64_t		checksum = 0;

			what = pass == 0 ? "reader only (records, fields split)"
				: "reader + parse every field (int, ISO date, flags)";
			if (r == NULL)
			{
				fprintf(stderr, "%s\n", err.reason);
				return 1;
			}
			if (csv_reader_read_header(r, NULL, 0, NULL) != CSV_OK)
				return 1;
			while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
			{
				rows++;
				for (int i = 0; i < rec.nfields; i++)
					bytes += rec.lengths[i] + 1;
				if (pass == 1)
				{
					for (int i = 0; i < rec.nfields; i++)
					{
						int64_t		v;
						int32_t		day;

						if (field_parse_int64(rec.fields[i], rec.lengths[i], &v, NULL))
							checksum += v;
						else if (field_parse_date_iso(rec.fields[i], rec.lengths[i], &day, NULL))
							checksum += day;
					}
				}
			}
			if (rc != CSV_EOF)
			{
				fprintf(stderr, "%s\n", csv_reader_error(r)->reason);
				return 1;
			}
			csv_reader_close(r);
			if (checksum == 42)
				printf(" ");
		}
		{
			double		cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
			double		wall = seconds(CLOCK_MONOTONIC) - wall0;

			printf("%-52s rows %8ld  cpu %.3f s  wall %.3f s  %9.0f rows/s  %.1f MB/s\n",
				   what, rows, cpu, wall, rows ? rows / cpu : 0.0, bytes / 1e6 / cpu);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(argv[2]);

	snprintf(tmpdir, sizeof(tmpdir), "%s/csv_test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}

	test_line_endings();
	test_quoting();
	test_empty_fields();
	test_bom();
	test_errors();
	test_header();
	test_files();
	test_fixtures();
	test_int();
	test_float();
	test_bool_and_missing();
	test_dates();
	test_timestamps();
	test_datasets();
	test_callback_source();

	{
		char		cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	printf("1..%d\n", tests_run);
	return tests_failed == 0 ? 0 : 1;
}
