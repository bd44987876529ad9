-- ---------------------------------------------------------------------------
-- aid/mutual_aid: providers ask for help and offer capacity; ptl suggests
-- which long waiters to move where (docs/ics.md, "Mutual aid"), and
-- records a move as an inter-provider transfer whose clock continues.
-- ---------------------------------------------------------------------------

-- Great-circle distance in miles (haversine, mean Earth radius 3958.8 miles).
CREATE FUNCTION ptl.haversine_miles(lat1 float8, lon1 float8, lat2 float8, lon2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- (clamped at 1 so rounding near antipodal points cannot push asin out of range)
SELECT 2 * 3958.8 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                                       + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
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
-- The suggestion algorithm on inputs the caller gives (docs/ics.md,
-- "Mutual aid").  ptl.mutual_aid_suggestions builds the inputs from the PTL.
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
    expected_date       date,
    risk_needs          text[]
);
COMMENT ON TYPE ptl.aid_patient IS
    'A patient offered to ptl.mutual_aid_plan: an incomplete admitted pathway at its origin provider (docs/ics.md)';
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
COMMENT ON COLUMN ptl.aid_patient.risk_needs IS
    'What the patient''s risk needs of a site by the setting rules: inpatient_beds, level2, critical_care (NULL: nothing; docs/theatre.md)';

CREATE TYPE ptl.aid_slot AS (
    slot_id             bigint,
    provider            text,
    site_code           text,
    latitude            float8,
    longitude           float8,
    specialty           text,
    accepted_groups     text[],
    slot_date           date,
    capability          text,
    site_capabilities   text[]
);
COMMENT ON TYPE ptl.aid_slot IS 'One patient-sized unit of offered capacity, offered to ptl.mutual_aid_plan (docs/ics.md)';
COMMENT ON COLUMN ptl.aid_slot.slot_id IS 'The slot''s key (unique in one call)';
COMMENT ON COLUMN ptl.aid_slot.provider IS 'Provider offering it';
COMMENT ON COLUMN ptl.aid_slot.site_code IS 'Site where it is';
COMMENT ON COLUMN ptl.aid_slot.latitude IS 'Latitude of the site';
COMMENT ON COLUMN ptl.aid_slot.longitude IS 'Longitude of the site';
COMMENT ON COLUMN ptl.aid_slot.specialty IS 'Treatment function';
COMMENT ON COLUMN ptl.aid_slot.accepted_groups IS 'Procedure groups it takes, as OPCS-4 code prefixes (e.g. W37, W40); NULL: any';
COMMENT ON COLUMN ptl.aid_slot.slot_date IS 'Date of the slot';
COMMENT ON COLUMN ptl.aid_slot.capability IS 'daycase, inpatient or level2: the most the site can look after';
COMMENT ON COLUMN ptl.aid_slot.site_capabilities IS
    'What the site offers a patient''s risk needs (ptl.site_care_capability: inpatient_beds, level2, critical_care; NULL: not given, no risk need is checked)';

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

-- Eligibility (6.2) and feasibility (6.3) of every patient against every
-- slot: one row per ineligible patient (slot columns NULL), and one per
-- eligible patient and slot of its specialty at another provider (or one
-- with no slot when there is none) with the stage it reached: 0 procedure
-- group not accepted, 1 capability, 2 the site does not offer what the
-- patient's risk needs (docs/theatre.md), 3 radius, 4 lead time, 5 gain, 6
-- feasible.  Slots of other specialties or of the patient's own provider
-- are left out: they fail the first test whatever else holds.  A distance
-- that cannot be computed (no coordinates) fails a radius, never a
-- national search.
CREATE FUNCTION ptl.mutual_aid_pairs(patients ptl.aid_patient[], slots ptl.aid_slot[], as_of date,
                                     min_wait_days int DEFAULT 280, tci_horizon_days int DEFAULT 56,
                                     lead_days int DEFAULT 14, min_gain_days int DEFAULT 28,
                                     categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (patient_key bigint, origin text, wait_days int, clock_start date, ineligible text,
               slot_id bigint, destination text, site_code text, slot_date date, distance_miles float8,
               stage int, days_saved int)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
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
                    WHEN x.priority IS NULL OR NOT x.priority = ANY (categories) THEN 'CATEGORY'
                    WHEN x.clock_start IS NULL OR as_of - x.clock_start < min_wait_days THEN 'WAIT_BELOW_MIN'
                    WHEN x.tci_date IS NOT NULL AND x.tci_date - as_of <= tci_horizon_days THEN 'TCI_WITHIN_8W'
               END AS why_not
        FROM unnest(patients) x),
    s AS MATERIALIZED (SELECT y.* FROM unnest(slots) y)
    SELECT p.patient_key, p.origin, p.wait, p.clock_start, p.why_not,
           NULL::bigint, NULL::text, NULL::text, NULL::date, NULL::float8, NULL::int, NULL::int
    FROM p WHERE p.why_not IS NOT NULL
    UNION ALL
    SELECT p.patient_key, p.origin, p.wait, p.clock_start, NULL, s.slot_id, s.provider, s.site_code, s.slot_date,
           d.miles,
           CASE WHEN s.slot_id IS NULL THEN NULL
                WHEN NOT (s.accepted_groups IS NULL
                             OR EXISTS (SELECT 1 FROM unnest(s.accepted_groups) g
                                        WHERE p.procedure_code LIKE g || '%')) THEN 0
                WHEN ptl.capability_rank(s.capability) < coalesce(ptl.capability_rank(p.required_capability), 1) THEN 1
                WHEN s.site_capabilities IS NOT NULL AND NOT coalesce(p.risk_needs, '{}') <@ s.site_capabilities THEN 2
                WHEN p.radius_miles IS NOT NULL AND (d.miles IS NULL OR d.miles > p.radius_miles + 1e-9) THEN 3
                WHEN s.slot_date < as_of + lead_days THEN 4
                WHEN p.expected_date IS NOT NULL AND p.expected_date - s.slot_date < min_gain_days THEN 5
                ELSE 6 END,
           CASE WHEN p.expected_date IS NOT NULL THEN p.expected_date - s.slot_date END
    FROM p LEFT JOIN s ON s.specialty = p.specialty AND s.provider IS DISTINCT FROM p.origin
    CROSS JOIN LATERAL (SELECT ptl.haversine_miles(p.latitude, p.longitude, s.latitude, s.longitude) AS miles) d
    WHERE p.why_not IS NULL;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_pairs(ptl.aid_patient[], ptl.aid_slot[], date, int, int, int, int, ptl.clinical_priority[]) IS
    'Eligibility (docs/ics.md) of each patient and feasibility of each eligible patient with each slot: the failing eligibility test, or the stage a pair reached (6 = feasible) with its distance and days saved';

-- Every patient gets one row: a suggestion (reason SUGGESTED), or the first
-- eligibility test it fails, or, for an eligible patient left without a
-- slot, the furthest any slot it could not use got through the tests of
-- 6.3, in their order: NO_SLOT (no slot of its specialty and procedure
-- group at another provider), NO_CAPABILITY, RISK_NEEDS_UNMET (the site
-- does not offer what the patient's risk needs), OUT_OF_RADIUS, LEAD_TIME,
-- NO_GAIN (WE-45 reports p2 this way: NO_CAPABILITY, although q1 would
-- have done had p1 not taken it).  feasible_slots_taken counts the slots
-- that would have done but went to others; SLOT_TAKEN is the reason when
-- those were its only candidates.  Expected date NULL (no treatments at
-- the origin lately) counts as any slot saving time; its days_saved is
-- NULL and the optimal mode weighs it as a saving of ten years less the
-- slot's distance in time.
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
    RETURN QUERY
    WITH pairs AS MATERIALIZED (
        SELECT * FROM ptl.mutual_aid_pairs(patients, slots, as_of, min_wait_days, tci_horizon_days, lead_days,
                                           min_gain_days, categories)),
    chosen AS MATERIALIZED (
        SELECT m.patient, m.slot
        FROM (SELECT array_agg(f.patient_key) AS pk, array_agg(f.slot_id) AS sk, array_agg(f.wait_days) AS w,
                     array_agg(f.clock_start) AS cs, array_agg(f.slot_date) AS sd,
                     array_agg(coalesce(f.distance_miles, 'Infinity')) AS dist,
                     array_agg(coalesce(f.days_saved, greatest(0, 3650 - (f.slot_date - as_of)))) AS sv
              FROM pairs f WHERE f.stage = 6) a,
             ptl.mutual_aid_match(a.pk, a.sk, a.w, a.cs, a.sd, a.dist, a.sv, mode = 'optimal') m),
    patient AS (
        SELECT x.patient_key, min(x.origin) AS origin, min(x.wait_days) AS wait, min(x.clock_start) AS clock_start,
               min(x.ineligible) AS ineligible,
               max(x.stage) FILTER (WHERE x.stage < 6) AS best_failing,
               count(*) FILTER (WHERE x.stage = 6)::int AS feasible
        FROM pairs x GROUP BY x.patient_key)
    SELECT p.patient_key, p.origin, f.destination, f.site_code, f.slot_id, f.slot_date, f.distance_miles,
           f.days_saved, p.wait, mutual_aid_plan.mode,
           CASE WHEN c.patient IS NOT NULL THEN 'SUGGESTED'
                WHEN p.ineligible IS NOT NULL THEN p.ineligible
                WHEN coalesce(p.best_failing, 0) = 0 AND p.feasible > 0 THEN 'SLOT_TAKEN'
                ELSE (ARRAY['NO_SLOT', 'NO_CAPABILITY', 'RISK_NEEDS_UNMET', 'OUT_OF_RADIUS', 'LEAD_TIME', 'NO_GAIN'])
                     [coalesce(p.best_failing, 0) + 1] END,
           CASE WHEN p.ineligible IS NULL AND c.patient IS NULL THEN p.feasible END
    FROM patient p
    LEFT JOIN chosen c ON c.patient = p.patient_key
    LEFT JOIN pairs f ON f.patient_key = c.patient AND f.slot_id = c.slot
    ORDER BY c.patient IS NULL, p.wait DESC NULLS LAST, p.clock_start, p.patient_key;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_plan(ptl.aid_patient[], ptl.aid_slot[], date, text, int, int, int, int, ptl.clinical_priority[]) IS
    'The mutual aid suggestion algorithm (docs/ics.md) on the patients and slots given: one row per patient, a suggested slot with distance and days saved, or the reason there is none; mode greedy (longest wait first, earliest slot) or optimal (most wait-days served, then most days saved)';

-- ---------------------------------------------------------------------------
-- Requests, offers and their slots, patients' wishes, and moves.
-- ---------------------------------------------------------------------------

-- What a patient said about moving, and the origin's clinical review.
CREATE TABLE ptl.transfer_preference (
    pathway_id          bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id),
    opted_in            boolean NOT NULL,
    radius_miles        float8 CHECK (radius_miles > 0),
    recorded_on         date NOT NULL DEFAULT current_date,
    clinician_veto      boolean NOT NULL DEFAULT false,
    veto_reason         text,
    required_capability text CHECK (required_capability IN ('daycase', 'inpatient', 'level2')),
    tertiary_referral   boolean,
    recorded_by         text NOT NULL DEFAULT current_user,
    CHECK (NOT clinician_veto OR veto_reason IS NOT NULL),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT transfer_preference_recorded_on_in_range CHECK (ptl.in_storage_range(recorded_on))
);
COMMENT ON TABLE ptl.transfer_preference IS
    'Whether a patient will move provider for treatment and how far (PIDMAS), with the origin''s clinical and social suitability review';
COMMENT ON COLUMN ptl.transfer_preference.pathway_id IS 'The pathway record at the origin';
COMMENT ON COLUMN ptl.transfer_preference.opted_in IS 'The patient asked (or agreed) to be considered for a move';
COMMENT ON COLUMN ptl.transfer_preference.radius_miles IS 'How far the patient will travel: 50 or 100 miles, or NULL for anywhere in England';
COMMENT ON COLUMN ptl.transfer_preference.recorded_on IS 'Date the patient said so';
COMMENT ON COLUMN ptl.transfer_preference.clinician_veto IS 'The clinical review found the patient unsuitable to move';
COMMENT ON COLUMN ptl.transfer_preference.veto_reason IS 'Why (required with a veto)';
COMMENT ON COLUMN ptl.transfer_preference.required_capability IS 'Override of the care the patient needs (daycase, inpatient, level2); NULL: from the waiting-list entry';
COMMENT ON COLUMN ptl.transfer_preference.tertiary_referral IS 'Override of whether this is a tertiary referral; NULL: from the pathway''s first event';
COMMENT ON COLUMN ptl.transfer_preference.recorded_by IS 'Who recorded it';

-- A tertiary referral: the record's first event is a transfer in from
-- another provider (Cambridge's PIDMAS reading: referred from another
-- hospital), unless the preference recorded says otherwise.
CREATE FUNCTION ptl.tertiary_referral(pathway_id bigint) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce((SELECT tp.tertiary_referral FROM ptl.transfer_preference tp
                 WHERE tp.pathway_id = tertiary_referral.pathway_id),
                (SELECT e.kind = 'transfer_in' FROM ptl.pathway_event e
                 WHERE e.pathway_id = tertiary_referral.pathway_id
                 ORDER BY e.event_date, e.event_id LIMIT 1),
                false)
$$;
COMMENT ON FUNCTION ptl.tertiary_referral(bigint) IS
    'Whether a pathway record is a tertiary referral: ptl.transfer_preference.tertiary_referral when recorded, else whether its first event is a transfer in from another provider';

-- States: a request or offer is open, then agreed (a partner is found),
-- then completed; or it ends withdrawn, declined or expired.
CREATE FUNCTION ptl_internal.mutual_aid_state_allowed(old_state text, new_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT old_state = new_state
    OR (old_state, new_state) IN (('open', 'agreed'), ('agreed', 'completed'), ('open', 'withdrawn'),
                                  ('agreed', 'withdrawn'), ('open', 'declined'), ('open', 'expired'),
                                  ('agreed', 'open'))
$$;
COMMENT ON FUNCTION ptl_internal.mutual_aid_state_allowed(text, text) IS
    'Whether a mutual aid request or offer may go from one state to another: open -> agreed -> completed; open or agreed -> withdrawn; open -> declined or expired; agreed -> open (the agreement fell through)';

CREATE TABLE ptl.mutual_aid_request (
    request_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    requesting_org      text NOT NULL REFERENCES ptl.organisation (org_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    procedure_groups    text[],
    patients            int NOT NULL CHECK (patients > 0),
    min_wait_weeks      int CHECK (min_wait_weeks >= 0),
    needed_from         date NOT NULL,
    needed_until        date NOT NULL,
    cohort              text,
    state               text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'agreed', 'completed', 'withdrawn', 'declined', 'expired')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    CHECK (needed_until >= needed_from),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT mutual_aid_request_needed_from_in_range CHECK (ptl.in_storage_range(needed_from)),
    CONSTRAINT mutual_aid_request_needed_until_in_range CHECK (ptl.in_storage_range(needed_until)),
    CONSTRAINT mutual_aid_request_created_at_in_range CHECK (ptl.in_storage_range(created_at))
);
COMMENT ON TABLE ptl.mutual_aid_request IS 'A provider asks the ICS for help with a cohort of its waiting list';
COMMENT ON COLUMN ptl.mutual_aid_request.request_id IS 'Request number';
COMMENT ON COLUMN ptl.mutual_aid_request.requesting_org IS 'Provider asking for help';
COMMENT ON COLUMN ptl.mutual_aid_request.treatment_function IS 'Treatment function of the cohort';
COMMENT ON COLUMN ptl.mutual_aid_request.procedure_groups IS 'Procedures of the cohort as OPCS-4 prefixes (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_request.patients IS 'How many patients it wants treated elsewhere';
COMMENT ON COLUMN ptl.mutual_aid_request.min_wait_weeks IS 'Patients waiting at least this long (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_request.needed_from IS 'First date treatment elsewhere would help';
COMMENT ON COLUMN ptl.mutual_aid_request.needed_until IS 'Last date';
COMMENT ON COLUMN ptl.mutual_aid_request.cohort IS 'The cohort in words';
COMMENT ON COLUMN ptl.mutual_aid_request.state IS 'open, agreed, completed, withdrawn, declined or expired';
COMMENT ON COLUMN ptl.mutual_aid_request.created_at IS 'When it was raised';
COMMENT ON COLUMN ptl.mutual_aid_request.created_by IS 'Who raised it';

CREATE TABLE ptl.mutual_aid_offer (
    offer_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    offering_org        text NOT NULL REFERENCES ptl.organisation (org_code),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    accepted_groups     text[],
    capability          text NOT NULL CHECK (capability IN ('daycase', 'inpatient', 'level2')),
    available_from      date NOT NULL,
    available_until     date NOT NULL,
    sessions            int CHECK (sessions > 0),
    conditions          text,
    request_id          bigint REFERENCES ptl.mutual_aid_request (request_id),
    state               text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'agreed', 'completed', 'withdrawn', 'declined', 'expired')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    CHECK (available_until >= available_from),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT mutual_aid_offer_available_from_in_range CHECK (ptl.in_storage_range(available_from)),
    CONSTRAINT mutual_aid_offer_available_until_in_range CHECK (ptl.in_storage_range(available_until)),
    CONSTRAINT mutual_aid_offer_created_at_in_range CHECK (ptl.in_storage_range(created_at))
);
COMMENT ON TABLE ptl.mutual_aid_offer IS 'A provider offers capacity to the ICS: a specialty at a site, for procedures it accepts, over dates; its slots are in ptl.mutual_aid_slot';
COMMENT ON COLUMN ptl.mutual_aid_offer.offer_id IS 'Offer number';
COMMENT ON COLUMN ptl.mutual_aid_offer.offering_org IS 'Provider offering';
COMMENT ON COLUMN ptl.mutual_aid_offer.site_code IS 'Site where patients would be treated';
COMMENT ON COLUMN ptl.mutual_aid_offer.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_offer.accepted_groups IS 'Procedures accepted as OPCS-4 prefixes, e.g. {W37,W40} (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_offer.capability IS 'Most the site can look after: daycase, inpatient or level2';
COMMENT ON COLUMN ptl.mutual_aid_offer.available_from IS 'First date';
COMMENT ON COLUMN ptl.mutual_aid_offer.available_until IS 'Last date';
COMMENT ON COLUMN ptl.mutual_aid_offer.sessions IS 'Theatre sessions offered, when offered by session';
COMMENT ON COLUMN ptl.mutual_aid_offer.conditions IS 'Conditions in words (e.g. ASA 1-2 only, own pre-assessment)';
COMMENT ON COLUMN ptl.mutual_aid_offer.request_id IS 'The request it answers, if any';
COMMENT ON COLUMN ptl.mutual_aid_offer.state IS 'open, agreed, completed, withdrawn, declined or expired';
COMMENT ON COLUMN ptl.mutual_aid_offer.created_at IS 'When it was made';
COMMENT ON COLUMN ptl.mutual_aid_offer.created_by IS 'Who made it';

CREATE TABLE ptl.mutual_aid_slot (
    slot_id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    offer_id            bigint NOT NULL REFERENCES ptl.mutual_aid_offer (offer_id),
    slot_date           date NOT NULL,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT mutual_aid_slot_slot_date_in_range CHECK (ptl.in_storage_range(slot_date))
);
CREATE INDEX mutual_aid_slot_offer_idx ON ptl.mutual_aid_slot (offer_id, slot_date);
COMMENT ON TABLE ptl.mutual_aid_slot IS 'One patient-sized unit of an offer on a date';
COMMENT ON COLUMN ptl.mutual_aid_slot.slot_id IS 'Slot number';
COMMENT ON COLUMN ptl.mutual_aid_slot.offer_id IS 'The offer';
COMMENT ON COLUMN ptl.mutual_aid_slot.slot_date IS 'Date a patient would be treated';

CREATE TABLE ptl.mutual_aid_transfer (
    transfer_id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    slot_id                 bigint NOT NULL REFERENCES ptl.mutual_aid_slot (slot_id),
    destination_pathway_id  bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    transfer_date           date NOT NULL,
    clock_start             date,
    wait_days               int,
    days_saved              int,
    created_at              timestamptz NOT NULL DEFAULT now(),
    created_by              text NOT NULL DEFAULT current_user,
    UNIQUE (slot_id),
    UNIQUE (pathway_id),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT mutual_aid_transfer_transfer_date_in_range CHECK (ptl.in_storage_range(transfer_date)),
    CONSTRAINT mutual_aid_transfer_clock_start_in_range CHECK (ptl.in_storage_range(clock_start)),
    CONSTRAINT mutual_aid_transfer_created_at_in_range CHECK (ptl.in_storage_range(created_at))
);
COMMENT ON TABLE ptl.mutual_aid_transfer IS
    'Patients moved under mutual aid: the origin record, the slot, the record created at the destination, and the clock that continued';
COMMENT ON COLUMN ptl.mutual_aid_transfer.transfer_id IS 'Transfer number';
COMMENT ON COLUMN ptl.mutual_aid_transfer.pathway_id IS 'Pathway record at the origin (now transferred out)';
COMMENT ON COLUMN ptl.mutual_aid_transfer.slot_id IS 'Slot the patient took';
COMMENT ON COLUMN ptl.mutual_aid_transfer.destination_pathway_id IS 'Pathway record created at the destination (same PPID and issuer)';
COMMENT ON COLUMN ptl.mutual_aid_transfer.transfer_date IS 'Date clinical responsibility moved';
COMMENT ON COLUMN ptl.mutual_aid_transfer.clock_start IS 'The RTT clock start, which the destination continues';
COMMENT ON COLUMN ptl.mutual_aid_transfer.wait_days IS 'Days waited at the transfer';
COMMENT ON COLUMN ptl.mutual_aid_transfer.days_saved IS 'Expected days saved (origin''s expected date less the slot date) when suggested';
COMMENT ON COLUMN ptl.mutual_aid_transfer.created_at IS 'When recorded';
COMMENT ON COLUMN ptl.mutual_aid_transfer.created_by IS 'Who recorded it';

-- Every change of state, kept for audit.
CREATE TABLE ptl.mutual_aid_state_change (
    change_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('request', 'offer')),
    id              bigint NOT NULL,
    old_state       text NOT NULL,
    new_state       text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL DEFAULT current_user,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT mutual_aid_state_change_changed_at_in_range CHECK (ptl.in_storage_range(changed_at))
);
COMMENT ON TABLE ptl.mutual_aid_state_change IS 'Every change of state of a mutual aid request or offer: who, when, from and to';
COMMENT ON COLUMN ptl.mutual_aid_state_change.change_id IS 'Change number';
COMMENT ON COLUMN ptl.mutual_aid_state_change.kind IS 'request or offer';
COMMENT ON COLUMN ptl.mutual_aid_state_change.id IS 'Request or offer number';
COMMENT ON COLUMN ptl.mutual_aid_state_change.old_state IS 'State before';
COMMENT ON COLUMN ptl.mutual_aid_state_change.new_state IS 'State after';
COMMENT ON COLUMN ptl.mutual_aid_state_change.changed_at IS 'When';
COMMENT ON COLUMN ptl.mutual_aid_state_change.changed_by IS 'Database user';

-- Only changes are guarded: a row may be recorded in any state (a request
-- agreed outside ptl, or rows a restore brings back), and its creation is
-- in created_at / created_by.
CREATE FUNCTION ptl_internal.mutual_aid_state_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text := CASE TG_TABLE_NAME WHEN 'mutual_aid_request' THEN 'request' ELSE 'offer' END;
    id bigint := CASE TG_TABLE_NAME WHEN 'mutual_aid_request' THEN (to_jsonb(NEW) ->> 'request_id')::bigint
                                    ELSE (to_jsonb(NEW) ->> 'offer_id')::bigint END;
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT ptl_internal.mutual_aid_state_allowed(OLD.state, NEW.state) THEN
            RAISE EXCEPTION 'mutual aid % % cannot go from % to %', kind, id, OLD.state, NEW.state
                USING ERRCODE = 'check_violation',
                      HINT = 'open -> agreed -> completed; open or agreed -> withdrawn; open -> declined or expired; agreed -> open.';
        END IF;
        INSERT INTO ptl.mutual_aid_state_change (kind, id, old_state, new_state) VALUES (kind, id, OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION ptl_internal.mutual_aid_state_guard() IS
    'Trigger: refuses a state change mutual_aid_state_allowed does not allow and records every change in ptl.mutual_aid_state_change';
CREATE TRIGGER mutual_aid_request_state BEFORE UPDATE OF state ON ptl.mutual_aid_request
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.mutual_aid_state_guard();
CREATE TRIGGER mutual_aid_offer_state BEFORE UPDATE OF state ON ptl.mutual_aid_offer
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.mutual_aid_state_guard();

-- Spreads `slots` slots over the weekdays of an offer's dates, evenly, the
-- first on the first weekday; returns how many it added.
CREATE FUNCTION ptl.add_mutual_aid_slots(offer_id bigint, slots int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    o ptl.mutual_aid_offer;
    days date[];
    added int;
BEGIN
    SELECT * INTO o FROM ptl.mutual_aid_offer x WHERE x.offer_id = add_mutual_aid_slots.offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mutual aid offer % does not exist', offer_id USING ERRCODE = 'no_data_found';
    END IF;
    IF slots IS NULL OR slots < 1 THEN
        RAISE EXCEPTION 'invalid number of slots: %', slots
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Add one slot or more.';
    END IF;
    SELECT array_agg(d::date ORDER BY d) INTO days
    FROM generate_series(o.available_from, o.available_until, interval '1 day') d
    WHERE extract(isodow FROM d) < 6;
    IF days IS NULL THEN
        RAISE EXCEPTION 'mutual aid offer % has no weekday between % and %', offer_id, o.available_from, o.available_until
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO ptl.mutual_aid_slot (offer_id, slot_date)
    SELECT o.offer_id, days[1 + ((k - 1) * cardinality(days)) / slots]
    FROM generate_series(1, slots) k;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END $$;
COMMENT ON FUNCTION ptl.add_mutual_aid_slots(bigint, int) IS
    'Adds `slots` patient slots to an offer, spread evenly over the weekdays of its dates; returns how many';

-- Slots still free, of offers open or agreed.
CREATE VIEW ptl.mutual_aid_free_slot AS
SELECT s.slot_id, o.offer_id, o.offering_org, o.site_code, l.latitude, l.longitude, o.treatment_function,
       o.accepted_groups, s.slot_date, o.capability, c.capabilities AS site_capabilities
FROM ptl.mutual_aid_slot s
JOIN ptl.mutual_aid_offer o ON o.offer_id = s.offer_id AND o.state IN ('open', 'agreed')
JOIN ptl.site_location l ON l.site_code = o.site_code
JOIN ptl.site_care_capability c ON c.site_code = o.site_code
WHERE NOT EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.slot_id = s.slot_id);
COMMENT ON VIEW ptl.mutual_aid_free_slot IS 'Slots of open or agreed offers that no patient has taken';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.slot_id IS 'Slot';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.offer_id IS 'Offer';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.offering_org IS 'Provider offering';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.site_code IS 'Site';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.latitude IS 'Site latitude';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.longitude IS 'Site longitude';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.accepted_groups IS 'Procedures accepted (OPCS-4 prefixes; NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.slot_date IS 'Date';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.capability IS 'daycase, inpatient or level2';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.site_capabilities IS 'What the site offers a patient''s risk needs (ptl.site_care_capability)';

-- The admitted PTL as mutual aid sees it.  E_o (6.1): rank is the list
-- position on the provider's admitted list of the treatment function, and
-- throughput the admitted clock stops of that list per week over the last
-- 12 weeks; E_o = census + 7 ceil(rank / throughput), NULL when nothing was
-- admitted lately.  ptl ranks by treatment function, not procedure group,
-- because that is the list a provider works through.  Capability comes from
-- intended management (day case, else inpatient) unless the preference or
-- the procedure's requirements (equipment 'level2') say more.  What the
-- patient's risk needs of a site comes from the setting rules at the census
-- (src/theatre/setting.sql).
CREATE VIEW ptl.mutual_aid_candidate AS
WITH throughput AS (
    SELECT p.provider_org, p.treatment_function, count(*) / 12.0 AS per_week
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    WHERE r.outcome = 'admitted' AND r.clock_stop > rp.census - 84 AND r.clock_stop <= rp.census
    GROUP BY p.provider_org, p.treatment_function)
SELECT l.pathway_id, l.provider_org, l.site_code, l.treatment_function, l.census, l.clock_start, l.days_waited,
       l.clinical_priority, l.procedure_code, coalesce(l.tci_date, l.next_booked_date) AS tci_date,
       extract(year FROM age(l.census, pa.date_of_birth))::int AS age,
       ptl.tertiary_referral(l.pathway_id) AS tertiary_referral,
       coalesce(tp.opted_in, false) AS opted_in, tp.radius_miles,
       coalesce(home.latitude, origin.latitude) AS latitude,
       coalesce(home.longitude, origin.longitude) AS longitude,
       coalesce(tp.required_capability,
                CASE WHEN EXISTS (SELECT 1 FROM ptl.procedure_requirement q
                                  WHERE l.procedure_code LIKE q.procedure_code || '%' AND q.equipment = 'level2')
                     THEN 'level2'
                     WHEN w.intended_management = '2' THEN 'daycase' ELSE 'inpatient' END) AS required_capability,
       coalesce(tp.clinician_veto, false) AS clinician_veto,
       l.order_group = 'set_aside' AS suspended,
       l.list_position,
       CASE WHEN t.per_week > 0 AND l.list_position IS NOT NULL
            THEN l.census + 7 * ceil(l.list_position / t.per_week)::int END AS expected_date,
       coalesce(n.needs, '{}') AS risk_needs,
       coalesce(n.rules, '{}') AS risk_rules
FROM ptl.ptl l
JOIN ptl.patient pa ON pa.patient_id = l.patient_id
JOIN ptl.waiting_list_entry w ON w.entry_id = l.waiting_list_entry_id
LEFT JOIN ptl.transfer_preference tp ON tp.pathway_id = l.pathway_id
LEFT JOIN ptl.postcode_district home ON home.district = ptl.postcode_district_of(pa.postcode)
LEFT JOIN ptl.site_location origin ON origin.site_code = l.site_code
LEFT JOIN throughput t ON t.provider_org = l.provider_org AND t.treatment_function = l.treatment_function
LEFT JOIN ptl.setting_need_at((SELECT max(r.census) FROM ptl.rtt_pathway r)) n ON n.entry_id = l.waiting_list_entry_id;
COMMENT ON VIEW ptl.mutual_aid_candidate IS
    'Patients on the admitted PTL with what mutual aid needs to know: wishes, travel origin, capability needed, and the expected treatment date at the origin (E_o, docs/ics.md)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.pathway_id IS 'Pathway record at the origin';
COMMENT ON COLUMN ptl.mutual_aid_candidate.provider_org IS 'Origin provider';
COMMENT ON COLUMN ptl.mutual_aid_candidate.site_code IS 'Origin site';
COMMENT ON COLUMN ptl.mutual_aid_candidate.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_candidate.census IS 'Census of the PTL';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clock_start IS 'RTT clock start';
COMMENT ON COLUMN ptl.mutual_aid_candidate.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clinical_priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.mutual_aid_candidate.procedure_code IS 'Intended procedure';
COMMENT ON COLUMN ptl.mutual_aid_candidate.tci_date IS 'Admission date booked (the entry''s TCI, else the next booked admission)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.age IS 'Age in years at the census';
COMMENT ON COLUMN ptl.mutual_aid_candidate.tertiary_referral IS 'Referred on by another hospital';
COMMENT ON COLUMN ptl.mutual_aid_candidate.opted_in IS 'The patient will consider moving';
COMMENT ON COLUMN ptl.mutual_aid_candidate.radius_miles IS 'How far (NULL: anywhere)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.latitude IS 'Travel origin: home postcode district, else the origin site';
COMMENT ON COLUMN ptl.mutual_aid_candidate.longitude IS 'Travel origin longitude';
COMMENT ON COLUMN ptl.mutual_aid_candidate.required_capability IS 'daycase, inpatient or level2';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clinician_veto IS 'Clinical review says do not move';
COMMENT ON COLUMN ptl.mutual_aid_candidate.suspended IS 'Set aside on the list (P5, P6 or suspended)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.list_position IS 'Place on the origin''s admitted list';
COMMENT ON COLUMN ptl.mutual_aid_candidate.expected_date IS 'Expected treatment date at the origin at its recent admission rate (NULL: none lately)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.risk_needs IS
    'What the patient''s risk needs of a site at the census (ptl.setting_need_at): inpatient_beds, level2, critical_care';
COMMENT ON COLUMN ptl.mutual_aid_candidate.risk_rules IS 'The setting rules that ask for them (ptl.setting_rule_in_force)';

CREATE FUNCTION ptl.mutual_aid_suggestions(mode text DEFAULT 'greedy', treatment_function text DEFAULT NULL,
                                           min_wait_days int DEFAULT 280, tci_horizon_days int DEFAULT 56,
                                           lead_days int DEFAULT 14, min_gain_days int DEFAULT 28,
                                           categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (pathway_id bigint, origin text, destination text, site_code text, slot_id bigint,
               slot_date date, distance_miles float8, days_saved int, wait_days int, plan_mode text,
               reason text, feasible_slots_taken int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT m.*
FROM (SELECT array_agg(ROW(c.pathway_id, c.provider_org, c.treatment_function, c.procedure_code, c.clock_start,
                           c.clinical_priority, c.tci_date, c.age, c.tertiary_referral, c.opted_in, c.radius_miles,
                           c.latitude, c.longitude, c.required_capability, c.clinician_veto, c.suspended,
                           c.expected_date, c.risk_needs)::ptl.aid_patient) AS patients,
             max(c.census) AS census
      FROM ptl.mutual_aid_candidate c
      WHERE mutual_aid_suggestions.treatment_function IS NULL
         OR c.treatment_function = mutual_aid_suggestions.treatment_function) p,
     (SELECT coalesce(array_agg(ROW(f.slot_id, f.offering_org, f.site_code, f.latitude, f.longitude,
                                    f.treatment_function, f.accepted_groups, f.slot_date, f.capability,
                                    f.site_capabilities)::ptl.aid_slot),
                      '{}') AS slots
      FROM ptl.mutual_aid_free_slot f
      WHERE mutual_aid_suggestions.treatment_function IS NULL
         OR f.treatment_function = mutual_aid_suggestions.treatment_function) s,
     ptl.mutual_aid_plan(p.patients, s.slots, p.census, mutual_aid_suggestions.mode,
                         mutual_aid_suggestions.min_wait_days, mutual_aid_suggestions.tci_horizon_days,
                         mutual_aid_suggestions.lead_days, mutual_aid_suggestions.min_gain_days,
                         mutual_aid_suggestions.categories) m
$$;
COMMENT ON FUNCTION ptl.mutual_aid_suggestions(text, text, int, int, int, int, ptl.clinical_priority[]) IS
    'Mutual aid suggestions for the admitted PTL at the last refresh against the free slots of open and agreed offers: ptl.mutual_aid_plan on ptl.mutual_aid_candidate and ptl.mutual_aid_free_slot (one row per patient; suggestions first)';

-- The suggestions as a CSV file in a neutral layout, for a coordinator or
-- for NHS England's Digital Mutual Aid System, whose fields are not published:
-- who (NHS number and the pathway's PPID and issuer), from where to where,
-- when, what for, how long they have waited and what the move saves.
CREATE FUNCTION ptl.mutual_aid_suggestions_csv(mode text DEFAULT 'greedy', treatment_function text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT x.line FROM (
    SELECT 0 AS part, 0 AS wait_days, 0::bigint AS pathway_id,
           'nhs_number,ppid_issuer,ppid,origin,destination,site_code,slot_id,slot_date,treatment_function,'
           'procedure_code,clinical_priority,clock_start,wait_days,days_saved,distance_miles,mode' AS line
    UNION ALL
    SELECT 1, s.wait_days, s.pathway_id,
           concat_ws(',', ptl.csv_field(pa.nhs_number::text), ptl.csv_field(p.ppid_issuer), ptl.csv_field(p.ppid),
                     ptl.csv_field(s.origin), ptl.csv_field(s.destination), ptl.csv_field(s.site_code),
                     s.slot_id::text, s.slot_date::text, ptl.csv_field(p.treatment_function),
                     ptl.csv_field(w.procedure_code), coalesce(w.clinical_priority::text, ''),
                     (rp.census - s.wait_days)::text, s.wait_days::text, coalesce(s.days_saved::text, ''),
                     round(s.distance_miles::numeric, 1)::text, s.plan_mode)
    FROM ptl.mutual_aid_suggestions(mutual_aid_suggestions_csv.mode, mutual_aid_suggestions_csv.treatment_function) s
    JOIN ptl.pathway p ON p.pathway_id = s.pathway_id
    JOIN ptl.patient pa ON pa.patient_id = p.patient_id
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = s.pathway_id
    LEFT JOIN LATERAL (SELECT e.procedure_code, e.clinical_priority FROM ptl.waiting_list_entry e
                       WHERE e.pathway_id = s.pathway_id AND e.removed_date IS NULL
                       ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1) w ON true
    WHERE s.reason = 'SUGGESTED') x
ORDER BY x.part, x.wait_days DESC, x.pathway_id
$$;
COMMENT ON FUNCTION ptl.mutual_aid_suggestions_csv(text, text) IS
    'The mutual aid suggestions as CSV lines (a header, then one line per suggestion, longest wait first) in a neutral layout for coordinators or DMAS (docs/ics.md)';

-- Moves a patient to a mutual aid slot as an inter-provider transfer: the
-- clock continues (RTT guidance 11 and Annex C).  At the
-- origin the record gets a transfer_out event (status 21) and the waiting
-- list entry is removed as transferred; at the destination ptl creates the
-- patient record, a pathway record with the same PPID and issuer (so
-- linkage joins them), a transfer_in event (status 20) carrying the
-- original clock start, and a waiting-list entry with the same procedure,
-- priority and decision to admit.  The rows go in under a batch of the
-- destination with source system 'ptl_mutual_aid'.  The next refresh
-- computes the destination's clock from the original start.
CREATE FUNCTION ptl.transfer_for_mutual_aid(pathway_id bigint, slot_id bigint,
                                            transfer_date date DEFAULT current_date,
                                            days_saved int DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s record;
    p ptl.pathway;
    w ptl.waiting_list_entry;
    pa ptl.patient;
    start date;
    new_batch bigint;
    new_patient bigint;
    new_pathway bigint;
    new_transfer bigint;
    new_entry bigint;
BEGIN
    SELECT sl.slot_id, sl.slot_date, o.offer_id, o.offering_org, o.site_code, o.treatment_function, o.state
      INTO s
    FROM ptl.mutual_aid_slot sl JOIN ptl.mutual_aid_offer o ON o.offer_id = sl.offer_id
    WHERE sl.slot_id = transfer_for_mutual_aid.slot_id
    FOR UPDATE OF sl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mutual aid slot % does not exist', slot_id USING ERRCODE = 'no_data_found';
    END IF;
    IF s.state NOT IN ('open', 'agreed') THEN
        RAISE EXCEPTION 'mutual aid offer % is %, so its slot % cannot be used', s.offer_id, s.state, slot_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.slot_id = transfer_for_mutual_aid.slot_id) THEN
        RAISE EXCEPTION 'mutual aid slot % is already taken', slot_id
            USING ERRCODE = 'unique_violation', HINT = 'Ask ptl.mutual_aid_suggestions() again for a free slot.';
    END IF;
    SELECT * INTO p FROM ptl.pathway x WHERE x.pathway_id = transfer_for_mutual_aid.pathway_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pathway record % does not exist', pathway_id USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.pathway_id = p.pathway_id) THEN
        RAISE EXCEPTION 'pathway record % has already moved under mutual aid', p.pathway_id
            USING ERRCODE = 'unique_violation',
                  HINT = 'See ptl.mutual_aid_transfer; the destination''s record carries the pathway now.';
    END IF;
    IF p.provider_org = s.offering_org THEN
        RAISE EXCEPTION 'pathway record % is already at %', pathway_id, s.offering_org
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Mutual aid moves a patient to another provider.';
    END IF;
    IF p.treatment_function <> s.treatment_function THEN
        RAISE EXCEPTION 'pathway record % is in treatment function %, the slot is for %',
            pathway_id, p.treatment_function, s.treatment_function USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT r.clock_start INTO start
    FROM ptl.rtt_period r JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    WHERE r.pathway_id = p.pathway_id AND r.outcome = 'incomplete'
    ORDER BY r.period_no DESC LIMIT 1;
    IF start IS NULL THEN
        RAISE EXCEPTION 'pathway record % has no incomplete RTT period with a known clock start at the last refresh', pathway_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only patients waiting on the PTL can move; refresh first if the pathway is new.';
    END IF;
    IF transfer_date IS NULL OR transfer_date < start OR transfer_date > s.slot_date THEN
        RAISE EXCEPTION 'transfer date % must fall between the clock start % and the slot date %',
            transfer_date, start, s.slot_date USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO w FROM ptl.waiting_list_entry e
    WHERE e.pathway_id = p.pathway_id AND e.removed_date IS NULL
    ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1 FOR UPDATE;
    SELECT * INTO pa FROM ptl.patient x WHERE x.patient_id = p.patient_id;

    INSERT INTO ptl.batch (org_code, site_code, source_system, label, loaded_at, status)
    VALUES (s.offering_org, s.site_code, 'ptl_mutual_aid',
            format('mutual aid: pathway record %s from %s, slot %s', p.pathway_id, p.provider_org, s.slot_id),
            now(), 'loaded')
    RETURNING batch_id INTO new_batch;
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
                             given_name, family_name, date_of_birth, date_of_death, sex, postcode,
                             address_line_1, ethnic_category, lsoa_code, gp_practice_code, commissioner_code, batch_id,
                             town, telephone, email)
    VALUES (s.offering_org, 'ptl_mutual_aid', format('MA%s-%s', p.provider_org, pa.patient_id), pa.nhs_number,
            pa.nhs_number_as_recorded, pa.given_name, pa.family_name, pa.date_of_birth, pa.date_of_death, pa.sex,
            pa.postcode, pa.address_line_1, pa.ethnic_category, pa.lsoa_code, pa.gp_practice_code,
            pa.commissioner_code, new_batch, pa.town, pa.telephone, pa.email)
    ON CONFLICT (org_code, source_system, local_patient_id) DO UPDATE SET batch_id = excluded.batch_id
    RETURNING patient_id INTO new_patient;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, ubrn, treatment_function,
                             referral_priority, referral_received, commissioner_code, batch_id)
    VALUES (new_patient, s.offering_org, s.site_code, p.ppid, p.ppid_issuer, p.ubrn, p.treatment_function,
            p.referral_priority, transfer_date, p.commissioner_code, new_batch)
    RETURNING pathway_id INTO new_pathway;

    -- ptl's own events: provisional until each PAS records its side (rtt/outbound.sql)
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                                   site_code, treatment_function, batch_id, origin, provisional)
    VALUES (p.pathway_id, p.patient_id, format('mutual-aid-out-%s', s.slot_id), transfer_date, 'transfer_out', '21',
            NULL, p.site_code, p.treatment_function, new_batch, 'ptl', true),
           (new_pathway, new_patient, format('mutual-aid-in-%s', s.slot_id), transfer_date, 'transfer_in', '20',
            start, s.site_code, p.treatment_function, new_batch, 'ptl', true);
    IF w.entry_id IS NOT NULL THEN
        UPDATE ptl.waiting_list_entry e SET removed_date = greatest(transfer_date, e.decision_to_admit),
                                            removal_reason = 'transferred', updated_at = now()
        WHERE e.entry_id = w.entry_id
        RETURNING * INTO w;
        INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, procedure_description,
                                            intended_management, clinical_priority, decision_to_admit,
                                            expected_duration_minutes, tci_date, site_code, batch_id)
        VALUES (new_pathway, new_patient, format('mutual-aid-%s', s.slot_id), w.procedure_code,
                w.procedure_description, w.intended_management, w.clinical_priority, w.decision_to_admit,
                w.expected_duration_minutes, s.slot_date, s.site_code, new_batch)
        RETURNING entry_id INTO new_entry;
    END IF;
    INSERT INTO ptl.mutual_aid_transfer (pathway_id, slot_id, destination_pathway_id, transfer_date, clock_start,
                                         wait_days, days_saved)
    VALUES (p.pathway_id, s.slot_id, new_pathway, transfer_date, start, transfer_date - start,
            transfer_for_mutual_aid.days_saved)
    RETURNING transfer_id INTO new_transfer;
    -- OUT1: each provider's PAS must record its side of the transfer.
    INSERT INTO ptl.outbound_action (provider_org, action_kind, pathway_id, ppid_issuer, ppid, treatment_function,
                                     entry_id, entry_ref, event_id, event_ref, event_kind, rtt_status, action_date,
                                     ref_date, removal_reason, removed_date, detail, source_kind, source_id)
    SELECT x.provider_org, x.action_kind, x.pathway_id, p.ppid_issuer, p.ppid, p.treatment_function,
           x.entry_id, x.entry_ref, e.event_id, e.event_ref, e.kind, e.rtt_status, transfer_date,
           x.ref_date, x.removal_reason, x.removed_date, x.detail, 'mutual_aid_transfer', new_transfer
    FROM (VALUES (p.provider_org, 'transfer_out', p.pathway_id, w.entry_id, w.entry_ref,
                  format('mutual-aid-out-%s', s.slot_id), NULL::date, w.removal_reason, w.removed_date,
                  format('mutual aid transfer %s: to %s (slot %s on %s), the clock continues', new_transfer,
                         s.offering_org, s.slot_id, s.slot_date)),
                 (s.offering_org, 'transfer_in', new_pathway, new_entry,
                  CASE WHEN new_entry IS NOT NULL THEN format('mutual-aid-%s', s.slot_id) END,
                  format('mutual-aid-in-%s', s.slot_id), start, NULL, NULL,
                  format('mutual aid transfer %s: from %s, clock start %s, admission booked for %s', new_transfer,
                         p.provider_org, start, s.slot_date))
         ) AS x (provider_org, action_kind, pathway_id, entry_id, entry_ref, event_ref, ref_date, removal_reason,
                 removed_date, detail)
    JOIN ptl.pathway_event e ON e.pathway_id = x.pathway_id AND e.event_ref = x.event_ref;
    RETURN new_transfer;
END $$;
COMMENT ON FUNCTION ptl.transfer_for_mutual_aid(bigint, bigint, date, int) IS
    'Moves a patient to a mutual aid slot as an inter-provider transfer whose clock continues: transfer_out at the origin, a new record with the same PPID and a transfer_in carrying the clock start at the destination, the waiting-list entry moved with its TCI set to the slot date; returns the transfer number';

SELECT pg_catalog.pg_extension_config_dump('ptl.transfer_preference', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_request_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_offer', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_offer_offer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_slot', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_slot_slot_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_transfer', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_transfer_transfer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_state_change', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_state_change_change_id_seq', '');
