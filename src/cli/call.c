/*
 * call.c
 *	  Owns what the `shelfops` program does on the wire: it connects (libpq,
 *	  PG* environment and -d/-h/-p/-U), sends the statement built by
 *	  statement.c asynchronously, cancels it on Ctrl-C, shows a live progress
 *	  line read from shelfops.training_progress over a second connection while
 *	  a long call runs, and prints the result (table, JSON, or text) or the
 *	  server's error with its SQLSTATE, detail and hint.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cli.h"

#define POLL_SECONDS	0.25	/* how often the progress view is read */
#define LOG_SECONDS		1.0		/* progress lines when stderr is not a terminal */

static volatile sig_atomic_t interrupted = 0;

static void
on_sigint(int signo)
{
	(void) signo;
	interrupted = 1;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------
 * Progress line
 * ------------------------------------------------------------------------ */
typedef struct Progress
{
	bool		on;
	bool		tty;			/* redraw one line in place */
	bool		shown;			/* a line is on screen (tty) */
	PGconn	   *conn;			/* the second connection, NULL if unavailable */
	char		pid[16];		/* backend pid of the call's connection */
	const char *progname;
	double		started;
	double		last_poll;
	double		last_log;
	char		last_key[128];	/* phase and round last written (not a tty) */
} Progress;

static Progress progress;

static void
progress_clear(void)
{
	if (progress.tty && progress.shown)
	{
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress.shown = false;
	}
}

/* Notices of the call's connection: printed without garbling the progress line. */
static void
notice_processor(void *arg, const char *message)
{
	(void) arg;
	progress_clear();
	fputs(message, stderr);
}

static void
notice_discard(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/* Read the view once and redraw (tty) or log (otherwise) the line. */
static void
progress_poll(void)
{
	const char *values[1] = {progress.pid};
	char		line[256];
	char		key[128];
	double		t = now_seconds();
	double		elapsed = t - progress.started;

	progress.last_poll = t;
	snprintf(key, sizeof(key), "running");
	if (progress.conn != NULL)
	{
		PGresult   *res = PQexecParams(progress.conn,
									   "SELECT phase, rounds_done, rounds_total, model_name"
									   "  FROM shelfops.training_progress WHERE pid = $1::int",
									   1, NULL, values, NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			/* no view or no right to read it: keep the elapsed time only */
			PQfinish(progress.conn);
			progress.conn = NULL;
		}
		else if (PQntuples(res) > 0)
		{
			if (!PQgetisnull(res, 0, 1) && !PQgetisnull(res, 0, 2))
				snprintf(key, sizeof(key), "%s: phase %s, round %s/%s",
						 PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 0),
						 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
			else
				snprintf(key, sizeof(key), "%s: phase %s",
						 PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 0));
		}
		PQclear(res);
	}
	snprintf(line, sizeof(line), "%s: %s, %.1f s", progress.progname, key, elapsed);
	if (progress.tty)
	{
		fprintf(stderr, "\r\033[K%s", line);
		progress.shown = true;
		fflush(stderr);
	}
	else if (strcmp(key, progress.last_key) != 0 && t - progress.last_log >= LOG_SECONDS)
	{
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
		snprintf(progress.last_key, sizeof(progress.last_key), "%s", key);
		progress.last_log = t;
	}
}

static void
progress_done(bool ok)
{
	if (!progress.on)
		return;
	progress_clear();
	if (ok)
		fprintf(stderr, "%s: done, %.1f s\n", progress.progname, now_seconds() - progress.started);
	if (progress.conn)
		PQfinish(progress.conn);
	progress.conn = NULL;
	progress.on = false;
}

/* ------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------ */
static PGconn *
connect_db(const ConnOpts *o, const char *appname)
{
	const char *kw[6];
	const char *val[6];
	int			n = 0;

	if (o->dbname)
	{
		kw[n] = "dbname";
		val[n++] = o->dbname;
	}
	if (o->host)
	{
		kw[n] = "host";
		val[n++] = o->host;
	}
	if (o->port)
	{
		kw[n] = "port";
		val[n++] = o->port;
	}
	if (o->user)
	{
		kw[n] = "user";
		val[n++] = o->user;
	}
	kw[n] = "fallback_application_name";
	val[n++] = appname;
	kw[n] = NULL;
	val[n] = NULL;
	/* expand_dbname: -d may be a connection string or URI */
	return PQconnectdbParams(kw, val, 1);
}

/* The session's tenant, for views and for functions' tenant_id default. */
static PGresult *
set_tenant(PGconn *conn, const char *tenant)
{
	const char *values[1] = {tenant};

	return PQexecParams(conn, "SELECT set_config('shelfops.tenant_id', $1::text, false)",
						1, NULL, values, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */
static int
report_error(const PGresult *res, PGconn *conn, const Invocation *inv, const char *progname)
{
	const char *sev = res ? PQresultErrorField(res, PG_DIAG_SEVERITY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char	   *fallback = NULL;
	bool		cancelled = state && strcmp(state, "57014") == 0 && interrupted;

	if (msg == NULL)
	{
		/* a client-side failure (connection lost): libpq's own message */
		fallback = xstrdup(res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
						   : PQerrorMessage(conn));
		fallback[strcspn(fallback, "\n")] = '\0';
		msg = fallback;
	}
	fprintf(stderr, "%s: %s%s%s: %s\n", progname, sev ? sev : "ERROR",
			state ? " " : "", state ? state : "", msg);
	if (detail)
		fprintf(stderr, "DETAIL: %s\n", detail);
	if (hint)
		fprintf(stderr, "HINT: %s\n", hint);
	if (inv->json)
	{
		Buf			b;

		buf_init(&b);
		buf_put(&b, "{\"error\": {\"severity\": ");
		buf_json_string(&b, sev ? sev : "ERROR");
		buf_put(&b, ", \"sqlstate\": ");
		if (state)
			buf_json_string(&b, state);
		else
			buf_put(&b, "null");
		buf_put(&b, ", \"message\": ");
		buf_json_string(&b, msg);
		buf_put(&b, ", \"detail\": ");
		if (detail)
			buf_json_string(&b, detail);
		else
			buf_put(&b, "null");
		buf_put(&b, ", \"hint\": ");
		if (hint)
			buf_json_string(&b, hint);
		else
			buf_put(&b, "null");
		buf_put(&b, "}}\n");
		fputs(b.data, stdout);
		buf_free(&b);
	}
	free(fallback);
	return cancelled ? EXIT_INTERRUPTED : EXIT_SERVER;
}

/* Write text to FILE ("-": standard output); EXIT_LOCAL on failure. */
static int
write_output(const char *path, const char *text, size_t len, const Invocation *inv,
			 const char *progname)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");

	if (f == NULL || fwrite(text, 1, len, f) != len || (f != stdout && fclose(f) != 0))
	{
		fprintf(stderr, "%s: cannot write %s: %s\n", progname, path, strerror(errno));
		return EXIT_LOCAL;
	}
	if (f == stdout)
		return EXIT_OK;
	if (inv->json)
	{
		Buf			b;

		buf_init(&b);
		buf_put(&b, "{\"file\": ");
		buf_json_string(&b, path);
		buf_printf(&b, ", \"bytes\": %zu}\n", len);
		fputs(b.data, stdout);
		buf_free(&b);
	}
	else
		printf("wrote %s (%zu bytes)\n", path, len);
	return EXIT_OK;
}

static int
print_result(const PGresult *res, const Invocation *inv, const char *progname)
{
	const Command *cmd = inv->cmd;

	if (cmd->kind == R_TEXT && inv->output != NULL)
	{
		const char *text = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "";

		return write_output(inv->output, text, strlen(text), inv, progname);
	}
	if (inv->json || cmd->kind == R_TEXT)
	{
		/* one value made by the server: a JSON document, or the text itself */
		const char *text = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
			? PQgetvalue(res, 0, 0) : (inv->json ? "null" : "");
		size_t		len = strlen(text);

		fputs(text, stdout);
		if (len > 0 && text[len - 1] != '\n')
			fputc('\n', stdout);
		return EXIT_OK;
	}
	print_table(stdout, res);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * Running it
 * ------------------------------------------------------------------------ */

/* Send the statement and wait for its result, polling progress meanwhile. */
static PGresult *
execute(PGconn *conn, const char *sql, const Params *p)
{
	PGcancel   *cancel = PQgetCancel(conn);
	bool		cancel_sent = false;
	PGresult   *result = NULL;
	PGresult   *r;
	int			sock = PQsocket(conn);

	if (!PQsendQueryParams(conn, sql, p->n, NULL, p->values, NULL, NULL, 0))
	{
		if (cancel)
			PQfreeCancel(cancel);
		return NULL;
	}
	for (;;)
	{
		fd_set		rfds;
		struct timeval tv;
		double		wait = POLL_SECONDS;

		if (interrupted && !cancel_sent && cancel != NULL)
		{
			char		errbuf[256];

			PQcancel(cancel, errbuf, sizeof(errbuf));
			cancel_sent = true;
		}
		if (!PQconsumeInput(conn))
			break;
		if (!PQisBusy(conn))
			break;
		if (progress.on)
		{
			double		since = now_seconds() - progress.last_poll;

			if (since >= POLL_SECONDS)
			{
				progress_poll();
				since = 0;
			}
			wait = POLL_SECONDS - since;
		}
		FD_ZERO(&rfds);
		FD_SET(sock, &rfds);
		tv.tv_sec = (long) wait;
		tv.tv_usec = (long) ((wait - (long) wait) * 1e6);
		if (select(sock + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
			break;
	}
	/* one statement: its result, then NULL; keep the first error or the rows */
	while ((r = PQgetResult(conn)) != NULL)
	{
		if (result == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR)
		{
			PQclear(result);
			result = r;
		}
		else
			PQclear(r);
	}
	if (cancel)
		PQfreeCancel(cancel);
	return result;
}

int
run_invocation(const ConnOpts *co, const Invocation *inv, const char *progname)
{
	PGconn	   *conn;
	PGresult   *res;
	Buf			call;
	Buf			sql;
	Params		params = {0};
	int			rc;
	struct sigaction sa;

	buf_init(&call);
	buf_init(&sql);
	if ((rc = build_call(inv, &call, &params, progname)) != EXIT_OK)
		goto done;
	build_statement(inv, call.data, &sql);

	conn = connect_db(co, "shelfops-cli");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "%s: cannot connect: %s", progname, PQerrorMessage(conn));
		PQfinish(conn);
		rc = EXIT_CONNECT;
		goto done;
	}
	PQsetNoticeProcessor(conn, notice_processor, NULL);
	if (inv->tenant)
	{
		res = set_tenant(conn, inv->tenant);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			rc = report_error(res, conn, inv, progname);
			PQclear(res);
			PQfinish(conn);
			goto done;
		}
		PQclear(res);
	}

	memset(&progress, 0, sizeof(progress));
	progress.on = inv->cmd->progress &&
		(inv->progress == 1 || (inv->progress == -1 && isatty(STDERR_FILENO)));
	if (progress.on)
	{
		progress.tty = isatty(STDERR_FILENO);
		progress.progname = progname;
		progress.started = now_seconds();
		progress.last_poll = progress.started;
		progress.last_log = progress.started - LOG_SECONDS;
		snprintf(progress.pid, sizeof(progress.pid), "%d", PQbackendPID(conn));
		progress.conn = connect_db(co, "shelfops-cli-progress");
		if (PQstatus(progress.conn) != CONNECTION_OK)
		{
			PQfinish(progress.conn);
			progress.conn = NULL;
		}
		else
		{
			PQsetNoticeProcessor(progress.conn, notice_discard, NULL);
			if (inv->tenant)
				PQclear(set_tenant(progress.conn, inv->tenant));
		}
	}

	/* Ctrl-C cancels the statement (no SA_RESTART: select wakes up at once) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	res = execute(conn, sql.data, &params);
	progress_done(res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
								  PQresultStatus(res) == PGRES_COMMAND_OK));
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
						PQresultStatus(res) != PGRES_COMMAND_OK))
		rc = report_error(res, conn, inv, progname);
	else
		rc = print_result(res, inv, progname);
	PQclear(res);
	PQfinish(conn);

done:
	params_free(&params);
	buf_free(&call);
	buf_free(&sql);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
	{
		fprintf(stderr, "%s: cannot write standard output: %s\n", progname, strerror(errno));
		rc = EXIT_LOCAL;
	}
	return rc;
}
