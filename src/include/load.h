/*
 * load.h
 *	  The per-family interface of shelfops_load_dataset (see load.c).
 *
 * A family is one LoadFamily value in its own file (load_<family>.c) plus one
 * line in the registry at the top of load.c.  load.c detects the family from
 * the files in the directory, checks privileges, replaces the dataset row,
 * opens the sales writer, calls family->load, then checks reject thresholds and
 * records counts, source files and the load report.  A family only reads its
 * files and writes rows, through the helpers below:
 *
 *	- load_open_csv() resolves "train.csv" to train.csv or train.csv.gz, hashes
 *	  the file (sha256, recorded in source_files), opens it and checks the header;
 *	- fact rows (the ones that become sales) go through load_next() and the
 *	  load_field_*() getters, which count and keep rejects by reason instead of
 *	  failing, then load_claim_key() (duplicate keys) and load_write_row();
 *	- side files (store masters, features) are small and strict: load_next_side()
 *	  and load_side_*() fail the whole load at the first bad value, naming the
 *	  file, line and column; their rows go through a LoadBatch.
 */
#ifndef SHELFOPS_LOAD_H
#define SHELFOPS_LOAD_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "parse.h"

#include "csv.h"
#include "sales_writer.h"

/* Longest store or product id accepted (bytes); longer is a bad_id reject. */
#define LOAD_ID_MAXLEN 128

/* Why a fact row was rejected.  Names and thresholds are in load.c. */
typedef enum LoadRejectReason
{
	REJECT_FIELD_COUNT,			/* record width differs from the header */
	REJECT_REQUIRED_NULL,		/* store, product, date or quantity empty */
	REJECT_BAD_DATE,			/* date does not parse */
	REJECT_BAD_QUANTITY,		/* target does not parse */
	REJECT_NOT_FINITE,			/* NaN or Infinity in a number */
	REJECT_BAD_NUMBER,			/* another numeric field does not parse */
	REJECT_BAD_FLAG,			/* a flag or code outside its vocabulary */
	REJECT_BAD_ID,				/* id too long or not valid UTF-8 */
	REJECT_DAY_OF_WEEK,			/* Rossmann DayOfWeek disagrees with Date */
	REJECT_UNKNOWN_STORE,		/* store absent from the store master */
	REJECT_DUPLICATE_KEY,		/* (store, product, date) seen before */
	REJECT_NEGATIVE_QUANTITY,	/* contract: negative under non_negative */
	REJECT_UNKNOWN_PRODUCT,		/* product absent from the product master */
	LOAD_NREASONS
} LoadRejectReason;

typedef struct LoadState LoadState;
typedef struct LoadSource LoadSource;

typedef struct LoadFamily
{
	const char *name;			/* value of datasets.family */
	const char *frequency;		/* 'daily' or 'weekly' */
	const char *country_code;
	const char *grain;
	const char *target_unit;	/* 'units' or 'currency' */

	/*
	 * Files whose presence identifies the family (NULL-terminated).  "x.csv"
	 * matches x.csv or x.csv.gz; a name ending in '/' is a sub-directory.
	 * An empty list: never auto-detected, only loaded when named.
	 */
	const char *const *detect_files;
	/* Further files the family needs to load (NULL-terminated, may be empty). */
	const char *const *required_files;
	/* Read the files and write the rows; NULL = not available yet. */
	void		(*load) (LoadState *ls);
} LoadFamily;

/* A validated tenant contract profile (contract.h); NULL for other families. */
struct ContractProfile;

/* State of one load.  Families read the public part; the rest is load.c's. */
struct LoadState
{
	const LoadFamily *family;
	const char *tenant_id;
	const char *dataset_id;
	const char *dir;			/* absolute directory path (files only) */
	const LoadSource *source;	/* NULL = files under dir */
	MemoryContext cxt;			/* lives for the load; readers are bound to it */
	SalesWriter *writer;		/* open while family->load runs */
	uint64		rows_read;		/* data records of the fact files */
	uint64		aggregated_rows;	/* fact rows merged into another (seed) */
	const struct ContractProfile *contract; /* family 'contract' only */
	const char *family_report;	/* a JSON object the family may set: it goes
								 * into the load report under the family's
								 * name */
	struct LoadPrivate *priv;
};

/* Families (one file each). */
extern const LoadFamily load_family_favorita;
extern const LoadFamily load_family_rossmann;
extern const LoadFamily load_family_walmart;
extern const LoadFamily load_family_seed;
extern const LoadFamily load_family_contract;	/* never auto-detected */

/*
 * Files.  relname is relative to ls->dir ("train.csv", "transactions/x.csv").
 * load_open_csv resolves an optional .gz, hashes the file into source_files,
 * opens it bound to ls->cxt and reads the header, failing at once with the
 * missing and found columns.  indexes[i] receives the column of required[i].
 */
extern CsvReader *load_open_csv(LoadState *ls, const char *relname,
								const char *const *required, int nrequired, int *indexes);
/* Sorted names of the files in sub-directory subdir starting with prefix and
 * ending in .csv or .csv.gz (relative to ls->dir). */
extern List *load_list_files(LoadState *ls, const char *subdir, const char *prefix);
/* Mark the start of a named phase (its seconds go into the load report). */
extern void load_phase(LoadState *ls, const char *name);

/*
 * Fact rows.  load_next returns the next record with the header's width
 * (other widths are field_count rejects), false at end of file; reader
 * errors (gzip, quoting) fail the load.  The getters return false after
 * recording a reject.  col is the 0-based column.
 */
extern bool load_next(LoadState *ls, CsvReader *r, CsvRecord *rec);
extern void load_reject(LoadState *ls, LoadRejectReason reason, CsvReader *r,
						const CsvRecord *rec, int col, const char *detail);
extern bool load_field_date(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
							FieldDateFormat format, int32 *day);
extern bool load_field_quantity(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
								double *value);
/* Optional numbers and flags: a missing field (empty, NA, NULL) sets *isnull. */
extern bool load_field_float(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
							 double *value, bool *isnull);
extern bool load_field_int(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
						   int32 *value, bool *isnull);
extern bool load_field_flag(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
							bool *value, bool *isnull);

/*
 * Store and product ids are interned to dense indexes.  A store master
 * registers its stores first (load_register_store, false if already there);
 * load_field_store with known_only rejects others as unknown_store.  Return
 * -1 after a reject.
 */
extern bool load_register_store(LoadState *ls, const char *id, int len, int32 *index);
extern int32 load_field_store(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
							  bool known_only);
extern int32 load_field_product(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col);
extern int32 load_product_constant(LoadState *ls, const char *id);

/*
 * The same for an id the family has already transformed (the contract
 * family's id normalisation): id/len is the value to intern, rec and col only
 * say where it came from.  A product master registers its products with
 * load_register_product; load_product_value with known_only rejects others
 * as unknown_product.
 */
extern bool load_register_product(LoadState *ls, const char *id, int len, int32 *index);
extern int32 load_store_value(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
							  const char *id, size_t len, bool known_only);
extern int32 load_product_value(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
								const char *id, size_t len, bool known_only);
/* The id as a text Datum (made once, valid for the whole load). */
extern Datum load_store_datum(LoadState *ls, int32 store);
extern Datum load_product_datum(LoadState *ls, int32 product);

/*
 * False, after a duplicate_key reject, if (store, product, day) was claimed
 * before; the first occurrence is kept.
 */
extern bool load_claim_key(LoadState *ls, CsvReader *r, const CsvRecord *rec,
						   int32 store, int32 product, int32 day);

/*
 * Write the row prepared in ls->writer (after sales_writer_row_init and the
 * family's own columns): sets store, product and date and keeps the counts.
 */
extern void load_write_row(LoadState *ls, int32 store, int32 product, int32 day);

/* A set of (a, b, c) int32 keys, e.g. (store, -, day) of a side file. */
typedef struct LoadKeySet LoadKeySet;
extern LoadKeySet *load_keyset_create(LoadState *ls, const char *name);
extern bool load_keyset_add(LoadKeySet *set, int32 a, int32 b, int32 c);

/*
 * Side files: strict.  load_next_side fails on a wrong field count; the
 * getters return false for a missing value and fail the load on a bad one.
 */
extern bool load_next_side(LoadState *ls, CsvReader *r, CsvRecord *rec);
extern void load_side_fail(CsvReader *r, const CsvRecord *rec, int col, const char *fmt,...)
			pg_attribute_printf(4, 5) pg_attribute_noreturn();
extern bool load_side_text(CsvReader *r, const CsvRecord *rec, int col, Datum *value);
extern bool load_side_float(CsvReader *r, const CsvRecord *rec, int col, double *value);
extern bool load_side_int(CsvReader *r, const CsvRecord *rec, int col, int32 *value);
extern bool load_side_flag(CsvReader *r, const CsvRecord *rec, int col, bool *value);
extern bool load_side_date(CsvReader *r, const CsvRecord *rec, int col, int32 *day);
/* The store of a side row: must be registered (else the load fails). */
extern int32 load_side_known_store(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col);

/*
 * Rows for a side table, inserted at once (one INSERT ... SELECT FROM unnest)
 * with tenant_id and dataset_id prepended.  Column types are given as OIDs.
 */
typedef struct LoadBatch LoadBatch;
extern LoadBatch *load_batch_begin(LoadState *ls, const char *table, int ncols,
								   const char *const *columns, const Oid *types);
extern void load_batch_add(LoadBatch *batch, const Datum *values, const bool *nulls);
extern uint64 load_batch_insert(LoadState *ls, LoadBatch *batch);
/* Record a side table's row count in the load report. */
extern void load_note_side_rows(LoadState *ls, const char *table, uint64 rows);

/* ---------------------------------------------------------------------------
 * Entry points.  shelfops_load_dataset reads files under a directory;
 * shelfops_load_dataset_from (load_staging.c) reads staging tables, which it
 * presents to the family as the files they stand for through a LoadSource;
 * the validation report (validation_report.c) loads directories into a
 * dataset it then rolls back.  All of them go through load_run().
 * --------------------------------------------------------------------------*/

struct LoadSource
{
	const char *path;			/* recorded as datasets.source_path */
	const char *what;			/* names the input in messages */
	/* load_open_csv for relname: a reader bound to ls->cxt, positioned before
	 * the header; *name receives the name rejects and messages use */
	CsvReader  *(*open) (LoadState *ls, const char *relname, const char **name);
	/* load_list_files */
	List	   *(*list) (LoadState *ls, const char *subdir, const char *prefix);
	/* after the family has read everything: record source_files entries
	 * through load_add_source_file() */
	void		(*finish) (LoadState *ls);
	void	   *arg;
};

typedef struct LoadRequest
{
	const char *tenant_id;		/* checked identifiers */
	const char *dataset_id;
	const char *family;			/* a family name, or "auto" (directories only) */
	const char *dir;			/* absolute, an existing directory (source NULL) */
	const LoadSource *source;	/* NULL: read files under dir */
	Datum		dq_thresholds;	/* jsonb */
	bool		dq_thresholds_null;
	const struct ContractProfile *contract;	/* family 'contract' only, else NULL */
} LoadRequest;

/* The family of that name, or ERROR listing the known ones ("auto" is not one). */
extern const LoadFamily *load_family_lookup(const char *name);
/* Replace the dataset, run the family, check thresholds; returns the load
 * report (jsonb text, palloc'd in the caller's context). */
extern char *load_run(const LoadRequest *req);
/* Append one object to source_files: members is JSON text without braces. */
extern void load_add_source_file(LoadState *ls, const char *members);

#endif							/* SHELFOPS_LOAD_H */
