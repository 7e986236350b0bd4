/*
 * validation_report.c
 *	  Owns shelfops_validation_report: the Markdown training-dataset validation
 *	  report of reference §1.5 for a directory holding favorita/, walmart/,
 *	  rossmann/ and seed/.
 *
 * Each sub-directory is loaded (load_run, the loader's own code) into a
 * dataset inside an internal subtransaction, validated with
 * shelfops_validate(), its figures read back, and the subtransaction rolled
 * back, so nothing is left behind whatever happens.  Unlike the reference, a
 * `limited` readiness is reported as `limited`, never as `ready`.  The output
 * depends only on the files (and today's date, through the validation checks
 * on future and implausibly old dates): no generated-at stamp.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "shelfops.h"
#include "ident.h"
#include "util.h"
#include "load.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(shelfops_validation_report);

/* The report's datasets, in its order: key, sub-directory, family. */
static const struct
{
	const char *key;
	const char *subdir;
	const char *family;
}			report_datasets[] = {
	{"favorita", "favorita", "favorita"},
	{"walmart", "walmart", "walmart"},
	{"rossmann", "rossmann", "rossmann"},
	{"seed_synthetic", "seed", "seed"},
};

/* Columns after dataset and path; "-" where there is nothing to say. */
enum
{
	C_STATUS, C_ROWS, C_STORES, C_PRODUCTS, C_DATE_MIN, C_DATE_MAX, C_FREQUENCY,
	C_COUNTRY, C_GRAIN, C_NOTES, C_NCOLS
};

typedef struct ReportRow
{
	const char *key;
	char	   *path;
	char	   *cell[C_NCOLS];
} ReportRow;

/* The dataset id the report loads into (rolled back afterwards). */
#define REPORT_DATASET_PREFIX "validation_report."

static void
row_init(ReportRow *row, const char *key, char *path, const char *status)
{
	row->key = key;
	row->path = path;
	for (int c = 0; c < C_NCOLS; c++)
		row->cell[c] = pstrdup("-");
	row->cell[C_STATUS] = pstrdup(status);
}

/* The family's constants, known even when its load failed. */
static void
row_family(ReportRow *row, const LoadFamily *f)
{
	row->cell[C_FREQUENCY] = pstrdup(f->frequency);
	row->cell[C_COUNTRY] = pstrdup(f->country_code);
	row->cell[C_GRAIN] = pstrdup(f->grain);
}

/* Figures of the loaded dataset, copied into cxt (outlives the subtransaction). */
static void
row_read_dataset(ReportRow *row, const char *tenant, const char *dataset_id, MemoryContext cxt)
{
	static const char *const sql =
		"SELECT row_count, store_count, product_count, to_char(date_min, 'YYYY-MM-DD'), "
		"to_char(date_max, 'YYYY-MM-DD'), frequency, country_code, grain "
		"FROM shelfops.datasets WHERE tenant_id = $1 AND dataset_id = $2";
	static const int cols[] = {C_ROWS, C_STORES, C_PRODUCTS, C_DATE_MIN, C_DATE_MAX,
	C_FREQUENCY, C_COUNTRY, C_GRAIN};
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int			rc;

	args[0] = CStringGetTextDatum(tenant);
	args[1] = CStringGetTextDatum(dataset_id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, 2, types, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "dataset row of \"%s\" not found after loading it", dataset_id);
	for (int i = 0; i < (int) lengthof(cols); i++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);

		row->cell[cols[i]] = MemoryContextStrdup(cxt, v ? v : "-");
	}
	SPI_finish();
}

/* Errors that must end the report rather than become a row of it. */
static bool
must_rethrow(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_QUERY_CANCELED || sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
		sqlerrcode == ERRCODE_CRASH_SHUTDOWN;
}

/* Load, validate and roll back one sub-directory. */
static void
report_one(ReportRow *row, const char *tenant, const LoadFamily *family, Jsonb *thresholds)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext work = AllocSetContextCreate(outer, "shelfops validation report",
											   ALLOCSET_DEFAULT_SIZES);
	char	   *dataset_id = psprintf(REPORT_DATASET_PREFIX "%s", row->key);
	volatile bool validating = false;

	row_family(row, family);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		LoadRequest req;
		ValidationResult *vr;

		memset(&req, 0, sizeof(req));
		req.tenant_id = tenant;
		req.dataset_id = dataset_id;
		req.family = family->name;
		req.dir = row->path;
		req.dq_thresholds_null = true;
		(void) load_run(&req);
		validating = true;

		/*
		 * shelfops_validate reads through read-only SPI, i.e. with the active
		 * snapshot: make it one that sees the rows this command just wrote.
		 */
		CommandCounterIncrement();
		PushCopiedSnapshot(GetActiveSnapshot());
		UpdateActiveSnapshotCommandId();
		vr = shelfops_validate(tenant, dataset_id, thresholds);
		PopActiveSnapshot();
		row_read_dataset(row, tenant, dataset_id, outer);
		row->cell[C_STATUS] = MemoryContextStrdup(outer, vr->readiness);
		row->cell[C_NOTES] = MemoryContextStrdup(outer, vr->readiness_reason);

		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(outer);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer);
		CurrentResourceOwner = owner;
		MemoryContextDelete(work);
		/* the data loaded: a failing validation is a bad argument or a bug */
		if (validating || must_rethrow(edata->sqlerrcode))
			ReThrowError(edata);

		/*
		 * Files the family needs are absent: the reference's "blocked"
		 * (missing files).  Anything else that stops the load is an error.
		 */
		row->cell[C_STATUS] = pstrdup(edata->sqlerrcode == ERRCODE_UNDEFINED_FILE ? "blocked" : "error");
		row->cell[C_NOTES] = edata->detail ? psprintf("%s. %s", edata->message, edata->detail)
			: pstrdup(edata->message);
		FreeErrorData(edata);
		return;
	}
	PG_END_TRY();
	MemoryContextDelete(work);
}

/* A table cell: pipes escaped, line breaks as spaces. */
static void
append_cell(StringInfo buf, const char *s)
{
	appendStringInfoString(buf, " ");
	for (const char *c = s; *c; c++)
	{
		if (*c == '|')
			appendStringInfoString(buf, "\\|");
		else if (*c == '\n' || *c == '\r')
			appendStringInfoChar(buf, ' ');
		else
			appendStringInfoChar(buf, *c);
	}
	appendStringInfoString(buf, " |");
}

static char *
render(const char *base_dir, ReportRow *rows, int nrows)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "# Dataset Validation Report\n\n");
	appendStringInfo(&buf, "Base directory: `%s`\n\n", base_dir);
	appendStringInfoString(&buf,
						   "| dataset | path | status | rows | stores | products | date_min | date_max "
						   "| frequency | country | grain | notes |\n"
						   "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < nrows; i++)
	{
		appendStringInfoChar(&buf, '|');
		append_cell(&buf, rows[i].key);
		append_cell(&buf, rows[i].path);
		for (int c = 0; c < C_NCOLS; c++)
			append_cell(&buf, rows[i].cell[c]);
		appendStringInfoChar(&buf, '\n');
	}
	appendStringInfoString(&buf,
						   "\n## Interpretation\n\n"
						   "- `ready`: the directory loaded (every rejected row counted and within its "
						   "threshold) and every validation check passed; the dataset can be used for "
						   "training and evaluation.\n"
						   "- `limited`: it loaded and is valid, but short, gappy or degenerate (history, "
						   "calendar gaps, short, constant or all-zero series, negative unit sales); usable "
						   "with care, never to be read as `ready`. The notes name the failing checks.\n"
						   "- `blocked`: nothing usable: files the layout needs are missing, or no series "
						   "or store survived the load.\n"
						   "- `invalid`: it loaded but a contract check failed (parse rates, duplicates, "
						   "unknown stores, required nulls, future or implausibly old dates); the data "
						   "cannot be trusted as loaded.\n"
						   "- `missing`: the sub-directory does not exist.\n"
						   "- `error`: the load failed (wrong header, too many rejected rows, unreadable "
						   "file, ...); the notes carry the error.\n\n"
						   "Each directory is loaded and validated inside a subtransaction that is rolled "
						   "back: the report leaves no dataset behind. Public datasets (Favorita, Walmart, "
						   "Rossmann) are for training and evaluation only, not for production decisions "
						   "about a tenant's stores.\n");
	return buf.data;
}

Datum
shelfops_validation_report(PG_FUNCTION_ARGS)
{
	char	   *base_dir;
	char	   *tenant;
	Jsonb	   *thresholds;
	struct stat st;
	ReportRow	rows[lengthof(report_datasets)];

	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to build a validation report from server files"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read server-side files."),
				 errhint("Ask an administrator to GRANT pg_read_server_files.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("base_dir must not be NULL")));
	base_dir = text_to_cstring(PG_GETARG_TEXT_PP(0));
	thresholds = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	shelfops_check_path_length(base_dir, "base_dir");
	if (!is_absolute_path(base_dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("base_dir \"%s\" is not absolute", base_dir),
				 errhint("Give the directory as the server sees it, starting with /.")));
	canonicalize_path(base_dir);
	if (stat(base_dir, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access base directory \"%s\": %m", base_dir)));
	if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a directory", base_dir)));
	/* the session's tenant: a dataset of it is loaded and rolled back */
	tenant = pstrdup(shelfops_default_tenant());
	shelfops_check_ident(tenant, "tenant_id");

	for (int i = 0; i < (int) lengthof(report_datasets); i++)
	{
		char	   *path = psprintf("%s/%s", base_dir, report_datasets[i].subdir);

		CHECK_FOR_INTERRUPTS();
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		{
			row_init(&rows[i], report_datasets[i].key, path, "missing");
			pfree(rows[i].cell[C_NOTES]);
			rows[i].cell[C_NOTES] = pstrdup("Directory not found");
			continue;
		}
		row_init(&rows[i], report_datasets[i].key, path, "error");
		report_one(&rows[i], tenant, load_family_lookup(report_datasets[i].family), thresholds);
	}
	PG_RETURN_TEXT_P(cstring_to_text(render(base_dir, rows, lengthof(rows))));
}
