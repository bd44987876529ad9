/*
 * allocate.c
 *		ptl.allocate_theatre: fill theatre sessions from the admitted waiting
 *		list (docs/theatre.md).
 *
 * The problem is a multiple knapsack with eligibility: each case goes to at
 * most one session it is eligible for (specialty, named consultant, site,
 * equipment, date inside its readiness window), and the cases in a session
 * plus a turnaround between consecutive cases fit in the session's minutes.
 * Adding the turnaround to every case and to every capacity makes the
 * turnaround rule an ordinary capacity rule:
 *		sum(d_i) + (n - 1) * T <= C   <=>   sum(d_i + T) <= C + T.
 *
 * On top of that, the list's clinical order must be respected: a case is
 * never left unbooked while a case further down the list is booked into a
 * session the first was eligible for and would have fitted in, had the
 * later case not been there (no priority inversion).  Within that rule we
 * book as many minutes as possible, then as many patients as possible.
 *
 * Method.  Sessions that share no eligible case are independent, so the
 * eligibility graph is cut into connected components and each is solved on
 * its own:
 *
 *	- every component is first filled "priority first" (3.3): each case in
 *	  list order goes into the eligible session with room where it fits
 *	  best (least room left after it; ties to the earlier session).  A case
 *	  is left out only if it fits nowhere when its turn comes; sessions
 *	  only fill up afterwards, so removing any later case cannot make room
 *	  for it, and the result is free of inversions by construction.  Then
 *	  a relocation pass looks for a booked case that can move to another
 *	  of its sessions so that the gap it leaves, plus the gap already
 *	  there, takes more waiting-list minutes (filled again in list order);
 *	  a move is kept only if it books more minutes and leaves no inversion;
 *
 *	- a component of at most EXACT_MAX_CASES cases is then searched by
 *	  branch and bound, starting from that allocation as the best known:
 *	  cases in list order, each trying its sessions in date order and then
 *	  "unbooked", bounded by the free minutes left.  If the search ends
 *	  within its node budget the allocation is optimal (the regression
 *	  tests compare it with brute force); otherwise the best found, never
 *	  worse than the heuristic's, is kept;
 *
 *	- a component that is larger, or whose search did not finish, gets
 *	  large neighbourhoods: each session with free minutes is re-solved
 *	  exactly together with a partner session holding a case it could
 *	  take, everything else fixed (the same branch and bound, with the
 *	  inversion rule checked on the cases it unbooks wherever else they
 *	  could go);
 *
 *	- finally, keeping the same patients and minutes, a patient higher on
 *	  the list swaps into an earlier session held by one lower down when
 *	  both fit and stay eligible and no inversion appears (best fit alone
 *	  may have given the first patient the later date).
 *
 * Within a session, cases run in list order; start_offset_minutes is the
 * sum of the earlier cases' durations and turnarounds.
 *
 * The result does not depend on the order of the input arrays: cases are
 * ranked by (list_position, case_id) and sessions by (session_date,
 * session_id), complete keys ending in a unique id.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "common/common.h"

/*
 * Components with at most EXACT_MAX_CASES cases get branch and bound after
 * the heuristic, within a budget of search nodes per component and for the
 * whole call; past it the best allocation found so far (never worse than
 * the heuristic's) is kept.  A node costs well under a microsecond, so the
 * call's budget bounds the extra time to about a second.
 */
#define EXACT_MAX_CASES		128
#define EXACT_NODE_BUDGET	2000000L
#define CALL_NODE_BUDGET	20000000L

/*
 * Larger components get pairs of sessions re-solved exactly: up to
 * PAIR_PARTNERS partner sessions each, PAIR_MAX_CASES unbooked candidates,
 * PAIR_NODE_BUDGET nodes per pair (all from the call's budget).
 */
#define PAIR_PARTNERS		3
#define PAIR_MAX_CASES		24
#define PAIR_NODE_BUDGET	20000L
#define PAIR_CALL_BUDGET	4000000L

typedef struct Slot
{
	int64		session_id;
	DateADT		session_date;
	char	   *site_code;
	char	   *specialty;
	char	   *consultant;		/* NULL: no named consultant */
	int32		capacity;		/* planned minutes */
	char	  **equipment;
	int			n_equipment;
	int64		room;			/* capacity + turnaround - load, as it fills */
	int		   *cases;			/* booked case indices */
	int			n_cases;
	int			max_cases;
	int		   *candidates;		/* eligible case indices, in list order */
	int			n_candidates;
	int			component;
} Slot;

typedef struct Case
{
	int64		case_id;
	char	   *specialty;
	char	   *consultant;		/* NULL: any consultant of the specialty */
	char	  **site_codes;		/* NULL: any site */
	int			n_sites;
	int32		duration;
	int64		list_position;
	bool		has_ready_from;
	DateADT		ready_from;
	bool		has_ready_until;
	DateADT		ready_until;
	char	  **equipment;
	int			n_equipment;
	int			rank;			/* 0 = first on the list */
	int		   *eligible;		/* slot indices, in date order */
	int			n_eligible;
	int			slot;			/* booked slot index, or -1 */
} Case;

typedef struct Problem
{
	Slot	   *slots;			/* in (session_date, session_id) order */
	int			n_slots;
	Case	   *cases;			/* in (list_position, case_id) order */
	int			n_cases;
	int32		turnaround;
} Problem;

/* ---------------------------------------------------------------------
 * Reading the arguments
 * --------------------------------------------------------------------- */

static void
read_slots(ArrayType *arr, Problem *p)
{
	TupleDesc	desc;
	Datum	   *elems = composite_elements(arr, &p->n_slots, &desc, "theatre_slot");

	p->slots = palloc0(sizeof(Slot) * Max(p->n_slots, 1));
	for (int i = 0; i < p->n_slots; i++)
	{
		HeapTupleHeader th = DatumGetHeapTupleHeader(elems[i]);
		Slot	   *s = &p->slots[i];
		bool		isnull;
		Datum		d;

		d = element_attr(th, desc, 1, &isnull);
		if (isnull)
			required_attr_missing("theatre_slot", "session_id", i);
		s->session_id = DatumGetInt64(d);
		d = element_attr(th, desc, 2, &isnull);
		if (isnull)
			required_attr_missing("theatre_slot", "session_date", i);
		s->session_date = DatumGetDateADT(d);
		s->site_code = text_attr(th, desc, 3);
		s->specialty = text_attr(th, desc, 4);
		if (s->specialty == NULL)
			required_attr_missing("theatre_slot", "specialty", i);
		s->consultant = text_attr(th, desc, 5);
		d = element_attr(th, desc, 6, &isnull);
		if (isnull)
			required_attr_missing("theatre_slot", "capacity_minutes", i);
		s->capacity = DatumGetInt32(d);
		if (s->capacity < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("capacity_minutes %d of session %lld is negative",
							s->capacity, (long long) s->session_id),
					 errhint("A session's capacity is its planned minutes less any minutes already booked.")));
		s->equipment = text_array_attr(th, desc, 7, &s->n_equipment, &isnull);
		s->room = (int64) s->capacity + p->turnaround;
	}
}

static void
read_cases(ArrayType *arr, Problem *p)
{
	TupleDesc	desc;
	Datum	   *elems = composite_elements(arr, &p->n_cases, &desc, "theatre_case");

	p->cases = palloc0(sizeof(Case) * Max(p->n_cases, 1));
	for (int i = 0; i < p->n_cases; i++)
	{
		HeapTupleHeader th = DatumGetHeapTupleHeader(elems[i]);
		Case	   *c = &p->cases[i];
		bool		isnull;
		Datum		d;

		d = element_attr(th, desc, 1, &isnull);
		if (isnull)
			required_attr_missing("theatre_case", "case_id", i);
		c->case_id = DatumGetInt64(d);
		c->specialty = text_attr(th, desc, 2);
		if (c->specialty == NULL)
			required_attr_missing("theatre_case", "specialty", i);
		c->consultant = text_attr(th, desc, 3);
		c->site_codes = text_array_attr(th, desc, 4, &c->n_sites, &isnull);
		if (isnull)
			c->n_sites = -1;	/* any site */
		d = element_attr(th, desc, 5, &isnull);
		if (isnull)
			required_attr_missing("theatre_case", "duration_minutes", i);
		c->duration = DatumGetInt32(d);
		if (c->duration <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("duration_minutes %d of case %lld is not positive",
							c->duration, (long long) c->case_id)));
		d = element_attr(th, desc, 6, &isnull);
		if (isnull)
			required_attr_missing("theatre_case", "list_position", i);
		c->list_position = DatumGetInt64(d);
		d = element_attr(th, desc, 7, &isnull);
		c->has_ready_from = !isnull;
		if (!isnull)
			c->ready_from = DatumGetDateADT(d);
		d = element_attr(th, desc, 8, &isnull);
		c->has_ready_until = !isnull;
		if (!isnull)
			c->ready_until = DatumGetDateADT(d);
		c->equipment = text_array_attr(th, desc, 9, &c->n_equipment, &isnull);
		c->slot = -1;
	}
}

/* ---------------------------------------------------------------------
 * Ordering and eligibility
 * --------------------------------------------------------------------- */

static int
slot_cmp(const void *a, const void *b)
{
	const Slot *x = a;
	const Slot *y = b;

	if (x->session_date != y->session_date)
		return x->session_date < y->session_date ? -1 : 1;
	if (x->session_id != y->session_id)
		return x->session_id < y->session_id ? -1 : 1;
	return 0;
}

static int
case_cmp(const void *a, const void *b)
{
	const Case *x = a;
	const Case *y = b;

	if (x->list_position != y->list_position)
		return x->list_position < y->list_position ? -1 : 1;
	if (x->case_id != y->case_id)
		return x->case_id < y->case_id ? -1 : 1;
	return 0;
}

static void
reject_duplicates(Problem *p)
{
	int64	   *ids = palloc(sizeof(int64) * Max(Max(p->n_slots, p->n_cases), 1));
	int64		repeated;

	for (int i = 0; i < p->n_slots; i++)
		ids[i] = p->slots[i].session_id;
	if (repeated_id(ids, p->n_slots, &repeated))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("session_id %lld appears more than once in sessions", (long long) repeated)));
	for (int i = 0; i < p->n_cases; i++)
		ids[i] = p->cases[i].case_id;
	if (repeated_id(ids, p->n_cases, &repeated))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("case_id %lld appears more than once in cases", (long long) repeated)));
	pfree(ids);
}

/* The eligibility rules (docs/theatre.md, "Eligibility"). */
static bool
eligible(const Case *c, const Slot *s)
{
	if (strcmp(c->specialty, s->specialty) != 0)
		return false;
	if (c->consultant != NULL &&
		(s->consultant == NULL || strcmp(c->consultant, s->consultant) != 0))
		return false;
	if (c->n_sites >= 0 && !string_in(s->site_code, c->site_codes, c->n_sites))
		return false;
	if (c->has_ready_from && s->session_date < c->ready_from)
		return false;
	if (c->has_ready_until && s->session_date > c->ready_until)
		return false;
	for (int e = 0; e < c->n_equipment; e++)
		if (!string_in(c->equipment[e], s->equipment, s->n_equipment))
			return false;
	/* A case longer than the session could never be booked into it. */
	return c->duration <= s->capacity;
}

/* Slot indices ordered by (specialty, date order) for the eligibility scan. */
static int
slot_index_by_specialty(const void *a, const void *b, void *arg)
{
	const Problem *p = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	int			r = strcmp(p->slots[x].specialty, p->slots[y].specialty);

	if (r != 0)
		return r;
	return x < y ? -1 : (x > y ? 1 : 0);
}

static void
build_eligibility(Problem *p)
{
	int		   *by_specialty = palloc(sizeof(int) * Max(p->n_slots, 1));
	int		   *count = palloc0(sizeof(int) * Max(p->n_slots, 1));

	for (int i = 0; i < p->n_slots; i++)
		by_specialty[i] = i;
	qsort_arg(by_specialty, p->n_slots, sizeof(int), slot_index_by_specialty, p);

	for (int ci = 0; ci < p->n_cases; ci++)
	{
		Case	   *c = &p->cases[ci];
		int			lo = 0;
		int			hi = p->n_slots;

		CHECK_FOR_INTERRUPTS();
		/* first slot of the case's specialty */
		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (strcmp(p->slots[by_specialty[mid]].specialty, c->specialty) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		c->eligible = NULL;
		for (int k = lo; k < p->n_slots &&
			 strcmp(p->slots[by_specialty[k]].specialty, c->specialty) == 0; k++)
		{
			int			si = by_specialty[k];

			if (!eligible(c, &p->slots[si]))
				continue;
			if (c->eligible == NULL)
				c->eligible = palloc(sizeof(int) * (p->n_slots - k));
			c->eligible[c->n_eligible++] = si;
			count[si]++;
		}
	}

	/* Reverse lists: each session's candidates, in list order. */
	for (int si = 0; si < p->n_slots; si++)
	{
		p->slots[si].candidates = palloc(sizeof(int) * Max(count[si], 1));
		p->slots[si].max_cases = 4;
		p->slots[si].cases = palloc(sizeof(int) * p->slots[si].max_cases);
	}
	for (int ci = 0; ci < p->n_cases; ci++)
		for (int e = 0; e < p->cases[ci].n_eligible; e++)
		{
			Slot	   *s = &p->slots[p->cases[ci].eligible[e]];

			s->candidates[s->n_candidates++] = ci;
		}
}

/* ---------------------------------------------------------------------
 * Booking state
 * --------------------------------------------------------------------- */

static inline int64
need(const Problem *p, const Case *c)
{
	return (int64) c->duration + p->turnaround;
}

/* Book case ci into slot si, keeping the slot's cases in list order. */
static void
book(Problem *p, int ci, int si)
{
	Slot	   *s = &p->slots[si];
	int			k;

	if (s->n_cases == s->max_cases)
	{
		s->max_cases *= 2;
		s->cases = repalloc(s->cases, sizeof(int) * s->max_cases);
	}
	for (k = s->n_cases; k > 0 && s->cases[k - 1] > ci; k--)
		s->cases[k] = s->cases[k - 1];
	s->cases[k] = ci;
	s->n_cases++;
	s->room -= need(p, &p->cases[ci]);
	p->cases[ci].slot = si;
}

static void
unbook(Problem *p, int ci)
{
	Slot	   *s = &p->slots[p->cases[ci].slot];
	int			k = 0;

	while (s->cases[k] != ci)
		k++;
	for (; k < s->n_cases - 1; k++)
		s->cases[k] = s->cases[k + 1];
	s->n_cases--;
	s->room += need(p, &p->cases[ci]);
	p->cases[ci].slot = -1;
}

/*
 * Does slot si hold an inversion?  An unbooked candidate u is inverted if
 * some booked case y later on the list (index > u, cases being in list
 * order) could give way to it: room + need(y) >= need(u).  The booked
 * cases' needs are scanned from the end, keeping the largest need of the
 * cases after u, so the check is linear in candidates plus cases.
 */
static bool
slot_has_inversion(const Problem *p, int si)
{
	const Slot *s = &p->slots[si];
	int64		largest_later = -1;
	int			b = s->n_cases - 1;

	for (int k = s->n_candidates - 1; k >= 0; k--)
	{
		int			u = s->candidates[k];

		while (b >= 0 && s->cases[b] > u)
		{
			largest_later = Max(largest_later, need(p, &p->cases[s->cases[b]]));
			b--;
		}
		if (p->cases[u].slot < 0 && largest_later >= 0 &&
			s->room + largest_later >= need(p, &p->cases[u]))
			return true;
	}
	return false;
}

/* Fill slot si's room with unbooked candidates, in list order. */
static void
fill_slot(Problem *p, int si, int *booked, int *n_booked)
{
	Slot	   *s = &p->slots[si];

	for (int k = 0; k < s->n_candidates && s->room > p->turnaround; k++)
	{
		int			u = s->candidates[k];

		if (p->cases[u].slot < 0 && need(p, &p->cases[u]) <= s->room)
		{
			book(p, u, si);
			if (booked)
				booked[(*n_booked)++] = u;
		}
	}
}

/* ---------------------------------------------------------------------
 * Branch and bound for small components
 * --------------------------------------------------------------------- */

typedef struct Search
{
	Problem    *p;
	int		   *cases;			/* the component's cases, in list order */
	int			n_cases;
	int		   *slots;			/* the component's slots */
	int			n_slots;
	int64	   *remaining;		/* minutes of the cases from k on */
	int64		minutes;
	int			patients;
	int64		free_minutes;	/* sum over slots of room - turnaround, >= 0 */
	int64		best_minutes;
	int			best_patients;
	int		   *best;			/* best slot per component case (-1: none) */
	const bool *allowed;		/* slots the cases may go to (NULL: any) */
	int		   *orig;			/* each case's slot before the search */
	long		nodes;
	long		budget;			/* nodes this search may visit */
	bool		exhausted;		/* budget spent: best is not proven */
} Search;

/*
 * Is unbooked case u inverted in a session outside the search?  Those
 * sessions are fixed; only a case the search unbooked can be newly
 * inverted there.
 */
static bool
inverted_outside(const Problem *p, const bool *allowed, int u)
{
	const Case *cu = &p->cases[u];

	for (int e = 0; e < cu->n_eligible; e++)
	{
		const Slot *s = &p->slots[cu->eligible[e]];

		if (allowed[cu->eligible[e]])
			continue;
		for (int b = s->n_cases - 1; b >= 0 && s->cases[b] > u; b--)
			if (s->room + need(p, &p->cases[s->cases[b]]) >= need(p, cu))
				return true;
	}
	return false;
}

static inline int64
slot_free(const Problem *p, int si)
{
	return Max(0, p->slots[si].room - p->turnaround);
}

/*
 * Cases are decided in list order, each trying its sessions in date order
 * and then "unbooked"; the first best leaf wins, so among equal solutions
 * the one booking higher-priority patients earlier is kept.  Bound: the
 * minutes still to come are at most the remaining cases' minutes and at
 * most the free minutes left in the sessions (each further case needs its
 * turnaround too).  Inversions are checked at the leaves: a later case
 * can always still fill a session enough to make one disappear.
 */
static void
search(Search *st, int k)
{
	Problem    *p = st->p;
	int64		bound;

	if (st->exhausted)
		return;
	if ((++st->nodes & 4095) == 0)
		CHECK_FOR_INTERRUPTS();
	if (st->nodes > st->budget)
	{
		st->exhausted = true;
		return;
	}

	if (k == st->n_cases)
	{
		if (st->minutes < st->best_minutes ||
			(st->minutes == st->best_minutes && st->patients <= st->best_patients))
			return;
		for (int j = 0; j < st->n_slots; j++)
			if (slot_has_inversion(p, st->slots[j]))
				return;
		if (st->allowed)
			for (int j = 0; j < st->n_cases; j++)
				if (st->orig[j] >= 0 && p->cases[st->cases[j]].slot < 0 &&
					inverted_outside(p, st->allowed, st->cases[j]))
					return;
		st->best_minutes = st->minutes;
		st->best_patients = st->patients;
		for (int j = 0; j < st->n_cases; j++)
			st->best[j] = p->cases[st->cases[j]].slot;
		return;
	}

	bound = st->minutes + Min(st->remaining[k], st->free_minutes);
	if (bound < st->best_minutes ||
		(bound == st->best_minutes && st->patients + (st->n_cases - k) <= st->best_patients))
		return;

	{
		int			ci = st->cases[k];
		Case	   *c = &p->cases[ci];

		for (int e = 0; e < c->n_eligible; e++)
		{
			int			si = c->eligible[e];
			int64		used;

			if (p->slots[si].room < need(p, c) || (st->allowed && !st->allowed[si]))
				continue;
			used = slot_free(p, si);
			book(p, ci, si);
			used -= slot_free(p, si);
			st->free_minutes -= used;
			st->minutes += c->duration;
			st->patients++;
			search(st, k + 1);
			st->minutes -= c->duration;
			st->patients--;
			unbook(p, ci);
			st->free_minutes += used;
		}
		search(st, k + 1);
	}
}

/*
 * Improve on the current allocation of some cases by branch and bound,
 * starting from it as the best known.  The cases may go to the given slots
 * only (allowed marks them; NULL when they are a whole component); cases
 * elsewhere stay where they are.  Returns true if the search finished,
 * i.e. the allocation left in place is optimal for these cases and slots.
 */
static bool
improve_exactly(Problem *p, int *cases, int n_cases, int *slots, int n_slots,
				const bool *allowed, long node_budget, long *call_budget)
{
	Search		st;

	st.p = p;
	st.cases = cases;
	st.n_cases = n_cases;
	st.slots = slots;
	st.n_slots = n_slots;
	st.allowed = allowed;
	st.remaining = palloc(sizeof(int64) * (n_cases + 1));
	st.remaining[n_cases] = 0;
	for (int k = n_cases - 1; k >= 0; k--)
		st.remaining[k] = st.remaining[k + 1] + p->cases[cases[k]].duration;
	st.best = palloc(sizeof(int) * n_cases);
	st.orig = palloc(sizeof(int) * n_cases);
	st.best_minutes = 0;
	st.best_patients = 0;
	for (int k = 0; k < n_cases; k++)
	{
		Case	   *c = &p->cases[cases[k]];

		st.best[k] = st.orig[k] = c->slot;
		if (c->slot >= 0)
		{
			st.best_minutes += c->duration;
			st.best_patients++;
		}
	}
	for (int k = 0; k < n_cases; k++)
		if (p->cases[cases[k]].slot >= 0)
			unbook(p, cases[k]);

	st.minutes = 0;
	st.patients = 0;
	st.free_minutes = 0;
	for (int j = 0; j < n_slots; j++)
		st.free_minutes += slot_free(p, slots[j]);
	st.nodes = 0;
	st.budget = Min(node_budget, *call_budget);
	st.exhausted = false;

	search(&st, 0);
	*call_budget -= Min(st.nodes, *call_budget);

	/* Leaves are restored on the way back up: every case is unbooked here. */
	for (int k = 0; k < n_cases; k++)
		if (st.best[k] >= 0)
			book(p, cases[k], st.best[k]);
	pfree(st.remaining);
	pfree(st.best);
	pfree(st.orig);
	return !st.exhausted;
}

/*
 * Large neighbourhoods for components too big to search whole: for each
 * session with free minutes, and each other session holding a case it could
 * take, re-solve the two sessions exactly with everything else fixed.  The
 * cases of the sub-problem are those booked in the pair and the first
 * unbooked candidates of either, in list order; the inversion rule is
 * checked on both sessions' candidates and, for cases the search unbooks,
 * on their other sessions too.
 */
static void
improve_pairs(Problem *p, int *comp_slots, int n_slots, bool *allowed, long *call_budget)
{
	int		   *sub = palloc(sizeof(int) * (2 * PAIR_MAX_CASES + 2));

	for (int round = 0; round < 2; round++)
	{
		bool		improved = false;

		for (int a = 0; a < n_slots && *call_budget > 0; a++)
		{
			int			k = comp_slots[a];
			int			partners[PAIR_PARTNERS];
			int			n_partners = 0;

			CHECK_FOR_INTERRUPTS();
			if (slot_free(p, k) == 0)
				continue;
			/* sessions holding a case that session k could take */
			for (int c = 0; c < p->slots[k].n_candidates && n_partners < PAIR_PARTNERS; c++)
			{
				int			l = p->cases[p->slots[k].candidates[c]].slot;
				bool		seen = (l < 0 || l == k);

				for (int q = 0; q < n_partners && !seen; q++)
					seen = (partners[q] == l);
				if (!seen)
					partners[n_partners++] = l;
			}
			for (int q = 0; q < n_partners && *call_budget > 0; q++)
			{
				int			l = partners[q];
				int			pair[2] = {k, l};
				int			n_sub = 0;
				int			n_free = 0;
				int			i = 0;
				int			j = 0;
				int64		before = 0;
				int64		after = 0;
				const Slot *sk = &p->slots[k];
				const Slot *sl = &p->slots[l];

				/* merge the two candidate lists (both in list order) */
				while (i < sk->n_candidates || j < sl->n_candidates)
				{
					int			ci;
					int			at;

					if (j >= sl->n_candidates ||
						(i < sk->n_candidates && sk->candidates[i] <= sl->candidates[j]))
					{
						ci = sk->candidates[i++];
						if (j < sl->n_candidates && sl->candidates[j] == ci)
							j++;
					}
					else
						ci = sl->candidates[j++];
					at = p->cases[ci].slot;
					if (at == k || at == l)
						sub[n_sub++] = ci;
					else if (at < 0 && n_free < PAIR_MAX_CASES)
					{
						sub[n_sub++] = ci;
						n_free++;
					}
					if (n_sub >= 2 * PAIR_MAX_CASES)
						break;
				}
				for (int x = 0; x < sk->n_cases; x++)
					before += p->cases[sk->cases[x]].duration;
				for (int x = 0; x < sl->n_cases; x++)
					before += p->cases[sl->cases[x]].duration;

				allowed[k] = allowed[l] = true;
				improve_exactly(p, sub, n_sub, pair, 2, allowed, PAIR_NODE_BUDGET, call_budget);
				allowed[k] = allowed[l] = false;

				for (int x = 0; x < sk->n_cases; x++)
					after += p->cases[sk->cases[x]].duration;
				for (int x = 0; x < sl->n_cases; x++)
					after += p->cases[sl->cases[x]].duration;
				if (after > before)
					improved = true;
			}
		}
		if (!improved)
			break;
	}
	pfree(sub);
}

/* ---------------------------------------------------------------------
 * Priority first, then relocation, for large components
 * --------------------------------------------------------------------- */

static void
solve_greedy(Problem *p, int *comp_cases, int n_cases, int *comp_slots, int n_slots)
{
	int		   *added = palloc(sizeof(int) * Max(p->n_cases, 1));
	bool		improved = true;
	int			rounds = 0;

	for (int k = 0; k < n_cases; k++)
	{
		Case	   *c = &p->cases[comp_cases[k]];
		int			best = -1;

		if ((k & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		for (int e = 0; e < c->n_eligible; e++)
		{
			int64		room = p->slots[c->eligible[e]].room;

			if (room >= need(p, c) && (best < 0 || room < p->slots[best].room))
				best = c->eligible[e];
		}
		if (best >= 0)
			book(p, comp_cases[k], best);
	}

	/*
	 * Relocation.  For a session k and one of its cases x, move x to the
	 * first other eligible session with room, refill k in list order, and
	 * keep the move if it booked more minutes without an inversion in k.
	 * (The receiving session only gets fuller, and every session was full
	 * to every unbooked case before, so it cannot gain an inversion.)
	 */
	while (improved && rounds++ < 4)
	{
		improved = false;
		for (int j = 0; j < n_slots; j++)
		{
			int			si = comp_slots[j];
			Slot	   *s = &p->slots[si];

			CHECK_FOR_INTERRUPTS();
			for (int b = 0; b < s->n_cases; b++)
			{
				int			x = s->cases[b];
				Case	   *cx = &p->cases[x];
				int			to = -1;
				int			n_added = 0;
				int64		gained = 0;

				for (int e = 0; e < cx->n_eligible && to < 0; e++)
					if (cx->eligible[e] != si &&
						p->slots[cx->eligible[e]].room >= need(p, cx))
						to = cx->eligible[e];
				if (to < 0)
					continue;

				unbook(p, x);
				book(p, x, to);
				fill_slot(p, si, added, &n_added);
				for (int a = 0; a < n_added; a++)
					gained += p->cases[added[a]].duration;
				if (gained > 0 && !slot_has_inversion(p, si))
				{
					/* the cases just added can themselves be moved later */
					improved = true;
					b = -1;		/* the session's case list changed: rescan */
					continue;
				}
				for (int a = 0; a < n_added; a++)
					unbook(p, added[a]);
				unbook(p, x);
				book(p, x, si);
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * Earlier dates for patients higher on the list
 * --------------------------------------------------------------------- */

static bool
is_eligible_for(const Case *c, int si)
{
	int			lo = 0;
	int			hi = c->n_eligible;

	/* eligible[] is in slot order, which is date order */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (c->eligible[mid] < si)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_eligible && c->eligible[lo] == si;
}

/*
 * The same patients and minutes, but a patient higher on the list never
 * waits for a later session while a patient lower down has an earlier one
 * they could swap with: for each booked case in list order, the first
 * earlier session holding a lower-placed case that can take its place (both
 * eligible, both fit, no inversion either side) is swapped into.  Booked
 * minutes and patients do not change, so an optimum stays optimal.
 */
static void
earlier_dates_first(Problem *p, int *comp_cases, int n_cases)
{
	for (int k = 0; k < n_cases; k++)
	{
		int			i = comp_cases[k];
		Case	   *ci = &p->cases[i];
		bool		swapped = false;

		if ((k & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (ci->slot < 0)
			continue;
		for (int e = 0; e < ci->n_eligible && !swapped; e++)
		{
			int			sj = ci->eligible[e];
			int			si = ci->slot;

			if (p->slots[sj].session_date >= p->slots[si].session_date)
				break;
			for (int b = 0; b < p->slots[sj].n_cases && !swapped; b++)
			{
				int			j = p->slots[sj].cases[b];
				Case	   *cj = &p->cases[j];

				if (j < i ||
					p->slots[sj].room + need(p, cj) < need(p, ci) ||
					p->slots[si].room + need(p, ci) < need(p, cj) ||
					!is_eligible_for(cj, si))
					continue;
				unbook(p, i);
				unbook(p, j);
				book(p, i, sj);
				book(p, j, si);
				if (!slot_has_inversion(p, sj) && !slot_has_inversion(p, si))
					swapped = true;
				else
				{
					unbook(p, i);
					unbook(p, j);
					book(p, i, si);
					book(p, j, sj);
				}
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * Entry point
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(ptl_allocate_theatre);

Datum
ptl_allocate_theatre(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	Problem		p;
	int		   *parent;
	int		   *comp_cases;
	int		   *comp_slots;
	int		   *case_start;
	int		   *slot_start;
	int		   *fill;
	bool	   *allowed;
	long		call_budget = CALL_NODE_BUDGET;
	long		pair_budget = PAIR_CALL_BUDGET;

	InitMaterializedSRF(fcinfo, 0);

	p.turnaround = PG_GETARG_INT32(2);
	if (p.turnaround < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("turnaround_minutes %d is negative", p.turnaround)));

	work = AllocSetContextCreate(CurrentMemoryContext, "allocate_theatre",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	read_slots(PG_GETARG_ARRAYTYPE_P(0), &p);
	read_cases(PG_GETARG_ARRAYTYPE_P(1), &p);
	qsort(p.slots, p.n_slots, sizeof(Slot), slot_cmp);
	qsort(p.cases, p.n_cases, sizeof(Case), case_cmp);
	for (int i = 0; i < p.n_cases; i++)
		p.cases[i].rank = i;
	reject_duplicates(&p);
	build_eligibility(&p);

	/* Components: union the sessions each case is eligible for. */
	parent = palloc(sizeof(int) * Max(p.n_slots, 1));
	for (int i = 0; i < p.n_slots; i++)
		parent[i] = i;
	for (int ci = 0; ci < p.n_cases; ci++)
		for (int e = 1; e < p.cases[ci].n_eligible; e++)
		{
			int			a = find_root(parent, p.cases[ci].eligible[0]);
			int			b = find_root(parent, p.cases[ci].eligible[e]);

			if (a != b)
				parent[Max(a, b)] = Min(a, b);
		}
	for (int i = 0; i < p.n_slots; i++)
		p.slots[i].component = find_root(parent, i);

	/* Bucket cases and slots by component (counting sort keeps the order). */
	case_start = palloc0(sizeof(int) * (p.n_slots + 1));
	slot_start = palloc0(sizeof(int) * (p.n_slots + 1));
	for (int ci = 0; ci < p.n_cases; ci++)
		if (p.cases[ci].n_eligible > 0)
			case_start[p.slots[p.cases[ci].eligible[0]].component + 1]++;
	for (int i = 0; i < p.n_slots; i++)
		slot_start[p.slots[i].component + 1]++;
	for (int i = 0; i < p.n_slots; i++)
	{
		case_start[i + 1] += case_start[i];
		slot_start[i + 1] += slot_start[i];
	}
	comp_cases = palloc(sizeof(int) * Max(p.n_cases, 1));
	comp_slots = palloc(sizeof(int) * Max(p.n_slots, 1));
	fill = palloc0(sizeof(int) * (p.n_slots + 1));
	for (int ci = 0; ci < p.n_cases; ci++)
		if (p.cases[ci].n_eligible > 0)
		{
			int			r = p.slots[p.cases[ci].eligible[0]].component;

			comp_cases[case_start[r] + fill[r]++] = ci;
		}
	memset(fill, 0, sizeof(int) * (p.n_slots + 1));
	for (int i = 0; i < p.n_slots; i++)
	{
		int			r = p.slots[i].component;

		comp_slots[slot_start[r] + fill[r]++] = i;
	}

	allowed = palloc0(sizeof(bool) * Max(p.n_slots, 1));
	for (int r = 0; r < p.n_slots; r++)
	{
		int			nc = case_start[r + 1] - case_start[r];
		int			ns = slot_start[r + 1] - slot_start[r];

		if (nc == 0)
			continue;
		solve_greedy(&p, comp_cases + case_start[r], nc, comp_slots + slot_start[r], ns);
		if (nc <= EXACT_MAX_CASES && call_budget > 0 &&
			improve_exactly(&p, comp_cases + case_start[r], nc, comp_slots + slot_start[r], ns,
							NULL, EXACT_NODE_BUDGET, &call_budget))
			;					/* proven optimal */
		else if (pair_budget > 0)
			improve_pairs(&p, comp_slots + slot_start[r], ns, allowed, &pair_budget);
		earlier_dates_first(&p, comp_cases + case_start[r], nc);
	}

	/* Emit booked cases, session by session, in running order. */
	MemoryContextSwitchTo(old);
	for (int si = 0; si < p.n_slots; si++)
	{
		Slot	   *s = &p.slots[si];
		int64		offset = 0;

		for (int k = 0; k < s->n_cases; k++)
		{
			Case	   *c = &p.cases[s->cases[k]];
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			values[0] = Int64GetDatum(c->case_id);
			values[1] = Int64GetDatum(s->session_id);
			values[2] = Int32GetDatum((int32) offset);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			offset += need(&p, c);
		}
	}
	MemoryContextDelete(work);
	PG_RETURN_NULL();
}
