-- Events on the same day (docs/rtt-engine.md, "Events on the same day"):
-- a PAS extract may list a day's rows in any order, so the clock never
-- depends on it.  Each query names the rule it shows.  Census 2025-03-31.
SET search_path = ptl, public;

-- The precedence of every kind and status (0-3 clock starts, 10-24
-- activity, 30-36 clock stops), as the engine ranks them.
SELECT k.kind,
       min(rtt_same_day_precedence(k.kind, s.status)) FILTER (WHERE s.status IS NULL) AS no_status,
       string_agg(DISTINCT rtt_same_day_precedence(k.kind, s.status)::text || ' (' || coalesce(s.status::text, '-') || ')',
                  ', ') FILTER (WHERE rtt_same_day_precedence(k.kind, s.status)
                                      <> rtt_same_day_precedence(k.kind, NULL)) AS with_status
FROM unnest(enum_range(NULL::event_kind)) k (kind)
CROSS JOIN (SELECT NULL::rtt_status UNION ALL
            SELECT c::rtt_status FROM unnest(ARRAY[10, 11, 12, 20, 21, 30, 31, 32, 33, 34, 35, 36, 90, 91, 92, 98, 99]) c) s (status)
GROUP BY k.kind ORDER BY k.kind;

-- Rule "start, activity, stop": a referral, a decision to admit and an
-- admission with 30 on one day, in each of the six orders, give one 0-day
-- admitted period with a DTA.
WITH ev (n, e) AS (VALUES
    (1, ('2025-03-12', 'referral', NULL, NULL)::rtt_event),
    (2, ('2025-03-12', 'decision_to_admit', '20', NULL)::rtt_event),
    (3, ('2025-03-12', 'admission', '30', NULL)::rtt_event)),
orders (o) AS (VALUES (ARRAY[1, 2, 3]), (ARRAY[1, 3, 2]), (ARRAY[2, 1, 3]), (ARRAY[2, 3, 1]), (ARRAY[3, 1, 2]), (ARRAY[3, 2, 1]))
SELECT array_to_string(o.o, '-') AS arrival, p.*
FROM orders o,
     rtt_periods(ARRAY(SELECT ev.e FROM unnest(o.o) WITH ORDINALITY u (n, i) JOIN ev USING (n) ORDER BY u.i), '2025-03-31') p
ORDER BY arrival;

-- Rule "start, activity, stop" (T05): referral and treatment in clinic, either order: 0 days, non-admitted.
SELECT 'stop listed first' AS t, clock_start, clock_stop, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2025-03-12', 'outpatient', '30', NULL), ('2025-03-12', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- Rule "transfer in before referral": the original start a transfer in carries wins over the receipt date.
SELECT 'transfer and referral' AS t, clock_start, days_waited FROM rtt_periods(ARRAY[
    ('2025-02-03', 'referral', NULL, NULL), ('2025-02-03', 'transfer_in', '20', '2024-11-04')]::rtt_event[], '2025-03-31');

-- Rule "stops by code": a treatment (30) and a discharge (34) on one day: the treatment stops the clock
-- (admitted); the discharge finds no clock running (V16).
SELECT 'treated and discharged' AS t, clock_stop, stop_status, outcome FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-03-12', 'discharge', '34', NULL),
    ('2025-03-12', 'admission', '30', NULL)]::rtt_event[], '2025-03-31');
SELECT 'treated and discharged' AS t, e.* FROM rtt_event_issues(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-03-12', 'discharge', '34', NULL),
    ('2025-03-12', 'admission', '30', NULL)]::rtt_event[], '2025-03-31') e;
-- ... and a first-appointment DNA (33) with the discharge that follows it: nullified (rule 5e), not a 34 stop.
SELECT 'DNA and discharged' AS t, clock_stop, stop_status, outcome FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-02-10', 'discharge', '34', NULL),
    ('2025-02-10', 'dna', '33', NULL)]::rtt_event[], '2025-03-31');

-- Rule "a running clock stops before a new one starts" (rule 3a, Annex C): the first side treated and
-- the patient ready for the second side on one day: the second side waits from that day, in either order.
SELECT 'second side, ready listed first' AS t, period_no, clock_start, clock_stop, outcome FROM rtt_periods(ARRAY[
    ('2024-10-07', 'referral', NULL, NULL), ('2025-02-10', 'patient_ready', NULL, NULL),
    ('2025-02-10', 'admission', '30', NULL)]::rtt_event[], '2025-03-31');
SELECT 'second side, treatment listed first' AS t, period_no, clock_start, clock_stop, outcome FROM rtt_periods(ARRAY[
    ('2024-10-07', 'referral', NULL, NULL), ('2025-02-10', 'admission', '30', NULL),
    ('2025-02-10', 'patient_ready', NULL, NULL)]::rtt_event[], '2025-03-31');
-- ... but a first attendance coded 10 and active monitoring (32) on one day stop the one period.
SELECT 'first attendance and monitoring' AS t, period_no, clock_start, clock_stop, outcome FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-02-03', 'decision', '32', NULL),
    ('2025-02-03', 'outpatient', '10', NULL)]::rtt_event[], '2025-03-31');

-- Rule "outside RTT (98)": a referral recorded 98 starts no clock (V31); a later 10 still does.
SELECT '98 referral' AS t, count(*) AS periods FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', '98', NULL), ('2025-02-03', 'outpatient', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT '98 referral' AS t, e.* FROM rtt_event_issues(ARRAY[
    ('2025-01-06', 'referral', '98', NULL)]::rtt_event[], '2025-03-31') e;
SELECT '98 then 10' AS t, clock_start, outcome FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', '98', NULL), ('2025-02-03', 'outpatient', '10', NULL)]::rtt_event[], '2025-03-31');

-- Rule "unknown start": a transfer in without the original start opens a period whose start and wait are unknown.
SELECT 'unknown start' AS t, clock_start, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-01-28', 'transfer_in', '20', NULL), ('2025-02-10', 'decision_to_admit', '20', NULL)]::rtt_event[], '2025-03-31');

-- The bulk path, with source times: a day whose events all have a time is taken in time order (the
-- DTA at 09:00 before the referral at 10:00 finds no clock); a day with a time missing falls back
-- to precedence.  seq (the event id) never orders.
SELECT 'timed day' AS t, (p).clock_start, (p).outcome, cardinality(a) AS periods
FROM (SELECT rtt_periods_agg(d, tm, k, s, NULL, NULL, NULL, q, '2025-03-31', false, NULL, NULL) AS a
      FROM (VALUES ('2025-03-12'::date, '10:00'::time, 'referral'::event_kind, NULL::rtt_status, 1::bigint),
                   ('2025-03-12', '09:00', 'decision_to_admit', '20', 2),
                   ('2025-03-12', '09:30', 'admission', '30', 3)) v (d, tm, k, s, q)) x,
     LATERAL (SELECT x.a[1] AS p) y;
SELECT 'partly timed day' AS t, (p).clock_start, (p).outcome, cardinality(a) AS periods
FROM (SELECT rtt_periods_agg(d, tm, k, s, NULL, NULL, NULL, q, '2025-03-31', false, NULL, NULL) AS a
      FROM (VALUES ('2025-03-12'::date, NULL::time, 'referral'::event_kind, NULL::rtt_status, 1::bigint),
                   ('2025-03-12', '09:00', 'decision_to_admit', '20', 2),
                   ('2025-03-12', '09:30', 'admission', '30', 3)) v (d, tm, k, s, q)) x,
     LATERAL (SELECT x.a[1] AS p) y;
-- The same events under any seq give the same periods.
SELECT 'seq reversed' AS t, rtt_periods_agg(d, NULL, k, s, NULL, NULL, NULL, q, '2025-03-31', false, NULL, NULL)
       = rtt_periods_agg(d, NULL, k, s, NULL, NULL, NULL, -q, '2025-03-31', false, NULL, NULL) AS same
FROM (VALUES ('2025-03-12'::date, 'admission'::event_kind, '30'::rtt_status, 1::bigint),
             ('2025-03-12', 'referral', NULL, 2), ('2025-03-12', 'decision_to_admit', '20', 3)) v (d, k, s, q);

-- Rule "referral on the record": a pathway whose events include no referral and no transfer in
-- (its referral event quarantined, or never sent: some PAS extracts carry the referral on the
-- pathway alone) starts its clock on its referral date, so it stays on the list
-- (ptl.rtt_clock_event).  A later first attendance coded 10 runs inside that period.
BEGIN;
INSERT INTO organisation (org_code, name) VALUES ('RSD', 'Same Day Test NHS Trust');
INSERT INTO batch (org_code, source_system) VALUES ('RSD', 'PAS') RETURNING batch_id AS sd_batch \gset
INSERT INTO patient (org_code, source_system, local_patient_id, batch_id)
VALUES ('RSD', 'PAS', 'SD1', :sd_batch) RETURNING patient_id AS sd_patient \gset
INSERT INTO pathway (patient_id, provider_org, ppid, ppid_issuer, treatment_function, referral_received, batch_id)
VALUES (:sd_patient, 'RSD', 'SD-NONE', 'RSD', '110', '2025-01-06', :sd_batch),
       (:sd_patient, 'RSD', 'SD-LATE', 'RSD', '110', '2025-01-06', :sd_batch),
       (:sd_patient, 'RSD', 'SD-OWN', 'RSD', '110', '2025-01-06', :sd_batch);
INSERT INTO pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
SELECT p.pathway_id, p.patient_id, v.ref, v.d::date, v.k::event_kind, v.s::rtt_status, :sd_batch
FROM pathway p
JOIN (VALUES ('SD-LATE', 'E1', '2025-02-03', 'outpatient', '10'),
             ('SD-OWN', 'R1', '2025-01-13', 'referral', NULL)) v (ppid, ref, d, k, s) ON v.ppid = p.ppid;
SELECT p.ppid, r.period_no, r.clock_start, r.outcome, r.days_waited
FROM rtt_periods_at('2025-03-31') r JOIN pathway p USING (pathway_id)
WHERE p.provider_org = 'RSD' ORDER BY p.ppid;
ROLLBACK;
