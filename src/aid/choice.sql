-- ---------------------------------------------------------------------------
-- aid/choice: patient-initiated transfer (PIDMAS) eligibility and the
-- provider waits a patient or referrer compares within a travel limit.
-- ---------------------------------------------------------------------------

-- Eligibility rules per cohort of NHS England's PIDMAS (from 31 October 2023).
-- Cohort 1 is shipped as NHS England published it (clock start before 22
-- January 2023, i.e. over 40 weeks at its launch); 'over_40_weeks' is the
-- same rules with a rolling wait, for use at any census.  Later cohorts'
-- rules were not published in full: a trust
-- adds a row.
CREATE TABLE ptl.pidmas_cohort (
    cohort              text PRIMARY KEY CHECK (cohort ~ '^[a-z0-9_]+$'),
    description         text NOT NULL,
    clock_start_before  date,
    min_wait_days       int CHECK (min_wait_days >= 0),
    booking_horizon_days int NOT NULL DEFAULT 56 CHECK (booking_horizon_days >= 0),
    min_age             int NOT NULL DEFAULT 18,
    routine_only        boolean NOT NULL DEFAULT true,
    exclude_tertiary    boolean NOT NULL DEFAULT true,
    english_only        boolean NOT NULL DEFAULT true,
    shipped             boolean NOT NULL DEFAULT false,
    CHECK (clock_start_before IS NOT NULL OR min_wait_days IS NOT NULL),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pidmas_cohort_clock_start_before_in_range CHECK (ptl.in_storage_range(clock_start_before))
);
COMMENT ON TABLE ptl.pidmas_cohort IS
    'Patient-initiated transfer (PIDMAS) cohorts and their eligibility rules; cohort_1 is as published, trusts add later ones';
COMMENT ON COLUMN ptl.pidmas_cohort.cohort IS 'Cohort name';
COMMENT ON COLUMN ptl.pidmas_cohort.description IS 'The rules in words, with their source';
COMMENT ON COLUMN ptl.pidmas_cohort.clock_start_before IS 'Eligible only if the clock started before this date (NULL: no such rule)';
COMMENT ON COLUMN ptl.pidmas_cohort.min_wait_days IS 'Eligible only after waiting at least this many days at the census (NULL: no such rule)';
COMMENT ON COLUMN ptl.pidmas_cohort.booking_horizon_days IS 'Not eligible with an admission or first appointment booked within this many days (56: 8 weeks)';
COMMENT ON COLUMN ptl.pidmas_cohort.min_age IS 'Minimum age in years';
COMMENT ON COLUMN ptl.pidmas_cohort.routine_only IS 'Only routine referrals (not urgent or two-week-wait)';
COMMENT ON COLUMN ptl.pidmas_cohort.exclude_tertiary IS 'Leave out tertiary referrals (referred on by another hospital)';
COMMENT ON COLUMN ptl.pidmas_cohort.english_only IS 'Only patients with an English commissioner (NONC left out)';
COMMENT ON COLUMN ptl.pidmas_cohort.shipped IS 'True for rows installed by ptl';
SELECT pg_catalog.pg_extension_config_dump('ptl.pidmas_cohort', 'WHERE NOT shipped');
INSERT INTO ptl.pidmas_cohort (cohort, description, clock_start_before, min_wait_days, shipped) VALUES
    ('cohort_1', 'PIDMAS cohort 1 (31 October 2023, as published by Nottingham University Hospitals): routine, clock start before 22 January 2023, no admission or first appointment within 8 weeks, not tertiary, 18 or over, English', '2023-01-22', NULL, true),
    ('over_40_weeks', 'Cohort 1''s rules with a rolling wait: over 40 weeks (281 days or more) at the census', NULL, 281, true);

-- Each patient on the PTL against each cohort, with the first rule that
-- fails (NULL: eligible).  The booking rule: on the admitted list, no
-- admission booked within the horizon; otherwise, the first outpatient
-- appointment not yet had (no attendance in the period) and none booked
-- within the horizon.  A patient who has had the first appointment and is
-- not listed is outside the cohort ('FIRST_APPOINTMENT_HAD').
CREATE VIEW ptl.pidmas_eligibility AS
SELECT c.cohort, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function, l.census,
       l.clock_start, l.days_waited, l.waiting_list_entry_id IS NOT NULL AS admitted,
       extract(year FROM age(l.census, pa.date_of_birth))::int AS age,
       CASE WHEN c.routine_only AND l.referral_priority <> 'routine' THEN 'NOT_ROUTINE'
            WHEN l.clock_start IS NULL
              OR (c.clock_start_before IS NOT NULL AND l.clock_start >= c.clock_start_before)
              OR (c.min_wait_days IS NOT NULL AND l.days_waited < c.min_wait_days) THEN 'WAIT_TOO_SHORT'
            WHEN l.waiting_list_entry_id IS NOT NULL
             AND coalesce(l.tci_date, CASE WHEN l.next_booked_kind IN ('admission', 'tci_offer') THEN l.next_booked_date END)
                 BETWEEN l.census AND l.census + c.booking_horizon_days THEN 'TCI_WITHIN_8W'
            WHEN l.waiting_list_entry_id IS NULL
             AND EXISTS (SELECT 1 FROM ptl.pathway_event e
                         WHERE e.pathway_id = l.pathway_id AND e.kind = 'outpatient'
                           AND e.event_date BETWEEN l.clock_start AND l.census) THEN 'FIRST_APPOINTMENT_HAD'
            WHEN l.waiting_list_entry_id IS NULL AND l.next_booked_kind = 'outpatient'
             AND l.next_booked_date <= l.census + c.booking_horizon_days THEN 'APPOINTMENT_WITHIN_8W'
            WHEN c.exclude_tertiary AND ptl.tertiary_referral(l.pathway_id) THEN 'TERTIARY_REFERRAL'
            WHEN pa.date_of_birth IS NULL OR pa.date_of_birth + make_interval(years => c.min_age) > l.census THEN 'UNDER_18'
            WHEN c.english_only AND (l.commissioner_code IS NULL OR cm.commissioner_kind = 'non_english') THEN 'NOT_ENGLISH'
       END AS ineligible_reason
FROM ptl.ptl l
CROSS JOIN ptl.pidmas_cohort c
JOIN ptl.patient pa ON pa.patient_id = l.patient_id
LEFT JOIN ptl.commissioner cm ON cm.commissioner_code = l.commissioner_code;
COMMENT ON VIEW ptl.pidmas_eligibility IS
    'Every patient on the PTL against every PIDMAS cohort: eligible to ask for a transfer when ineligible_reason is NULL (NHS England PIDMAS cohorts)';
COMMENT ON COLUMN ptl.pidmas_eligibility.cohort IS 'Cohort (ptl.pidmas_cohort)';
COMMENT ON COLUMN ptl.pidmas_eligibility.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.pidmas_eligibility.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.pidmas_eligibility.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.pidmas_eligibility.site_code IS 'Site';
COMMENT ON COLUMN ptl.pidmas_eligibility.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.pidmas_eligibility.census IS 'Census';
COMMENT ON COLUMN ptl.pidmas_eligibility.clock_start IS 'Clock start';
COMMENT ON COLUMN ptl.pidmas_eligibility.days_waited IS 'Days waited';
COMMENT ON COLUMN ptl.pidmas_eligibility.admitted IS 'On the admitted waiting list';
COMMENT ON COLUMN ptl.pidmas_eligibility.age IS 'Age in years at the census';
COMMENT ON COLUMN ptl.pidmas_eligibility.ineligible_reason IS
    'First rule failed: NOT_ROUTINE, WAIT_TOO_SHORT, TCI_WITHIN_8W, FIRST_APPOINTMENT_HAD, APPOINTMENT_WITHIN_8W, TERTIARY_REFERRAL, UNDER_18, NOT_ENGLISH; NULL when eligible';

-- The providers a patient living in a postcode district could choose for a
-- treatment function within a radius: every site where a provider reported
-- patients of that function at the census, nearest first, with that
-- provider's waits (ptl.provider_waits).  NULL radius: every site.
CREATE FUNCTION ptl.provider_waits_near(district text, treatment_function text, radius_miles float8 DEFAULT 50,
                                        census date DEFAULT NULL)
RETURNS TABLE (provider_org text, site_code text, distance_miles float8, list_size bigint,
               median_weeks float8, p92_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(provider_waits_near.census,
                           (SELECT max(s.census_date) FROM ptl.census_snapshot s)) AS census),
home AS (SELECT d.latitude, d.longitude FROM ptl.postcode_district d
         WHERE d.district = upper(btrim(provider_waits_near.district))),
sites AS (SELECT DISTINCT s.provider_org, s.site_code
          FROM ptl.census_snapshot s, c
          WHERE s.census_date = c.census AND s.treatment_function = provider_waits_near.treatment_function
            AND s.site_code IS NOT NULL)
SELECT s.provider_org, s.site_code, d.miles, w.list_size, w.median_weeks, w.p92_weeks, w.pct_over_18_weeks,
       w.over_52_weeks
FROM sites s
CROSS JOIN c
CROSS JOIN home h
JOIN ptl.site_location l ON l.site_code = s.site_code
CROSS JOIN LATERAL (SELECT ptl.haversine_miles(h.latitude, h.longitude, l.latitude, l.longitude) AS miles) d
JOIN ptl.provider_waits w ON w.census = c.census AND w.provider_org = s.provider_org
                         AND w.treatment_function = provider_waits_near.treatment_function
WHERE provider_waits_near.radius_miles IS NULL OR d.miles <= provider_waits_near.radius_miles
ORDER BY d.miles NULLS LAST, s.provider_org, s.site_code
$$;
COMMENT ON FUNCTION ptl.provider_waits_near(text, text, float8, date) IS
    'Sites offering a treatment function within radius_miles of a postcode district (NULL radius: all), nearest first, with their provider''s list size, median and 92nd percentile wait at the census (default the latest snapshot): what a patient or referrer compares when choosing';

-- The same for a patient on the PTL, from their home district.
CREATE FUNCTION ptl.provider_waits_for(pathway_id bigint, radius_miles float8 DEFAULT 50)
RETURNS TABLE (provider_org text, site_code text, distance_miles float8, list_size bigint,
               median_weeks float8, p92_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint,
               current_provider boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT n.*, n.provider_org = p.provider_org
FROM ptl.pathway p
JOIN ptl.patient pa ON pa.patient_id = p.patient_id,
     ptl.provider_waits_near(ptl.postcode_district_of(pa.postcode), p.treatment_function,
                             provider_waits_for.radius_miles) n
WHERE p.pathway_id = provider_waits_for.pathway_id
$$;
COMMENT ON FUNCTION ptl.provider_waits_for(bigint, float8) IS
    'Provider waits within radius_miles of a patient''s home postcode district for their pathway''s treatment function, nearest first, marking their current provider';
