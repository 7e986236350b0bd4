/*
 * synthetic.c
 *	  Owns shelfops_generate_synthetic: a deterministic generator of daily
 *	  store x product sales with a documented demand model (docs/synthetic.md),
 *	  written through the sales writer, with a content checksum.
 *
 * Determinism.  Every random draw comes from xoshiro256** streams seeded by
 * splitmix64 from (seed, store) for store traits, (seed, product) for product
 * traits and promotions, and (seed, store, product) for the daily draws of one
 * series.  A series therefore does not depend on how many other stores or
 * products are generated, and its first N days do not depend on how many days
 * follow.  Floating point only feeds quantities after two roundings: the daily
 * mean is rounded to a multiple of 1/1024 before sampling, and what is written
 * is an integer count of units; costs and prices are whole cents.  A one-ulp
 * libm difference between machines changes a row only if it straddles one of
 * those rounding boundaries exactly, which the checksum would reveal.
 *
 * The checksum is 64-bit FNV-1a over one canonical text line per row, in
 * (store, product, date) order:
 *	store|product|YYYY-MM-DD|quantity|category|promo_count|is_promotional|
 *	is_holiday|holiday_type|is_open|unit_cost|unit_price\n
 * with booleans as t/f, a NULL holiday_type as the empty string and money as
 * d.dd; test/sql/synthetic.sql recomputes it from the stored rows in SQL.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"

#include "shelfops.h"
#include "calendar_us.h"
#include "sales_writer.h"
#include "synthetic.h"

PG_FUNCTION_INFO_V1(shelfops_generate_synthetic);

/* ------------------------------------------------------------------------
 * Random numbers: splitmix64 for seeding, xoshiro256** for the streams.
 * ------------------------------------------------------------------------
 */
typedef struct Rng
{
	uint64		s[4];
} Rng;

enum
{
	STREAM_STORE = 1,
	STREAM_PRODUCT = 2,
	STREAM_SERIES = 3
};

static inline uint64
mix64(uint64 z)
{
	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static inline uint64
splitmix64(uint64 *x)
{
	*x += UINT64CONST(0x9E3779B97F4A7C15);
	return mix64(*x);
}

/* A stream keyed by (kind, seed, a, b); unrelated keys give unrelated streams. */
static void
rng_init(Rng *r, int kind, int32 seed, uint32 a, uint32 b)
{
	uint64		x = UINT64CONST(0x243F6A8885A308D3);

	x = mix64(x ^ (uint64) kind);
	x = mix64(x ^ (uint64) (uint32) seed);
	x = mix64(x ^ (((uint64) a << 32) | b));
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64
rotl64(uint64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64
rng_next(Rng *r)
{
	uint64	   *s = r->s;
	uint64		result = rotl64(s[1] * 5, 7) * 9;
	uint64		t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform on [0, 1), 53 bits. */
static inline double
rng_uniform(Rng *r)
{
	return (double) (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer on [lo, hi]. */
static inline int
rng_int(Rng *r, int lo, int hi)
{
	uint64		span = (uint64) (hi - lo) + 1;

	return lo + (int) (((rng_next(r) >> 32) * span) >> 32);
}

/*
 * Approximately standard normal: the sum of six uniforms, centred and scaled
 * (Irwin-Hall).  Only + and *, so identical everywhere; tails stop at +-4.24.
 */
static inline double
rng_normal(Rng *r)
{
	double		sum = 0.0;

	for (int i = 0; i < 6; i++)
		sum += rng_uniform(r);
	return (sum - 3.0) * M_SQRT2;
}

/*
 * Poisson(lambda): Knuth's product of uniforms below 30, a rounded normal
 * approximation above (skewness under 0.19 there).
 */
static int64
rng_poisson(Rng *r, double lambda)
{
	if (lambda <= 0.0)
		return 0;
	if (lambda < 30.0)
	{
		double		limit = exp(-lambda);
		double		p = 1.0;
		int64		k = -1;

		do
		{
			k++;
			p *= rng_uniform(r);
		} while (p > limit);
		return k;
	}
	else
	{
		double		x = floor(lambda + sqrt(lambda) * rng_normal(r) + 0.5);

		return x < 0.0 ? 0 : (int64) x;
	}
}

/* ------------------------------------------------------------------------
 * The demand model's fixed tables.
 * ------------------------------------------------------------------------
 */
enum
{
	GROUP_FOOD,
	GROUP_TREATS,				/* beverages and snacks */
	GROUP_NONFOOD,
	NGROUPS
};

typedef struct CategoryModel
{
	const char *name;
	int			group;
	double		weekly[7];		/* Sunday .. Saturday */
	double		annual_amplitude;
	int			annual_peak_doy;	/* day of year of the annual peak */
	double		noise_sigma;	/* sd of the log of the daily demand shock */
} CategoryModel;

#define NCATEGORIES 10

static const CategoryModel categories[NCATEGORIES] = {
	{"Produce", GROUP_FOOD, {1.25, 0.85, 0.80, 0.85, 0.95, 1.10, 1.30}, 0.12, 190, 0.20},
	{"Dairy", GROUP_FOOD, {1.05, 0.95, 0.95, 1.00, 1.00, 1.00, 1.05}, 0.05, 350, 0.12},
	{"Bakery", GROUP_FOOD, {1.30, 0.85, 0.80, 0.85, 0.90, 1.05, 1.35}, 0.15, 355, 0.18},
	{"Meat", GROUP_FOOD, {1.20, 0.80, 0.80, 0.85, 0.95, 1.20, 1.35}, 0.12, 185, 0.22},
	{"Grocery", GROUP_FOOD, {1.10, 0.95, 0.90, 0.95, 1.00, 1.00, 1.10}, 0.08, 340, 0.12},
	{"Frozen", GROUP_FOOD, {1.10, 0.95, 0.90, 0.95, 1.00, 1.00, 1.10}, 0.22, 200, 0.15},
	{"Beverages", GROUP_TREATS, {1.05, 0.85, 0.85, 0.90, 1.00, 1.30, 1.40}, 0.25, 195, 0.20},
	{"Household", GROUP_NONFOOD, {1.15, 0.90, 0.90, 0.90, 0.95, 1.00, 1.20}, 0.06, 100, 0.25},
	{"Health & Beauty", GROUP_NONFOOD, {1.00, 1.00, 0.95, 1.00, 1.00, 1.00, 1.05}, 0.18, 352, 0.25},
	{"Snacks", GROUP_TREATS, {1.10, 0.85, 0.85, 0.90, 1.00, 1.25, 1.40}, 0.10, 350, 0.20},
};

/* Demand multiplier of each holiday of calendar_us.c, per category group. */
static const double holiday_lift[US_HOLIDAY_COUNT][NGROUPS] = {
	[US_HOLIDAY_NONE] = {1.00, 1.00, 1.00},
	[US_HOLIDAY_NEW_YEARS_DAY] = {0.70, 0.90, 0.60},
	[US_HOLIDAY_MLK_DAY] = {1.05, 1.05, 1.05},
	[US_HOLIDAY_SUPER_BOWL] = {1.10, 1.70, 0.95},
	[US_HOLIDAY_VALENTINES_DAY] = {1.10, 1.25, 1.20},
	[US_HOLIDAY_PRESIDENTS_DAY] = {1.05, 1.05, 1.10},
	[US_HOLIDAY_EASTER_SATURDAY] = {1.40, 1.30, 1.10},
	[US_HOLIDAY_EASTER_SUNDAY] = {0.70, 0.80, 0.60},
	[US_HOLIDAY_MOTHERS_DAY] = {1.15, 1.10, 1.25},
	[US_HOLIDAY_MEMORIAL_DAY] = {1.30, 1.50, 1.10},
	[US_HOLIDAY_FATHERS_DAY] = {1.15, 1.25, 1.10},
	[US_HOLIDAY_INDEPENDENCE_DAY] = {1.35, 1.70, 0.90},
	[US_HOLIDAY_LABOR_DAY] = {1.25, 1.45, 1.05},
	[US_HOLIDAY_COLUMBUS_DAY] = {1.00, 1.00, 1.05},
	[US_HOLIDAY_HALLOWEEN] = {1.05, 1.80, 1.10},
	[US_HOLIDAY_THANKSGIVING] = {0.55, 0.60, 0.40},
	[US_HOLIDAY_BLACK_FRIDAY] = {1.20, 1.20, 2.20},
	[US_HOLIDAY_CYBER_MONDAY] = {1.00, 1.00, 1.20},
	[US_HOLIDAY_CHRISTMAS_DAY] = {0.30, 0.35, 0.25},
	[US_HOLIDAY_NEW_YEARS_EVE] = {1.30, 1.90, 0.90},
};

/* Days that move demand without being holidays of the calendar. */
static const double thanksgiving_eve_lift[NGROUPS] = {1.80, 1.40, 1.00};
static const double christmas_eve_lift[NGROUPS] = {1.60, 1.50, 1.40};
static const double pre_christmas_lift[NGROUPS] = {1.10, 1.10, 1.35};	/* Dec 18-23 */

/* Traits of one product, drawn from its own stream. */
typedef struct ProductTraits
{
	int			category;
	double		base;			/* mean units per store-day before multipliers */
	bool		intermittent;
	double		occurrence;		/* intermittent: chance a day has any demand */
	int			cost_cents;
	int			price_cents;
	int			promo_gap;		/* mean days between promotion starts */
	Rng			promo_stream;	/* the product's stream after its traits */
} ProductTraits;

typedef struct StoreTraits
{
	double		size;			/* demand multiplier */
	double		trend;			/* growth per year, fraction */
	double		stockout_rate;	/* chance per day that a stockout run starts */
} StoreTraits;

static void
draw_product(Rng *r, ProductTraits *p)
{
	double		cost;
	double		markup;

	p->category = rng_int(r, 0, NCATEGORIES - 1);
	/* log-normal level: median 1.6 units/day, a long right tail */
	p->base = exp(log(1.6) + 1.0 * rng_normal(r));
	/* slow movers are more often intermittent */
	p->intermittent = rng_uniform(r) < (p->base < 0.8 ? 0.50 : 0.20);
	p->occurrence = 0.10 + 0.35 * rng_uniform(r);
	cost = exp(log(0.50) + rng_uniform(r) * (log(40.0) - log(0.50)));
	p->cost_cents = (int) floor(cost * 100.0 + 0.5);
	p->cost_cents = Max(50, Min(4000, p->cost_cents));
	markup = 1.2 + 1.3 * rng_uniform(r);
	p->price_cents = (int) floor(p->cost_cents * markup + 0.5);
	/* dearer products sell fewer units */
	p->base *= exp(-0.25 * log(p->cost_cents / 500.0));
	p->promo_gap = rng_int(r, 30, 120);
	p->promo_stream = *r;
}

static void
draw_store(Rng *r, StoreTraits *s)
{
	s->size = exp(0.35 * rng_normal(r));
	s->trend = -0.08 + 0.20 * rng_uniform(r);
	s->stockout_rate = 0.002 + 0.010 * rng_uniform(r);
}

/*
 * Promotion windows of a product over the days: 3-10 day windows with a lift
 * of 1.3-2.5, gaps around the product's promo_gap.  lift[t] is 1 outside.
 */
static void
draw_promotions(Rng *r, const ProductTraits *p, int days, double *lift)
{
	int			start;

	for (int t = 0; t < days; t++)
		lift[t] = 1.0;
	start = rng_int(r, 0, p->promo_gap);
	while (start < days)
	{
		int			len = rng_int(r, 3, 10);
		double		l = 1.3 + 1.2 * rng_uniform(r);

		for (int t = start; t < start + len && t < days; t++)
			lift[t] = l;
		start += len + rng_int(r, p->promo_gap / 2, p->promo_gap * 3 / 2);
	}
}

/* ------------------------------------------------------------------------
 * Checksum: 64-bit FNV-1a over the canonical row lines.
 * ------------------------------------------------------------------------
 */
#define FNV64_OFFSET UINT64CONST(0xcbf29ce484222325)
#define FNV64_PRIME  UINT64CONST(0x100000001b3)

static inline uint64
fnv1a(uint64 h, const char *buf, int len)
{
	for (int i = 0; i < len; i++)
	{
		h ^= (unsigned char) buf[i];
		h *= FNV64_PRIME;
	}
	return h;
}

static inline char *
put_str(char *p, const char *s, int len)
{
	memcpy(p, s, len);
	return p + len;
}

static inline char *
put_uint(char *p, uint64 v)
{
	char		tmp[24];
	int			n = 0;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static inline char *
put_cents(char *p, int cents)
{
	p = put_uint(p, (uint64) (cents / 100));
	*p++ = '.';
	*p++ = (char) ('0' + (cents % 100) / 10);
	*p++ = (char) ('0' + cents % 10);
	return p;
}

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------
 */
static bool
valid_ident(const char *s)
{
	int			len = strlen(s);

	if (len < 1 || len > 128)
		return false;
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];
		bool		alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || strchr("_.:@-", c) == NULL))
			return false;
	}
	return true;
}

static void
check_range(const char *name, int value, int lo, int hi)
{
	if (value < lo || value > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, got %d", name, lo, hi, value)));
}

static int
digits(int n)
{
	int			d = 1;

	while (n >= 10)
	{
		n /= 10;
		d++;
	}
	return d;
}

static text *
make_id(char prefix, int width, int n)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%c%0*d", prefix, width, n);
	return cstring_to_text(buf);
}

/* ------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------
 */
typedef struct GenResult
{
	uint64		rows;
	uint64		checksum;
	uint64		zero_rows;
	uint64		promo_rows;
} GenResult;

static void
generate_rows(const char *tenant, const char *dataset, int nstores, int nproducts,
			  int ndays, int32 seed, DateADT start, GenResult *res)
{
	MemoryContext gen_cxt;
	MemoryContext old;
	SalesWriter *w;
	int			store_width = Max(3, digits(nstores));
	int			product_width = Max(4, digits(nproducts));
	char	  (*date_str)[11];
	UsHoliday  *holiday;
	double	   *day_mult;		/* [t * NCATEGORIES + c] */
	double	   *trend_t;		/* t / 365 */
	double	   *lift;
	ProductTraits *products;
	text	  **product_text;
	text	   *category_text[NCATEGORIES];
	text	   *holiday_text[US_HOLIDAY_COUNT];
	uint64		h = FNV64_OFFSET;

	gen_cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops synthetic",
									ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(gen_cxt);

	/* Per-day tables: date text, holiday, and the category multipliers. */
	date_str = palloc(sizeof(*date_str) * ndays);
	holiday = palloc(sizeof(UsHoliday) * ndays);
	day_mult = palloc(sizeof(double) * ndays * NCATEGORIES);
	trend_t = palloc(sizeof(double) * ndays);
	lift = palloc(sizeof(double) * ndays);
	for (int t = 0; t < ndays; t++)
	{
		int			jd = start + t + POSTGRES_EPOCH_JDATE;
		int			y,
					m,
					d,
					dow,
					doy;
		const double *event;

		j2date(jd, &y, &m, &d);
		dow = j2day(jd);
		doy = jd - date2j(y, 1, 1) + 1;
		snprintf(date_str[t], sizeof(date_str[t]), "%04d-%02d-%02d", y, m, d);
		holiday[t] = us_retail_holiday_of(start + t);
		trend_t[t] = t / 365.0;

		event = holiday_lift[holiday[t]];
		if (us_retail_holiday_of(start + t + 1) == US_HOLIDAY_THANKSGIVING)
			event = thanksgiving_eve_lift;
		else if (m == 12 && d == 24)
			event = christmas_eve_lift;
		else if (m == 12 && d >= 18 && d <= 23)
			event = pre_christmas_lift;

		for (int c = 0; c < NCATEGORIES; c++)
		{
			const CategoryModel *cm = &categories[c];
			double		annual = 1.0 + cm->annual_amplitude *
				cos(2.0 * M_PI * (doy - cm->annual_peak_doy) / 365.25);

			day_mult[t * NCATEGORIES + c] = cm->weekly[dow] * annual * event[cm->group];
		}
	}

	/* Product traits depend on (seed, product) only. */
	products = palloc(sizeof(ProductTraits) * nproducts);
	product_text = palloc(sizeof(text *) * nproducts);
	for (int j = 0; j < nproducts; j++)
	{
		Rng			r;

		rng_init(&r, STREAM_PRODUCT, seed, (uint32) (j + 1), 0);
		draw_product(&r, &products[j]);
		product_text[j] = make_id('P', product_width, j + 1);
	}
	for (int c = 0; c < NCATEGORIES; c++)
		category_text[c] = cstring_to_text(categories[c].name);
	for (int k = 0; k < US_HOLIDAY_COUNT; k++)
		holiday_text[k] = k == US_HOLIDAY_NONE ? NULL :
			cstring_to_text(us_retail_holiday_name((UsHoliday) k));

	memset(res, 0, sizeof(*res));
	w = sales_writer_begin(tenant, dataset);

	for (int s = 0; s < nstores; s++)
	{
		StoreTraits st;
		Rng			sr;
		text	   *store_text = make_id('S', store_width, s + 1);
		const char *store_str = VARDATA(store_text);
		int			store_len = VARSIZE(store_text) - VARHDRSZ;

		rng_init(&sr, STREAM_STORE, seed, (uint32) (s + 1), 0);
		draw_store(&sr, &st);

		for (int j = 0; j < nproducts; j++)
		{
			const ProductTraits *p = &products[j];
			const CategoryModel *cm = &categories[p->category];
			Rng			pr;
			Rng			r;
			double		level;
			double		sigma = cm->noise_sigma;
			double		shock_shift = -0.5 * sigma * sigma;
			int			stockout_left = 0;
			char		prefix[64];
			char	   *pp = prefix;
			char		suffix[96];
			char	   *sp = suffix;
			int			prefix_len,
						suffix_len;
			float8		cost = p->cost_cents / 100.0;
			float8		price = p->price_cents / 100.0;

			CHECK_FOR_INTERRUPTS();

			/* promotions continue the product's stream after its traits */
			pr = p->promo_stream;
			draw_promotions(&pr, p, ndays, lift);

			rng_init(&r, STREAM_SERIES, seed, (uint32) (s + 1), (uint32) (j + 1));
			level = p->base * st.size * exp(0.25 * rng_normal(&r) - 0.03125);

			/* the constant parts of this series' checksum lines */
			pp = put_str(pp, store_str, store_len);
			*pp++ = '|';
			pp = put_str(pp, VARDATA(product_text[j]), VARSIZE(product_text[j]) - VARHDRSZ);
			*pp++ = '|';
			prefix_len = pp - prefix;
			*sp++ = '|';
			sp = put_str(sp, cm->name, strlen(cm->name));
			*sp++ = '|';
			suffix_len = sp - suffix;

			for (int t = 0; t < ndays; t++)
			{
				double		shock = exp(sigma * rng_normal(&r) + shock_shift);
				double		u_occur = rng_uniform(&r);
				double		u_stockout = rng_uniform(&r);
				bool		promo = lift[t] > 1.0;
				double		mean;
				int64		qty;
				char		line[160];
				char	   *lp;
				const char *hname;

				mean = level * day_mult[t * NCATEGORIES + p->category] *
					(1.0 + st.trend * trend_t[t]) * lift[t] * shock;
				if (p->intermittent)
					mean = u_occur < p->occurrence ? mean / p->occurrence : 0.0;
				/* round the mean to 1/1024 so ulp-level differences cannot matter */
				mean = floor(mean * 1024.0 + 0.5) / 1024.0;
				qty = rng_poisson(&r, mean);

				/* stockouts: runs of 1-7 days selling nothing whatever the demand */
				if (stockout_left > 0)
				{
					stockout_left--;
					qty = 0;
				}
				else if (u_stockout < st.stockout_rate * (promo ? 3.0 : 1.0))
				{
					stockout_left = rng_int(&r, 1, 7) - 1;
					qty = 0;
				}

				sales_writer_row_init(w);
				w->values[SALES_STORE_ID] = PointerGetDatum(store_text);
				w->nulls[SALES_STORE_ID] = false;
				w->values[SALES_PRODUCT_ID] = PointerGetDatum(product_text[j]);
				w->nulls[SALES_PRODUCT_ID] = false;
				sales_set_date(w, SALES_SALE_DATE, start + t);
				sales_set_float8(w, SALES_QUANTITY, (float8) qty);
				w->values[SALES_CATEGORY] = PointerGetDatum(category_text[p->category]);
				w->nulls[SALES_CATEGORY] = false;
				sales_set_float8(w, SALES_PROMO_COUNT, promo ? 1.0 : 0.0);
				sales_set_bool(w, SALES_IS_PROMOTIONAL, promo);
				sales_set_bool(w, SALES_IS_HOLIDAY, holiday[t] != US_HOLIDAY_NONE);
				if (holiday[t] != US_HOLIDAY_NONE)
				{
					w->values[SALES_HOLIDAY_TYPE] = PointerGetDatum(holiday_text[holiday[t]]);
					w->nulls[SALES_HOLIDAY_TYPE] = false;
				}
				sales_set_bool(w, SALES_IS_OPEN, true);
				sales_set_float8(w, SALES_UNIT_COST, cost);
				sales_set_float8(w, SALES_UNIT_PRICE, price);
				sales_writer_add(w);

				/* checksum line */
				lp = put_str(line, prefix, prefix_len);
				lp = put_str(lp, date_str[t], 10);
				*lp++ = '|';
				lp = put_uint(lp, (uint64) qty);
				lp = put_str(lp, suffix, suffix_len);
				*lp++ = promo ? '1' : '0';
				*lp++ = '|';
				*lp++ = promo ? 't' : 'f';
				*lp++ = '|';
				hname = us_retail_holiday_name(holiday[t]);
				if (hname)
				{
					lp = put_str(lp, "t|", 2);
					lp = put_str(lp, hname, strlen(hname));
				}
				else
					lp = put_str(lp, "f|", 2);
				lp = put_str(lp, "|t|", 3);
				lp = put_cents(lp, p->cost_cents);
				*lp++ = '|';
				lp = put_cents(lp, p->price_cents);
				*lp++ = '\n';
				h = fnv1a(h, line, lp - line);

				if (qty == 0)
					res->zero_rows++;
				if (promo)
					res->promo_rows++;
			}
		}
	}

	res->rows = sales_writer_end(w);
	res->checksum = h;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(gen_cxt);
}

/* ------------------------------------------------------------------------
 * SQL entry point
 * ------------------------------------------------------------------------
 */
static void
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "shelfops_generate_synthetic: \"%s\" failed: %s",
			 sql, SPI_result_code_string(rc));
}

Datum
shelfops_generate_synthetic(PG_FUNCTION_ARGS)
{
	static const char *const argnames[] = {"dataset_id", "stores", "products", "days", "seed", "start_date"};
	char	   *dataset;
	const char *tenant;
	int32		nstores,
				nproducts,
				ndays,
				seed;
	DateADT		start;
	int64		total;
	instr_time	t0,
				t1;
	GenResult	res;
	bool		replaced;
	double		seconds;
	char		checksum[17];
	Datum		result;
	MemoryContext caller_cxt = CurrentMemoryContext;

	INSTR_TIME_SET_CURRENT(t0);

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", argnames[i])));
	dataset = text_to_cstring(PG_GETARG_TEXT_PP(0));
	nstores = PG_GETARG_INT32(1);
	nproducts = PG_GETARG_INT32(2);
	ndays = PG_GETARG_INT32(3);
	seed = PG_GETARG_INT32(4);
	start = PG_GETARG_DATEADT(5);
	tenant = PG_ARGISNULL(6) ? shelfops_default_tenant() : text_to_cstring(PG_GETARG_TEXT_PP(6));

	if (!valid_ident(dataset))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid dataset_id \"%s\"", dataset),
				 errdetail("Identifiers are 1 to 128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit.")));
	if (!valid_ident(tenant))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant_id \"%s\"", tenant),
				 errdetail("Identifiers are 1 to 128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit.")));
	check_range("stores", nstores, 1, SYNTH_MAX_STORES);
	check_range("products", nproducts, 1, SYNTH_MAX_PRODUCTS);
	check_range("days", ndays, SYNTH_MIN_DAYS, SYNTH_MAX_DAYS);
	total = (int64) nstores * nproducts * ndays;
	if (total > SYNTH_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stores * products * days must be at most " INT64_FORMAT ", got " INT64_FORMAT,
						SYNTH_MAX_ROWS, total),
				 errdetail("stores = %d, products = %d, days = %d.", nstores, nproducts, ndays)));
	if (DATE_NOT_FINITE(start) ||
		start < date2j(1900, 1, 1) - POSTGRES_EPOCH_JDATE ||
		start > date2j(2999, 12, 31) - POSTGRES_EPOCH_JDATE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_date must be between 1900-01-01 and 2999-12-31, got %s",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(start))))));

	/*
	 * Row-level security applies to this caller: it may write only its
	 * session's tenant (say so before deleting or inserting anything).
	 */
	if (strcmp(tenant, shelfops_default_tenant()) != 0 &&
		check_enable_rls(get_relname_relid("datasets", get_namespace_oid("shelfops", false)),
						 InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot generate a dataset of tenant \"%s\" from a session of tenant \"%s\"",
						tenant, shelfops_default_tenant()),
				 errhint("SET shelfops.tenant_id = '%s' first.", tenant)));

	/*
	 * Replace any dataset of that id atomically: one generator per (tenant,
	 * dataset) at a time, then delete and write in this transaction.
	 */
	SPI_connect();
	{
		Oid			types[8] = {TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID, DATEOID, BOOLOID};
		Datum		values[8];

		values[0] = CStringGetTextDatum(tenant);
		values[1] = CStringGetTextDatum(dataset);
		spi_exec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
				 "'shelfops_generate_synthetic/' || $1 || '/' || $2, 0))",
				 2, types, values, NULL, SPI_OK_SELECT);
		/* the old rows: their partition is emptied, not deleted row by row */
		sales_discard_dataset(tenant, dataset);
		spi_exec("DELETE FROM shelfops.datasets WHERE tenant_id = $1 AND dataset_id = $2",
				 2, types, values, NULL, SPI_OK_DELETE);
		replaced = SPI_processed > 0;

		values[2] = Int32GetDatum(nstores);
		values[3] = Int32GetDatum(nproducts);
		values[4] = Int32GetDatum(ndays);
		values[5] = Int32GetDatum(seed);
		values[6] = DateADTGetDatum(start);
		values[7] = BoolGetDatum(replaced);
		spi_exec("INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, "
				 "country_code, grain, target_unit, source_path, source_files, load_report) "
				 "VALUES ($1, $2, 'synthetic', 'daily', 'US', 'store x product x day', 'units', "
				 "NULL, '[]', jsonb_build_object("
				 "'generator', 'shelfops_generate_synthetic', "
				 "'model_version', " CppAsString2(SYNTH_MODEL_VERSION) ", "
				 "'arguments', jsonb_build_object('stores', $3, 'products', $4, 'days', $5, "
				 "'seed', $6, 'start_date', $7), "
				 "'replaced_existing', $8))",
				 8, types, values, NULL, SPI_OK_INSERT);
	}
	SPI_finish();

	generate_rows(tenant, dataset, nstores, nproducts, ndays, seed, start, &res);

	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	seconds = floor(INSTR_TIME_GET_DOUBLE(t1) * 1000.0 + 0.5) / 1000.0;
	snprintf(checksum, sizeof(checksum), "%016" INT64_MODIFIER "x", res.checksum);

	SPI_connect();
	{
		Oid			types[11] = {TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID, INT4OID,
		DATEOID, DATEOID, TEXTOID, FLOAT8OID, FLOAT8OID};
		Datum		values[11];
		bool		isnull;

		values[0] = CStringGetTextDatum(tenant);
		values[1] = CStringGetTextDatum(dataset);
		values[2] = Int64GetDatum((int64) res.rows);
		values[3] = Int32GetDatum(nstores);
		values[4] = Int32GetDatum(nproducts);
		values[5] = Int32GetDatum(nstores * nproducts);
		values[6] = DateADTGetDatum(start);
		values[7] = DateADTGetDatum(start + ndays - 1);
		values[8] = CStringGetTextDatum(checksum);
		values[9] = Float8GetDatum(seconds);
		values[10] = Float8GetDatum(res.rows > 0 ? (double) res.zero_rows / res.rows : 0.0);
		spi_exec("UPDATE shelfops.datasets SET row_count = $3, store_count = $4, "
				 "product_count = $5, series_count = $6, date_min = $7, date_max = $8, "
				 "load_report = load_report || jsonb_build_object('rows', $3, "
				 "'checksum', $9, 'checksum_algorithm', 'fnv1a-64 over canonical row lines', "
				 "'zero_share', round($11::numeric, 4), 'seconds', $10) "
				 "WHERE tenant_id = $1 AND dataset_id = $2 "
				 "RETURNING jsonb_build_object('dataset_id', dataset_id, 'tenant_id', tenant_id, "
				 "'rows', row_count, 'stores', store_count, 'products', product_count, "
				 "'series', series_count, 'date_min', date_min, 'date_max', date_max, "
				 "'seconds', $10, 'checksum', $9)",
				 11, types, values, NULL, SPI_OK_UPDATE_RETURNING);
		if (SPI_processed != 1)
			elog(ERROR, "shelfops_generate_synthetic: dataset row of \"%s\" vanished", dataset);
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		{
			MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

			result = PointerGetDatum(PG_DETOAST_DATUM_COPY(result));
			MemoryContextSwitchTo(spi_cxt);
		}
	}
	SPI_finish();

	PG_RETURN_DATUM(result);
}
