-- ---------------------------------------------------------------------------
-- The PTL: one row per incomplete RTT period its provider reports, at the
-- census of the last refresh, with what a waiting-list manager needs beside
-- it; headline measures; the clock as at any census.
-- ---------------------------------------------------------------------------

-- The PTL is stored, not computed as it is read (docs/rtt-engine.md, "The
-- PTL as at the last refresh"): ptl.refresh computes every row and its place
-- on its list once, at the census of its clocks, into ptl.ptl_entry, and the
-- view ptl.ptl reads that table.  A BI tool's query for one provider's
-- treatment function is then an index scan of that list, not a numbering of
-- the whole ICS; what changes between refreshes (a waiting-list entry
-- edited, a priority reviewed, a validation issue resolved) shows at the
-- next refresh, like the clocks themselves.  Only what depends on the
-- reader (which rows, whether identifiers show) and ptl's own open outbound
-- actions are decided as the view is read.
CREATE TABLE ptl.ptl_entry (
    pathway_id              bigint NOT NULL,
    period_no               int NOT NULL,
    patient_id              bigint NOT NULL,
    nhs_number              ptl.nhs_number,
    local_patient_id        text,
    provider_org            text NOT NULL,
    site_code               text,
    treatment_function      text NOT NULL,
    treatment_function_name text,
    rtt_line                text,
    commissioner_code       text,
    ppid_issuer             text NOT NULL,
    ppid                    text NOT NULL,
    referral_priority       ptl.referral_priority,
    census                  date NOT NULL,
    clock_start             date,
    days_waited             int,
    week_band               int,
    has_dta                 boolean NOT NULL,
    waiting_list_entry_id   bigint,
    decision_to_admit       date,
    clinical_priority       ptl.clinical_priority,
    procedure_code          text,
    tci_date                date,
    next_booked_date        date,
    next_booked_kind        ptl.event_kind,
    validation_issues       text[] NOT NULL,
    suspended_days          int,
    days_on_list            int,
    target_days             int,
    target_date             date,
    target_elapsed          ptl.target_elapsed,
    order_group             text NOT NULL
                            CHECK (order_group IN ('urgent', 'by_target', 'unprioritised', 'set_aside', 'non_admitted')),
    list_position           bigint,
    consultant_code         text,
    triage_priority         ptl.referral_priority,
    PRIMARY KEY (pathway_id, period_no),
    CONSTRAINT ptl_entry_position_unless_set_aside CHECK ((list_position IS NULL) = (order_group = 'set_aside')),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT ptl_entry_census_in_range CHECK (ptl.in_storage_range(census)),
    CONSTRAINT ptl_entry_clock_start_in_range CHECK (ptl.in_storage_range(clock_start)),
    CONSTRAINT ptl_entry_decision_to_admit_in_range CHECK (ptl.in_storage_range(decision_to_admit)),
    CONSTRAINT ptl_entry_tci_date_in_range CHECK (ptl.in_storage_range(tci_date)),
    CONSTRAINT ptl_entry_next_booked_date_in_range CHECK (ptl.in_storage_range(next_booked_date)),
    CONSTRAINT ptl_entry_target_date_in_range CHECK (ptl.in_storage_range(target_date))
);
-- A provider's treatment function list in its order (both lists, admitted
-- and non-admitted, are numbered from 1); one pathway by the primary key.
CREATE INDEX ptl_entry_list_idx ON ptl.ptl_entry (provider_org, treatment_function, list_position);
COMMENT ON TABLE ptl.ptl_entry IS
    'The PTL as ptl.refresh computed it at the census of its clocks: one row per incomplete RTT period a provider reports, with its place on its list (read it through ptl.ptl, which adds what depends on the reader)';
COMMENT ON COLUMN ptl.ptl_entry.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.ptl_entry.period_no IS 'RTT period on it';
COMMENT ON COLUMN ptl.ptl_entry.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.ptl_entry.nhs_number IS 'NHS number at the refresh (NULL when missing or invalid); kept back from readers who may not see identifiers';
COMMENT ON COLUMN ptl.ptl_entry.local_patient_id IS 'Hospital number at the refresh; kept back from readers who may not see identifiers';
COMMENT ON COLUMN ptl.ptl_entry.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.ptl_entry.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.ptl_entry.treatment_function IS 'Treatment function code';
COMMENT ON COLUMN ptl.ptl_entry.treatment_function_name IS 'Treatment function name';
COMMENT ON COLUMN ptl.ptl_entry.rtt_line IS 'Line of the RTT return';
COMMENT ON COLUMN ptl.ptl_entry.commissioner_code IS 'Commissioner';
COMMENT ON COLUMN ptl.ptl_entry.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.ptl_entry.ppid IS 'Patient pathway identifier';
COMMENT ON COLUMN ptl.ptl_entry.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.ptl_entry.census IS 'Census date of the waits (the last refresh''s)';
COMMENT ON COLUMN ptl.ptl_entry.clock_start IS 'Clock start (NULL: unknown)';
COMMENT ON COLUMN ptl.ptl_entry.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.ptl_entry.week_band IS 'Published weekly band 0..104';
COMMENT ON COLUMN ptl.ptl_entry.has_dta IS 'A decision to admit was recorded in the period (Part 2A)';
COMMENT ON COLUMN ptl.ptl_entry.waiting_list_entry_id IS 'Open waiting-list entry at the census (NULL: not on the admitted list)';
COMMENT ON COLUMN ptl.ptl_entry.decision_to_admit IS 'Decision-to-admit date of the open waiting-list entry';
COMMENT ON COLUMN ptl.ptl_entry.clinical_priority IS 'Clinical priority in force at the census';
COMMENT ON COLUMN ptl.ptl_entry.procedure_code IS 'Intended procedure (OPCS-4)';
COMMENT ON COLUMN ptl.ptl_entry.tci_date IS 'TCI date on the waiting-list entry';
COMMENT ON COLUMN ptl.ptl_entry.next_booked_date IS 'Next booked date';
COMMENT ON COLUMN ptl.ptl_entry.next_booked_kind IS 'Kind of the next booked event';
COMMENT ON COLUMN ptl.ptl_entry.validation_issues IS 'Validation rules the pathway broke at the refresh';
COMMENT ON COLUMN ptl.ptl_entry.suspended_days IS 'Days suspended since listing';
COMMENT ON COLUMN ptl.ptl_entry.days_on_list IS 'Days on the admitted list at the census, suspended days excluded';
COMMENT ON COLUMN ptl.ptl_entry.target_days IS 'Target days: of the clinical priority (admitted list) or of the referral priority (non-admitted list)';
COMMENT ON COLUMN ptl.ptl_entry.target_date IS 'Date the target is reached';
COMMENT ON COLUMN ptl.ptl_entry.target_elapsed IS 'Days on list (admitted) or waited (non-admitted) over target days, exactly ordered';
COMMENT ON COLUMN ptl.ptl_entry.order_group IS 'urgent, by_target, unprioritised, set_aside (no position) or non_admitted';
COMMENT ON COLUMN ptl.ptl_entry.consultant_code IS 'Consultant: who will operate (admitted list, when the entry names one), else the pathway''s responsible consultant';
COMMENT ON COLUMN ptl.ptl_entry.triage_priority IS 'Priority a clinician gave the referral on triage, when recorded';
COMMENT ON COLUMN ptl.ptl_entry.list_position IS 'Place in the provider''s treatment function list (admitted and non-admitted numbered separately), 1 first';

-- A pathway record deleted (it cannot be while it has events or a waiting
-- list entry, so in practice a test's or a migration's clean-up) leaves the
-- PTL at once, as its clocks do (ptl.rtt_pathway cascades): a statement
-- trigger, not a foreign key, so that the refresh's rewrite of the PTL pays
-- no check per row.
CREATE FUNCTION ptl_internal.forget_ptl_entries() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    DELETE FROM ptl.ptl_entry e USING (SELECT DISTINCT pathway_id FROM changed_rows) g
    WHERE e.pathway_id = g.pathway_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.forget_ptl_entries() IS
    'Trigger: takes deleted pathway records off the stored PTL (ptl.ptl_entry)';
CREATE TRIGGER pathway_deleted_leaves_ptl AFTER DELETE ON ptl.pathway
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.forget_ptl_entries();

-- The order (docs/risk.md, "One order"): within each provider's
-- treatment function, the admitted list and the non-admitted list are each
-- numbered from 1.  On the admitted list P1a/P1b come first, then P2-P4
-- together by share of target waited (ptl.target_elapsed, exact), date
-- listed, RTT clock start; entries without a priority follow by clock start;
-- P5/P6 and suspended patients are set aside (no position).  The
-- non-admitted list runs by the referral's priority (a clinician's triage
-- priority over the referrer's): two-week wait, then urgent, then routine,
-- each by share of its target waited (risk_setting's referral targets), then
-- clock start.  risk_setting.order_policy = longest_wait keeps release
-- 0.3.0's order: clock start before the share of target on the admitted
-- list, the non-admitted list by clock start alone.  A priority's wait
-- excludes suspended days.  A period
-- whose clock start is unknown (a transfer in without the original start)
-- stays on the list, its wait NULL, after every known start of its group
-- (NULLS LAST), and validation rule V06 flags it (docs/rtt-engine.md).
-- Each provider's list is numbered whole, whoever refreshes.  Run by
-- ptl.refresh (step rank_and_snapshot) after the clocks and the
-- validation; returns the rows written.
CREATE FUNCTION ptl.rank_ptl() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    -- Readers see the previous list until the refresh commits (a DELETE,
    -- not a TRUNCATE, which would make them wait for it).
    LOCK TABLE ptl.ptl_entry IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM ptl.ptl_entry;
    INSERT INTO ptl.ptl_entry
    -- Set-wise: each look-up is one pass over its table for every listed
    -- pathway (at the census of its period), joined by hash, not a subquery
    -- run once a row.
    WITH listed AS (
        SELECT r.pathway_id, r.period_no, r.census, r.clock_start, r.days_waited, r.week_band, r.has_dta,
               rp.next_booked_date, rp.next_booked_kind
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        WHERE r.outcome = 'incomplete'
          -- a record duplicating another of the same person is counted once (link/pathway.sql)
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)),
    -- the latest open waiting-list entry listed by the census (a refresh at
    -- an earlier census must not see an entry decided later)
    entry AS (
        SELECT DISTINCT ON (x.pathway_id, x.census)
               x.pathway_id, x.census, e.entry_id, e.decision_to_admit, e.clinical_priority, e.procedure_code,
               e.tci_date, e.consultant_code
        FROM (SELECT DISTINCT l.pathway_id, l.census FROM listed l) x
        JOIN ptl.waiting_list_entry e ON e.pathway_id = x.pathway_id
        WHERE e.removed_date IS NULL AND e.decision_to_admit <= x.census
        ORDER BY x.pathway_id, x.census, e.decision_to_admit DESC, e.entry_id DESC),
    -- the priority in force at the census (ptl.clinical_priority_history)
    priority AS (
        SELECT DISTINCT ON (w.entry_id, w.census) w.entry_id, w.census, ph.priority
        FROM entry w
        JOIN ptl.clinical_priority_history ph ON ph.entry_id = w.entry_id AND ph.valid_from <= w.census
        ORDER BY w.entry_id, w.census, ph.valid_from DESC, ph.history_id DESC),
    -- suspended days since listing (overlaps once), and suspended at the census
    suspension AS (
        SELECT w.entry_id, w.decision_to_admit, w.census,
               coalesce((SELECT sum(upper(x) - lower(x))
                         FROM unnest(range_agg(daterange(ws.suspended_from, ws.suspended_until, '[]'))
                                     * datemultirange(daterange(w.decision_to_admit, w.census))) x),
                        0)::int AS days,
               bool_or(ws.suspended_from <= w.census
                       AND coalesce(ws.suspended_until, 'infinity') >= w.census) AS suspended_now
        FROM entry w
        JOIN ptl.waiting_list_suspension ws ON ws.entry_id = w.entry_id
        GROUP BY w.entry_id, w.decision_to_admit, w.census),
    issue AS (
        SELECT i.pathway_id, array_agg(DISTINCT i.rule_id ORDER BY i.rule_id) AS rules
        FROM ptl.validation_issue i
        GROUP BY i.pathway_id)
    SELECT o.pathway_id, o.period_no, o.patient_id, o.nhs_number, o.local_patient_id, o.provider_org, o.site_code,
           o.treatment_function, o.treatment_function_name, o.rtt_line, o.commissioner_code, o.ppid_issuer, o.ppid,
           o.referral_priority, o.census, o.clock_start, o.days_waited, o.week_band, o.has_dta,
           o.waiting_list_entry_id, o.decision_to_admit, o.clinical_priority, o.procedure_code, o.tci_date,
           o.next_booked_date, o.next_booked_kind, o.validation_issues, o.suspended_days, o.days_on_list,
           o.target_days,
           CASE WHEN o.waiting_list_entry_id IS NOT NULL THEN o.decision_to_admit + o.suspended_days + o.target_days
                ELSE o.clock_start + o.target_days END,
           o.target_elapsed, o.order_group,
           CASE WHEN o.order_group <> 'set_aside' THEN
               row_number() OVER (PARTITION BY o.provider_org, o.treatment_function, o.waiting_list_entry_id IS NOT NULL
                                  ORDER BY o.group_rank,
                                           CASE WHEN o.longest_wait_first OR o.order_group = 'unprioritised'
                                                THEN o.clock_start END NULLS LAST,
                                           o.target_elapsed DESC NULLS LAST, o.decision_to_admit,
                                           o.clock_start NULLS LAST, o.patient_id, o.pathway_id, o.period_no) END,
           o.consultant_code, o.triage_priority
    FROM (
        SELECT b.*,
               -- the share of the target: days on the admitted list, or
               -- days waited on the non-admitted list
               CASE WHEN b.target_days IS NOT NULL AND b.waiting_list_entry_id IS NOT NULL
                    THEN ptl.target_elapsed(b.days_on_list, b.target_days)
                    WHEN b.target_days IS NOT NULL AND b.days_waited IS NOT NULL
                    THEN ptl.target_elapsed(greatest(b.days_waited, 0), b.target_days) END AS target_elapsed,
               CASE WHEN b.waiting_list_entry_id IS NULL AND b.longest_wait_first THEN 3
                    WHEN b.waiting_list_entry_id IS NULL
                    THEN CASE b.list_priority WHEN 'two_week_wait' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END
                    WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 9
                    WHEN b.clinical_priority <= 'P1b' THEN 1
                    WHEN b.clinical_priority IS NOT NULL THEN 2
                    ELSE 3 END AS group_rank,
               CASE WHEN b.waiting_list_entry_id IS NULL THEN 'non_admitted'
                    WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 'set_aside'
                    WHEN b.clinical_priority <= 'P1b' THEN 'urgent'
                    WHEN b.clinical_priority IS NOT NULL THEN 'by_target'
                    ELSE 'unprioritised' END AS order_group
        FROM (
            SELECT r.pathway_id, r.period_no, p.patient_id, pa.nhs_number, pa.local_patient_id,
                   p.provider_org, p.site_code, p.treatment_function, tf.name AS treatment_function_name,
                   tf.rtt_line, p.commissioner_code, p.ppid_issuer, p.ppid, p.referral_priority,
                   r.census, r.clock_start, r.days_waited, r.week_band,
                   r.has_dta, w.entry_id AS waiting_list_entry_id, w.decision_to_admit,
                   coalesce(h.priority, w.clinical_priority) AS clinical_priority,
                   w.procedure_code, w.tci_date, r.next_booked_date, r.next_booked_kind,
                   coalesce(v.rules, '{}') AS validation_issues,
                   CASE WHEN w.entry_id IS NOT NULL THEN coalesce(su.days, 0) END AS suspended_days,
                   coalesce(su.suspended_now, false) AS suspended_now,
                   CASE WHEN w.entry_id IS NOT NULL
                        THEN greatest(0, r.census - w.decision_to_admit - coalesce(su.days, 0)) END AS days_on_list,
                   CASE WHEN w.entry_id IS NOT NULL THEN t.target_days
                        ELSE CASE coalesce(p.triage_priority, p.referral_priority)
                                 WHEN 'two_week_wait' THEN s.two_week_wait_target_days
                                 WHEN 'urgent' THEN s.urgent_referral_target_days
                                 ELSE s.routine_referral_target_days END END AS target_days,
                   s.order_policy = 'longest_wait' AS longest_wait_first,
                   coalesce(p.triage_priority, p.referral_priority) AS list_priority,
                   coalesce(w.consultant_code, p.consultant_code) AS consultant_code, p.triage_priority
            FROM listed r
            JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
            JOIN ptl.patient pa ON pa.patient_id = p.patient_id
            JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
            CROSS JOIN ptl.risk_setting_in_force() s
            LEFT JOIN entry w ON w.pathway_id = r.pathway_id AND w.census = r.census
            LEFT JOIN priority h ON h.entry_id = w.entry_id AND h.census = r.census
            LEFT JOIN suspension su ON su.entry_id = w.entry_id AND su.decision_to_admit = w.decision_to_admit
                                   AND su.census = r.census
            LEFT JOIN ptl.priority_target t ON t.priority = coalesce(h.priority, w.clinical_priority)
            LEFT JOIN issue v ON v.pathway_id = r.pathway_id) b) o;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- Readers plan on these statistics: after a first refresh they say empty.
    PERFORM ptl.analyze_if_grown('ptl.ptl_entry', n);
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.rank_ptl() IS
    'Internal to ptl.refresh: computes every PTL row and its place on its list at the census of the stored clocks, into ptl.ptl_entry (replacing its rows); returns how many';

-- What a reader sees (src/access/access.sql): the view runs with its owner's
-- rights, so each provider's list was numbered whole at the refresh; it
-- shows a user the rows of its organisations (and of pathways transferred
-- to or from them), with the NHS number and hospital number blank unless it
-- may see identifiers, and ptl's own open outbound actions on the pathway
-- (live: they change between refreshes) that the user's organisations may
-- see.  It is a security barrier: a condition a user writes is applied only
-- to the rows the view shows it, never first (a cheap function could
-- otherwise see, or an error quote, another organisation's rows); equality
-- on the provider, treatment function or pathway, which cannot leak, is
-- still pushed down to the table's indexes.
-- The pathway records the current user sees through transfers, as a
-- function: the view's hashed look-up then costs what it does (a few rows,
-- built only when a row of another provider is tested), not an estimate of
-- every pathway of the user's organisations, which took a one-list query
-- past jit_above_cost (48 ms of compiling at a million referrals).
CREATE FUNCTION ptl_internal.my_transferred_pathways() RETURNS SETOF bigint
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT t.pathway_id FROM ptl.transferred_pathway_visible t $$;
COMMENT ON FUNCTION ptl_internal.my_transferred_pathways() IS
    'Pathway records the current user sees because they were transferred to or from one of its organisations (ptl.transferred_pathway_visible), for ptl.ptl';

CREATE VIEW ptl.ptl WITH (security_barrier) AS
SELECT e.pathway_id, e.period_no, e.patient_id,
       CASE WHEN (SELECT ptl.may_identify()) THEN e.nhs_number END AS nhs_number,
       CASE WHEN (SELECT ptl.may_identify()) THEN e.local_patient_id END AS local_patient_id,
       e.provider_org, e.site_code,
       e.treatment_function, e.treatment_function_name, e.rtt_line, e.commissioner_code, e.ppid_issuer, e.ppid,
       e.referral_priority, e.census, e.clock_start, e.days_waited, e.days_waited / 7 AS weeks_waited, e.week_band,
       -- The first day the wait is over N weeks: start + 7N + 1 (RTT guidance 10.1.7).
       e.clock_start + 127 AS breach_18_weeks_on,
       e.clock_start + 365 AS breach_52_weeks_on,
       e.clock_start + 456 AS breach_65_weeks_on,
       e.clock_start + 547 AS breach_78_weeks_on,
       e.clock_start + 729 AS breach_104_weeks_on,
       e.has_dta, e.waiting_list_entry_id, e.decision_to_admit, e.clinical_priority,
       e.procedure_code, e.tci_date, e.next_booked_date, e.next_booked_kind, e.validation_issues,
       e.suspended_days, e.days_on_list, e.target_days, e.target_date,
       round(ptl_internal.pct(e.target_elapsed)::numeric, 2) AS pct_target_elapsed,
       e.target_elapsed, e.order_group, e.list_position,
       oa.provisional_action, e.consultant_code, e.triage_priority
FROM ptl.ptl_entry e
-- the open (proposed or sent) outbound actions, newest first, of the user's
-- organisations (ptl.outbound_action's own row filter)
LEFT JOIN (
    SELECT a.pathway_id,
           string_agg(format('%s %s (%s, action %s)', a.action_kind, a.action_date, a.state, a.action_id),
                      '; ' ORDER BY a.action_id DESC) AS provisional_action
    FROM ptl.outbound_action a
    WHERE a.state IN ('proposed', 'sent')
      AND ((SELECT ptl.sees_all_organisations())
           OR a.provider_org = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY a.pathway_id) oa ON oa.pathway_id = e.pathway_id
WHERE (SELECT ptl.sees_all_organisations())
   OR e.provider_org = ANY ((SELECT ptl.my_organisations())::text[])
   OR e.pathway_id IN (SELECT ptl_internal.my_transferred_pathways());
COMMENT ON VIEW ptl.ptl IS
    'The patient tracking list: every incomplete RTT period a provider reports (clinical responsibility not transferred), at the census of the last ptl.refresh()';
COMMENT ON COLUMN ptl.ptl.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.ptl.period_no IS 'RTT period on it';
COMMENT ON COLUMN ptl.ptl.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.ptl.nhs_number IS 'NHS number (NULL when missing or invalid, or when the user may not see identifiers)';
COMMENT ON COLUMN ptl.ptl.local_patient_id IS 'Hospital number (NULL when the user may not see identifiers)';
COMMENT ON COLUMN ptl.ptl.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.ptl.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.ptl.treatment_function IS 'Treatment function code';
COMMENT ON COLUMN ptl.ptl.treatment_function_name IS 'Treatment function name';
COMMENT ON COLUMN ptl.ptl.rtt_line IS 'Line of the RTT return';
COMMENT ON COLUMN ptl.ptl.commissioner_code IS 'Commissioner';
COMMENT ON COLUMN ptl.ptl.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.ptl.ppid IS 'Patient pathway identifier';
COMMENT ON COLUMN ptl.ptl.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.ptl.census IS 'Census date of the waits';
COMMENT ON COLUMN ptl.ptl.clock_start IS 'Clock start (NULL: unknown)';
COMMENT ON COLUMN ptl.ptl.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.ptl.weeks_waited IS 'Whole weeks waited, floor(days / 7), as PTLs show it; thresholds use days (see week_band)';
COMMENT ON COLUMN ptl.ptl.week_band IS 'Published weekly band 0..104';
COMMENT ON COLUMN ptl.ptl.breach_18_weeks_on IS 'First day over 18 weeks (start + 127)';
COMMENT ON COLUMN ptl.ptl.breach_52_weeks_on IS 'First day over 52 weeks (start + 365)';
COMMENT ON COLUMN ptl.ptl.breach_65_weeks_on IS 'First day over 65 weeks (start + 456)';
COMMENT ON COLUMN ptl.ptl.breach_78_weeks_on IS 'First day over 78 weeks (start + 547)';
COMMENT ON COLUMN ptl.ptl.breach_104_weeks_on IS 'First day over 104 weeks (start + 729)';
COMMENT ON COLUMN ptl.ptl.has_dta IS 'A decision to admit was recorded in the period (Part 2A)';
COMMENT ON COLUMN ptl.ptl.waiting_list_entry_id IS 'Open waiting-list entry (NULL: not on the admitted list)';
COMMENT ON COLUMN ptl.ptl.decision_to_admit IS 'Decision-to-admit date of the open waiting-list entry';
COMMENT ON COLUMN ptl.ptl.clinical_priority IS 'Clinical priority of the open waiting-list entry in force at the census (reviews included: ptl.clinical_priority_history)';
COMMENT ON COLUMN ptl.ptl.procedure_code IS 'Intended procedure (OPCS-4)';
COMMENT ON COLUMN ptl.ptl.tci_date IS 'TCI date on the waiting-list entry';
COMMENT ON COLUMN ptl.ptl.next_booked_date IS 'Next booked date (an event after the census, or an admission date offered and not declined)';
COMMENT ON COLUMN ptl.ptl.next_booked_kind IS 'Kind of the next booked event';
COMMENT ON COLUMN ptl.ptl.validation_issues IS 'Validation rules the pathway breaks (see ptl.validation_issues)';
COMMENT ON COLUMN ptl.ptl.suspended_days IS 'Days the patient was suspended since listing (ptl.waiting_list_suspension)';
COMMENT ON COLUMN ptl.ptl.days_on_list IS 'Days on the admitted list at the census, suspended days excluded: the wait measured against the clinical priority target';
COMMENT ON COLUMN ptl.ptl.target_days IS
    'Target days: of the clinical priority on the admitted list (ptl.priority_target), of the referral (or triage) priority on the non-admitted list (ptl.risk_setting)';
COMMENT ON COLUMN ptl.ptl.target_date IS
    'Date the target is reached (breached from that day): listed + suspended days + target days on the admitted list, clock start + target days on the non-admitted list';
COMMENT ON COLUMN ptl.ptl.pct_target_elapsed IS 'Days on list (admitted) or waited (non-admitted) as a percentage of the target days, for display';
COMMENT ON COLUMN ptl.ptl.target_elapsed IS 'Days on list (admitted) or waited (non-admitted) over target days, exactly ordered (the order''s first key within a group)';
COMMENT ON COLUMN ptl.ptl.order_group IS
    'urgent (P1a, P1b), by_target (P2-P4), unprioritised (admitted, no priority), set_aside (P5, P6 or suspended at the census: no position), non_admitted';
COMMENT ON COLUMN ptl.ptl.list_position IS
    'Place in the provider''s treatment function list (admitted and non-admitted lists numbered separately), 1 first; see ptl.risk_setting.order_policy';
COMMENT ON COLUMN ptl.ptl.consultant_code IS
    'Consultant: who will operate (admitted list, when the waiting-list entry names one), else the pathway''s responsible consultant';
COMMENT ON COLUMN ptl.ptl.triage_priority IS
    'Priority a clinician gave the referral on triage, when recorded: on the non-admitted list it takes the place of referral_priority';
COMMENT ON COLUMN ptl.ptl.provisional_action IS
    'ptl''s own changes to the pathway the PAS has not yet recorded (open outbound actions, e.g. "book_tci 2025-04-10 (sent, action 7)"): provisional until the extract confirms them (docs/outbound.md); NULL when none';

-- Headline measures per provider and treatment function, with provider and
-- ICS totals (treatment_function NULL; provider_org NULL for the ICS).  Each
-- measure is defined once for every view (docs/measures.md): the list counts
-- every incomplete pathway, an unknown clock start included; the waits, the
-- percentage within 18 weeks among them, are over known clock starts; the
-- median is interpolated and the 92nd percentile the nearest rank, over
-- days, in weeks.  NHS England estimates its published percentiles from the
-- bands (docs/measures.md).  Three
-- groupings joined, not GROUPING SETS: a condition on the provider then
-- reaches the stored PTL's index (below grouping sets it cannot), and the
-- ICS total drops out of a query for one provider.  A reader who sees no
-- row gets an ICS total of 0 and no percentage.
CREATE VIEW ptl.ptl_headline AS
SELECT l.provider_org, l.treatment_function,
       count(*) AS list_size,
       round(100.0 * count(*) FILTER (WHERE NOT ptl.rtt_over_weeks(l.days_waited, 18)) / nullif(count(l.days_waited), 0), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7.0)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM ptl.ptl l
GROUP BY l.provider_org, l.treatment_function
UNION ALL
SELECT l.provider_org, NULL::text,
       count(*) AS list_size,
       round(100.0 * count(*) FILTER (WHERE NOT ptl.rtt_over_weeks(l.days_waited, 18)) / nullif(count(l.days_waited), 0), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7.0)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM ptl.ptl l
GROUP BY l.provider_org
UNION ALL
SELECT NULL::text, NULL::text,
       count(*) AS list_size,
       round(100.0 * count(*) FILTER (WHERE NOT ptl.rtt_over_weeks(l.days_waited, 18)) / nullif(count(l.days_waited), 0), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7.0)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM ptl.ptl l;
COMMENT ON VIEW ptl.ptl_headline IS
    'Headline measures of the PTL per provider and treatment function, with provider totals (treatment_function NULL) and the ICS total (both NULL)';
COMMENT ON COLUMN ptl.ptl_headline.provider_org IS 'Provider (NULL: the whole ICS)';
COMMENT ON COLUMN ptl.ptl_headline.treatment_function IS 'Treatment function (NULL: all)';
COMMENT ON COLUMN ptl.ptl_headline.list_size IS 'Incomplete pathways on the PTL (duplicates left out), an unknown clock start included';
COMMENT ON COLUMN ptl.ptl_headline.pct_within_18_weeks IS 'Percentage waiting 126 days or less (the 92% standard), of the pathways with a known clock start';
COMMENT ON COLUMN ptl.ptl_headline.median_weeks IS 'Median wait in weeks (exact, from days)';
COMMENT ON COLUMN ptl.ptl_headline.p92_weeks IS '92nd percentile wait in weeks, nearest rank (the wait at rank ceil(0.92 n)), from days';
COMMENT ON COLUMN ptl.ptl_headline.over_18_weeks IS 'Waiting over 18 weeks (127+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_52_weeks IS 'Over 52 weeks (365+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_65_weeks IS 'Over 65 weeks (456+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_78_weeks IS 'Over 78 weeks (547+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_104_weeks IS 'Over 104 weeks (729+ days)';
COMMENT ON COLUMN ptl.ptl_headline.unknown_clock_start IS 'Pathways with an unknown clock start (not in the percentages)';

-- Every pathway record's periods as at any census, set-wise, with whether its
-- provider reported it then.  The statutory outputs use this, so a return for
-- a past month end does not depend on when the last refresh ran.  Given
-- providers, only their records are computed (one trust's return does not
-- compute the ICS's); NULL computes every provider's.
CREATE FUNCTION ptl.rtt_periods_at(census date, provider_orgs text[])
RETURNS TABLE (pathway_id bigint, responsible boolean, period_no int, clock_start date,
               clock_stop date, stop_status ptl.rtt_status, outcome text, days_waited int,
               week_band int, has_dta boolean, stop_treatment_function text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
SET enable_hashagg = off   -- pathways in index order, not hashed (see ptl.rtt_compute)
BEGIN ATOMIC
    WITH s AS (SELECT * FROM ptl.rtt_setting_in_force()),
    per_period AS (
        SELECT e.pathway_id,
               unnest(ptl.rtt_periods_agg(e.event_date, e.event_time, e.kind, e.rtt_status, e.ref_date,
                                          e.site_code, e.treatment_function, e.event_id, census,
                                          p.referral_priority = 'two_week_wait'
                                              AND NOT s.two_week_wait_first_dna_nullifies,
                                          s.dna_discharge_stop, s.death_stop)) AS r,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND (e.kind = 'transfer_out' OR e.rtt_status = '21')) AS out_on,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND e.kind IN ('transfer_in', 'referral')) AS back_on
        FROM ptl.rtt_clock_event e
        JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
        -- a service that is not consultant-led is outside RTT: no clock (V23)
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function AND tf.consultant_led
        CROSS JOIN s
        WHERE census IS NOT NULL
          AND (provider_orgs IS NULL OR p.provider_org = ANY (provider_orgs))
        GROUP BY e.pathway_id)
    SELECT g.pathway_id,
           (g.out_on IS NULL OR g.back_on > g.out_on)
           -- a duplicate record (ptl.pathway_duplicate, last refresh) reports nothing
           AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = g.pathway_id),
           (g.r).period_no, (g.r).clock_start, (g.r).clock_stop, (g.r).stop_status, (g.r).outcome,
           (g.r).days_waited, (g.r).week_band, (g.r).has_dta,
           -- completed periods count against the function of the activity
           -- that stopped the clock (RTT guidance 10.1.4)
           CASE WHEN (g.r).clock_stop IS NOT NULL THEN
               (SELECT e.treatment_function FROM ptl.pathway_event e
                WHERE e.pathway_id = g.pathway_id AND e.event_date = (g.r).clock_stop
                  AND e.treatment_function IS NOT NULL
                -- on the event's content, never its arrival (docs/rtt-engine.md)
                ORDER BY (e.rtt_status = (g.r).stop_status) DESC NULLS LAST, e.event_time DESC NULLS LAST,
                         e.kind DESC, e.treatment_function
                LIMIT 1) END
    FROM per_period g;
END;
COMMENT ON FUNCTION ptl.rtt_periods_at(date, text[]) IS
    'The RTT periods as at a census of the pathway records of the providers listed (NULL: every provider), as ptl.rtt_periods_at(date)';

CREATE FUNCTION ptl.rtt_periods_at(census date)
RETURNS TABLE (pathway_id bigint, responsible boolean, period_no int, clock_start date,
               clock_stop date, stop_status ptl.rtt_status, outcome text, days_waited int,
               week_band int, has_dta boolean, stop_treatment_function text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT * FROM ptl.rtt_periods_at(census, NULL::text[]) $$;
COMMENT ON FUNCTION ptl.rtt_periods_at(date) IS
    'Every pathway record''s RTT periods as at a census (bulk engine), with whether its provider held clinical responsibility then (false for duplicate records the last refresh found) and the treatment function of the activity that stopped each completed period';

-- The weekly Waiting List Minimum Data Set rows (RTT guidance 10.1): every
-- open pathway on a week-ending Sunday.  Field names follow the WLMDS names
-- seen in NHS England's and OpenSAFELY's public material (docs/rtt-engine.md Q11: the NHSE
-- specification itself was not available).
CREATE FUNCTION ptl.wlmds(week_ending date)
RETURNS TABLE ("Week_Ending_Date" date, "ReportingOrganisation" text, "ORGANISATION_CODE" text,
               "PATIENT_PATHWAY_IDENTIFIER" text, "UBRN" text, "LOCAL_PATIENT_IDENTIFIER" text,
               "NHS_NUMBER" text, "REFERRAL_TO_TREATMENT_PERIOD_START_DATE" date,
               "ACTIVITY_TREATMENT_FUNCTION_CODE" text, "Waiting_List_Type" text,
               "PRIORITY_TYPE" text, "CLINICAL_PRIORITY" text, "DECISION_TO_ADMIT_DATE" date,
               "TCI_DATE" date, "DATE_LAST_ATTENDED" date, "COMMISSIONER_CODE" text,
               "DAYS_WAITED" int, "WEEKS_WAITED_BAND" int)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    IF extract(isodow FROM week_ending) <> 7 THEN
        RAISE EXCEPTION 'WLMDS census % is a %, not a Sunday', week_ending, to_char(week_ending, 'FMDay')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('The week ending on or after it is %s.', week_ending + (7 - extract(isodow FROM week_ending)::int));
    END IF;
    RETURN QUERY
    SELECT week_ending, p.provider_org, p.ppid_issuer, p.ppid, p.ubrn, pa.local_patient_id,
           pa.nhs_number::text, r.clock_start, p.treatment_function,
           -- IRTT: waiting for admission (a decision to admit); ORTT: not yet
           CASE WHEN r.has_dta OR w.entry_id IS NOT NULL THEN 'IRTT' ELSE 'ORTT' END,
           CASE p.referral_priority WHEN 'routine' THEN '1' WHEN 'urgent' THEN '2' ELSE '3' END,
           w.clinical_priority::text, w.decision_to_admit, w.tci_date,
           (SELECT max(e.event_date) FROM ptl.pathway_event e
            WHERE e.pathway_id = p.pathway_id AND e.kind IN ('outpatient', 'admission')
              AND e.event_date <= week_ending),
           p.commissioner_code, r.days_waited, r.week_band
    FROM ptl.rtt_periods_at(week_ending) r
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    JOIN ptl.patient pa ON pa.patient_id = p.patient_id
    LEFT JOIN LATERAL (
        SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.tci_date
        FROM ptl.waiting_list_entry e
        WHERE e.pathway_id = p.pathway_id AND e.decision_to_admit <= week_ending
          AND (e.removed_date IS NULL OR e.removed_date > week_ending)
        ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1) w ON true
    WHERE r.outcome = 'incomplete' AND r.responsible
    ORDER BY p.provider_org, p.ppid_issuer, p.ppid, r.period_no;
END
$$;
COMMENT ON FUNCTION ptl.wlmds(date) IS
    'The weekly Waiting List Minimum Data Set extract for a week-ending Sunday: one row per open RTT pathway a provider reports';
