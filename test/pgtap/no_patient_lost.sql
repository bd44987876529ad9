-- No patient falls off the list (issue 21; docs/loading.md, "The loading
-- policy").  A generated ICS of 20,000 referrals arrives through staging
-- with two kinds of planted fault: the generator's own (malformed dates and
-- codes, invalid NHS numbers: ptl_synth.injected_fault), and, in rows the
-- generator left sound, two rows for every column fault of the loading
-- policy (ptl.load_policy: missing, malformed, implausible, unknown code).
-- Proved: every planted fault is quarantined or loaded with a warning
-- exactly as the policy says; nothing else is quarantined but the rows that
-- hang on a quarantined row; no waiting pathway whose patient and pathway
-- rows were sound is missing from the PTL; read = loaded + updated +
-- quarantined for every extract; V32 lists every open pathway loaded with a
-- fault.
BEGIN;
SELECT plan(23);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
CREATE TEMP TABLE run_batch (batch_id bigint);
CREATE TEMP TABLE staged_row (extract text, batch_id bigint, row_no bigint, place bigint, row_value jsonb, spoiled boolean);
CREATE TEMP TABLE planted (extract text, column_name text, fault text, action text, bad_value text,
                           batch_id bigint, row_no bigint, place bigint, row_value jsonb);
CREATE TEMP TABLE loaded AS SELECT * FROM ptl.batch_extract WHERE false;

-- Plants the policy's column faults (ptl.load_policy: missing, malformed,
-- implausible, unknown code) in the staged rows of some batches: two rows
-- of each extract per fault (one where the extract has too few rows; an
-- unknown code of its own for each), rows the generator left sound (neither they
-- nor their patient or pathway carry one of its faults), a fixed choice
-- (the rows' hash), never one row twice.  Records each row's place in its
-- extract (the loader numbers rows staged without a record number by
-- arrival).
CREATE FUNCTION pg_temp.plant(batches bigint[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    f ptl.feed;
    p record;
    n bigint;
BEGIN
    INSERT INTO run_batch SELECT unnest(batches);
    FOR f IN SELECT * FROM ptl.feed ORDER BY load_order LOOP
        -- (a row's place as ptl_internal.load_check_columns gives it: its record
        -- number when every row has one of its own, else its arrival)
        EXECUTE format($q$
            INSERT INTO staged_row
            SELECT %1$L, s.batch_id, s.row_no,
                   CASE WHEN count(s.source_row) OVER w = count(*) OVER w
                        THEN s.source_row ELSE row_number() OVER (w ORDER BY s.row_no) END,
                   to_jsonb(s) - '{batch_id,row_no,source_row}'::text[], false
            FROM ptl_stage.%1$I s WHERE s.batch_id = ANY ($1)
            WINDOW w AS (PARTITION BY s.batch_id)$q$, f.extract) USING batches;
    END LOOP;
    UPDATE staged_row r SET spoiled = true
    FROM ptl_synth.injected_fault i
    WHERE r.batch_id = ANY (batches) AND i.batch_id = r.batch_id
      AND (r.row_value ->> 'local_patient_id' = i.local_patient_id OR r.row_value ->> 'ppid' = i.ppid);
    -- Two rows per fault where the extract has enough, else one.
    INSERT INTO planted
    SELECT l.extract, l.column_name, l.fault, l.action,
           ptl_synth.fault_value(c, l.fault, (l.g * 2 + r.k % 2)::int), r.batch_id, r.row_no, r.place, r.row_value
    -- (lines ordered so that an extract with few rows has one of each kind
    -- of fault first)
    FROM (SELECT row_number() OVER (PARTITION BY lp.extract ORDER BY lp.rank_in_action, lp.action, lp.ordinal, lp.fault) AS m,
                 row_number() OVER (ORDER BY lp.load_order, lp.ordinal, lp.fault) AS g, lp.*,
                 count(*) OVER (PARTITION BY lp.extract) AS lines
          FROM (SELECT x.*, row_number() OVER (PARTITION BY x.extract, x.action ORDER BY x.ordinal, x.fault) AS rank_in_action
                FROM ptl.load_policy x
                WHERE x.fault IN ('missing', 'malformed', 'implausible', 'unknown_code')) lp) l
    JOIN ptl.extract_column c USING (extract, column_name)
    JOIN (SELECT x.*, row_number() OVER (PARTITION BY x.extract ORDER BY hashtext(x.extract || x.row_value::text),
                                                                         x.row_value::text) AS k,
                 count(*) OVER (PARTITION BY x.extract) AS available
          FROM staged_row x WHERE x.batch_id = ANY (batches) AND NOT x.spoiled) r
      ON r.extract = l.extract
     AND CASE WHEN r.available >= 2 * l.lines THEN (r.k + 1) / 2 = l.m ELSE r.k = l.m END;
    GET DIAGNOSTICS n = ROW_COUNT;
    FOR p IN SELECT * FROM planted WHERE batch_id = ANY (batches) LOOP
        EXECUTE format('UPDATE ptl_stage.%I SET %I = $1 WHERE batch_id = $2 AND row_no = $3', p.extract, p.column_name)
            USING p.bad_value, p.batch_id, p.row_no;
    END LOOP;
    RETURN n;
END $$;

-- Loads the batches the generators left open or ready.
CREATE FUNCTION pg_temp.load_staged() RETURNS bigint LANGUAGE sql AS $$
    WITH l AS (INSERT INTO loaded SELECT x.* FROM ptl.batch b, ptl.load(b.batch_id) x
               WHERE b.status IN ('open', 'ready') RETURNING 1)
    SELECT count(*) FROM l;
$$;

-- The PAS extracts of the ICS, planted and loaded.
SELECT pg_temp.plant(array_agg(b)) > 0 AS planted FROM ptl_synth.generate(20000, seed => 5) b;
SELECT pg_temp.load_staged() > 0 AS loaded;

-- Every other feed, staged by the generators from the refreshed ICS as
-- the trusts' systems would send it, planted and loaded in turn.
CALL ptl.refresh('2025-03-31');
SELECT pg_temp.plant(array_agg(b)) > 0 AS planted FROM ptl_synth.assess_waiting_patients(seed => 5) b;
SELECT pg_temp.load_staged() > 0 AS loaded;
SELECT pg_temp.plant(array_agg(b)) > 0 AS planted FROM ptl_synth.theatres(5) b;
SELECT pg_temp.load_staged() > 0 AS loaded;
SELECT count(*) > 0 AS staged FROM ptl_synth.beds(5);
SELECT pg_temp.plant(array_agg(batch_id)) > 0 AS planted FROM ptl.batch WHERE status IN ('open', 'ready');
SELECT pg_temp.load_staged() > 0 AS loaded;
SELECT count(*) > 0 AS staged FROM ptl_synth.outpatients(5);
SELECT pg_temp.plant(array_agg(batch_id)) > 0 AS planted FROM ptl.batch WHERE status IN ('open', 'ready');
SELECT pg_temp.load_staged() > 0 AS loaded;
SELECT count(*) > 0 AS staged FROM ptl_synth.mutual_aid(5);
SELECT pg_temp.plant(array_agg(batch_id)) > 0 AS planted FROM ptl.batch WHERE status IN ('open', 'ready');
SELECT pg_temp.load_staged() > 0 AS loaded;

SELECT is((SELECT count(DISTINCT extract) FROM planted), (SELECT count(*) FROM ptl.feed),
          'every extract of every feed arrived through staging, with planted faults');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT extract, action FROM ptl.load_policy
                                  WHERE fault IN ('missing', 'malformed', 'implausible', 'unknown_code')
                                  EXCEPT SELECT DISTINCT extract, action FROM planted) x),
          0::bigint, 'every feed has faults of every kind its policy has planted: quarantine, load_without, placeholder');

-- What became of each planted row.
CREATE TEMP TABLE planted_outcome AS
SELECT p.*, r.reason AS rejected_reason, r.column_name AS rejected_column, w.reason AS warned_reason,
       (ptl_internal.extract_value_problem(c, p.bad_value, current_date)).reason AS rule_reason
FROM planted p
JOIN ptl.extract_column c USING (extract, column_name)
LEFT JOIN ptl.rejected_row r ON r.batch_id = p.batch_id AND r.extract = p.extract AND r.row_in_extract = p.place
LEFT JOIN ptl.load_warning w ON w.batch_id = p.batch_id AND w.extract = p.extract AND w.row_in_extract = p.place
                            AND w.column_name = p.column_name;
-- (a fallen record: a planted row the policy quarantines, as first staged,
-- or a quarantined row; another row hangs on it when it names one of its
-- keys: an identifier, a reference or a code of its natural key, in any
-- column)
CREATE TEMP TABLE fallen_key AS
SELECT p.batch_id, p.extract, p.place, p.row_value ->> k.key AS key_value
FROM planted p JOIN ptl.feed f USING (extract),
     unnest(f.natural_key || '{local_patient_id,ppid,entry_ref}'::text[]) k (key)
WHERE p.action = 'quarantine' AND (k.key ~ '(_ref|_code|^ppid|_id)$') AND p.row_value ->> k.key IS NOT NULL
UNION
SELECT r.batch_id, r.extract, r.row_in_extract, r.raw ->> k.key
FROM ptl.rejected_row r JOIN ptl.feed f USING (extract),
     unnest(f.natural_key || '{local_patient_id,ppid,entry_ref}'::text[]) k (key)
WHERE jsonb_typeof(r.raw) = 'object' AND (k.key ~ '(_ref|_code|^ppid|_id)$') AND r.raw ->> k.key IS NOT NULL;
CREATE INDEX ON fallen_key (batch_id, key_value);
CREATE FUNCTION pg_temp.hangs_on_fallen(batch bigint, extract_name text, place bigint, row_value jsonb)
RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_each_text(row_value) v JOIN fallen_key k ON k.key_value = v.value
                   WHERE k.batch_id = batch AND v.key <> 'ppid_issuer'
                     AND (k.extract, k.place) IS DISTINCT FROM (extract_name, place))
$$;

SELECT is((SELECT count(*) FROM planted_outcome
           WHERE action = 'quarantine'
             AND (rejected_reason IS DISTINCT FROM rule_reason OR rejected_column IS DISTINCT FROM column_name)),
          0::bigint, 'every planted fault the policy quarantines is quarantined, with its column and reason');
-- (unless the row broke a row rule of its extract that quarantines, or
-- hangs on a record that fell)
CREATE TEMP TABLE quarantined_otherwise AS
SELECT o.batch_id, o.extract, o.place FROM planted_outcome o
WHERE o.rejected_reason IS NOT NULL
  AND (EXISTS (SELECT 1 FROM ptl.feed_rule fr WHERE fr.extract = o.extract AND fr.action = 'quarantine'
                 AND fr.reason = o.rejected_reason AND fr.column_name = o.rejected_column)
       OR pg_temp.hangs_on_fallen(o.batch_id, o.extract, o.place, o.row_value));
SELECT is((SELECT count(*) FROM planted_outcome o
           WHERE o.action = 'load_without'
             AND (o.batch_id, o.extract, o.place) NOT IN (SELECT * FROM quarantined_otherwise)
             AND (o.rejected_reason IS NOT NULL
                  OR o.warned_reason IS DISTINCT FROM CASE WHEN o.rule_reason = 'invalid_code' THEN 'invalid_' || o.column_name
                                                           ELSE o.rule_reason END)),
          0::bigint, 'every planted fault the policy loads without the value loads, with its warning');
SELECT is((SELECT count(*) FROM planted_outcome o
           WHERE o.action = 'placeholder'
             AND (o.batch_id, o.extract, o.place) NOT IN (SELECT * FROM quarantined_otherwise)
             AND (o.rejected_reason IS NOT NULL OR o.warned_reason NOT LIKE 'placeholder_%' OR o.warned_reason IS NULL)),
          0::bigint, 'every planted unknown code loads as a placeholder, with its warning');

-- What the loading policy (ptl.extract_column, docs/loading.md) says each
-- planted fault must become: the row quarantined (its column quarantines,
-- or a required one is missing or malformed), or loaded with a warning.
-- The truth records only the fault; the expected outcome is the policy's.
CREATE TEMP TABLE fault AS
SELECT f.*, r.reason AS got_reason, r.column_name AS got_column, r.rejected_id,
       w.reason AS warned_reason, w.column_name AS warned_column, w.warning_id,
       CASE WHEN c.when_invalid = 'quarantine'
                 OR (c.required AND (ptl.extract_value(f.bad_value) IS NULL OR f.bad_value !~ coalesce(c.pattern, '')
                                     OR c.value_type = 'date'::regtype))
            THEN 'quarantine' ELSE c.when_invalid END AS policy
FROM ptl_synth.injected_fault f
JOIN ptl.extract_column c ON c.extract = f.extract AND c.column_name = f.column_name
LEFT JOIN ptl.rejected_row r
       ON r.batch_id = f.batch_id AND r.extract = f.extract
      AND CASE f.extract
              WHEN 'patient' THEN r.raw ->> 'local_patient_id' = f.local_patient_id
              WHEN 'pathway' THEN r.raw ->> 'ppid' = f.ppid
              WHEN 'pathway_event' THEN r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'event_ref' = f.event_ref
              ELSE r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'entry_ref' = f.entry_ref
          END
LEFT JOIN ptl.load_warning w
       ON w.batch_id = f.batch_id AND w.extract = f.extract AND w.column_name = f.column_name
      AND w.record_key = CASE f.extract
              WHEN 'patient' THEN ARRAY[f.local_patient_id]
              WHEN 'pathway' THEN ARRAY[f.ppid_issuer, f.ppid]
              WHEN 'pathway_event' THEN ARRAY[f.ppid_issuer, f.ppid, f.event_ref]
              ELSE ARRAY[f.ppid_issuer, f.ppid, f.entry_ref]
          END
WHERE f.expected_reason IS NOT NULL AND f.expected_reason <> 'invalid_nhs_number';

SELECT cmp_ok((SELECT count(*) FROM fault), '>', 100::bigint,
    'the generator planted malformed dates and codes in every extract');
SELECT cmp_ok((SELECT count(DISTINCT policy) FROM fault), '=', 3::bigint,
    'faults of every kind of the policy are planted: quarantine, load_without, placeholder');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND (rejected_id IS NULL OR warning_id IS NOT NULL)), 0::bigint,
    'every planted fault the policy quarantines is quarantined');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND got_reason IS DISTINCT FROM expected_reason), 0::bigint,
    'each with the reason the truth expects (invalid_date, invalid_code, missing_required)');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND got_column IS DISTINCT FROM column_name), 0::bigint,
    'and the column the fault is in');
SELECT is((SELECT count(*) FROM fault WHERE policy <> 'quarantine' AND (rejected_id IS NOT NULL OR warning_id IS NULL)), 0::bigint,
    'every planted fault the policy loads with a warning loads, with a warning on its column');
SELECT is((SELECT count(*) FROM fault
           WHERE policy <> 'quarantine'
             AND warned_reason IS DISTINCT FROM CASE WHEN policy = 'placeholder' THEN 'placeholder_' || (SELECT c.code_table FROM ptl.extract_column c WHERE c.extract = fault.extract AND c.column_name = fault.column_name)
                                                     WHEN expected_reason = 'invalid_code' THEN 'invalid_' || column_name
                                                     ELSE expected_reason END), 0::bigint,
    'each warning with the reason its column rule gives (placeholder_*, invalid_<column>, invalid_date)');

-- Quarantined rows that no planted fault explains must hang on a row that
-- was quarantined itself (parent_rejected), or on a record whose key a
-- planted fault spoiled (unknown_parent): no false alarms.
SELECT is((SELECT count(*) FROM ptl.rejected_row r
           WHERE r.rejected_id NOT IN (SELECT rejected_id FROM fault WHERE rejected_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM planted p
                             WHERE p.batch_id = r.batch_id AND p.extract = r.extract AND p.place = r.row_in_extract)
             AND NOT (jsonb_typeof(r.raw) = 'object' AND pg_temp.hangs_on_fallen(r.batch_id, r.extract, r.row_in_extract, r.raw))),
    0::bigint, 'no row is quarantined but a planted fault''s, or one that hangs on a quarantined or spoiled record');

-- Invalid NHS numbers: the patient loads, the number is kept, a warning names it.
SELECT is((SELECT count(*) FROM ptl_synth.injected_fault f
           WHERE f.expected_reason = 'invalid_nhs_number'
             AND NOT EXISTS (SELECT 1 FROM ptl.patient p
                             JOIN ptl.load_warning w ON w.batch_id = f.batch_id AND w.extract = 'patient'
                                                    AND w.value = p.nhs_number_as_recorded
                             WHERE p.org_code = (SELECT org_code FROM ptl.batch WHERE batch_id = f.batch_id)
                               AND p.local_patient_id = f.local_patient_id
                               AND p.nhs_number IS NULL)),
    0::bigint, 'every planted invalid NHS number loads as a warning, with the patient kept');
SELECT is((SELECT count(*) FROM ptl.load_warning w
           WHERE w.warning_id NOT IN (SELECT warning_id FROM fault WHERE warning_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM planted p
                             WHERE p.batch_id = w.batch_id AND p.extract = w.extract AND p.place = w.row_in_extract)
             -- (a value left out because it names a fallen record; a code a
             -- planted fault made a placeholder, which rows the generators
             -- made from the loaded ICS name too)
             AND NOT EXISTS (SELECT 1 FROM fallen_key k WHERE k.batch_id = w.batch_id AND k.key_value = w.value)
             AND NOT (w.reason LIKE 'placeholder_%'
                      AND w.value IN (SELECT p.bad_value FROM planted p WHERE p.fault = 'unknown_code'
                                      UNION ALL SELECT i.bad_value FROM ptl_synth.injected_fault i))),
          (SELECT count(*) FROM ptl_synth.injected_fault WHERE expected_reason = 'invalid_nhs_number'),
    'and there are no other warnings');

SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM loaded),
    'read = loaded + updated + quarantined for every extract of every batch');
SELECT ok((SELECT bool_and(s.counts_agree) FROM ptl.load_summary s WHERE s.batch_id IN (SELECT batch_id FROM run_batch)),
    'and the quarantine and warnings hold as many rows as were counted');

-- The PTL: every pathway the truth says is waiting at the census, whose
-- pathway row and patient row loaded, is on it.
CALL ptl.refresh('2025-03-31');
CREATE TEMP TABLE sound_waiting AS
SELECT t.* FROM ptl_synth.pathway_truth t
WHERE t.expected_outcome = 'waiting'
  AND NOT EXISTS (SELECT 1 FROM ptl.rejected_row r
                  WHERE r.batch_id = t.batch_id
                    AND ((r.extract = 'pathway' AND r.raw ->> 'ppid' = t.ppid)
                         OR (r.extract = 'patient' AND r.raw ->> 'local_patient_id' = t.local_patient_id)))
  AND NOT EXISTS (SELECT 1 FROM planted p
                  WHERE p.batch_id = t.batch_id AND p.action = 'quarantine'
                    AND ((p.extract = 'pathway' AND p.row_value ->> 'ppid' = t.ppid)
                         OR (p.extract = 'patient' AND p.row_value ->> 'local_patient_id' = t.local_patient_id)));
-- A pathway in a service that is not consultant-led is outside RTT: not on
-- the PTL, but on the validation list (V23).
CREATE TEMP TABLE outside_rtt AS
SELECT t.*, p.pathway_id FROM sound_waiting t
JOIN ptl.pathway p ON p.provider_org = t.org_code AND p.ppid_issuer = t.ppid_issuer AND p.ppid = t.ppid
JOIN ptl.treatment_function_in_use f ON f.tfc = p.treatment_function AND NOT f.consultant_led;
DELETE FROM sound_waiting t USING outside_rtt o WHERE o.org_code = t.org_code AND o.ppid_issuer = t.ppid_issuer AND o.ppid = t.ppid;
SELECT is((SELECT count(*) FROM outside_rtt o
           WHERE NOT EXISTS (SELECT 1 FROM ptl.validation_issue v WHERE v.pathway_id = o.pathway_id AND v.rule_id = 'V23')),
          0::bigint, 'every waiting pathway outside RTT (a service not consultant-led) is on the validation list (V23)');
SELECT cmp_ok((SELECT count(*) FROM sound_waiting), '>', 5000::bigint, 'thousands of waiting pathways to look for');
-- (A record merged as a duplicate is on the list as the record kept.)
CREATE TEMP TABLE on_list AS SELECT DISTINCT l.pathway_id FROM ptl.ptl l;
SELECT is((SELECT count(*) FROM sound_waiting t
           JOIN ptl.pathway p ON p.provider_org = t.org_code AND p.ppid_issuer = t.ppid_issuer AND p.ppid = t.ppid
           LEFT JOIN ptl.pathway_duplicate d ON d.pathway_id = p.pathway_id
           WHERE NOT EXISTS (SELECT 1 FROM on_list l WHERE l.pathway_id = coalesce(d.kept_pathway_id, p.pathway_id))),
          0::bigint, 'no waiting pathway whose patient and pathway rows are sound is missing from the PTL');
SELECT is((SELECT count(*) FROM sound_waiting t
           WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p
                             WHERE p.provider_org = t.org_code AND p.ppid_issuer = t.ppid_issuer AND p.ppid = t.ppid)),
          0::bigint, 'and every one of them was loaded');

-- V32 lists every open pathway whose records loaded with a fault.
SELECT is((SELECT count(*) FROM ptl.rtt_open_period o
           WHERE EXISTS (SELECT 1 FROM ptl.load_warning w
                         WHERE w.resolved_in IS NULL AND w.column_name <> 'nhs_number'
                           AND (w.pathway_id = o.pathway_id OR (w.pathway_id IS NULL AND w.patient_id = o.patient_id)))
             AND NOT EXISTS (SELECT 1 FROM ptl.validation_issue v WHERE v.pathway_id = o.pathway_id AND v.rule_id = 'V32')),
          0::bigint, 'V32 lists every open pathway whose records loaded with a fault');
SELECT cmp_ok((SELECT count(*) FROM ptl.validation_issue WHERE rule_id = 'V32'), '>', 10::bigint,
              'and there are such pathways to list');

SELECT * FROM finish();
ROLLBACK;
