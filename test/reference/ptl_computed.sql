-- The PTL as ptl 0.4.0 computed it before it was stored at the refresh
-- (bench/bi.sh's baseline, and the definition test/pgtap/ptl_stored.sql
-- checks the stored PTL against): the view ptl.ptl and ptl.ptl_headline as
-- they were, every row's place numbered over the whole ICS as it is read
-- (with the non-admitted list's order by referral priority, the consultant
-- and the triage priority that 0.4.0 added later).
-- Made by the caller in schema bench; like the extension's view, it runs
-- with its owner's rights (a superuser's here) and filters by the reader.
CREATE SCHEMA IF NOT EXISTS bench;
-- (ptl's operators, e.g. on ptl.clinical_priority, are found on the path)
SET search_path = public, ptl;

-- ptl.provisional_action_text as it was (the view called it once a row).
CREATE FUNCTION bench.provisional_action_text(pathway bigint) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT string_agg(format('%s %s (%s, action %s)', a.action_kind, a.action_date, a.state, a.action_id),
                          '; ' ORDER BY a.action_id DESC)
        FROM ptl.outbound_action a
        WHERE a.pathway_id = provisional_action_text.pathway AND a.state IN ('proposed', 'sent'));

CREATE VIEW bench.ptl_computed WITH (security_barrier) AS
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
       CASE WHEN o.waiting_list_entry_id IS NULL THEN o.clock_start + o.target_days
            ELSE o.decision_to_admit + o.suspended_days + o.target_days END AS target_date,
       round(ptl_internal.pct(o.target_elapsed)::numeric, 2) AS pct_target_elapsed,
       o.target_elapsed, o.order_group,
       CASE WHEN o.order_group <> 'set_aside' THEN
           row_number() OVER (PARTITION BY o.provider_org, o.treatment_function, o.waiting_list_entry_id IS NOT NULL
                              ORDER BY o.group_rank,
                                       CASE WHEN o.longest_wait_first OR o.order_group = 'unprioritised'
                                            THEN o.clock_start END NULLS LAST,
                                       o.target_elapsed DESC NULLS LAST, o.decision_to_admit,
                                       o.clock_start NULLS LAST, o.patient_id, o.pathway_id, o.period_no) END
           AS list_position,
       bench.provisional_action_text(o.pathway_id) AS provisional_action, o.consultant_code, o.triage_priority
FROM (
    SELECT b.*,
           ptl.target_elapsed(CASE WHEN b.waiting_list_entry_id IS NULL THEN greatest(b.days_waited, 0)
                                   ELSE b.days_on_list END,
                              b.target_days) AS target_elapsed,
           CASE WHEN b.waiting_list_entry_id IS NULL AND b.longest_wait_first THEN 3
                WHEN b.waiting_list_entry_id IS NULL
                THEN array_position('{two_week_wait,urgent,routine}'::ptl.referral_priority[],
                                    coalesce(b.triage_priority, b.referral_priority))
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
               -- The first day the wait is over N weeks: start + 7N + 1 (RTT guidance 10.1.7).
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
               CASE WHEN w.entry_id IS NOT NULL THEN t.target_days
                    WHEN coalesce(p.triage_priority, p.referral_priority) = 'two_week_wait' THEN s.two_week_wait_target_days
                    WHEN coalesce(p.triage_priority, p.referral_priority) = 'urgent' THEN s.urgent_referral_target_days
                    ELSE s.routine_referral_target_days END AS target_days,
               s.order_policy = 'longest_wait' AS longest_wait_first,
               coalesce(w.consultant_code, p.consultant_code) AS consultant_code, p.triage_priority
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        CROSS JOIN ptl.risk_setting_in_force() s
        LEFT JOIN LATERAL (
            SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.procedure_code, e.tci_date, e.consultant_code
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

CREATE VIEW bench.ptl_headline_computed AS
SELECT l.provider_org, l.treatment_function,
       count(*) AS list_size,
       -- the measures as docs/measures.md defines them
       round(100.0 * count(*) FILTER (WHERE l.days_waited <= 126) / nullif(count(l.days_waited), 0), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7.0)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM bench.ptl_computed l
GROUP BY GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ());

GRANT USAGE ON SCHEMA bench TO ptl_reader;
GRANT SELECT ON bench.ptl_computed, bench.ptl_headline_computed TO ptl_reader;
ALTER VIEW bench.ptl_headline_computed SET (security_invoker = true);
RESET search_path;
