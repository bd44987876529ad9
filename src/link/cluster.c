/*
 * cluster.c
 *		Records into persons: union-find over the accepted links, strongest
 *		first, with a guard against chaining; then the persons' stable
 *		numbers (ptl_internal.link_vote, at the end of the file).
 *
 *		ptl.link_clusters(record_ids bigint[], record_keys text[],
 *						  left_ids bigint[], right_ids bigint[], weights float8[],
 *						  max_cluster_size int)
 *		RETURNS TABLE (left_id, right_id, left_cluster, right_cluster, outcome)
 *
 * A record's key is its valid NHS number (NULL if it has none).  Links are
 * taken in descending weight (deterministic links carry +Infinity, so they
 * come first; ties in input order).  A link that would join two clusters is
 * refused when
 *	- both clusters hold an NHS number and the numbers differ: two people
 *	  with different valid NHS numbers are different people, however alike,
 *	  so one bad link must not chain them (outcome refused_nhs_number); or
 *	- the joined cluster would hold more than max_cluster_size records
 *	  (outcome refused_size).
 * Otherwise the outcome is linked, or already when both records were joined
 * by stronger links.  Clusters are named by their smallest record id; each
 * output row gives both records' final clusters, so a caller reads every
 * linked record's person from the rows and knows each refusal's reason.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "common/common.h"
#include "link/link.h"

typedef struct ClusterNode
{
	int64		id;
	int			size;
	int64		smallest;		/* root only: the cluster's name */
	text	   *key;			/* root only: the cluster's NHS number */
} ClusterNode;

typedef struct ClusterEdge
{
	int			position;
	double		weight;
} ClusterEdge;

static int
node_by_id(const ClusterNode *nodes, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (nodes[mid].id == id)
			return mid;
		if (nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("link between record " INT64_FORMAT " and a record not in record_ids", id)));
	return -1;					/* keep the compiler quiet */
}

static int
node_id_cmp(const void *a, const void *b)
{
	int64		x = ((const ClusterNode *) a)->id;
	int64		y = ((const ClusterNode *) b)->id;

	return (x > y) - (x < y);
}

static int
edge_cmp(const void *a, const void *b)
{
	const ClusterEdge *x = a;
	const ClusterEdge *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->position - y->position;
}

static bool
keys_differ(const text *a, const text *b)
{
	return a != NULL && b != NULL && !texts_equal(a, b);
}

PG_FUNCTION_INFO_V1(ptl_link_clusters);
Datum
ptl_link_clusters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n_records,
				n_keys,
				n_left,
				n_right,
				n_weights;
	int64	   *record_ids = int64_elements(PG_GETARG_ARRAYTYPE_P(0), "record_ids", &n_records);
	int64	   *left_ids = int64_elements(PG_GETARG_ARRAYTYPE_P(2), "left_ids", &n_left);
	int64	   *right_ids = int64_elements(PG_GETARG_ARRAYTYPE_P(3), "right_ids", &n_right);
	ArrayType  *weights_arr = PG_GETARG_ARRAYTYPE_P(4);
	int32		max_size = PG_GETARG_INT32(5);
	Datum	   *keys;
	bool	   *key_nulls;
	Datum	   *weights;
	bool	   *weight_nulls;
	ClusterNode *nodes;
	int		   *parent;			/* union-find over nodes (common/common.h) */
	ClusterEdge *edges;
	int		   *left_node;
	int		   *right_node;
	const char **outcomes;

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &keys, &key_nulls, &n_keys);
	deconstruct_array(weights_arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &weights, &weight_nulls, &n_weights);
	if (n_keys != n_records)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("record_keys has %d elements but record_ids has %d", n_keys, n_records)));
	if (n_right != n_left || n_weights != n_left)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("left_ids, right_ids and weights must have as many elements (%d, %d, %d)",
						n_left, n_right, n_weights)));
	if (max_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_cluster_size %d must be at least 2", max_size)));

	nodes = palloc_extended(Max(n_records, 1) * sizeof(ClusterNode), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n_records; i++)
	{
		nodes[i].id = record_ids[i];
		nodes[i].key = key_nulls[i] ? NULL : DatumGetTextPP(keys[i]);
	}
	qsort(nodes, n_records, sizeof(ClusterNode), node_id_cmp);
	parent = palloc_extended(Max(n_records, 1) * sizeof(int), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n_records; i++)
	{
		if (i > 0 && nodes[i].id == nodes[i - 1].id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("record " INT64_FORMAT " appears twice in record_ids", nodes[i].id)));
		parent[i] = i;
		nodes[i].size = 1;
		nodes[i].smallest = nodes[i].id;
	}

	edges = palloc_extended(Max(n_left, 1) * sizeof(ClusterEdge), MCXT_ALLOC_HUGE);
	left_node = palloc_extended(Max(n_left, 1) * sizeof(int), MCXT_ALLOC_HUGE);
	right_node = palloc_extended(Max(n_left, 1) * sizeof(int), MCXT_ALLOC_HUGE);
	outcomes = palloc_extended(Max(n_left, 1) * sizeof(char *), MCXT_ALLOC_HUGE);
	for (int e = 0; e < n_left; e++)
	{
		if (weight_nulls[e] || isnan(DatumGetFloat8(weights[e])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight of the link between records " INT64_FORMAT " and " INT64_FORMAT " is missing",
							left_ids[e], right_ids[e])));
		edges[e].position = e;
		edges[e].weight = DatumGetFloat8(weights[e]);
		left_node[e] = node_by_id(nodes, n_records, left_ids[e]);
		right_node[e] = node_by_id(nodes, n_records, right_ids[e]);
	}
	qsort(edges, n_left, sizeof(ClusterEdge), edge_cmp);

	for (int k = 0; k < n_left; k++)
	{
		int			e = edges[k].position;
		int			a = find_root(parent, left_node[e]);
		int			b = find_root(parent, right_node[e]);

		if ((k & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (a == b)
			outcomes[e] = "already";
		else if (keys_differ(nodes[a].key, nodes[b].key))
			outcomes[e] = "refused_nhs_number";
		else if (nodes[a].size + nodes[b].size > max_size)
			outcomes[e] = "refused_size";
		else
		{
			/* union by size; the root keeps the name and the key */
			if (nodes[a].size < nodes[b].size)
			{
				int			t = a;

				a = b;
				b = t;
			}
			parent[b] = a;
			nodes[a].size += nodes[b].size;
			Assert(nodes[a].size <= max_size);
			nodes[a].smallest = Min(nodes[a].smallest, nodes[b].smallest);
			if (nodes[a].key == NULL)
				nodes[a].key = nodes[b].key;
			outcomes[e] = "linked";
		}
	}

	InitMaterializedSRF(fcinfo, 0);
	for (int e = 0; e < n_left; e++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int64GetDatum(left_ids[e]);
		values[1] = Int64GetDatum(right_ids[e]);
		values[2] = Int64GetDatum(nodes[find_root(parent, left_node[e])].smallest);
		values[3] = Int64GetDatum(nodes[find_root(parent, right_node[e])].smallest);
		values[4] = CStringGetTextDatum(outcomes[e]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * Stable person numbers for the clusters of a run:
 *
 *		ptl_internal.link_vote(members_sql text)
 *		RETURNS TABLE (cluster bigint, person_id bigint)
 *
 * members_sql gives (cluster bigint, person_id bigint), one row per record:
 * its cluster in this run and the person the last run gave it (NULL for a
 * record new to linkage).  A cluster keeps the person number most of its
 * records had (ties: the smaller number); when several clusters would keep
 * one number (a person split), the cluster with more of its records keeps
 * it (ties: the smaller cluster).  One row per cluster, person_id NULL when
 * it keeps none: the caller gives it a new number.
 */

/* One record's vote, then (reused) one cluster's choice: cluster, person, votes. */
typedef struct PersonVote
{
	int64		cluster;
	int64		person;
	int64		votes;
	bool		has_person;
} PersonVote;

static inline int
vote_by_cluster(const PersonVote *x, const PersonVote *y)
{
	if (x->cluster != y->cluster)
		return x->cluster < y->cluster ? -1 : 1;
	if (x->has_person != y->has_person)
		return x->has_person ? -1 : 1;
	return x->person < y->person ? -1 : (x->person > y->person ? 1 : 0);
}

/* A person's claims: the most votes first, then the smaller cluster. */
static inline int
claim_by_person(const PersonVote *x, const PersonVote *y)
{
	if (x->has_person != y->has_person)
		return x->has_person ? -1 : 1;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->votes != y->votes)
		return x->votes > y->votes ? -1 : 1;
	return x->cluster < y->cluster ? -1 : (x->cluster > y->cluster ? 1 : 0);
}

#define ST_SORT sort_votes_by_cluster
#define ST_ELEMENT_TYPE PersonVote
#define ST_COMPARE(a, b) vote_by_cluster(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_claims_by_person
#define ST_ELEMENT_TYPE PersonVote
#define ST_COMPARE(a, b) claim_by_person(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

/* members_sql's rows, in any order. */
static PersonVote *
read_votes(const char *members_sql, Size *n)
{
	SPIParseOpenOptions options = {0};
	Size		capacity = 1024;
	PersonVote *votes = MemoryContextAllocHuge(CurrentMemoryContext, capacity * sizeof(PersonVote));
	Portal		portal;

	*n = 0;
	SPI_connect();
	options.read_only = true;
	portal = SPI_cursor_parse_open(NULL, members_sql, &options);
	for (;;)
	{
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (desc->natts != 2 || SPI_gettypeid(desc, 1) != INT8OID || SPI_gettypeid(desc, 2) != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("members_sql must return (cluster bigint, person_id bigint)")));
		for (uint64 row = 0; row < SPI_processed; row++)
		{
			bool		null_cluster;
			bool		null_person;
			Datum		cluster = SPI_getbinval(SPI_tuptable->vals[row], desc, 1, &null_cluster);
			Datum		person = SPI_getbinval(SPI_tuptable->vals[row], desc, 2, &null_person);

			if (null_cluster)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("members_sql returned a record with no cluster")));
			if (*n == capacity)
			{
				capacity *= 2;
				votes = repalloc_huge(votes, capacity * sizeof(PersonVote));
			}
			votes[*n].cluster = DatumGetInt64(cluster);
			votes[*n].has_person = !null_person;
			votes[*n].person = null_person ? 0 : DatumGetInt64(person);
			votes[*n].votes = 1;
			(*n)++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return votes;
}

PG_FUNCTION_INFO_V1(ptl_link_vote);
Datum
ptl_link_vote(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *members_sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Size		n;
	Size		n_clusters = 0;
	PersonVote *votes = read_votes(members_sql, &n);

	/*
	 * Each cluster's choice, in place: its records sorted by person (the
	 * records without one last), the longest run of one person wins, the
	 * first (smaller) person on a tie.
	 */
	sort_votes_by_cluster(votes, n);
	for (Size start = 0, end; start < n; start = end)
	{
		PersonVote choice = {votes[start].cluster, 0, 0, false};

		for (end = start; end < n && votes[end].cluster == choice.cluster;)
		{
			Size		run = end;

			while (end < n && votes[end].cluster == choice.cluster
				   && votes[end].has_person == votes[run].has_person && votes[end].person == votes[run].person)
				end++;
			if (votes[run].has_person && (int64) (end - run) > choice.votes)
			{
				choice.person = votes[run].person;
				choice.votes = end - run;
				choice.has_person = true;
			}
		}
		votes[n_clusters++] = choice;
	}

	/* each person number to the cluster with the most votes for it */
	sort_claims_by_person(votes, n_clusters);
	for (Size k = 1; k < n_clusters; k++)
		if (votes[k].has_person && votes[k - 1].has_person && votes[k].person == votes[k - 1].person)
			votes[k].votes = 0;	/* lost the claim; marked below */

	InitMaterializedSRF(fcinfo, 0);
	for (Size k = 0; k < n_clusters; k++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		bool		kept = votes[k].has_person && votes[k].votes > 0;

		values[0] = Int64GetDatum(votes[k].cluster);
		values[1] = Int64GetDatum(votes[k].person);
		nulls[1] = !kept;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((k & 16383) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_VOID();
}
