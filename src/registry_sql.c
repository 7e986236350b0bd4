/*
 * registry_sql.c
 *	  Owns the SQL side of the registry parity documents: reading one tenant's
 *	  model_versions and training_runs, the functions shelfops_registry_json,
 *	  shelfops_champion_json, shelfops_performance_log, shelfops_run_json, and
 *	  shelfops_export_registry with its path checks and atomic file writes.
 *
 * The documents themselves are laid out by registry.c (json-c); this file never
 * includes json-c.  Every document is a pure function of the tables: times are
 * the rows' own (printed in UTC whatever the session's TimeZone), never now().
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "shelfops.h"
#include "ident.h"
#include "util.h"
#include "registry.h"

PG_FUNCTION_INFO_V1(shelfops_registry_json);
PG_FUNCTION_INFO_V1(shelfops_champion_json);
PG_FUNCTION_INFO_V1(shelfops_performance_log);
PG_FUNCTION_INFO_V1(shelfops_run_json);
PG_FUNCTION_INFO_V1(shelfops_export_registry);

/* ISO-8601 in UTC, as the reference's isoformat() of an aware datetime. */
#define ISO_UTC(col) \
	"to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

/* ----------------------------------------------------------------------
 * Reading the tables
 * ---------------------------------------------------------------------- */

/* Column col of row r as a C string in the current context, or NULL. */
static char *
spi_text(int r, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col);
}

static bool
spi_int64(int r, int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		return false;
	switch (SPI_gettypeid(SPI_tuptable->tupdesc, col))
	{
		case INT4OID:
			*out = DatumGetInt32(d);
			break;
		case INT8OID:
			*out = DatumGetInt64(d);
			break;
		default:
			elog(ERROR, "unexpected type of registry column %d", col);
	}
	return true;
}

static RegistryState *
registry_load(const char *tenant_id)
{
	MemoryContext outer = CurrentMemoryContext;
	RegistryState *st = palloc0(sizeof(RegistryState));
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	int			rc;

	st->tenant_id = pstrdup(tenant_id);
	values[0] = CStringGetTextDatum(tenant_id);
	SPI_connect();
	rc = SPI_execute_with_args(
							   "SELECT model_name::text, version, status, dataset_id::text, frequency, "
							   ISO_UTC("created_at") ", " ISO_UTC("promoted_at") ", rows_trained, "
							   "(metrics -> 'holdout')::text, lineage::text, lifecycle_events::text, "
							   ISO_UTC("max(greatest(created_at, promoted_at, archived_at)) OVER ()")
							   " FROM shelfops.model_versions WHERE tenant_id = $1"
							   " ORDER BY created_at, model_name COLLATE \"C\", version",
							   1, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read shelfops.model_versions: %s", SPI_result_code_string(rc));

	MemoryContextSwitchTo(outer);
	st->nversions = (int) SPI_processed;
	st->versions = palloc0(sizeof(RegistryVersion) * Max(st->nversions, 1));
	for (int r = 0; r < st->nversions; r++)
	{
		RegistryVersion *v = &st->versions[r];
		int64		i64;

		v->model_name = spi_text(r, 1);
		if (!spi_int64(r, 2, &i64))
			elog(ERROR, "model version without a version number");
		v->version = (int32) i64;
		v->status = spi_text(r, 3);
		v->dataset_id = spi_text(r, 4);
		v->frequency = spi_text(r, 5);
		v->trained_at = spi_text(r, 6);
		v->promoted_at = spi_text(r, 7);
		v->rows_trained_null = !spi_int64(r, 8, &v->rows_trained);
		v->holdout_json = spi_text(r, 9);
		v->lineage_json = spi_text(r, 10);
		v->events_json = spi_text(r, 11);
		if (r == 0)
			st->updated_at = spi_text(r, 12);
	}
	SPI_finish();
	return st;
}

/* The tenant's runs in start order, or only run_id's when it is given. */
static RegistryRun *
runs_load(const char *tenant_id, Datum *run_id, int *nruns)
{
	MemoryContext outer = CurrentMemoryContext;
	RegistryRun *runs;
	Oid			types[2] = {TEXTOID, UUIDOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	int			rc;
	int			n;

	values[0] = CStringGetTextDatum(tenant_id);
	if (run_id)
		values[1] = *run_id;
	else
	{
		values[1] = (Datum) 0;
		nulls[1] = 'n';
	}
	SPI_connect();
	rc = SPI_execute_with_args(
							   "SELECT r.run_id::text, r.model_name::text, r.dataset_id::text, r.algorithm, r.status, "
							   "r.trigger, r.version, " ISO_UTC("r.started_at") ", r.error, r.params::text, "
							   "r.metrics::text, r.timings::text, r.row_counts::text, "
							   "coalesce(v.lineage ->> 'feature_tier', v.lineage ->> 'feature_set_id'), "
							   "CASE WHEN jsonb_typeof(v.feature_spec -> 'features') = 'array' "
							   "     THEN jsonb_array_length(v.feature_spec -> 'features') END "
							   "FROM shelfops.training_runs r "
							   "LEFT JOIN shelfops.model_versions v ON v.tenant_id = r.tenant_id "
							   "     AND v.model_name = r.model_name AND v.version = r.version "
							   "WHERE r.tenant_id = $1 AND ($2 IS NULL OR r.run_id = $2) "
							   "ORDER BY r.started_at, r.run_id",
							   2, types, values, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read shelfops.training_runs: %s", SPI_result_code_string(rc));

	MemoryContextSwitchTo(outer);
	n = (int) SPI_processed;
	runs = palloc0(sizeof(RegistryRun) * Max(n, 1));
	for (int r = 0; r < n; r++)
	{
		RegistryRun *run = &runs[r];
		int64		i64;

		run->tenant_id = pstrdup(tenant_id);
		run->run_id = spi_text(r, 1);
		run->model_name = spi_text(r, 2);
		run->dataset_id = spi_text(r, 3);
		run->algorithm = spi_text(r, 4);
		run->status = spi_text(r, 5);
		run->trigger = spi_text(r, 6);
		run->version_null = !spi_int64(r, 7, &i64);
		run->version = run->version_null ? 0 : (int32) i64;
		run->started_at = spi_text(r, 8);
		run->error = spi_text(r, 9);
		run->params_json = spi_text(r, 10);
		run->metrics_json = spi_text(r, 11);
		run->timings_json = spi_text(r, 12);
		run->row_counts_json = spi_text(r, 13);
		run->feature_tier = spi_text(r, 14);
		run->n_features = spi_int64(r, 15, &i64) ? (int) i64 : -1;
	}
	SPI_finish();
	*nruns = n;
	return runs;
}

static Datum
jsonb_from_text(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

/* ----------------------------------------------------------------------
 * The documents as SQL values
 * ---------------------------------------------------------------------- */

Datum
shelfops_registry_json(PG_FUNCTION_ARGS)
{
	RegistryState *st = registry_load(shelfops_tenant_arg(fcinfo, 0));

	PG_RETURN_DATUM(jsonb_from_text(registry_json_text(st, false)));
}

Datum
shelfops_champion_json(PG_FUNCTION_ARGS)
{
	RegistryState *st = registry_load(shelfops_tenant_arg(fcinfo, 0));

	PG_RETURN_DATUM(jsonb_from_text(registry_champion_text(st, false)));
}

Datum
shelfops_performance_log(PG_FUNCTION_ARGS)
{
	RegistryState *st = registry_load(shelfops_tenant_arg(fcinfo, 0));

	PG_RETURN_TEXT_P(cstring_to_text(registry_performance_log(st)));
}

Datum
shelfops_run_json(PG_FUNCTION_ARGS)
{
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 1);
	Datum		run_id;
	RegistryRun *runs;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_id must not be NULL")));
	run_id = PG_GETARG_DATUM(0);
	runs = runs_load(tenant_id, &run_id, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("training run %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, run_id))),
				 errdetail("No row of shelfops.training_runs of tenant \"%s\" has this run_id.", tenant_id)));
	PG_RETURN_DATUM(jsonb_from_text(registry_run_text(&runs[0], false)));
}

/* ----------------------------------------------------------------------
 * Export
 * ---------------------------------------------------------------------- */

/* realpath() into a palloc'd string; NULL with errno set when it fails. */
static char *
real_path(const char *path)
{
	char	   *resolved = realpath(path, NULL);
	char	   *result;

	if (resolved == NULL)
		return NULL;
	result = pstrdup(resolved);
	free(resolved);
	return result;
}

/* True when path has a component "..". */
static bool
has_dotdot(const char *path)
{
	const char *p = path;

	while (*p)
	{
		const char *end = strchr(p, '/');
		size_t		len = end ? (size_t) (end - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/*
 * The directory files go to: an existing directory whose real path lies inside
 * the real path of shelfops.export_directory.  Refusals name the rule broken.
 */
static char *
export_target(const char *requested)
{
	char	   *base;
	char	   *target;
	size_t		blen;
	struct stat sb;

	if (shelfops_export_directory == NULL || shelfops_export_directory[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("registry export is disabled"),
				 errdetail("The setting shelfops.export_directory is empty."),
				 errhint("A superuser enables export by setting shelfops.export_directory to a directory the server may write, "
						 "e.g. ALTER SYSTEM SET shelfops.export_directory = '/srv/shelfops/export'; SELECT pg_reload_conf();")));
	shelfops_check_path_length(requested, "export directory");
	if (requested[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export directory \"%s\" is not an absolute path", requested),
				 errdetail("Relative paths would resolve against the server's data directory.")));
	if (has_dotdot(requested))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export directory \"%s\" contains \"..\"", requested),
				 errdetail("Paths with parent references are refused outright.")));

	base = real_path(shelfops_export_directory);
	if (base == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("shelfops.export_directory \"%s\" is not usable: %m", shelfops_export_directory)));
	target = real_path(requested);
	if (target == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("export directory \"%s\" is not usable: %m", requested),
				 errdetail("The directory must exist; shelfops_export_registry creates no directories.")));
	if (stat(target, &sb) != 0 || !S_ISDIR(sb.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export path \"%s\" is not a directory", requested)));

	blen = strlen(base);
	if (!(strcmp(base, "/") == 0 ||
		  (strncmp(target, base, blen) == 0 && (target[blen] == '\0' || target[blen] == '/'))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("export directory \"%s\" is outside shelfops.export_directory", requested),
				 errdetail("It resolves to \"%s\", which is not inside \"%s\".", target, base)));
	return target;
}

/*
 * Write content to dir/name atomically: a temporary file in the same directory,
 * fsync'd, then renamed over the name (durable_rename also syncs the directory).
 * The file mode comes from the server's umask.  A failure removes the
 * temporary file and leaves any previous file of that name as it was.
 */
static void
write_atomically(const char *dir, const char *name, const char *content, size_t len)
{
	char	   *path = psprintf("%s/%s", dir, name);
	char	   *tmp = psprintf("%s/.%s.tmp.%d", dir, name, MyProcPid);
	int			fd;

	if (unlink(tmp) != 0 && errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove stale temporary file \"%s\": %m", tmp)));
	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, 0666);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	PG_TRY();
	{
		size_t		done = 0;

		while (done < len)
		{
			ssize_t		w = write(fd, content + done, len - done);

			if (w < 0)
			{
				if (errno == EINTR)
					continue;
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not write file \"%s\": %m", tmp)));
			}
			done += (size_t) w;
		}
		if (CloseTransientFile(fd) != 0)
		{
			fd = -1;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not close file \"%s\": %m", tmp)));
		}
		fd = -1;
		durable_rename(tmp, path, ERROR);
	}
	PG_CATCH();
	{
		if (fd >= 0)
			CloseTransientFile(fd);
		unlink(tmp);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(tmp);
	pfree(path);
}

static void
export_file(StringInfo result, bool *first, const char *dir, const char *name, const char *content)
{
	size_t		len = strlen(content);

	write_atomically(dir, name, content, len);
	appendStringInfoString(result, *first ? "" : ", ");
	*first = false;
	appendStringInfoString(result, "{\"name\": ");
	escape_json(result, name);
	appendStringInfoString(result, ", \"path\": ");
	escape_json(result, psprintf("%s/%s", dir, name));
	appendStringInfo(result, ", \"bytes\": %zu}", len);
}

Datum
shelfops_export_registry(PG_FUNCTION_ARGS)
{
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 1);
	char	   *dir;
	RegistryState *st;
	RegistryRun *runs;
	int			nruns;
	StringInfoData result;
	bool		first = true;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("directory must not be NULL")));
	dir = export_target(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	/* read everything first: a read error writes nothing */
	st = registry_load(tenant_id);
	runs = runs_load(tenant_id, NULL, &nruns);

	initStringInfo(&result);
	appendStringInfoString(&result, "{\"tenant_id\": ");
	escape_json(&result, tenant_id);
	appendStringInfoString(&result, ", \"directory\": ");
	escape_json(&result, dir);
	appendStringInfoString(&result, ", \"files\": [");
	export_file(&result, &first, dir, "registry.json", registry_json_text(st, true));
	export_file(&result, &first, dir, "champion.json", registry_champion_text(st, true));
	export_file(&result, &first, dir, "MODEL_PERFORMANCE_LOG.md", registry_performance_log(st));
	for (int i = 0; i < nruns; i++)
	{
		CHECK_FOR_INTERRUPTS();
		export_file(&result, &first, dir, psprintf("run_%s.json", runs[i].run_id),
					registry_run_text(&runs[i], true));
	}
	appendStringInfoString(&result, "]}");
	PG_RETURN_DATUM(jsonb_from_text(result.data));
}
