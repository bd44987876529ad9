/*
 * block.c
 *		The candidate pairs of a full linkage run, every blocking rule in one
 *		pass, compared:
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
	for (int r = 0; r < in->n_rules; r++)
	{
		in->keys[r] = repalloc_huge(in->keys[r], in->capacity * sizeof(int64));
		in->keyed[r] = repalloc_huge(in->keyed[r], in->capacity * sizeof(bool));
	}
}

static void
check_columns(TupleDesc desc)
{
	if (desc->natts != 4
		|| SPI_gettypeid(desc, 1) != INT8OID
		|| SPI_gettypeid(desc, 2) != INT8ARRAYOID
		|| get_typtype(SPI_gettypeid(desc, 3)) != TYPTYPE_COMPOSITE
		|| SPI_gettypeid(desc, 4) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("records_sql must return (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text)")));
}

/* One row of records_sql as record in->n_records; copies into mcxt. */
static void
add_record(BlockInput *in, HeapTuple tuple, TupleDesc desc, MemoryContext mcxt)
{
	int32		i = in->n_records;
	Datum		columns[4];
	bool		isnull[4];
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
read_records(const char *records_sql, BlockInput *in, MemoryContext mcxt)
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

	options.read_only = true;
	portal = SPI_cursor_parse_open(NULL, records_sql, &options);	/* read only: STABLE */
	for (;;)
	{
		MemoryContext caller;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		check_columns(SPI_tuptable->tupdesc);
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

	if (block_window < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block_window %d must be at least 1", block_window)));
	if (max_block_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_block_size %d must be at least 2", max_block_size)));

	/* the records outlive SPI_finish: they are kept in the caller's context */
	SPI_connect();
	read_records(records_sql, &in, work);
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
		values[3] = Int64GetDatum(link_record_compare(&in.fields[a], &in.fields[b]));
		values[4] = BoolGetDatum(in.nhs_valid[a] != NULL && in.nhs_valid[b] != NULL
								 && texts_equal(in.nhs_valid[a], in.nhs_valid[b]));
		values[5] = in.fields[a].values[LINK_GIVEN_NAME];
		nulls[5] = in.fields[a].nulls[LINK_GIVEN_NAME];
		values[6] = in.fields[a].values[LINK_FAMILY_NAME];
		nulls[6] = in.fields[a].nulls[LINK_FAMILY_NAME];
		values[7] = in.fields[b].values[LINK_GIVEN_NAME];
		nulls[7] = in.fields[b].nulls[LINK_GIVEN_NAME];
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
