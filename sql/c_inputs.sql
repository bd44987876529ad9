-- C functions refuse inputs outside their domain with 22023
-- (invalid_parameter_value) and a message naming the value, rather than
-- answering NaN or infinity, or carrying on with nonsense.  (ptl.check_input
-- and ptl.link_em are covered in sql/check_input.sql and sql/link_person.sql.)
SET search_path = ptl, public;
\set VERBOSITY default

-- Theatre durations (src/theatre/duration.c): a lognormal has a finite
-- positive mean and a finite standard deviation of 0 or more.
SELECT lognormal_quantile('Infinity', 10, 0.5);
SELECT lognormal_quantile(60, 'Infinity', 0.5);
SELECT lognormal_quantile(60, 'NaN', 0.5);
SELECT round(lognormal_quantile(60, 0, 0.5)::numeric, 6) AS certain_60;
-- A session's overrun: case durations finite, capacity finite.
SELECT session_overrun_probability('{Infinity}', '{5}', 240);
SELECT session_overrun_probability('{60}', '{Infinity}', 240);
SELECT session_overrun_probability('{60}', '{5}', 'NaN');
SELECT session_overrun_probability('{60}', '{5}', 'Infinity');
SELECT session_overrun_probability('{1e308,1e308}', '{5,5}', 240);
-- Fenton-Wilkinson fits a lognormal, whose mean is positive: uncertain cases
-- of no minutes at all have none (the normal method still answers).
SELECT session_overrun_probability('{0}', '{5}', 240, 'fenton_wilkinson');
SELECT round(session_overrun_probability('{0}', '{5}', 240)::numeric, 6) AS normal_method;

-- Mutual aid matching (src/aid/match.c): a feasible pair lies within the
-- radius, so its distance is a finite number of miles, 0 or more.
SELECT * FROM mutual_aid_match('{1}', '{1}', '{5}', '{2025-01-01}', '{2025-02-01}', '{Infinity}', '{3}', true);
SELECT * FROM mutual_aid_match('{1}', '{1}', '{5}', '{2025-01-01}', '{2025-02-01}', '{-1}', '{3}', true);
SELECT * FROM mutual_aid_match('{1}', '{1}', '{5}', '{2025-01-01}', '{2025-02-01}', '{12.5}', '{3}', true);

-- The bulk RTT clock refuses an infinite event date, as ptl.rtt_periods does.
SELECT rtt_periods_agg(d, 'referral', NULL, NULL, 1, date '2025-03-31', false)
FROM (VALUES (date '-infinity')) v(d);
SELECT * FROM rtt_periods(ARRAY[ROW('-infinity', 'referral', NULL, NULL)::rtt_event], '2025-03-31');

-- Each of these is SQLSTATE 22023 (invalid_parameter_value).
\set VERBOSITY sqlstate
SELECT lognormal_quantile('Infinity', 10, 0.5);
SELECT session_overrun_probability('{60}', '{5}', 'NaN');
SELECT session_overrun_probability('{0}', '{5}', 240, 'fenton_wilkinson');
SELECT rtt_periods_agg(d, 'referral', NULL, NULL, 1, date '2025-03-31', false)
FROM (VALUES (date 'infinity')) v(d);
\set VERBOSITY default
RESET search_path;
