/*
 * match.c
 *		ptl.mutual_aid_match: choose which eligible patients take which
 *		offered slots (docs/ics.md, "Mutual aid").
 *
 * The caller passes the feasible (patient, slot) pairs only, as parallel
 * arrays; feasibility (specialty, procedure group, capability, radius,
 * lead time, minimum gain) is decided in SQL, where it can be explained.
 *
 * Greedy (mode A, the policy-faithful default): patients by longest wait
 * (wait desc, clock start asc, patient asc), each taking its feasible unused
 * slot with the earliest date, then shortest distance, then lowest slot id.
 * Sorting the pairs by the whole key and taking each pair whose patient and
 * slot are both still free is exactly that.
 *
 * Optimal (mode B): a maximum-weight bipartite matching, the weight of a
 * pair being lexicographic: first the patient's wait in days, then the days
 * saved.  Rather than folding the two into W * wait + saving with a large W
 * (which overflows at ICS scale), costs are kept as pairs and compared
 * lexicographically; shortest paths only need an ordered group, which pairs
 * under component-wise addition are.  The method is successive shortest
 * augmenting paths (source -> patient -> slot -> sink, unit capacities,
 * cost minus the weight) with a queue-based Bellman-Ford, stopping when the
 * cheapest augmenting path no longer has negative cost: successive shortest
 * paths give a minimum-cost flow of every size, and the cost is convex in
 * the size, so the first non-improving path marks the maximum-weight
 * matching.  Greedy's result is one matching, so optimal never serves fewer
 * wait-days.
 *
 * Both modes are deterministic: pairs are processed in the greedy key's
 * order whatever the input order.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "common/common.h"

typedef struct AidPair
{
	int64		patient;
	int64		slot;
	int32		wait_days;
	DateADT		clock_start;
	DateADT		slot_date;
	float8		distance;
	int32		saving;
	int			pnode;			/* patient's node number, from 1 */
	int			snode;			/* slot's node number */
} AidPair;

/* A lexicographic cost: wait-days first, then days saved. */
typedef struct AidCost
{
	int64		wait;
	int64		saving;
} AidCost;

typedef struct AidEdge
{
	int			to;
	int			cap;
	int			rev;			/* index of the reverse edge in edges[to] */
	AidCost		cost;
} AidEdge;

typedef struct AidNode
{
	AidEdge    *edges;
	int			n;
	int			size;
} AidNode;

static int
aid_pair_cmp(const void *a, const void *b)
{
	const AidPair *x = (const AidPair *) a;
	const AidPair *y = (const AidPair *) b;

	if (x->wait_days != y->wait_days)
		return x->wait_days > y->wait_days ? -1 : 1;
	if (x->clock_start != y->clock_start)
		return x->clock_start < y->clock_start ? -1 : 1;
	if (x->patient != y->patient)
		return x->patient < y->patient ? -1 : 1;
	if (x->slot_date != y->slot_date)
		return x->slot_date < y->slot_date ? -1 : 1;
	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return 0;
}

static inline bool
cost_less(AidCost a, AidCost b)
{
	return a.wait < b.wait || (a.wait == b.wait && a.saving < b.saving);
}

static inline AidCost
cost_add(AidCost a, AidCost b)
{
	AidCost		r = {a.wait + b.wait, a.saving + b.saving};

	return r;
}

static void
add_edge(AidNode *g, int from, int to, AidCost cost)
{
	AidCost		neg = {-cost.wait, -cost.saving};
	AidNode    *f = &g[from];
	AidNode    *t = &g[to];

	if (f->n == f->size)
	{
		f->size = f->size ? 2 * f->size : 4;
		f->edges = f->edges ? repalloc(f->edges, f->size * sizeof(AidEdge))
			: palloc(f->size * sizeof(AidEdge));
	}
	if (t->n == t->size)
	{
		t->size = t->size ? 2 * t->size : 4;
		t->edges = t->edges ? repalloc(t->edges, t->size * sizeof(AidEdge))
			: palloc(t->size * sizeof(AidEdge));
	}
	f->edges[f->n] = (AidEdge) {to, 1, t->n, cost};
	t->edges[t->n] = (AidEdge) {from, 0, f->n, neg};
	f->n++;
	t->n++;
}

PG_FUNCTION_INFO_V1(ptl_mutual_aid_match);

/*
 * mutual_aid_match(patients bigint[], slots bigint[], wait_days int[],
 *                  clock_starts date[], slot_dates date[], distances float8[],
 *                  savings int[], optimal boolean)
 *	RETURNS TABLE (patient bigint, slot bigint)
 */
Datum
ptl_mutual_aid_match(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *names[7] = {"patients", "slots", "wait_days", "clock_starts",
	"slot_dates", "distances", "savings"};
	Oid			types[7] = {INT8OID, INT8OID, INT4OID, DATEOID, DATEOID, FLOAT8OID, INT4OID};
	Datum	   *cols[7];
	int			n = 0;
	int			i;
	bool		optimal = PG_GETARG_BOOL(7);
	AidPair    *pairs;
	int64	   *keys;
	int			npatients = 0;
	int			nslots = 0;
	bool	   *chosen;

	InitMaterializedSRF(fcinfo, 0);

	for (i = 0; i < 7; i++)
	{
		int			len;
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(i);

		if (ARR_ELEMTYPE(arr) != types[i])
			elog(ERROR, "%s has element type %u, not %u", names[i], ARR_ELEMTYPE(arr), types[i]);
		cols[i] = array_elements(arr, names[i], &len);
		if (i == 0)
			n = len;
		else if (len != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%s has %d elements but patients has %d", names[i], len, n),
					 errhint("The arrays are parallel: element i of each describes the same feasible pair.")));
	}
	if (n == 0)
		return (Datum) 0;

	pairs = palloc(n * sizeof(AidPair));
	for (i = 0; i < n; i++)
	{
		pairs[i].patient = DatumGetInt64(cols[0][i]);
		pairs[i].slot = DatumGetInt64(cols[1][i]);
		pairs[i].wait_days = DatumGetInt32(cols[2][i]);
		pairs[i].clock_start = DatumGetDateADT(cols[3][i]);
		pairs[i].slot_date = DatumGetDateADT(cols[4][i]);
		pairs[i].distance = DatumGetFloat8(cols[5][i]);
		pairs[i].saving = DatumGetInt32(cols[6][i]);
		/* a feasible pair is within the radius: its distance is finite */
		if (pairs[i].wait_days < 0 || pairs[i].saving < 0 || isnan(pairs[i].distance) ||
			isinf(pairs[i].distance) || pairs[i].distance < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pair %d (patient " INT64_FORMAT ", slot " INT64_FORMAT ") has wait %d, saving %d, distance %g",
							i + 1, pairs[i].patient, pairs[i].slot, pairs[i].wait_days,
							pairs[i].saving, pairs[i].distance),
					 errhint("Waits and savings are days, zero or more, and distances finite miles, zero or more; only feasible pairs are passed.")));
	}
	qsort(pairs, n, sizeof(AidPair), aid_pair_cmp);

	/* node numbers: patients 1..P in greedy order, slots P+1..P+Q by id */
	for (i = 0; i < n; i++)
	{
		if (i > 0 && pairs[i].patient == pairs[i - 1].patient && pairs[i].slot == pairs[i - 1].slot)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pair (patient " INT64_FORMAT ", slot " INT64_FORMAT ") is given twice",
							pairs[i].patient, pairs[i].slot)));
		if (i == 0 || pairs[i].patient != pairs[i - 1].patient)
			npatients++;
		pairs[i].pnode = npatients;
	}
	keys = palloc(n * sizeof(int64));
	for (i = 0; i < n; i++)
		keys[i] = pairs[i].slot;
	qsort(keys, n, sizeof(int64), int64_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || keys[i] != keys[i - 1])
			keys[nslots++] = keys[i];
	for (i = 0; i < n; i++)
	{
		int64	   *k = bsearch(&pairs[i].slot, keys, nslots, sizeof(int64), int64_cmp);

		pairs[i].snode = npatients + 1 + (int) (k - keys);
	}
	/* one wait and one clock start per patient, or the patient would be split */
	{
		int64	   *ids = palloc(n * sizeof(int64));
		int			distinct = 0;

		for (i = 0; i < n; i++)
			ids[i] = pairs[i].patient;
		qsort(ids, n, sizeof(int64), int64_cmp);
		for (i = 0; i < n; i++)
			if (i == 0 || ids[i] != ids[i - 1])
				distinct++;
		if (distinct != npatients)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a patient is given with different waits or clock starts in different pairs"),
					 errhint("The wait and clock start describe the patient, not the pair.")));
	}

	chosen = palloc0(n * sizeof(bool));
	if (!optimal)
	{
		bool	   *patient_done = palloc0((npatients + 1) * sizeof(bool));
		bool	   *slot_used = palloc0((npatients + nslots + 1) * sizeof(bool));

		for (i = 0; i < n; i++)
		{
			if (patient_done[pairs[i].pnode] || slot_used[pairs[i].snode])
				continue;
			chosen[i] = true;
			patient_done[pairs[i].pnode] = true;
			slot_used[pairs[i].snode] = true;
		}
	}
	else
	{
		int			nnodes = npatients + nslots + 2;
		int			source = 0;
		int			sink = nnodes - 1;
		AidNode    *g = palloc0(nnodes * sizeof(AidNode));
		AidCost    *dist = palloc(nnodes * sizeof(AidCost));
		bool	   *reached = palloc(nnodes * sizeof(bool));
		bool	   *queued = palloc(nnodes * sizeof(bool));
		int		   *prev_node = palloc(nnodes * sizeof(int));
		int		   *prev_edge = palloc(nnodes * sizeof(int));
		int		   *queue = palloc((nnodes + 1) * sizeof(int));
		int		   *pair_edge = palloc(n * sizeof(int));
		AidCost		zero = {0, 0};

		for (i = 1; i <= npatients; i++)
			add_edge(g, source, i, zero);
		for (i = npatients + 1; i <= npatients + nslots; i++)
			add_edge(g, i, sink, zero);
		for (i = 0; i < n; i++)
		{
			AidCost		c = {-(int64) pairs[i].wait_days, -(int64) pairs[i].saving};

			pair_edge[i] = g[pairs[i].pnode].n;
			add_edge(g, pairs[i].pnode, pairs[i].snode, c);
		}

		for (;;)
		{
			int			head = 0,
						tail = 0,
						v;

			CHECK_FOR_INTERRUPTS();
			for (v = 0; v < nnodes; v++)
			{
				reached[v] = false;
				queued[v] = false;
			}
			dist[source] = zero;
			reached[source] = true;
			queue[tail++] = source;
			queued[source] = true;
			/* queue-based Bellman-Ford: the residual graph has no negative cycle */
			while (head != tail)
			{
				int			u = queue[head];
				int			e;

				head = (head + 1) % (nnodes + 1);
				queued[u] = false;
				for (e = 0; e < g[u].n; e++)
				{
					AidEdge    *ed = &g[u].edges[e];
					AidCost		d;

					if (ed->cap == 0)
						continue;
					d = cost_add(dist[u], ed->cost);
					if (!reached[ed->to] || cost_less(d, dist[ed->to]))
					{
						dist[ed->to] = d;
						reached[ed->to] = true;
						prev_node[ed->to] = u;
						prev_edge[ed->to] = e;
						if (!queued[ed->to])
						{
							queue[tail] = ed->to;
							tail = (tail + 1) % (nnodes + 1);
							queued[ed->to] = true;
						}
					}
				}
			}
			if (!reached[sink] || !cost_less(dist[sink], zero))
				break;
			for (v = sink; v != source; v = prev_node[v])
			{
				AidEdge    *ed = &g[prev_node[v]].edges[prev_edge[v]];

				ed->cap -= 1;
				g[v].edges[ed->rev].cap += 1;
			}
		}
		for (i = 0; i < n; i++)
			chosen[i] = g[pairs[i].pnode].edges[pair_edge[i]].cap == 0;
	}

	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (!chosen[i])
			continue;
		values[0] = Int64GetDatum(pairs[i].patient);
		values[1] = Int64GetDatum(pairs[i].slot);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
