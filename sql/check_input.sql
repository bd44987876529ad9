-- ptl.check_input(value, type): what value::type would raise, returned
-- instead of raised, for the loader.  This test proves, value by value, that
-- it says exactly what the cast says.
CREATE FUNCTION pg_temp.cast_error(value text, target regtype) RETURNS ptl.input_problem
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    EXECUTE format('SELECT %L::%s', value, target);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN ROW(st, msg, nullif(det, ''))::ptl.input_problem;
END
$$;

CREATE TEMP TABLE probe (value text, target regtype);
INSERT INTO probe
SELECT v, 'ptl.nhs_number'::regtype FROM unnest(ARRAY['9434765919', '943 476 5919', '943-476-5919', '4857773456',
    '1234567890', '943476591', '', 'abc', '943 476 591X', '943 4765919', ' 9434765919 ']) v
UNION ALL
SELECT v, 'ptl.rtt_status' FROM unnest(ARRAY['10', '33', ' 99 ', '13', '3', '3O', '']) v
UNION ALL
SELECT v, 'ptl.clinical_priority' FROM unnest(ARRAY['P1a', 'p2', 'P1', 'P7', '']) v
UNION ALL
SELECT v, 'date' FROM unnest(ARRAY['2025-03-31', '31/03/2025', '2025-02-29', '2024-02-29', '2025-02-30',
    '31/13/2024', '2025-13-01', '2025-1-32', 'N/A', '', 'yesterday-ish', '20250101', '2025-01-01x',
    'epoch', 'infinity', '5874898-01-01', '4714-11-24 BC', '4714-11-23 BC', '99999999', '2025-01-01 12:00',
    '1 Jan 2025', 'January 32 2025']) v
UNION ALL
SELECT v, 'integer' FROM unnest(ARRAY['0', ' 42 ', '-2147483648', '2147483647', '2147483648', '-2147483649',
    'thirty', '1.5', '', '+7', '- 7', '99999999999999999999']) v
UNION ALL
SELECT v, 'smallint' FROM unnest(ARRAY['32767', '32768', '-32768', 'x']) v
UNION ALL
SELECT v, 'bigint' FROM unnest(ARRAY['9223372036854775807', '9223372036854775808', '-9223372036854775808', 'x']) v
UNION ALL
SELECT v, 'ptl.event_kind' FROM unnest(ARRAY['referral', 'appointment', 'Referral', '']) v
UNION ALL
SELECT v, 'text' FROM unnest(ARRAY['anything', '']) v;

-- Day-first dates, as the loader reads them.
SET datestyle = 'ISO, DMY';

-- Every probe: the cast's verdict and check_input's must be identical.
SELECT target, value, ptl.check_input(value, target) AS check_input
FROM probe
WHERE ptl.check_input(value, target) IS DISTINCT FROM pg_temp.cast_error(value, target);

-- And here is what they say.
SELECT target, value, (ptl.check_input(value, target)).*
FROM probe ORDER BY target::text, value;

-- Unsupported target types are an error, not a guess.
SELECT ptl.check_input('1', 'numeric');
SELECT ptl.check_input(NULL, 'date') IS NULL AS strict;

RESET datestyle;
