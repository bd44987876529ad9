-- Mutual aid suggestions (docs/ics.md, "Mutual aid") on the worked
-- example WE-44 to WE-46, the reasons patients are not suggested, and the
-- states of requests and offers.
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- WE-44: distances from A (Liverpool) to B (Chester) 15.40, C (Manchester)
-- 31.23 and D (London) 178.27 miles.
SELECT round(ptl.haversine_miles(53.4084, -2.9916, 53.1934, -2.8931)::numeric, 2) AS to_b,
       round(ptl.haversine_miles(53.4084, -2.9916, 53.4808, -2.2426)::numeric, 2) AS to_c,
       round(ptl.haversine_miles(53.4084, -2.9916, 51.5074, -0.1278)::numeric, 2) AS to_d,
       round(ptl.haversine_miles(0, 0, 0, 180)::numeric, 2) AS half_way_round;
SELECT ptl.postcode_district_of('cm1 1aa') AS spaced, ptl.postcode_district_of('SW1A1AA') AS unspaced,
       ptl.postcode_district_of('?') AS unknown;

-- The example: as of 2025-03-03, T&O at origin A; hip is W37, knee W40.
-- p3 has a TCI within 8 weeks, p6 has waited under 40 weeks, p7 did not
-- opt in; q4 is before the lead time for everyone.
CREATE TEMP TABLE we_patients AS
SELECT array_agg(ROW(k, 'A', '110', grp, start, 'P4', tci, 60, false, opted, radius, 53.4084, -2.9916,
                     needs, false, false, eo, NULL)::ptl.aid_patient ORDER BY k) AS a
FROM (VALUES
  (1, date '2023-10-02', 'W37.1', 'inpatient', 50, NULL::date, true, date '2025-09-01'),
  (2, '2023-11-06', 'W40.1', 'level2', 100, NULL, true, '2025-08-04'),
  (3, '2023-12-04', 'W37.1', 'inpatient', NULL, '2025-04-01', true, NULL),
  (4, '2024-01-08', 'W40.1', 'daycase', 50, NULL, true, '2025-06-02'),
  (5, '2024-02-05', 'W37.1', 'inpatient', NULL, NULL, true, '2025-07-07'),
  (6, '2024-07-01', 'W40.1', 'daycase', 50, NULL, true, NULL),
  (7, '2024-03-04', 'W40.1', 'daycase', NULL, NULL, false, NULL)) v(k, start, grp, needs, radius, tci, opted, eo);
CREATE TEMP TABLE we_slots AS
SELECT array_agg(ROW(k, prov, 'S' || prov, lat, lon, '110', grp, d, cap, NULL)::ptl.aid_slot ORDER BY k) AS a
FROM (VALUES
  (1, 'B', 53.1934, -2.8931, '{W37,W40}'::text[], date '2025-03-24', 'level2'),
  (2, 'C', 53.4808, -2.2426, '{W40}', '2025-03-17', 'inpatient'),
  (3, 'C', 53.4808, -2.2426, '{W37,W40}', '2025-04-07', 'inpatient'),
  (4, 'D', 51.5074, -0.1278, '{W37}', '2025-03-10', 'level2')) v(k, prov, lat, lon, grp, d, cap);

-- WE-45 (greedy): p1 -> q1 (161 days saved), p2 none (NO_CAPABILITY: q1 is
-- taken, q2 and q3 lack level 2), p4 -> q2 (77), p5 -> q3 (91).
SELECT patient_key AS p, destination, slot_id AS q, slot_date, round(distance_miles::numeric, 2) AS miles,
       days_saved, wait_days, reason, feasible_slots_taken
FROM we_patients, we_slots, ptl.mutual_aid_plan(we_patients.a, we_slots.a, '2025-03-03', 'greedy');
-- WE-46 (optimal): p1 -> q3 (147), p2 -> q1 (133), p4 -> q2 (77); p5 left
-- out (its feasible slots q1 and q3 went to others; q4 fails the lead time).
SELECT patient_key AS p, destination, slot_id AS q, days_saved, wait_days, reason, feasible_slots_taken
FROM we_patients, we_slots, ptl.mutual_aid_plan(we_patients.a, we_slots.a, '2025-03-03', 'optimal');
-- Totals: greedy serves 1,330 wait-days and saves 329; optimal 1,421 and 357.
SELECT plan_mode, count(*) AS moves, sum(wait_days) AS wait_days_served, sum(days_saved) AS days_saved
FROM we_patients, we_slots, unnest(ARRAY['greedy', 'optimal']) mode,
     ptl.mutual_aid_plan(we_patients.a, we_slots.a, '2025-03-03', mode)
WHERE reason = 'SUGGESTED' GROUP BY plan_mode ORDER BY plan_mode;

-- Eligibility edges (6.2): exactly 280 days is enough, 279 is not; a TCI
-- 56 days ahead is within 8 weeks, 57 is not; 18 years old is an adult;
-- P2 and P5 are not in the categories; a veto, a suspension and a tertiary
-- referral each exclude.  Nobody gets a slot here, so each reason shows.
SELECT patient_key AS p, wait_days, reason
FROM ptl.mutual_aid_plan(
    ARRAY[ROW(1, 'A', '110', 'W37.1', date '2025-03-03' - 280, 'P4', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(2, 'A', '110', 'W37.1', date '2025-03-03' - 279, 'P4', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(3, 'A', '110', 'W37.1', date '2024-01-01', 'P4', date '2025-03-03' + 56, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(4, 'A', '110', 'W37.1', date '2024-01-01', 'P4', date '2025-03-03' + 57, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(5, 'A', '110', 'W37.1', date '2024-01-01', 'P3', NULL, 18, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(6, 'A', '110', 'W37.1', date '2024-01-01', 'P3', NULL, 17, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(7, 'A', '110', 'W37.1', date '2024-01-01', 'P2', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(8, 'A', '110', 'W37.1', date '2024-01-01', 'P5', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL),
          ROW(9, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', true, false, '2026-01-01', NULL),
          ROW(10, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, false, true, NULL, 53.4, -3.0, 'inpatient', false, true, '2026-01-01', NULL),
          ROW(11, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, true, true, NULL, 53.4, -3.0, 'inpatient', false, false, '2026-01-01', NULL)
         ]::ptl.aid_patient[],
    '{}'::ptl.aid_slot[], '2025-03-03')
ORDER BY patient_key;

-- Feasibility reasons (6.3), one slot each: wrong group, same provider, too
-- little capability, out of radius (a distance that cannot be computed
-- fails a radius too), too soon, too little gain.
SELECT x.p, x.why, m.reason
FROM (VALUES (1, 'only knees taken', ROW(1, 'B', 'SB', 53.19, -2.89, '110', '{W40}', date '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50::float8, -2.99, date '2026-01-01'),
             (2, 'same provider', ROW(1, 'A', 'SA', 53.19, -2.89, '110', NULL, '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2026-01-01'),
             (3, 'day case unit only', ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, '2025-04-01', 'daycase', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2026-01-01'),
             (4, '15 miles, radius 10', ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 10, -2.99, '2026-01-01'),
             (5, 'no coordinates', ROW(1, 'B', 'SB', NULL, NULL, '110', NULL, '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2026-01-01'),
             (6, 'within the lead time', ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, '2025-03-16', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2026-01-01'),
             (7, 'saves 27 days', ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2025-04-28'),
             (8, 'saves 28 days', ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, '2025-04-01', 'level2', NULL)::ptl.aid_slot, 'inpatient', 50, -2.99, '2025-04-29'))
     x(p, why, slot, needs, radius, lon, eo),
     ptl.mutual_aid_plan(ARRAY[ROW(x.p, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, false, true, x.radius,
                                   53.4084, x.lon, x.needs, false, false, x.eo, NULL)::ptl.aid_patient],
                         ARRAY[x.slot], '2025-03-03') m
ORDER BY x.p;

-- Bad input.
SELECT * FROM ptl.mutual_aid_plan('{}', '{}', '2025-03-03', 'random');
SELECT * FROM ptl.mutual_aid_plan('{}', ARRAY[ROW(1, 'B', 'SB', 0, 0, '110', NULL, '2025-04-01', 'ward', NULL)::ptl.aid_slot],
                                  '2025-03-03');
SELECT * FROM ptl.mutual_aid_match('{1,1}', '{1,1}', '{5,5}', '{2024-01-01,2024-01-01}', '{2025-01-01,2025-01-01}',
                                   '{1,1}', '{1,1}', false);
SELECT * FROM ptl.mutual_aid_match('{1}', '{1,2}', '{5}', '{2024-01-01}', '{2025-01-01}', '{1}', '{1}', false);

-- Requests and offers move open -> agreed -> completed, every change audited.
INSERT INTO ptl.organisation (org_code, name) VALUES ('MAA', 'Origin Trust'), ('MAB', 'Helper Trust');
INSERT INTO ptl.site (site_code, org_code, name, postcode) VALUES ('MAB01', 'MAB', 'Helper General', 'QX1 1AA');
INSERT INTO ptl.postcode_district VALUES ('QX1', 53.1934, -2.8931);
INSERT INTO ptl.mutual_aid_request (request_id, requesting_org, treatment_function, patients, min_wait_weeks,
                                    needed_from, needed_until)
VALUES (970001, 'MAA', '110', 20, 40, '2025-03-17', '2025-05-30');
INSERT INTO ptl.mutual_aid_offer (offer_id, offering_org, site_code, treatment_function, accepted_groups, capability,
                                  available_from, available_until, request_id)
VALUES (970001, 'MAB', 'MAB01', '110', '{W37,W40}', 'inpatient', '2025-03-17', '2025-03-28', 970001);
-- 7 slots over the 10 weekdays of 17-28 March (slot numbers from 970001)
SELECT setval(pg_get_serial_sequence('ptl.mutual_aid_slot', 'slot_id'), 970001, false) AS first_slot_id;
SELECT ptl.add_mutual_aid_slots(970001, 7);
SELECT slot_id, slot_date FROM ptl.mutual_aid_slot ORDER BY slot_id;
-- the site is placed from its postcode district
SELECT slot_id, latitude, longitude, capability FROM ptl.mutual_aid_free_slot ORDER BY slot_id LIMIT 1;
UPDATE ptl.mutual_aid_request SET state = 'agreed';
UPDATE ptl.mutual_aid_offer SET state = 'agreed';
UPDATE ptl.mutual_aid_request SET state = 'completed';
UPDATE ptl.mutual_aid_request SET state = 'open';
UPDATE ptl.mutual_aid_offer SET state = 'expired';
SELECT ptl.add_mutual_aid_slots(970001, 0);
SELECT kind, id, old_state, new_state, changed_by = current_user AS by_me FROM ptl.mutual_aid_state_change ORDER BY change_id;
-- a withdrawn offer's slots are no longer free
UPDATE ptl.mutual_aid_offer SET state = 'withdrawn';
SELECT count(*) AS free_slots FROM ptl.mutual_aid_free_slot;
SELECT ptl.transfer_for_mutual_aid(1, 970001, '2025-03-10');
SELECT ptl.transfer_for_mutual_aid(1, 999);
DELETE FROM ptl.mutual_aid_slot;
DELETE FROM ptl.mutual_aid_offer;
DELETE FROM ptl.mutual_aid_request;
DELETE FROM ptl.mutual_aid_state_change;
DELETE FROM ptl.postcode_district;
DELETE FROM ptl.site WHERE site_code = 'MAB01';
DELETE FROM ptl.organisation WHERE org_code IN ('MAA', 'MAB');
