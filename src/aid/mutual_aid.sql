-- ---------------------------------------------------------------------------
-- aid/mutual_aid: providers ask for help and offer capacity; ptl suggests
-- which long waiters to move where (clinical-theatre.md section 6), and
-- records a move as an inter-provider transfer whose clock continues.
-- ---------------------------------------------------------------------------

-- Great-circle distance in miles (clinical-theatre.md 6.3, R = 3958.8).
CREATE FUNCTION ptl.haversine_miles(lat1 float8, lon1 float8, lat2 float8, lon2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT 2 * 3958.8 * asin(sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                              + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2))
$$;
COMMENT ON FUNCTION ptl.haversine_miles(float8, float8, float8, float8) IS
    'Great-circle distance in miles between two points in degrees (haversine, earth radius 3958.8 miles)';

-- The outward code of a postcode: what comes before the space, or all but
-- the last three characters when there is none ("CM11AA" -> CM1).
CREATE FUNCTION ptl.postcode_district_of(postcode text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE WHEN position(' ' IN t) > 0 THEN split_part(t, ' ', 1)
            WHEN length(t) BETWEEN 5 AND 7 THEN left(t, length(t) - 3) END
FROM (SELECT upper(btrim(postcode)) AS t) x
$$;
COMMENT ON FUNCTION ptl.postcode_district_of(text) IS
    'Postcode district (outward code) of a postcode, e.g. CM1 for "CM1 1AA" or "cm11aa"; NULL when it cannot tell';

-- Where each site is: its own coordinates, else its postcode district's.
CREATE VIEW ptl.site_location AS
SELECT s.site_code, s.org_code,
       coalesce(s.latitude, d.latitude) AS latitude,
       coalesce(s.longitude, d.longitude) AS longitude
FROM ptl.site s
LEFT JOIN ptl.postcode_district d ON d.district = ptl.postcode_district_of(s.postcode);
COMMENT ON VIEW ptl.site_location IS 'Where each site is: its own coordinates, else the centre of its postcode district (NULL when neither is known)';
COMMENT ON COLUMN ptl.site_location.site_code IS 'Site';
COMMENT ON COLUMN ptl.site_location.org_code IS 'Organisation that runs it';
COMMENT ON COLUMN ptl.site_location.latitude IS 'Latitude in degrees';
COMMENT ON COLUMN ptl.site_location.longitude IS 'Longitude in degrees';

-- ---------------------------------------------------------------------------
-- The suggestion algorithm on inputs the caller gives (clinical-theatre.md
-- 6.1-6.5).  ptl.mutual_aid_suggestions builds the inputs from the PTL.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.aid_patient AS (
    patient_key         bigint,
    origin              text,
    specialty           text,
    procedure_code      text,
    clock_start         date,
    priority            ptl.clinical_priority,
    tci_date            date,
    age                 int,
    tertiary_referral   boolean,
    opted_in            boolean,
    radius_miles        float8,
    latitude            float8,
    longitude           float8,
    required_capability text,
    clinician_veto      boolean,
    suspended           boolean,
    expected_date       date
);
COMMENT ON TYPE ptl.aid_patient IS
    'A patient offered to ptl.mutual_aid_plan: an incomplete admitted pathway at its origin provider (clinical-theatre.md 6.1)';
COMMENT ON COLUMN ptl.aid_patient.patient_key IS 'The patient''s key (unique in one call; ptl uses the pathway record)';
COMMENT ON COLUMN ptl.aid_patient.origin IS 'Provider the patient waits at';
COMMENT ON COLUMN ptl.aid_patient.specialty IS 'Treatment function';
COMMENT ON COLUMN ptl.aid_patient.procedure_code IS 'Intended procedure (OPCS-4), matched against a slot''s accepted groups';
COMMENT ON COLUMN ptl.aid_patient.clock_start IS 'RTT clock start';
COMMENT ON COLUMN ptl.aid_patient.priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.aid_patient.tci_date IS 'Admission date booked at the origin, if any';
COMMENT ON COLUMN ptl.aid_patient.age IS 'Age in years at the as-of date';
COMMENT ON COLUMN ptl.aid_patient.tertiary_referral IS 'Referred on by another hospital';
COMMENT ON COLUMN ptl.aid_patient.opted_in IS 'The patient agreed to be considered for a move';
COMMENT ON COLUMN ptl.aid_patient.radius_miles IS 'How far the patient will travel (50, 100; NULL: anywhere in England)';
COMMENT ON COLUMN ptl.aid_patient.latitude IS 'Where the patient travels from (home district, else the origin site)';
COMMENT ON COLUMN ptl.aid_patient.longitude IS 'Where the patient travels from';
COMMENT ON COLUMN ptl.aid_patient.required_capability IS 'daycase, inpatient or level2 (ordered)';
COMMENT ON COLUMN ptl.aid_patient.clinician_veto IS 'The origin''s clinical review says the patient must not move';
COMMENT ON COLUMN ptl.aid_patient.suspended IS 'Suspended from the list (or P5/P6)';
COMMENT ON COLUMN ptl.aid_patient.expected_date IS 'Expected treatment date at the origin, E_o (NULL: never, at the current rate)';

CREATE TYPE ptl.aid_slot AS (
    slot_id             bigint,
    provider            text,
    site_code           text,
    latitude            float8,
    longitude           float8,
    specialty           text,
    accepted_groups     text[],
    slot_date           date,
    capability          text
);
COMMENT ON TYPE ptl.aid_slot IS 'One patient-sized unit of offered capacity, offered to ptl.mutual_aid_plan (clinical-theatre.md 6.1)';
COMMENT ON COLUMN ptl.aid_slot.slot_id IS 'The slot''s key (unique in one call)';
COMMENT ON COLUMN ptl.aid_slot.provider IS 'Provider offering it';
COMMENT ON COLUMN ptl.aid_slot.site_code IS 'Site where it is';
COMMENT ON COLUMN ptl.aid_slot.latitude IS 'Latitude of the site';
COMMENT ON COLUMN ptl.aid_slot.longitude IS 'Longitude of the site';
COMMENT ON COLUMN ptl.aid_slot.specialty IS 'Treatment function';
COMMENT ON COLUMN ptl.aid_slot.accepted_groups IS 'Procedure groups it takes, as OPCS-4 code prefixes (e.g. W37, W40); NULL: any';
COMMENT ON COLUMN ptl.aid_slot.slot_date IS 'Date of the slot';
COMMENT ON COLUMN ptl.aid_slot.capability IS 'daycase, inpatient or level2: the most the site can look after';

CREATE FUNCTION ptl.capability_rank(capability text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE capability WHEN 'daycase' THEN 1 WHEN 'inpatient' THEN 2 WHEN 'level2' THEN 3 END
$$;
COMMENT ON FUNCTION ptl.capability_rank(text) IS 'Order of care capabilities: daycase 1 < inpatient 2 < level2 3 (NULL for anything else)';

CREATE FUNCTION ptl.mutual_aid_match(patients bigint[], slots bigint[], wait_days int[], clock_starts date[],
                                     slot_dates date[], distances float8[], savings int[], optimal boolean)
RETURNS TABLE (patient bigint, slot bigint)
AS 'MODULE_PATHNAME', 'ptl_mutual_aid_match'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.mutual_aid_match(bigint[], bigint[], int[], date[], date[], float8[], int[], boolean) IS
    'Chooses patients for slots from feasible pairs given as parallel arrays: greedy by longest wait, or a maximum-weight matching on (wait days, days saved) lexicographically (src/aid/match.c)';

-- Every patient gets one row: a suggestion (reason SUGGESTED), or the first
-- eligibility test it fails, or, for an eligible patient left without a
-- slot, the furthest any slot it could not use got through the tests of
-- 6.3, in their order: NO_SLOT (no slot of its specialty and procedure
-- group at another provider), NO_CAPABILITY, OUT_OF_RADIUS, LEAD_TIME,
-- NO_GAIN (WE-45 reports p2 this way: NO_CAPABILITY, although q1 would
-- have done had p1 not taken it).  feasible_slots_taken counts the slots
-- that would have done but went to others; SLOT_TAKEN is the reason when
-- those were its only candidates.  A distance that cannot
-- be computed (no coordinates) fails a radius, never a national search.
-- Expected date NULL (no treatments at the origin lately) counts as any
-- slot saving time; its days_saved is NULL and the optimal mode weighs it
-- as a saving of ten years less the slot's distance in time.
CREATE FUNCTION ptl.mutual_aid_plan(patients ptl.aid_patient[], slots ptl.aid_slot[], as_of date,
                                    mode text DEFAULT 'greedy', min_wait_days int DEFAULT 280,
                                    tci_horizon_days int DEFAULT 56, lead_days int DEFAULT 14,
                                    min_gain_days int DEFAULT 28,
                                    categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (patient_key bigint, origin text, destination text, site_code text, slot_id bigint,
               slot_date date, distance_miles float8, days_saved int, wait_days int, plan_mode text, reason text,
               feasible_slots_taken int)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF mode NOT IN ('greedy', 'optimal') THEN
        RAISE EXCEPTION 'unknown mutual aid mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The modes are greedy (by longest wait) and optimal.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(patients) p GROUP BY p.patient_key HAVING count(*) > 1 OR p.patient_key IS NULL)
       OR EXISTS (SELECT 1 FROM unnest(slots) s GROUP BY s.slot_id HAVING count(*) > 1 OR s.slot_id IS NULL) THEN
        RAISE EXCEPTION 'patient and slot keys must be present and unique in one call'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(patients) p
               WHERE p.required_capability IS NOT NULL AND ptl.capability_rank(p.required_capability) IS NULL)
       OR EXISTS (SELECT 1 FROM unnest(slots) s WHERE ptl.capability_rank(s.capability) IS NULL) THEN
        RAISE EXCEPTION 'capability must be daycase, inpatient or level2'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH p AS MATERIALIZED (
        SELECT x.*, (as_of - x.clock_start)::int AS wait,
               CASE WHEN NOT coalesce(x.opted_in, false) THEN 'NOT_OPTED_IN'
                    WHEN coalesce(x.clinician_veto, false) THEN 'CLINICIAN_VETO'
                    WHEN coalesce(x.suspended, false) THEN 'SUSPENDED'
                    WHEN x.age IS NULL OR x.age < 18 THEN 'UNDER_18'
                    WHEN coalesce(x.tertiary_referral, false) THEN 'TERTIARY_REFERRAL'
                    WHEN x.priority IS NULL OR NOT x.priority OPERATOR(ptl.=) ANY (categories) THEN 'CATEGORY'
                    WHEN x.clock_start IS NULL OR as_of - x.clock_start < min_wait_days THEN 'WAIT_BELOW_MIN'
                    WHEN x.tci_date IS NOT NULL AND x.tci_date - as_of <= tci_horizon_days THEN 'TCI_WITHIN_8W'
               END AS ineligible
        FROM unnest(patients) x),
    s AS MATERIALIZED (SELECT y.* FROM unnest(slots) y),
    pairs AS MATERIALIZED (
        SELECT p.patient_key, s.slot_id, s.slot_date, s.provider, s.site_code, p.wait, p.clock_start,
               d.miles,
               CASE WHEN s.specialty IS DISTINCT FROM p.specialty OR s.provider IS NOT DISTINCT FROM p.origin
                         OR NOT (s.accepted_groups IS NULL
                                 OR EXISTS (SELECT 1 FROM unnest(s.accepted_groups) g
                                            WHERE p.procedure_code LIKE g || '%')) THEN 0
                    WHEN ptl.capability_rank(s.capability) < coalesce(ptl.capability_rank(p.required_capability), 1) THEN 1
                    WHEN p.radius_miles IS NOT NULL AND (d.miles IS NULL OR d.miles > p.radius_miles + 1e-9) THEN 2
                    WHEN s.slot_date < as_of + lead_days THEN 3
                    WHEN p.expected_date IS NOT NULL AND p.expected_date - s.slot_date < min_gain_days THEN 4
                    ELSE 5 END AS stage,
               CASE WHEN p.expected_date IS NOT NULL THEN p.expected_date - s.slot_date END AS saving
        FROM p CROSS JOIN s
        CROSS JOIN LATERAL (SELECT ptl.haversine_miles(p.latitude, p.longitude, s.latitude, s.longitude) AS miles) d
        WHERE p.ineligible IS NULL),
    feasible AS (SELECT * FROM pairs WHERE stage = 5),
    chosen AS MATERIALIZED (
        SELECT m.patient, m.slot
        FROM (SELECT array_agg(f.patient_key) AS pk, array_agg(f.slot_id) AS sk, array_agg(f.wait) AS w,
                     array_agg(f.clock_start) AS cs, array_agg(f.slot_date) AS sd,
                     array_agg(coalesce(f.miles, 'Infinity')) AS dist,
                     array_agg(coalesce(f.saving, greatest(0, 3650 - (f.slot_date - as_of)))) AS sv
              FROM feasible f) a,
             ptl.mutual_aid_match(a.pk, a.sk, a.w, a.cs, a.sd, a.dist, a.sv, mode = 'optimal') m),
    progress AS (
        SELECT x.patient_key,
               max(x.stage) FILTER (WHERE x.stage < 5) AS best_failing,
               count(*) FILTER (WHERE x.stage = 5)::int AS feasible
        FROM pairs x GROUP BY x.patient_key)
    SELECT p.patient_key, p.origin, f.provider, f.site_code, f.slot_id, f.slot_date, f.miles, f.saving,
           p.wait, mutual_aid_plan.mode,
           CASE WHEN c.patient IS NOT NULL THEN 'SUGGESTED'
                WHEN p.ineligible IS NOT NULL THEN p.ineligible
                WHEN coalesce(g.best_failing, 0) = 0 AND g.feasible > 0 THEN 'SLOT_TAKEN'
                ELSE (ARRAY['NO_SLOT', 'NO_CAPABILITY', 'OUT_OF_RADIUS', 'LEAD_TIME', 'NO_GAIN'])
                     [coalesce(g.best_failing, 0) + 1] END,
           CASE WHEN p.ineligible IS NULL AND c.patient IS NULL THEN coalesce(g.feasible, 0) END
    FROM p
    LEFT JOIN chosen c ON c.patient = p.patient_key
    LEFT JOIN pairs f ON f.patient_key = c.patient AND f.slot_id = c.slot
    LEFT JOIN progress g ON g.patient_key = p.patient_key
    ORDER BY c.patient IS NULL, p.wait DESC NULLS LAST, p.clock_start, p.patient_key;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_plan(ptl.aid_patient[], ptl.aid_slot[], date, text, int, int, int, int, ptl.clinical_priority[]) IS
    'The mutual aid suggestion algorithm (clinical-theatre.md section 6) on the patients and slots given: one row per patient, a suggested slot with distance and days saved, or the reason there is none; mode greedy (longest wait first, earliest slot) or optimal (most wait-days served, then most days saved)';
