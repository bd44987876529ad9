/*
 * clock.c
 *		The RTT clock engine's fold: sorted events in, RTT periods out.
 *
 * One pass over a pathway's events with a two-state machine (idle or
 * running), exactly as docs/rtt-engine.md writes it down; "RTT guidance"
 * sections are those of NHS England's recording and reporting guidance.  Pure C over plain
 * structs: no catalog access, no fmgr, so the reference function and the
 * bulk aggregate share every rule.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "rtt/clock.h"

const char *const rtt_kind_labels[RTT_NUM_KINDS] = {
	"referral", "transfer_in", "outpatient", "dna", "patient_cancel",
	"provider_cancel", "decision_to_admit", "tci_offer", "tci_declined",
	"admission", "decision", "discharge", "transfer_out", "death",
	"patient_ready"
};

const char *const rtt_outcome_names[] = {
	"incomplete", "admitted", "non_admitted", "nullified"
};

const char *const rtt_issue_rule_ids[] = {
	"V15", "V16", "V17", "V24", "V25", "V27", "V31"
};

/* A reasonable offer gives at least three weeks' notice (RTT guidance 13). */
#define RTT_REASONABLE_NOTICE_DAYS 21

/* An admission date offered (tci_offer), for the legacy pause. */
typedef struct RttOffer
{
	DateADT		made;
	DateADT		admit_on;
} RttOffer;

/* A legacy pause [begin, end), clipped to its period when the period closes. */
typedef struct RttPause
{
	DateADT		begin;
	DateADT		end;
} RttPause;

/* The running period and what the rules need to remember inside it. */
typedef struct RttRunning
{
	RttPeriod	period;
	bool		activity_seen;	/* attendance, admission or DNA (for 33) */
	bool		start_code_seen;	/* a 10/11/12 already in this period (V17) */
	bool		last_activity_dna;	/* the latest activity was a DNA (Q2) */
	DateADT		last_dna_date;
	/* legacy pause (admitted stage, pre-October 2015) */
	RttOffer   *offers;
	int			noffers;
	int			offers_size;
	int			next_to_decline;	/* offers are declined oldest first */
	int			reasonable_declined;
	DateADT		erod;			/* earliest reasonable offer date declined */
	RttPause   *pauses;
	int			npauses;
	int			pauses_size;
} RttRunning;

/*
 * Same-day precedence (docs/rtt-engine.md, "Events on the same day").  On one
 * day, by the RTT rules' own sequence: the clock starts (a referral received,
 * a transfer in carrying the original start, the patient ready, a 10/11/12),
 * then activity while it runs, then the clock stops (30-36, a death).  The
 * rank orders the classes and, inside them, the kinds and stop codes:
 *
 *	 0 transfer_in	 1 referral	  2 patient_ready   3 any other kind with 10, 11, 12
 *	10 + the kind's place in ptl.event_kind: every other event (clock runs on)
 *	30..36 a stop code 30..36 on any kind; a death ranks as 36 whatever its code
 *
 * A transfer in comes before a referral so that the original start it
 * carries is the one kept (4.8); among stops a treatment (30) comes before a
 * decision not to treat (31-35) and a death (36), and a first-appointment
 * DNA (33) before the discharge (34) that often follows it.
 */
int16
rtt_precedence(const RttEvent *event)
{
	if (event->kind == RTT_KIND_DEATH)
		return 36;
	switch (event->kind)
	{
		case RTT_KIND_TRANSFER_IN:
			return 0;
		case RTT_KIND_REFERRAL:
			return 1;
		case RTT_KIND_PATIENT_READY:
			return 2;
		default:
			break;
	}
	if (event->status >= 10 && event->status <= 12)
		return 3;
	if (event->status >= 30 && event->status <= 36)
		return event->status;
	return 10 + event->kind;
}

/* NULL first, then byte order (the same on every server, whatever its collation). */
static int
compare_codes(const char *x, const char *y)
{
	int			c;

	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	c = strcmp(x, y);
	return (c > 0) - (c < 0);
}

/*
 * The order of a pathway's events: by date; on a day whose events all carry
 * a source time, by time; then by precedence; then by the events' content
 * (kind, status, second date, site, treatment function), never by the order
 * they arrived in.  seq decides only between events whose content is
 * identical, which the fold treats alike (it picks which of them an issue
 * names).
 */
static int
rtt_event_compare(const void *a, const void *b)
{
	const RttEvent *x = (const RttEvent *) a;
	const RttEvent *y = (const RttEvent *) b;
	int			c;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	/* day_timed is the same for every event of a day */
	if (x->day_timed && y->day_timed && x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->precedence != y->precedence)
		return x->precedence < y->precedence ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->status != y->status)
		return x->status < y->status ? -1 : 1;
	if (x->has_ref_date != y->has_ref_date)
		return x->has_ref_date ? 1 : -1;
	if (x->has_ref_date && x->ref_date != y->ref_date)
		return x->ref_date < y->ref_date ? -1 : 1;
	if ((c = compare_codes(x->site, y->site)) != 0)
		return c;
	if ((c = compare_codes(x->tfc, y->tfc)) != 0)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static void
sort_if_needed(RttEvent *events, int nevents)
{
	bool		sorted = true;

	/* Extracts usually arrive sorted; skip the sort then. */
	for (int i = 1; i < nevents && sorted; i++)
		sorted = rtt_event_compare(&events[i - 1], &events[i]) <= 0;
	if (!sorted)
		qsort(events, nevents, sizeof(RttEvent), rtt_event_compare);
}

void
rtt_sort_events(RttEvent *events, int nevents)
{
	bool		any_time = false;

	for (int i = 0; i < nevents; i++)
	{
		events[i].precedence = rtt_precedence(&events[i]);
		events[i].day_timed = false;
		any_time |= events[i].has_time;
	}
	sort_if_needed(events, nevents);
	if (!any_time)
		return;

	/*
	 * A day's times are used only when every event of the day has one: an
	 * event without a time cannot be placed among timed ones, and ordering
	 * some of a day's events by time and the others by precedence would not
	 * be an order.  Such a day is ordered by precedence alone.
	 */
	for (int i = 0; i < nevents;)
	{
		int			j = i;
		bool		all_timed = true;

		CHECK_FOR_INTERRUPTS();
		while (j < nevents && events[j].date == events[i].date)
			all_timed &= events[j++].has_time;
		if (all_timed)
		{
			for (int k = i; k < j; k++)
				events[k].day_timed = true;
			sort_if_needed(events + i, j - i);
		}
		i = j;
	}
}

/*
 * The published weekly band (RTT guidance 10.1.7): 0 holds 0..7 days (eight values), band k
 * holds 7k+1..7k+7, and 104 means over 104 weeks (729 days or more).
 */
int32
rtt_week_band_of(int32 days)
{
	Assert(days >= 0);
	if (days <= 7)
		return 0;
	return Min((days - 1) / 7, 104);
}

static void
add_issue(RttFoldResult *result, const RttEvent *event, RttIssueRule rule,
		 int32 period_no, const char *detail)
{
	if (result->issues == NULL)
		return;
	if (result->nissues == result->issues_size)
	{
		result->issues_size *= 2;
		result->issues = repalloc(result->issues,
								  sizeof(RttIssue) * result->issues_size);
	}
	result->issues[result->nissues].seq = event->seq;
	result->issues[result->nissues].rule = rule;
	result->issues[result->nissues].period_no = period_no;
	result->issues[result->nissues].detail = detail;
	result->nissues++;
}

static void
start_period(RttRunning *run, int32 period_no, DateADT start, bool start_known)
{
	RttOffer   *offers = run->offers;
	int			offers_size = run->offers_size;
	RttPause   *pauses = run->pauses;
	int			pauses_size = run->pauses_size;

	/* Keep the scratch arrays; everything else starts afresh. */
	memset(run, 0, sizeof(RttRunning));
	run->offers = offers;
	run->offers_size = offers_size;
	run->pauses = pauses;
	run->pauses_size = pauses_size;
	run->period.period_no = period_no;
	run->period.clock_start = start;
	run->period.start_known = start_known;
	run->period.outcome = RTT_OUTCOME_INCOMPLETE;
}

/* Sum of the period's legacy pauses, clipped to [start, end). */
static int32
legacy_pause_days(const RttRunning *run, DateADT end)
{
	int32		total = 0;

	for (int i = 0; i < run->npauses; i++)
	{
		DateADT		b = Max(run->pauses[i].begin, run->period.clock_start);
		DateADT		e = Min(run->pauses[i].end, end);

		if (e > b)
			total += e - b;
	}
	return total;
}

static void
emit_period(RttFoldResult *result, RttRunning *run)
{
	RttPeriod  *period = &run->period;

	/* Only admitted waits were ever adjusted (the national clock rules of 2010). */
	if (period->outcome == RTT_OUTCOME_ADMITTED && period->start_known)
		period->pause_days = legacy_pause_days(run, period->clock_stop);
	else
		period->pause_days = 0;

	if (result->nperiods == result->periods_size)
	{
		result->periods_size *= 2;
		result->periods = repalloc(result->periods,
								   sizeof(RttPeriod) * result->periods_size);
	}
	result->periods[result->nperiods++] = *period;
}

static void
stop_period(RttFoldResult *result, RttRunning *run, DateADT stop,
		   int16 status, RttOutcome outcome)
{
	run->period.clock_stop = stop;
	run->period.stopped = true;
	run->period.stop_status = status;
	run->period.outcome = outcome;
	emit_period(result, run);
}

/* A start event recorded as not applicable to RTT (status 98, NHS DD). */
static bool
start_outside_rtt(const RttEvent *event)
{
	return event->status == 98 &&
		(event->kind == RTT_KIND_REFERRAL || event->kind == RTT_KIND_TRANSFER_IN ||
		 event->kind == RTT_KIND_PATIENT_READY);
}

/* The clock start an idle event gives, if it starts one (rules 1-3; RTT guidance 3). */
static bool
starts_clock(const RttEvent *event, DateADT *start, bool *start_known)
{
	*start_known = true;
	/* Outside RTT (98): a referral to a service the rules do not cover (RTT guidance 5-7). */
	if (start_outside_rtt(event))
		return false;
	switch (event->kind)
	{
		case RTT_KIND_REFERRAL:
		case RTT_KIND_PATIENT_READY:
			*start = event->date;
			return true;
		case RTT_KIND_TRANSFER_IN:
			/* The original start travels with the pathway (RTT guidance 11). */
			*start = event->ref_date;
			*start_known = event->has_ref_date;
			return true;
		default:
			break;
	}
	if (event->status >= 10 && event->status <= 12)
	{
		*start = event->date;
		return true;
	}
	return false;
}

static void
record_offer(RttRunning *run, const RttEvent *event)
{
	if (!event->has_ref_date)
		return;
	if (run->offers == NULL)
	{
		run->offers_size = 4;
		run->offers = palloc(sizeof(RttOffer) * run->offers_size);
	}
	else if (run->noffers == run->offers_size)
	{
		run->offers_size *= 2;
		run->offers = repalloc(run->offers, sizeof(RttOffer) * run->offers_size);
	}
	run->offers[run->noffers].made = event->date;
	run->offers[run->noffers].admit_on = event->ref_date;
	run->noffers++;
}

static void
record_decline(RttRunning *run)
{
	RttOffer   *offer;

	if (run->next_to_decline >= run->noffers)
		return;					/* nothing outstanding to decline */
	offer = &run->offers[run->next_to_decline++];
	if (offer->admit_on - offer->made >= RTT_REASONABLE_NOTICE_DAYS)
	{
		if (run->reasonable_declined == 0 || offer->admit_on < run->erod)
			run->erod = offer->admit_on;
		run->reasonable_declined++;
	}
}

/* The patient is available again: close a pause if two reasonable offers were declined. */
static void
record_available(RttRunning *run, DateADT available)
{
	if (run->reasonable_declined >= 2 && available > run->erod)
	{
		if (run->pauses == NULL)
		{
			run->pauses_size = 2;
			run->pauses = palloc(sizeof(RttPause) * run->pauses_size);
		}
		else if (run->npauses == run->pauses_size)
		{
			run->pauses_size *= 2;
			run->pauses = repalloc(run->pauses, sizeof(RttPause) * run->pauses_size);
		}
		run->pauses[run->npauses].begin = run->erod;
		run->pauses[run->npauses].end = available;
		run->npauses++;
	}
	/* Later pauses need two more declined offers. */
	run->next_to_decline = run->noffers;
	run->reasonable_declined = 0;
}

/* An event while the clock runs.  Returns true when it stopped the clock. */
static bool
running_event(RttFoldResult *result, RttRunning *run, const RttEvent *event,
			 const RttRules *rules)
{
	int16		status = event->status;

	/* A death ends the wait whatever code was recorded (rule 5, Q6). */
	if (event->kind == RTT_KIND_DEATH)
	{
		DateADT		stop = event->date;

		if (event->has_ref_date && !rules->death_stops_when_notified)
			stop = event->ref_date;
		stop_period(result, run, stop, 36, RTT_OUTCOME_NON_ADMITTED);
		return true;
	}

	/* 33: a DNA that nullifies only as the period's first activity (rule 5e, Q3). */
	if (status == 33)
	{
		if (!run->activity_seen && !rules->two_week_wait)
		{
			stop_period(result, run, event->date, 33, RTT_OUTCOME_NULLIFIED);
			return true;
		}
		add_issue(result, event, RTT_ISSUE_V15, run->period.period_no,
				 rules->two_week_wait && !run->activity_seen
				 ? "33 on a two-week-wait referral's first appointment: the clock runs on"
				 : "33 on an appointment that was not the first activity of the period: the clock runs on");
		run->activity_seen = true;
		run->last_activity_dna = true;
		run->last_dna_date = event->date;
		return false;
	}

	/* 30: first definitive treatment; admitted only by an admission (rule 4). */
	if (status == 30)
	{
		stop_period(result, run, event->date, 30,
				   event->kind == RTT_KIND_ADMISSION
				   ? RTT_OUTCOME_ADMITTED : RTT_OUTCOME_NON_ADMITTED);
		return true;
	}

	/* 31, 32, 34, 35, 36: non-treatment stops (rule 5). */
	if (status >= 31 && status <= 36)
	{
		DateADT		stop = event->date;

		if (status == 34 && rules->discharge_stops_at_dna && run->last_activity_dna)
			stop = run->last_dna_date;
		stop_period(result, run, stop, status, RTT_OUTCOME_NON_ADMITTED);
		return true;
	}

	/* Everything else: the clock runs on (RTT guidance 4.4.2); note what later rules need. */
	if (status >= 10 && status <= 12)
	{
		if (run->start_code_seen)
			add_issue(result, event, RTT_ISSUE_V17, run->period.period_no,
					 "a clock-start code inside a period that is already running");
		run->start_code_seen = true;
	}
	else if (status == 99)
		add_issue(result, event, RTT_ISSUE_V27, run->period.period_no,
				 "status 99 (not yet known) on an open period");

	switch (event->kind)
	{
		case RTT_KIND_OUTPATIENT:
		case RTT_KIND_ADMISSION:
			run->activity_seen = true;
			run->last_activity_dna = false;
			break;
		case RTT_KIND_DNA:
			run->activity_seen = true;
			run->last_activity_dna = true;
			run->last_dna_date = event->date;
			break;
		case RTT_KIND_DECISION_TO_ADMIT:
			run->period.has_dta = true;
			break;
		case RTT_KIND_TCI_OFFER:
			record_offer(run, event);
			break;
		case RTT_KIND_TCI_DECLINED:
			record_decline(run);
			break;
		case RTT_KIND_PATIENT_READY:
			record_available(run, event->date);
			break;
		case RTT_KIND_DISCHARGE:
			add_issue(result, event, RTT_ISSUE_V24, run->period.period_no,
					 "discharged without a clock-stop code: the clock runs on");
			break;
		default:
			break;
	}
	return false;
}

/* An event with no clock running that did not start one. */
static void
idle_event(RttFoldResult *result, const RttEvent *event, const RttPeriod *last)
{
	int16		status = event->status;
	int32		period_no = last ? last->period_no : 0;

	if (start_outside_rtt(event))
		add_issue(result, event, RTT_ISSUE_V31, period_no,
				 "a clock start recorded outside RTT (status 98): no clock started");
	else if (status == 20 && last != NULL && last->stopped &&
		(last->stop_status == 31 || last->stop_status == 32) &&
		event->date - last->clock_stop <= RTT_AM_MISUSE_DAYS)
		add_issue(result, event, RTT_ISSUE_V25, period_no,
				 "status 20 within days of starting active monitoring");
	else if (status == 20 || status == 21)
		add_issue(result, event, RTT_ISSUE_V16, period_no,
				 last ? "status 20/21 after the clock stopped, with no new clock start"
				 : "status 20/21 before any clock start");
	else if (status >= 30 && status <= 36)
		add_issue(result, event, RTT_ISSUE_V16, period_no,
				 "a clock-stop code with no clock running");
}

/* An event whose only part in the clock is to start it. */
static bool
pure_start(const RttEvent *event)
{
	return event->kind == RTT_KIND_REFERRAL || event->kind == RTT_KIND_TRANSFER_IN ||
		event->kind == RTT_KIND_PATIENT_READY;
}

/* One event of the fold: opens a period when idle, else runs the rules. */
static void
fold_event(RttFoldResult *result, RttRunning *run, bool *running, int32 *period_no,
		  const RttEvent *event, const RttRules *rules)
{
	if (!*running)
	{
		DateADT		start;
		bool		start_known;

		if (!starts_clock(event, &start, &start_known))
		{
			idle_event(result, event,
					  result->nperiods > 0 ? &result->periods[result->nperiods - 1] : NULL);
			return;
		}
		start_period(run, ++*period_no, start, start_known);
		*running = true;
		if (event->status >= 10 && event->status <= 12)
			run->start_code_seen = true;
		/* The starting event may itself be an activity or a DTA. */
		if (event->kind == RTT_KIND_OUTPATIENT || event->kind == RTT_KIND_ADMISSION)
			run->activity_seen = true;
		else if (event->kind == RTT_KIND_DECISION_TO_ADMIT)
			run->period.has_dta = true;
		return;
	}

	if (running_event(result, run, event, rules))
		*running = false;
}

/*
 * Fold sorted events into periods (and issues, if result->issues is set).
 * Events after the census are ignored (a census is a snapshot: RTT guidance 10.1.1.2).  The caller sets up the
 * result's buffers.
 *
 * A day is folded in its sorted order, except a day (without source times)
 * that begins with a clock running: its referrals, transfers in and
 * patient-ready events are taken after its other events.  Such an event
 * cannot open a period while one runs (periods never overlap, Annex C), so
 * on that day it belongs to the period that begins when the running one
 * stops: a first side treated (30) and the patient ready for the second
 * (rule 3a) on one day leave the second side waiting.  A 10, 11 or 12 on an
 * attendance or decision is not moved: on a running clock it is the
 * period's first activity (a first attendance coded 10 and active
 * monitoring, 32, the same day stop the one period).
 */
void
rtt_fold(const RttEvent *events, int nevents, const RttRules *rules,
		RttFoldResult *result)
{
	RttRunning	run;
	bool		running = false;
	int32		period_no = 0;

	memset(&run, 0, sizeof(run));
	for (int i = 0; i < nevents;)
	{
		int			j = i;

		if (events[i].date > rules->census)
			break;
		while (j < nevents && events[j].date == events[i].date)
			j++;

		if (running && !events[i].day_timed)
		{
			for (int pass = 0; pass < 2; pass++)
			{
				for (int k = i; k < j; k++)
				{
					bool		start = pure_start(&events[k]);

					CHECK_FOR_INTERRUPTS();
					if (start == (pass == 1))
						fold_event(result, &run, &running, &period_no, &events[k], rules);
				}
			}
		}
		else
		{
			for (int k = i; k < j; k++)
			{
				CHECK_FOR_INTERRUPTS();
				fold_event(result, &run, &running, &period_no, &events[k], rules);
			}
		}
		i = j;
	}

	if (running)
		emit_period(result, &run);
}
