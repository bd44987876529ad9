/*
 * rtt_periods.c
 *		SQL interface of the RTT clock engine (clock.c):
 *
 *		ptl.rtt_periods(events ptl.rtt_event[], census, ...)	 reference SRF
 *		ptl.rtt_event_issues(events ptl.rtt_event[], census, ...)
 *		ptl.rtt_periods_agg(...) / ptl.rtt_issues_agg(...)		 bulk aggregates
 *		ptl.rtt_week_band(days)
 *
 * The aggregates collect a group's events into an array of structs and fold
 * them once in the final function; they sort the events themselves (by date,
 * time, same-day precedence and content: rtt_sort_events) so they need neither
 * ORDER BY in the call nor a sorted input, and give the same periods whatever
 * order the rows come in.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "common/common.h"
#include "rtt/clock.h"

/*
 * ptl.event_kind's OIDs mapped to RttKind, looked up by label once per
 * function call site (enum OIDs are not fixed across installations).
 */
typedef struct KindCache
{
	int			n;
	Oid			oids[RTT_NUM_KINDS * 2];
	int16		kinds[RTT_NUM_KINDS * 2];
} KindCache;

static int16
kind_from_oid(KindCache *cache, Oid oid)
{
	HeapTuple	tup;
	const char *label;
	int16		kind = -1;

	for (int i = 0; i < cache->n; i++)
	{
		if (cache->oids[i] == oid)
			return cache->kinds[i];
	}

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for enum value %u", oid);
	label = NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel);
	for (int k = 0; k < RTT_NUM_KINDS; k++)
	{
		if (strcmp(label, rtt_kind_labels[k]) == 0)
			kind = k;
	}
	if (kind < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event kind \"%s\" is not one the RTT clock engine knows", label),
				 errhint("Labels added to ptl.event_kind need a rule in the engine first.")));
	ReleaseSysCache(tup);

	if (cache->n < lengthof(cache->oids))
	{
		cache->oids[cache->n] = oid;
		cache->kinds[cache->n] = kind;
		cache->n++;
	}
	return kind;
}

/* The choices of docs/rtt-engine.md from their SQL spellings. */
static void
parse_rule_choices(RttRules *rules, text *dna_discharge_stop, text *death_stop)
{
	if (dna_discharge_stop != NULL)
	{
		char	   *s = text_to_cstring(dna_discharge_stop);

		if (strcmp(s, "discharge_date") == 0)
			rules->discharge_stops_at_dna = false;
		else if (strcmp(s, "dna_date") == 0)
			rules->discharge_stops_at_dna = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid dna_discharge_stop \"%s\"", s),
					 errdetail("The stop date of a discharge after a later DNA is \"discharge_date\" (the default, RTT guidance 4.4.1.3) or \"dna_date\".")));
	}
	if (death_stop != NULL)
	{
		char	   *s = text_to_cstring(death_stop);

		if (strcmp(s, "date_of_death") == 0)
			rules->death_stops_when_notified = false;
		else if (strcmp(s, "date_notified") == 0)
			rules->death_stops_when_notified = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid death_stop \"%s\"", s),
					 errdetail("The stop date of a death is \"date_of_death\" (the default, RTT guidance 4.4.1.2) or \"date_notified\".")));
	}
}

static void
init_fold_result(RttFoldResult *result, bool want_issues)
{
	result->periods_size = 4;
	result->periods = palloc(sizeof(RttPeriod) * result->periods_size);
	result->nperiods = 0;
	result->issues = NULL;
	result->nissues = 0;
	result->issues_size = 0;
	if (want_issues)
	{
		result->issues_size = 4;
		result->issues = palloc(sizeof(RttIssue) * result->issues_size);
	}
}

/* Output columns of a period (ptl.rtt_computed_period and ptl.rtt_periods()). */
#define PERIOD_NATTS 9

/* The outcome names as text, made once per backend: the bulk path emits millions. */
static Datum
outcome_text(RttOutcome outcome)
{
	static Datum texts[RTT_OUTCOME_NULLIFIED + 1];
	static bool made = false;

	if (!made)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		for (int i = 0; i <= RTT_OUTCOME_NULLIFIED; i++)
			texts[i] = CStringGetTextDatum(rtt_outcome_names[i]);
		MemoryContextSwitchTo(old);
		made = true;
	}
	return texts[outcome];
}

static void
period_values(const RttPeriod *p, DateADT census, Datum *values, bool *nulls)
{
	DateADT		end = p->stopped ? p->clock_stop : census;
	int32		days = end - p->clock_start;

	memset(nulls, 0, sizeof(bool) * PERIOD_NATTS);
	values[0] = Int32GetDatum(p->period_no);
	values[1] = DateADTGetDatum(p->clock_start);
	nulls[1] = !p->start_known;
	values[2] = DateADTGetDatum(p->clock_stop);
	nulls[2] = !p->stopped;
	values[3] = Int16GetDatum(p->stop_status);
	nulls[3] = !p->stopped;
	values[4] = outcome_text(p->outcome);
	values[5] = Int32GetDatum(days);
	nulls[5] = !p->start_known;
	/* A negative wait is bad data (V04): it has no band. */
	values[6] = Int32GetDatum(days >= 0 ? rtt_week_band_of(days) : 0);
	nulls[6] = !p->start_known || days < 0;
	values[7] = BoolGetDatum(p->has_dta);
	values[8] = Int32GetDatum(days - p->pause_days);
	nulls[8] = !p->start_known;
}

/* ---------------------------------------------------------------------------
 * The reference functions over an array of ptl.rtt_event
 * ---------------------------------------------------------------------------
 */

/*
 * Read a ptl.rtt_event[] into structs, seq = 1-based array position (it
 * names events in issues; the order is the engine's, not the array's).
 */
static RttEvent *
events_from_array(FunctionCallInfo fcinfo, ArrayType *array, int *nevents)
{
	Oid			elemtype = ARR_ELEMTYPE(array);
	Datum	   *elems;
	int			n;
	RttEvent   *events;
	TupleDesc	tupdesc;
	KindCache  *cache;

	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(KindCache));
	cache = (KindCache *) fcinfo->flinfo->fn_extra;

	elems = array_elements(array, "events", &n);
	events = palloc(sizeof(RttEvent) * Max(n, 1));
	tupdesc = lookup_rowtype_tupdesc(elemtype, -1);
	if (tupdesc->natts != 4)
		elog(ERROR, "ptl.rtt_event must have 4 attributes, not %d", tupdesc->natts);

	for (int i = 0; i < n; i++)
	{
		HeapTupleHeader rec;
		HeapTupleData tuple;
		Datum		values[4];
		bool		nulls[4];

		CHECK_FOR_INTERRUPTS();
		rec = DatumGetHeapTupleHeader(elems[i]);
		tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = rec;
		heap_deform_tuple(&tuple, tupdesc, values, nulls);

		if (nulls[0] || nulls[1])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("event %d has no %s", i + 1, nulls[0] ? "event_date" : "kind"),
					 errdetail("Every RTT event needs its date and its kind.")));
		events[i].date = DatumGetDateADT(values[0]);
		if (DATE_NOT_FINITE(events[i].date))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event %d has an infinite event_date", i + 1)));
		events[i].kind = kind_from_oid(cache, DatumGetObjectId(values[1]));
		events[i].status = nulls[2] ? 0 : DatumGetInt16(values[2]);
		events[i].has_ref_date = !nulls[3] && !DATE_NOT_FINITE(DatumGetDateADT(values[3]));
		events[i].ref_date = events[i].has_ref_date ? DatumGetDateADT(values[3]) : 0;
		events[i].has_time = false;
		events[i].time = 0;
		events[i].site = NULL;
		events[i].tfc = NULL;
		events[i].seq = i + 1;
	}
	ReleaseTupleDesc(tupdesc);
	*nevents = n;
	return events;
}

/* Arguments shared by the two reference functions. */
static void
fold_array_args(FunctionCallInfo fcinfo, bool want_issues, RttFoldResult *result,
			  RttRules *rules)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	RttEvent   *events;
	int			nevents;

	memset(rules, 0, sizeof(RttRules));
	rules->census = PG_GETARG_DATEADT(1);
	if (DATE_NOT_FINITE(rules->census))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("census date must be finite")));
	rules->two_week_wait = PG_GETARG_BOOL(2);
	if (PG_NARGS() > 4)
		parse_rule_choices(rules, PG_GETARG_TEXT_PP(3), PG_GETARG_TEXT_PP(4));

	events = events_from_array(fcinfo, array, &nevents);
	rtt_sort_events(events, nevents);
	init_fold_result(result, want_issues);
	rtt_fold(events, nevents, rules, result);
}

PG_FUNCTION_INFO_V1(rtt_periods);
Datum
rtt_periods(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RttFoldResult result;
	RttRules	rules;

	InitMaterializedSRF(fcinfo, 0);
	fold_array_args(fcinfo, false, &result, &rules);
	for (int i = 0; i < result.nperiods; i++)
	{
		Datum		values[PERIOD_NATTS];
		bool		nulls[PERIOD_NATTS];

		period_values(&result.periods[i], rules.census, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(rtt_event_issues);
Datum
rtt_event_issues(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RttFoldResult result;
	RttRules	rules;

	InitMaterializedSRF(fcinfo, 0);
	fold_array_args(fcinfo, true, &result, &rules);
	for (int i = 0; i < result.nissues; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum((int32) result.issues[i].seq);
		values[1] = CStringGetTextDatum(rtt_issue_rule_ids[result.issues[i].rule]);
		values[2] = Int32GetDatum(result.issues[i].period_no);
		values[3] = CStringGetTextDatum(result.issues[i].detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------------
 * The bulk path: aggregates over a pathway's event rows
 * ---------------------------------------------------------------------------
 */

typedef struct RttAggState
{
	RttEvent   *events;
	int			nevents;
	int			size;
	RttRules	rules;
} RttAggState;

/* Where a transition function finds each argument (-1: not given). */
typedef struct AggArgs
{
	int			date,
				time,
				kind,
				status,
				ref_date,
				site,
				tfc,
				seq,
				census,
				two_week_wait,
				dna_stop,
				death_stop;
} AggArgs;

/* (state, event_date, kind, rtt_status, ref_date, seq, census, two_week_wait [, dna_discharge_stop, death_stop]) */
static const AggArgs plain_args = {1, -1, 2, 3, 4, -1, -1, 5, 6, 7, 8, 9};

/* (state, event_date, event_time, kind, rtt_status, ref_date, site_code, treatment_function, seq, census, two_week_wait, dna_discharge_stop, death_stop) */
static const AggArgs timed_args = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static const char *
agg_code(FunctionCallInfo fcinfo, int arg, MemoryContext aggcontext)
{
	MemoryContext old;
	char	   *code;

	if (arg < 0 || PG_ARGISNULL(arg))
		return NULL;
	old = MemoryContextSwitchTo(aggcontext);
	code = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	MemoryContextSwitchTo(old);
	return code;
}

/*
 * One event row into the group's state.  The census and choices are taken
 * from a group's first row.
 */
static Datum
agg_transition(FunctionCallInfo fcinfo, const AggArgs *args)
{
	MemoryContext aggcontext;
	RttAggState *state;
	RttEvent   *event;
	KindCache  *cache;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "rtt_periods_agg_transfn called in non-aggregate context");

	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(KindCache));
	cache = (KindCache *) fcinfo->flinfo->fn_extra;

	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		state = palloc0(sizeof(RttAggState));
		state->size = 4;		/* a pathway has about three events */
		state->events = palloc(sizeof(RttEvent) * state->size);
		if (PG_ARGISNULL(args->census))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("census date must not be NULL")));
		state->rules.census = PG_GETARG_DATEADT(args->census);
		state->rules.two_week_wait = !PG_ARGISNULL(args->two_week_wait) &&
			PG_GETARG_BOOL(args->two_week_wait);
		if (PG_NARGS() > args->death_stop)
			parse_rule_choices(&state->rules,
							 PG_ARGISNULL(args->dna_stop) ? NULL : PG_GETARG_TEXT_PP(args->dna_stop),
							 PG_ARGISNULL(args->death_stop) ? NULL : PG_GETARG_TEXT_PP(args->death_stop));
		MemoryContextSwitchTo(old);
	}
	else
		state = (RttAggState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(args->date) || PG_ARGISNULL(args->kind))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an RTT event has no %s", PG_ARGISNULL(args->date) ? "event_date" : "kind"),
				 errdetail("Every RTT event needs its date and its kind.")));
	/* As ptl.rtt_periods refuses it: an infinite date starts no clock. */
	if (DATE_NOT_FINITE(PG_GETARG_DATEADT(args->date)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an RTT event has an infinite event_date (%s)",
						DATE_IS_NOBEGIN(PG_GETARG_DATEADT(args->date)) ? "-infinity" : "infinity")));

	if (state->nevents == state->size)
	{
		state->size *= 2;
		state->events = repalloc(state->events, sizeof(RttEvent) * state->size);
	}
	event = &state->events[state->nevents++];
	event->date = PG_GETARG_DATEADT(args->date);
	event->has_time = args->time >= 0 && !PG_ARGISNULL(args->time);
	event->time = event->has_time ? PG_GETARG_TIMEADT(args->time) : 0;
	event->kind = kind_from_oid(cache, PG_GETARG_OID(args->kind));
	event->status = PG_ARGISNULL(args->status) ? 0 : PG_GETARG_INT16(args->status);
	event->has_ref_date = !PG_ARGISNULL(args->ref_date) &&
		!DATE_NOT_FINITE(PG_GETARG_DATEADT(args->ref_date));
	event->ref_date = event->has_ref_date ? PG_GETARG_DATEADT(args->ref_date) : 0;
	event->site = agg_code(fcinfo, args->site, aggcontext);
	event->tfc = agg_code(fcinfo, args->tfc, aggcontext);
	event->seq = PG_ARGISNULL(args->seq) ? state->nevents : PG_GETARG_INT64(args->seq);

	PG_RETURN_POINTER(state);
}

/*
 * Transition: (state, event_date, kind, rtt_status, ref_date, seq, census,
 * two_week_wait [, dna_discharge_stop, death_stop]).
 */
PG_FUNCTION_INFO_V1(rtt_periods_agg_transfn);
Datum
rtt_periods_agg_transfn(PG_FUNCTION_ARGS)
{
	return agg_transition(fcinfo, &plain_args);
}

/*
 * Transition with the source time and the content that orders same-day
 * events: (state, event_date, event_time, kind, rtt_status, ref_date,
 * site_code, treatment_function, seq, census, two_week_wait,
 * dna_discharge_stop, death_stop).
 */
PG_FUNCTION_INFO_V1(rtt_periods_agg_timed_transfn);
Datum
rtt_periods_agg_timed_transfn(PG_FUNCTION_ARGS)
{
	return agg_transition(fcinfo, &timed_args);
}

/* The composite element type of the final function's array result, cached. */
static TupleDesc
final_element_desc(FunctionCallInfo fcinfo, Oid *elemtype)
{
	typedef struct FinalCache
	{
		Oid			elemtype;
		TupleDesc	tupdesc;
	} FinalCache;
	FinalCache *cache = (FinalCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		Oid			rettype = get_func_rettype(fcinfo->flinfo->fn_oid);

		cache = palloc(sizeof(FinalCache));
		cache->elemtype = get_element_type(rettype);
		if (!OidIsValid(cache->elemtype))
			elog(ERROR, "final function must return an array");
		cache->tupdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(cache->elemtype, -1));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}
	*elemtype = cache->elemtype;
	return cache->tupdesc;
}

static ArrayType *
tuples_to_array(Datum *elems, int n, Oid elemtype)
{
	return construct_array(elems, n, elemtype, -1, false, TYPALIGN_DOUBLE);
}

/*
 * What both final functions share: the group's events sorted and folded.
 * Returns false for a group without a state (no rows).
 */
static bool
fold_agg_state(FunctionCallInfo fcinfo, bool want_issues, RttFoldResult *result,
			 DateADT *census)
{
	RttAggState *state;

	Assert(AggCheckCallContext(fcinfo, NULL));
	if (PG_ARGISNULL(0))
		return false;
	state = (RttAggState *) PG_GETARG_POINTER(0);
	rtt_sort_events(state->events, state->nevents);
	init_fold_result(result, want_issues);
	rtt_fold(state->events, state->nevents, &state->rules, result);
	*census = state->rules.census;
	return true;
}

PG_FUNCTION_INFO_V1(rtt_periods_agg_final);
Datum
rtt_periods_agg_final(PG_FUNCTION_ARGS)
{
	RttFoldResult result;
	DateADT		census;
	Oid			elemtype;
	TupleDesc	tupdesc = final_element_desc(fcinfo, &elemtype);
	Datum	   *elems;

	if (!fold_agg_state(fcinfo, false, &result, &census))
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * Max(result.nperiods, 1));
	for (int i = 0; i < result.nperiods; i++)
	{
		Datum		values[PERIOD_NATTS];
		bool		nulls[PERIOD_NATTS];

		period_values(&result.periods[i], census, values, nulls);
		elems[i] = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}
	PG_RETURN_ARRAYTYPE_P(tuples_to_array(elems, result.nperiods, elemtype));
}

PG_FUNCTION_INFO_V1(rtt_issues_agg_final);
Datum
rtt_issues_agg_final(PG_FUNCTION_ARGS)
{
	RttFoldResult result;
	DateADT		census;
	Oid			elemtype;
	TupleDesc	tupdesc = final_element_desc(fcinfo, &elemtype);
	Datum	   *elems;

	if (!fold_agg_state(fcinfo, true, &result, &census))
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * Max(result.nissues, 1));
	for (int i = 0; i < result.nissues; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int64GetDatum(result.issues[i].seq);
		values[1] = CStringGetTextDatum(rtt_issue_rule_ids[result.issues[i].rule]);
		values[2] = Int32GetDatum(result.issues[i].period_no);
		values[3] = CStringGetTextDatum(result.issues[i].detail);
		elems[i] = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}
	PG_RETURN_ARRAYTYPE_P(tuples_to_array(elems, result.nissues, elemtype));
}

/* ---------------------------------------------------------------------------
 * Same-day precedence, for the documentation's table and its tests
 * ---------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(rtt_same_day_precedence);
Datum
rtt_same_day_precedence(PG_FUNCTION_ARGS)
{
	RttEvent	event;
	KindCache  *cache;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(KindCache));
	cache = (KindCache *) fcinfo->flinfo->fn_extra;
	memset(&event, 0, sizeof(event));
	event.kind = kind_from_oid(cache, PG_GETARG_OID(0));
	event.status = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT16(1);
	PG_RETURN_INT32(rtt_precedence(&event));
}

/* ---------------------------------------------------------------------------
 * Bands
 * ---------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(rtt_week_band);
Datum
rtt_week_band(PG_FUNCTION_ARGS)
{
	int32		days = PG_GETARG_INT32(0);

	if (days < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("days waited cannot be negative: %d", days),
				 errdetail("A wait is the stop or census date minus the clock start (RTT guidance 10.1.7); a negative one means a clock start after the census or stop."),
				 errhint("Validation rules V03 and V04 list such pathways.")));
	PG_RETURN_INT32(rtt_week_band_of(days));
}
