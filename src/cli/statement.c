/*
 * statement.c
 *	  Owns turning one parsed invocation of the `shelfops` program into one SQL
 *	  statement and its parameters: named arguments (name => $n::type) for
 *	  exactly the values the user gave, every value a parameter and never SQL
 *	  text, @FILE contents for JSON options, text[] literals for lists, and the
 *	  statement around the call for the output mode (rows, a JSON document
 *	  flattened to key/value lines, text, or a fixed query over a view).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *
cast_of(ArgType t)
{
	switch (t)
	{
		case T_TEXT:
			return "::text";
		case T_INT:
			return "::integer";
		case T_FLOAT:
			return "::float8";
		case T_JSONB:
			return "::jsonb";
		case T_BOOL:
			return "::boolean";
		case T_TEXTARR:
			return "::text[]";
		case T_DATE:
			return "::date";
		case T_UNTYPED:
			return "";
	}
	return "";
}

/* The contents of FILE, for a JSON option given as @FILE; NULL on error. */
static char *
read_file(const char *path, const char *progname)
{
	FILE	   *f = fopen(path, "rb");
	Buf			b;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "%s: cannot read %s: %s\n", progname, path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_putn(&b, chunk, n);
	if (ferror(f))
	{
		fprintf(stderr, "%s: cannot read %s: %s\n", progname, path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	return b.data;
}

/*
 * The value to send for one argument: a comma list or several positionals
 * become a text[] literal, @FILE a file's contents, a flag "true".
 */
static int
add_param(Params *p, ArgType type, const char *value, char **many, int nmany, const char *progname)
{
	char	   *owned = NULL;

	if (type == T_TEXTARR)
	{
		Buf			b;

		buf_init(&b);
		if (many != NULL)
			buf_array_literal(&b, many, nmany);
		else
		{
			/* a comma-separated option value */
			char	   *copy = xstrdup(value);
			char	  **items = xmalloc(sizeof(char *) * (strlen(value) + 1));
			int			n = 0;
			char	   *save = NULL;

			for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				items[n++] = tok;
			buf_array_literal(&b, items, n);
			free(items);
			free(copy);
		}
		owned = b.data;
	}
	else if (type == T_JSONB && value != NULL && value[0] == '@')
	{
		owned = read_file(value + 1, progname);
		if (owned == NULL)
			return EXIT_LOCAL;
	}
	p->owned[p->n] = owned;
	p->values[p->n] = owned ? owned : value;
	p->n++;
	return EXIT_OK;
}

/*
 * For a function command: "fn(name => $1::type, ...)" with one parameter per
 * argument given; for a query command: every parameter, NULL when absent.
 */
int
build_call(const Invocation *inv, Buf *call, Params *p, const char *progname)
{
	const Command *cmd = inv->cmd;
	bool		first = true;
	int			rc;

	if (cmd->kind == R_QUERY)
	{
		for (int i = 0; i < MAX_POS && cmd->pos[i].name; i++)
			if ((rc = add_param(p, cmd->pos[i].type, inv->pos[i], NULL, 0, progname)) != EXIT_OK)
				return rc;
		for (int i = 0; i < MAX_OPTS && cmd->opts[i].name; i++)
			if (cmd->opts[i].sqlarg &&
				(rc = add_param(p, cmd->opts[i].type, inv->opt[i], NULL, 0, progname)) != EXIT_OK)
				return rc;
		return EXIT_OK;
	}

	buf_printf(call, "%s(", cmd->function);
	for (int i = 0; i < MAX_POS && cmd->pos[i].name; i++)
	{
		const PosSpec *s = &cmd->pos[i];

		if (s->many ? inv->nmany == 0 : inv->pos[i] == NULL)
			continue;
		if ((rc = add_param(p, s->type, inv->pos[i], s->many ? inv->many : NULL,
							inv->nmany, progname)) != EXIT_OK)
			return rc;
		buf_printf(call, "%s%s => $%d%s", first ? "" : ", ", s->sqlarg, p->n, cast_of(s->type));
		first = false;
	}
	for (int i = 0; i < MAX_OPTS && cmd->opts[i].name; i++)
	{
		const OptSpec *s = &cmd->opts[i];

		if (s->sqlarg == NULL || inv->opt[i] == NULL)
			continue;
		if ((rc = add_param(p, s->type, inv->opt[i], NULL, 0, progname)) != EXIT_OK)
			return rc;
		buf_printf(call, "%s%s => $%d%s", first ? "" : ", ", s->sqlarg, p->n, cast_of(s->type));
		first = false;
	}
	if (cmd->tenant_arg && inv->tenant)
	{
		add_param(p, T_TEXT, inv->tenant, NULL, 0, progname);
		buf_printf(call, "%stenant_id => $%d::text", first ? "" : ", ", p->n);
	}
	buf_put(call, ")");
	return EXIT_OK;
}

/* An array holding an object or an array: expanded element by element. */
#define NESTED_ARRAY(v) \
	"(jsonb_typeof(" v ") = 'array' AND jsonb_path_exists(" v ", " \
	"'$[*] ? (@.type() == \"object\" || @.type() == \"array\")'))"

/* The whole statement for the call and the output mode. */
void
build_statement(const Invocation *inv, const char *call, Buf *sql)
{
	const Command *cmd = inv->cmd;

	switch (cmd->kind)
	{
		case R_ROWS:
			if (inv->json)
				buf_printf(sql, "SELECT coalesce(jsonb_pretty(jsonb_agg(to_jsonb(r))), '[]') FROM %s r", call);
			else
				buf_printf(sql, "SELECT * FROM %s", call);
			break;
		case R_JSONB:
			if (inv->json)
			{
				buf_printf(sql, "SELECT jsonb_pretty(%s)", call);
				break;
			}

			/*
			 * One line per leaf of the document, keyed by its path
			 * (metrics.holdout.wape, files[0].name): object keys sorted, array
			 * elements in order; arrays of scalars stay whole.
			 */
			buf_printf(sql,
					   "WITH RECURSIVE doc(d) AS MATERIALIZED (\n"
					   "    SELECT CASE WHEN jsonb_typeof(x) = 'object' THEN x\n"
					   "                ELSE jsonb_build_object('result', x) END\n"
					   "      FROM (SELECT %s AS x) s),\n"
					   "kv(k, s, v) AS (\n"
					   "    SELECT e.key, ARRAY[e.key], e.value FROM doc, jsonb_each(doc.d) e\n"
					   "    UNION ALL\n"
					   "    SELECT kv.k || coalesce('[' || c.i || ']', '.' || c.key),\n"
					   "           kv.s || coalesce(lpad(c.i::text, 10, '0'), c.key), c.value\n"
					   "      FROM kv, LATERAL (\n"
					   "            SELECT e.key, NULL::bigint AS i, e.value\n"
					   "              FROM jsonb_each(CASE WHEN jsonb_typeof(kv.v) = 'object' THEN kv.v ELSE '{}' END) e\n"
					   "            UNION ALL\n"
					   "            SELECT NULL, a.n - 1, a.value\n"
					   "              FROM jsonb_array_elements(CASE WHEN %s THEN kv.v ELSE '[]' END)\n"
					   "                   WITH ORDINALITY a(value, n)) c)\n"
					   "SELECT k AS key,\n"
					   "       CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' ELSE v::text END AS value\n"
					   "  FROM kv\n"
					   " WHERE NOT (jsonb_typeof(v) = 'object' AND v <> '{}') AND NOT %s\n"
					   " ORDER BY s COLLATE \"C\"", call, NESTED_ARRAY("kv.v"), NESTED_ARRAY("v"));
			break;
		case R_TEXT:
			if (inv->json && inv->output == NULL)
				buf_printf(sql, "SELECT to_jsonb(%s)", call);
			else
				buf_printf(sql, "SELECT %s", call);
			break;
		case R_QUERY:
			buf_put(sql, inv->json ? cmd->json_sql : cmd->table_sql);
			break;
	}
}

void
params_free(Params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->owned[i]);
	p->n = 0;
}
