/*
 * forest.c
 *	  Owns the flattened tree ensemble: a loaded XGBoost model's trees read
 *	  straight from its UBJSON payload into flat node arrays, and a predictor
 *	  over them that gives the same floats as XGBoost's CPU predictor.
 *
 * Why: forecasting every Rossmann series 42 days ahead scores 46,830 rows on
 * 300 trees of depth 8, and XGBoost's predictor walks one row down one tree at
 * a time with a data-dependent branch per level, so most of its time is branch
 * mispredictions.  Here the children of a node are adjacent (right = left + 1,
 * renumbered breadth-first), leaves point to themselves, and every tree is
 * walked for a block of rows level by level without branches: the rows'
 * walks are independent, so the processor overlaps them.
 *
 * Same floats as XGBoost's CPU predictor (Debian's 1.7.4; inplace, missing = NaN): a NaN
 * feature takes the node's default child, else fvalue < split_condition goes
 * left; the output starts at base_score and adds each tree's leaf value in
 * tree order in float.  Only what that covers is accepted: gbtree, one output
 * group, objective reg:squarederror (identity transform), numerical splits.
 * Anything else (or a payload this reader does not understand) gives NULL and
 * the caller keeps XGBoost's predictor.  test/sql/forecast_covariates.sql
 * checks equality with XGBoost on every forecast row.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "forest.h"

#define FOREST_BLOCK 64			/* rows walked together */
#define FOREST_MAX_DEPTH 64

/* One node, 12 bytes: what a step down the tree reads, in one cache line. */
typedef struct ForestNode
{
	int32		left;			/* left child (right = left + 1); leaves: self */
	float		cond;			/* split condition; leaves NaN (never >=) */
	uint16		feature;		/* split feature; leaves 0 */
	uint8		default_right;	/* 1 when a missing value goes right */
	uint8		pad;
} ForestNode;

struct Forest
{
	int			ntrees;
	int			nnodes;
	int			nfeatures;
	float		base_score;
	int32	   *root;			/* [ntrees] index of the tree's root */
	int32	   *depth;			/* [ntrees] levels to walk */
	ForestNode *node;			/* [nnodes] */
	float	   *value;			/* [nnodes] leaf value */
};

/* ---------------------------------------------------------------------------
 * a small UBJSON reader (the subset XGBoost writes)
 * ------------------------------------------------------------------------- */

typedef struct Ubj
{
	const uint8 *p;
	const uint8 *end;
	bool		bad;
} Ubj;

static bool
ubj_need(Ubj *u, size_t n)
{
	if (u->bad || (size_t) (u->end - u->p) < n)
	{
		u->bad = true;
		return false;
	}
	return true;
}

static int
ubj_byte(Ubj *u)
{
	if (!ubj_need(u, 1))
		return -1;
	return *u->p++;
}

static int
ubj_peek(Ubj *u)
{
	if (!ubj_need(u, 1))
		return -1;
	return *u->p;
}

static uint64
ubj_be(Ubj *u, int n)
{
	uint64		v = 0;

	if (!ubj_need(u, n))
		return 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | u->p[i];
	u->p += n;
	return v;
}

/* An integer after its marker. */
static int64
ubj_int_of(Ubj *u, int marker)
{
	switch (marker)
	{
		case 'i':
			return (int8) ubj_be(u, 1);
		case 'U':
			return (uint8) ubj_be(u, 1);
		case 'I':
			return (int16) ubj_be(u, 2);
		case 'l':
			return (int32) ubj_be(u, 4);
		case 'L':
			return (int64) ubj_be(u, 8);
		default:
			u->bad = true;
			return 0;
	}
}

/* A length (marker and value), checked against the bytes left. */
static size_t
ubj_len(Ubj *u)
{
	int64		n = ubj_int_of(u, ubj_byte(u));

	if (u->bad || n < 0 || n > (int64) (u->end - u->p) * 8 + 8)
	{
		u->bad = true;
		return 0;
	}
	return (size_t) n;
}

static int
ubj_type_size(int t)
{
	switch (t)
	{
		case 'i':
		case 'U':
		case 'C':
		case 'T':
		case 'F':
		case 'Z':
			return 1;
		case 'I':
			return 2;
		case 'l':
		case 'd':
			return 4;
		case 'L':
		case 'D':
			return 8;
		default:
			return -1;
	}
}

static void ubj_skip_value(Ubj *u, int marker, int level);

static void
ubj_skip_container(Ubj *u, bool object, int level)
{
	int			close = object ? '}' : ']';

	if (level > 32)
	{
		u->bad = true;
		return;
	}
	if (ubj_peek(u) == '$')
	{
		int			t;
		size_t		n;
		int			size;

		u->p++;
		t = ubj_byte(u);
		if (ubj_byte(u) != '#')
		{
			u->bad = true;
			return;
		}
		n = ubj_len(u);
		size = ubj_type_size(t);
		if (object || size < 0 || !ubj_need(u, n * size))
		{
			u->bad = true;
			return;
		}
		u->p += n * size;
		return;
	}
	if (ubj_peek(u) == '#')
	{
		/* counted container: n elements, no closing marker */
		size_t		n;

		u->p++;
		n = ubj_len(u);
		for (size_t i = 0; i < n && !u->bad; i++)
		{
			if (object)
			{
				size_t		klen = ubj_len(u);

				if (!ubj_need(u, klen))
					return;
				u->p += klen;
			}
			ubj_skip_value(u, ubj_byte(u), level + 1);
		}
		return;
	}
	while (!u->bad && ubj_peek(u) != close)
	{
		if (object)
		{
			size_t		klen = ubj_len(u);

			if (!ubj_need(u, klen))
				return;
			u->p += klen;
		}
		ubj_skip_value(u, ubj_byte(u), level + 1);
	}
	u->p++;
}

static void
ubj_skip_value(Ubj *u, int marker, int level)
{
	switch (marker)
	{
		case '{':
			ubj_skip_container(u, true, level);
			break;
		case '[':
			ubj_skip_container(u, false, level);
			break;
		case 'S':
		case 'H':
			{
				size_t		n = ubj_len(u);

				if (ubj_need(u, n))
					u->p += n;
			}
			break;
		case 'T':
		case 'F':
		case 'Z':
		case 'N':
			break;
		default:
			{
				int			size = ubj_type_size(marker);

				if (size < 0 || !ubj_need(u, size))
					u->bad = true;
				else
					u->p += size;
			}
	}
}

/* The next key of an object, or false at its closing '}' (consumed). */
static bool
ubj_key(Ubj *u, const char **key, size_t *klen)
{
	if (ubj_peek(u) == '}')
	{
		u->p++;
		return false;
	}
	*klen = ubj_len(u);
	if (!ubj_need(u, *klen))
		return false;
	*key = (const char *) u->p;
	u->p += *klen;
	return !u->bad;
}

static bool
key_is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

/* A string value into buf (truncated to bufsize - 1). */
static void
ubj_string(Ubj *u, char *buf, size_t bufsize)
{
	size_t		n;

	if (ubj_byte(u) != 'S')
	{
		u->bad = true;
		return;
	}
	n = ubj_len(u);
	if (!ubj_need(u, n))
		return;
	memcpy(buf, u->p, Min(n, bufsize - 1));
	buf[Min(n, bufsize - 1)] = '\0';
	u->p += n;
}

/* A typed array ([$t#n) of type t: its count and first byte. */
static const uint8 *
ubj_typed_array(Ubj *u, int type, size_t *n)
{
	const uint8 *data;

	if (ubj_byte(u) != '[' || ubj_byte(u) != '$' || ubj_byte(u) != type || ubj_byte(u) != '#')
	{
		u->bad = true;
		return NULL;
	}
	*n = ubj_len(u);
	if (!ubj_need(u, *n * ubj_type_size(type)))
		return NULL;
	data = u->p;
	u->p += *n * ubj_type_size(type);
	return data;
}

static int32
be_i32(const uint8 *p)
{
	return (int32) (((uint32) p[0] << 24) | ((uint32) p[1] << 16) | ((uint32) p[2] << 8) | p[3]);
}

static float
be_f32(const uint8 *p)
{
	uint32		b = (uint32) be_i32(p);
	float		f;

	memcpy(&f, &b, sizeof(f));
	return f;
}

/* ---------------------------------------------------------------------------
 * reading the model
 * ------------------------------------------------------------------------- */

typedef struct RawTree
{
	size_t		n;
	const uint8 *left;			/* int32 BE */
	const uint8 *right;
	const uint8 *split_index;
	const uint8 *split_cond;	/* float32 BE */
	const uint8 *default_left;	/* uint8 */
	const uint8 *split_type;	/* uint8 */
	size_t		n_left,
				n_right,
				n_index,
				n_cond,
				n_default,
				n_type;
} RawTree;

typedef struct RawModel
{
	int			ntrees;
	int			cap;
	RawTree    *trees;
	char		booster[32];
	char		objective[64];
	char		base_score[64];
	char		num_class[32];
	char		num_feature[32];
	char		num_target[32];
} RawModel;

static void
read_tree(Ubj *u, RawTree *t)
{
	const char *key;
	size_t		klen;

	if (ubj_byte(u) != '{')
	{
		u->bad = true;
		return;
	}
	while (!u->bad && ubj_key(u, &key, &klen))
	{
		if (key_is(key, klen, "left_children"))
			t->left = ubj_typed_array(u, 'l', &t->n_left);
		else if (key_is(key, klen, "right_children"))
			t->right = ubj_typed_array(u, 'l', &t->n_right);
		else if (key_is(key, klen, "split_indices"))
			t->split_index = ubj_typed_array(u, 'l', &t->n_index);
		else if (key_is(key, klen, "split_conditions"))
			t->split_cond = ubj_typed_array(u, 'd', &t->n_cond);
		else if (key_is(key, klen, "default_left"))
			t->default_left = ubj_typed_array(u, 'U', &t->n_default);
		else if (key_is(key, klen, "split_type"))
			t->split_type = ubj_typed_array(u, 'U', &t->n_type);
		else
			ubj_skip_value(u, ubj_byte(u), 1);
	}
	t->n = t->n_left;
	if (t->left == NULL || t->right == NULL || t->split_index == NULL || t->split_cond == NULL ||
		t->default_left == NULL || t->split_type == NULL || t->n == 0 ||
		t->n_right != t->n || t->n_index != t->n || t->n_cond != t->n ||
		t->n_default != t->n || t->n_type != t->n)
		u->bad = true;
}

static void
read_model_object(Ubj *u, RawModel *m)
{
	const char *key;
	size_t		klen;

	if (ubj_byte(u) != '{')
	{
		u->bad = true;
		return;
	}
	while (!u->bad && ubj_key(u, &key, &klen))
	{
		if (key_is(key, klen, "trees"))
		{
			int64		count = -1;	/* counted array ([#n): no closing ']' */

			if (ubj_byte(u) != '[')
			{
				u->bad = true;
				return;
			}
			if (ubj_peek(u) == '#')
			{
				u->p++;
				count = (int64) ubj_len(u);
			}
			while (!u->bad && (count >= 0 ? m->ntrees < count : ubj_peek(u) != ']'))
			{
				if (m->ntrees == m->cap)
				{
					m->cap = m->cap ? m->cap * 2 : 64;
					m->trees = m->trees ? repalloc(m->trees, m->cap * sizeof(RawTree))
						: palloc(m->cap * sizeof(RawTree));
				}
				memset(&m->trees[m->ntrees], 0, sizeof(RawTree));
				read_tree(u, &m->trees[m->ntrees++]);
			}
			if (count < 0)
				u->p++;
		}
		else
			ubj_skip_value(u, ubj_byte(u), 1);
	}
}

static void
read_learner(Ubj *u, RawModel *m)
{
	const char *key;
	size_t		klen;

	if (ubj_byte(u) != '{')
	{
		u->bad = true;
		return;
	}
	while (!u->bad && ubj_key(u, &key, &klen))
	{
		if (key_is(key, klen, "gradient_booster"))
		{
			if (ubj_byte(u) != '{')
			{
				u->bad = true;
				return;
			}
			while (!u->bad && ubj_key(u, &key, &klen))
			{
				if (key_is(key, klen, "model"))
					read_model_object(u, m);
				else if (key_is(key, klen, "name"))
					ubj_string(u, m->booster, sizeof(m->booster));
				else
					ubj_skip_value(u, ubj_byte(u), 2);
			}
		}
		else if (key_is(key, klen, "learner_model_param"))
		{
			if (ubj_byte(u) != '{')
			{
				u->bad = true;
				return;
			}
			while (!u->bad && ubj_key(u, &key, &klen))
			{
				if (key_is(key, klen, "base_score"))
					ubj_string(u, m->base_score, sizeof(m->base_score));
				else if (key_is(key, klen, "num_class"))
					ubj_string(u, m->num_class, sizeof(m->num_class));
				else if (key_is(key, klen, "num_feature"))
					ubj_string(u, m->num_feature, sizeof(m->num_feature));
				else if (key_is(key, klen, "num_target"))
					ubj_string(u, m->num_target, sizeof(m->num_target));
				else
					ubj_skip_value(u, ubj_byte(u), 2);
			}
		}
		else if (key_is(key, klen, "objective"))
		{
			if (ubj_byte(u) != '{')
			{
				u->bad = true;
				return;
			}
			while (!u->bad && ubj_key(u, &key, &klen))
			{
				if (key_is(key, klen, "name"))
					ubj_string(u, m->objective, sizeof(m->objective));
				else
					ubj_skip_value(u, ubj_byte(u), 2);
			}
		}
		else
			ubj_skip_value(u, ubj_byte(u), 1);
	}
}

static bool
parse_int_text(const char *s, long lo, long hi, long *out)
{
	char	   *end;
	long		v;

	if (s[0] == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/*
 * Lay one tree into the forest from node offset `at`: breadth first, so the
 * two children of a node are adjacent.  false when the tree is malformed.
 */
static bool
flatten_tree(Forest *f, const RawTree *t, int at, int *depth_out)
{
	int			n = (int) t->n;
	int32	   *queue = palloc(sizeof(int32) * n);	/* old ids, in new order */
	int32	   *level = palloc(sizeof(int32) * n);
	int			head = 0,
				tail = 0;
	int			depth = 0;
	bool		ok = true;

	queue[tail] = 0;
	level[tail++] = 0;
	while (head < tail && ok)
	{
		int			old = queue[head];
		int			id = at + head;
		int32		lc = be_i32(t->left + 4 * old);
		int32		rc = be_i32(t->right + 4 * old);

		if (lc == -1 && rc == -1)
		{
			f->node[id].left = id;
			f->node[id].feature = 0;
			f->node[id].cond = get_float4_nan();
			f->node[id].default_right = 0;
			f->node[id].pad = 0;
			f->value[id] = be_f32(t->split_cond + 4 * old);
		}
		else
		{
			int32		si = be_i32(t->split_index + 4 * old);
			float		c = be_f32(t->split_cond + 4 * old);

			if (lc < 0 || rc < 0 || lc >= n || rc >= n || tail + 2 > n ||
				si < 0 || si >= f->nfeatures || isnan(c) || t->split_type[old] != 0 ||
				level[head] + 1 > FOREST_MAX_DEPTH)
			{
				ok = false;
				break;
			}
			f->node[id].left = at + tail;
			f->node[id].feature = (uint16) si;
			f->node[id].cond = c;
			f->node[id].default_right = t->default_left[old] ? 0 : 1;
			f->node[id].pad = 0;
			f->value[id] = 0;
			queue[tail] = lc;
			level[tail++] = level[head] + 1;
			queue[tail] = rc;
			level[tail++] = level[head] + 1;
			depth = Max(depth, level[head] + 1);
		}
		head++;
	}
	/* every node reached exactly once: a tree, not a graph with shared or lost nodes */
	if (ok && tail != n)
		ok = false;
	if (ok)
	{
		bool	   *seen = palloc0(n);

		for (int i = 0; i < tail && ok; i++)
		{
			if (seen[queue[i]])
				ok = false;
			seen[queue[i]] = true;
		}
		pfree(seen);
	}
	pfree(queue);
	pfree(level);
	*depth_out = depth;
	return ok;
}

Forest *
forest_from_xgboost_ubj(const char *payload, size_t len, MemoryContext cxt)
{
	Ubj			u = {(const uint8 *) payload, (const uint8 *) payload + len, false};
	RawModel	m;
	Forest	   *f;
	MemoryContext old;
	long		num_class,
				num_feature,
				num_target = 1;
	char	   *end;
	int64		nnodes = 0;
	int			at = 0;
	const char *key;
	size_t		klen;

	memset(&m, 0, sizeof(m));
	if (ubj_byte(&u) != '{')
		return NULL;
	while (!u.bad && ubj_key(&u, &key, &klen))
	{
		if (key_is(key, klen, "learner"))
			read_learner(&u, &m);
		else
			ubj_skip_value(&u, ubj_byte(&u), 1);
	}
	if (u.bad || m.ntrees == 0 ||
		strcmp(m.booster, "gbtree") != 0 ||
		strcmp(m.objective, "reg:squarederror") != 0 ||
		!parse_int_text(m.num_class, 0, 1, &num_class) ||
		!parse_int_text(m.num_feature, 1, PG_UINT16_MAX, &num_feature) ||
		(m.num_target[0] != '\0' && !parse_int_text(m.num_target, 1, 1, &num_target)))
		return NULL;
	for (int i = 0; i < m.ntrees; i++)
		nnodes += m.trees[i].n;
	if (nnodes > 100000000)
		return NULL;

	old = MemoryContextSwitchTo(cxt);
	f = palloc0(sizeof(Forest));
	errno = 0;
	f->base_score = strtof(m.base_score, &end);
	if (m.base_score[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(f->base_score))
	{
		MemoryContextSwitchTo(old);
		return NULL;
	}
	f->ntrees = m.ntrees;
	f->nnodes = (int) nnodes;
	f->nfeatures = (int) num_feature;
	f->root = palloc(sizeof(int32) * f->ntrees);
	f->depth = palloc(sizeof(int32) * f->ntrees);
	f->node = palloc(sizeof(ForestNode) * nnodes);
	f->value = palloc(sizeof(float) * nnodes);
	for (int i = 0; i < m.ntrees; i++)
	{
		f->root[i] = at;
		if (!flatten_tree(f, &m.trees[i], at, &f->depth[i]))
		{
			MemoryContextSwitchTo(old);
			forest_free(f);
			return NULL;
		}
		at += (int) m.trees[i].n;
	}
	MemoryContextSwitchTo(old);
	if (m.trees)
		pfree(m.trees);
	return f;
}

void
forest_free(Forest *f)
{
	pfree(f->root);
	pfree(f->depth);
	pfree(f->node);
	pfree(f->value);
	pfree(f);
}

int
forest_nfeatures(const Forest *f)
{
	return f->nfeatures;
}

void
forest_predict(const Forest *f, const float *X, int nrows, int ncols, double *out)
{
	const ForestNode *node = f->node;
	const float *value = f->value;

	Assert(ncols >= f->nfeatures);
	for (int start = 0; start < nrows; start += FOREST_BLOCK)
	{
		int			bn = Min(FOREST_BLOCK, nrows - start);
		const float *xb = X + (Size) start * ncols;
		float		acc[FOREST_BLOCK];
		int32		idx[FOREST_BLOCK];

		if ((start & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int r = 0; r < bn; r++)
			acc[r] = f->base_score;
		for (int t = 0; t < f->ntrees; t++)
		{
			int32		root = f->root[t];
			int			depth = f->depth[t];

			for (int r = 0; r < bn; r++)
				idx[r] = root;
			for (int l = 0; l < depth; l++)
			{
				for (int r = 0; r < bn; r++)
				{
					const ForestNode *nd = &node[idx[r]];
					float		v = xb[(Size) r * ncols + nd->feature];
					/* no branch: v >= cond is false for NaN, which takes the default */
					int			missing = (v != v);
					int			ge = (v >= nd->cond);

					idx[r] = nd->left + ge + (missing & nd->default_right);
				}
			}
			for (int r = 0; r < bn; r++)
				acc[r] += value[idx[r]];
		}
		for (int r = 0; r < bn; r++)
			out[start + r] = (double) acc[r];
	}
}
