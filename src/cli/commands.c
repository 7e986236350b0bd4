/*
 * commands.c
 *	  Owns the `shelfops` program's command table: for every subcommand, the SQL
 *	  function it calls, its positionals and options and the named argument
 *	  each maps to, what the call returns, and its help text.  Adding a
 *	  subcommand is one entry here (and its section in docs/cli.md).  An option
 *	  the user does not give is not passed at all, so the function's own
 *	  default applies.
 */
#include "cli.h"

#define END {0}

/* Options shared by several entries. */
#define OPT_HORIZON		{"horizon", 0, "horizon", T_INT, "N", false, "periods to forecast (default: the function's: 14 daily, 8 weekly)"}
#define OPT_HOLDOUT		{"holdout", 0, "holdout", T_INT, "N", false, "holdout periods (default: the horizon)"}
#define OPT_PARAMS		{"params", 0, "params", T_JSONB, "JSON", false, "model parameters, e.g. '{\"n_estimators\": 400}' (or @FILE)"}
#define OPT_OUTPUT		{"output", 'o', NULL, T_TEXT, "FILE", false, "write the text to FILE instead of standard output"}

const Command commands[] = {
	{
		.name = "generate",
		.summary = "generate a deterministic synthetic dataset",
		.function = "shelfops_generate_synthetic",
		.kind = R_JSONB,
		.tenant_arg = true,
		.pos = {{"DATASET", "dataset_id", T_TEXT, false, false, "dataset id to create (replaced if it exists)"}},
		.opts = {
			{"stores", 0, "stores", T_INT, "N", true, "number of stores"},
			{"products", 0, "products", T_INT, "N", true, "number of products per store"},
			{"days", 0, "days", T_INT, "N", true, "number of days"},
			{"seed", 0, "seed", T_INT, "N", true, "random seed (same arguments, same rows)"},
			{"start-date", 0, "start_date", T_DATE, "DATE", false, "first day (default 2024-01-01)"},
			END},
		.example = "shelfops generate demo --stores 5 --products 20 --days 200 --seed 42",
	},
	{
		.name = "validate",
		.summary = "run the readiness checks of a loaded dataset",
		.function = "shelfops_validate_dataset",
		.kind = R_ROWS,
		.tenant_arg = true,
		.pos = {{"DATASET", "dataset_id", T_TEXT, false, false, "dataset id"}},
		.opts = {
			{"thresholds", 0, "thresholds", T_JSONB, "JSON", false, "override check thresholds (or @FILE)"},
			END},
		.example = "shelfops validate demo",
	},
	{
		.name = "validate-report",
		.summary = "the training-dataset validation report of a directory of raw datasets (server-side path)",
		.function = "shelfops_validation_report",
		.kind = R_TEXT,
		.output_file = true,
		.pos = {{"DIR", "base_dir", T_TEXT, false, false, "server directory holding favorita/, walmart/, rossmann/, seed/"}},
		.opts = {
			{"thresholds", 0, "thresholds", T_JSONB, "JSON", false, "override check thresholds (or @FILE)"},
			OPT_OUTPUT,
			END},
		.example = "shelfops validate-report /srv/datasets -o DATASET_VALIDATION_REPORT.md",
	},
	{
		.name = "train",
		.summary = "train a model version (a candidate) on a dataset",
		.function = "shelfops_train",
		.kind = R_JSONB,
		.tenant_arg = true,
		.progress = true,
		.pos = {{"DATASET", "dataset_id", T_TEXT, false, false, "dataset id"}},
		.opts = {
			{"model", 'm', "model_name", T_TEXT, "NAME", false, "model name (default demand_forecast)"},
			{"algorithm", 'a', "algorithm", T_TEXT, "ALG", false, "xgboost (default), seasonal_naive, moving_average"},
			OPT_PARAMS,
			OPT_HORIZON,
			OPT_HOLDOUT,
			{"trigger", 0, "trigger", T_TEXT, "TRIGGER", false, "recorded trigger (default manual)"},
			END},
		.example = "shelfops train demo -m demand_forecast --params '{\"n_estimators\": 200}'",
	},
	{
		.name = "forecast",
		.summary = "forecast with a model (the champion by default)",
		.function = "shelfops_forecast",
		.kind = R_ROWS,
		.tenant_arg = true,
		.pos = {{"MODEL", "model_name", T_TEXT, false, false, "model name"}},
		.opts = {
			OPT_HORIZON,
			{"version", 0, "version", T_INT, "N", false, "model version (default: the champion)"},
			{"as-of", 0, "as_of", T_DATE, "DATE", false, "forecast origin (default: the data's last date)"},
			{"level", 0, "level", T_FLOAT, "P", false, "interval level (default 0.9)"},
			{"persist", 0, "persist", T_BOOL, NULL, false, "also store the rows in shelfops.forecasts"},
			{"shadow", 0, "shadow", T_BOOL, NULL, false, "also forecast every challenger into shelfops.shadow_predictions"},
			END},
		.example = "shelfops forecast demand_forecast --horizon 7",
	},
	{
		.name = "benchmark",
		.summary = "benchmark algorithms across datasets on a time-based holdout",
		.function = "shelfops_benchmark",
		.kind = R_ROWS,
		.tenant_arg = true,
		.progress = true,
		.pos = {{"DATASET...", "dataset_ids", T_TEXTARR, true, false, "one or more dataset ids"}},
		.opts = {
			{"algorithms", 'a', "algorithms", T_TEXTARR, "A,B,...", false, "comma-separated algorithms (default seasonal_naive,moving_average,xgboost)"},
			OPT_PARAMS,
			OPT_HORIZON,
			OPT_HOLDOUT,
			END},
		.example = "shelfops benchmark demo other -a seasonal_naive,xgboost --horizon 14",
	},
	{
		.name = "benchmark-combos",
		.summary = "benchmark every pair of datasets trained together as one pooled model",
		.function = "shelfops_benchmark_combos",
		.kind = R_ROWS,
		.tenant_arg = true,
		.progress = true,
		.pos = {{"DATASET...", "dataset_ids", T_TEXTARR, true, false, "two or more dataset ids"}},
		.opts = {
			OPT_PARAMS,
			OPT_HORIZON,
			OPT_HOLDOUT,
			END},
		.example = "shelfops benchmark-combos favorita walmart rossmann",
	},
	{
		.name = "tune",
		.summary = "search XGBoost parameters by rolling-origin folds; the winner becomes a candidate",
		.function = "shelfops_tune",
		.kind = R_JSONB,
		.tenant_arg = true,
		.progress = true,
		.pos = {{"DATASET", "dataset_id", T_TEXT, false, false, "dataset id"},
				{"MODEL", "model_name", T_TEXT, false, false, "model name of the tuned candidate"}},
		.opts = {
			{"search", 's', "search", T_JSONB, "JSON", true, "ranges or choices per parameter, e.g. '{\"max_depth\": [4, 10]}' (or @FILE)"},
			{"budget", 0, "budget", T_INT, "N", false, "configurations to try (default 20)"},
			{"folds", 0, "folds", T_INT, "N", false, "rolling-origin folds (default 3)"},
			OPT_HORIZON,
			{"metric", 0, "metric", T_TEXT, "METRIC", false, "metric to minimise (default wape)"},
			{"seed", 0, "seed", T_INT, "N", false, "search seed (default 42)"},
			END},
		.example = "shelfops tune demo demand_forecast --search '{\"max_depth\": [4, 10], \"eta\": [0.02, 0.2]}' --budget 12",
	},
	{
		.name = "promote",
		.summary = "score a candidate against the champion on the same rows and apply the gates",
		.function = "shelfops_promote",
		.kind = R_JSONB,
		.tenant_arg = true,
		.pos = {{"MODEL", "model_name", T_TEXT, false, false, "model name"}},
		.opts = {
			{"version", 0, "version", T_INT, "N", false, "candidate version (default: the newest candidate or challenger)"},
			{"force", 0, "force", T_BOOL, NULL, false, "promote despite failed gates (recorded as forced)"},
			{"reason", 0, "reason", T_TEXT, "TEXT", false, "reason recorded with the decision"},
			{"evidence", 0, "evidence", T_TEXT, "KIND", false, "holdout (default) or shadow"},
			END},
		.example = "shelfops promote demand_forecast",
	},
	{
		.name = "rollback",
		.summary = "re-promote an archived version as champion",
		.function = "shelfops_rollback",
		.kind = R_JSONB,
		.tenant_arg = true,
		.pos = {{"MODEL", "model_name", T_TEXT, false, false, "model name"},
				{"VERSION", "version", T_INT, false, false, "archived version to restore"}},
		.opts = {
			{"reason", 0, "reason", T_TEXT, "TEXT", true, "why (recorded)"},
			END},
		.example = "shelfops rollback demand_forecast 3 --reason 'v4 over-forecasts the holiday week'",
	},
	{
		.name = "history",
		.summary = "model versions, newest first, with holdout metrics and the last promotion decision",
		.kind = R_QUERY,
		.table_sql =
		"SELECT h.model_name, h.version, h.status, h.algorithm, h.dataset_id, h.mae, h.wape, h.mase,\n"
		"       h.bias_pct, h.coverage, h.seasonal_naive_wape, h.trigger_source,\n"
		"       h.promotion_decision ->> 'decision' AS decision,\n"
		"       date_trunc('second', h.created_at) AS created_at\n"
		"  FROM shelfops.model_history h\n"
		" WHERE $1::text IS NULL OR h.model_name = $1::text\n"
		" ORDER BY h.created_at DESC, h.model_name, h.version DESC\n"
		" LIMIT coalesce($2::int, 20)",
		.json_sql =
		"SELECT coalesce(jsonb_pretty(jsonb_agg(to_jsonb(h) ORDER BY h.created_at DESC, h.model_name, h.version DESC)), '[]')\n"
		"  FROM (SELECT * FROM shelfops.model_history m\n"
		"         WHERE $1::text IS NULL OR m.model_name = $1::text\n"
		"         ORDER BY m.created_at DESC, m.model_name, m.version DESC\n"
		"         LIMIT coalesce($2::int, 20)) h",
		.pos = {{"MODEL", "model_name", T_TEXT, false, true, "only this model (default: every model)"}},
		.opts = {
			{"limit", 'n', "limit", T_INT, "N", false, "at most N versions (default 20)"},
			END},
		.example = "shelfops history demand_forecast --limit 5",
	},
	{
		.name = "perf-log",
		.summary = "the model performance log (MODEL_PERFORMANCE_LOG.md) of the tenant",
		.function = "shelfops_performance_log",
		.kind = R_TEXT,
		.tenant_arg = true,
		.output_file = true,
		.opts = {OPT_OUTPUT, END},
		.example = "shelfops perf-log -o MODEL_PERFORMANCE_LOG.md",
	},
	{
		.name = "plot forecast",
		.summary = "SVG of one series: actuals, the forecast and its interval band",
		.function = "shelfops_plot_forecast",
		.kind = R_TEXT,
		.tenant_arg = true,
		.output_file = true,
		.pos = {{"MODEL", "model_name", T_TEXT, false, false, "model name"},
				{"STORE", "store_id", T_TEXT, false, false, "store id"},
				{"PRODUCT", "product_id", T_TEXT, false, false, "product id"}},
		.opts = {
			{"history", 0, "history", T_INT, "N", false, "periods of actuals before the forecast (default 90)"},
			OPT_OUTPUT,
			END},
		.example = "shelfops plot forecast demand_forecast S001 P0001 -o forecast.svg",
	},
	{
		.name = "plot benchmark",
		.summary = "SVG bar chart of a benchmark run's metric by dataset and algorithm",
		.function = "shelfops_plot_benchmark",
		.kind = R_TEXT,
		.tenant_arg = true,
		.output_file = true,
		.pos = {{"RUN_ID", "run_id", T_UNTYPED, false, false, "benchmark run id (from shelfops benchmark)"}},
		.opts = {OPT_OUTPUT, END},
		.example = "shelfops plot benchmark 0b6f...e1 -o benchmark.svg",
	},
	{
		.name = "export",
		.summary = "write registry.json, champion.json, the performance log and run files to a server directory",
		.function = "shelfops_export_registry",
		.kind = R_JSONB,
		.tenant_arg = true,
		.pos = {{"DIR", "directory", T_TEXT, false, false, "absolute server path under shelfops.export_directory"}},
		.opts = {END},
		.example = "shelfops export /srv/shelfops/export/acme",
	},
};

const int	ncommands = sizeof(commands) / sizeof(commands[0]);
