/*
 * block.c
 *		The candidate pairs of a full linkage run, every blocking rule in one
 *		pass, compared (ptl_internal.link_candidates); and the pairs an
 *		incremental run looks at again (ptl_internal.link_window_delta, at
 *		the end of the file):
 *
 *		ptl_internal.link_candidates(records_sql text, block_window int,
 *									 max_block_size int)
 *		RETURNS TABLE (a bigint, b bigint, rules int, gamma bigint,
 *					   same_nhs boolean, given_a text, family_a text, given_b text,
 *					   rule_no int, keyed_records bigint, skipped_blocks bigint)
 *
 * records_sql is a query giving (patient_id bigint, keys bigint[],
 * f ptl.link_fields, nhs_valid text) in any order, one row per record,
 * element n of keys being rule n's key (NULL: no key).  Records with rule
 * n's same key form one of its blocks.  In a block, each record is paired
 * with the next block_window records in name order (Hernandez and Stolfo,
 * "The merge/purge problem for large databases", SIGMOD 1995); a block of
 * more than max_block_size records gives no pairs (a key shared that widely
 * says nothing of identity).
 *
 * Rows: each pair once, a < b (patient ids), with the bits of the rules
 * that paired it (bit n - 1 for rule n), its comparison vector
 * (ptl.link_compare), whether both records hold the same valid NHS number,
 * and the names the scoring reads (rule_no and the counts NULL); then one
 * row per rule, the pair columns NULL, with the records it keyed and the
 * blocks it skipped.
 *
 * The name order is ptl_internal.link_name_order_sql's: given name, family
 * name (both byte by byte, as COLLATE "C", missing last), date of birth
 * (missing last), patient id.  The pass sorts the records itself (in SQL
 * the sort of a million records spilled to disk and took 5 s).  These are
 * the pairs of ptl_internal.link_window_sql's window over each block, which
 * the incremental run uses; test/pgtap/link_candidates.sql checks the two
 * agree.  The full run pairs every block of
 * every rule: one read of the records, a sort of integers per rule, one
 * merge of the rules' pairs and a comparison of records already in memory
 * cost a fraction of a window per rule, a grouping of the pairs and two
 * joins in SQL.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/qunique.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "common/common.h"
#include "link/link.h"

#define MAX_RULES 30			/* ptl.link_blocking_rule.rule_no's range */
#define FETCH_ROWS 10000

/*
 * Which blocks' membership a record counts in (link_window_delta): the
 * blocks now, as it was before the run, or both (unchanged).
 */
#define SIDE_NOW	1
#define SIDE_BEFORE	2
#define SIDE_BOTH	(SIDE_NOW | SIDE_BEFORE)

/* One record keyed by one rule; position is the record's place in name order. */
typedef struct KeyedRecord
{
	int64		key;
	int32		position;
} KeyedRecord;

/* A pair of records by name-order positions: first << 32 | second, first < second. */
typedef struct CandidatePair
{
	uint64		positions;
	int32		rules;
} CandidatePair;

static inline int
keyed_cmp(const KeyedRecord *x, const KeyedRecord *y)
{
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->position < y->position ? -1 : (x->position > y->position ? 1 : 0);
}

static inline int
pair_cmp(const CandidatePair *x, const CandidatePair *y)
{
	return x->positions < y->positions ? -1 : (x->positions > y->positions ? 1 : 0);
}

/* sorts with the comparison inlined: most of the pass is sorting */
#define ST_SORT sort_keyed_records
#define ST_ELEMENT_TYPE KeyedRecord
#define ST_COMPARE(a, b) keyed_cmp(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_candidate_pairs
#define ST_ELEMENT_TYPE CandidatePair
#define ST_COMPARE(a, b) pair_cmp(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The records of records_sql, as read; by_name[p] is the record at place p
 * in name order, place[i] record i's place.
 */
typedef struct BlockInput
{
	int32		n_records;
	int32	   *by_name;
	int32	   *place;
	int32		n_rules;
	Size		capacity;
	int64	   *ids;
	LinkRecord *fields;
	text	  **nhs_valid;		/* NULL: none */
	uint8	   *side;			/* records_sql's side column, or SIDE_BOTH */
	int64	   *keys[MAX_RULES];	/* the first n_rules allocated */
	bool	   *keyed[MAX_RULES];
} BlockInput;

/* Two present texts byte by byte, then the shorter first (COLLATE "C"). */
static inline int
bytes_cmp(const text *x, const text *y)
{
	int			lx = VARSIZE_ANY_EXHDR(x);
	int			ly = VARSIZE_ANY_EXHDR(y);
	int			c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(lx, ly));

	if (c != 0)
		return c;
	return lx < ly ? -1 : (lx > ly ? 1 : 0);
}

/* Field f of two records in ascending order, missing last. */
static inline int
field_cmp(const LinkRecord *x, const LinkRecord *y, LinkField f)
{
	if (x->nulls[f] || y->nulls[f])
		return (int) x->nulls[f] - (int) y->nulls[f];
	if (f == LINK_DATE_OF_BIRTH)
	{
		DateADT		dx = DatumGetDateADT(x->values[f]);
		DateADT		dy = DatumGetDateADT(y->values[f]);

		return dx < dy ? -1 : (dx > dy ? 1 : 0);
	}
	return bytes_cmp((text *) DatumGetPointer(x->values[f]), (text *) DatumGetPointer(y->values[f]));
}

/* ptl_internal.link_name_order_sql's order of records x and y */
static inline int
name_cmp(const int32 *x, const int32 *y, BlockInput *in)
{
	const LinkRecord *rx = &in->fields[*x];
	const LinkRecord *ry = &in->fields[*y];
	int			c;

	if ((c = field_cmp(rx, ry, LINK_GIVEN_NAME)) != 0
		|| (c = field_cmp(rx, ry, LINK_FAMILY_NAME)) != 0
		|| (c = field_cmp(rx, ry, LINK_DATE_OF_BIRTH)) != 0)
		return c;
	return in->ids[*x] < in->ids[*y] ? -1 : (in->ids[*x] > in->ids[*y] ? 1 : 0);
}

#define ST_SORT sort_by_name
#define ST_ELEMENT_TYPE int32
#define ST_COMPARE(a, b, arg) name_cmp(a, b, arg)
#define ST_COMPARE_ARG_TYPE BlockInput
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

/* Each record's place in name order. */
static void
place_by_name(BlockInput *in, MemoryContext mcxt)
{
	in->by_name = MemoryContextAllocHuge(mcxt, Max(in->n_records, 1) * sizeof(int32));
	in->place = MemoryContextAllocHuge(mcxt, Max(in->n_records, 1) * sizeof(int32));
	for (int32 i = 0; i < in->n_records; i++)
		in->by_name[i] = i;
	sort_by_name(in->by_name, in->n_records, in);
	for (int32 p = 0; p < in->n_records; p++)
		in->place[in->by_name[p]] = p;
}

/* Room for rule r's keys of the records read so far (none keyed yet). */
static void
add_rule(BlockInput *in, int r, MemoryContext mcxt)
{
	in->keys[r] = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(int64));
	in->keyed[r] = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(bool));
	memset(in->keyed[r], 0, in->capacity * sizeof(bool));
}

static void
grow(BlockInput *in)
{
	in->capacity *= 2;
	in->ids = repalloc_huge(in->ids, in->capacity * sizeof(int64));
	in->fields = repalloc_huge(in->fields, in->capacity * sizeof(LinkRecord));
	in->nhs_valid = repalloc_huge(in->nhs_valid, in->capacity * sizeof(text *));
	in->side = repalloc_huge(in->side, in->capacity * sizeof(uint8));
	for (int r = 0; r < in->n_rules; r++)
	{
		in->keys[r] = repalloc_huge(in->keys[r], in->capacity * sizeof(int64));
		in->keyed[r] = repalloc_huge(in->keyed[r], in->capacity * sizeof(bool));
	}
}

static void
check_columns(TupleDesc desc, bool with_side)
{
	if (desc->natts != (with_side ? 5 : 4)
		|| SPI_gettypeid(desc, 1) != INT8OID
		|| SPI_gettypeid(desc, 2) != INT8ARRAYOID
		|| get_typtype(SPI_gettypeid(desc, 3)) != TYPTYPE_COMPOSITE
		|| SPI_gettypeid(desc, 4) != TEXTOID
		|| (with_side && SPI_gettypeid(desc, 5) != INT4OID))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("records_sql must return (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text%s)",
						with_side ? ", side int" : "")));
}

/* One row of records_sql as record in->n_records; copies into mcxt. */
static void
add_record(BlockInput *in, HeapTuple tuple, TupleDesc desc, MemoryContext mcxt)
{
	int32		i = in->n_records;
	Datum		columns[5];
	bool		isnull[5];
	Datum	   *elems = NULL;
	bool	   *nulls = NULL;
	int			n_elems = 0;
	MemoryContext caller;

	heap_deform_tuple(tuple, desc, columns, isnull);
	if (isnull[0])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("records_sql returned a NULL patient_id")));
	if (isnull[2])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("records_sql returned no fields for record " INT64_FORMAT, DatumGetInt64(columns[0]))));
	if (desc->natts == 5
		&& (isnull[4] || DatumGetInt32(columns[4]) < SIDE_NOW || DatumGetInt32(columns[4]) > SIDE_BOTH))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("records_sql returned side %s for record " INT64_FORMAT ", not 1 (now), 2 (before) or 3 (both)",
						isnull[4] ? "NULL" : psprintf("%d", DatumGetInt32(columns[4])), DatumGetInt64(columns[0]))));
	if (i == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a linkage run links at most %d records", PG_INT32_MAX)));
	if (!isnull[1])
		elems = array_elements_nullable(DatumGetArrayTypeP(columns[1]), "keys", &n_elems, &nulls);
	if (n_elems > MAX_RULES)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the keys array has %d elements, more than the %d rules there can be",
						n_elems, MAX_RULES)));

	if ((Size) i == in->capacity)
		grow(in);
	while (in->n_rules < n_elems)
		add_rule(in, in->n_rules++, mcxt);
	in->ids[i] = DatumGetInt64(columns[0]);
	in->side[i] = desc->natts == 5 ? (uint8) DatumGetInt32(columns[4]) : SIDE_BOTH;
	for (int r = 0; r < in->n_rules; r++)
	{
		in->keyed[r][i] = r < n_elems && !nulls[r];
		in->keys[r][i] = in->keyed[r][i] ? DatumGetInt64(elems[r]) : 0;
	}

	/* the deformed fields point into this copy */
	caller = MemoryContextSwitchTo(mcxt);
	link_record_deform(DatumGetHeapTupleHeaderCopy(columns[2]), &in->fields[i]);
	in->nhs_valid[i] = isnull[3] ? NULL : DatumGetTextPCopy(columns[3]);
	MemoryContextSwitchTo(caller);
	in->n_records++;
}

static void
read_records(const char *records_sql, bool with_side, BlockInput *in, MemoryContext mcxt)
{
	SPIParseOpenOptions options = {0};
	MemoryContext batch = AllocSetContextCreate(CurrentMemoryContext, "link_candidates batch",
												ALLOCSET_DEFAULT_SIZES);
	Portal		portal;

	memset(in, 0, sizeof(BlockInput));
	in->capacity = 1024;
	in->ids = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(int64));
	in->fields = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(LinkRecord));
	in->nhs_valid = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(text *));
	in->side = MemoryContextAllocHuge(mcxt, in->capacity * sizeof(uint8));

	options.read_only = true;
	portal = SPI_cursor_parse_open(NULL, records_sql, &options);	/* read only: STABLE */
	for (;;)
	{
		MemoryContext caller;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		check_columns(SPI_tuptable->tupdesc, with_side);
		caller = MemoryContextSwitchTo(batch);
		for (uint64 row = 0; row < SPI_processed; row++)
			add_record(in, SPI_tuptable->vals[row], SPI_tuptable->tupdesc, mcxt);
		MemoryContextSwitchTo(caller);
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(batch);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/* Every rule's windows, into pairs (by position, rule bit); the counts. */
static CandidatePair *
window_pairs(const BlockInput *in, int32 block_window, int32 max_block_size, MemoryContext mcxt,
			 Size *n_pairs, int64 *keyed_records, int64 *skipped_blocks)
{
	KeyedRecord *keyed = MemoryContextAllocHuge(mcxt, Max(in->n_records, 1) * sizeof(KeyedRecord));
	Size		capacity = Max((Size) in->n_records, 1024);
	CandidatePair *pairs = MemoryContextAllocHuge(mcxt, capacity * sizeof(CandidatePair));

	*n_pairs = 0;
	for (int r = 0; r < in->n_rules; r++)
	{
		int32		n = 0;

		for (int32 i = 0; i < in->n_records; i++)
			if (in->keyed[r][i])
			{
				keyed[n].key = in->keys[r][i];
				keyed[n].position = in->place[i];
				n++;
			}
		keyed_records[r] = n;
		skipped_blocks[r] = 0;
		sort_keyed_records(keyed, n);

		for (int32 start = 0, end; start < n; start = end)
		{
			end = start + 1;
			while (end < n && keyed[end].key == keyed[start].key)
				end++;
			if (end - start > max_block_size)
			{
				skipped_blocks[r]++;
				continue;
			}
			for (int32 i = start; i < end; i++)
				for (int32 j = i + 1; j < end && j <= i + block_window; j++)
				{
					if (*n_pairs == capacity)
					{
						capacity *= 2;
						pairs = repalloc_huge(pairs, capacity * sizeof(CandidatePair));
					}
					/* positions rise within a block (the sort's second key) */
					Assert(keyed[i].position < keyed[j].position);
					pairs[*n_pairs].positions = (uint64) keyed[i].position << 32 | (uint64) keyed[j].position;
					pairs[*n_pairs].rules = 1 << r;
					(*n_pairs)++;
				}
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(keyed);
	sort_candidate_pairs(pairs, *n_pairs);
	return pairs;
}

/* The window and block limit of ptl.link_setting, as both passes take them. */
static void
check_window(int32 block_window, int32 max_block_size)
{
	if (block_window < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block_window %d must be at least 1", block_window)));
	if (max_block_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_block_size %d must be at least 2", max_block_size)));
}

/*
 * Records a and b compared, as the scoring reads them: their comparison
 * vector, whether both hold the same valid NHS number, a's given and family
 * names and b's given name (five columns).
 */
static void
compare_pair(const BlockInput *in, int32 a, int32 b, Datum *values, bool *nulls)
{
	values[0] = Int64GetDatum(link_record_compare(&in->fields[a], &in->fields[b]));
	nulls[0] = false;
	values[1] = BoolGetDatum(in->nhs_valid[a] != NULL && in->nhs_valid[b] != NULL
							 && texts_equal(in->nhs_valid[a], in->nhs_valid[b]));
	nulls[1] = false;
	values[2] = in->fields[a].values[LINK_GIVEN_NAME];
	nulls[2] = in->fields[a].nulls[LINK_GIVEN_NAME];
	values[3] = in->fields[a].values[LINK_FAMILY_NAME];
	nulls[3] = in->fields[a].nulls[LINK_FAMILY_NAME];
	values[4] = in->fields[b].values[LINK_GIVEN_NAME];
	nulls[4] = in->fields[b].nulls[LINK_GIVEN_NAME];
}

PG_FUNCTION_INFO_V1(ptl_link_candidates);
Datum
ptl_link_candidates(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *records_sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		block_window = PG_GETARG_INT32(1);
	int32		max_block_size = PG_GETARG_INT32(2);
	MemoryContext work = CurrentMemoryContext;
	MemoryContext per_pair;
	BlockInput	in;
	CandidatePair *pairs;
	Size		n_pairs;
	int64		keyed_records[MAX_RULES];
	int64		skipped_blocks[MAX_RULES];

	check_window(block_window, max_block_size);

	/* the records outlive SPI_finish: they are kept in the caller's context */
	SPI_connect();
	read_records(records_sql, false, &in, work);
	SPI_finish();
	place_by_name(&in, work);
	pairs = window_pairs(&in, block_window, max_block_size, work, &n_pairs, keyed_records, skipped_blocks);

	InitMaterializedSRF(fcinfo, 0);
	per_pair = AllocSetContextCreate(work, "link_candidates pair", ALLOCSET_DEFAULT_SIZES);
	for (Size k = 0, next; k < n_pairs; k = next)
	{
		int32		first = in.by_name[pairs[k].positions >> 32];
		int32		second = in.by_name[pairs[k].positions & 0xFFFFFFFF];
		int32		a = in.ids[first] < in.ids[second] ? first : second;
		int32		b = a == first ? second : first;
		Datum		values[11];
		bool		nulls[11] = {false, false, false, false, false, false, false, false, true, true, true};
		int32		rules = pairs[k].rules;
		MemoryContext caller;

		Assert(in.place[first] < in.place[second] && in.ids[first] != in.ids[second]);
		for (next = k + 1; next < n_pairs && pairs[next].positions == pairs[k].positions; next++)
			rules |= pairs[next].rules;
		caller = MemoryContextSwitchTo(per_pair);
		values[0] = Int64GetDatum(in.ids[a]);
		values[1] = Int64GetDatum(in.ids[b]);
		values[2] = Int32GetDatum(rules);
		compare_pair(&in, a, b, &values[3], &nulls[3]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_pair);
		if ((k & 16383) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int r = 0; r < in.n_rules; r++)
	{
		Datum		values[11];
		bool		nulls[11] = {true, true, true, true, true, true, true, true, false, false, false};

		values[8] = Int32GetDatum(r + 1);
		values[9] = Int64GetDatum(keyed_records[r]);
		values[10] = Int64GetDatum(skipped_blocks[r]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * The pairs an incremental run must look at again, compared:
 *
 *		ptl_internal.link_window_delta(records_sql text, block_window int,
 *									   max_block_size int)
 *		RETURNS TABLE (a bigint, b bigint, rules int, other_rules int,
 *					   gamma bigint, same_nhs boolean, given_a text,
 *					   family_a text, given_b text,
 *					   rule_no int, keyed_records bigint, skipped_blocks bigint)
 *
 * records_sql gives (patient_id, keys, f, nhs_valid, side): every record of
 * every block a changed record holds now or held before the run, once for
 * each side: side 1 a changed record as it is now, 2 as it was (a deleted
 * record has only this), 3 an unchanged record (in the block both now and
 * before).  A block is "touched" when a changed record is in it, now or
 * before; records_sql must give every record of a touched block (other
 * keys of those records may name blocks only partly given: they are not
 * paired).
 *
 * Each touched block is windowed twice, as link_candidates windows a block:
 * its records now (sides 1 and 3) and before (2 and 3), each within
 * max_block_size.  A pair is returned when it is in a window now and one of
 * its records changed, or when it entered or left a window (in one of the
 * two windows of some block, not both).  rules has the bits of the touched
 * blocks whose window holds the pair now; other_rules those of the blocks
 * the pair shares that no changed record touched, whose windows the caller
 * must read (their records were not all given).  The comparison columns are
 * those of link_candidates, of the records as they are now (NULL when
 * either was deleted).  Then one row per rule: the changed records it keys
 * now, and the touched blocks over max_block_size.
 */

/* A pair in one block's window, by patient ids, a < b. */
typedef struct WindowPair
{
	int64		a;
	int64		b;
	int64		key;
	int32		rule;
	uint8		sides;			/* SIDE_NOW: in the window now; SIDE_BEFORE: before */
	bool		changed;		/* a or b is a changed record */
} WindowPair;

/* A record as it is now, by patient id (a lookup table). */
typedef struct RecordNow
{
	int64		id;
	int32		record;
} RecordNow;

static inline int
window_pair_cmp(const WindowPair *x, const WindowPair *y)
{
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->key < y->key ? -1 : (x->key > y->key ? 1 : 0);
}

static inline int
record_now_cmp(const RecordNow *x, const RecordNow *y)
{
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

#define ST_SORT sort_window_pairs
#define ST_ELEMENT_TYPE WindowPair
#define ST_COMPARE(a, b) window_pair_cmp(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_records_now
#define ST_ELEMENT_TYPE RecordNow
#define ST_COMPARE(a, b) record_now_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* The pairs a growing array holds. */
typedef struct WindowPairs
{
	WindowPair *pairs;
	Size		n;
	Size		capacity;
} WindowPairs;

/*
 * The pairs of one side's window over a block: members are the block's
 * records of that side, in name order.
 */
static void
add_window(const BlockInput *in, const int32 *members, int32 n, int rule, int64 key, uint8 side,
		   int32 block_window, int32 max_block_size, WindowPairs *out)
{
	if (n < 2 || n > max_block_size)
		return;
	for (int32 i = 0; i < n; i++)
		for (int32 j = i + 1; j < n && j <= i + block_window; j++)
		{
			int64		x = in->ids[members[i]];
			int64		y = in->ids[members[j]];
			WindowPair *p;

			if (x == y)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("records_sql gave record " INT64_FORMAT " twice on one side", x)));
			if (out->n == out->capacity)
			{
				out->capacity *= 2;
				out->pairs = repalloc_huge(out->pairs, out->capacity * sizeof(WindowPair));
			}
			p = &out->pairs[out->n++];
			p->a = Min(x, y);
			p->b = Max(x, y);
			p->key = key;
			p->rule = rule;
			p->sides = side;
			p->changed = in->side[members[i]] != SIDE_BOTH || in->side[members[j]] != SIDE_BOTH;
		}
}

/* bsearch comparators: a record as it is now by id; a key */
static int
record_now_key_cmp(const void *id, const void *record)
{
	int64		x = *(const int64 *) id;
	int64		y = ((const RecordNow *) record)->id;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
int64_key_cmp(const void *key, const void *element)
{
	int64		x = *(const int64 *) key;
	int64		y = *(const int64 *) element;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Record id's place as it is now, or -1 (deleted, or not given). */
static int32
record_now(const RecordNow *now, int32 n_now, int64 id)
{
	const RecordNow *found = bsearch(&id, now, n_now, sizeof(RecordNow), record_now_key_cmp);

	return found ? found->record : -1;
}

PG_FUNCTION_INFO_V1(ptl_link_window_delta);
Datum
ptl_link_window_delta(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *records_sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		block_window = PG_GETARG_INT32(1);
	int32		max_block_size = PG_GETARG_INT32(2);
	MemoryContext work = CurrentMemoryContext;
	MemoryContext per_pair;
	BlockInput	in;
	KeyedRecord *keyed;
	int32	   *now_members;
	int32	   *before_members;
	int64	   *touched_keys[MAX_RULES];
	int32		n_touched[MAX_RULES];
	int64		keyed_records[MAX_RULES];
	int64		skipped_blocks[MAX_RULES];
	RecordNow  *now;
	int32		n_now = 0;
	WindowPairs windows;

	check_window(block_window, max_block_size);

	SPI_connect();
	read_records(records_sql, true, &in, work);
	SPI_finish();
	place_by_name(&in, work);

	/* the records as they are now, by id: one each */
	now = palloc(Max(in.n_records, 1) * sizeof(RecordNow));
	for (int32 i = 0; i < in.n_records; i++)
		if (in.side[i] & SIDE_NOW)
		{
			now[n_now].id = in.ids[i];
			now[n_now].record = i;
			n_now++;
		}
	sort_records_now(now, n_now);
	for (int32 i = 1; i < n_now; i++)
		if (now[i].id == now[i - 1].id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("records_sql gave record " INT64_FORMAT " twice as it is now", now[i].id)));

	/* each touched block's windows, now and before */
	keyed = palloc(Max(in.n_records, 1) * sizeof(KeyedRecord));
	now_members = palloc(Max(in.n_records, 1) * sizeof(int32));
	before_members = palloc(Max(in.n_records, 1) * sizeof(int32));
	windows.capacity = Max((Size) in.n_records, 1024);
	windows.n = 0;
	windows.pairs = MemoryContextAllocHuge(work, windows.capacity * sizeof(WindowPair));
	for (int r = 0; r < in.n_rules; r++)
	{
		int32		n = 0;

		/*
		 * The touched blocks of rule r: the keys a changed record holds now
		 * or held before.  Only their members are sorted into blocks (the
		 * records read are in some rule's touched block, most of them not in
		 * this rule's).
		 */
		keyed_records[r] = 0;
		skipped_blocks[r] = 0;
		n_touched[r] = 0;
		touched_keys[r] = palloc(Max(in.n_records, 1) * sizeof(int64));
		for (int32 i = 0; i < in.n_records; i++)
			if (in.keyed[r][i] && in.side[i] != SIDE_BOTH)
			{
				touched_keys[r][n_touched[r]++] = in.keys[r][i];
				if (in.side[i] == SIDE_NOW)
					keyed_records[r]++;
			}
		qsort(touched_keys[r], n_touched[r], sizeof(int64), int64_key_cmp);
		n_touched[r] = qunique(touched_keys[r], n_touched[r], sizeof(int64), int64_key_cmp);

		for (int32 i = 0; i < in.n_records; i++)
			if (in.keyed[r][i]
				&& (in.side[i] != SIDE_BOTH
					|| bsearch(&in.keys[r][i], touched_keys[r], n_touched[r], sizeof(int64), int64_key_cmp)))
			{
				keyed[n].key = in.keys[r][i];
				keyed[n].position = in.place[i];
				n++;
			}
		sort_keyed_records(keyed, n);

		for (int32 start = 0, end; start < n; start = end)
		{
			int32		n_block_now = 0;
			int32		n_block_before = 0;

			for (end = start; end < n && keyed[end].key == keyed[start].key; end++)
			{
				int32		i = in.by_name[keyed[end].position];

				if (in.side[i] & SIDE_NOW)
					now_members[n_block_now++] = i;
				if (in.side[i] & SIDE_BEFORE)
					before_members[n_block_before++] = i;
			}
			if (n_block_now > max_block_size)
				skipped_blocks[r]++;
			add_window(&in, now_members, n_block_now, r, keyed[start].key, SIDE_NOW,
					   block_window, max_block_size, &windows);
			add_window(&in, before_members, n_block_before, r, keyed[start].key, SIDE_BEFORE,
					   block_window, max_block_size, &windows);
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(keyed);
	pfree(now_members);
	pfree(before_members);
	sort_window_pairs(windows.pairs, windows.n);

	InitMaterializedSRF(fcinfo, 0);
	per_pair = AllocSetContextCreate(work, "link_window_delta pair", ALLOCSET_DEFAULT_SIZES);
	for (Size k = 0, next; k < windows.n; k = next)
	{
		WindowPair *first = &windows.pairs[k];
		bool		again = false;
		int32		rules = 0;
		int32		other_rules = 0;
		int32		a;
		int32		b;
		Datum		values[12];
		bool		nulls[12] = {false, false, false, false, true, true, true, true, true, true, true, true};
		MemoryContext caller;

		/* one (rule, key) of the pair at a time: its windows now and before */
		for (next = k; next < windows.n && windows.pairs[next].a == first->a && windows.pairs[next].b == first->b;)
		{
			WindowPair *group = &windows.pairs[next];
			uint8		sides = 0;
			bool		changed = false;

			for (; next < windows.n && window_pair_cmp(&windows.pairs[next], group) == 0; next++)
			{
				sides |= windows.pairs[next].sides;
				changed |= windows.pairs[next].changed && (windows.pairs[next].sides & SIDE_NOW);
			}
			if (sides & SIDE_NOW)
				rules |= 1 << group->rule;
			again |= changed || (sides != SIDE_BOTH);
		}
		if (!again)
			continue;

		a = record_now(now, n_now, first->a);
		b = record_now(now, n_now, first->b);
		caller = MemoryContextSwitchTo(per_pair);
		values[0] = Int64GetDatum(first->a);
		values[1] = Int64GetDatum(first->b);
		if (a >= 0 && b >= 0)
		{
			/* the blocks both hold that no changed record touched */
			for (int r = 0; r < in.n_rules; r++)
				if (in.keyed[r][a] && in.keyed[r][b] && in.keys[r][a] == in.keys[r][b]
					&& !bsearch(&in.keys[r][a], touched_keys[r], n_touched[r], sizeof(int64), int64_key_cmp))
					other_rules |= 1 << r;
			compare_pair(&in, a, b, &values[4], &nulls[4]);
		}
		values[2] = Int32GetDatum(rules);
		values[3] = Int32GetDatum(other_rules);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_pair);
		if ((k & 16383) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int r = 0; r < in.n_rules; r++)
	{
		Datum		values[12];
		bool		nulls[12] = {true, true, true, true, true, true, true, true, true, false, false, false};

		values[9] = Int32GetDatum(r + 1);
		values[10] = Int64GetDatum(keyed_records[r]);
		values[11] = Int64GetDatum(skipped_blocks[r]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
