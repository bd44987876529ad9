-- ---------------------------------------------------------------------------
-- rtt engine: the RTT clock as functions (C in src/rtt/).  The rules are in
-- docs/rtt-engine.md, with the public rule each rests on.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.rtt_event AS (
    event_date  date,
    kind        ptl.event_kind,
    rtt_status  ptl.rtt_status,
    ref_date    date
);
COMMENT ON TYPE ptl.rtt_event IS
    'One event of a pathway as the RTT clock engine reads it';
COMMENT ON COLUMN ptl.rtt_event.event_date IS 'Date of the event';
COMMENT ON COLUMN ptl.rtt_event.kind IS 'What happened';
COMMENT ON COLUMN ptl.rtt_event.rtt_status IS 'RTT period status recorded on it, if any';
COMMENT ON COLUMN ptl.rtt_event.ref_date IS
    'transfer_in: original clock start; tci_offer: admission date offered; tci_declined: date declined; death: date of death';

CREATE TYPE ptl.rtt_computed_period AS (
    period_no       int,
    clock_start     date,
    clock_stop      date,
    stop_status     ptl.rtt_status,
    outcome         text,
    days_waited     int,
    week_band       int,
    has_dta         boolean,
    adjusted_days   int
);
COMMENT ON TYPE ptl.rtt_computed_period IS 'One RTT period as the engine computes it (the rows of ptl.rtt_periods)';
COMMENT ON COLUMN ptl.rtt_computed_period.period_no IS 'Period number on the pathway record, from 1';
COMMENT ON COLUMN ptl.rtt_computed_period.clock_start IS 'Clock start; NULL when unknown';
COMMENT ON COLUMN ptl.rtt_computed_period.clock_stop IS 'Clock stop; NULL while incomplete';
COMMENT ON COLUMN ptl.rtt_computed_period.stop_status IS 'Status that stopped the clock';
COMMENT ON COLUMN ptl.rtt_computed_period.outcome IS 'incomplete, admitted, non_admitted or nullified';
COMMENT ON COLUMN ptl.rtt_computed_period.days_waited IS '(stop, or census while incomplete) minus start, in days';
COMMENT ON COLUMN ptl.rtt_computed_period.week_band IS 'Published weekly band 0..104 (ptl.rtt_week_band)';
COMMENT ON COLUMN ptl.rtt_computed_period.has_dta IS 'A decision to admit was made in the period';
COMMENT ON COLUMN ptl.rtt_computed_period.adjusted_days IS 'Wait less pre-October-2015 admitted pauses (back-testing only)';

CREATE TYPE ptl.rtt_computed_issue AS (
    seq         bigint,
    rule_id     text,
    period_no   int,
    detail      text
);
COMMENT ON TYPE ptl.rtt_computed_issue IS
    'An event the clock engine ignored or doubted, with the validation rule it breaks';
COMMENT ON COLUMN ptl.rtt_computed_issue.seq IS 'The event''s seq argument (event_id in the refresh)';
COMMENT ON COLUMN ptl.rtt_computed_issue.rule_id IS 'Validation rule (ptl.validation_rule), e.g. V17';
COMMENT ON COLUMN ptl.rtt_computed_issue.period_no IS 'Period it concerns (the latest one when no clock was running; 0 before any)';
COMMENT ON COLUMN ptl.rtt_computed_issue.detail IS 'What is wrong';

CREATE FUNCTION ptl.rtt_periods(events ptl.rtt_event[], census date,
                                two_week_wait boolean DEFAULT false,
                                dna_discharge_stop text DEFAULT 'discharge_date',
                                death_stop text DEFAULT 'date_of_death')
RETURNS TABLE (period_no int, clock_start date, clock_stop date, stop_status ptl.rtt_status,
               outcome text, days_waited int, week_band int, has_dta boolean, adjusted_days int)
AS 'MODULE_PATHNAME', 'rtt_periods'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;
COMMENT ON FUNCTION ptl.rtt_periods(ptl.rtt_event[], date, boolean, text, text) IS
    'The RTT periods of one pathway''s events at a census date, by NHS England''s rules (docs/rtt-engine.md): the reference interface';

CREATE FUNCTION ptl.rtt_event_issues(events ptl.rtt_event[], census date,
                                     two_week_wait boolean DEFAULT false)
RETURNS TABLE (event_no int, rule_id text, period_no int, detail text)
AS 'MODULE_PATHNAME', 'rtt_event_issues'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION ptl.rtt_event_issues(ptl.rtt_event[], date, boolean) IS
    'Events the clock engine ignored or doubted (validation rules V15, V16, V17, V24, V25, V27, V31), by position in the array';

-- The bulk path.  Both aggregates share one transition function; the final
-- functions sort (by date, source time, same-day precedence and the events'
-- content: docs/rtt-engine.md) and fold, so callers need no ORDER BY and
-- the rows' order never changes a period.  seq only names events in issues.
-- SSPACE is the measured state size (about 350 bytes for a three-event
-- pathway), so the planner sees what hashing a million pathways costs;
-- reading them in pathway order (GroupAggregate) is about twice as fast.
CREATE FUNCTION ptl_internal.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status,
                                            date, bigint, date, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'rtt_periods_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Transition function of ptl.rtt_periods_agg and ptl.rtt_issues_agg: collects a pathway''s events';
CREATE FUNCTION ptl_internal.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status,
                                            date, bigint, date, boolean, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rtt_periods_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean, text, text) IS
    'Transition function of ptl.rtt_periods_agg with the rule choices: collects a pathway''s events';
-- With the source time of day and the content that orders same-day events
-- (site, treatment function): the form the refresh uses.
CREATE FUNCTION ptl_internal.rtt_periods_agg_timed_transfn(internal, date, time, ptl.event_kind, ptl.rtt_status,
                                                  date, text, text, bigint, date, boolean, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rtt_periods_agg_timed_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_periods_agg_timed_transfn(internal, date, time, ptl.event_kind, ptl.rtt_status, date, text, text, bigint, date, boolean, text, text) IS
    'Transition function of ptl.rtt_periods_agg and ptl.rtt_issues_agg with source times and same-day content: collects a pathway''s events';
CREATE FUNCTION ptl_internal.rtt_periods_agg_final(internal) RETURNS ptl.rtt_computed_period[]
AS 'MODULE_PATHNAME', 'rtt_periods_agg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_periods_agg_final(internal) IS
    'Final function of ptl.rtt_periods_agg: folds the collected events into periods';
CREATE FUNCTION ptl_internal.rtt_issues_agg_final(internal) RETURNS ptl.rtt_computed_issue[]
AS 'MODULE_PATHNAME', 'rtt_issues_agg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_issues_agg_final(internal) IS
    'Final function of ptl.rtt_issues_agg: the events the fold ignored or doubted';

CREATE AGGREGATE ptl.rtt_periods_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                     ref_date date, seq bigint, census date, two_week_wait boolean) (
    SFUNC = ptl_internal.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl_internal.rtt_periods_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_periods_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Bulk RTT clock: a pathway''s event rows (same-day events by precedence, then content; never by seq) to the array of periods ptl.rtt_periods returns';
CREATE AGGREGATE ptl.rtt_periods_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                     ref_date date, seq bigint, census date, two_week_wait boolean,
                                     dna_discharge_stop text, death_stop text) (
    SFUNC = ptl_internal.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl_internal.rtt_periods_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_periods_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean, text, text) IS
    'Bulk RTT clock with the rule choices of docs/rtt-engine.md (Q2, Q6)';
CREATE AGGREGATE ptl.rtt_issues_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                    ref_date date, seq bigint, census date, two_week_wait boolean) (
    SFUNC = ptl_internal.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl_internal.rtt_issues_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_issues_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Bulk form of ptl.rtt_event_issues: a pathway''s event rows to the events the fold ignored or doubted';

CREATE AGGREGATE ptl.rtt_periods_agg(event_date date, event_time time, kind ptl.event_kind,
                                     rtt_status ptl.rtt_status, ref_date date, site_code text,
                                     treatment_function text, seq bigint, census date, two_week_wait boolean,
                                     dna_discharge_stop text, death_stop text) (
    SFUNC = ptl_internal.rtt_periods_agg_timed_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl_internal.rtt_periods_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_periods_agg(date, time, ptl.event_kind, ptl.rtt_status, date, text, text, bigint, date, boolean, text, text) IS
    'Bulk RTT clock with source times: a day whose events all have a time is ordered by it, else by same-day precedence, then by content (site, treatment function); seq never orders (docs/rtt-engine.md)';
CREATE AGGREGATE ptl.rtt_issues_agg(event_date date, event_time time, kind ptl.event_kind,
                                    rtt_status ptl.rtt_status, ref_date date, site_code text,
                                    treatment_function text, seq bigint, census date, two_week_wait boolean,
                                    dna_discharge_stop text, death_stop text) (
    SFUNC = ptl_internal.rtt_periods_agg_timed_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl_internal.rtt_issues_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_issues_agg(date, time, ptl.event_kind, ptl.rtt_status, date, text, text, bigint, date, boolean, text, text) IS
    'Bulk form of ptl.rtt_event_issues with source times: the events the fold ignored or doubted, named by seq';

-- The same-day precedence (docs/rtt-engine.md, "Events on the same day"):
-- 0-3 clock starts, 10-24 activity, 30-36 clock stops.
CREATE FUNCTION ptl.rtt_same_day_precedence(kind ptl.event_kind, rtt_status ptl.rtt_status) RETURNS int
AS 'MODULE_PATHNAME', 'rtt_same_day_precedence'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_same_day_precedence(ptl.event_kind, ptl.rtt_status) IS
    'Rank of an event among others on its day when no source times order them: 0 transfer_in, 1 referral, 2 patient_ready, 3 other kinds with 10-12 (clock starts); 10 + the kind''s place in ptl.event_kind (activity, clock runs on); 30-36 the stop code, a death as 36 (clock stops). NULL kind gives NULL';

CREATE FUNCTION ptl.rtt_week_band(days int) RETURNS int
AS 'MODULE_PATHNAME', 'rtt_week_band'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_week_band(int) IS
    'Published weekly band of a wait in days (RTT guidance 10.1.7): 0 = 0-7 days, k = 7k+1..7k+7, 104 = over 104 weeks (729+ days)';

-- Thresholds are judged on days: "over N weeks" is more than 7N days, so 126
-- days is within 18 weeks and 364 days is not over 52 (RTT guidance 10.1.7).
CREATE FUNCTION ptl.rtt_over_weeks(days int, weeks int) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN days > 7 * weeks;
COMMENT ON FUNCTION ptl.rtt_over_weeks(int, int) IS
    'True when a wait of "days" is over "weeks" weeks (days > 7 x weeks): 127 days is over 18 weeks, 126 is not';

CREATE FUNCTION ptl.rtt_week_band_label(band int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN band >= 104 THEN 'Gt 104 Weeks SUM 1'
            WHEN band >= 10 THEN pg_catalog.format('Gt %s To %s Weeks SUM 1', band, band + 1)
            ELSE pg_catalog.format('Gt 0%s To %s Weeks SUM 1', band,
                                   pg_catalog.lpad((band + 1)::text, 2, '0')) END;
COMMENT ON FUNCTION ptl.rtt_week_band_label(int) IS
    'Column name of a weekly band in NHS England''s full CSV extract: Gt 00 To 01 Weeks SUM 1 ... Gt 104 Weeks SUM 1';

-- The events the clock reads: a pathway's events, and, for a pathway whose
-- events include no referral and no transfer in (its referral event was
-- quarantined, or the source records the referral on the pathway alone),
-- its referral as an event on the date the provider received it: the RTT
-- clock starts on receipt of the referral (RTT guidance 4.2), so a waiting
-- patient never falls off the list for a missing event.  The stand-in
-- carries the negated pathway number as its event number.
CREATE VIEW ptl.rtt_clock_event AS
SELECT e.pathway_id, e.event_id, e.event_date, e.event_time, e.kind, e.rtt_status, e.ref_date,
       e.site_code, e.treatment_function
FROM ptl.pathway_event e
UNION ALL
SELECT p.pathway_id, -p.pathway_id, p.referral_received, NULL::time, 'referral'::ptl.event_kind, NULL::ptl.rtt_status,
       NULL::date, p.site_code, p.treatment_function
FROM ptl.pathway p
WHERE p.referral_received IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event e
                  WHERE e.pathway_id = p.pathway_id AND e.kind IN ('referral', 'transfer_in'));
COMMENT ON VIEW ptl.rtt_clock_event IS
    'The events the RTT clock reads: every pathway event, and a referral on the pathway''s referral_received for a pathway whose events have no referral and no transfer in (event_id = minus the pathway number)';
COMMENT ON COLUMN ptl.rtt_clock_event.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.rtt_clock_event.event_id IS 'The event; for the referral stood in from the pathway record, minus the pathway number';
COMMENT ON COLUMN ptl.rtt_clock_event.event_date IS 'Date';
COMMENT ON COLUMN ptl.rtt_clock_event.event_time IS 'Source time, when the extract gave one';
COMMENT ON COLUMN ptl.rtt_clock_event.kind IS 'Kind';
COMMENT ON COLUMN ptl.rtt_clock_event.rtt_status IS 'RTT status';
COMMENT ON COLUMN ptl.rtt_clock_event.ref_date IS 'Second date';
COMMENT ON COLUMN ptl.rtt_clock_event.site_code IS 'Site';
COMMENT ON COLUMN ptl.rtt_clock_event.treatment_function IS 'Treatment function';
