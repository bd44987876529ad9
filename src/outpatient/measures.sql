-- ---------------------------------------------------------------------------
-- outpatient measures: per specialty, clinic and week; and the independent
-- sector's activity beside the NHS providers', with displacement.
-- docs/outpatients.md.
-- ---------------------------------------------------------------------------

-- Per week (Monday), provider, specialty and clinic ('clinic' rows), and per
-- provider and specialty ('specialty' rows, which add advice and guidance).
-- The provider is the one running the clinic; weeks run up to the last
-- refresh's census (what has happened).  Rates are per cent:
--   DNA rate: DNAs / (attendances + DNAs), first and follow-up apart;
--   cancellation rates: cancellations by the hospital (or the patient) /
--     all appointments that were due that week;
--   follow-ups per first: follow-up attendances / first attendances (the
--     new-to-follow-up ratio);
--   PIFU uptake: attendances moved to PIFU / attendances;
--   slot utilisation: slots used (attended or not attended) / slots offered
--     in sessions not cancelled;
--   advice diverted: advice answered with no referral needed / answered.
CREATE VIEW ptl.outpatient_measures AS
WITH appt AS (
    SELECT si.org_code AS provider_org, c.treatment_function, a.clinic_code,
           date_trunc('week', a.appointment_date)::date AS week_starting,
           count(*) AS appointments_due,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended') AS first_attended,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended') AS follow_up_attended,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'dna') AS first_dna,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'dna') AS follow_up_dna,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_hospital') AS hospital_cancelled,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_patient') AS patient_cancelled,
           count(*) FILTER (WHERE a.outcome = 'pifu') AS moved_to_pifu,
           count(*) FILTER (WHERE a.outcome = 'discharged') AS discharged
    FROM ptl.outpatient_appointment a
    JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE a.attendance <> 'booked' AND a.appointment_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
    GROUP BY 1, 2, 3, 4
),
sess AS (
    SELECT si.org_code AS provider_org, c.treatment_function, s.clinic_code,
           date_trunc('week', s.session_date)::date AS week_starting,
           sum(s.slots) FILTER (WHERE NOT s.cancelled) AS slots
    FROM ptl.clinic_session s
    JOIN ptl.clinic c ON c.clinic_code = s.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE s.session_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
      -- sessions and advice hold no patient data, so no row security: show
      -- a user only its own organisations' (as the appointments are)
      AND ((SELECT ptl.sees_all_organisations()) OR si.org_code = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3, 4
),
per_clinic AS (
    SELECT coalesce(a.provider_org, s.provider_org) AS provider_org,
           coalesce(a.treatment_function, s.treatment_function) AS treatment_function,
           coalesce(a.clinic_code, s.clinic_code) AS clinic_code,
           coalesce(a.week_starting, s.week_starting) AS week_starting,
           coalesce(a.appointments_due, 0) AS appointments_due, coalesce(a.first_attended, 0) AS first_attended,
           coalesce(a.follow_up_attended, 0) AS follow_up_attended, coalesce(a.first_dna, 0) AS first_dna,
           coalesce(a.follow_up_dna, 0) AS follow_up_dna, coalesce(a.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(a.patient_cancelled, 0) AS patient_cancelled, coalesce(a.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(a.discharged, 0) AS discharged, s.slots
    FROM appt a
    FULL JOIN sess s ON s.clinic_code = a.clinic_code AND s.week_starting = a.week_starting
),
advice AS (
    SELECT r.provider_org, r.treatment_function, date_trunc('week', r.requested_on)::date AS week_starting,
           count(*) AS advice_requests,
           count(*) FILTER (WHERE r.outcome <> 'pending') AS advice_answered,
           count(*) FILTER (WHERE r.outcome = 'diverted') AS advice_diverted
    FROM ptl.advice_request r
    WHERE r.requested_on <= (SELECT max(r2.census) FROM ptl.rtt_pathway r2)
      AND ((SELECT ptl.sees_all_organisations()) OR r.provider_org = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3
),
per_specialty AS (
    SELECT coalesce(k.provider_org, v.provider_org) AS provider_org,
           coalesce(k.treatment_function, v.treatment_function) AS treatment_function,
           coalesce(k.week_starting, v.week_starting) AS week_starting,
           coalesce(k.appointments_due, 0) AS appointments_due, coalesce(k.first_attended, 0) AS first_attended,
           coalesce(k.follow_up_attended, 0) AS follow_up_attended, coalesce(k.first_dna, 0) AS first_dna,
           coalesce(k.follow_up_dna, 0) AS follow_up_dna, coalesce(k.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(k.patient_cancelled, 0) AS patient_cancelled, coalesce(k.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(k.discharged, 0) AS discharged, k.slots,
           v.advice_requests, v.advice_answered, v.advice_diverted
    FROM (SELECT pc.provider_org, pc.treatment_function, pc.week_starting,
                 sum(pc.appointments_due) AS appointments_due, sum(pc.first_attended) AS first_attended,
                 sum(pc.follow_up_attended) AS follow_up_attended, sum(pc.first_dna) AS first_dna,
                 sum(pc.follow_up_dna) AS follow_up_dna, sum(pc.hospital_cancelled) AS hospital_cancelled,
                 sum(pc.patient_cancelled) AS patient_cancelled, sum(pc.moved_to_pifu) AS moved_to_pifu,
                 sum(pc.discharged) AS discharged, sum(pc.slots) AS slots
          FROM per_clinic pc GROUP BY 1, 2, 3) k
    FULL JOIN advice v ON v.provider_org = k.provider_org AND v.treatment_function = k.treatment_function
                      AND v.week_starting = k.week_starting
),
measured AS (
    SELECT 'clinic' AS grouping, pc.provider_org, pc.treatment_function, pc.clinic_code, pc.week_starting,
           pc.appointments_due, pc.first_attended, pc.follow_up_attended, pc.first_dna, pc.follow_up_dna,
           pc.hospital_cancelled, pc.patient_cancelled, pc.moved_to_pifu, pc.discharged, pc.slots,
           NULL::bigint AS advice_requests, NULL::bigint AS advice_answered, NULL::bigint AS advice_diverted
    FROM per_clinic pc
    UNION ALL
    SELECT 'specialty', ps.provider_org, ps.treatment_function, NULL, ps.week_starting,
           ps.appointments_due, ps.first_attended, ps.follow_up_attended, ps.first_dna, ps.follow_up_dna,
           ps.hospital_cancelled, ps.patient_cancelled, ps.moved_to_pifu, ps.discharged, ps.slots,
           coalesce(ps.advice_requests, 0), coalesce(ps.advice_answered, 0), coalesce(ps.advice_diverted, 0)
    FROM per_specialty ps
)
SELECT m.grouping, m.week_starting, m.provider_org, m.treatment_function, m.clinic_code,
       m.first_attended, m.follow_up_attended,
       round(m.follow_up_attended::numeric / nullif(m.first_attended, 0), 2) AS follow_ups_per_first,
       m.first_dna, round(100.0 * m.first_dna / nullif(m.first_attended + m.first_dna, 0), 1) AS first_dna_pct,
       m.follow_up_dna, round(100.0 * m.follow_up_dna / nullif(m.follow_up_attended + m.follow_up_dna, 0), 1) AS follow_up_dna_pct,
       m.hospital_cancelled, round(100.0 * m.hospital_cancelled / nullif(m.appointments_due, 0), 1) AS hospital_cancelled_pct,
       m.patient_cancelled, round(100.0 * m.patient_cancelled / nullif(m.appointments_due, 0), 1) AS patient_cancelled_pct,
       m.moved_to_pifu,
       round(100.0 * m.moved_to_pifu / nullif(m.first_attended + m.follow_up_attended, 0), 1) AS pifu_uptake_pct,
       m.discharged, m.slots,
       m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna AS slots_used,
       round(100.0 * (m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna) / nullif(m.slots, 0), 1)
           AS slot_utilisation_pct,
       m.advice_requests, m.advice_answered, m.advice_diverted,
       round(100.0 * m.advice_diverted / nullif(m.advice_answered, 0), 1) AS advice_diverted_pct
FROM measured m;
COMMENT ON VIEW ptl.outpatient_measures IS
    'Outpatient measures per week, provider, specialty and clinic (grouping clinic) or specialty (grouping specialty, with advice and guidance): attendances, follow-ups per first, DNA rates, cancellation rates by whom, PIFU uptake, slot utilisation, advice diverted from referral';
COMMENT ON COLUMN ptl.outpatient_measures.grouping IS 'clinic (one clinic) or specialty (all the provider''s clinics of the specialty, and advice and guidance)';
COMMENT ON COLUMN ptl.outpatient_measures.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.outpatient_measures.provider_org IS 'Provider running the clinic (asked, for advice)';
COMMENT ON COLUMN ptl.outpatient_measures.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.outpatient_measures.clinic_code IS 'Clinic (clinic rows)';
COMMENT ON COLUMN ptl.outpatient_measures.first_attended IS 'First attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_attended IS 'Follow-up attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_ups_per_first IS 'Follow-up attendances per first attendance (new-to-follow-up ratio)';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna IS 'First appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna_pct IS 'First DNA rate: DNAs / (attendances + DNAs), per cent';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna IS 'Follow-up appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna_pct IS 'Follow-up DNA rate, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled IS 'Appointments the hospital cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled_pct IS 'Hospital cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled IS 'Appointments the patient cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled_pct IS 'Patient cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.moved_to_pifu IS 'Attendances whose outcome moved the patient to PIFU';
COMMENT ON COLUMN ptl.outpatient_measures.pifu_uptake_pct IS 'PIFU uptake: attendances moved to PIFU / attendances, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.discharged IS 'Attendances whose outcome was discharge';
COMMENT ON COLUMN ptl.outpatient_measures.slots IS 'Slots offered in sessions not cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.slots_used IS 'Slots used: attended or not attended';
COMMENT ON COLUMN ptl.outpatient_measures.slot_utilisation_pct IS 'Slots used / slots offered, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.advice_requests IS 'Advice and guidance requests (specialty rows)';
COMMENT ON COLUMN ptl.outpatient_measures.advice_answered IS 'Requests answered';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted IS 'Requests answered with no referral needed';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted_pct IS 'Share of answered requests diverted from referral, per cent';

-- ---------------------------------------------------------------------------
-- Independent sector
-- ---------------------------------------------------------------------------

-- Activity and clock stops per month, specialty and provider type (NHS
-- trust or independent sector, from ptl.organisation.org_kind): outpatient
-- attendances and admissions from the pathway events, clock stops from the
-- completed RTT periods at the last refresh.
CREATE VIEW ptl.provider_type_activity AS
WITH kind AS (
    SELECT o.org_code, CASE o.org_kind WHEN 'independent_sector' THEN 'independent_sector' ELSE 'nhs' END AS provider_type
    FROM ptl.organisation o WHERE o.org_kind IN ('nhs_trust', 'independent_sector')
),
events AS (
    SELECT date_trunc('month', e.event_date)::date AS month, p.treatment_function, k.provider_type,
           count(*) FILTER (WHERE e.kind = 'outpatient') AS attendances,
           count(*) FILTER (WHERE e.kind = 'admission') AS admissions
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE e.kind IN ('outpatient', 'admission')
    GROUP BY 1, 2, 3
),
stops AS (
    SELECT date_trunc('month', r.clock_stop)::date AS month, p.treatment_function, k.provider_type,
           count(*) AS clock_stops
    FROM ptl.rtt_period r
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE r.outcome IN ('admitted', 'non_admitted')
    GROUP BY 1, 2, 3
)
SELECT coalesce(e.month, s.month) AS month, coalesce(e.treatment_function, s.treatment_function) AS treatment_function,
       coalesce(e.provider_type, s.provider_type) AS provider_type,
       coalesce(e.attendances, 0) AS attendances, coalesce(e.admissions, 0) AS admissions,
       coalesce(e.attendances, 0) + coalesce(e.admissions, 0) AS activity,
       coalesce(s.clock_stops, 0) AS clock_stops
FROM events e
FULL JOIN stops s ON s.month = e.month AND s.treatment_function = e.treatment_function AND s.provider_type = e.provider_type;
COMMENT ON VIEW ptl.provider_type_activity IS
    'Outpatient attendances, admissions and RTT clock stops per month, specialty and provider type (nhs or independent_sector)';
COMMENT ON COLUMN ptl.provider_type_activity.month IS 'First day of the month';
COMMENT ON COLUMN ptl.provider_type_activity.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.provider_type_activity.provider_type IS 'nhs (NHS trusts) or independent_sector';
COMMENT ON COLUMN ptl.provider_type_activity.attendances IS 'Outpatient attendances (events of kind outpatient)';
COMMENT ON COLUMN ptl.provider_type_activity.admissions IS 'Admissions (events of kind admission)';
COMMENT ON COLUMN ptl.provider_type_activity.activity IS 'Attendances + admissions';
COMMENT ON COLUMN ptl.provider_type_activity.clock_stops IS 'RTT periods completed (admitted or non-admitted) in the month';

-- Displacement: in the three months to each month, against the three months
-- before, did the independent sector's activity grow while the NHS
-- providers' own activity in the same specialty fell?  (Three-month sums
-- smooth a month's noise; a year-on-year comparison would also remove the
-- season but needs two years of data.)
CREATE VIEW ptl.independent_sector_displacement AS
WITH grid AS (
    SELECT t.treatment_function, m::date AS month
    FROM (SELECT DISTINCT treatment_function FROM ptl.provider_type_activity) t
    CROSS JOIN generate_series((SELECT min(month) FROM ptl.provider_type_activity),
                               (SELECT max(month) FROM ptl.provider_type_activity), interval '1 month') m
),
monthly AS (
    SELECT g.treatment_function, g.month,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_activity,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_activity,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_clock_stops,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_clock_stops
    FROM grid g
    LEFT JOIN ptl.provider_type_activity a ON a.treatment_function = g.treatment_function AND a.month = g.month
    GROUP BY 1, 2
),
rolled AS (
    SELECT m.*,
           sum(m.nhs_activity) OVER last3 AS nhs_3m, sum(m.nhs_activity) OVER before3 AS nhs_3m_before,
           sum(m.is_activity) OVER last3 AS is_3m, sum(m.is_activity) OVER before3 AS is_3m_before,
           count(*) OVER before3 AS months_before
    FROM monthly m
    WINDOW last3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
           before3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 5 PRECEDING AND 3 PRECEDING)
)
SELECT r.month, r.treatment_function, r.nhs_activity, r.is_activity, r.nhs_clock_stops, r.is_clock_stops,
       round(100.0 * r.is_activity / nullif(r.nhs_activity + r.is_activity, 0), 1) AS is_share_pct,
       r.nhs_3m, r.nhs_3m_before, r.is_3m, r.is_3m_before,
       CASE WHEN r.months_before = 3 THEN r.nhs_3m - r.nhs_3m_before END AS nhs_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m - r.is_3m_before END AS is_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m > r.is_3m_before AND r.nhs_3m < r.nhs_3m_before END AS displacement
FROM rolled r;
COMMENT ON VIEW ptl.independent_sector_displacement IS
    'Per specialty and month: NHS and independent sector activity and clock stops, the independent sector''s share, and displacement (its activity in the three months to the month grew on the three before while the NHS providers'' fell)';
COMMENT ON COLUMN ptl.independent_sector_displacement.month IS 'Month (first day)';
COMMENT ON COLUMN ptl.independent_sector_displacement.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_activity IS 'NHS providers'' attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_activity IS 'Independent sector attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_clock_stops IS 'NHS providers'' clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_clock_stops IS 'Independent sector clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_share_pct IS 'Independent sector share of the month''s activity, per cent';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m IS 'NHS activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m_before IS 'NHS activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m IS 'Independent sector activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m_before IS 'Independent sector activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_change IS 'NHS change, three months on three months (NULL without six months of data)';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_change IS 'Independent sector change, three months on three months';
COMMENT ON COLUMN ptl.independent_sector_displacement.displacement IS 'True when independent sector activity grew while the NHS providers'' own fell (NULL without six months of data)';
