-- ---------------------------------------------------------------------------
-- aid, the front door: patients' transfer preferences and mutual aid offers
-- (with their slots) as extracts of a trust's own systems, loaded by
-- ptl.load() like the PAS extracts (src/load/stage.sql, docs/loading.md).
--
-- Offers are also made in ptl itself by a trust's analyst (an INSERT into
-- ptl.mutual_aid_offer, then ptl.add_mutual_aid_slots): that workflow stays.
-- The extract is the documented path for an offer kept in a trust's own
-- system (its capacity or elective hub planning tool): the trust sends the
-- offer and its slots under its own references, and a re-sent offer changes
-- its details while it is still open.  Its state after that (agreed,
-- completed, withdrawn) is changed in ptl, where the trigger
-- ptl_internal.mutual_aid_state_guard checks and audits every change, so the extract
-- has no state column.
-- ---------------------------------------------------------------------------


-- The source's references of offers (unique at the offering trust) and of
-- slots (unique on their offer); NULL for those made in ptl itself.
ALTER TABLE ptl.mutual_aid_offer ADD COLUMN source_ref text,
    ADD CONSTRAINT mutual_aid_offer_source_ref_key UNIQUE (offering_org, source_ref);
COMMENT ON COLUMN ptl.mutual_aid_offer.source_ref IS
    'The offering trust''s own reference of the offer (offer_ref of the mutual_aid_offer extract), unique at the trust; NULL for an offer made in ptl';
ALTER TABLE ptl.mutual_aid_slot ADD COLUMN source_ref text,
    ADD CONSTRAINT mutual_aid_slot_source_ref_key UNIQUE (offer_id, source_ref);
COMMENT ON COLUMN ptl.mutual_aid_slot.source_ref IS
    'The offering trust''s own reference of the slot (slot_ref of the mutual_aid_slot extract), unique on its offer; NULL for a slot added in ptl';

CREATE TABLE ptl_stage.transfer_preference (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer         text,
    ppid                text,
    opted_in            text,
    radius_miles        text,
    recorded_on         text,
    clinician_veto      text,
    veto_reason         text,
    required_capability text,
    tertiary_referral   text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.transfer_preference (batch_id);
COMMENT ON TABLE ptl_stage.transfer_preference IS 'Transfer preference extract as delivered (one row per pathway: the patient''s wish to move and the clinical review)';

CREATE TABLE ptl_stage.mutual_aid_offer (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    offer_ref           text,
    site_code           text,
    treatment_function  text,
    accepted_groups     text,
    capability          text,
    available_from      text,
    available_until     text,
    sessions            text,
    conditions          text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.mutual_aid_offer (batch_id);
COMMENT ON TABLE ptl_stage.mutual_aid_offer IS 'Mutual aid offer extract as delivered (one row per offer of capacity)';

CREATE TABLE ptl_stage.mutual_aid_slot (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    offer_ref           text,
    slot_ref            text,
    slot_date           text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.mutual_aid_slot (batch_id);
COMMENT ON TABLE ptl_stage.mutual_aid_slot IS 'Mutual aid slot extract as delivered (one row per patient-sized slot of an offer)';

INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES
    ('transfer_preference', 510, 'aid', '{ppid_issuer,ppid}', 'transfer preference (ppid_issuer, ppid)', 'pathway',
     'ptl_internal.load_transfer_preferences', 'ptl.transfer_preference', 'Whether a patient will move provider for treatment and how far, with the clinical review'),
    ('mutual_aid_offer', 520, 'aid', '{offer_ref}', 'mutual aid offer (offer_ref)', 'organisation',
     'ptl_internal.load_mutual_aid_offers', 'ptl.mutual_aid_offer', 'Capacity the trust offers the ICS: a specialty at a site, over dates'),
    ('mutual_aid_slot', 530, 'aid', '{offer_ref,slot_ref}', 'mutual aid slot (offer_ref, slot_ref)', 'organisation',
     'ptl_internal.load_mutual_aid_slots', 'ptl.mutual_aid_slot', 'One patient-sized unit of an offer on a date');

-- The policy's examples (ptl.feed_example: the PAS examples' pathway
-- RZ9/EX-PW1 at site RZ901, offer EX-MA1) and the row rules beyond the
-- column rules, named as in sql/load_care_feeds.sql (ptl.feed_rule;
-- docs/loading.md).
INSERT INTO ptl.feed_example (extract, example) VALUES
    ('transfer_preference', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "opted_in": "Y", "radius_miles": "50", "recorded_on": "2025-01-20",
                              "clinician_veto": "N", "required_capability": "inpatient", "tertiary_referral": "N"}'),
    ('mutual_aid_offer', '{"offer_ref": "EX-MA1", "site_code": "RZ901", "treatment_function": "110", "accepted_groups": "W37 W40",
                           "capability": "inpatient", "available_from": "2025-04-01", "available_until": "2025-06-30", "sessions": "4",
                           "conditions": "ASA 1-2 only"}'),
    ('mutual_aid_slot', '{"offer_ref": "EX-MA1", "slot_ref": "EX-MS1", "slot_date": "2025-04-07"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('transfer_preference', 'C4_radius_positive', 'radius_miles', 'quarantine', 'out_of_range', NULL,
     'A radius of 0 or less: left out it would read as anywhere in England, more than the patient agreed to',
     '[{"extract": "transfer_preference", "set": {"radius_miles": "0"}}]'),
    ('mutual_aid_offer', 'C1_site_of_another_trust', 'site_code', 'quarantine', 'unknown_parent', NULL,
     'A site of another organisation: a trust offers its own sites'' capacity only',
     '[{"extract": "mutual_aid_offer", "set": {"site_code": "RZ801"}}]'),
    ('mutual_aid_offer', 'C6_until_before_from', 'available_until', 'quarantine', 'inconsistent', NULL,
     'An offer ending before it starts offers nothing, and which date is wrong cannot be told',
     '[{"extract": "mutual_aid_offer", "set": {"available_until": "2025-03-01"}}]'),
    ('mutual_aid_offer', 'C9_offer_still_open', 'offer_ref', 'quarantine', 'inconsistent', NULL,
     'An offer no longer open keeps its details: another trust may be using it, and its state changes only in ptl, where every change is audited',
     '[{"extract": "mutual_aid_offer", "set": {"offer_ref": "EX-MA9"}}]'),
    ('mutual_aid_offer', 'C4_sessions_positive', 'sessions', 'load_without', 'out_of_range', 'V32',
     'Sessions offered of 0 or less are left out: the offer loads without a number of sessions',
     '[{"extract": "mutual_aid_offer", "set": {"sessions": "0"}}]'),
    ('mutual_aid_slot', 'C3_offer_known', 'offer_ref', 'quarantine', 'unknown_parent', NULL,
     'A slot names an offer of the batch''s organisation: send the offer row first',
     '[{"extract": "mutual_aid_slot", "set": {"offer_ref": "NO-SUCH-OFFER"}}]'),
    ('mutual_aid_slot', 'C6_slot_in_offer', 'slot_date', 'quarantine', 'inconsistent', NULL,
     'A slot outside its offer''s dates is not part of the offer',
     '[{"extract": "mutual_aid_slot", "set": {"slot_date": "2025-08-01"}}]');

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, description,
     earliest_date, latest_days_after_opening, listed_by)
VALUES
    ('transfer_preference', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL, NULL),
    ('transfer_preference', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL, NULL),
    ('transfer_preference', 'opted_in', 3, true, NULL, '{Y,N,true,false}', NULL, NULL, NULL, 'quarantine', 'Whether the patient asked (or agreed) to be considered for a move: Y or true, N or false. Required: it is what the record says', NULL, NULL, NULL),
    ('transfer_preference', 'radius_miles', 4, false, NULL, NULL, '^[0-9]{1,4}([.][0-9]+)?$', 'a number of miles such as 50', NULL, 'quarantine', 'How far the patient will travel, in miles, more than 0 (empty: anywhere in England). A malformed or non-positive value quarantines the row: left out, it would read as anywhere, more than the patient agreed to', NULL, NULL, NULL),
    ('transfer_preference', 'recorded_on', 5, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Date the patient said so, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened (empty: that day). An invalid or implausible date is left out (warning): the day the batch was opened stands', '1980-01-01', 0, 'V32'),
    ('transfer_preference', 'clinician_veto', 6, false, NULL, '{Y,N,true,false}', NULL, NULL, NULL, 'quarantine', 'Whether the clinical review found the patient unsuitable to move: Y or true, N or false (empty: N). Another value quarantines the row: a doubtful veto must not clear a patient to move', NULL, NULL, NULL),
    ('transfer_preference', 'veto_reason', 7, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Why the patient is unsuitable to move (with a veto). Missing with a veto, or a value that starts like a spreadsheet formula (left out, warning): the veto loads with the reason "not given in the extract"', NULL, NULL, 'V32'),
    ('transfer_preference', 'required_capability', 8, false, NULL, '{daycase,inpatient,level2}', NULL, NULL, NULL, 'load_without', 'Override of the care the patient needs: daycase, inpatient or level2 (empty: from the waiting-list entry). Another value is left out (warning): the entry''s stands', NULL, NULL, 'V32'),
    ('transfer_preference', 'tertiary_referral', 9, false, NULL, '{Y,N,true,false}', NULL, NULL, NULL, 'load_without', 'Override of whether this is a tertiary referral: Y or true, N or false (empty: from the pathway''s first event). Another value is left out (warning)', NULL, NULL, 'V32'),

    ('mutual_aid_offer', 'offer_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The trust''s own reference of the offer', NULL, NULL, NULL),
    ('mutual_aid_offer', 'site_code', 2, true, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site where patients would be treated. Required. A code ptl.site does not hold yet loads as a placeholder site of the batch''s organisation (warning); a site of another organisation quarantines the row (unknown_parent)', NULL, NULL, 'V32'),
    ('mutual_aid_offer', 'treatment_function', 3, true, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function offered. Required; a code ptl.treatment_function does not hold yet loads as a placeholder (warning)', NULL, NULL, 'V32'),
    ('mutual_aid_offer', 'accepted_groups', 4, false, NULL, NULL, '^[A-Z][0-9]{2}([.]?[0-9])?( [A-Z][0-9]{2}([.]?[0-9])?)*$', 'OPCS-4 codes or prefixes separated by single spaces, such as W37 W40', NULL, 'quarantine', 'Procedures accepted, as OPCS-4 prefixes separated by spaces (empty: any). A malformed value quarantines the row: left out, it would read as any procedure, more than the trust offered', NULL, NULL, NULL),
    ('mutual_aid_offer', 'capability', 5, true, NULL, '{daycase,inpatient,level2}', NULL, NULL, NULL, 'quarantine', 'Most the site can look after: daycase, inpatient or level2. Required: patients are matched on it', NULL, NULL, NULL),
    ('mutual_aid_offer', 'available_from', 6, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'First date, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required', '1980-01-01', 730, NULL),
    ('mutual_aid_offer', 'available_until', 7, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Last date, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened, not before available_from. Required', '1980-01-01', 730, NULL),
    ('mutual_aid_offer', 'sessions', 8, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'Theatre sessions offered, when offered by session (more than 0). Another value is left out (warning)', NULL, NULL, 'V32'),
    ('mutual_aid_offer', 'conditions', 9, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Conditions in words (e.g. ASA 1-2 only). A value that starts like a spreadsheet formula is left out (warning)', NULL, NULL, 'V32'),

    ('mutual_aid_slot', 'offer_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The offer, by the trust''s own reference; it must be an offer of the batch''s organisation (else unknown_parent: send the offer row first)', NULL, NULL, NULL),
    ('mutual_aid_slot', 'slot_ref', 2, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The trust''s own reference of the slot, unique on its offer', NULL, NULL, NULL),
    ('mutual_aid_slot', 'slot_date', 3, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date a patient would be treated, YYYY-MM-DD or DD/MM/YYYY, inside the offer''s dates. Required: a slot is its day', '1980-01-01', 730, NULL);

CREATE FUNCTION ptl_internal.load_transfer_preferences(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_reject('transfer_preference', 'radius_miles', 'out_of_range', '22003',
        $m$format('radius_miles %s is not more than 0', ptl.extract_value(w.radius_miles))$m$,
        'ptl.extract_value(w.radius_miles)::float8 <= 0');

    WITH upserted AS (
        INSERT INTO ptl.transfer_preference AS t
            (pathway_id, opted_in, radius_miles, recorded_on, clinician_veto, veto_reason, required_capability,
             tertiary_referral, recorded_by)
        SELECT p.pathway_id, ptl.extract_value(w.opted_in) IN ('Y', 'true'),
               ptl.extract_value(w.radius_miles)::float8,
               coalesce(ptl_internal.load_kept(w.recorded_on, 'recorded_on', w.warn_columns)::date, b.opened_at::date),
               coalesce(ptl.extract_value(w.clinician_veto) IN ('Y', 'true'), false),
               CASE WHEN ptl.extract_value(w.clinician_veto) IN ('Y', 'true')
                    THEN coalesce(ptl_internal.load_kept(w.veto_reason, 'veto_reason', w.warn_columns), 'not given in the extract')
                    ELSE ptl_internal.load_kept(w.veto_reason, 'veto_reason', w.warn_columns) END,
               ptl_internal.load_kept(w.required_capability, 'required_capability', w.warn_columns),
               ptl_internal.load_kept(w.tertiary_referral, 'tertiary_referral', w.warn_columns) IN ('Y', 'true'),
               b.opened_by
        FROM pg_temp.ptl_load_transfer_preference w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id) DO UPDATE
        SET opted_in = excluded.opted_in, radius_miles = excluded.radius_miles, recorded_on = excluded.recorded_on,
            clinician_veto = excluded.clinician_veto, veto_reason = excluded.veto_reason,
            required_capability = excluded.required_capability, tertiary_referral = excluded.tertiary_referral,
            recorded_by = excluded.recorded_by
        WHERE (t.opted_in, t.radius_miles, t.recorded_on, t.clinician_veto, t.veto_reason, t.required_capability,
               t.tertiary_referral)
              IS DISTINCT FROM
              (excluded.opted_in, excluded.radius_miles, excluded.recorded_on, excluded.clinician_veto,
               excluded.veto_reason, excluded.required_capability, excluded.tertiary_referral)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.transfer_preference', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_transfer_preference w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.transfer_preference t ON t.pathway_id = p.pathway_id
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_transfer_preferences(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s transfer preference extract';

CREATE FUNCTION ptl_internal.load_mutual_aid_offers(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_foreign_sites(batch, 'mutual_aid_offer', 'site_code');
    PERFORM ptl_internal.load_reject('mutual_aid_offer', 'available_until', 'inconsistent', '23514',
        $m$format('available_until %s is before available_from %s', ptl.extract_value(w.available_until), ptl.extract_value(w.available_from))$m$,
        'ptl.extract_value(w.available_until)::date < ptl.extract_value(w.available_from)::date');
    -- An offer another trust may already be using changes only while open;
    -- its state is changed in ptl, where ptl_internal.mutual_aid_state_guard audits it.
    PERFORM ptl_internal.load_reject('mutual_aid_offer', 'offer_ref', 'inconsistent', '55000',
        format($m$format('offer %%s of %s is %%s: its details change only while it is open', ptl.extract_value(w.offer_ref),
                         (SELECT o.state FROM ptl.mutual_aid_offer o WHERE o.offering_org = %L AND o.source_ref = ptl.extract_value(w.offer_ref)))$m$,
               b.org_code, b.org_code),
        format($c$EXISTS (SELECT 1 FROM ptl.mutual_aid_offer o WHERE o.offering_org = %L
                          AND o.source_ref = ptl.extract_value(w.offer_ref) AND o.state <> 'open')$c$, b.org_code));
    PERFORM ptl_internal.load_leave_out('mutual_aid_offer', 'sessions', 'out_of_range', '22003',
        $m$format('sessions %s is not more than 0', ptl.extract_value(w.sessions))$m$,
        'ptl.extract_value(w.sessions)::int <= 0');

    WITH upserted AS (
        INSERT INTO ptl.mutual_aid_offer AS t
            (offering_org, source_ref, site_code, treatment_function, accepted_groups, capability, available_from,
             available_until, sessions, conditions, created_by)
        SELECT b.org_code, ptl.extract_value(w.offer_ref), ptl.extract_value(w.site_code), ptl.extract_value(w.treatment_function),
               string_to_array(ptl.extract_value(w.accepted_groups), ' '), ptl.extract_value(w.capability),
               ptl.extract_value(w.available_from)::date, ptl.extract_value(w.available_until)::date,
               ptl_internal.load_kept(w.sessions, 'sessions', w.warn_columns)::int,
               ptl_internal.load_kept(w.conditions, 'conditions', w.warn_columns), b.opened_by
        FROM pg_temp.ptl_load_mutual_aid_offer w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (offering_org, source_ref) DO UPDATE
        SET site_code = excluded.site_code, treatment_function = excluded.treatment_function,
            accepted_groups = excluded.accepted_groups, capability = excluded.capability,
            available_from = excluded.available_from, available_until = excluded.available_until,
            sessions = excluded.sessions, conditions = excluded.conditions
        WHERE (t.site_code, t.treatment_function, t.accepted_groups, t.capability, t.available_from, t.available_until,
               t.sessions, t.conditions)
              IS DISTINCT FROM
              (excluded.site_code, excluded.treatment_function, excluded.accepted_groups, excluded.capability,
               excluded.available_from, excluded.available_until, excluded.sessions, excluded.conditions)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.mutual_aid_offer', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_mutual_aid_offer w
    JOIN ptl.mutual_aid_offer t ON t.offering_org = b.org_code AND t.source_ref = ptl.extract_value(w.offer_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mutual_aid_offers(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s mutual aid offer extract';

CREATE FUNCTION ptl_internal.load_mutual_aid_slots(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_reject('mutual_aid_slot', 'offer_ref', 'unknown_parent', '23503',
        format($m$format('no mutual aid offer %%s of %s is known; send the offer row first', ptl.extract_value(w.offer_ref))$m$, b.org_code),
        format($c$NOT EXISTS (SELECT 1 FROM ptl.mutual_aid_offer o WHERE o.offering_org = %L
                              AND o.source_ref = ptl.extract_value(w.offer_ref))$c$, b.org_code));
    PERFORM ptl_internal.load_reject('mutual_aid_slot', 'slot_date', 'inconsistent', '23514',
        format($m$(SELECT format('slot_date %%s is outside the offer''s dates %%s to %%s', ptl.extract_value(w.slot_date), o.available_from, o.available_until)
                   FROM ptl.mutual_aid_offer o WHERE o.offering_org = %L AND o.source_ref = ptl.extract_value(w.offer_ref))$m$, b.org_code),
        format($c$EXISTS (SELECT 1 FROM ptl.mutual_aid_offer o WHERE o.offering_org = %L
                          AND o.source_ref = ptl.extract_value(w.offer_ref)
                          AND ptl.extract_value(w.slot_date)::date NOT BETWEEN o.available_from AND o.available_until)$c$, b.org_code));
    -- A slot a patient has taken keeps its day.
    PERFORM ptl_internal.load_reject('mutual_aid_slot', 'slot_date', 'inconsistent', '55000',
        $m$format('slot %s of offer %s is taken by a transfer: its date cannot change', ptl.extract_value(w.slot_ref), ptl.extract_value(w.offer_ref))$m$,
        format($c$EXISTS (SELECT 1 FROM ptl.mutual_aid_offer o
                          JOIN ptl.mutual_aid_slot s ON s.offer_id = o.offer_id
                          JOIN ptl.mutual_aid_transfer x ON x.slot_id = s.slot_id
                          WHERE o.offering_org = %L AND o.source_ref = ptl.extract_value(w.offer_ref)
                            AND s.source_ref = ptl.extract_value(w.slot_ref)
                            AND s.slot_date <> ptl.extract_value(w.slot_date)::date)$c$, b.org_code));

    WITH upserted AS (
        INSERT INTO ptl.mutual_aid_slot AS t (offer_id, source_ref, slot_date)
        SELECT o.offer_id, ptl.extract_value(w.slot_ref), ptl.extract_value(w.slot_date)::date
        FROM pg_temp.ptl_load_mutual_aid_slot w
        JOIN ptl.mutual_aid_offer o ON o.offering_org = b.org_code AND o.source_ref = ptl.extract_value(w.offer_ref)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (offer_id, source_ref) DO UPDATE
        SET slot_date = excluded.slot_date
        WHERE t.slot_date IS DISTINCT FROM excluded.slot_date
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.mutual_aid_slot', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_mutual_aid_slot w
    JOIN ptl.mutual_aid_offer o ON o.offering_org = b.org_code AND o.source_ref = ptl.extract_value(w.offer_ref)
    JOIN ptl.mutual_aid_slot t ON t.offer_id = o.offer_id AND t.source_ref = ptl.extract_value(w.slot_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mutual_aid_slots(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s mutual aid slot extract';

SELECT ptl_internal.prepare_staging_table(e.extract) FROM ptl.feed e WHERE e.capability = 'aid';
