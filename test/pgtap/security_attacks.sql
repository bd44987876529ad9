-- Attacks on trust separation, against every relation and data-returning
-- function a role can reach (docs/security.md).  A generated ICS of three
-- trusts, with transfers between them and planted faults in the extracts;
-- login roles mapped to one trust, to the ICS, or to nothing.  For each
-- relation and column a role may read:
--   - a leaky function of low cost in its WHERE clause (it records every
--     value it is shown) sees only values the role may see, and the count
--     does not change (the barrier quals run first);
--   - an error probe (a cast that fails and quotes the value) quotes only
--     values the role may see;
--   - pathway, patient and organisation columns hold only the role's own
--     records and those transferred to or from them (computed here from
--     the data, not from the policies under test);
--   - no value holds an identifier of the world (NHS number, hospital
--     number, name, postcode) unless the role may identify.
-- Set-returning functions are called with arguments naming other trusts'
-- records and checked the same way; a new one without a call here fails.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT plan(13);

-- ---------------------------------------------------------------------------
-- The world: staged with faults, loaded, refreshed, and every capability's
-- tables filled, so that every view has rows to leak.
-- ---------------------------------------------------------------------------
SELECT count(*) AS batches FROM ptl_synth.generate(1500, seed => 20,
    fault_rates => '{"malformed_code": 0.01, "malformed_date": 0.01, "invalid_nhs_number": 0.02,
                     "missing_nhs_number": 0.02, "duplicate_pathway": 0.01, "cross_site_duplicate_patient": 0.05}') b
\gset
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id);
CALL ptl.refresh('2025-03-31');
SELECT count(*) FROM ptl_synth.assess_waiting_patients(seed => 20) b, ptl.load(b) l;
SELECT count(*) FROM ptl_synth.theatres(20) b, ptl.load(b) l;
SELECT count(*) FROM ptl_synth.mutual_aid(20);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';
SELECT count(*) FROM ptl_synth.beds(20);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';
SELECT ptl.backfill_census_snapshots('2025-01-27', '2025-03-03');
SELECT count(*) FROM ptl_synth.outpatients(20);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';
SELECT ptl.start_validation_campaign('tap', min_weeks => 30);

-- ---------------------------------------------------------------------------
-- The attacker's tools and the truth, in a schema every role may use.
-- ---------------------------------------------------------------------------
CREATE SCHEMA tap_attack;
GRANT USAGE ON SCHEMA tap_attack TO PUBLIC;

-- A leaky function that claims to be cheap and immutable, as an attacker
-- would write it: every value it is shown is appended to a setting.
CREATE FUNCTION tap_attack.leak(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE COST 0.0000001 AS $$
BEGIN
    PERFORM set_config('tap.seen', current_setting('tap.seen') || E'\x1f' || v, true);
    RETURN true;
END $$;

-- A value's tokens: upper-case runs of letters and digits, and runs of two
-- and three of them joined (an NHS number written 943 476 5919, a
-- postcode written QA2 7AS).
CREATE FUNCTION tap_attack.tokens(v text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    WITH t AS (SELECT u.x, u.i FROM unnest(regexp_split_to_array(upper(v), '[^A-Z0-9]+')) WITH ORDINALITY u(x, i)
               WHERE u.x <> '')
    SELECT DISTINCT g FROM (
        SELECT a.x AS g FROM t a
        UNION ALL SELECT a.x || b.x FROM t a JOIN t b ON b.i = a.i + 1
        UNION ALL SELECT a.x || b.x || c.x FROM t a JOIN t b ON b.i = a.i + 1 JOIN t c ON c.i = a.i + 2) s
    WHERE length(g) >= 4
$$;

-- The world's identifiers, loaded or quarantined, as tokens; less any
-- token that reference data holds too (a family name that is also a
-- street or a ward would be found where it is no identifier).
CREATE TABLE tap_attack.identifier (token text PRIMARY KEY, kind text NOT NULL);
INSERT INTO tap_attack.identifier
SELECT DISTINCT ON (t) t, kind
FROM (SELECT p.nhs_number::text AS v, 'NHS number' AS kind FROM ptl.patient p
      UNION ALL SELECT p.nhs_number_as_recorded, 'NHS number' FROM ptl.patient p
      UNION ALL SELECT p.local_patient_id, 'hospital number' FROM ptl.patient p
      UNION ALL SELECT p.given_name, 'name' FROM ptl.patient p
      UNION ALL SELECT p.family_name, 'name' FROM ptl.patient p
      UNION ALL SELECT p.postcode, 'postcode' FROM ptl.patient p
      UNION ALL SELECT r.raw ->> k, CASE k WHEN 'nhs_number' THEN 'NHS number' WHEN 'local_patient_id' THEN 'hospital number'
                                            WHEN 'postcode' THEN 'postcode' ELSE 'name' END
      FROM ptl.rejected_row r, unnest('{nhs_number,local_patient_id,given_name,family_name,postcode}'::text[]) k
      WHERE jsonb_typeof(r.raw) = 'object') x,
     LATERAL (SELECT regexp_replace(upper(x.v), '[^A-Z0-9]', '', 'g') AS t) n
WHERE length(t) >= 4
ORDER BY t, kind;
CREATE TEMP TABLE reference_token AS SELECT NULL::text AS t WHERE false;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT o.object_name FROM ptl.access_object o
             WHERE o.object_type = 'table' AND o.access_class IN ('shared', 'model') LOOP
        EXECUTE format('INSERT INTO reference_token SELECT tap_attack.tokens(to_jsonb(x)::text) FROM %s x',
                       r.object_name);
    END LOOP;
END $$;
-- Words of ptl's own code and descriptions (an ethnic group called White is
-- not a patient called White).
INSERT INTO reference_token
SELECT tap_attack.tokens(p.prosrc) FROM pg_proc p WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace)
UNION ALL
SELECT tap_attack.tokens(d.description) FROM pg_description d
JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
WHERE c.relnamespace = 'ptl'::regnamespace;
DELETE FROM tap_attack.identifier i WHERE i.token IN (SELECT t FROM reference_token);
SELECT cmp_ok((SELECT count(*) FROM tap_attack.identifier), '>', 1000::bigint,
    'the world has identifiers to look for (NHS numbers, hospital numbers, names, postcodes)');

-- Logins.
CREATE ROLE tap_rz1_reader LOGIN IN ROLE ptl_reader;
CREATE ROLE tap_ics_analyst LOGIN IN ROLE ptl_analyst;
CREATE ROLE tap_rz2_loader LOGIN IN ROLE ptl_loader;
CREATE ROLE tap_unmapped LOGIN IN ROLE ptl_reader;
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES
    ('tap_rz1_reader', 'RZ1'), ('tap_ics_analyst', 'QZZ'), ('tap_rz2_loader', 'RZ2');

-- What each may see, from the data: its organisations' pathways, and those
-- transferred to or from them; their patients; the organisations of both.
CREATE TABLE tap_attack.may_see (who name, kind text, value text, PRIMARY KEY (who, kind, value));
INSERT INTO tap_attack.may_see
WITH mine(who, org) AS (VALUES ('tap_rz1_reader'::name, 'RZ1'), ('tap_rz2_loader', 'RZ2')),
pathway AS (
    SELECT m.who, p.pathway_id FROM mine m JOIN ptl.pathway p ON p.provider_org = m.org
    UNION
    SELECT m.who, x.receiver_pathway_id FROM mine m JOIN ptl.pathway s ON s.provider_org = m.org
    JOIN ptl.pathway_transfer x ON x.sender_pathway_id = s.pathway_id
    UNION
    SELECT m.who, x.sender_pathway_id FROM mine m JOIN ptl.pathway r ON r.provider_org = m.org
    JOIN ptl.pathway_transfer x ON x.receiver_pathway_id = r.pathway_id),
patient AS (
    SELECT m.who, p.patient_id FROM mine m JOIN ptl.patient p ON p.org_code = m.org
    UNION
    SELECT v.who, p.patient_id FROM pathway v JOIN ptl.pathway p USING (pathway_id))
SELECT who, 'pathway_id', pathway_id::text FROM pathway
UNION SELECT who, 'patient_id', patient_id::text FROM patient
UNION SELECT who, 'org', org FROM mine
UNION SELECT v.who, 'org', p.provider_org FROM pathway v JOIN ptl.pathway p USING (pathway_id)
UNION SELECT v.who, 'org', p.org_code FROM patient v JOIN ptl.patient p USING (patient_id);
SELECT cmp_ok((SELECT count(*) FROM tap_attack.may_see s JOIN ptl.pathway p ON p.pathway_id::text = s.value
               WHERE s.who = 'tap_rz1_reader' AND s.kind = 'pathway_id' AND p.provider_org <> 'RZ1'), '>', 0::bigint,
    'RZ1''s reader may see some other trust''s pathways, through transfers');
GRANT SELECT ON ALL TABLES IN SCHEMA tap_attack TO PUBLIC;

-- Relations that hold records of patients or organisations: the tables
-- with a row filter, and the views that read one (through other views).
CREATE TEMP TABLE filtered_relation AS
WITH RECURSIVE reads(view, relid) AS (
    SELECT r.ev_class, d.refobjid
    FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                       AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
    UNION
    SELECT reads.view, d.refobjid
    FROM reads JOIN pg_rewrite r ON r.ev_class = reads.relid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class)
SELECT o.object_name::regclass AS rel FROM ptl.access_object o
WHERE o.object_type = 'table' AND o.row_filter IS NOT NULL AND o.row_filter NOT IN ('market', 'market_offer')
UNION
SELECT reads.view::regclass FROM reads
JOIN ptl.access_object o ON o.object_type = 'table' AND o.object_name::regclass = reads.relid
WHERE o.row_filter IS NOT NULL AND o.row_filter NOT IN ('market', 'market_offer');

-- ---------------------------------------------------------------------------
-- The probes
-- ---------------------------------------------------------------------------

-- What kind of record a column names, by its name.
CREATE FUNCTION tap_attack.record_kind(col text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN col IN ('provider_org', 'org_code') THEN 'org'
                WHEN col = 'patient_id' THEN 'patient_id'
                WHEN col IN ('pathway_id', 'receiver_pathway_id', 'sender_pathway_id') THEN 'pathway_id' END
$$;

-- Every way a role's view of one relation shows more than it may.
--   leaks: a cheap function in the WHERE clause, and a cast whose error
--   quotes the value.  Where the relation is itself the boundary (a table
--   under row-level security, a view that runs with its owner's rights)
--   they may see only the values the role reads from it.  A view that runs
--   with the caller's rights has no boundary of its own (its base tables'
--   row filters are it, and run first): what its probes see may be rows
--   its own conditions drop, so there they are held to the records the role
--   may see at all.
--   records: pathway, patient and organisation columns hold only the role's
--   own records and those transferred to or from them.
--   identifiers: no value holds one of the world's identifiers.
CREATE FUNCTION tap_attack.probe(who name, rel regclass, leaks boolean, records boolean, identifiers boolean)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    boundary boolean := (SELECT c.relkind <> 'v' OR NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
                         FROM pg_class c WHERE c.oid = rel);
    col name;
    cols name[];
    probed name[];
    n_all bigint;
    n_leak bigint;
    seen text[];
    visible text[];
    quoted text;
    msg text;
    found text;
    problems text[] := '{}';
BEGIN
    cols := ARRAY(SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                    AND has_column_privilege(who, rel, a.attnum, 'SELECT')
                  ORDER BY a.attnum);
    -- Leak probes: every column of a boundary, the record columns of a view
    -- that has none of its own.  One cheap function a column, all in one
    -- WHERE clause (each is placed on its own), each value tagged with its
    -- column.
    probed := ARRAY(SELECT c FROM unnest(cols) c
                    WHERE leaks AND (boundary OR (records AND tap_attack.record_kind(c) IS NOT NULL)));
    EXECUTE format('SET LOCAL ROLE %I', who);
    IF cardinality(probed) > 0 THEN
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO n_all;
        PERFORM set_config('tap.seen', '', true);
        EXECUTE format('SELECT count(*) FROM %s x WHERE %s', rel,
                       (SELECT string_agg(format('tap_attack.leak(%L || E''\x1d'' || coalesce(x.%I::text, E''\x1e''))', c, c),
                                          ' AND ') FROM unnest(probed) c))
            INTO n_leak;
        seen := (string_to_array(current_setting('tap.seen'), E'\x1f'))[2:];
        IF n_leak <> n_all THEN
            problems := problems || format('%s: %s rows with cheap functions, %s without', rel, n_leak, n_all);
        END IF;
        -- Errors that quote a value: a cast a column at a time.
        FOREACH col IN ARRAY probed LOOP
            BEGIN
                EXECUTE format('SELECT count(*) FROM %s x WHERE x.%I::text::int = 0', rel, col);
            EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                quoted := coalesce(substring(msg FROM 'integer: "(.*)"$'), substring(msg FROM '^value "(.*)" is out of range'));
                IF quoted IS NOT NULL THEN
                    seen := seen || (col || E'\x1d' || quoted);
                END IF;
            END;
        END LOOP;
        IF boundary THEN
            EXECUTE format('SELECT coalesce(array_agg(DISTINCT v.c || E''\x1d'' || coalesce(v.val, E''\x1e'')), ''{}'')
                            FROM %s x, LATERAL (VALUES %s) v(c, val)', rel,
                           (SELECT string_agg(format('(%L, x.%I::text)', c, c), ', ') FROM unnest(probed) c))
                INTO visible;
            found := (SELECT v FROM unnest(seen) v WHERE v <> ALL (visible) LIMIT 1);
        ELSE
            found := (SELECT v FROM unnest(seen) v
                      WHERE split_part(v, E'\x1d', 2) <> E'\x1e'
                        AND NOT EXISTS (SELECT 1 FROM tap_attack.may_see m
                                        WHERE m.who = probe.who AND m.kind = tap_attack.record_kind(split_part(v, E'\x1d', 1))
                                          AND m.value = split_part(v, E'\x1d', 2))
                      LIMIT 1);
        END IF;
        IF found IS NOT NULL THEN
            problems := problems || format('%s.%s: a cheap function or an error saw %L, which the role may not see',
                                           rel, split_part(found, E'\x1d', 1), split_part(found, E'\x1d', 2));
        END IF;
    END IF;
    IF records THEN
        FOREACH col IN ARRAY cols LOOP
            CONTINUE WHEN tap_attack.record_kind(col) IS NULL;
            EXECUTE format($q$SELECT min(v) FROM (SELECT DISTINCT x.%I::text AS v FROM %s x WHERE x.%I IS NOT NULL) d
                              WHERE NOT EXISTS (SELECT 1 FROM tap_attack.may_see s
                                                WHERE s.who = $1 AND s.value = d.v AND s.kind = $2)$q$, col, rel, col)
                INTO found
                USING who, tap_attack.record_kind(col);
            IF found IS NOT NULL THEN
                problems := problems || format('%s.%s: shows %s, which is not the role''s nor transferred to or from it', rel, col, found);
            END IF;
        END LOOP;
    END IF;
    IF identifiers AND cardinality(cols) > 0 THEN
        EXECUTE format($q$SELECT min(v.c || ': shows ' || i.kind || ' ' || i.token)
                          FROM %s x, LATERAL (VALUES %s) v(c, val), LATERAL tap_attack.tokens(v.val) t
                          JOIN tap_attack.identifier i ON i.token = t$q$,
                       rel, (SELECT string_agg(format('(%L, x.%I::text)', c, c), ', ') FROM unnest(cols) c))
            INTO found;
        IF found IS NOT NULL THEN
            problems := problems || format('%s.%s', rel, found);
        END IF;
    END IF;
    RESET ROLE;
    RETURN QUERY SELECT unnest(problems);
EXCEPTION WHEN insufficient_privilege THEN
    -- A relation the role may not read whole (a view over a column kept
    -- back from it) shows nothing: that is not a leak.
    RESET ROLE;
    RETURN;
END $$;

-- Every relation of ptl and ptl_stage a role may read.
CREATE FUNCTION tap_attack.readable(who name) RETURNS SETOF regclass
LANGUAGE sql AS $$
    SELECT c.oid::regclass FROM pg_class c
    WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'm')
      AND (has_table_privilege(who, c.oid, 'SELECT')
           OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                      AND has_column_privilege(who, c.oid, a.attnum, 'SELECT')))
    ORDER BY 1
$$;

CREATE TEMP TABLE problem (who name, problem text);

-- A trust's reader: every probe, every relation.
INSERT INTO problem
SELECT 'tap_rz1_reader', p
FROM tap_attack.readable('tap_rz1_reader') r,
     LATERAL tap_attack.probe('tap_rz1_reader', r, true, r IN (SELECT rel FROM filtered_relation), true) p;
SELECT cmp_ok((SELECT count(*) FROM tap_attack.readable('tap_rz1_reader')), '>=', 80::bigint,
    'a trust''s reader reaches the PTL, the reports and the tables behind them');
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_rz1_reader'$$,
    'a trust''s reader: no cheap function, error, count, record or identifier shows it more than its own and its transfers');

-- The ICS's analyst sees every trust, but no identifier.
INSERT INTO problem
SELECT 'tap_ics_analyst', p
FROM tap_attack.readable('tap_ics_analyst') r,
     LATERAL tap_attack.probe('tap_ics_analyst', r, false, false, true) p;
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_ics_analyst'$$,
    'the ICS''s analyst: no identifier in any column it may read');

-- A login mapped to nothing sees no one's records.
INSERT INTO problem
SELECT 'tap_unmapped', p
FROM tap_attack.readable('tap_unmapped') r,
     LATERAL tap_attack.probe('tap_unmapped', r, false, r IN (SELECT rel FROM filtered_relation), false) p;
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_unmapped'$$,
    'a reader mapped to no organisation sees no patient''s or organisation''s records');

-- A trust's loader reads its own batches' accounting and quarantine (it
-- sent their identifiers), nothing of another trust's.
INSERT INTO problem
SELECT 'tap_rz2_loader', p
FROM tap_attack.readable('tap_rz2_loader') r,
     LATERAL tap_attack.probe('tap_rz2_loader', r, true, r IN (SELECT rel FROM filtered_relation), false) p;
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_rz2_loader'$$,
    'a trust''s loader: no probe shows it another trust''s batches or rows');
SELECT is((SELECT count(*) FROM tap_attack.readable('tap_rz2_loader') r WHERE r::text LIKE 'ptl_stage.%'), 0::bigint,
    'a loader reads no staged rows (ptl.staged_rows counts its own)');

-- ---------------------------------------------------------------------------
-- Functions that return data, called with other trusts' records as
-- arguments where they take one.  Every such function a reader may call is
-- here, or it fails the next test.
-- ---------------------------------------------------------------------------
-- (an outbound action of RZ2's, for ptl.outbound_actions to be asked about)
INSERT INTO ptl.outbound_action (provider_org, action_kind, pathway_id, ppid_issuer, ppid, treatment_function,
                                 action_date, detail, source_kind, source_id)
SELECT p.provider_org, 'clock_stop', p.pathway_id, p.ppid_issuer, p.ppid, p.treatment_function,
       '2025-03-31', 'a validation answer', 'validation_contact', 0
FROM ptl.pathway p WHERE p.provider_org = 'RZ2' ORDER BY p.pathway_id LIMIT 1;
CREATE TEMP TABLE call (fn text PRIMARY KEY, call_sql text);
INSERT INTO call
SELECT x.fn, x.call_sql FROM (VALUES
    ('ptl.rtt_periods_at(date)', $$SELECT * FROM ptl.rtt_periods_at('2025-03-31')$$),
    ('ptl.wlmds(date)', $$SELECT * FROM ptl.wlmds('2025-03-30')$$),
    ('ptl.rtt_return(date)', $$SELECT * FROM ptl.rtt_return('2025-03-31')$$),
    ('ptl.rtt_return_wide(date)', $$SELECT * FROM ptl.rtt_return_wide('2025-03-31')$$),
    ('ptl.rtt_return_csv(date)', $$SELECT * FROM ptl.rtt_return_csv('2025-03-31')$$),
    ('ptl.rtt_return_checks(date)', $$SELECT * FROM ptl.rtt_return_checks('2025-03-31')$$),
    -- asking for another trust's return by name
    ('ptl.rtt_periods_at(date,text[])', $$SELECT * FROM ptl.rtt_periods_at('2025-03-31', '{RZ2,RZ3}')$$),
    ('ptl.rtt_return(date,text)', $$SELECT * FROM ptl.rtt_return('2025-03-31', 'RZ2')$$),
    ('ptl.rtt_return_wide(date,text)', $$SELECT * FROM ptl.rtt_return_wide('2025-03-31', 'RZ2')$$),
    ('ptl.rtt_return_csv(date,text)', $$SELECT * FROM ptl.rtt_return_csv('2025-03-31', 'RZ2')$$),
    ('ptl.ptl_export_csv(text)', $$SELECT * FROM ptl.ptl_export_csv('RZ2')$$),
    ('ptl.link_explain(bigint,bigint)', format($$SELECT * FROM ptl.link_explain(%s, %s)$$,
        (SELECT min(patient_id) FROM ptl.patient WHERE org_code = 'RZ2'), (SELECT max(patient_id) FROM ptl.patient WHERE org_code = 'RZ3'))),
    ('ptl.first_free_window(bigint,date,date)', format($$SELECT * FROM ptl.first_free_window(%s, '2025-04-01', '2025-06-30')$$,
        (SELECT min(patient_id) FROM ptl.patient WHERE org_code = 'RZ2'))),
    ('ptl.setting_need_at(date)', $$SELECT * FROM ptl.setting_need_at('2025-03-31')$$),
    ('ptl.why_not_booked(bigint)', format($$SELECT * FROM ptl.why_not_booked(%s)$$,
        (SELECT min(e.entry_id) FROM ptl.waiting_list_entry e JOIN ptl.pathway p USING (pathway_id) WHERE p.provider_org = 'RZ2'))),
    ('ptl.wait_variation(date,integer)', $$SELECT * FROM ptl.wait_variation()$$),
    ('ptl.mutual_aid_suggestions(text,text,integer,integer,integer,integer,ptl.clinical_priority[])',
        $$SELECT * FROM ptl.mutual_aid_suggestions(min_wait_days => 0, min_gain_days => 0)$$),
    ('ptl.mutual_aid_suggestions_csv(text,text)', $$SELECT * FROM ptl.mutual_aid_suggestions_csv()$$),
    ('ptl.provider_waits_near(text,text,double precision,date)',
        $$SELECT * FROM ptl.provider_waits_near((SELECT min(district) FROM ptl.postcode_district), '110', 500)$$),
    ('ptl.provider_waits_for(bigint,double precision)', format($$SELECT * FROM ptl.provider_waits_for(%s, 500)$$,
        (SELECT min(pathway_id) FROM ptl.pathway WHERE provider_org = 'RZ2'))),
    ('ptl.waiting_list_queue(date,double precision,integer,double precision)', $$SELECT * FROM ptl.waiting_list_queue()$$),
    ('ptl.forecast_waiting_list(date,integer,double precision,double precision,double precision,integer,text,text)',
        $$SELECT * FROM ptl.forecast_waiting_list(weeks => 8, provider_org => 'RZ2')$$),
    ('ptl.dna_rates(date,date,integer)', $$SELECT * FROM ptl.dna_rates('2024-01-01', '2025-03-31')$$),
    ('ptl.wait_inequality(integer)', $$SELECT * FROM ptl.wait_inequality()$$),
    ('ptl.journey_bottlenecks(date,integer)', $$SELECT * FROM ptl.journey_bottlenecks()$$),
    ('ptl.length_of_stay(date,double precision)', $$SELECT * FROM ptl.length_of_stay('2025-03-31')$$),
    ('ptl.planned_admissions(date,integer)', $$SELECT * FROM ptl.planned_admissions('2025-03-31')$$),
    ('ptl.bed_occupancy(date,integer,double precision)', $$SELECT * FROM ptl.bed_occupancy('2025-03-31')$$),
    ('ptl.follow_up_backlog(date)', $$SELECT * FROM ptl.follow_up_backlog()$$),
    ('ptl.clinic_free_slots(date,date)', $$SELECT * FROM ptl.clinic_free_slots('2024-01-01', '2025-12-31')$$),
    ('ptl.why_no_clinic_slot(bigint)', format($$SELECT * FROM ptl.why_no_clinic_slot(%s)$$,
        (SELECT min(pathway_id) FROM ptl.pathway WHERE provider_org = 'RZ2'))),
    ('ptl.pifu_summary(date)', $$SELECT * FROM ptl.pifu_summary()$$),
    ('ptl.weekly_pack(date,text)', $$SELECT ptl.weekly_pack('2025-03-31', 'RZ2') AS pack$$),
    ('ptl.outbound_actions(text,timestamp with time zone)', $$SELECT * FROM ptl.outbound_actions('RZ2')$$),
    ('ptl.outbound_actions_csv(text,timestamp with time zone)', $$SELECT * FROM ptl.outbound_actions_csv('RZ2') AS line$$),
    ('ptl.successor_in_force(date)', $$SELECT * FROM ptl.successor_in_force('2025-03-31')$$),
    ('ptl_internal.my_transferred_pathways()', $$SELECT t.pathway_id FROM ptl_internal.my_transferred_pathways() AS t (pathway_id)$$),
    ('ptl.access_policy_violations()', $$SELECT * FROM ptl.access_policy_violations()$$),
    ('ptl.settings_in_force()', $$SELECT * FROM ptl.settings_in_force()$$),
    ('ptl_internal.settings_tables()', $$SELECT t FROM ptl_internal.settings_tables() AS t$$)) x(fn, call_sql);

-- Set-returning functions that read no table (their arguments are all they
-- see) and those a reader may not call are not attacked here.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace) AND p.proretset AND p.provolatile <> 'i'
      AND has_function_privilege('tap_rz1_reader', p.oid, 'EXECUTE')
      AND p.oid::regprocedure::text NOT IN (SELECT fn FROM call)
      AND p.oid::regprocedure::text NOT IN ('ptl.csv_records(bytea,name,text,integer)')$$,
    'every set-returning function a reader may call that reads tables is attacked here');

-- Each call's result, as the role reads it, goes through the same probes
-- (as a table the superuser made from it, read back as the role).
CREATE FUNCTION tap_attack.probe_call(who name, call_sql text, records boolean, identifiers boolean)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    problems text[];
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', who);
    BEGIN
        EXECUTE format('CREATE TEMP TABLE tap_result ON COMMIT DROP AS %s', call_sql);
    EXCEPTION WHEN insufficient_privilege THEN
        RESET ROLE;
        RETURN;
    END;
    RESET ROLE;
    EXECUTE format('GRANT SELECT ON pg_temp.tap_result TO %I', who);
    problems := ARRAY(SELECT format('%s: %s', call_sql, p)
                      FROM tap_attack.probe(who, 'pg_temp.tap_result'::regclass, false, records, identifiers) p);
    DROP TABLE pg_temp.tap_result;
    RETURN QUERY SELECT unnest(problems);
END $$;

INSERT INTO problem
SELECT 'tap_rz1_reader (functions)', p FROM call c, LATERAL tap_attack.probe_call('tap_rz1_reader', c.call_sql, true, true) p;
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_rz1_reader (functions)'$$,
    'a trust''s reader: the functions, asked about another trust''s records, show only its own and no identifier');
INSERT INTO problem
SELECT 'tap_ics_analyst (functions)', p FROM call c, LATERAL tap_attack.probe_call('tap_ics_analyst', c.call_sql, false, true) p;
SELECT is_empty($$SELECT problem FROM problem WHERE who = 'tap_ics_analyst (functions)'$$,
    'the ICS''s analyst: no function shows it an identifier');

-- ---------------------------------------------------------------------------
-- The probes can fail: the same probes against a view made the way ptl.ptl
-- was before it became a security barrier find the leak.
-- ---------------------------------------------------------------------------
CREATE VIEW tap_attack.leaky_ptl AS
SELECT l.pathway_id, l.provider_org, l.ppid FROM (
    SELECT p.pathway_id, p.provider_org, p.ppid FROM ptl.pathway p) l
WHERE (SELECT ptl.sees_all_organisations()) OR l.provider_org = ANY ((SELECT ptl.my_organisations())::text[]);
GRANT SELECT ON tap_attack.leaky_ptl TO PUBLIC;
SELECT isnt_empty($$SELECT * FROM tap_attack.probe('tap_rz1_reader', 'tap_attack.leaky_ptl', true, false, false)$$,
    'the probes find the leak in a view that runs with its owner''s rights and is no security barrier');
ALTER VIEW tap_attack.leaky_ptl SET (security_barrier = true);
SELECT is_empty($$SELECT * FROM tap_attack.probe('tap_rz1_reader', 'tap_attack.leaky_ptl', true, false, false)$$,
    'and none once it is one');

SELECT * FROM finish();
ROLLBACK;
