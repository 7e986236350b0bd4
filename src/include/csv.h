/*
 * csv.h
 *	  Streaming CSV reader shared by every dataset loader.
 *
 * The reader is plain C (malloc/free, return codes, a message buffer) so the
 * unit tests and the fuzzer can run it outside the server; build those with
 * -DSHELFOPS_NO_BACKEND.  The two backend-only entry points at the end tie a
 * reader to a MemoryContext and turn a reader error into an ereport(ERROR).
 *
 * Records are returned one at a time as arrays of NUL-terminated field
 * pointers into the reader's buffer: they stay valid until the next call to
 * csv_reader_next() or csv_reader_close().  See docs/csv.md for the dialect.
 */
#ifndef SHELFOPS_CSV_H
#define SHELFOPS_CSV_H

#include <stddef.h>
#include <stdbool.h>

/* Result of a reader call.  Errors are negative and sticky. */
typedef enum CsvStatus
{
	CSV_OK = 0,
	CSV_EOF = 1,
	CSV_ERR_OPEN = -1,			/* the file could not be opened */
	CSV_ERR_READ = -2,			/* read(2) failed */
	CSV_ERR_GZIP = -3,			/* corrupt or truncated gzip stream */
	CSV_ERR_UNTERMINATED_QUOTE = -4,	/* end of file inside a quoted field */
	CSV_ERR_STRAY_QUOTE = -5,	/* '"' inside an unquoted field */
	CSV_ERR_AFTER_QUOTE = -6,	/* a character after a closing quote */
	CSV_ERR_RECORD_TOO_LONG = -7,	/* record longer than max_record_bytes */
	CSV_ERR_FIELD_COUNT = -8,	/* record width differs from the header */
	CSV_ERR_NO_HEADER = -9,		/* empty file where a header was expected */
	CSV_ERR_MISSING_COLUMN = -10,	/* a required column is absent or doubled */
	CSV_ERR_FIELD_VALUE = -11,	/* set by the caller: a field failed to parse */
	CSV_ERR_NOMEM = -12
} CsvStatus;

#define CSV_DEFAULT_BUFFER_BYTES	(256 * 1024)
#define CSV_DEFAULT_MAX_RECORD_BYTES (1024 * 1024)
#define CSV_REASON_BYTES			1024

typedef struct CsvOptions
{
	char		delimiter;		/* default ',' */
	size_t		buffer_bytes;	/* initial read buffer; default 256 KiB, min 8 */
	size_t		max_record_bytes;	/* raw bytes of one record; default 1 MiB */
	bool		check_field_count;	/* after csv_reader_read_header(): every
									 * record must have the header's width */
	bool		number_records; /* CsvRecord.line is the record's ordinal
								 * (first record 0, so after a header the
								 * data rows are 1, 2, ...) rather than its
								 * physical line; for sources whose rows are
								 * not lines (staging tables) */
} CsvOptions;

/* Where and why the reader stopped.  line and column are 1-based; 0 = n/a. */
typedef struct CsvError
{
	CsvStatus	code;
	long		line;
	int			column;
	char		reason[CSV_REASON_BYTES];
} CsvError;

typedef struct CsvRecord
{
	int			nfields;
	char	  **fields;			/* NUL-terminated, quotes removed */
	size_t	   *lengths;		/* bytes in each field; trust this, not
								 * strlen(): a file may contain NUL bytes */
	long		line;			/* physical line on which the record starts */
} CsvRecord;

typedef struct CsvReader CsvReader;

/* Fill *opts with the defaults above. */
extern void csv_options_init(CsvOptions *opts);

/*
 * Open a file, gzip-compressed or plain (detected from the content).  A name
 * ending in ".gz" must hold gzip data.  On failure returns NULL and fills
 * *err (if not NULL).  opts may be NULL for the defaults.
 */
extern CsvReader *csv_reader_open_file(const char *path, const CsvOptions *opts,
									   CsvError *err);

/*
 * Read CSV text from memory (not gzip).  The bytes are copied into the
 * reader's buffer as it goes, so data must outlive the reader but is never
 * written.  name is used in messages.
 */
extern CsvReader *csv_reader_open_memory(const void *data, size_t len,
										 const char *name,
										 const CsvOptions *opts, CsvError *err);

/*
 * Read CSV text produced by a callback: read(arg, buf, want) copies at most
 * want bytes into buf and returns how many (0 = end of input) or a negative
 * CsvStatus (e.g. CSV_ERR_READ).  In the backend the callback may also
 * ereport(ERROR).  name is used in messages.
 */
typedef long (*CsvReadFn) (void *arg, char *buf, size_t want);
extern CsvReader *csv_reader_open_callback(CsvReadFn read, void *arg, const char *name,
										   const CsvOptions *opts, CsvError *err);

/* CSV_OK with *rec filled, CSV_EOF, or a negative CsvStatus (see csv_reader_error). */
extern int	csv_reader_next(CsvReader *reader, CsvRecord *rec);

/*
 * Read the first record as the header: names are normalised (BOM, quotes and
 * surrounding whitespace removed) and kept by the reader.  Then look up each
 * of the nrequired names case-insensitively and store its 0-based index in
 * indexes[i].  A missing or ambiguous name fails with CSV_ERR_MISSING_COLUMN
 * and a reason listing what was required and what was found.  required may
 * be NULL when nrequired is 0.
 */
extern int	csv_reader_read_header(CsvReader *reader, const char *const *required,
								   int nrequired, int *indexes);

/* 0-based index of a header column (case-insensitive), or -1 if absent. */
extern int	csv_reader_find_column(const CsvReader *reader, const char *name);

/* Header names after csv_reader_read_header(); NULL before. */
extern const char *const *csv_reader_header(const CsvReader *reader, int *ncolumns);

/*
 * Record a caller-detected problem in field `column` (0-based) of rec, so it is
 * reported like a reader error (file, line, column, name).  Returns
 * CSV_ERR_FIELD_VALUE.  The reason is printf-formatted.
 */
extern int	csv_reader_set_field_error(CsvReader *reader, const CsvRecord *rec,
									   int column, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

extern const CsvError *csv_reader_error(const CsvReader *reader);
extern const char *csv_reader_name(const CsvReader *reader);

/* Name of column `column` (1-based, as in CsvError) or "?" when unknown. */
extern const char *csv_reader_column_name(const CsvReader *reader, int column);

/* Short text for a status code ("unterminated quoted field", ...). */
extern const char *csv_status_text(int status);

/*
 * Close the file and free everything.  NULL is allowed.  A reader opened with
 * csv_reader_open_in_context() may be closed early with this too.
 */
extern void csv_reader_close(CsvReader *reader);

#ifndef SHELFOPS_NO_BACKEND
/* Spelled without PostgreSQL headers so this header can come first or last. */
struct MemoryContextData;

/*
 * Open path like csv_reader_open_file(), and register a reset callback on ctx
 * so the file handle and buffers are released when ctx is reset or deleted
 * (a cancelled or failed load included).  ereports ERROR on failure.
 */
extern CsvReader *csv_reader_open_in_context(struct MemoryContextData *ctx, const char *path,
											 const CsvOptions *opts);

/* csv_reader_open_callback() bound to ctx as above. */
extern CsvReader *csv_reader_open_callback_in_context(struct MemoryContextData *ctx,
													  CsvReadFn read, void *arg,
													  const char *name,
													  const CsvOptions *opts);

/* ereport(ERROR, ERRCODE_BAD_COPY_FILE_FORMAT) describing the reader's error. */
extern void csv_reader_raise(const CsvReader *reader) __attribute__((noreturn));
#endif

#endif							/* SHELFOPS_CSV_H */
