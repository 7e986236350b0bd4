/*
 * cli.h
 *	  Shared declarations of the `shelfops` command-line program (src/cli/):
 *	  the command table's types (commands.c), the statement of a call
 *	  (statement.c), running it and its output (call.c), and the table
 *	  printer and string helpers (output.c).  The program has no
 *	  forecasting logic of its own: every subcommand is one parameterised SQL
 *	  call of the extension's surface.
 */
#ifndef SHELFOPS_CLI_H
#define SHELFOPS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (docs/cli.md). */
#define EXIT_OK				0
#define EXIT_SERVER			1	/* the server raised an error */
#define EXIT_USAGE			2	/* bad command line */
#define EXIT_CONNECT		3	/* could not connect */
#define EXIT_LOCAL			4	/* local I/O (writing -o FILE, reading @FILE) */
#define EXIT_INTERRUPTED	130 /* SIGINT: the running statement was cancelled */

#define MAX_OPTS	12
#define MAX_POS		4

/* How a value is passed: the cast written after its $n placeholder. */
typedef enum ArgType
{
	T_TEXT,
	T_INT,
	T_FLOAT,
	T_JSONB,					/* "@FILE" reads the value from FILE */
	T_BOOL,						/* a flag: passes true when given */
	T_TEXTARR,					/* several positionals, or a comma list */
	T_DATE,
	T_UNTYPED					/* no cast: the server infers the type */
} ArgType;

/* An option of a subcommand. */
typedef struct OptSpec
{
	const char *name;			/* long name, without the dashes */
	char		letter;			/* short form, or 0 */
	const char *sqlarg;			/* named argument (name => $n); NULL = client side */
	ArgType		type;
	const char *metavar;		/* NULL for a flag */
	bool		required;
	const char *help;
} OptSpec;

/* A positional argument of a subcommand. */
typedef struct PosSpec
{
	const char *name;			/* as shown in the usage line */
	const char *sqlarg;
	ArgType		type;
	bool		many;			/* takes every remaining positional (T_TEXTARR) */
	bool		optional;
	const char *help;
} PosSpec;

/* What the SQL returns, which decides the query and the output. */
typedef enum ResultKind
{
	R_ROWS,						/* a set-returning function: a table */
	R_JSONB,					/* one jsonb: flattened key/value table, or the document */
	R_TEXT,						/* one text: printed (or written to -o FILE) as is */
	R_QUERY						/* a fixed query over a view (table_sql / json_sql) */
} ResultKind;

typedef struct Command
{
	const char *name;			/* "train", "plot forecast", ... */
	const char *summary;
	const char *function;		/* SQL function called (R_ROWS, R_JSONB, R_TEXT) */
	ResultKind	kind;
	bool		tenant_arg;		/* the function takes tenant_id */
	bool		progress;		/* a long call: live progress line */
	bool		output_file;	/* has -o FILE (R_TEXT) */
	const char *table_sql;		/* R_QUERY: params $1.. in positional, then option order */
	const char *json_sql;
	PosSpec		pos[MAX_POS];
	OptSpec		opts[MAX_OPTS];
	const char *example;
} Command;

/* Values given on the command line for one command. */
typedef struct Invocation
{
	const Command *cmd;
	const char *pos[MAX_POS];	/* NULL when absent */
	char	  **many;			/* values of the "many" positional */
	int			nmany;
	const char *opt[MAX_OPTS];	/* NULL when absent; "true" for a given flag */
	const char *output;			/* -o FILE, or NULL */
	bool		json;
	int			progress;		/* -1 auto (stderr is a tty), 0 off, 1 on */
	const char *tenant;			/* --tenant, or NULL */
} Invocation;

/* commands.c */
extern const Command commands[];
extern const int ncommands;

/* statement.c */
#define MAX_PARAMS	(MAX_POS + MAX_OPTS + 1)
typedef struct Buf Buf;
typedef struct Params
{
	const char *values[MAX_PARAMS];
	char	   *owned[MAX_PARAMS];	/* allocated values, freed by params_free */
	int			n;
} Params;
extern int	build_call(const Invocation *inv, Buf *call, Params *p, const char *progname);
extern void build_statement(const Invocation *inv, const char *call, Buf *sql);
extern void params_free(Params *p);

/* call.c */
typedef struct ConnOpts
{
	const char *dbname;
	const char *host;
	const char *port;
	const char *user;
} ConnOpts;
extern int	run_invocation(const ConnOpts *conn, const Invocation *inv, const char *progname);

/* output.c: a growable string */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;
extern void buf_init(Buf *b);
extern void buf_put(Buf *b, const char *s);
extern void buf_putn(Buf *b, const char *s, size_t n);
extern void buf_printf(Buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void buf_free(Buf *b);
extern void buf_json_string(Buf *b, const char *s);
extern void buf_array_literal(Buf *b, char *const *items, int n);
extern char *xstrdup(const char *s);
extern void *xmalloc(size_t n);

/* output.c: result printing (res is a PGresult *) */
struct pg_result;
extern void print_table(FILE *out, const struct pg_result *res);

#endif
