-- The types' behaviour with SQLSTATEs (the exact messages are pinned in
-- sql/nhs_number.sql, sql/rtt_status.sql and sql/clinical_priority.sql).
BEGIN;
SELECT plan(32);

SELECT has_type('ptl', 'nhs_number', 'ptl.nhs_number exists');
SELECT has_type('ptl', 'rtt_status', 'ptl.rtt_status exists');
SELECT has_type('ptl', 'clinical_priority', 'ptl.clinical_priority exists');
SELECT has_function('ptl', 'nhs_number_valid', ARRAY['text'], 'ptl.nhs_number_valid(text) exists');
SELECT has_function('ptl', 'check_input', ARRAY['text', 'regtype'], 'ptl.check_input(text, regtype) exists');

-- NHS number (NHS Data Dictionary Modulus 11; rtt-rules.md 7)
SELECT is('943 476 5919'::ptl.nhs_number::text, '943 476 5919', 'NHS number: display form round-trips');
SELECT is('4000000020'::ptl.nhs_number::text, '400 000 0020', 'NHS number: check value 11 is written 0');
SELECT throws_ok($$SELECT '4857773456'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "4857773456"', 'NHS number: a wrong check digit is 22P02');
SELECT throws_ok($$SELECT '1234567890'::ptl.nhs_number$$, '22P02', NULL,
    'NHS number: check value 10 is invalid whatever the last digit');
SELECT throws_ok($$SELECT '94347659'::ptl.nhs_number$$, '22P02', NULL, 'NHS number: 8 digits is 22P02');
SELECT throws_ok($$SELECT 4857773456::bigint::ptl.nhs_number$$, '22023', NULL,
    'NHS number: an invalid bigint is 22023');
SELECT ok(NOT ptl.nhs_number_valid('485 777 3456') AND ptl.nhs_number_valid('485 777 3457'),
    'nhs_number_valid agrees with the input function');
SELECT ok('400 000 0071'::ptl.nhs_number OPERATOR(ptl.<) '485-777-3457'::ptl.nhs_number
          AND '943 476 5919'::ptl.nhs_number OPERATOR(ptl.=) '9434765919'::ptl.nhs_number,
    'NHS numbers compare by value, whatever their spelling');

-- RTT status codes (rtt-rules.md 4.3): each group has exactly its codes.
SELECT is((SELECT array_agg(s ORDER BY s)::text FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
           WHERE ptl.rtt_status_starts_clock(s)), '{10,11,12}', 'RTT status: 10, 11, 12 start a period');
SELECT is((SELECT array_agg(s ORDER BY s)::text FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
           WHERE ptl.rtt_status_continues_clock(s)), '{20,21}', 'RTT status: 20, 21 keep the clock running');
SELECT is((SELECT array_agg(s ORDER BY s)::text FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
           WHERE ptl.rtt_status_stops_clock(s)), '{30,31,32,33,34,35,36}', 'RTT status: 30-36 stop the clock');
SELECT is((SELECT array_agg(s ORDER BY s)::text FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
           WHERE ptl.rtt_status_nullifies_clock(s)), '{33}', 'RTT status: only 33 nullifies');
SELECT is((SELECT array_agg(s ORDER BY s)::text FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
           WHERE ptl.rtt_status_outside_rtt(s)), '{90,91,92,98}', 'RTT status: 90, 91, 92, 98 are outside RTT');
SELECT is(ptl.rtt_status_group('99'), 'unknown', 'RTT status: 99 is not yet known');
SELECT throws_ok($$SELECT '13'::ptl.rtt_status$$, '22P02', 'invalid input syntax for type rtt_status: "13"',
    'RTT status: a code outside the 17 is 22P02');
SELECT throws_ok($$SELECT 37::ptl.rtt_status$$, '22023', NULL, 'RTT status: an integer outside the 17 is 22023');

-- Clinical priority (FSSA 2020; rtt-rules.md 8.1)
SELECT ok('P1a'::ptl.clinical_priority OPERATOR(ptl.<) 'P1b' AND 'P1b'::ptl.clinical_priority OPERATOR(ptl.<) 'P2'
          AND 'P4'::ptl.clinical_priority OPERATOR(ptl.<) 'P5', 'priority: ordered by urgency, P1a first');
SELECT is('p1A'::ptl.clinical_priority::text, 'P1a', 'priority: input is case-insensitive, output canonical');
SELECT throws_ok($$SELECT 'P1'::ptl.clinical_priority$$, '22P02', NULL, 'priority: bare P1 is 22P02');
SELECT is(ptl.priority_target_days('P1a'), 1, 'priority: P1a target 1 day');
SELECT is(ptl.priority_target_days('P1b'), 3, 'priority: P1b target 3 days');
SELECT is(ptl.priority_target_days('P2'), 28, 'priority: P2 target 28 days');
SELECT is(ptl.priority_target_days('P3'), 90, 'priority: P3 target 90 days');
SELECT is(ptl.priority_target_days('P4'), 365, 'priority: P4 target 365 days');
SELECT ok(ptl.priority_target_days('P5') IS NULL AND ptl.priority_target_days('P6') IS NULL,
    'priority: P5 and P6 have no target');
INSERT INTO ptl.priority_target_override (priority, target_days, reason) VALUES ('P3', 60, 'test');
SELECT is(ptl.priority_target_days('P3'), 60, 'priority: an override replaces the default');

-- check_input never raises for what it supports.
SELECT lives_ok($$SELECT ptl.check_input(x, 'date') FROM unnest(ARRAY['2025-02-30', 'x', '', '1/1/1 Europe/Nowhere']) x$$,
    'check_input does not raise on bad dates, even with a time-zone-like word');

SELECT * FROM finish();
ROLLBACK;
