-- The loading policy (ptl.load_policy, docs/loading.md), every line a test.
-- Each extract's example row (ptl.feed_example) must load clean; then each
-- line's fault is planted in a copy of that row (its own key, so that every
-- line is a record of its own) and the loader must do what the line says:
-- quarantine the row with the column and reason, or load it with a warning
-- on the column (for an unknown code, with a placeholder in the reference
-- table).  The faulty values are made from the column's own rule
-- (ptl_synth.fault_value), so a column added to ptl.extract_column is
-- tested without touching this file.
BEGIN;
SELECT plan((SELECT count(*)::int + 4 FROM ptl.load_policy));

CREATE EXTENSION IF NOT EXISTS ptl_synth;
INSERT INTO ptl.organisation (org_code, name) VALUES ('RZ9', 'Policy Test NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZ901', 'RZ9', 'Policy General');
-- Reference data the examples need that no extract delivers (kept by an
-- administrator): the theatre the example session is in; another trust's
-- site and clinic (rules C1, C2: a batch reaches only its own trust's); an
-- offer of RZ9's withdrawn in ptl (rule C9: only an open offer changes).
INSERT INTO ptl.theatre (theatre_code, site_code, name) VALUES ('EX-TH1', 'RZ901', 'Policy theatre 1');
INSERT INTO ptl.organisation (org_code, name) VALUES ('RZ8', 'Neighbour Test NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZ801', 'RZ8', 'Neighbour General');
INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name) VALUES ('EX-C9', 'RZ801', '110', 'Neighbour hip clinic');
INSERT INTO ptl.mutual_aid_offer (offering_org, source_ref, site_code, treatment_function, capability, available_from,
                                  available_until, state, created_by)
VALUES ('RZ9', 'EX-MA9', 'RZ901', '110', 'inpatient', '2025-04-01', '2025-06-30', 'withdrawn', 'policy test');

-- Whether a key column of an extract still passes its column rule with a
-- line's suffix (a reference does; a date, a code or a site code does not).
CREATE FUNCTION pg_temp.takes_suffix(extract_name text, column_name text, value text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT coalesce(value, '') <> '' AND NOT ptl_synth.value_breaks(c, value)
    FROM ptl.extract_column c WHERE c.extract = extract_name AND c.column_name = takes_suffix.column_name
$$;

-- The key column that makes line n's row a record of its own: the last
-- natural-key column that takes the suffix; failing that (a bed base is a
-- site, a day and a weekday), the last date among them, moved n days on.
CREATE FUNCTION pg_temp.own_column(extract_name text, row_value jsonb) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(
        (SELECT k FROM ptl.feed f, unnest(f.natural_key) WITH ORDINALITY u (k, i)
         WHERE f.extract = extract_name AND pg_temp.takes_suffix(extract_name, k, (row_value ->> k) || '-L1')
         ORDER BY i DESC LIMIT 1),
        (SELECT k FROM ptl.feed f, unnest(f.natural_key) WITH ORDINALITY u (k, i)
         JOIN ptl.extract_column c ON c.extract = extract_name AND c.column_name = k
         WHERE f.extract = extract_name AND c.value_type = 'date'::regtype ORDER BY i DESC LIMIT 1))
$$;

-- Columns that must differ between rows beyond their key: a theatre holds
-- one session at a start (theatre_session_slot_taken), a session one
-- booking at a place (theatre_booking_place_taken).  Line n moves them n
-- days, or n places, on.
CREATE TEMP TABLE spread (extract text, column_name text);
INSERT INTO spread VALUES ('theatre_session', 'session_date'), ('theatre_booking', 'planned_order');

CREATE FUNCTION pg_temp.moved(extract_name text, row_value jsonb, k text, n bigint) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT row_value || jsonb_build_object(k,
        CASE WHEN c.value_type = 'date'::regtype THEN ((row_value ->> k)::date + n::int)::text
             ELSE ((row_value ->> k)::bigint + n)::text END)
    FROM ptl.extract_column c WHERE c.extract = extract_name AND c.column_name = k
$$;

CREATE FUNCTION pg_temp.spread(extract_name text, row_value jsonb, n bigint) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT coalesce((SELECT pg_temp.moved(extract_name, row_value, s.column_name, n)
                     FROM spread s WHERE s.extract = extract_name), row_value)
$$;

-- A row's own key made its own for line n: its own column gets the suffix
-- (or is moved on), and the columns of the spread are moved on.
CREATE FUNCTION pg_temp.own_key(extract_name text, row_value jsonb, n bigint) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT pg_temp.spread(extract_name,
               CASE WHEN pg_temp.takes_suffix(extract_name, k, (row_value ->> k) || '-L' || n)
                    THEN row_value || jsonb_build_object(k, (row_value ->> k) || '-L' || n)
                    ELSE pg_temp.moved(extract_name, row_value, k, n) END, n)
    FROM (SELECT pg_temp.own_column(extract_name, row_value) AS k) x
$$;

-- The parents a row's own key names: an extract loaded earlier whose
-- natural key is part of this one's and holds its own column (a
-- cancellation is its booking's, a transfer preference its pathway's, a
-- clinic session its clinic's).  Line n plants them too, with the same key.
CREATE FUNCTION pg_temp.key_parents(extract_name text) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT p.extract FROM ptl.feed f JOIN ptl.feed p ON p.load_order < f.load_order
    JOIN ptl.feed_example x ON x.extract = f.extract
    WHERE f.extract = extract_name AND p.natural_key <@ f.natural_key
      AND pg_temp.own_column(f.extract, x.example) = ANY (p.natural_key)
$$;

-- The rows of a longer example point at each other: every natural-key
-- column of the example's extracts gets the suffix (where it takes one).
CREATE FUNCTION pg_temp.all_keys(row_value jsonb, suffix text, extracts text[]) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT row_value || coalesce(jsonb_object_agg(k, (row_value ->> k) || suffix), '{}')
    FROM (SELECT DISTINCT f.extract, unnest(f.natural_key) AS k FROM ptl.feed f WHERE f.extract = ANY (extracts)) x
    WHERE row_value ? k AND pg_temp.takes_suffix(x.extract, k, (row_value ->> k) || suffix)
$$;

-- 1. Every extract has an example, and the examples load clean.
SELECT is((SELECT count(*) FROM ptl.feed f WHERE NOT EXISTS (SELECT 1 FROM ptl.feed_example x WHERE x.extract = f.extract)),
          0::bigint, 'every extract of ptl.feed has an example row');
SELECT ptl.open_batch('RZ9', 'PAS', 'RZ901', 'policy: examples') AS clean \gset
SELECT ptl_synth.stage_row(:clean, x.extract, x.example, 1) FROM ptl.feed_example x JOIN ptl.feed f USING (extract);
CREATE TEMP TABLE clean_load AS SELECT * FROM ptl.load(:clean);
SELECT is((SELECT sum(rows_loaded) FROM clean_load), (SELECT count(*)::numeric FROM ptl.feed_example),
          'every example row loads');
SELECT is((SELECT sum(rows_quarantined + rows_with_warnings) FROM clean_load), 0::numeric,
          'with no quarantine and no warning');

-- 2. Each line's fault, planted in a row of its own, all in one batch.
CREATE TEMP TABLE line AS
SELECT row_number() OVER (ORDER BY p.load_order, p.ordinal, p.fault) AS n, p.*
FROM ptl.load_policy p;
SELECT ptl.open_batch('RZ9', 'PAS', 'RZ901', 'policy: faults') AS faults \gset
CREATE TEMP TABLE planted (n bigint, extract text, place bigint, checked boolean, bad_value text);

-- column faults: one row each
INSERT INTO planted
SELECT l.n, l.extract, l.n * 10, true, ptl_synth.fault_value(c, l.fault)
FROM line l JOIN ptl.extract_column c USING (extract, column_name)
WHERE l.fault IN ('missing', 'malformed', 'implausible', 'unknown_code');
SELECT ptl_synth.stage_row(:faults, p.extract,
                     pg_temp.own_key(p.extract, x.example, l.n) || jsonb_build_object(l.column_name, p.bad_value),
                     p.place)
FROM planted p JOIN line l USING (n) JOIN ptl.feed_example x ON x.extract = p.extract;

-- a repeated key: two rows, the first superseded
INSERT INTO planted
SELECT l.n, l.extract, l.n * 10 + i, i = 0, NULL FROM line l, generate_series(0, 1) i WHERE l.fault = 'repeated_key';
SELECT ptl_synth.stage_row(:faults, p.extract, pg_temp.own_key(p.extract, x.example, l.n), p.place)
FROM planted p JOIN line l USING (n) JOIN ptl.feed_example x ON x.extract = p.extract
WHERE l.fault = 'repeated_key';

-- a parent not held
INSERT INTO planted SELECT l.n, l.extract, l.n * 10, true, NULL FROM line l WHERE l.fault = 'unknown_parent';
SELECT ptl_synth.stage_row(:faults, p.extract,
                     pg_temp.own_key(p.extract, x.example, l.n) || jsonb_build_object(l.column_name, 'NO-SUCH-PARENT'),
                     p.place)
FROM planted p JOIN line l USING (n) JOIN ptl.feed_example x ON x.extract = p.extract
WHERE l.fault = 'unknown_parent';

-- row rules: their own example, the last row the one the rule applies to
-- (a one-row example is a record of its own; the rows of a longer one
-- point at each other)
INSERT INTO planted
SELECT l.n, e.item ->> 'extract', l.n * 10 + e.i, e.i = jsonb_array_length(r.example), NULL
FROM line l JOIN ptl.feed_rule r ON r.extract = l.extract AND r.rule = l.fault,
     jsonb_array_elements(r.example) WITH ORDINALITY e (item, i);
SELECT ptl_synth.stage_row(:faults, p.extract,
                     CASE WHEN jsonb_array_length(r.example) > 1
                          THEN pg_temp.spread(p.extract, pg_temp.all_keys(x.example, '-L' || l.n,
                                   ARRAY(SELECT y.item ->> 'extract' FROM jsonb_array_elements(r.example) y (item))), l.n)
                          ELSE pg_temp.own_key(p.extract, x.example, l.n) END || (e.item -> 'set'), p.place)
FROM planted p JOIN line l USING (n)
JOIN ptl.feed_rule r ON r.extract = l.extract AND r.rule = l.fault
CROSS JOIN LATERAL (SELECT y.item FROM jsonb_array_elements(r.example) WITH ORDINALITY y (item, i)
                    WHERE l.n * 10 + y.i = p.place) e
JOIN ptl.feed_example x ON x.extract = p.extract;

-- the parents a single row's own key names (its rows at place n * 10 + 9)
INSERT INTO planted
SELECT l.n, k.parent, l.n * 10 + 9, false, NULL
FROM line l CROSS JOIN LATERAL pg_temp.key_parents(l.extract) k (parent)
WHERE NOT EXISTS (SELECT 1 FROM ptl.feed_rule r WHERE r.extract = l.extract AND r.rule = l.fault
                  AND jsonb_array_length(r.example) > 1);
SELECT ptl_synth.stage_row(:faults, p.extract, pg_temp.own_key(p.extract, x.example, p.n), p.place)
FROM planted p JOIN ptl.feed_example x ON x.extract = p.extract
WHERE p.place = p.n * 10 + 9;

CREATE TEMP TABLE fault_load AS SELECT * FROM ptl.load(:faults);

-- What became of each checked row.
CREATE TEMP TABLE outcome AS
SELECT l.n, l.extract, l.fault, l.column_name, l.action, p.bad_value,
       r.reason AS rejected_reason, r.column_name AS rejected_column,
       w.reason AS warned_reason,
       -- the reason: the column rule's (as the loader's message function
       -- gives it for the value), or the row rule's
       CASE WHEN l.fault IN ('missing', 'malformed', 'implausible', 'unknown_code')
            THEN ARRAY[(ptl_internal.extract_value_problem(c, p.bad_value, current_date)).reason]
            WHEN l.fault = 'repeated_key' THEN '{duplicate_in_extract}'
            WHEN l.fault = 'unknown_parent' THEN '{unknown_parent}'
            ELSE ARRAY[(SELECT fr.reason FROM ptl.feed_rule fr WHERE fr.extract = l.extract AND fr.rule = l.fault)]
       END::text[] AS reasons
FROM line l
JOIN planted p ON p.n = l.n AND p.checked
LEFT JOIN ptl.extract_column c ON c.extract = l.extract AND c.column_name = l.column_name
LEFT JOIN ptl.rejected_row r ON r.batch_id = :faults AND r.extract = p.extract AND r.row_in_extract = p.place
LEFT JOIN ptl.load_warning w ON w.batch_id = :faults AND w.extract = p.extract AND w.row_in_extract = p.place
                            AND w.column_name = l.column_name;

SELECT ok(CASE o.action
              WHEN 'quarantine' THEN o.rejected_reason = ANY (o.reasons)
                                     AND o.rejected_column IS NOT DISTINCT FROM o.column_name
              -- (an invalid code's warning is named after its column)
              WHEN 'load_without' THEN o.rejected_reason IS NULL
                                       AND o.warned_reason = CASE WHEN o.reasons[1] = 'invalid_code'
                                                                  THEN 'invalid_' || o.column_name ELSE o.reasons[1] END
              WHEN 'placeholder' THEN o.rejected_reason IS NULL AND o.warned_reason LIKE 'placeholder_%'
                                      AND EXISTS (SELECT 1 FROM ptl.site s WHERE s.site_code = o.bad_value AND s.placeholder
                                                  UNION ALL SELECT 1 FROM ptl.commissioner m WHERE m.commissioner_code = o.bad_value AND m.placeholder
                                                  UNION ALL SELECT 1 FROM ptl.treatment_function t WHERE t.tfc = o.bad_value AND t.placeholder)
          END,
          format('%s.%s %s (%s): %s%s', o.extract, coalesce(o.column_name, '(row)'), o.fault,
                 coalesce(quote_literal(o.bad_value), 'its example'), o.action,
                 CASE WHEN o.action = 'quarantine' THEN ' as ' ELSE ' with a warning, ' END
                 || coalesce(o.reasons[1], 'a placeholder')))
FROM outcome o ORDER BY o.n;

SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM fault_load),
          'read = loaded + updated + quarantined for every extract of the faults batch');

SELECT * FROM finish();
ROLLBACK;
