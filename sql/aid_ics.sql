-- Across the ICS on a small hand-built ICS, refreshed at 2025-03-31:
-- PIDMAS eligibility at each edge, the expected date at the origin (E_o),
-- suggestions and a move that keeps the clock, waits by deprivation and
-- ethnic group with suppression, each list as a queue and its forecast.
-- Everything is undone at the end.
BEGIN;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
INSERT INTO ptl.organisation (org_code, name) VALUES ('RB1', 'Gamma Trust'), ('RB2', 'Delta Trust');
INSERT INTO ptl.postcode_district VALUES ('QB1', 51.76, 0.48), ('QB2', 51.91, 0.89);
INSERT INTO ptl.site (site_code, org_code, name, postcode, latitude, longitude) VALUES
    ('RB101', 'RB1', 'Gamma General', 'QB1 1AA', 51.75, 0.47), ('RB201', 'RB2', 'Delta General', 'QB2 1AA', NULL, NULL);
INSERT INTO ptl.commissioner (commissioner_code, name, commissioner_kind) VALUES
    ('01B', 'Test Sub-ICB', 'sub_icb'), ('NONC', 'Non-English', 'non_english')
ON CONFLICT DO NOTHING;
INSERT INTO ptl.area_deprivation VALUES ('E01980001', 1), ('E01980002', 10);
INSERT INTO ptl.batch (batch_id, org_code, source_system) VALUES (980001, 'RB1', 'PAS'), (980002, 'RB2', 'PAS');

-- A pathway at RB1 (tfc 110, site RB101) with its patient, events
-- ('date kind [status [ref_date]]', ';'-separated) and, when listed on
-- dta, a P4 waiting-list entry with an optional TCI.
CREATE FUNCTION pg_temp.aid_pathway(ppid text, events text, dta date DEFAULT NULL, tci date DEFAULT NULL,
                                    priority ptl.referral_priority DEFAULT 'routine', born date DEFAULT '1960-01-01',
                                    commissioner text DEFAULT '01B', lsoa text DEFAULT NULL, ethnic text DEFAULT 'A')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e text; f text[]; n int := 0;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, postcode, lsoa_code,
                             ethnic_category, commissioner_code, batch_id)
    VALUES ('RB1', 'PAS', 'P-' || ppid, born, 'QB1 2BB', lsoa, ethnic, commissioner, 980001)
    RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_priority, referral_received, commissioner_code, batch_id)
    VALUES (pat, 'RB1', 'RB101', ppid, 'RB1', '110', priority, split_part(events, ' ', 1)::date, commissioner, 980001)
    RETURNING pathway_id INTO pw;
    FOREACH e IN ARRAY string_to_array(events, ';') LOOP
        f := regexp_split_to_array(trim(e), '\s+');
        n := n + 1;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id)
        VALUES (pw, pat, 'E' || n, f[1]::date, f[2]::ptl.event_kind, nullif(f[3], '-')::ptl.rtt_status, f[4]::date, 980001);
    END LOOP;
    IF dta IS NOT NULL THEN
        INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, intended_management,
                                            clinical_priority, decision_to_admit, tci_date, site_code, batch_id)
        VALUES (pw, pat, 'W-' || ppid, 'W37.1', '1', 'P4', dta, tci, 'RB101', 980001);
    END IF;
    RETURN pw;
END $$;

-- The census is 2025-03-31: 281 days back is 2024-06-23, 56 days on is 2025-05-26.
SELECT count(pg_temp.aid_pathway(ppid, events, dta, tci, priority, born, commissioner, lsoa, ethnic)) AS pathways
FROM (VALUES
    ('W281', '2024-06-23 referral', DATE '2024-08-01', NULL::date, 'routine'::ptl.referral_priority, DATE '1960-01-01', '01B', 'E01980001', 'A'),
    ('W280', '2024-06-24 referral', '2024-08-01', NULL, 'routine', '1960-01-01', '01B', 'E01980001', 'A'),
    ('TCI56', '2024-01-01 referral', '2024-03-01', '2025-05-26', 'routine', '1960-01-01', '01B', 'E01980001', 'A'),
    ('TCI57', '2024-01-02 referral', '2024-03-01', '2025-05-27', 'routine', '1960-01-01', '01B', 'E01980001', 'A'),
    ('URGENT', '2024-01-03 referral', '2024-03-01', NULL, 'urgent', '1960-01-01', '01B', 'E01980001', 'A'),
    ('AGE17', '2024-01-04 referral', '2024-03-01', NULL, 'routine', '2007-04-01', '01B', 'E01980001', 'H'),
    ('AGE18', '2024-01-05 referral', '2024-03-01', NULL, 'routine', '2007-03-31', '01B', 'E01980002', 'H'),
    ('NONC', '2024-01-06 referral', '2024-03-01', NULL, 'routine', '1960-01-01', 'NONC', 'E01980002', 'H'),
    ('TERT', '2024-02-01 transfer_in 20 2024-01-07', '2024-03-01', NULL, 'routine', '1960-01-01', '01B', 'E01980002', 'M'),
    ('SEEN', '2024-01-08 referral; 2024-02-01 outpatient 20', NULL, NULL, 'routine', '1960-01-01', '01B', 'E01980002', 'M'),
    ('BOOK56', '2024-01-09 referral; 2025-05-26 outpatient', NULL, NULL, 'routine', '1960-01-01', '01B', 'E01980002', 'M'),
    ('BOOK57', '2024-01-10 referral; 2025-05-27 outpatient', NULL, NULL, 'routine', '1960-01-01', '01B', 'E01980002', 'M'),
    ('NEW', '2025-03-03 referral', NULL, NULL, 'routine', '1960-01-01', '01B', 'E01980002', 'M')
) v (ppid, events, dta, tci, priority, born, commissioner, lsoa, ethnic);
-- Twelve admissions in the twelve weeks before the census (84 days back is
-- outside): a throughput of one a week.  Their patients have no area.
SELECT count(pg_temp.aid_pathway('DONE' || k, '2024-06-01 referral; ' || (DATE '2025-01-07' + 7 * k) || ' admission 30',
                                 lsoa => NULL, ethnic => NULL))
FROM generate_series(0, 11) k;
CALL ptl.refresh('2025-03-31');

-- PIDMAS (NHS England's cohort 1 rules), over_40_weeks: 281 days is eligible, 280 not;
-- a TCI 56 days ahead is within 8 weeks, 57 is not; urgent, NONC and a
-- tertiary referral are out; 18 on the census day is an adult, a day short
-- is not; a patient seen in outpatients is out; an appointment booked 56
-- days ahead is within 8 weeks, 57 is not.
SELECT p.ppid, e.days_waited, e.admitted, e.age, e.ineligible_reason
FROM ptl.pidmas_eligibility e JOIN ptl.pathway p USING (pathway_id)
WHERE e.cohort = 'over_40_weeks' AND p.ppid NOT LIKE 'DONE%'
ORDER BY p.ppid;
-- cohort 1 as published: none of these started before 22 January 2023.
SELECT count(*) FILTER (WHERE ineligible_reason IS NULL) AS cohort_1_eligible FROM ptl.pidmas_eligibility WHERE cohort = 'cohort_1';

-- E_o (docs/ics.md, "Mutual aid"): list position k at one admission a week
-- is the census + 7k days.  The patient travels from the home district QB1.
SELECT p.ppid, c.list_position, c.expected_date, c.expected_date - c.census AS days_ahead, c.required_capability,
       c.tertiary_referral, round(c.latitude::numeric, 2) AS lat, c.suspended
FROM ptl.mutual_aid_candidate c JOIN ptl.pathway p USING (pathway_id)
ORDER BY c.list_position;

-- W281 opts in within 50 miles, TCI57 anywhere; RB2 (20.3 miles away, placed
-- by its postcode district) offers two slots in April.  TCI57, second on
-- the list, expects treatment on 14 April anyway (NO_GAIN).
INSERT INTO ptl.transfer_preference (pathway_id, opted_in, radius_miles)
SELECT pathway_id, true, CASE ppid WHEN 'W281' THEN 50 END FROM ptl.pathway WHERE ppid IN ('W281', 'TCI57');
INSERT INTO ptl.mutual_aid_offer (offer_id, offering_org, site_code, treatment_function, accepted_groups, capability,
                                  available_from, available_until)
VALUES (980001, 'RB2', 'RB201', '110', '{W37}', 'inpatient', '2025-04-14', '2025-04-18');
SELECT setval(pg_get_serial_sequence('ptl.mutual_aid_slot', 'slot_id'), 980001, false) AS first_slot_id;
SELECT ptl.add_mutual_aid_slots(980001, 2);
SELECT p.ppid, s.destination, s.slot_date, round(s.distance_miles::numeric, 1) AS miles, s.days_saved, s.wait_days, s.reason
FROM ptl.mutual_aid_suggestions('optimal') s JOIN ptl.pathway p USING (pathway_id)
WHERE s.reason NOT IN ('NOT_OPTED_IN')
ORDER BY p.ppid;

-- The same as CSV for a coordinator or DMAS.
SELECT * FROM ptl.mutual_aid_suggestions_csv('optimal');

-- Move W281; after the refresh RB2 reports it with the same clock start,
-- its TCI on the slot date, and RB1 no longer does.
SELECT ptl.transfer_for_mutual_aid(s.pathway_id, s.slot_id, '2025-03-31', s.days_saved) > 0 AS moved
FROM ptl.mutual_aid_suggestions('optimal') s JOIN ptl.pathway p USING (pathway_id) WHERE p.ppid = 'W281';
CALL ptl.refresh('2025-03-31');
SELECT provider_org, ppid, clock_start, days_waited, tci_date, clinical_priority
FROM ptl.ptl WHERE ppid = 'W281';
SELECT t.transfer_date, t.clock_start, t.wait_days, t.days_saved, w.removal_reason
FROM ptl.mutual_aid_transfer t JOIN ptl.waiting_list_entry w ON w.pathway_id = t.pathway_id;
-- the same slot cannot be used twice
SAVEPOINT taken;
SELECT ptl.transfer_for_mutual_aid(p.pathway_id, t.slot_id) FROM ptl.pathway p, ptl.mutual_aid_transfer t
WHERE p.ppid = 'TCI57';
ROLLBACK TO SAVEPOINT taken;

-- Waits by deprivation decile and ethnic group (ICS totals; W281 counts at
-- RB2 now).  Deciles 1 and 10 have 6 and 7 patients; their counts over 52
-- weeks, 4 and 6, are hidden: 4 is small, and 6 alone would give it away
-- from the total.  The ethnic groups are White 5, Black 5 and Asian 3:
-- Asian is hidden, and with it the smaller other (Black, first on the
-- tie); at a threshold of 3 all are shown.
SELECT dimension, group_value, patients, median_weeks, pct_over_18_weeks, over_52_weeks, suppressed
FROM ptl.wait_inequality() WHERE provider_org IS NULL ORDER BY dimension, group_value;
SELECT group_value, patients, over_52_weeks, suppressed
FROM ptl.wait_inequality(suppress_below => 3) WHERE provider_org IS NULL AND dimension = 'ethnic_group'
ORDER BY group_value;

-- Each list as a queue: RB1's 110 list had one clock start (NEW) and
-- twelve stops in the last twelve weeks; RB2's only patient is W281.
SELECT provider_org, treatment_function, list_size, round(mean_wait_weeks::numeric, 2) AS mean_wait_weeks,
       round(weekly_demand::numeric, 4) AS demand, weekly_capacity AS capacity, round(load::numeric, 4) AS load,
       round(target_queue_size::numeric, 4) AS target_size, queue_too_big, round(pressure::numeric, 4) AS pressure,
       clearance_weeks
FROM ptl.waiting_list_queue();
-- The forecast starts from the list as it is and, with no capacity at all,
-- only grows.
SELECT week, week_ending, round(list_size::numeric, 4) AS list_size, round(over_52_weeks::numeric, 4) AS over_52
FROM ptl.forecast_waiting_list(weeks => 2, capacity_change => -1) WHERE provider_org = 'RB1';
ROLLBACK;
