-- pgTAP: ptl's types behave as the rules say, with the right SQLSTATEs.
-- (The full text of every message, detail and hint is pinned by the
-- pg_regress scripts sql/nhs_number.sql, sql/rtt_status.sql,
-- sql/clinical_priority.sql and sql/check_input.sql.)
--   pg_prove test/pgtap/types.sql      (in a database with pgtap and ptl)
BEGIN;
SELECT plan(76);

-- ---------------------------------------------------------------------------
-- Structure
-- ---------------------------------------------------------------------------
SELECT has_type('ptl', 'nhs_number', 'ptl.nhs_number exists');
SELECT has_type('ptl', 'rtt_status', 'ptl.rtt_status exists');
SELECT has_type('ptl', 'clinical_priority', 'ptl.clinical_priority exists');
SELECT has_composite('ptl', 'input_problem', 'ptl.input_problem exists');
SELECT has_table('ptl', 'priority_target', 'ptl.priority_target exists');
SELECT has_function('ptl', 'nhs_number_valid', ARRAY['text'], 'ptl.nhs_number_valid(text) exists');
SELECT has_function('ptl', 'check_input', ARRAY['text', 'regtype'], 'ptl.check_input(text, regtype) exists');
SELECT has_function('ptl', 'priority_target_days', ARRAY['ptl.clinical_priority'],
    'ptl.priority_target_days(clinical_priority) exists');
SELECT has_function('ptl', f, ARRAY['ptl.rtt_status'], format('ptl.%s(rtt_status) exists', f))
FROM unnest(ARRAY['rtt_status_starts_clock', 'rtt_status_continues_clock', 'rtt_status_stops_clock',
                  'rtt_status_nullifies_clock', 'rtt_status_outside_rtt', 'rtt_status_group',
                  'rtt_status_description']) f;

-- Markings: pure functions are IMMUTABLE; what reads a table or a setting
-- is STABLE; all are STRICT.
SELECT volatility_is('ptl', 'nhs_number_valid', ARRAY['text'], 'immutable', 'nhs_number_valid is IMMUTABLE');
SELECT volatility_is('ptl', 'check_input', ARRAY['text', 'regtype'], 'stable',
    'check_input is STABLE (dates depend on DateStyle, enums on the catalogue)');
SELECT volatility_is('ptl', 'priority_target_days', ARRAY['ptl.clinical_priority'], 'stable',
    'priority_target_days is STABLE (it reads ptl.priority_target)');
SELECT is_strict('ptl', 'check_input', ARRAY['text', 'regtype'], 'check_input is STRICT');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'ptl.check_input(text, regtype)'::regprocedure), 's',
    'check_input is PARALLEL SAFE');

-- ---------------------------------------------------------------------------
-- NHS number (NHS Data Dictionary Modulus 11)
-- ---------------------------------------------------------------------------
-- Display/entry: 10 digits, or 3-3-4 with spaces or hyphens; output 3-3-4.
SELECT is('9434765919'::ptl.nhs_number::text, '943 476 5919', 'NHS number: 10 digits read, shown 3-3-4');
SELECT is('943-476-5919'::ptl.nhs_number::text, '943 476 5919', 'NHS number: hyphens accepted');
SELECT is(' 943 476 5919 '::ptl.nhs_number::text, '943 476 5919', 'NHS number: white space around ignored');
-- Step 4: check value 11 is written 0.
SELECT is('4000000020'::ptl.nhs_number::text, '400 000 0020', 'NHS number: check value 11 is written 0 (step 4)');
SELECT is('485 777 3457'::ptl.nhs_number::bigint, 4857773457::bigint, 'NHS number: the NHS DD example is valid');
-- Step 5: the check digit must match.
SELECT throws_ok($$SELECT '485 777 3456'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "485 777 3456"', 'NHS number: a wrong check digit is 22P02 (step 5)');
-- Step 4: check value 10 is invalid.
SELECT throws_ok($$SELECT '123 456 7890'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "123 456 7890"', 'NHS number: check value 10 is 22P02 (step 4)');
SELECT is((SELECT count(*) FROM generate_series(0, 9) d WHERE ptl.nhs_number_valid('400 000 008' || d)), 0::bigint,
    'NHS number: no last digit rescues 400 000 008x (step 4)');
-- Step 1: exactly 10 digits.
SELECT throws_ok($$SELECT '94347659'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "94347659"', 'NHS number: 8 digits is 22P02 (step 1)');
SELECT throws_ok($$SELECT '943 476 591X'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "943 476 591X"', 'NHS number: a letter is 22P02 (step 1)');
-- Display/entry: only 3-3-4 grouping, one kind of separator.
SELECT throws_ok($$SELECT '943-476 5919'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "943-476 5919"', 'NHS number: mixed separators are 22P02');
SELECT throws_ok($$SELECT '94 3476 5919'::ptl.nhs_number$$, '22P02',
    'invalid input syntax for type nhs_number: "94 3476 5919"', 'NHS number: misplaced separators are 22P02');
-- The bigint cast validates with 22023.
SELECT throws_ok($$SELECT 4857773456::bigint::ptl.nhs_number$$, '22023',
    'value 4857773456 is not a valid NHS number', 'NHS number: a bigint with a wrong check digit is 22023');
SELECT throws_ok($$SELECT 12345678901::bigint::ptl.nhs_number$$, '22023',
    'value 12345678901 is not a valid NHS number', 'NHS number: a bigint over 10 digits is 22023');
SELECT is(4857773457::bigint::ptl.nhs_number::text, '485 777 3457', 'NHS number: a valid bigint casts');
-- nhs_number_valid: same rules, never raises.
SELECT ok(ptl.nhs_number_valid('485 777 3457') AND NOT ptl.nhs_number_valid('485 777 3456')
          AND NOT ptl.nhs_number_valid('not a number') AND NOT ptl.nhs_number_valid(''),
    'nhs_number_valid agrees with the input function and never raises');
SELECT ok('400 000 0071'::ptl.nhs_number < '485-777-3457'::ptl.nhs_number
          AND '943 476 5919'::ptl.nhs_number = '9434765919'::ptl.nhs_number,
    'NHS numbers compare by value, whatever their spelling');

-- ---------------------------------------------------------------------------
-- RTT period status (NHS Data Dictionary; RTT guidance Annex D): all 17 codes and their groups
-- ---------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT s::text, ptl.rtt_status_group(s), ptl.rtt_status_starts_clock(s), ptl.rtt_status_continues_clock(s),
             ptl.rtt_status_stops_clock(s), ptl.rtt_status_nullifies_clock(s), ptl.rtt_status_outside_rtt(s)
      FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s ORDER BY s$$,
    $$VALUES ('10', 'start',   true,  false, false, false, false),
             ('11', 'start',   true,  false, false, false, false),
             ('12', 'start',   true,  false, false, false, false),
             ('20', 'running', false, true,  false, false, false),
             ('21', 'running', false, true,  false, false, false),
             ('30', 'stop',    false, false, true,  false, false),
             ('31', 'stop',    false, false, true,  false, false),
             ('32', 'stop',    false, false, true,  false, false),
             ('33', 'stop',    false, false, true,  true,  false),
             ('34', 'stop',    false, false, true,  false, false),
             ('35', 'stop',    false, false, true,  false, false),
             ('36', 'stop',    false, false, true,  false, false),
             ('90', 'not_rtt', false, false, false, false, true),
             ('91', 'not_rtt', false, false, false, false, true),
             ('92', 'not_rtt', false, false, false, false, true),
             ('98', 'not_rtt', false, false, false, false, true),
             ('99', 'unknown', false, false, false, false, false)$$,
    'RTT status: group, start, continue, stop, nullify and outside-RTT for all 17 codes');
SELECT is((SELECT count(DISTINCT ptl.rtt_status_description(s))
           FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s), 17::bigint,
    'RTT status: each code has its own description');
SELECT is(ptl.rtt_status_description('99'), 'Not yet known', 'RTT status: 99 means not yet known');
SELECT is(' 30 '::ptl.rtt_status::integer, 30, 'RTT status: white space around a code is ignored');
SELECT throws_ok($$SELECT '13'::ptl.rtt_status$$, '22P02', 'invalid input syntax for type rtt_status: "13"',
    'RTT status: a code outside the 17 is 22P02');
SELECT throws_ok($$SELECT '3'::ptl.rtt_status$$, '22P02', 'invalid input syntax for type rtt_status: "3"',
    'RTT status: one digit is 22P02');
SELECT throws_ok($$SELECT 37::ptl.rtt_status$$, '22023', 'value 37 is not a valid RTT period status',
    'RTT status: an integer outside the 17 is 22023');
SELECT is(36::ptl.rtt_status::text, '36', 'RTT status: a valid integer casts');

-- ---------------------------------------------------------------------------
-- Clinical priority (FSSA 2020)
-- ---------------------------------------------------------------------------
SELECT is((SELECT array_agg(p ORDER BY p)::text FROM unnest('{P6,p2,P1B,p1a,P4,P3,p5}'::ptl.clinical_priority[]) p),
    '{P1a,P1b,P2,P3,P4,P5,P6}', 'priority: ordered by urgency, P1a first');
SELECT is('p1A'::ptl.clinical_priority::text, 'P1a', 'priority: input is case-insensitive, output canonical');
SELECT is(' P2 '::ptl.clinical_priority::text, 'P2', 'priority: white space around is ignored');
SELECT throws_ok($$SELECT 'P1'::ptl.clinical_priority$$, '22P02',
    'invalid input syntax for type clinical_priority: "P1"', 'priority: a bare P1 (split in 2020) is 22P02');
SELECT throws_ok($$SELECT 'P7'::ptl.clinical_priority$$, '22P02',
    'invalid input syntax for type clinical_priority: "P7"', 'priority: P7 is 22P02');

-- Target days: the FSSA defaults in ptl.priority_target.
SELECT is(ptl.priority_target_days('P1a'), 1, 'priority: P1a target 1 day (within 24 hours)');
SELECT is(ptl.priority_target_days('P1b'), 3, 'priority: P1b target 3 days (within 72 hours)');
SELECT is(ptl.priority_target_days('P2'), 28, 'priority: P2 target 28 days (up to 4 weeks)');
SELECT is(ptl.priority_target_days('P3'), 90, 'priority: P3 target 90 days (up to 3 months)');
SELECT is(ptl.priority_target_days('P4'), 365, 'priority: P4 target 365 days (more than 3 months)');
SELECT is(ptl.priority_target_days('P5'), NULL, 'priority: P5 has no target (patient chose to wait, COVID-19)');
SELECT is(ptl.priority_target_days('P6'), NULL, 'priority: P6 has no target (patient chose to wait, other reasons)');
SELECT is((SELECT count(*) FROM ptl.priority_target), 7::bigint, 'priority: one target row per priority');
SELECT ok((SELECT bool_and(description <> '') FROM ptl.priority_target), 'priority: every priority is described');
-- A trust overrides a default by updating the table.
UPDATE ptl.priority_target SET target_days = 60 WHERE priority = 'P3';
SELECT is(ptl.priority_target_days('P3'), 60, 'priority: updating ptl.priority_target changes the target');
-- Inserting a priority that is there replaces it (how pg_restore reloads the table).
INSERT INTO ptl.priority_target VALUES ('P2', 21, 'Local policy: within 3 weeks');
SELECT is(ptl.priority_target_days('P2'), 21, 'priority: inserting an existing priority replaces its target');
SELECT is((SELECT count(*) FROM ptl.priority_target), 7::bigint, 'priority: ... without adding a row');
SELECT throws_ok($$UPDATE ptl.priority_target SET target_days = 0 WHERE priority = 'P1a'$$, '23514',
    NULL, 'priority: a target of 0 days is refused (check_violation)');

-- ---------------------------------------------------------------------------
-- check_input: the cast's verdict, without raising
-- ---------------------------------------------------------------------------
SET LOCAL datestyle = 'ISO, DMY';       -- day-first dates, as in UK extracts
SELECT is(ptl.check_input('943 476 5919', 'ptl.nhs_number'), NULL, 'check_input: a valid NHS number is NULL');
SELECT is(ptl.check_input('485 777 3456', 'ptl.nhs_number'),
    ROW('22P02', 'invalid input syntax for type nhs_number: "485 777 3456"',
        'The check digit is 6, but Modulus 11 of the first nine digits requires 7.')::ptl.input_problem,
    'check_input: a wrong check digit, as the cast would say it');
SELECT is((ptl.check_input('13', 'ptl.rtt_status')).sqlstate, '22P02', 'check_input: a bad RTT status is 22P02');
SELECT is((ptl.check_input('P1', 'ptl.clinical_priority')).sqlstate, '22P02', 'check_input: a bare P1 is 22P02');
SELECT is(ptl.check_input('31/03/2025', 'date'), NULL, 'check_input: a valid day-first date is NULL (DateStyle DMY)');
SELECT is(ptl.check_input('2025-02-30', 'date'),
    ROW('22008', 'date/time field value out of range: "2025-02-30"', NULL)::ptl.input_problem,
    'check_input: 30 February is 22008');
SELECT is(ptl.check_input('x', 'date'),
    ROW('22007', 'invalid input syntax for type date: "x"', NULL)::ptl.input_problem,
    'check_input: a word is 22007');
SELECT is((ptl.check_input('01/02/2025 N/A', 'date')).sqlstate, '22023',
    'check_input: a date followed by a zone-like word is 22023, as the cast says');
SELECT is(ptl.check_input('99999999999', 'integer'),
    ROW('22003', 'value "99999999999" is out of range for type integer', NULL)::ptl.input_problem,
    'check_input: an integer out of range is 22003');
SELECT is((ptl.check_input('x', 'integer')).message, 'invalid input syntax for type integer: "x"',
    'check_input: a word is not an integer (22P02)');
SELECT is(ptl.check_input('anything at all', 'text'), NULL, 'check_input: any text is text');
SELECT lives_ok($$SELECT ptl.check_input(x, t::regtype)
                  FROM unnest(ARRAY['2025-02-30', 'x', '', '1/1/1 Europe/Nowhere', 'allballs', '99999999999999999999']) x,
                       unnest(ARRAY['date', 'integer', 'bigint', 'ptl.nhs_number', 'ptl.rtt_status']) t$$,
    'check_input never raises for a supported type');
SELECT throws_ok($$SELECT ptl.check_input('1', 'numeric')$$, '0A000',
    'ptl.check_input does not support type numeric', 'check_input: an unsupported type is 0A000');

SELECT * FROM finish();
ROLLBACK;
