/*
 * sales_writer.h
 *	  Bulk writer of canonical rows into shelfops.sales (see sales_writer.c).
 *
 * Usage:
 *		SalesWriter *w = sales_writer_begin(tenant, dataset);
 *		for each row:
 *			sales_writer_row_init(w);	   -- all columns NULL, flags false
 *			w->values[SALES_STORE_ID] = ...; w->nulls[SALES_STORE_ID] = false; ...
 *			sales_writer_add(w);
 *		rows = sales_writer_end(w);
 *
 * Text values must stay valid until sales_writer_add returns; the writer copies
 * them into its own batch memory.  A writer writes a whole dataset: the rows
 * become visible, as the dataset's partition of shelfops.sales, at
 * sales_writer_end.
 */
#ifndef SHELFOPS_SALES_WRITER_H
#define SHELFOPS_SALES_WRITER_H

#include "postgres.h"

/* Columns of shelfops.sales a writer fills (tenant and dataset are the writer's). */
typedef enum SalesColumn
{
	SALES_STORE_ID,
	SALES_PRODUCT_ID,
	SALES_SALE_DATE,
	SALES_QUANTITY,
	SALES_CATEGORY,
	SALES_PROMO_COUNT,
	SALES_IS_PROMOTIONAL,
	SALES_IS_HOLIDAY,
	SALES_HOLIDAY_TYPE,
	SALES_IS_SCHOOL_HOLIDAY,
	SALES_IS_OPEN,
	SALES_UNIT_COST,
	SALES_UNIT_PRICE,
	SALES_CUSTOMERS,
	SALES_RETURNS_ADJUSTMENT,
	SALES_IS_RETURN_WEEK,
	SALES_NCOLUMNS
} SalesColumn;

typedef struct SalesWriter SalesWriter;

struct SalesWriter
{
	Datum		values[SALES_NCOLUMNS];
	bool		nulls[SALES_NCOLUMNS];
	/* private state follows in sales_writer.c */
};

extern SalesWriter *sales_writer_begin(const char *tenant_id, const char *dataset_id);
extern void sales_writer_row_init(SalesWriter *writer);
extern void sales_writer_add(SalesWriter *writer);
/* The same for a row whose text values stay valid until sales_writer_end:
 * they are not copied. */
extern void sales_writer_add_stable(SalesWriter *writer);
extern uint64 sales_writer_end(SalesWriter *writer);

/*
 * Empty the rows a loader's earlier run wrote for (tenant, dataset), before the
 * dataset row is deleted and written again: call it first thing when replacing.
 */
extern void sales_discard_dataset(const char *tenant_id, const char *dataset_id);

/* Is the column text (by reference)?  The others are passed by value. */
extern bool sales_column_is_text(SalesColumn col);
/* Is the column boolean? */
extern bool sales_column_is_bool(SalesColumn col);

/* Convenience setters; text is copied. */
extern void sales_set_text(SalesWriter *writer, SalesColumn col, const char *value, int len);
extern void sales_set_float8(SalesWriter *writer, SalesColumn col, double value);
extern void sales_set_bool(SalesWriter *writer, SalesColumn col, bool value);
extern void sales_set_int32(SalesWriter *writer, SalesColumn col, int32 value);
extern void sales_set_date(SalesWriter *writer, SalesColumn col, int32 date_adt);

#endif							/* SHELFOPS_SALES_WRITER_H */
