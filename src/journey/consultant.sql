-- ---------------------------------------------------------------------------
-- A consultant's own lists: the admitted and non-admitted lists of ptl.ptl
-- (in their order) for one consultant, with the next actions due on each
-- patient (a follow-up past its LCAD among them).  It reads the PTL, the clinical
-- priority reviews, pre-operative assessments and follow-up requests, so it
-- comes after the rtt, risk, theatre and outpatient rooms.
-- ---------------------------------------------------------------------------

-- Next actions due (docs/risk.md, "A consultant's lists"), at the census of
-- the last refresh:
--   priority review due  the entry's priority is missing or not reviewed for
--                        risk_setting.priority_review_days (ptl.priority_review_due)
--   target date reached  the admitted entry is at or past its clinical
--                        priority's target date, or the referral its priority's
--   TCI without pre-op   a TCI date is set and the latest pre-operative
--                        assessment is missing or not fit
--   pre-op expires       the latest fit assessment lapses before the TCI, or
--                        (no TCI) has lapsed or lapses within 28 days
--   LCAD passed          an open follow-up request on the pathway is past its LCAD
-- A pre-operative assessment holds until valid_until, else for
-- theatre_setting.preop_valid_days after it was made (as the theatre
-- allocator reads it).
CREATE VIEW ptl.consultant_list AS
SELECT l.consultant_code, l.provider_org, l.site_code, l.treatment_function, l.treatment_function_name,
       CASE WHEN l.waiting_list_entry_id IS NOT NULL THEN 'admitted' ELSE 'non_admitted' END AS list,
       l.list_position, l.order_group, l.pathway_id, l.period_no, l.patient_id, l.nhs_number, l.local_patient_id,
       l.referral_priority, l.triage_priority, l.clinical_priority, l.clock_start, l.weeks_waited, l.target_date,
       l.decision_to_admit, l.tci_date, l.next_booked_date, l.census,
       array_remove(ARRAY[
           CASE WHEN rd.waiting_list_entry_id IS NOT NULL THEN 'priority review due: ' || rd.reason END,
           CASE WHEN l.census >= l.target_date THEN format('target date %s reached', l.target_date) END,
           CASE WHEN l.tci_date IS NOT NULL AND coalesce(po.outcome NOT IN ('fit', 'fit_with_conditions'), true)
                THEN format('TCI %s without a fit pre-op assessment', l.tci_date) END,
           CASE WHEN po.outcome IN ('fit', 'fit_with_conditions') AND l.tci_date IS NOT NULL AND po.holds_until < l.tci_date
                THEN format('pre-op expires %s, before the TCI %s', po.holds_until, l.tci_date)
                WHEN po.outcome IN ('fit', 'fit_with_conditions') AND l.tci_date IS NULL AND po.holds_until < l.census
                THEN format('pre-op expired %s', po.holds_until)
                WHEN po.outcome IN ('fit', 'fit_with_conditions') AND l.tci_date IS NULL
                     AND po.holds_until < l.census + 28
                THEN format('pre-op expires %s', po.holds_until) END,
           CASE WHEN fu.lcad IS NOT NULL THEN format('follow-up LCAD %s passed', fu.lcad) END],
           NULL) AS next_actions
FROM ptl.ptl l
LEFT JOIN ptl.priority_review_due rd ON rd.waiting_list_entry_id = l.waiting_list_entry_id
                                    AND rd.pathway_id = l.pathway_id
-- each entry's latest pre-operative assessment by the census, and each
-- pathway's earliest LCAD passed of its open follow-ups: read once for the
-- stored PTL's census (one for every row), not once a row, so that row
-- security on them runs once for a trust's reader
LEFT JOIN (
    SELECT DISTINCT ON (pa.entry_id) pa.entry_id, pa.outcome,
           coalesce(pa.valid_until, pa.assessed_on + (ptl.theatre_setting_in_force()).preop_valid_days) AS holds_until
    FROM ptl.preop_assessment pa
    WHERE pa.assessed_on <= (SELECT e.census FROM ptl.ptl_entry e LIMIT 1)
    ORDER BY pa.entry_id, pa.assessed_on DESC, pa.preop_id DESC) po ON po.entry_id = l.waiting_list_entry_id
LEFT JOIN (
    SELECT f.pathway_id, min(f.lcad) AS lcad
    FROM ptl.follow_up_request f
    CROSS JOIN (SELECT e.census FROM ptl.ptl_entry e LIMIT 1) c
    WHERE f.requested_on <= c.census AND (f.closed_on IS NULL OR f.closed_on > c.census) AND f.lcad < c.census
    GROUP BY f.pathway_id) fu ON fu.pathway_id = l.pathway_id;
COMMENT ON VIEW ptl.consultant_list IS
    'Each consultant''s admitted and non-admitted lists in their order (ptl.ptl), with the next actions due on each patient: priority review, target date reached, TCI without a fit pre-op assessment, pre-op expiring, follow-up LCAD passed. Select one consultant: WHERE consultant_code = ...';
COMMENT ON COLUMN ptl.consultant_list.consultant_code IS 'Consultant (ptl.ptl.consultant_code)';
COMMENT ON COLUMN ptl.consultant_list.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.consultant_list.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.consultant_list.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.consultant_list.treatment_function_name IS 'Its name';
COMMENT ON COLUMN ptl.consultant_list.list IS 'admitted or non_admitted';
COMMENT ON COLUMN ptl.consultant_list.list_position IS 'Place on the provider''s treatment function list (NULL: set aside, P5/P6 or suspended)';
COMMENT ON COLUMN ptl.consultant_list.order_group IS 'Group in the order (ptl.ptl.order_group)';
COMMENT ON COLUMN ptl.consultant_list.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.consultant_list.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.consultant_list.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.consultant_list.nhs_number IS 'NHS number (NULL unless the user may see identifiers)';
COMMENT ON COLUMN ptl.consultant_list.local_patient_id IS 'Hospital number (NULL unless the user may see identifiers)';
COMMENT ON COLUMN ptl.consultant_list.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.consultant_list.triage_priority IS 'Triage priority, when recorded';
COMMENT ON COLUMN ptl.consultant_list.clinical_priority IS 'Clinical priority (admitted list)';
COMMENT ON COLUMN ptl.consultant_list.clock_start IS 'RTT clock start';
COMMENT ON COLUMN ptl.consultant_list.weeks_waited IS 'Completed weeks waited at the census';
COMMENT ON COLUMN ptl.consultant_list.target_date IS 'Date the target is reached (ptl.ptl.target_date)';
COMMENT ON COLUMN ptl.consultant_list.decision_to_admit IS 'Decision to admit (admitted list)';
COMMENT ON COLUMN ptl.consultant_list.tci_date IS 'TCI date';
COMMENT ON COLUMN ptl.consultant_list.next_booked_date IS 'Next booked date';
COMMENT ON COLUMN ptl.consultant_list.census IS 'Census of the last refresh';
COMMENT ON COLUMN ptl.consultant_list.next_actions IS
    'Actions due, each a sentence: priority review due, target date reached, TCI without a fit pre-op assessment, pre-op expiring, follow-up LCAD passed (empty: none)';
