/*
 * clock.h
 *		The RTT clock engine: a pathway's events folded into RTT periods.
 *
 * The fold (clock.c) knows nothing of fmgr; rtt_periods.c feeds it from an
 * array (ptl.rtt_periods) or from an aggregate's rows (ptl.rtt_periods_agg).
 * The rules are written out in docs/rtt-engine.md; comments cite the public
 * rule they apply (RTT Rules Suite rule, RTT guidance section) or a choice
 * the published rules leave open (Qn, listed there).
 */
#ifndef PTL_RTT_CLOCK_H
#define PTL_RTT_CLOCK_H

#include "utils/date.h"

/* ptl.event_kind, in the enum's label order. */
typedef enum RttKind
{
	RTT_KIND_REFERRAL,
	RTT_KIND_TRANSFER_IN,
	RTT_KIND_OUTPATIENT,
	RTT_KIND_DNA,
	RTT_KIND_PATIENT_CANCEL,
	RTT_KIND_PROVIDER_CANCEL,
	RTT_KIND_DECISION_TO_ADMIT,
	RTT_KIND_TCI_OFFER,
	RTT_KIND_TCI_DECLINED,
	RTT_KIND_ADMISSION,
	RTT_KIND_DECISION,
	RTT_KIND_DISCHARGE,
	RTT_KIND_TRANSFER_OUT,
	RTT_KIND_DEATH,
	RTT_KIND_PATIENT_READY,
	RTT_NUM_KINDS
} RttKind;

extern const char *const rtt_kind_labels[RTT_NUM_KINDS];

/*
 * One event; status 0 means none recorded.  The fold reads date, kind,
 * status and ref_date; time, site and tfc only order events on one day, and
 * seq only names the event in issues (and orders events whose content is
 * identical, which the fold cannot tell apart).
 */
typedef struct RttEvent
{
	DateADT		date;
	DateADT		ref_date;
	bool		has_ref_date;
	bool		has_time;		/* a source time of day was given */
	bool		day_timed;		/* every event of its day has a time (set by rtt_sort_events) */
	int16		kind;			/* RttKind */
	int16		status;			/* national code, or 0 */
	int16		precedence;		/* same-day rank (set by rtt_sort_events) */
	TimeADT		time;			/* time of day, when has_time */
	const char *site;			/* site code, or NULL */
	const char *tfc;			/* treatment function code, or NULL */
	int64		seq;			/* the event's identifier, reported in issues */
} RttEvent;

typedef enum RttOutcome
{
	RTT_OUTCOME_INCOMPLETE,
	RTT_OUTCOME_ADMITTED,
	RTT_OUTCOME_NON_ADMITTED,
	RTT_OUTCOME_NULLIFIED
} RttOutcome;

extern const char *const rtt_outcome_names[];

/* The choices the domain reference leaves open (docs/rtt-engine.md). */
typedef struct RttRules
{
	DateADT		census;
	bool		two_week_wait;	/* Q3: a first DNA does not nullify */
	bool		discharge_stops_at_dna; /* Q2: 'dna_date' */
	bool		death_stops_when_notified;	/* Q6: 'date_notified' */
} RttRules;

typedef struct RttPeriod
{
	int32		period_no;
	DateADT		clock_start;
	bool		start_known;
	DateADT		clock_stop;
	bool		stopped;
	int16		stop_status;
	RttOutcome	outcome;
	bool		has_dta;
	int32		pause_days;		/* legacy admitted pauses, already clipped */
} RttPeriod;

/* Something the fold ignored or doubted, for the validation rules. */
typedef enum RttIssueRule
{
	RTT_ISSUE_V15,				/* 33 that cannot nullify */
	RTT_ISSUE_V16,				/* activity or stop with no clock running */
	RTT_ISSUE_V17,				/* a second start code in a running period */
	RTT_ISSUE_V24,				/* discharged with no stop code */
	RTT_ISSUE_V25,				/* 20 soon after active monitoring started */
	RTT_ISSUE_V27,				/* 99 not yet known */
	RTT_ISSUE_V31				/* a clock start recorded outside RTT (98) */
} RttIssueRule;

extern const char *const rtt_issue_rule_ids[];

typedef struct RttIssue
{
	int64		seq;			/* the event's seq */
	RttIssueRule rule;
	int32		period_no;		/* the period it concerns (the last one when idle) */
	const char *detail;			/* static text */
} RttIssue;

/* Output buffers; the fold grows them with repalloc in the current context. */
typedef struct RttFoldResult
{
	RttPeriod  *periods;
	int			nperiods;
	int			periods_size;
	RttIssue   *issues;			/* NULL: issues not wanted */
	int			nissues;
	int			issues_size;
} RttFoldResult;

/* Days within which a 20 after active monitoring is misuse, not a new phase (V25). */
#define RTT_AM_MISUSE_DAYS 14

extern int16 rtt_precedence(const RttEvent *event);
extern void rtt_sort_events(RttEvent *events, int nevents);
extern void rtt_fold(const RttEvent *events, int nevents, const RttRules *rules,
					RttFoldResult *result);
extern int32 rtt_week_band_of(int32 days);

#endif							/* PTL_RTT_CLOCK_H */
