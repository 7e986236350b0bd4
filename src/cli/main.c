/*
 * main.c
 *	  Owns the `shelfops` program's command line: global options (connection,
 *	  tenant, --json, progress), finding the subcommand in the command table
 *	  (commands.c), its positionals and options, the help texts, and usage
 *	  errors (exit 2).  Running the call is call.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef SHELFOPS_VERSION
#define SHELFOPS_VERSION "unknown"
#endif

/* Global options, accepted before or after the subcommand. */
enum
{
	G_DBNAME, G_HOST, G_PORT, G_USER, G_TENANT, G_JSON, G_PROGRESS, G_NO_PROGRESS,
	G_HELP, G_VERSION, G_COUNT
};

static const OptSpec global_opts[G_COUNT + 1] = {
	[G_DBNAME] = {"dbname", 'd', NULL, T_TEXT, "DBNAME", false, "database name or connection string (default: $PGDATABASE)"},
	[G_HOST] = {"host", 'h', NULL, T_TEXT, "HOST", false, "server host or socket directory (default: $PGHOST)"},
	[G_PORT] = {"port", 'p', NULL, T_TEXT, "PORT", false, "server port (default: $PGPORT)"},
	[G_USER] = {"username", 'U', NULL, T_TEXT, "USER", false, "user name (default: $PGUSER)"},
	[G_TENANT] = {"tenant", 't', NULL, T_TEXT, "TENANT", false, "act for this tenant (sets shelfops.tenant_id and passes tenant_id)"},
	[G_JSON] = {"json", 0, NULL, T_BOOL, NULL, false, "print JSON instead of a table"},
	[G_PROGRESS] = {"progress", 0, NULL, T_BOOL, NULL, false, "show the progress line even when stderr is not a terminal"},
	[G_NO_PROGRESS] = {"no-progress", 0, NULL, T_BOOL, NULL, false, "never show the progress line"},
	[G_HELP] = {"help", '?', NULL, T_BOOL, NULL, false, "show help (of the subcommand, when one is given)"},
	[G_VERSION] = {"version", 'V', NULL, T_BOOL, NULL, false, "print the version"},
	{0}
};

static void
print_opt(FILE *out, const OptSpec *o)
{
	char		left[64];

	if (o->letter)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->letter, o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
	fprintf(out, "  %-26s %s%s\n", left, o->help, o->required ? " (required)" : "");
}

static void
usage_line(FILE *out, const Command *c)
{
	fprintf(out, "shelfops %s [OPTION]...", c->name);
	for (int i = 0; i < MAX_OPTS && c->opts[i].name; i++)
		if (c->opts[i].required)
			fprintf(out, " --%s %s", c->opts[i].name, c->opts[i].metavar);
	for (int i = 0; i < MAX_POS && c->pos[i].name; i++)
		fprintf(out, c->pos[i].optional ? " [%s]" : " %s", c->pos[i].name);
	fputc('\n', out);
}

static void
command_help(FILE *out, const Command *c)
{
	fputs("Usage: ", out);
	usage_line(out, c);
	fprintf(out, "\n%c%s.\n", c->summary[0] - ('a' <= c->summary[0] && c->summary[0] <= 'z' ? 32 : 0),
			c->summary + 1);
	if (c->kind == R_QUERY)
		fputs("Reads the view shelfops.model_history.\n", out);
	else
		fprintf(out, "Calls %s(...)%s.\n", c->function,
				c->kind == R_ROWS ? " and prints its rows"
				: c->kind == R_JSONB ? " and prints its document, one line per key (--json: the document)"
				: " and prints its text");
	if (c->pos[0].name)
	{
		fputs("\nArguments:\n", out);
		for (int i = 0; i < MAX_POS && c->pos[i].name; i++)
			fprintf(out, "  %-26s %s\n", c->pos[i].name, c->pos[i].help);
	}
	fputs("\nOptions:\n", out);
	for (int i = 0; i < MAX_OPTS && c->opts[i].name; i++)
		print_opt(out, &c->opts[i]);
	print_opt(out, &global_opts[G_JSON]);
	if (c->progress)
	{
		print_opt(out, &global_opts[G_PROGRESS]);
		print_opt(out, &global_opts[G_NO_PROGRESS]);
	}
	print_opt(out, &global_opts[G_TENANT]);
	fputs("  (connection options -d -h -p -U: see 'shelfops --help')\n", out);
	fprintf(out, "\nExample:\n  %s\n", c->example);
}

static void
main_help(FILE *out)
{
	fputs("shelfops: the shelfops extension's forecasting loop from the command line.\n"
		  "Every subcommand is one call of the extension's SQL functions.\n\n"
		  "Usage: shelfops [OPTION]... COMMAND [ARG]...\n\nCommands:\n", out);
	for (int i = 0; i < ncommands; i++)
		fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
	fputs("\nOptions (before or after the command):\n", out);
	for (int i = 0; i < G_COUNT; i++)
		print_opt(out, &global_opts[i]);
	fputs("\nConnection: libpq's PG* environment variables (PGHOST, PGPORT, PGDATABASE,\n"
		  "PGUSER, PGPASSWORD, PGOPTIONS, ...) unless -d/-h/-p/-U say otherwise.\n"
		  "\nExit status: 0 success, 1 the server raised an error, 2 bad command line,\n"
		  "3 cannot connect, 4 local file error, 130 interrupted (statement cancelled).\n"
		  "\n'shelfops COMMAND --help' describes a command.\n", out);
}

static int
usage_error(const char *cmdname, const char *fmt, const char *arg)
{
	fprintf(stderr, "shelfops%s%s: ", cmdname ? " " : "", cmdname ? cmdname : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'shelfops%s%s --help'.\n", cmdname ? " " : "", cmdname ? cmdname : "");
	return EXIT_USAGE;
}

static const Command *
find_command(const char *name)
{
	for (int i = 0; i < ncommands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "plot" (a group of commands named "plot ..."), or NULL. */
static bool
is_group(const char *name)
{
	size_t		n = strlen(name);

	for (int i = 0; i < ncommands; i++)
		if (strncmp(commands[i].name, name, n) == 0 && commands[i].name[n] == ' ')
			return true;
	return false;
}

/* Index of the option named by arg (long "--x" / short "-x") in opts, or -1. */
static int
match_opt(const OptSpec *opts, int nopts, const char *arg, size_t namelen, bool is_long)
{
	for (int i = 0; i < nopts && opts[i].name; i++)
	{
		if (is_long && strlen(opts[i].name) == namelen && strncmp(opts[i].name, arg, namelen) == 0)
			return i;
		if (!is_long && opts[i].letter && opts[i].letter == arg[0])
			return i;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	Invocation	inv = {0};
	ConnOpts	co = {0};
	const char *global[G_COUNT] = {0};
	const char *group = NULL;
	const Command *cmd = NULL;
	char	  **posv = xmalloc(sizeof(char *) * (argc + 1));
	int			npos = 0;
	bool		only_pos = false;
	char		progname[64];

	inv.progress = -1;
	for (int i = 1; i < argc; i++)
	{
		char	   *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0)
		{
			only_pos = true;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] != '\0')
		{
			bool		is_long = a[1] == '-';
			const char *name = a + (is_long ? 2 : 1);
			const char *eq = is_long ? strchr(name, '=') : NULL;
			size_t		namelen = is_long ? (eq ? (size_t) (eq - name) : strlen(name)) : 1;
			const OptSpec *spec;
			int			k;
			const char *value = NULL;
			bool		is_global;

			/* the command's own options first: promote --version N */
			k = cmd ? match_opt(cmd->opts, MAX_OPTS, name, namelen, is_long) : -1;
			is_global = k < 0;
			if (is_global)
				k = match_opt(global_opts, G_COUNT, name, namelen, is_long);
			if (k < 0)
				return usage_error(cmd ? cmd->name : group, "unknown option %s", a);
			spec = is_global ? &global_opts[k] : &cmd->opts[k];
			if (spec->metavar == NULL)
			{
				if (eq || (!is_long && name[1] != '\0'))
					return usage_error(cmd ? cmd->name : group, "option %s takes no value", a);
				value = "true";
			}
			else if (eq)
				value = eq + 1;
			else if (!is_long && name[1] != '\0')
				value = name + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return usage_error(cmd ? cmd->name : group, "option %s needs a value", a);
			if (is_global)
				global[k] = value;
			else if (spec->sqlarg == NULL && strcmp(spec->name, "output") == 0)
				inv.output = value;
			else
				inv.opt[k] = value;
			continue;
		}
		if (cmd == NULL && group == NULL)
		{
			if (strcmp(a, "help") == 0 && global[G_HELP] == NULL)
			{
				global[G_HELP] = "true";
				continue;
			}
			cmd = find_command(a);
			if (cmd == NULL)
			{
				if (!is_group(a))
					return usage_error(NULL, "unknown command \"%s\"", a);
				group = a;
			}
			continue;
		}
		if (cmd == NULL)
		{
			/* the second word of a group: "plot forecast" */
			char		full[64];

			snprintf(full, sizeof(full), "%s %s", group, a);
			cmd = find_command(full);
			if (cmd == NULL)
				return usage_error(group, "unknown command \"%s\"", a);
			continue;
		}
		posv[npos++] = a;
	}

	if (global[G_VERSION])
	{
		printf("shelfops (CLI) %s\n", SHELFOPS_VERSION);
		return EXIT_OK;
	}
	if (global[G_HELP])
	{
		if (cmd)
			command_help(stdout, cmd);
		else if (group)
		{
			for (int i = 0; i < ncommands; i++)
				if (strncmp(commands[i].name, group, strlen(group)) == 0 &&
					commands[i].name[strlen(group)] == ' ')
				{
					command_help(stdout, &commands[i]);
					fputc('\n', stdout);
				}
		}
		else
			main_help(stdout);
		return EXIT_OK;
	}
	if (cmd == NULL)
	{
		if (group)
			return usage_error(group, "which one? %s", "forecast or benchmark");
		main_help(stderr);
		return EXIT_USAGE;
	}

	/* positionals, in order; a "many" one takes the rest */
	{
		int			next = 0;

		for (int i = 0; i < MAX_POS && cmd->pos[i].name; i++)
		{
			const PosSpec *s = &cmd->pos[i];

			if (s->many)
			{
				inv.many = posv + next;
				inv.nmany = npos - next;
				next = npos;
				if (inv.nmany == 0 && !s->optional)
					return usage_error(cmd->name, "missing argument %s", s->name);
			}
			else if (next < npos)
				inv.pos[i] = posv[next++];
			else if (!s->optional)
				return usage_error(cmd->name, "missing argument %s", s->name);
		}
		if (next < npos)
			return usage_error(cmd->name, "unexpected argument \"%s\"", posv[next]);
	}
	for (int i = 0; i < MAX_OPTS && cmd->opts[i].name; i++)
		if (cmd->opts[i].required && inv.opt[i] == NULL)
			return usage_error(cmd->name, "missing option --%s", cmd->opts[i].name);
	if (inv.output && !cmd->output_file)
		return usage_error(cmd->name, "option %s is not available here", "-o");

	inv.cmd = cmd;
	inv.json = global[G_JSON] != NULL;
	inv.tenant = global[G_TENANT];
	if (global[G_PROGRESS])
		inv.progress = 1;
	if (global[G_NO_PROGRESS])
		inv.progress = 0;
	co.dbname = global[G_DBNAME];
	co.host = global[G_HOST];
	co.port = global[G_PORT];
	co.user = global[G_USER];
	snprintf(progname, sizeof(progname), "shelfops %s", cmd->name);
	return run_invocation(&co, &inv, progname);
}
