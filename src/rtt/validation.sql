-- ---------------------------------------------------------------------------
-- rtt validation: the record-level PTL validation rules, each with its
-- public basis in ptl.validation_rule.basis, run by
-- ptl.refresh() into ptl.validation_issue so a validation team can work
-- through one list.  Rules the data model cannot support yet are listed in
-- ptl.validation_rule with the reason.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.validation_rule (
    rule_id         text PRIMARY KEY CHECK (rule_id ~ '^V[0-9]{2}$'),
    title           text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('error', 'warning', 'task')),
    basis           text NOT NULL,
    implemented     boolean NOT NULL,
    not_implemented_because text,
    CHECK (implemented = (not_implemented_because IS NULL))
);
COMMENT ON TABLE ptl.validation_rule IS
    'The PTL validation rules: what each checks, its basis, how serious it is, and whether ptl can check it yet';
COMMENT ON COLUMN ptl.validation_rule.rule_id IS 'Rule id, V01..V32';
COMMENT ON COLUMN ptl.validation_rule.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_rule.severity IS 'error (the return or the clock is wrong), warning (probably wrong), task (work to do)';
COMMENT ON COLUMN ptl.validation_rule.basis IS 'Where the rule comes from';
COMMENT ON COLUMN ptl.validation_rule.implemented IS 'Whether ptl checks it';
COMMENT ON COLUMN ptl.validation_rule.not_implemented_because IS 'The data the rule needs that ptl does not hold yet';

INSERT INTO ptl.validation_rule VALUES
('V01', 'Open pathway whose patient has no NHS number', 'warning', 'NHS DD NHS NUMBER (mandatory)', true, NULL),
('V02', 'Open pathway whose patient''s NHS number is invalid (Modulus 11, length) or all one digit', 'error', 'NHS DD NHS NUMBER (Modulus 11)', true, NULL),
('V03', 'Clock start or referral after the census date', 'error', 'RTT guidance 10.1.7 (a wait is the census minus the clock start; a negative one is invalid)', true, NULL),
('V04', 'Clock stop before clock start', 'error', 'RTT guidance 10.1.7 (a wait is the stop minus the start)', true, NULL),
('V05', 'Clock start before the patient''s date of birth', 'error', 'ptl''s own data-quality rule (docs/rtt-engine.md, "Validation")', true, NULL),
('V06', 'Open pathway with an unknown clock start', 'error', 'RTT guidance 10.1.5 (reported in the unknown clock start column)', true, NULL),
('V07', 'Duplicate pathway: patient and treatment function open on another record, one referral recorded twice, or one UBRN twice', 'warning', 'NHSE national RTT waiting list validation programme findings (duplicates)', true, NULL),
('V08', 'Two providers both report the same pathway (issuer, PPID) as open', 'error', 'RTT guidance Annex C (periods never overlap), 11 (one provider reports)', true, NULL),
('V09', 'Open pathway of a patient recorded as dead', 'error', 'RTT guidance 4.4.1.2 (death stops the clock, 36)', true, NULL),
('V10', 'Open pathway with nothing booked and no decision to admit for longer than the setting unbooked_days', 'warning', 'Trust validation findings (e.g. Salisbury NHS FT FOI 8207)', true, NULL),
('V11', 'Waiting-list entry with a TCI date in the past and no admission', 'warning', 'Trust validation findings (e.g. Salisbury NHS FT FOI 8207)', true, NULL),
('V12', 'Decision to admit with no open waiting-list entry, or an open waiting-list entry with no open RTT clock', 'warning', 'Trust validation findings (e.g. Salisbury NHS FT FOI 8207)', true, NULL),
('V13', 'Status 30 on an admission that was diagnostic only or where no procedure was performed', 'error', 'RTT guidance 4.3.2.3', false, 'admissions carry no performed-procedure data yet'),
('V14', 'Status 30 on an outpatient attendance with no treatment recorded', 'warning', 'NHSE validation programme ("amend 30 to 34")', false, 'outpatient events carry no procedure or outcome data yet'),
('V15', 'Status 33 on an appointment that was not the first, or on a two-week-wait referral', 'error', 'RTT guidance 4.4.1.3; NHS DD REFERRAL TO TREATMENT PERIOD (2WW)', true, NULL),
('V16', 'Activity coded 20/21, or a stop code, with no clock running', 'warning', 'RTT guidance Annex D (after a stop, activity is 90/91 or a rule-3 start)', true, NULL),
('V17', 'A second clock-start code (10, 11, 12) inside a period already running', 'warning', 'RTT guidance Annex D', true, NULL),
('V18', 'A new period starting on an earlier period''s start date (the wait is elongated)', 'error', 'RTT guidance Annex C', true, NULL),
('V19', 'Transferred out, but no record at the receiving provider after the setting lost_transfer_days', 'warning', 'RTT guidance 11 (IPTAMDS)', true, NULL),
('V20', 'Received transfer whose clock start differs from the sending provider''s original start', 'error', 'RTT guidance 11.3', true, NULL),
('V21', 'Emergency admission opened as an RTT pathway without a decision to refer electively', 'error', 'RTT guidance 9.1', false, 'referrals carry no source-of-referral code yet'),
('V22', 'Planned-list patient with a running RTT clock, or overdue planned patient not moved', 'warning', 'RTT guidance 5', false, 'planned (surveillance) lists are not loaded yet'),
('V23', 'Pathway in a treatment function that is not consultant-led: outside RTT, no clock, on neither the PTL nor the return, though it would be waiting', 'warning', 'RTT guidance 6-7 (RTT applies to consultant-led services)', true, NULL),
('V24', 'Discharged with no clock-stop code: the pathway is still open', 'error', 'NHSE validation programme findings', true, NULL),
('V25', 'Activity coded 20 within 14 days of starting active monitoring (misuse of 31/32)', 'warning', 'RTT guidance 4.4.1.4', true, NULL),
('V26', 'Open pathway over 12 weeks not validated within the setting revalidate_days', 'task', 'NHSE validation guidance, December 2022 (validate at 12, 26, 52 weeks; revalidate every 12 weeks)', true, NULL),
('V27', 'Status 99 (not yet known) on an open pathway older than the setting status_unknown_days', 'warning', 'NHS DD RTT PERIOD STATUS 99 (not yet known); the threshold is ptl''s (docs/rtt-engine.md, "Validation")', true, NULL),
('V28', 'UBRN converted or on the ASI worklist but no pathway on the PTL', 'error', 'RTT guidance 9.1', false, 'e-RS worklist extracts are not loaded yet'),
('V29', 'Treatment function not allowed for the commissioner or provider', 'warning', 'DCB0028', false, 'commissioner service agreements are not loaded yet (unknown codes are already refused by the loader)'),
('V30', 'Transplant-list addition recorded without a 34 stop', 'warning', 'RTT guidance Annex E', false, 'transplant-list additions are not an event kind yet'),
('V31', 'Referral recorded as outside RTT (status 98): no clock started, so the pathway is on neither the PTL nor the return', 'warning', 'NHS DD RTT PERIOD STATUS 98 (not applicable to RTT); RTT guidance 4.7', true, NULL);
-- Values the loader kept a patient on the list without (docs/loading.md).
INSERT INTO ptl.validation_rule VALUES ('V32', 'Open pathway whose records loaded with a value left out or a code the reference data does not hold (a placeholder): correct it at source', 'warning', 'ptl''s loading policy (docs/loading.md): a fixable field never takes a patient off the list; NHS DD data item definitions', true, NULL);

-- Administrative validation of a pathway (rule V26; campaigns build on it).
CREATE TABLE ptl.pathway_validation (
    validation_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id      bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    validated_on    date NOT NULL,
    validated_by    text NOT NULL DEFAULT current_user,
    outcome         text NOT NULL CHECK (outcome IN ('correct', 'corrected', 'remove', 'clinical_review')),
    note            text,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_validation_validated_on_in_range CHECK (ptl.in_storage_range(validated_on))
);
CREATE INDEX pathway_validation_pathway_idx ON ptl.pathway_validation (pathway_id, validated_on);
COMMENT ON TABLE ptl.pathway_validation IS 'Each time someone validated a pathway record, and what they found';
COMMENT ON COLUMN ptl.pathway_validation.validation_id IS 'Validation number';
COMMENT ON COLUMN ptl.pathway_validation.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.pathway_validation.validated_on IS 'Date validated';
COMMENT ON COLUMN ptl.pathway_validation.validated_by IS 'Who validated it';
COMMENT ON COLUMN ptl.pathway_validation.outcome IS 'correct, corrected, remove (should leave the list) or clinical_review';
COMMENT ON COLUMN ptl.pathway_validation.note IS 'Free text';
-- A validation recorded, changed or removed moves V26 for its pathway: the
-- next refresh looks at it again.
CREATE TRIGGER pathway_validation_inserted AFTER INSERT ON ptl.pathway_validation
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.mark_dirty_pathways();
CREATE TRIGGER pathway_validation_updated_new AFTER UPDATE ON ptl.pathway_validation
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.mark_dirty_pathways();
CREATE TRIGGER pathway_validation_updated_old AFTER UPDATE ON ptl.pathway_validation
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.mark_dirty_pathways();
CREATE TRIGGER pathway_validation_deleted AFTER DELETE ON ptl.pathway_validation
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.mark_dirty_pathways();

CREATE TABLE ptl.validation_issue (
    pathway_id  bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    rule_id     text NOT NULL REFERENCES ptl.validation_rule (rule_id),
    event_id    bigint,
    detail      text NOT NULL,
    census      date NOT NULL,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT validation_issue_census_in_range CHECK (ptl.in_storage_range(census))
);
CREATE INDEX validation_issue_pathway_idx ON ptl.validation_issue (pathway_id);
CREATE INDEX validation_issue_rule_idx ON ptl.validation_issue (rule_id);
COMMENT ON TABLE ptl.validation_issue IS 'Every validation issue found by the last refresh (ptl.validate); an issue still found keeps its row';
COMMENT ON COLUMN ptl.validation_issue.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.validation_issue.rule_id IS 'Rule broken';
COMMENT ON COLUMN ptl.validation_issue.event_id IS 'The event concerned, when the rule is about one';
COMMENT ON COLUMN ptl.validation_issue.detail IS 'What is wrong, with the values';
COMMENT ON COLUMN ptl.validation_issue.census IS 'Census date of the refresh that first found it (kept while later refreshes find it again)';

-- Open periods a provider reports: the population most rules look at.
CREATE VIEW ptl.rtt_open_period AS
SELECT r.pathway_id, r.period_no, r.census, r.clock_start, r.days_waited, r.has_dta,
       p.patient_id, p.provider_org, p.treatment_function, p.ppid_issuer, p.ppid, p.ubrn,
       rp.last_event_date, rp.next_booked_date
FROM ptl.rtt_period r
JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
WHERE r.outcome = 'incomplete';
COMMENT ON VIEW ptl.rtt_open_period IS 'Incomplete periods at the last refresh that their provider reports (clinical responsibility not transferred)';
COMMENT ON COLUMN ptl.rtt_open_period.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.rtt_open_period.period_no IS 'Period';
COMMENT ON COLUMN ptl.rtt_open_period.census IS 'Census of the last refresh';
COMMENT ON COLUMN ptl.rtt_open_period.clock_start IS 'Clock start';
COMMENT ON COLUMN ptl.rtt_open_period.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.rtt_open_period.has_dta IS 'Decision to admit made';
COMMENT ON COLUMN ptl.rtt_open_period.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.rtt_open_period.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.rtt_open_period.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.rtt_open_period.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.rtt_open_period.ppid IS 'PPID';
COMMENT ON COLUMN ptl.rtt_open_period.ubrn IS 'UBRN';
COMMENT ON COLUMN ptl.rtt_open_period.last_event_date IS 'Latest event on or before the census';
COMMENT ON COLUMN ptl.rtt_open_period.next_booked_date IS 'Next booked date';

-- Runs every implemented rule at a census over the stored clocks; returns
-- the number of issues.  Called by ptl.refresh() after the clocks.
-- V07's detail: the other record by its PPID at the same provider; at
-- another provider by the provider alone (a trust's reader sees the issue,
-- not another trust's identifiers).
CREATE FUNCTION ptl_internal.duplicate_pathway_detail(provider text, other_provider text, other_ppid_issuer text,
                                             other_ppid text, other_open boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN provider = other_provider
            THEN format('also recorded as %s %s', other_ppid_issuer, other_ppid)
            ELSE format('also recorded at %s', other_provider) END
       || CASE WHEN other_open THEN '' ELSE ', closed there' END;
COMMENT ON FUNCTION ptl_internal.duplicate_pathway_detail(text, text, text, text, boolean) IS
    'Internal to ptl.validate: the detail of a V07 issue (another provider''s record named by its provider only)';

-- The rules across records (V07: the same NHS number or UBRN; V08, V19,
-- V20: the same issuer and PPID) pair a pathway with others by those keys.
-- A record that changes or goes can leave a partner's issue standing, and
-- its partners are found by the keys it had: triggers note them here, and
-- each incremental validation takes the notes it sees (one committed later
-- stays for the next), so that only those partners are looked at again,
-- not every holder of such an issue.
CREATE TABLE ptl.validation_pending_key (
    nhs_number  ptl.nhs_number,
    ubrn        text,
    ppid_issuer text,
    ppid        text
);
SELECT pg_catalog.pg_extension_config_dump('ptl.validation_pending_key', '');
COMMENT ON TABLE ptl.validation_pending_key IS
    'Keys (NHS number, UBRN, issuer and PPID) of patient and pathway records as they were before they were updated or deleted since the last validation (filled by triggers, taken by each incremental validation): their partners in rules V07, V08, V19 and V20 are validated again';
COMMENT ON COLUMN ptl.validation_pending_key.nhs_number IS 'NHS number the patient record had (or the pathway record''s patient had)';
COMMENT ON COLUMN ptl.validation_pending_key.ubrn IS 'UBRN the pathway record had';
COMMENT ON COLUMN ptl.validation_pending_key.ppid_issuer IS 'PPID issuer the pathway record had';
COMMENT ON COLUMN ptl.validation_pending_key.ppid IS 'PPID the pathway record had';

CREATE FUNCTION ptl_internal.note_validation_keys() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'patient' THEN
        INSERT INTO ptl.validation_pending_key (nhs_number)
        SELECT DISTINCT c.nhs_number FROM changed_rows c WHERE c.nhs_number IS NOT NULL;
    ELSE
        INSERT INTO ptl.validation_pending_key (nhs_number, ubrn, ppid_issuer, ppid)
        SELECT pa.nhs_number, c.ubrn, c.ppid_issuer, c.ppid
        FROM changed_rows c LEFT JOIN ptl.patient pa ON pa.patient_id = c.patient_id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.note_validation_keys() IS
    'Trigger: notes the NHS numbers, UBRNs and PPIDs updated or deleted patient and pathway records had, for the next validation (ptl.validation_pending_key)';
CREATE TRIGGER patient_updated_keys AFTER UPDATE ON ptl.patient
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_validation_keys();
CREATE TRIGGER patient_deleted_keys AFTER DELETE ON ptl.patient
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_validation_keys();
CREATE TRIGGER pathway_updated_keys AFTER UPDATE ON ptl.pathway
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_validation_keys();
CREATE TRIGGER pathway_deleted_keys AFTER DELETE ON ptl.pathway
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_validation_keys();

-- The pathways whose validation issues can have changed since the refresh
-- at last_census, when that refresh stored every pathway's issues and this
-- one recomputed the clocks of pg_temp.rtt_target (the pathways whose
-- events, entries, pathway or patient record changed, or whose next event
-- or booking has come: ptl.refresh).  Rule by rule (docs/rtt-engine.md):
--  * of the pathway's own records only, which change only by recomputing
--    its clock: V04, V06, V12, V15-V18, V24, V25, V31, and V01, V02, V05
--    (a changed patient record marks its pathways);
--  * of other records too: V07 (the same NHS number or UBRN), V08, V19, V20
--    (the same issuer and PPID): the pathways sharing those with a target,
--    and those sharing them with a record as it was before it changed or
--    went (ptl.validation_pending_key);
--  * of reference data: V23 (whether a treatment function is consultant
--    led: every pathway in one that is not, and its holders) and V32 (a
--    placeholder resolved: every pathway with an unresolved load warning,
--    and its holders);
--  * of the census, as it moves from last_census to census: V03 (a start
--    or referral after the census: only its holders, as it moves on), V09 (a death on or before it), V10 (a
--    last event more than the setting unbooked_days before it), V11 (a TCI
--    date passed), V19 (a transfer out more than lost_transfer_days before
--    it), V26 (a wait passing 12 weeks; a validation leaving or entering the
--    revalidate_days window) and V27 (status 99 older than
--    status_unknown_days): the pathways whose dates cross the threshold.
CREATE FUNCTION ptl_internal.validation_scope(census date, last_census date) RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    s ptl.rtt_setting := ptl.rtt_setting_in_force();
    n bigint;
BEGIN
    IF last_census > census THEN
        RAISE EXCEPTION 'census % is before the last census %: validate every pathway instead', census, last_census
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass('pg_temp.rtt_target') IS NULL THEN
        RAISE EXCEPTION 'no pathways were recomputed in this transaction (pg_temp.rtt_target is missing)'
            USING ERRCODE = 'undefined_table',
                  HINT = 'ptl.refresh makes it; outside a refresh, validate every pathway: ptl.validate(census).';
    END IF;
    IF to_regclass('pg_temp.validation_scope') IS NOT NULL THEN
        DROP TABLE pg_temp.validation_scope;
    END IF;
    CREATE TEMP TABLE validation_scope (pathway_id bigint PRIMARY KEY) ON COMMIT DROP;
    -- the keys noted since the last validation, taken
    IF to_regclass('pg_temp.validation_keys') IS NOT NULL THEN
        DROP TABLE pg_temp.validation_keys;
    END IF;
    CREATE TEMP TABLE validation_keys ON COMMIT DROP AS
    WITH taken AS (DELETE FROM ptl.validation_pending_key RETURNING *)
    SELECT DISTINCT * FROM taken;
    ANALYZE pg_temp.validation_keys;

    INSERT INTO pg_temp.validation_scope (pathway_id)
    -- (the targets are few: their partners are looked up one by one, by
    -- index, rather than joined to whole tables)
    SELECT t.pathway_id FROM pg_temp.rtt_target t
    -- V07: the same NHS number, or the same UBRN; V08, V19, V20: the same
    -- issuer and PPID
    UNION
    SELECT x.pathway_id
    FROM pg_temp.rtt_target t
    CROSS JOIN LATERAL (
        SELECT b.pathway_id
        FROM ptl.pathway a
        JOIN ptl.patient pa ON pa.patient_id = a.patient_id
        JOIN ptl.patient pb ON pb.nhs_number = pa.nhs_number
        JOIN ptl.pathway b ON b.patient_id = pb.patient_id
        WHERE a.pathway_id = t.pathway_id
        UNION ALL
        SELECT b.pathway_id FROM ptl.pathway a JOIN ptl.pathway b ON b.ubrn = a.ubrn
        WHERE a.pathway_id = t.pathway_id
        UNION ALL
        SELECT b.pathway_id FROM ptl.pathway a JOIN ptl.pathway b ON b.ppid_issuer = a.ppid_issuer AND b.ppid = a.ppid
        WHERE a.pathway_id = t.pathway_id
        OFFSET 0) x
    -- V07, V08, V19, V20: partners of a record as it was before it changed
    -- or went (the keys noted, taken below)
    UNION
    SELECT p.pathway_id FROM pg_temp.validation_keys k
    JOIN ptl.patient pa ON pa.nhs_number = k.nhs_number JOIN ptl.pathway p ON p.patient_id = pa.patient_id
    UNION
    SELECT p.pathway_id FROM pg_temp.validation_keys k JOIN ptl.pathway p ON p.ubrn = k.ubrn
    UNION
    SELECT p.pathway_id FROM pg_temp.validation_keys k
    JOIN ptl.pathway p ON p.ppid_issuer = k.ppid_issuer AND p.ppid = k.ppid
    -- holders of the rules on reference data; V03's (a start or referral
    -- after the census: only fewer as it moves on)
    UNION
    SELECT i.pathway_id FROM ptl.validation_issue i
    WHERE i.rule_id IN ('V03', 'V23', 'V32')
    -- V23: in a treatment function that is not consultant-led
    UNION
    SELECT p.pathway_id FROM ptl.pathway p
    WHERE p.treatment_function IN (SELECT t.tfc FROM ptl.treatment_function_in_use t WHERE NOT t.consultant_led)
    -- V32: an unresolved load warning
    UNION
    SELECT w.pathway_id FROM ptl.load_warning w WHERE w.resolved_in IS NULL AND w.pathway_id IS NOT NULL
    UNION
    SELECT p.pathway_id FROM ptl.load_warning w JOIN ptl.pathway p ON p.patient_id = w.patient_id
    WHERE w.resolved_in IS NULL AND w.pathway_id IS NULL
    -- V26: an open wait passing 12 weeks (84 < census - start <= 84 + days
    -- since the last census; by the index on open periods' starts)
    UNION
    SELECT r.pathway_id FROM ptl.rtt_period r
    WHERE r.outcome = 'incomplete' AND r.clock_start < census - 84 AND r.clock_start >= last_census - 84
    -- V10: the last event passing unbooked_days; V19: the transfer out passing lost_transfer_days
    UNION
    SELECT rp.pathway_id FROM ptl.rtt_pathway rp
    WHERE (rp.last_event_date >= last_census - s.unbooked_days AND rp.last_event_date < census - s.unbooked_days)
       OR (rp.transferred_out_on >= last_census - s.lost_transfer_days
           AND rp.transferred_out_on < census - s.lost_transfer_days)
    -- V09: a death since the last census
    UNION
    SELECT p.pathway_id FROM ptl.patient pa JOIN ptl.pathway p ON p.patient_id = pa.patient_id
    WHERE pa.date_of_death > last_census AND pa.date_of_death <= census
    -- V11: a TCI date passed
    UNION
    SELECT w.pathway_id FROM ptl.waiting_list_entry w
    WHERE w.tci_date >= last_census AND w.tci_date < census
    -- V26: a validation leaving or entering the window
    UNION
    SELECT v.pathway_id FROM ptl.pathway_validation v
    WHERE v.validated_on > last_census - s.revalidate_days AND v.validated_on <= census
    -- V27: status 99 passing status_unknown_days
    UNION
    SELECT i.pathway_id FROM ptl.rtt_event_issue i JOIN ptl.pathway_event e ON e.event_id = i.event_id
    WHERE i.rule_id = 'V27' AND e.event_date >= last_census - s.status_unknown_days
      AND e.event_date < census - s.status_unknown_days;
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE pg_temp.validation_scope;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl_internal.validation_scope(date, date) IS
    'Internal to ptl.validate: lists in pg_temp.validation_scope the pathways whose validation issues can have changed since the refresh at last_census, given the pathways this refresh recomputed (pg_temp.rtt_target); returns how many';

-- Every rule at a census, over every pathway (last_census NULL) or, after
-- a refresh that recomputed only some clocks, over the pathways whose issues
-- can have changed since the refresh at last_census (ptl_internal.validation_scope).
-- The issues found replace those stored for the pathways looked at; an issue
-- found again is kept as it is, with the census that first found it.
CREATE FUNCTION ptl.validate(census date, last_census date) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    s ptl.rtt_setting;
    everything boolean := last_census IS NULL OR last_census > census
                          OR to_regclass('pg_temp.rtt_target') IS NULL;
    q text;
BEGIN
    IF census IS NULL OR NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    s := ptl.rtt_setting_in_force();
    IF everything THEN
        -- every pathway is looked at: the keys noted so far are served
        DELETE FROM ptl.validation_pending_key;
    ELSE
        PERFORM ptl_internal.validation_scope(census, last_census);
        -- The open periods of the scope, fetched once, pathway by pathway:
        -- most rules start from them.
        IF to_regclass('pg_temp.validation_open_period') IS NOT NULL THEN
            DROP TABLE pg_temp.validation_open_period;
        END IF;
        CREATE TEMP TABLE validation_open_period ON COMMIT DROP AS
        SELECT o.* FROM pg_temp.validation_scope z
        CROSS JOIN LATERAL (SELECT * FROM ptl.rtt_open_period x WHERE x.pathway_id = z.pathway_id OFFSET 0) o;
        ANALYZE pg_temp.validation_open_period;
    END IF;
    IF to_regclass('pg_temp.validation_found') IS NOT NULL THEN
        DROP TABLE pg_temp.validation_found;
    END IF;
    CREATE TEMP TABLE validation_found (LIKE ptl.validation_issue) ON COMMIT DROP;

    -- Each rule's query joins the scope to the record its issue is about
    -- (the scope marks in the text): the planner then starts from the few
    -- pathways in it rather than scanning the tables.
    q := $q$
    INSERT INTO pg_temp.validation_found (pathway_id, rule_id, event_id, detail, census)
    -- V01, V02: the patient's NHS number
    -- (Details name no identifier: plain readers read them; ptl.patient holds
    -- the values for those who may see them.)
    SELECT o.pathway_id, 'V01', NULL::bigint, 'the patient record has no NHS number', $1
    FROM ptl.rtt_open_period o /*scope:o*/ JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE pa.nhs_number IS NULL AND pa.nhs_number_as_recorded IS NULL
    UNION ALL
    SELECT o.pathway_id, 'V02', NULL,
           CASE WHEN pa.nhs_number IS NULL THEN 'the patient record''s NHS number is invalid'
                ELSE 'the patient record''s NHS number is all one digit' END, $1
    FROM ptl.rtt_open_period o /*scope:o*/ JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE (pa.nhs_number IS NULL AND pa.nhs_number_as_recorded IS NOT NULL)
       -- all one digit: nothing but the display form's two spaces is left
       -- without it (a test as cheap as the comparison, unlike a pattern)
       OR replace(pa.nhs_number::text, left(pa.nhs_number::text, 1), '') = '  '
    -- V03: starts after the census
    UNION ALL
    SELECT r.pathway_id, 'V03', NULL, format('clock start %s is after the census %s', r.clock_start, $1), $1
    FROM ptl.rtt_period r /*scope:r*/ WHERE r.clock_start > $1
    UNION ALL
    SELECT p.pathway_id, 'V03', NULL, format('referral received %s is after the census %s', p.referral_received, $1), $1
    FROM ptl.pathway p /*scope:p*/ WHERE p.referral_received > $1
    -- V04: stop before start
    UNION ALL
    SELECT r.pathway_id, 'V04', NULL, format('period %s stops %s before it starts %s', r.period_no, r.clock_stop, r.clock_start), $1
    FROM ptl.rtt_period r /*scope:r*/ WHERE r.clock_stop < r.clock_start
    -- V05: start before birth
    UNION ALL
    SELECT o.pathway_id, 'V05', NULL, format('clock start %s is before the patient''s date of birth', o.clock_start), $1
    FROM ptl.rtt_open_period o /*scope:o*/ JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE o.clock_start < pa.date_of_birth
    -- V06: unknown start
    UNION ALL
    SELECT o.pathway_id, 'V06', NULL, format('period %s has no known clock start', o.period_no), $1
    FROM ptl.rtt_open_period o /*scope:o*/ WHERE o.clock_start IS NULL
    -- V07: an open pathway recorded twice: the same NHS number and treatment
    -- function open on another record, or closed there but for the same
    -- referral (same date received), or the same UBRN on another record
    UNION ALL
    SELECT v.pathway_id, 'V07', NULL, v.detail, $1
    FROM (SELECT a.pathway_id,
                 ptl_internal.duplicate_pathway_detail(a.provider_org, b.provider_org, b.ppid_issuer, b.ppid,
                                              bo.pathway_id IS NOT NULL) AS detail
          FROM ptl.rtt_open_period a /*scope:a*/
          JOIN ptl.pathway ap ON ap.pathway_id = a.pathway_id
          JOIN ptl.patient pa ON pa.patient_id = a.patient_id
          JOIN ptl.patient pb ON pb.nhs_number = pa.nhs_number
          JOIN ptl.pathway b ON b.patient_id = pb.patient_id AND b.treatment_function = a.treatment_function
          LEFT JOIN ptl.rtt_open_period bo ON bo.pathway_id = b.pathway_id
          WHERE b.pathway_id <> a.pathway_id
            AND (b.ppid_issuer, b.ppid) IS DISTINCT FROM (a.ppid_issuer, a.ppid)
            AND (bo.pathway_id IS NOT NULL OR b.referral_received = ap.referral_received)
          UNION
          SELECT a.pathway_id,
                 ptl_internal.duplicate_pathway_detail(a.provider_org, b.provider_org, b.ppid_issuer, b.ppid,
                                              bo.pathway_id IS NOT NULL)
          FROM ptl.rtt_open_period a /*scope:a*/
          JOIN ptl.pathway b ON b.ubrn = a.ubrn
          LEFT JOIN ptl.rtt_open_period bo ON bo.pathway_id = b.pathway_id
          WHERE b.pathway_id <> a.pathway_id
            AND (b.ppid_issuer, b.ppid) IS DISTINCT FROM (a.ppid_issuer, a.ppid)) v
    -- V08: two providers report the same pathway
    UNION ALL
    SELECT a.pathway_id, 'V08', NULL,
           format('%s also reports pathway %s %s as open', b.provider_org, a.ppid_issuer, a.ppid), $1
    FROM ptl.rtt_open_period a /*scope:a*/
    JOIN ptl.rtt_open_period b ON b.ppid_issuer = a.ppid_issuer AND b.ppid = a.ppid
                              AND b.pathway_id <> a.pathway_id
    -- V09: dead patients still waiting
    UNION ALL
    SELECT o.pathway_id, 'V09', NULL, 'the patient has died (a date of death is recorded); the pathway needs a 36 stop', $1
    FROM ptl.rtt_open_period o /*scope:o*/ JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE pa.date_of_death <= $1
    -- V10: nothing booked for too long
    UNION ALL
    SELECT o.pathway_id, 'V10', NULL,
           format('nothing booked, no decision to admit, last event %s', o.last_event_date), $1
    FROM ptl.rtt_open_period o /*scope:o*/
    WHERE NOT o.has_dta AND o.next_booked_date IS NULL
      AND o.last_event_date < $1 - $2
    -- V11: TCI date passed without an admission
    UNION ALL
    SELECT w.pathway_id, 'V11', NULL, format('waiting-list entry %s: TCI %s has passed with no admission', w.entry_ref, w.tci_date), $1
    FROM ptl.waiting_list_entry w /*scope:w*/
    WHERE w.removed_date IS NULL AND w.tci_date < $1
      AND EXISTS (SELECT 1 FROM ptl.rtt_open_period o WHERE o.pathway_id = w.pathway_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event e
                      WHERE e.pathway_id = w.pathway_id AND e.kind = 'admission'
                        AND e.event_date >= w.tci_date AND e.event_date <= $1)
    -- V12: decision to admit and waiting list disagree
    UNION ALL
    SELECT o.pathway_id, 'V12', NULL, 'decision to admit recorded but no open waiting-list entry', $1
    FROM ptl.rtt_open_period o /*scope:o*/
    WHERE o.has_dta
      AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w
                      WHERE w.pathway_id = o.pathway_id AND w.removed_date IS NULL)
    UNION ALL
    SELECT w.pathway_id, 'V12', NULL, format('waiting-list entry %s is open but the pathway has no open RTT clock', w.entry_ref), $1
    FROM ptl.waiting_list_entry w /*scope:w*/
    WHERE w.removed_date IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.rtt_period r
                      WHERE r.pathway_id = w.pathway_id AND r.outcome = 'incomplete')
    -- V15, V16, V17, V25: events the engine ignored or doubted
    UNION ALL
    SELECT i.pathway_id, i.rule_id, i.event_id, i.detail, $1
    FROM ptl.rtt_event_issue i /*scope:i*/
    WHERE i.rule_id IN ('V15', 'V16', 'V17', 'V25')
    -- V31: a referral recorded outside RTT, while no clock runs on the record
    UNION ALL
    SELECT i.pathway_id, i.rule_id, i.event_id,
           i.detail || format(' (event of %s)', e.event_date), $1
    FROM ptl.rtt_event_issue i /*scope:i*/
    JOIN ptl.pathway_event e ON e.event_id = i.event_id
    WHERE i.rule_id = 'V31'
      AND NOT EXISTS (SELECT 1 FROM ptl.rtt_period r WHERE r.pathway_id = i.pathway_id AND r.outcome = 'incomplete')
    -- V24, V27: only while the period is still open
    UNION ALL
    SELECT i.pathway_id, i.rule_id, i.event_id,
           i.detail || format(' (event of %s)', e.event_date), $1
    FROM ptl.rtt_event_issue i /*scope:i*/
    JOIN ptl.rtt_period r ON r.pathway_id = i.pathway_id AND r.period_no = i.period_no AND r.outcome = 'incomplete'
    JOIN ptl.pathway_event e ON e.event_id = i.event_id
    WHERE i.rule_id = 'V24'
       OR (i.rule_id = 'V27' AND e.event_date < $1 - $3)
    -- V18: a new period reusing an earlier start
    UNION ALL
    SELECT b.pathway_id, 'V18', NULL,
           format('period %s starts %s, the start of period %s', b.period_no, b.clock_start, a.period_no), $1
    FROM ptl.rtt_period a /*scope:a*/
    JOIN ptl.rtt_period b ON b.pathway_id = a.pathway_id AND b.period_no > a.period_no
                         AND b.clock_start = a.clock_start
    -- V19: lost transfers
    UNION ALL
    SELECT rp.pathway_id, 'V19', NULL,
           format('transferred out on %s; no record of %s %s at another provider', rp.transferred_out_on, p.ppid_issuer, p.ppid), $1
    FROM ptl.rtt_pathway rp /*scope:rp*/ JOIN ptl.pathway p ON p.pathway_id = rp.pathway_id
    WHERE rp.transferred_out_on < $1 - $4
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway q
                      WHERE q.ppid_issuer = p.ppid_issuer AND q.ppid = p.ppid
                        AND q.provider_org <> p.provider_org)
    -- V20: a received transfer whose start is not the sender's
    UNION ALL
    SELECT e.pathway_id, 'V20', e.event_id,
           format('transfer in gives clock start %s; %s started the clock on %s',
                  e.ref_date, q.provider_org, sr.clock_start), $1
    FROM ptl.pathway_event e /*scope:e*/
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN ptl.pathway q ON q.ppid_issuer = p.ppid_issuer AND q.ppid = p.ppid AND q.provider_org <> p.provider_org
    JOIN ptl.rtt_pathway qp ON qp.pathway_id = q.pathway_id AND NOT qp.responsible
    JOIN LATERAL (SELECT r.clock_start FROM ptl.rtt_period r
                  WHERE r.pathway_id = q.pathway_id ORDER BY r.period_no DESC LIMIT 1) sr ON true
    WHERE e.kind = 'transfer_in' AND e.event_date <= $1
      AND e.ref_date IS DISTINCT FROM sr.clock_start
    -- V23: outside RTT.  Such a record has no clock (ptl.rtt_compute), so
    -- the rule asks the engine what its clock would be: the records that
    -- would be waiting are the ones a wrong flag would hide from the list.
    UNION ALL
    SELECT p.pathway_id, 'V23', NULL,
           format('treatment function %s (%s) is not consultant-led: no RTT clock, though it would have been running since %s',
                  t.tfc, t.name, coalesce(((c.periods)[cardinality(c.periods)]).clock_start::text, 'an unknown date')), $1
    FROM ptl.pathway p /*scope:p*/
    JOIN ptl.treatment_function_in_use t ON t.tfc = p.treatment_function AND NOT t.consultant_led
    CROSS JOIN LATERAL (
        SELECT ptl.rtt_periods_agg(e.event_date, e.event_time, e.kind, e.rtt_status, e.ref_date, e.site_code,
                                   e.treatment_function, e.event_id, $1,
                                   p.referral_priority = 'two_week_wait' AND NOT $6,
                                   $7, $8) AS periods
        FROM ptl.pathway_event e WHERE e.pathway_id = p.pathway_id) c
    WHERE ((c.periods)[cardinality(c.periods)]).outcome = 'incomplete'
    -- V26: validation due
    UNION ALL
    SELECT o.pathway_id, 'V26', NULL,
           format('clock started %s; not validated since %s', o.clock_start,
                  coalesce((SELECT max(v.validated_on)::text FROM ptl.pathway_validation v
                            WHERE v.pathway_id = o.pathway_id), 'ever')), $1
    FROM ptl.rtt_open_period o /*scope:o*/
    WHERE o.days_waited > 84
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_validation v
                      WHERE v.pathway_id = o.pathway_id
                        AND v.validated_on > $1 - $5 AND v.validated_on <= $1)
    -- V32: the pathway's records (its patient, the pathway, its events and
    -- entries) loaded with a fault no later delivery has resolved; an NHS
    -- number is V01/V02's, and a placeholder the reference data has since
    -- resolved is no longer a fault.
    UNION ALL
    SELECT o.pathway_id, 'V32', NULL,
           string_agg(DISTINCT format('%s.%s: %s', w.extract, w.column_name, w.reason), '; '), $1
    -- (the unresolved warnings first, each on its pathway or its patient's)
    FROM (SELECT w.pathway_id, w.extract, w.column_name, w.reason, w.value
          FROM ptl.load_warning w WHERE w.resolved_in IS NULL AND w.pathway_id IS NOT NULL
          UNION ALL
          SELECT p.pathway_id, w.extract, w.column_name, w.reason, w.value
          FROM ptl.load_warning w JOIN ptl.pathway p ON p.patient_id = w.patient_id
          WHERE w.resolved_in IS NULL AND w.pathway_id IS NULL) w
    JOIN ptl.rtt_open_period o /*scope:o*/ ON o.pathway_id = w.pathway_id
    WHERE w.column_name <> 'nhs_number'
      AND NOT (w.reason = 'placeholder_site' AND EXISTS (SELECT 1 FROM ptl.site x WHERE x.site_code = w.value AND NOT x.placeholder))
      AND NOT (w.reason = 'placeholder_commissioner'
               AND EXISTS (SELECT 1 FROM ptl.commissioner x WHERE x.commissioner_code = w.value AND NOT x.placeholder))
      AND NOT (w.reason = 'placeholder_treatment_function'
               AND EXISTS (SELECT 1 FROM ptl.treatment_function x WHERE x.tfc = w.value AND NOT x.placeholder))
    GROUP BY o.pathway_id
    $q$;
    IF NOT everything THEN
        q := regexp_replace(q, 'ptl\.rtt_open_period (\w+) /\*scope:\1\*/', 'pg_temp.validation_open_period \1', 'g');
    END IF;
    q := regexp_replace(q, '/\*scope:(\w+)\*/',
                        CASE WHEN everything THEN ''
                             ELSE 'JOIN pg_temp.validation_scope vs_\1 ON vs_\1.pathway_id = \1.pathway_id' END, 'g');
    EXECUTE q USING census, s.unbooked_days, s.status_unknown_days, s.lost_transfer_days, s.revalidate_days,
                    s.two_week_wait_first_dna_nullifies, s.dna_discharge_stop, s.death_stop;

    -- Replace the issues of the pathways looked at: those no longer found
    -- go, new ones come; one found again keeps its row (and first census).
    EXECUTE format($q$
        DELETE FROM ptl.validation_issue v %s
        NOT EXISTS (SELECT 1 FROM pg_temp.validation_found f
                    WHERE f.pathway_id = v.pathway_id AND f.rule_id = v.rule_id
                      AND f.event_id IS NOT DISTINCT FROM v.event_id AND f.detail = v.detail)$q$,
        CASE WHEN everything THEN 'WHERE'
             ELSE 'USING pg_temp.validation_scope z WHERE z.pathway_id = v.pathway_id AND' END);
    INSERT INTO ptl.validation_issue (pathway_id, rule_id, event_id, detail, census)
    SELECT DISTINCT f.pathway_id, f.rule_id, f.event_id, f.detail, f.census
    FROM pg_temp.validation_found f
    WHERE NOT EXISTS (SELECT 1 FROM ptl.validation_issue v
                      WHERE v.pathway_id = f.pathway_id AND v.rule_id = f.rule_id
                        AND v.event_id IS NOT DISTINCT FROM f.event_id AND v.detail = f.detail);
    RETURN (SELECT count(*) FROM ptl.validation_issue);
END
$$;
COMMENT ON FUNCTION ptl.validate(date, date) IS
    'Internal to ptl.refresh: runs every implemented validation rule at a census into ptl.validation_issue, over every pathway (last_census NULL, or after it) or over those whose issues can have changed since the refresh at last_census (ptl_internal.validation_scope); an issue found again keeps its row; returns the number of issues stored';

CREATE FUNCTION ptl.validate(census date) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN ptl.validate(census, NULL);
COMMENT ON FUNCTION ptl.validate(date) IS
    'Runs every implemented validation rule over the stored clocks of every pathway at a census into ptl.validation_issue (an issue found again keeps its row); returns the number of issues';

CREATE VIEW ptl.validation_issues AS
SELECT i.rule_id, r.severity, r.title, i.pathway_id, p.provider_org, p.site_code,
       p.treatment_function, p.ppid_issuer, p.ppid, pa.local_patient_id, i.event_id, i.detail, i.census
FROM ptl.validation_issue i
JOIN ptl.validation_rule r USING (rule_id)
JOIN ptl.pathway p ON p.pathway_id = i.pathway_id
JOIN ptl.patient pa ON pa.patient_id = p.patient_id;
COMMENT ON VIEW ptl.validation_issues IS 'The validation work list: each issue with its rule, severity and pathway';
COMMENT ON COLUMN ptl.validation_issues.rule_id IS 'Rule';
COMMENT ON COLUMN ptl.validation_issues.severity IS 'error, warning or task';
COMMENT ON COLUMN ptl.validation_issues.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_issues.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.validation_issues.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.validation_issues.site_code IS 'Site';
COMMENT ON COLUMN ptl.validation_issues.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.validation_issues.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.validation_issues.ppid IS 'PPID';
COMMENT ON COLUMN ptl.validation_issues.local_patient_id IS 'Hospital number';
COMMENT ON COLUMN ptl.validation_issues.event_id IS 'Event concerned, if any';
COMMENT ON COLUMN ptl.validation_issues.detail IS 'What is wrong';
COMMENT ON COLUMN ptl.validation_issues.census IS 'Census of the refresh that first found it';

CREATE VIEW ptl.validation_summary AS
SELECT p.provider_org, r.rule_id, r.severity, r.title,
       count(i.pathway_id) AS issues, count(DISTINCT i.pathway_id) AS pathways
FROM ptl.validation_rule r
JOIN ptl.validation_issue i USING (rule_id)
JOIN ptl.pathway p ON p.pathway_id = i.pathway_id
GROUP BY p.provider_org, r.rule_id, r.severity, r.title;
COMMENT ON VIEW ptl.validation_summary IS 'Validation issues counted per provider and rule';
COMMENT ON COLUMN ptl.validation_summary.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.validation_summary.rule_id IS 'Rule';
COMMENT ON COLUMN ptl.validation_summary.severity IS 'Severity';
COMMENT ON COLUMN ptl.validation_summary.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_summary.issues IS 'Issues';
COMMENT ON COLUMN ptl.validation_summary.pathways IS 'Distinct pathway records';

SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_validation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_validation_validation_id_seq', '');
