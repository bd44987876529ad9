/*
 * allocate_clinic.c
 *		ptl.allocate_clinic: fill outpatient clinic slots from the
 *		non-admitted list and the follow-up list (docs/outpatients.md,
 *		"Filling clinic slots").
 *
 * A clinic slot takes one patient, so where the theatre allocator
 * (src/theatre/allocate.c) solves a knapsack, this is a bipartite
 * matching: each patient goes to at most one free slot they are eligible
 * for (specialty, named clinician, required clinic, site, date inside
 * their window, slot type new / follow-up / either, face to face when
 * they need it).  Slots of one session with the same type and setting are
 * interchangeable, so they are pooled into a group with a capacity; the
 * matching is then a b-matching between patients and groups.
 *
 * The list's order is kept as the theatre allocator keeps it: a patient
 * is never left unbooked while a patient further down the list is booked
 * into a slot the first was eligible for (no priority inversion).  With
 * slots of one patient each, the sets of patients that can be booked
 * together are the independent sets of a transversal matroid, and the
 * greedy rule -- take the patients in list order, keep each one whom some
 * rearrangement of those kept so far can still make room for -- gives at
 * once the most patients that can be booked (every basis of a matroid has
 * the same size) and no inversion (were an unbooked u eligible for the
 * slot of a later j, swapping u in for j would have made room for u when
 * its turn came).  The result is therefore optimal, not a heuristic, and
 * any arrangement of the same patients is free of inversions.
 *
 * "Can still make room" is an augmenting path: from the patient's groups,
 * a breadth-first search moves booked patients to other groups of theirs
 * until one with a free slot is reached.  When a search fails, every
 * group it reached is full and every patient booked there can only go to
 * groups it reached (or closed before), so no later search can get
 * through them, nor change who is in them: they are marked closed and
 * never searched again, which keeps the whole fill close to linear in the
 * eligibility lists.
 *
 * Then dates: among arrangements of the same patients, a patient higher
 * on the list does not wait for a later date while a free slot, or the
 * slot of a patient lower down who could take theirs, is earlier.  Each
 * booked patient, in list order, moves to the earliest such slot; the
 * pass repeats until nothing moves (each move gives an earlier date to a
 * patient higher on the list, so it ends).  Within a group, slots go in
 * list order: the earlier slot to the patient higher on the list.
 *
 * The result does not depend on the order of the input arrays: patients
 * are ranked by (list_rank, patient_key) and groups by (session_date,
 * session_id, slot type, setting, first slot_id).
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "common/common.h"

#define NEED_NEW		1
#define NEED_FOLLOW_UP	2

typedef struct Offer
{
	int64		slot_id;
	int64		session_id;
	DateADT		session_date;
	char	   *clinic_code;
	char	   *site_code;
	char	   *specialty;
	char	   *clinician;		/* NULL: none named */
	int			kinds;			/* NEED_NEW | NEED_FOLLOW_UP */
	bool		face_to_face;
	/* the strings as numbers (intern_strings); -1 for NULL */
	int			clinic_no;
	int			site_no;
	int			specialty_no;
	int			clinician_no;
} Offer;

typedef struct SlotGroup
{
	const Offer *first;			/* its first offer: where, when, whose */
	int64	   *slot_ids;		/* in slot_id order */
	int			capacity;
	int		   *booked;			/* patient indices */
	int			n_booked;
	int			last_booked;	/* highest patient index booked (-1: none) */
	int64		changed_at;		/* Problem.clock at its last booking change */
	bool		closed;			/* full, and no search can get through it */
	int			stamp;			/* search that last reached it */
	int			via_group;		/* the search's step into it */
	int			via_patient;
} SlotGroup;

typedef struct Patient
{
	int64		patient_key;
	int			need;
	char	   *specialty;
	char	   *clinician;		/* NULL: any clinician of the specialty */
	char	   *clinic_code;	/* NULL: any clinic */
	char	  **site_codes;		/* NULL: any site */
	int			n_sites;
	bool		face_to_face;
	int64		list_rank;
	bool		has_ready_from;
	DateADT		ready_from;
	bool		has_ready_until;
	DateADT		ready_until;
	/* the strings as numbers (intern_strings); -1 for NULL */
	int			specialty_no;
	int			clinician_no;
	int			clinic_no;
	int		   *site_nos;
	int		   *eligible;		/* group indices, in date order */
	int			n_eligible;
	int			group;			/* booked group, or -1 */
	int64		moved_at;		/* Problem.clock when last booked or moved */
	int64		checked_at;		/* Problem.clock when the date pass last looked */
} Patient;

typedef struct Problem
{
	Offer	   *offers;
	int			n_offers;
	SlotGroup	   *groups;			/* in date order */
	int			n_groups;
	Patient    *patients;		/* in list order */
	int			n_patients;
	int64		clock;			/* counts bookings and moves */
} Problem;

/* ---------------------------------------------------------------------
 * Reading the arguments
 * --------------------------------------------------------------------- */

static int
parse_slot_type(const char *s, int64 slot_id)
{
	if (strcmp(s, "new") == 0)
		return NEED_NEW;
	if (strcmp(s, "follow_up") == 0)
		return NEED_FOLLOW_UP;
	if (strcmp(s, "either") == 0)
		return NEED_NEW | NEED_FOLLOW_UP;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("slot_type \"%s\" of slot %lld is not new, follow_up or either",
					s, (long long) slot_id)));
	return 0;					/* keep the compiler quiet */
}

static void
read_offers(ArrayType *arr, Problem *p)
{
	TupleDesc	desc;
	Datum	   *elems = composite_elements(arr, &p->n_offers, &desc, "clinic_slot_offer");

	p->offers = palloc0(sizeof(Offer) * Max(p->n_offers, 1));
	for (int i = 0; i < p->n_offers; i++)
	{
		HeapTupleHeader th = DatumGetHeapTupleHeader(elems[i]);
		Offer	   *o = &p->offers[i];
		bool		isnull;
		Datum		d;
		char	   *type;

		d = element_attr(th, desc, 1, &isnull);
		if (isnull)
			required_attr_missing("clinic_slot_offer", "slot_id", i);
		o->slot_id = DatumGetInt64(d);
		d = element_attr(th, desc, 2, &isnull);
		if (isnull)
			required_attr_missing("clinic_slot_offer", "session_id", i);
		o->session_id = DatumGetInt64(d);
		d = element_attr(th, desc, 3, &isnull);
		if (isnull)
			required_attr_missing("clinic_slot_offer", "session_date", i);
		o->session_date = DatumGetDateADT(d);
		o->clinic_code = text_attr(th, desc, 4);
		if (o->clinic_code == NULL)
			required_attr_missing("clinic_slot_offer", "clinic_code", i);
		o->site_code = text_attr(th, desc, 5);
		o->specialty = text_attr(th, desc, 6);
		if (o->specialty == NULL)
			required_attr_missing("clinic_slot_offer", "specialty", i);
		o->clinician = text_attr(th, desc, 7);
		type = text_attr(th, desc, 8);
		if (type == NULL)
			required_attr_missing("clinic_slot_offer", "slot_type", i);
		o->kinds = parse_slot_type(type, o->slot_id);
		d = element_attr(th, desc, 9, &isnull);
		if (isnull)
			required_attr_missing("clinic_slot_offer", "face_to_face", i);
		o->face_to_face = DatumGetBool(d);
	}
}

static void
read_patients(ArrayType *arr, Problem *p)
{
	TupleDesc	desc;
	Datum	   *elems = composite_elements(arr, &p->n_patients, &desc, "clinic_patient");

	p->patients = palloc0(sizeof(Patient) * Max(p->n_patients, 1));
	for (int i = 0; i < p->n_patients; i++)
	{
		HeapTupleHeader th = DatumGetHeapTupleHeader(elems[i]);
		Patient    *c = &p->patients[i];
		bool		isnull;
		Datum		d;
		char	   *need;

		d = element_attr(th, desc, 1, &isnull);
		if (isnull)
			required_attr_missing("clinic_patient", "patient_key", i);
		c->patient_key = DatumGetInt64(d);
		need = text_attr(th, desc, 2);
		if (need == NULL)
			required_attr_missing("clinic_patient", "need", i);
		if (strcmp(need, "new") == 0)
			c->need = NEED_NEW;
		else if (strcmp(need, "follow_up") == 0)
			c->need = NEED_FOLLOW_UP;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("need \"%s\" of patient %lld is not new or follow_up",
							need, (long long) c->patient_key),
					 errhint("A patient needs a new (first) or a follow-up appointment; "
							 "slots of type either take both.")));
		c->specialty = text_attr(th, desc, 3);
		if (c->specialty == NULL)
			required_attr_missing("clinic_patient", "specialty", i);
		c->clinician = text_attr(th, desc, 4);
		c->clinic_code = text_attr(th, desc, 5);
		c->site_codes = text_array_attr(th, desc, 6, &c->n_sites, &isnull);
		if (isnull)
			c->n_sites = -1;	/* any site */
		d = element_attr(th, desc, 7, &isnull);
		c->face_to_face = !isnull && DatumGetBool(d);
		d = element_attr(th, desc, 8, &isnull);
		if (isnull)
			required_attr_missing("clinic_patient", "list_rank", i);
		c->list_rank = DatumGetInt64(d);
		d = element_attr(th, desc, 9, &isnull);
		c->has_ready_from = !isnull;
		if (!isnull)
			c->ready_from = DatumGetDateADT(d);
		d = element_attr(th, desc, 10, &isnull);
		c->has_ready_until = !isnull;
		if (!isnull)
			c->ready_until = DatumGetDateADT(d);
		c->group = -1;
		c->checked_at = -1;
	}
}

/* ---------------------------------------------------------------------
 * Strings as numbers: the eligibility test compares integers
 * --------------------------------------------------------------------- */

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
string_no(char **sorted, int n, const char *s)
{
	char	  **hit;

	if (s == NULL)
		return -1;
	hit = bsearch(&s, sorted, n, sizeof(char *), cstring_cmp);
	Assert(hit != NULL);
	return (int) (hit - sorted);
}

/*
 * Number every string the offers and patients name (specialty, clinician,
 * clinic, site), in one sorted dictionary: equal strings get equal numbers.
 */
static void
intern_strings(Problem *p)
{
	int			max = 4 * p->n_offers + 3 * p->n_patients;
	int			n = 0;
	int			u = 0;
	char	  **all;

	for (int i = 0; i < p->n_patients; i++)
		max += Max(p->patients[i].n_sites, 0);
	all = palloc(sizeof(char *) * Max(max, 1));
	for (int i = 0; i < p->n_offers; i++)
	{
		Offer	   *o = &p->offers[i];

		all[n++] = o->clinic_code;
		all[n++] = o->specialty;
		if (o->site_code)
			all[n++] = o->site_code;
		if (o->clinician)
			all[n++] = o->clinician;
	}
	for (int i = 0; i < p->n_patients; i++)
	{
		Patient    *c = &p->patients[i];

		all[n++] = c->specialty;
		if (c->clinician)
			all[n++] = c->clinician;
		if (c->clinic_code)
			all[n++] = c->clinic_code;
		for (int k = 0; k < c->n_sites; k++)
			all[n++] = c->site_codes[k];
	}
	qsort(all, n, sizeof(char *), cstring_cmp);
	for (int i = 0; i < n; i++)
		if (u == 0 || strcmp(all[u - 1], all[i]) != 0)
			all[u++] = all[i];

	for (int i = 0; i < p->n_offers; i++)
	{
		Offer	   *o = &p->offers[i];

		o->clinic_no = string_no(all, u, o->clinic_code);
		o->site_no = string_no(all, u, o->site_code);
		o->specialty_no = string_no(all, u, o->specialty);
		o->clinician_no = string_no(all, u, o->clinician);
	}
	for (int i = 0; i < p->n_patients; i++)
	{
		Patient    *c = &p->patients[i];

		c->specialty_no = string_no(all, u, c->specialty);
		c->clinician_no = string_no(all, u, c->clinician);
		c->clinic_no = string_no(all, u, c->clinic_code);
		c->site_nos = palloc(sizeof(int) * Max(c->n_sites, 1));
		for (int k = 0; k < c->n_sites; k++)
			c->site_nos[k] = string_no(all, u, c->site_codes[k]);
	}
}

/* ---------------------------------------------------------------------
 * Ordering, groups and eligibility
 * --------------------------------------------------------------------- */

static int
int_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Offers by session, then type and setting: each group is a run of them. */
static int
offer_cmp(const void *a, const void *b)
{
	const Offer *x = a;
	const Offer *y = b;

	if (x->session_id != y->session_id)
		return x->session_id < y->session_id ? -1 : 1;
	if (x->kinds != y->kinds)
		return x->kinds < y->kinds ? -1 : 1;
	if (x->face_to_face != y->face_to_face)
		return x->face_to_face ? 1 : -1;
	if (x->slot_id != y->slot_id)
		return x->slot_id < y->slot_id ? -1 : 1;
	return 0;
}

/* Groups in date order (then session, type, setting: a complete key). */
static int
group_cmp(const void *a, const void *b)
{
	const Offer *x = ((const SlotGroup *) a)->first;
	const Offer *y = ((const SlotGroup *) b)->first;

	if (x->session_date != y->session_date)
		return x->session_date < y->session_date ? -1 : 1;
	return offer_cmp(x, y);
}

static int
patient_cmp(const void *a, const void *b)
{
	const Patient *x = a;
	const Patient *y = b;

	if (x->list_rank != y->list_rank)
		return x->list_rank < y->list_rank ? -1 : 1;
	if (x->patient_key != y->patient_key)
		return x->patient_key < y->patient_key ? -1 : 1;
	return 0;
}

static void
reject_duplicates(Problem *p)
{
	int64	   *ids = palloc(sizeof(int64) * Max(Max(p->n_offers, p->n_patients), 1));
	int64		repeated;

	for (int i = 0; i < p->n_offers; i++)
		ids[i] = p->offers[i].slot_id;
	if (repeated_id(ids, p->n_offers, &repeated))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slot_id %lld appears more than once in slots", (long long) repeated)));
	for (int i = 0; i < p->n_patients; i++)
		ids[i] = p->patients[i].patient_key;
	if (repeated_id(ids, p->n_patients, &repeated))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("patient_key %lld appears more than once in patients", (long long) repeated)));
	pfree(ids);
}

static bool
same_session(const Offer *a, const Offer *b)
{
	if (a->session_id != b->session_id)
		return false;
	/* one session is one clinic on one day, whoever runs it */
	if (a->session_date != b->session_date || a->clinic_no != b->clinic_no ||
		a->specialty_no != b->specialty_no || a->site_no != b->site_no ||
		a->clinician_no != b->clinician_no)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slots %lld and %lld of session %lld disagree on the session's date, clinic, site, specialty or clinician",
						(long long) a->slot_id, (long long) b->slot_id, (long long) a->session_id)));
	return true;
}

/*
 * Pool the offers (sorted by session) into groups of interchangeable
 * slots, then put the groups in date order.
 */
static void
build_groups(Problem *p)
{
	p->groups = palloc0(sizeof(SlotGroup) * Max(p->n_offers, 1));
	p->n_groups = 0;
	for (int i = 0; i < p->n_offers;)
	{
		SlotGroup	   *g = &p->groups[p->n_groups++];
		int			j = i + 1;

		while (j < p->n_offers && same_session(&p->offers[j - 1], &p->offers[j]) &&
			   p->offers[j].kinds == p->offers[i].kinds &&
			   p->offers[j].face_to_face == p->offers[i].face_to_face)
			j++;
		g->first = &p->offers[i];
		g->capacity = j - i;
		g->slot_ids = palloc(sizeof(int64) * g->capacity);
		g->booked = palloc(sizeof(int) * g->capacity);
		for (int k = 0; k < g->capacity; k++)
			g->slot_ids[k] = p->offers[i + k].slot_id;
		g->stamp = -1;
		g->last_booked = -1;
		g->changed_at = 0;
		i = j;
	}
	qsort(p->groups, p->n_groups, sizeof(SlotGroup), group_cmp);
}

/*
 * The eligibility rules (docs/outpatients.md, "Filling clinic slots"); the
 * specialty and the dates are matched by build_eligibility's scan.
 */
static bool
eligible(const Patient *c, const SlotGroup *g)
{
	const Offer *o = g->first;

	if (c->clinician_no >= 0 && c->clinician_no != o->clinician_no)
		return false;
	if (c->clinic_no >= 0 && c->clinic_no != o->clinic_no)
		return false;
	if (c->n_sites >= 0)
	{
		bool		found = false;

		for (int k = 0; k < c->n_sites && !found; k++)
			found = (o->site_no >= 0 && c->site_nos[k] == o->site_no);
		if (!found)
			return false;
	}
	if ((o->kinds & c->need) == 0)
		return false;
	return !c->face_to_face || o->face_to_face;
}

/*
 * Group indices ordered by (specialty, date order), and by (specialty,
 * site, date order), for the eligibility scans.
 */
static int
group_index_by_specialty(const void *a, const void *b, void *arg)
{
	const Problem *p = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	int			sx = p->groups[x].first->specialty_no;
	int			sy = p->groups[y].first->specialty_no;

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
group_index_by_site(const void *a, const void *b, void *arg)
{
	const Problem *p = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	const Offer *ox = p->groups[x].first;
	const Offer *oy = p->groups[y].first;

	if (ox->specialty_no != oy->specialty_no)
		return ox->specialty_no < oy->specialty_no ? -1 : 1;
	if (ox->site_no != oy->site_no)
		return ox->site_no < oy->site_no ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Append to out the groups of order[] (sorted by specialty, then site if
 * site >= -1, then date) of the patient's specialty (and that site) dated
 * within the patient's window that the patient is eligible for.
 */
static int
scan_groups(const Problem *p, const int *order, const Patient *c, int site, bool by_site, int *out, int n)
{
	int			lo = 0;
	int			hi = p->n_groups;

	/* the first such group on or after ready_from */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		const Offer *o = p->groups[order[mid]].first;
		bool		before;

		if (o->specialty_no != c->specialty_no)
			before = o->specialty_no < c->specialty_no;
		else if (by_site && o->site_no != site)
			before = o->site_no < site;
		else
			before = c->has_ready_from && o->session_date < c->ready_from;
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int k = lo; k < p->n_groups; k++)
	{
		int			gi = order[k];
		const Offer *o = p->groups[gi].first;

		if (o->specialty_no != c->specialty_no || (by_site && o->site_no != site) ||
			(c->has_ready_until && o->session_date > c->ready_until))
			break;
		if (eligible(c, &p->groups[gi]))
			out[n++] = gi;
	}
	return n;
}

static void
build_eligibility(Problem *p)
{
	int		   *by_specialty = palloc(sizeof(int) * Max(p->n_groups, 1));
	int		   *by_site = palloc(sizeof(int) * Max(p->n_groups, 1));
	int		   *scratch = palloc(sizeof(int) * Max(p->n_groups, 1));

	for (int i = 0; i < p->n_groups; i++)
		by_specialty[i] = by_site[i] = i;
	qsort_arg(by_specialty, p->n_groups, sizeof(int), group_index_by_specialty, p);
	qsort_arg(by_site, p->n_groups, sizeof(int), group_index_by_site, p);

	for (int ci = 0; ci < p->n_patients; ci++)
	{
		Patient    *c = &p->patients[ci];
		int			n = 0;

		if ((ci & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (c->n_sites < 0)
			n = scan_groups(p, by_specialty, c, -1, false, scratch, 0);
		else
		{
			/* each of its sites' groups (a site named twice, once) */
			for (int k = 0; k < c->n_sites; k++)
			{
				bool		again = false;

				for (int q = 0; q < k && !again; q++)
					again = (c->site_nos[q] == c->site_nos[k]);
				if (!again)
					n = scan_groups(p, by_site, c, c->site_nos[k], true, scratch, n);
			}
			if (c->n_sites > 1)
				qsort(scratch, n, sizeof(int), int_cmp);
		}
		c->n_eligible = n;
		c->eligible = NULL;
		if (n > 0)
		{
			c->eligible = palloc(sizeof(int) * n);
			memcpy(c->eligible, scratch, sizeof(int) * n);
		}
	}
	pfree(scratch);
	pfree(by_site);
	pfree(by_specialty);
}

static bool
is_eligible_for(const Patient *c, int gi)
{
	int			lo = 0;
	int			hi = c->n_eligible;

	/* eligible[] is in group order */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (c->eligible[mid] < gi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_eligible && c->eligible[lo] == gi;
}

/* ---------------------------------------------------------------------
 * Booking state
 * --------------------------------------------------------------------- */

static void
book(Problem *p, int ci, int gi)
{
	SlotGroup	   *g = &p->groups[gi];

	Assert(g->n_booked < g->capacity);
	g->booked[g->n_booked++] = ci;
	g->last_booked = Max(g->last_booked, ci);
	g->changed_at = ++p->clock;
	p->patients[ci].group = gi;
	p->patients[ci].moved_at = p->clock;
}

static void
unbook(Problem *p, int ci)
{
	SlotGroup	   *g = &p->groups[p->patients[ci].group];

	g->last_booked = -1;
	for (int k = 0; k < g->n_booked; k++)
	{
		if (g->booked[k] == ci)
			g->booked[k] = g->booked[--g->n_booked];
		if (k < g->n_booked)
			g->last_booked = Max(g->last_booked, g->booked[k]);
	}
	g->changed_at = ++p->clock;
	p->patients[ci].group = -1;
}

/* ---------------------------------------------------------------------
 * The fill: list order, augmenting paths
 * --------------------------------------------------------------------- */

/*
 * Try to book patient ci, moving patients already booked if that makes
 * room.  queue has room for every group; stamp is this search's number.
 */
static bool
augment(Problem *p, int ci, int *queue, int stamp)
{
	Patient    *c = &p->patients[ci];
	int			head = 0;
	int			tail = 0;
	int			found = -1;

	/* a free slot of its own first, the earliest */
	for (int e = 0; e < c->n_eligible; e++)
	{
		SlotGroup	   *g = &p->groups[c->eligible[e]];

		if (g->n_booked < g->capacity)
		{
			book(p, ci, c->eligible[e]);
			return true;
		}
	}

	for (int e = 0; e < c->n_eligible; e++)
	{
		SlotGroup	   *g = &p->groups[c->eligible[e]];

		if (g->closed || g->stamp == stamp)
			continue;
		g->stamp = stamp;
		g->via_group = -1;
		g->via_patient = -1;
		queue[tail++] = c->eligible[e];
	}
	while (head < tail && found < 0)
	{
		SlotGroup	   *g = &p->groups[queue[head]];

		for (int b = 0; b < g->n_booked && found < 0; b++)
		{
			Patient    *y = &p->patients[g->booked[b]];

			for (int e = 0; e < y->n_eligible; e++)
			{
				SlotGroup	   *h = &p->groups[y->eligible[e]];

				if (h->closed || h->stamp == stamp)
					continue;
				h->stamp = stamp;
				h->via_group = queue[head];
				h->via_patient = g->booked[b];
				queue[tail++] = y->eligible[e];
				if (h->n_booked < h->capacity)
				{
					found = y->eligible[e];
					break;
				}
			}
		}
		head++;
	}

	if (found < 0)
	{
		/* everything reached is full and leads nowhere else: close it */
		for (int k = 0; k < tail; k++)
			p->groups[queue[k]].closed = true;
		return false;
	}

	/*
	 * Shift along the path, from the free group back to one of the
	 * patient's own (the roots, which have no step into them).
	 */
	for (int gi = found;;)
	{
		int			y = p->groups[gi].via_patient;
		int			from = p->groups[gi].via_group;

		if (y < 0)
		{
			book(p, ci, gi);
			return true;
		}
		unbook(p, y);
		book(p, y, gi);
		gi = from;
	}
}

/* ---------------------------------------------------------------------
 * Earlier dates for patients higher on the list
 * --------------------------------------------------------------------- */

/*
 * One pass of the date rule over the booked patients in list order; true if
 * anybody moved.  A group a patient already looked at is looked at again
 * only if its bookings changed since, or the patient moved (what can be
 * swapped depends on the patient's own group): otherwise it offers the
 * same as before.
 */
static bool
earlier_dates_pass(Problem *p)
{
	bool		moved = false;

	for (int i = 0; i < p->n_patients; i++)
	{
		Patient    *ci = &p->patients[i];
		bool		done = false;
		bool		all;
		int64		looked_at = p->clock;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (ci->group < 0)
			continue;
		all = (ci->moved_at > ci->checked_at);
		for (int e = 0; e < ci->n_eligible && !done; e++)
		{
			int			gj = ci->eligible[e];
			int			gi = ci->group;
			SlotGroup  *g = &p->groups[gj];

			if (g->first->session_date >= p->groups[gi].first->session_date)
				break;
			if (!all && g->changed_at <= ci->checked_at)
				continue;
			if (g->n_booked < g->capacity)
			{
				unbook(p, i);
				book(p, i, gj);
				done = true;
				break;
			}
			if (g->last_booked < i)
				continue;		/* everyone there is higher on the list */
			for (int b = 0; b < g->n_booked; b++)
			{
				int			j = g->booked[b];

				if (j < i || !is_eligible_for(&p->patients[j], gi))
					continue;
				unbook(p, i);
				unbook(p, j);
				book(p, i, gj);
				book(p, j, gi);
				done = true;
				break;
			}
		}
		ci->checked_at = looked_at;
		moved |= done;
	}
	return moved;
}

/* ---------------------------------------------------------------------
 * Entry point
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(ptl_allocate_clinic);

Datum
ptl_allocate_clinic(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	Problem		p;
	int		   *queue;

	InitMaterializedSRF(fcinfo, 0);
	p.clock = 0;

	work = AllocSetContextCreate(CurrentMemoryContext, "allocate_clinic",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	read_offers(PG_GETARG_ARRAYTYPE_P(0), &p);
	read_patients(PG_GETARG_ARRAYTYPE_P(1), &p);
	reject_duplicates(&p);
	qsort(p.offers, p.n_offers, sizeof(Offer), offer_cmp);
	qsort(p.patients, p.n_patients, sizeof(Patient), patient_cmp);
	intern_strings(&p);
	build_groups(&p);
	build_eligibility(&p);

	queue = palloc(sizeof(int) * Max(p.n_groups, 1));
	for (int ci = 0; ci < p.n_patients; ci++)
	{
		if ((ci & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (p.patients[ci].n_eligible > 0)
			augment(&p, ci, queue, ci);
	}
	while (earlier_dates_pass(&p))
		;

	/* Emit the booked patients, group by group, in list order. */
	MemoryContextSwitchTo(old);
	for (int gi = 0; gi < p.n_groups; gi++)
	{
		SlotGroup	   *g = &p.groups[gi];

		qsort(g->booked, g->n_booked, sizeof(int), int_cmp);
		for (int k = 0; k < g->n_booked; k++)
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = Int64GetDatum(p.patients[g->booked[k]].patient_key);
			values[1] = Int64GetDatum(g->slot_ids[k]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	MemoryContextDelete(work);
	PG_RETURN_NULL();
}
