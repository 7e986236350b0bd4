/*
 * csv_fuzz.c
 *	  libFuzzer harness for the CSV reader (src/csv.c) and field parsers
 *	  (src/parse.c).  Build and run (see test/unit/README.md):
 *
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -DSHELFOPS_NO_BACKEND \
 *	      -Isrc/include test/fuzz/csv_fuzz.c src/csv.c src/parse.c -lz -o csv_fuzz
 *	  ./csv_fuzz -max_total_time=60 test/fuzz/corpus/csv
 *
 * Input that starts with the gzip magic is written to a memfd and read back
 * through the file path (gzread), so the fuzzer can reach the decompression
 * and corruption checks.  Any other input is: one option byte (buffer size,
 * delimiter, header/field-count checks, record cap), then CSV text read from
 * memory twice, with an 8..71-byte buffer and with the default one.  Both
 * reads must agree record for record (the resumable parser must not depend on
 * where refills fall), and every field must be NUL-terminated at its length.
 * Every field also goes through every parser; what a parser accepts must be
 * self-consistent (a parsed date round-trips through the calendar).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv.h"
#include "parse.h"

/* Digest of everything a read produced, to compare two reads. */
typedef struct ReadDigest
{
	uint64_t	hash;
	long		records;
	int			status;
	long		err_line;
	int			err_column;
} ReadDigest;

static inline uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static void
exercise_parsers(const char *s, size_t len)
{
	int64_t		i64;
	int32_t		i32;
	double		f;
	bool		b;
	int32_t		day;
	FieldTimestamp ts;

	(void) field_parse_int64(s, len, &i64, NULL);
	(void) field_parse_int32(s, len, &i32, NULL);
	if (field_parse_float8(s, len, &f, NULL) && (f != f))
		abort();				/* NaN must never come out */
	(void) field_parse_bool(s, len, &b, NULL);
	(void) field_is_missing(s, len);
	for (int fmt = DATE_FORMAT_ISO; fmt <= DATE_FORMAT_ISO_TIMESTAMP; fmt++)
	{
		const char *reason = NULL;

		if (field_parse_date(s, len, (FieldDateFormat) fmt, &day, &reason))
		{
			int			y,
						m,
						d;

			calendar_ymd_from_day(day, &y, &m, &d);
			if (!calendar_valid_ymd(y, m, d) || calendar_day_from_ymd(y, m, d) != day)
				abort();
			if (calendar_day_of_week(day) < 0 || calendar_day_of_week(day) > 6)
				abort();
		}
		else if (reason == NULL)
			abort();			/* a failure always says why */
	}
	if (field_parse_timestamp(s, len, &ts, NULL))
	{
		if (ts.seconds < 0 || ts.seconds > 86399 || ts.microseconds < 0 ||
			ts.microseconds > 999999 || ts.offset_seconds < -57540 || ts.offset_seconds > 57540)
			abort();
	}
}

static ReadDigest
read_all(CsvReader *r, bool with_header, bool parse_fields)
{
	ReadDigest	d = {0};
	CsvRecord	rec;
	int			rc;

	if (with_header)
	{
		static const char *const want[] = {"a", "Date", "store"};
		int			idx[3];

		rc = csv_reader_read_header(r, want, 3, idx);
		if (rc == CSV_OK)
			for (int i = 0; i < 3; i++)
				if (idx[i] < -1)
					abort();
		/* a missing column is fine here: keep reading the body */
		if (rc != CSV_OK && rc != CSV_ERR_MISSING_COLUMN)
		{
			const CsvError *e = csv_reader_error(r);

			d.status = rc;
			d.err_line = e->line;
			d.err_column = e->column;
			return d;
		}
		if (rc == CSV_ERR_MISSING_COLUMN)
		{
			d.status = rc;
			return d;
		}
	}
	while ((rc = csv_reader_next(r, &rec)) == CSV_OK)
	{
		d.records++;
		d.hash = mix(d.hash, (uint64_t) rec.line);
		d.hash = mix(d.hash, (uint64_t) rec.nfields);
		if (rec.nfields < 1)
			abort();
		for (int i = 0; i < rec.nfields; i++)
		{
			if (rec.fields[i][rec.lengths[i]] != '\0')
				abort();
			for (size_t k = 0; k < rec.lengths[i]; k++)
				d.hash = mix(d.hash, (unsigned char) rec.fields[i][k]);
			d.hash = mix(d.hash, 0x100);
			if (parse_fields)
				exercise_parsers(rec.fields[i], rec.lengths[i]);
		}
	}
	d.status = rc;
	if (rc != CSV_EOF)
	{
		const CsvError *e = csv_reader_error(r);

		if (e->code != rc || e->reason[0] == '\0' || e->line < 0)
			abort();
		d.err_line = e->line;
		d.err_column = e->column;
		/* errors are sticky */
		if (csv_reader_next(r, &rec) != rc)
			abort();
		(void) csv_reader_column_name(r, e->column);
	}
	return d;
}

static void
fuzz_gzip_file(const uint8_t *data, size_t size)
{
	char		path[64];
	int			fd = memfd_create("csv_fuzz", 0);
	CsvError	err;
	CsvReader  *r;

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t) size)
	{
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = csv_reader_open_file(path, NULL, &err);
	if (r != NULL)
	{
		(void) read_all(r, false, false);
		csv_reader_close(r);
	}
	close(fd);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delimiters[4] = {',', ';', '\t', '|'};
	CsvOptions	opts;
	CsvReader  *r;
	ReadDigest	small,
				big;
	uint8_t		config;
	bool		with_header;

	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
	{
		fuzz_gzip_file(data, size);
		return 0;
	}
	if (size < 1)
		return 0;
	config = data[0];
	data++;
	size--;

	csv_options_init(&opts);
	opts.delimiter = delimiters[config & 3];
	with_header = (config & 4) != 0;
	opts.check_field_count = (config & 8) != 0;
	if (config & 16)
		opts.max_record_bytes = 1 + (config >> 5) * 9;	/* 1 .. 64 bytes */

	opts.buffer_bytes = 8 + (size % 64);
	r = csv_reader_open_memory(data, size, "fuzz", &opts, NULL);
	if (r == NULL)
		return 0;
	small = read_all(r, with_header, true);
	csv_reader_close(r);

	opts.buffer_bytes = CSV_DEFAULT_BUFFER_BYTES;
	r = csv_reader_open_memory(data, size, "fuzz", &opts, NULL);
	if (r == NULL)
		return 0;
	big = read_all(r, with_header, false);
	csv_reader_close(r);

	/* same input, same answer, whatever the buffering */
	if (small.hash != big.hash || small.records != big.records ||
		small.status != big.status || small.err_line != big.err_line ||
		small.err_column != big.err_column)
	{
		fprintf(stderr, "reads disagree: small buffer %ld records status %d at %ld:%d, "
				"default %ld records status %d at %ld:%d\n",
				small.records, small.status, small.err_line, small.err_column,
				big.records, big.status, big.err_line, big.err_column);
		abort();
	}
	return 0;
}
