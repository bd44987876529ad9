-- ---------------------------------------------------------------------------
-- The PTL: one row per incomplete RTT period its provider reports, at the
-- census of the last refresh, with what a waiting-list manager needs beside
-- it; headline measures; the clock as at any census.
-- ---------------------------------------------------------------------------

-- The order (clinical-theatre.md 1.7; docs/risk.md): within each provider's
-- treatment function, the admitted list and the non-admitted list are each
-- numbered from 1.  On the admitted list P1a/P1b come first, then P2-P4
-- together by share of target waited (ptl.target_elapsed, exact), date
-- listed, RTT clock start; entries without a priority follow by clock start;
-- P5/P6 and suspended patients are set aside (no position).  The
-- non-admitted list, which has no surgical priority, runs by clock start.
-- risk_setting.order_policy = longest_wait puts clock start before the
-- share of target.  A priority's wait excludes suspended days.  A period
-- whose clock start is unknown (a transfer in without the original start)
-- stays on the list, its wait NULL, after every known start of its group
-- (NULLS LAST), and validation rule V06 flags it (docs/rtt-engine.md).
--
-- Access (ops/access.sql): the view runs with its owner's rights, so each
-- provider's list is numbered whole, then shows a user the rows of its
-- organisations (and of pathways transferred to or from them), with the NHS
-- number and hospital number blank unless it may see identifiers.  It is a
-- security barrier: a condition a user writes is applied only to the rows
-- the view shows it, never first (a cheap function could otherwise see, or
-- an error quote, another organisation's rows).
CREATE VIEW ptl.ptl WITH (security_barrier) AS
SELECT l.* FROM (
SELECT o.pathway_id, o.period_no, o.patient_id,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.nhs_number END AS nhs_number,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.local_patient_id END AS local_patient_id,
       o.provider_org, o.site_code,
       o.treatment_function, o.treatment_function_name, o.rtt_line, o.commissioner_code, o.ppid_issuer, o.ppid,
       o.referral_priority, o.census, o.clock_start, o.days_waited, o.weeks_waited, o.week_band,
       o.breach_18_weeks_on, o.breach_52_weeks_on, o.breach_65_weeks_on, o.breach_78_weeks_on,
       o.breach_104_weeks_on, o.has_dta, o.waiting_list_entry_id, o.decision_to_admit, o.clinical_priority,
       o.procedure_code, o.tci_date, o.next_booked_date, o.next_booked_kind, o.validation_issues,
       o.suspended_days, o.days_on_list, o.target_days,
       o.decision_to_admit + o.suspended_days + o.target_days AS target_date,
       round(ptl.pct(o.target_elapsed)::numeric, 2) AS pct_target_elapsed,
       o.target_elapsed, o.order_group,
       CASE WHEN o.order_group <> 'set_aside' THEN
           row_number() OVER (PARTITION BY o.provider_org, o.treatment_function, o.waiting_list_entry_id IS NOT NULL
                              ORDER BY o.group_rank,
                                       CASE WHEN o.longest_wait_first OR o.group_rank >= 3 THEN o.clock_start END
                                           NULLS LAST,
                                       o.target_elapsed DESC NULLS LAST, o.decision_to_admit,
                                       o.clock_start NULLS LAST, o.patient_id, o.pathway_id, o.period_no) END
           AS list_position,
       ptl.provisional_action_text(o.pathway_id) AS provisional_action
FROM (
    SELECT b.*,
           CASE WHEN b.target_days IS NOT NULL
                THEN ptl.target_elapsed(b.days_on_list, b.target_days) END AS target_elapsed,
           CASE WHEN b.waiting_list_entry_id IS NULL THEN 3
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
               r.census, r.clock_start, r.days_waited, r.days_waited / 7 AS weeks_waited, r.week_band,
               -- The first day the wait is over N weeks: start + 7N + 1 (rtt-rules.md 5.2).
               r.clock_start + 127 AS breach_18_weeks_on,
               r.clock_start + 365 AS breach_52_weeks_on,
               r.clock_start + 456 AS breach_65_weeks_on,
               r.clock_start + 547 AS breach_78_weeks_on,
               r.clock_start + 729 AS breach_104_weeks_on,
               r.has_dta, w.entry_id AS waiting_list_entry_id, w.decision_to_admit,
               coalesce(h.priority, w.clinical_priority) AS clinical_priority,
               w.procedure_code, w.tci_date, rp.next_booked_date, rp.next_booked_kind,
               coalesce(v.rules, '{}') AS validation_issues,
               su.days AS suspended_days, coalesce(su.suspended_now, false) AS suspended_now,
               CASE WHEN w.entry_id IS NOT NULL
                    THEN greatest(0, r.census - w.decision_to_admit - su.days) END AS days_on_list,
               t.target_days, s.order_policy = 'longest_wait' AS longest_wait_first
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        CROSS JOIN ptl.risk_setting_in_force() s
        LEFT JOIN LATERAL (
            SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.procedure_code, e.tci_date
            FROM ptl.waiting_list_entry e
            -- listed by the census (a refresh at an earlier census must not
            -- see an entry decided later)
            WHERE e.pathway_id = r.pathway_id AND e.removed_date IS NULL AND e.decision_to_admit <= r.census
            ORDER BY e.decision_to_admit DESC, e.entry_id DESC
            LIMIT 1) w ON true
        -- the priority in force at the census (ptl.clinical_priority_history)
        LEFT JOIN LATERAL (
            SELECT ph.priority FROM ptl.clinical_priority_history ph
            WHERE ph.entry_id = w.entry_id AND ph.valid_from <= r.census
            ORDER BY ph.valid_from DESC, ph.history_id DESC
            LIMIT 1) h ON true
        -- suspended days since listing (overlaps once), and suspended at the census
        LEFT JOIN LATERAL (
            SELECT coalesce((SELECT sum(upper(x) - lower(x))
                             FROM unnest(range_agg(daterange(ws.suspended_from, ws.suspended_until, '[]'))
                                         * datemultirange(daterange(w.decision_to_admit, r.census))) x),
                            0)::int AS days,
                   bool_or(ws.suspended_from <= r.census
                           AND coalesce(ws.suspended_until, 'infinity') >= r.census) AS suspended_now
            FROM ptl.waiting_list_suspension ws
            WHERE ws.entry_id = w.entry_id) su ON w.entry_id IS NOT NULL
        LEFT JOIN ptl.priority_target t ON t.priority = coalesce(h.priority, w.clinical_priority)
        LEFT JOIN LATERAL (
            SELECT array_agg(DISTINCT i.rule_id ORDER BY i.rule_id) AS rules
            FROM ptl.validation_issue i WHERE i.pathway_id = r.pathway_id) v ON true
        WHERE r.outcome = 'incomplete'
          -- a record duplicating another of the same person is counted once (link/pathway.sql)
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)) b) o) l
WHERE (SELECT ptl.sees_all_organisations())
   OR l.provider_org = ANY ((SELECT ptl.my_organisations())::text[])
   OR l.pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t);
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
COMMENT ON COLUMN ptl.ptl.target_days IS 'Target days of the clinical priority (ptl.priority_target)';
COMMENT ON COLUMN ptl.ptl.target_date IS 'Date the clinical priority target is reached: listed + suspended days + target days (breached from that day)';
COMMENT ON COLUMN ptl.ptl.pct_target_elapsed IS 'Days on list as a percentage of the target days, for display';
COMMENT ON COLUMN ptl.ptl.target_elapsed IS 'Days on list over target days, exactly ordered (the order''s first key)';
COMMENT ON COLUMN ptl.ptl.order_group IS
    'urgent (P1a, P1b), by_target (P2-P4), unprioritised (admitted, no priority), set_aside (P5, P6 or suspended at the census: no position), non_admitted';
COMMENT ON COLUMN ptl.ptl.list_position IS
    'Place in the provider''s treatment function list (admitted and non-admitted lists numbered separately), 1 first; see ptl.risk_setting.order_policy';
COMMENT ON COLUMN ptl.ptl.provisional_action IS
    'ptl''s own changes to the pathway the PAS has not yet recorded (open outbound actions, e.g. "book_tci 2025-04-10 (sent, action 7)"): provisional until the extract confirms them (docs/outbound.md); NULL when none';

-- Headline measures per provider and treatment function, with provider and
-- ICS totals (treatment_function NULL; provider_org NULL for the ICS).  The
-- median and 92nd percentile are exact over days, in weeks; NHS England
-- estimates its published ones from the bands (rtt-rules.md Q8).
CREATE VIEW ptl.ptl_headline AS
SELECT l.provider_org, l.treatment_function,
       count(*) AS list_size,
       round(100.0 * count(*) FILTER (WHERE l.days_waited <= 126) / count(*), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_cont(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM ptl.ptl l
GROUP BY GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ());
COMMENT ON VIEW ptl.ptl_headline IS
    'Headline measures of the PTL per provider and treatment function, with provider totals (treatment_function NULL) and the ICS total (both NULL)';
COMMENT ON COLUMN ptl.ptl_headline.provider_org IS 'Provider (NULL: the whole ICS)';
COMMENT ON COLUMN ptl.ptl_headline.treatment_function IS 'Treatment function (NULL: all)';
COMMENT ON COLUMN ptl.ptl_headline.list_size IS 'Incomplete pathways';
COMMENT ON COLUMN ptl.ptl_headline.pct_within_18_weeks IS 'Percentage waiting 126 days or less (the 92% standard)';
COMMENT ON COLUMN ptl.ptl_headline.median_weeks IS 'Median wait in weeks (exact, from days)';
COMMENT ON COLUMN ptl.ptl_headline.p92_weeks IS '92nd percentile wait in weeks (exact, from days)';
COMMENT ON COLUMN ptl.ptl_headline.over_18_weeks IS 'Waiting over 18 weeks (127+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_52_weeks IS 'Over 52 weeks (365+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_65_weeks IS 'Over 65 weeks (456+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_78_weeks IS 'Over 78 weeks (547+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_104_weeks IS 'Over 104 weeks (729+ days)';
COMMENT ON COLUMN ptl.ptl_headline.unknown_clock_start IS 'Pathways with an unknown clock start (not in the percentages)';

-- Every pathway record's periods as at any census, set-wise, with whether its
-- provider reported it then.  The statutory outputs use this, so a return for
-- a past month end does not depend on when the last refresh ran.
CREATE FUNCTION ptl.rtt_periods_at(census date)
RETURNS TABLE (pathway_id bigint, responsible boolean, period_no int, clock_start date,
               clock_stop date, stop_status ptl.rtt_status, outcome text, days_waited int,
               week_band int, has_dta boolean, stop_treatment_function text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
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
COMMENT ON FUNCTION ptl.rtt_periods_at(date) IS
    'Every pathway record''s RTT periods as at a census (bulk engine), with whether its provider held clinical responsibility then (false for duplicate records the last refresh found) and the treatment function of the activity that stopped each completed period';

-- The weekly Waiting List Minimum Data Set rows (rtt-rules.md 5.5): every
-- open pathway on a week-ending Sunday.  Field names follow the WLMDS names
-- seen in NHS England's and OpenSAFELY's public material (Q11: the NHSE
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
