-- ---------------------------------------------------------------------------
-- Theatre productivity (docs/theatre.md, "Productivity").  Per session from the
-- bookings' actual times, then per week by theatre, specialty and site.
--   touch time   anaesthetic start (into theatre if none) -> out of theatre
--   CTU          touch time inside [planned start, planned end] / C
--   uncapped     all touch time / C (can exceed 100%)
--   late start   max(0, first touch start - planned start)
--   early finish max(0, planned end - last out of theatre)
--   overrun      max(0, last out of theatre - planned end)
--   turnaround   next case's touch start - previous case out of theatre
--   cases per 4-hour list = cases * 240 / C
-- Only sessions held by ptl.theatre_measured_until() count, so lists still
-- to come do not dilute the measures; a held session with no operation
-- performed counts as cancelled (NHS Data Dictionary) and is reported, not
-- averaged in.
-- ---------------------------------------------------------------------------

-- The last day whose theatre activity is known: today, or the census of the
-- last refresh if earlier (theatre extracts arrive with the PTL's).
CREATE FUNCTION ptl.theatre_measured_until() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN least(current_date, coalesce((SELECT max(r.census) FROM ptl.rtt_pathway r), current_date));
COMMENT ON FUNCTION ptl.theatre_measured_until() IS
    'Last session date the productivity measures include: today, or the census of the last refresh if earlier';

CREATE VIEW ptl.theatre_case_times AS
SELECT b.booking_id, b.session_id, b.entry_id, s.session_date,
       coalesce(b.anaesthetic_start, b.into_theatre) AS touch_start, b.out_of_theatre AS touch_end,
       extract(epoch FROM b.out_of_theatre - coalesce(b.anaesthetic_start, b.into_theatre))::float8 / 60 AS touch_minutes,
       greatest(0, extract(epoch FROM least(b.out_of_theatre, s.session_date + s.planned_end)
                                      - greatest(coalesce(b.anaesthetic_start, b.into_theatre), s.session_date + s.planned_start))::float8 / 60)
           AS capped_touch_minutes,
       extract(epoch FROM coalesce(b.anaesthetic_start, b.into_theatre)
                          - lag(b.out_of_theatre) OVER w)::float8 / 60 AS turnaround_minutes,
       coalesce(b.day_case, w2.intended_management IN ('2', '3', '4')) AS day_case
FROM ptl.theatre_booking b
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.waiting_list_entry w2 ON w2.entry_id = b.entry_id
WHERE b.status = 'completed'
WINDOW w AS (PARTITION BY b.session_id ORDER BY coalesce(b.anaesthetic_start, b.into_theatre), b.booking_id);
COMMENT ON VIEW ptl.theatre_case_times IS 'Each completed case''s touch time, the part inside its session''s planned time, and the turnaround before it';
COMMENT ON COLUMN ptl.theatre_case_times.booking_id IS 'Booking';
COMMENT ON COLUMN ptl.theatre_case_times.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_case_times.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.theatre_case_times.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_case_times.touch_start IS 'Anaesthetic start, or into theatre when there was none';
COMMENT ON COLUMN ptl.theatre_case_times.touch_end IS 'Out of theatre';
COMMENT ON COLUMN ptl.theatre_case_times.touch_minutes IS 'Touch time, minutes';
COMMENT ON COLUMN ptl.theatre_case_times.capped_touch_minutes IS 'Touch time inside the planned session, minutes';
COMMENT ON COLUMN ptl.theatre_case_times.turnaround_minutes IS 'Minutes from the previous case leaving theatre to this one''s touch start (NULL for the first)';
COMMENT ON COLUMN ptl.theatre_case_times.day_case IS 'Day case (as admitted, else as intended on the list)';

CREATE VIEW ptl.theatre_session_measures AS
WITH cfg AS (SELECT * FROM ptl.theatre_setting_in_force()),
     c AS (SELECT t.session_id, count(*) AS cases, sum(t.touch_minutes) AS touch, sum(t.capped_touch_minutes) AS capped,
                  min(t.touch_start) AS first_start, max(t.touch_end) AS last_end,
                  count(t.turnaround_minutes) AS turnarounds, sum(t.turnaround_minutes) AS turnaround,
                  count(*) FILTER (WHERE t.day_case) AS day_cases
           FROM ptl.theatre_case_times t GROUP BY t.session_id),
     x AS (SELECT b.session_id, count(*) AS cancelled_on_day
           FROM ptl.theatre_booking b
           JOIN ptl.theatre_cancellation k USING (booking_id)
           JOIN ptl.cancellation_reason r USING (reason_code)
           JOIN ptl.theatre_session s USING (session_id)
           WHERE k.cancelled_on = s.session_date AND NOT r.clinical
           GROUP BY b.session_id)
SELECT s.session_id, s.session_date, date_trunc('week', s.session_date)::date AS week_starting,
       t.site_code, s.theatre_code, s.specialty AS treatment_function, s.consultant_code, s.session_type, s.planned_minutes,
       coalesce(c.cases, 0) AS cases, c.cases IS NULL AS no_operation,
       round(coalesce(c.touch, 0)::numeric, 1) AS touch_minutes,
       round(coalesce(c.capped, 0)::numeric, 1) AS capped_touch_minutes,
       round((100 * coalesce(c.capped, 0) / s.planned_minutes)::numeric, 2) AS capped_utilisation_pct,
       round((100 * coalesce(c.touch, 0) / s.planned_minutes)::numeric, 2) AS uncapped_utilisation_pct,
       round(greatest(0, extract(epoch FROM c.first_start - (s.session_date + s.planned_start)) / 60)::numeric, 1) AS late_start_minutes,
       round(greatest(0, extract(epoch FROM (s.session_date + s.planned_end) - c.last_end) / 60)::numeric, 1) AS early_finish_minutes,
       round(greatest(0, extract(epoch FROM c.last_end - (s.session_date + s.planned_end)) / 60)::numeric, 1) AS overrun_minutes,
       coalesce(c.turnarounds, 0) AS turnarounds,
       round(coalesce(c.turnaround, 0)::numeric, 1) AS turnaround_minutes,
       round((coalesce(c.cases, 0) * 240.0 / s.planned_minutes)::numeric, 2) AS cases_per_4_hours,
       coalesce(c.day_cases, 0) AS day_cases,
       coalesce(x.cancelled_on_day, 0) AS cancelled_on_the_day,
       extract(epoch FROM c.first_start - (s.session_date + s.planned_start)) / 60 >= cfg.late_start_flag_minutes AS late_start_flag,
       extract(epoch FROM (s.session_date + s.planned_end) - c.last_end) / 60 >= cfg.early_finish_flag_minutes AS early_finish_flag,
       s.specialty
FROM ptl.theatre_session s
JOIN ptl.theatre t USING (theatre_code)
LEFT JOIN c USING (session_id)
LEFT JOIN x USING (session_id)
CROSS JOIN cfg
WHERE NOT s.cancelled AND s.session_date <= ptl.theatre_measured_until();
COMMENT ON VIEW ptl.theatre_session_measures IS
    'Productivity of each held session (docs/theatre.md): capped and uncapped utilisation, touch time, late start, early finish, overrun, turnaround, cases, day cases, on-the-day cancellations';
COMMENT ON COLUMN ptl.theatre_session_measures.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_session_measures.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_session_measures.week_starting IS 'Monday of its week';
COMMENT ON COLUMN ptl.theatre_session_measures.site_code IS 'Site';
COMMENT ON COLUMN ptl.theatre_session_measures.theatre_code IS 'Theatre';
COMMENT ON COLUMN ptl.theatre_session_measures.treatment_function IS 'Treatment function (specialty) that owns the session';
COMMENT ON COLUMN ptl.theatre_session_measures.specialty IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as treatment_function (the interface names a treatment function code treatment_function)';
COMMENT ON COLUMN ptl.theatre_session_measures.consultant_code IS 'Consultant';
COMMENT ON COLUMN ptl.theatre_session_measures.session_type IS 'elective, day_case, emergency or trauma';
COMMENT ON COLUMN ptl.theatre_session_measures.planned_minutes IS 'Planned session minutes C';
COMMENT ON COLUMN ptl.theatre_session_measures.cases IS 'Completed cases';
COMMENT ON COLUMN ptl.theatre_session_measures.no_operation IS 'True if no operation was performed (counts as a cancelled session)';
COMMENT ON COLUMN ptl.theatre_session_measures.touch_minutes IS 'All touch time, minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.capped_touch_minutes IS 'Touch time inside the planned start and end, minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.capped_utilisation_pct IS 'Capped theatre utilisation (CTU): capped touch time / C, per cent';
COMMENT ON COLUMN ptl.theatre_session_measures.uncapped_utilisation_pct IS 'Uncapped utilisation: all touch time / C, per cent (can exceed 100)';
COMMENT ON COLUMN ptl.theatre_session_measures.late_start_minutes IS 'Minutes the first case''s touch time started after the planned start';
COMMENT ON COLUMN ptl.theatre_session_measures.early_finish_minutes IS 'Minutes the last case left before the planned end';
COMMENT ON COLUMN ptl.theatre_session_measures.overrun_minutes IS 'Minutes the last case left after the planned end';
COMMENT ON COLUMN ptl.theatre_session_measures.turnarounds IS 'Changeovers between consecutive cases';
COMMENT ON COLUMN ptl.theatre_session_measures.turnaround_minutes IS 'Sum of changeover minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.cases_per_4_hours IS 'Cases normalised to a 4-hour session: cases * 240 / C';
COMMENT ON COLUMN ptl.theatre_session_measures.day_cases IS 'Completed cases that were day cases';
COMMENT ON COLUMN ptl.theatre_session_measures.cancelled_on_the_day IS 'Bookings cancelled on the day for non-clinical reasons';
COMMENT ON COLUMN ptl.theatre_session_measures.late_start_flag IS 'Started late by theatre_setting.late_start_flag_minutes or more';
COMMENT ON COLUMN ptl.theatre_session_measures.early_finish_flag IS 'Finished early by theatre_setting.early_finish_flag_minutes or more';

-- Weekly roll-up.  Ratios are recomputed from the summed minutes, never
-- averaged from the sessions' ratios.  grouping says which level a row is.
CREATE VIEW ptl.theatre_productivity AS
SELECT CASE WHEN GROUPING(m.theatre_code) = 0 THEN 'theatre'
            WHEN GROUPING(m.treatment_function) = 0 THEN 'specialty'
            WHEN GROUPING(m.site_code) = 0 THEN 'site'
            ELSE 'ics' END AS grouping,
       m.week_starting, m.site_code, m.theatre_code, m.treatment_function,
       count(*) FILTER (WHERE NOT m.no_operation) AS sessions,
       count(*) FILTER (WHERE m.no_operation) AS sessions_without_operation,
       sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation) AS planned_minutes,
       sum(m.touch_minutes) AS touch_minutes,
       round(100 * sum(m.capped_touch_minutes) / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2)
           AS capped_utilisation_pct,
       round(100 * sum(m.touch_minutes) / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2)
           AS uncapped_utilisation_pct,
       count(*) FILTER (WHERE m.late_start_flag) AS late_starts,
       round(avg(m.late_start_minutes), 1) AS mean_late_start_minutes,
       count(*) FILTER (WHERE m.early_finish_flag) AS early_finishes,
       round(avg(m.early_finish_minutes), 1) AS mean_early_finish_minutes,
       sum(m.overrun_minutes) AS overrun_minutes,
       round(sum(m.turnaround_minutes) / nullif(sum(m.turnarounds), 0), 1) AS mean_turnaround_minutes,
       sum(m.cases) AS cases,
       round(sum(m.cases) * 240.0 / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2) AS cases_per_4_hours,
       round(100.0 * sum(m.day_cases) / nullif(sum(m.cases), 0), 1) AS day_case_rate_pct,
       sum(m.cancelled_on_the_day) AS cancelled_on_the_day,
       m.treatment_function AS specialty
FROM ptl.theatre_session_measures m
GROUP BY GROUPING SETS ((m.week_starting, m.site_code, m.theatre_code),
                        (m.week_starting, m.site_code, m.treatment_function),
                        (m.week_starting, m.site_code),
                        (m.week_starting));
COMMENT ON VIEW ptl.theatre_productivity IS
    'Theatre productivity per week by theatre, by specialty, by site and for the ICS (grouping says which), from ptl.theatre_session_measures';
COMMENT ON COLUMN ptl.theatre_productivity.grouping IS 'theatre (site and theatre), specialty (site and specialty), site, or ics';
COMMENT ON COLUMN ptl.theatre_productivity.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.theatre_productivity.site_code IS 'Site (NULL on ics rows)';
COMMENT ON COLUMN ptl.theatre_productivity.theatre_code IS 'Theatre (theatre rows only)';
COMMENT ON COLUMN ptl.theatre_productivity.treatment_function IS 'Treatment function (specialty rows only)';
COMMENT ON COLUMN ptl.theatre_productivity.specialty IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as treatment_function (the interface names a treatment function code treatment_function)';
COMMENT ON COLUMN ptl.theatre_productivity.sessions IS 'Sessions held with at least one operation';
COMMENT ON COLUMN ptl.theatre_productivity.sessions_without_operation IS 'Sessions held with none (counted as cancelled)';
COMMENT ON COLUMN ptl.theatre_productivity.planned_minutes IS 'Planned minutes of the sessions with an operation';
COMMENT ON COLUMN ptl.theatre_productivity.touch_minutes IS 'All touch time';
COMMENT ON COLUMN ptl.theatre_productivity.capped_utilisation_pct IS 'Capped theatre utilisation, per cent (target in theatre_setting, default 85)';
COMMENT ON COLUMN ptl.theatre_productivity.uncapped_utilisation_pct IS 'Uncapped utilisation, per cent';
COMMENT ON COLUMN ptl.theatre_productivity.late_starts IS 'Sessions flagged as starting late';
COMMENT ON COLUMN ptl.theatre_productivity.mean_late_start_minutes IS 'Mean late start, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.early_finishes IS 'Sessions flagged as finishing early';
COMMENT ON COLUMN ptl.theatre_productivity.mean_early_finish_minutes IS 'Mean early finish, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.overrun_minutes IS 'Total overrun minutes';
COMMENT ON COLUMN ptl.theatre_productivity.mean_turnaround_minutes IS 'Mean changeover between cases, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.cases IS 'Completed cases';
COMMENT ON COLUMN ptl.theatre_productivity.cases_per_4_hours IS 'Cases per 4-hour session equivalent';
COMMENT ON COLUMN ptl.theatre_productivity.day_case_rate_pct IS 'Day cases / completed cases, per cent';
COMMENT ON COLUMN ptl.theatre_productivity.cancelled_on_the_day IS 'Bookings cancelled on the day for non-clinical reasons';

CREATE VIEW ptl.theatre_cancellations AS
SELECT date_trunc('week', s.session_date)::date AS week_starting, t.site_code, s.specialty AS treatment_function, k.reason_code,
       r.description, r.clinical, r.initiated_by,
       count(*) AS cancellations,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date) AS on_the_day,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date AND NOT r.clinical) AS last_minute_non_clinical,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date AND NOT r.clinical
                          AND NOT EXISTS (SELECT FROM ptl.theatre_booking b2 JOIN ptl.theatre_session s2 USING (session_id)
                                          WHERE b2.entry_id = b.entry_id AND b2.booking_id <> b.booking_id
                                            AND b2.status <> 'cancelled'
                                            AND s2.session_date > k.cancelled_on
                                            AND s2.session_date <= k.cancelled_on + 28)) AS not_rebooked_within_28_days,
       s.specialty
FROM ptl.theatre_cancellation k
JOIN ptl.theatre_booking b USING (booking_id)
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.theatre t USING (theatre_code)
JOIN ptl.cancellation_reason r USING (reason_code)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
COMMENT ON VIEW ptl.theatre_cancellations IS
    'Cancelled operations per week, site, specialty and reason; last-minute (on the day, non-clinical) ones and those not rebooked within 28 days (NHS Constitution standard)';
COMMENT ON COLUMN ptl.theatre_cancellations.week_starting IS 'Monday of the week of the session';
COMMENT ON COLUMN ptl.theatre_cancellations.site_code IS 'Site';
COMMENT ON COLUMN ptl.theatre_cancellations.treatment_function IS 'Treatment function (specialty) that owns the session';
COMMENT ON COLUMN ptl.theatre_cancellations.specialty IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as treatment_function (the interface names a treatment function code treatment_function)';
COMMENT ON COLUMN ptl.theatre_cancellations.reason_code IS 'Reason';
COMMENT ON COLUMN ptl.theatre_cancellations.description IS 'Reason in words';
COMMENT ON COLUMN ptl.theatre_cancellations.clinical IS 'Clinical reason';
COMMENT ON COLUMN ptl.theatre_cancellations.initiated_by IS 'hospital or patient';
COMMENT ON COLUMN ptl.theatre_cancellations.cancellations IS 'Bookings cancelled';
COMMENT ON COLUMN ptl.theatre_cancellations.on_the_day IS 'Cancelled on the day of the session';
COMMENT ON COLUMN ptl.theatre_cancellations.last_minute_non_clinical IS 'On the day and for a non-clinical reason (the national last-minute cancellation)';
COMMENT ON COLUMN ptl.theatre_cancellations.not_rebooked_within_28_days IS
    'Last-minute non-clinical cancellations with no new booking within the following 28 days';

-- Pre-operative assessment lead time: days from the latest fit assessment
-- to the operation, for booked and completed cases.
CREATE VIEW ptl.preop_lead_time AS
WITH b AS (
    SELECT date_trunc('week', s.session_date)::date AS week_starting, t.site_code, s.specialty,
           s.session_date - pa.assessed_on AS lead_days,
           pa.assessed_on IS NULL AS no_assessment,
           s.session_date > coalesce(pa.valid_until, pa.assessed_on + (ptl.theatre_setting_in_force()).preop_valid_days) AS expired
    FROM ptl.theatre_booking bk
    JOIN ptl.theatre_session s USING (session_id)
    JOIN ptl.theatre t USING (theatre_code)
    LEFT JOIN LATERAL (SELECT a.* FROM ptl.preop_assessment a
                       WHERE a.entry_id = bk.entry_id AND a.assessed_on <= s.session_date
                         AND a.outcome IN ('fit', 'fit_with_conditions')
                       ORDER BY a.assessed_on DESC, a.preop_id DESC LIMIT 1) pa ON true
    WHERE bk.status <> 'cancelled')
SELECT week_starting, site_code, specialty AS treatment_function, count(*) AS operations,
       count(*) FILTER (WHERE no_assessment) AS without_assessment,
       count(*) FILTER (WHERE expired) AS assessment_expired,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY lead_days) AS median_lead_days,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY lead_days) AS p90_lead_days,
       specialty
FROM b
GROUP BY 1, 2, 3;
COMMENT ON VIEW ptl.preop_lead_time IS
    'Pre-operative assessment lead time before the operation, per week, site and specialty of the session';
COMMENT ON COLUMN ptl.preop_lead_time.week_starting IS 'Monday of the week of the operation';
COMMENT ON COLUMN ptl.preop_lead_time.site_code IS 'Site';
COMMENT ON COLUMN ptl.preop_lead_time.treatment_function IS 'Treatment function (specialty) that owns the session';
COMMENT ON COLUMN ptl.preop_lead_time.specialty IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as treatment_function (the interface names a treatment function code treatment_function)';
COMMENT ON COLUMN ptl.preop_lead_time.operations IS 'Operations booked or done';
COMMENT ON COLUMN ptl.preop_lead_time.without_assessment IS 'With no fit assessment before the operation';
COMMENT ON COLUMN ptl.preop_lead_time.assessment_expired IS 'Whose latest fit assessment had expired by the operation';
COMMENT ON COLUMN ptl.preop_lead_time.median_lead_days IS 'Median days from the latest fit assessment to the operation';
COMMENT ON COLUMN ptl.preop_lead_time.p90_lead_days IS '90th percentile of those days';
