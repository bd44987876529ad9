-- ---------------------------------------------------------------------------
-- A world for person linkage with planted, labelled faults.
--
-- ptl_synth.link_world() invents persons, gives each one to four patient
-- records at different organisations' systems, writes the records into
-- ptl_stage.patient (one batch per site) and loads them with ptl.load() (the
-- front door), keeping the truth where ptl_synth.link_accuracy() reads it
-- (ptl_synth.patient_record.person_id).  Every fault a record carries is in
-- ptl_synth.link_world_fault; twins and household members (different
-- persons who look alike) are in ptl_synth.link_world_relative.  Profiles
-- (ptl_synth.link_world_rate): 'hard' sends no NHS number and no postcode
-- at all, 'normal' is an everyday extract.  docs/linkage.md, "Generated
-- worlds with planted faults", states the rates and why.
-- ---------------------------------------------------------------------------

-- The rates of each profile.  Shares of records unless said otherwise.
CREATE TABLE ptl_synth.link_world_rate (
    profile     text NOT NULL CHECK (profile IN ('hard', 'normal')),
    item        text NOT NULL,
    rate        float8 NOT NULL CHECK (rate >= 0 AND rate <= 1),
    applies_to  text NOT NULL,
    PRIMARY KEY (profile, item)
);
COMMENT ON TABLE ptl_synth.link_world_rate IS
    'Rates of ptl_synth.link_world()''s profiles: records per person, identifiers sent, planted faults, twins and household members';
COMMENT ON COLUMN ptl_synth.link_world_rate.profile IS 'hard (no NHS number, no postcode) or normal';
COMMENT ON COLUMN ptl_synth.link_world_rate.item IS 'records_1..records_4 (persons with that many records), nhs_number, nhs_number_invalid, postcode, address, town, telephone, email, twin, family_member, or a fault of ptl_synth.link_world_fault';
COMMENT ON COLUMN ptl_synth.link_world_rate.rate IS 'The rate, a share of what applies_to says';
COMMENT ON COLUMN ptl_synth.link_world_rate.applies_to IS 'The population the rate is a share of (the records or persons a fault can be planted on)';

INSERT INTO ptl_synth.link_world_rate (profile, item, rate, applies_to)
SELECT p.profile, v.item, CASE p.profile WHEN 'hard' THEN v.hard ELSE v.normal END, v.applies_to
FROM (VALUES ('hard'), ('normal')) AS p (profile),
     (VALUES
        ('records_1', 0.40, 0.40, 'persons'),
        ('records_2', 0.30, 0.30, 'persons'),
        ('records_3', 0.20, 0.20, 'persons'),
        ('records_4', 0.10, 0.10, 'persons'),
        ('twin', 0.015, 0.015, 'persons (a twin of the person before)'),
        ('family_member', 0.08, 0.08, 'persons (a household member of the person before)'),
        ('nhs_number', 0.0, 0.90, 'records'),
        ('nhs_number_invalid', 0.0, 0.02, 'records sending an NHS number (wrong check digit)'),
        ('postcode', 0.0, 0.95, 'records'),
        ('address', 0.60, 0.90, 'records'),
        ('town', 0.60, 0.40, 'records'),
        ('telephone', 0.20, 0.50, 'records'),
        ('email', 0.10, 0.20, 'records'),
        ('family_name_changed', 0.15, 0.05, 'records of women aged 20 or more (then no other fault)'),
        ('given_name_typo', 0.06, 0.02, 'records without a changed family name'),
        ('given_name_missing', 0.03, 0.01, 'records without a changed family name'),
        ('nickname', 0.06, 0.02, 'records without a changed family name whose given name has a nickname'),
        ('family_name_typo', 0.06, 0.02, 'records without a changed family name'),
        ('names_swapped', 0.04, 0.01, 'records without a changed family name or a missing given name'),
        ('dob_day_month_swapped', 0.02, 0.005, 'records without a changed family name, born on a day 1-12 other than the month number'),
        ('dob_digits_swapped', 0.02, 0.005, 'records without a changed family name'),
        ('dob_digit_wrong', 0.02, 0.005, 'records without a changed family name'),
        ('dob_year_off_by_one', 0.02, 0.005, 'records without a changed family name')
     ) AS v (item, hard, normal, applies_to);

-- The nicknames the generator already knows (ptl_synth.name_part): a given
-- name has at most one.
CREATE VIEW ptl_synth.link_world_nickname AS
SELECT n.value AS given_name, n.nickname
FROM ptl_synth.name_part n
WHERE n.kind IN ('given_male', 'given_female') AND n.nickname IS NOT NULL;
COMMENT ON VIEW ptl_synth.link_world_nickname IS
    'The short forms link_world() records instead of a given name (fault nickname): ptl_synth.name_part''s nicknames';
COMMENT ON COLUMN ptl_synth.link_world_nickname.given_name IS 'Given name as in ptl_synth.name_part';
COMMENT ON COLUMN ptl_synth.link_world_nickname.nickname IS 'The short form a system records instead';

-- The truth of the faults and look-alikes (emptied by each link_world(),
-- generate() and purge()).
CREATE UNLOGGED TABLE ptl_synth.link_world_fault (
    org_code            text NOT NULL,
    source_system       text NOT NULL,
    local_patient_id    text NOT NULL,
    fault               text NOT NULL CHECK (fault IN
                            ('family_name_changed', 'given_name_typo', 'given_name_missing', 'nickname',
                             'family_name_typo', 'names_swapped', 'dob_day_month_swapped', 'dob_digits_swapped',
                             'dob_digit_wrong', 'dob_year_off_by_one')),
    true_value          text,
    sent_value          text,
    PRIMARY KEY (org_code, source_system, local_patient_id, fault)
);
COMMENT ON TABLE ptl_synth.link_world_fault IS
    'Every fault link_world() planted in a patient record (its key as in ptl_synth.patient_record), with the true and the sent value';
COMMENT ON COLUMN ptl_synth.link_world_fault.org_code IS 'Organisation whose system holds the record';
COMMENT ON COLUMN ptl_synth.link_world_fault.source_system IS 'System that holds the record';
COMMENT ON COLUMN ptl_synth.link_world_fault.local_patient_id IS 'The system''s hospital number';
COMMENT ON COLUMN ptl_synth.link_world_fault.fault IS
    'family_name_changed (marriage), given_name_typo and family_name_typo (one edit), given_name_missing, nickname, names_swapped (given and family), dob_day_month_swapped, dob_digits_swapped (two adjacent digits), dob_digit_wrong (one digit), dob_year_off_by_one';
COMMENT ON COLUMN ptl_synth.link_world_fault.true_value IS 'The person''s true value of the field(s) (names swapped: given|family)';
COMMENT ON COLUMN ptl_synth.link_world_fault.sent_value IS 'The value staged (NULL when missing)';

CREATE UNLOGGED TABLE ptl_synth.link_world_relative (
    person_id   bigint PRIMARY KEY,
    relative_id bigint NOT NULL,
    relation    text NOT NULL CHECK (relation IN ('twin', 'family_member')),
    CHECK (relative_id < person_id)
);
COMMENT ON TABLE ptl_synth.link_world_relative IS
    'Hard negatives of link_world(): a person who is the twin (same family name, address, birth date) or a household member (same family name and address) of an earlier one, yet a different person';
COMMENT ON COLUMN ptl_synth.link_world_relative.person_id IS 'The look-alike person (ptl_synth.person)';
COMMENT ON COLUMN ptl_synth.link_world_relative.relative_id IS 'The person they look like (the first of their household)';
COMMENT ON COLUMN ptl_synth.link_world_relative.relation IS 'twin or family_member';
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.link_world_fault', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.link_world_relative', '');

-- A date from its digits 'YYYYMMDD', or NULL when they are no date between
-- 1900-01-01 and the census (nested CASE: make_date runs only on valid parts).
CREATE FUNCTION ptl_synth.digits_date(digits text, census date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN digits ~ '^[0-9]{8}$'
                 AND substr(digits, 1, 4)::int BETWEEN 1900 AND extract(year FROM census)::int
                 AND substr(digits, 5, 2)::int BETWEEN 1 AND 12
                 AND substr(digits, 7, 2)::int >= 1
            THEN CASE WHEN substr(digits, 7, 2)::int
                           <= extract(day FROM make_date(substr(digits, 1, 4)::int, substr(digits, 5, 2)::int, 1)
                                               + interval '1 month' - interval '1 day')::int
                      THEN nullif(least(make_date(substr(digits, 1, 4)::int, substr(digits, 5, 2)::int,
                                                  substr(digits, 7, 2)::int), census + 1), census + 1) END END;
COMMENT ON FUNCTION ptl_synth.digits_date(text, date) IS
    'The date written YYYYMMDD, or NULL when it is not a date from 1900 to the census';

-- A birth-date slip of a kind: one of the dates the slip can give (a valid
-- date, other than the true one, not after the census), chosen by v in
-- [0, 1); NULL when the kind cannot apply to this date.
CREATE FUNCTION ptl_synth.dob_slip(d date, kind text, v float8, census date) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s text := to_char(d, 'YYYYMMDD');
    c date[];
BEGIN
    CASE kind
    WHEN 'dob_day_month_swapped' THEN
        IF extract(day FROM d) <= 12 AND extract(day FROM d) <> extract(month FROM d) THEN
            RETURN make_date(extract(year FROM d)::int, extract(day FROM d)::int, extract(month FROM d)::int);
        END IF;
        RETURN NULL;
    WHEN 'dob_digits_swapped' THEN
        SELECT array_agg(x.dd ORDER BY x.k) INTO c
        FROM (SELECT k, ptl_synth.digits_date(substr(s, 1, k - 1) || substr(s, k + 1, 1) || substr(s, k, 1)
                                              || substr(s, k + 2), census) AS dd
              FROM generate_series(1, 7) k) x
        WHERE x.dd IS NOT NULL AND x.dd <> d;
    WHEN 'dob_digit_wrong' THEN
        SELECT array_agg(x.dd ORDER BY x.k, x.g) INTO c
        FROM (SELECT k, g, ptl_synth.digits_date(substr(s, 1, k - 1) || g::text || substr(s, k + 1), census) AS dd
              FROM generate_series(1, 8) k, generate_series(0, 9) g) x
        WHERE x.dd IS NOT NULL AND x.dd <> d;
    WHEN 'dob_year_off_by_one' THEN
        c := ARRAY(SELECT x FROM unnest(ARRAY[(d - interval '1 year')::date, (d + interval '1 year')::date]) x
                   WHERE x <= census);
    ELSE
        RAISE EXCEPTION 'unknown birth-date slip "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Known: dob_day_month_swapped, dob_digits_swapped, dob_digit_wrong, dob_year_off_by_one.';
    END CASE;
    IF cardinality(c) IS NULL OR cardinality(c) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN c[1 + floor(v * cardinality(c))::int];
END
$fn$;
COMMENT ON FUNCTION ptl_synth.dob_slip(date, text, float8, date) IS
    'A birth date with one slip of a kind (day and month swapped, two adjacent digits swapped, one digit wrong, year off by one), chosen by v; NULL when the kind cannot apply';

-- One typing edit in a name: kind 0 substitutes, 1 deletes, 2 inserts a
-- letter after, 3 swaps with the next letter (a substitution where the two
-- are equal) at letter position k; letter (1..25) picks the new letter.
-- The result always differs from the name once normalised (letters, any case).
CREATE FUNCTION ptl_synth.one_edit(s text, kind int, k int, letter int) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n int := length(s);
    c text;
    r text;
BEGIN
    k := least(greatest(k, 1), n);
    WHILE k < n AND substr(s, k, 1) !~ '[A-Za-z]' LOOP
        k := k + 1;
    END LOOP;
    c := substr(s, k, 1);
    r := chr(ascii('a') + (ascii(lower(c)) - ascii('a') + letter) % 26);
    IF c = upper(c) THEN r := upper(r); END IF;
    IF kind = 1 AND n > 2 THEN
        RETURN ptl_synth.drop_at(s, k);
    ELSIF kind = 2 THEN
        RETURN substr(s, 1, k) || lower(r) || substr(s, k + 1);
    ELSIF kind = 3 AND k < n AND lower(substr(s, k + 1, 1)) <> lower(c) AND substr(s, k + 1, 1) ~ '[A-Za-z]' THEN
        RETURN substr(s, 1, k - 1) || CASE WHEN c = upper(c) THEN upper(substr(s, k + 1, 1)) ELSE substr(s, k + 1, 1) END
               || CASE WHEN c = upper(c) AND k = 1 AND substr(s, 2) <> upper(substr(s, 2)) THEN lower(c) ELSE c END
               || substr(s, k + 2);
    END IF;
    RETURN substr(s, 1, k - 1) || r || substr(s, k + 1);
END
$fn$;
COMMENT ON FUNCTION ptl_synth.one_edit(text, int, int, int) IS
    'A name with one typing edit (substitution, deletion, insertion or transposition of adjacent letters) at letter position k';

CREATE FUNCTION ptl_synth.link_world(persons int, seed int DEFAULT 42, profile text DEFAULT 'hard')
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET jit = off
AS $fn$
DECLARE
    v_census    date := DATE '2025-03-31';
    v_trusts    int := 4;
    v_spt       int := 2;
    v_ns        int := 8;
    v_sq        bigint := seed::bigint * 16 + 9;     -- per person
    v_sr        bigint := seed::bigint * 16 + 10;    -- per record
    v_nhs_salt  bigint;
    v_r         jsonb;
    v_g_m       text[];
    v_g_m_cum   float8[];
    v_g_f       text[];
    v_g_f_cum   float8[];
    v_fam       text[];
    v_fam_cum   float8[];
    v_street    text[];
    v_suffix    text[];
    v_place     text[];
    v_age_cum   float8[];
    v_rec_cum   float8[];
    v_prev_batch text := current_setting('ptl.current_batch', true);
    v_site      record;
    v_n         bigint;
    v_label     text;
BEGIN
    IF persons IS NULL OR persons NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'persons must be between 1 and 1000000 (got %)', persons
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF seed IS NULL THEN
        RAISE EXCEPTION 'seed must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF profile IS NULL OR profile NOT IN ('hard', 'normal') THEN
        RAISE EXCEPTION 'unknown link world profile "%"', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Profiles: hard (no NHS number, no postcode, many faults) and normal (see ptl_synth.link_world_rate).';
    END IF;
    v_nhs_salt := floor(ptl_synth.u(3, seed::bigint * 16 + 11) * 10000000)::bigint;
    SELECT jsonb_object_agg(item, rate) INTO v_r FROM ptl_synth.link_world_rate r WHERE r.profile = link_world.profile;

    -- Names with a Zipf-like skew: the name at rank r of its list (the lists
    -- run from common to rare) weighs r^-0.8, so the commonest family name
    -- is about 34 times as frequent as the rarest, as surnames are uneven in
    -- life (the exponent is the author's judgement).
    SELECT array_agg(value ORDER BY ord), ptl_synth.thresholds(array_agg(power(ord, -0.8) ORDER BY ord))
      INTO v_g_m, v_g_m_cum FROM ptl_synth.name_part WHERE kind = 'given_male';
    SELECT array_agg(value ORDER BY ord), ptl_synth.thresholds(array_agg(power(ord, -0.8) ORDER BY ord))
      INTO v_g_f, v_g_f_cum FROM ptl_synth.name_part WHERE kind = 'given_female';
    SELECT array_agg(value ORDER BY ord), ptl_synth.thresholds(array_agg(power(ord, -0.8) ORDER BY ord))
      INTO v_fam, v_fam_cum FROM ptl_synth.name_part WHERE kind = 'family';
    SELECT array_agg(value ORDER BY ord) INTO v_street FROM ptl_synth.name_part WHERE kind = 'street';
    SELECT array_agg(value ORDER BY ord) INTO v_suffix FROM ptl_synth.name_part WHERE kind = 'street_suffix';
    SELECT array_agg(value ORDER BY ord) INTO v_place FROM ptl_synth.name_part WHERE kind = 'place';
    SELECT ptl_synth.thresholds(array_agg(weight ORDER BY decade)) INTO v_age_cum FROM ptl_synth.age_mix;
    v_rec_cum := ptl_synth.thresholds(ARRAY[(v_r ->> 'records_1')::float8, (v_r ->> 'records_2')::float8,
                                            (v_r ->> 'records_3')::float8, (v_r ->> 'records_4')::float8]);

    FOR v_label IN SELECT unnest(ARRAY['lw_site', 'lw_person0', 'lw_rec']) LOOP
        IF to_regclass('pg_temp.' || v_label) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', v_label);
        END IF;
    END LOOP;

    -- Sites: 4 trusts of 2 sites, one system each (codes as generate() makes
    -- them).  Site 2 writes dates day first; every second site writes NHS
    -- numbers with spaces and postcodes without; every third writes family
    -- names in capitals.
    CREATE TEMP TABLE lw_site ON COMMIT DROP AS
    SELECT x.site_idx, x.trust_idx, x.org_code,
           x.org_code || lpad((x.site_idx % v_spt + 1)::text, 2, '0') AS site_code,
           'PAS-' || x.org_code || lpad((x.site_idx % v_spt + 1)::text, 2, '0') AS source_system,
           NULL::bigint AS batch_id,
           (x.site_idx = 1) AS dmy, (x.site_idx % 2 = 1) AS spaced, (x.site_idx % 3 = 2) AS upper_family,
           floor(ptl_synth.u(x.site_idx, seed::bigint * 16 + 12) * 100000000)::bigint AS lpid_salt
    FROM (SELECT s AS site_idx, s / v_spt AS trust_idx, ptl_synth.trust_code(s / v_spt + 1) AS org_code
          FROM generate_series(0, v_ns - 1) s) x;

    WITH ins AS (
        INSERT INTO ptl.organisation (org_code, name, org_kind, parent_org_code, in_ics)
        VALUES ('QZZ', 'Northvale and Eastmere Integrated Care Board (synthetic)', 'ics', NULL, true)
        ON CONFLICT DO NOTHING RETURNING org_code)
    INSERT INTO ptl_synth.created_reference SELECT 'organisation', org_code FROM ins ON CONFLICT DO NOTHING;
    WITH ins AS (
        INSERT INTO ptl.organisation (org_code, name, org_kind, parent_org_code, in_ics)
        SELECT ptl_synth.trust_code(k),
               v_place[k] || CASE k % 3 WHEN 1 THEN ' Hospitals NHS Foundation Trust'
                                        WHEN 2 THEN ' University Hospitals NHS Trust'
                                        ELSE ' and District NHS Foundation Trust' END,
               'nhs_trust', 'QZZ', true
        FROM generate_series(1, v_trusts) k ORDER BY k
        ON CONFLICT DO NOTHING RETURNING org_code)
    INSERT INTO ptl_synth.created_reference SELECT 'organisation', org_code FROM ins ON CONFLICT DO NOTHING;
    WITH ins AS (
        INSERT INTO ptl.site (site_code, org_code, name, postcode)
        SELECT s.site_code, s.org_code,
               v_place[s.trust_idx % 30 + 1] || CASE s.site_idx % v_spt WHEN 0 THEN ' General Hospital'
                                                                       ELSE ' Community Hospital' END,
               'Q' || substr('ABDEFGHJLNPRSTUWY', s.trust_idx % 17 + 1, 1)
                   || (s.site_idx % v_spt + 1)::text || ' ' || (s.site_idx % v_spt)::text || 'HQ'
        FROM pg_temp.lw_site s ORDER BY s.site_idx
        ON CONFLICT DO NOTHING RETURNING site_code)
    INSERT INTO ptl_synth.created_reference SELECT 'site', site_code FROM ins ON CONFLICT DO NOTHING;
    WITH ins AS (
        INSERT INTO ptl.commissioner (commissioner_code, name, commissioner_kind, parent_code)
        VALUES ('QZZ', 'NHS Northvale and Eastmere Integrated Care Board (synthetic)', 'icb', NULL),
               ('9ZA', 'NHS Northvale and Eastmere ICB - 9ZA (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('9ZB', 'NHS Northvale and Eastmere ICB - 9ZB (synthetic Sub-ICB location)', 'sub_icb', 'QZZ')
        ON CONFLICT DO NOTHING RETURNING commissioner_code)
    INSERT INTO ptl_synth.created_reference SELECT 'commissioner', commissioner_code FROM ins ON CONFLICT DO NOTHING;

    v_label := format('ptl_synth link_world seed %s, %s persons, profile %s', seed, persons, profile);
    FOR v_site IN SELECT * FROM pg_temp.lw_site ORDER BY site_idx LOOP
        UPDATE pg_temp.lw_site
           SET batch_id = ptl.open_batch(v_site.org_code, v_site.source_system, v_site.site_code, v_label)
         WHERE site_idx = v_site.site_idx;
    END LOOP;
    INSERT INTO ptl_synth.generated_batch (batch_id, site_code, seed_value)
    SELECT s.batch_id, s.site_code, seed FROM pg_temp.lw_site s ORDER BY s.site_idx;
    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);

    TRUNCATE ptl_synth.injected_fault, ptl_synth.pathway_truth, ptl_synth.patient_record,
             ptl_synth.person, ptl_synth.run, ptl_synth.link_world_fault, ptl_synth.link_world_relative;

    -- Persons.  Stream u(p*64+k, v_sq).  A person is, at the profile's
    -- rates, the twin (same family name, address, postcode and birth date)
    -- or a household member (same family name, address and postcode, own
    -- birth date) of the first person of the run of look-alikes before it;
    -- a look-alike's given name differs from that person's.
    CREATE TEMP TABLE lw_person0 ON COMMIT DROP AS
    WITH a AS (
        SELECT p,
               CASE WHEN ptl_synth.u(p * 64 + 1, v_sq) < 0.48 THEN '1'
                    WHEN ptl_synth.u(p * 64 + 1, v_sq) < 0.995 THEN '2' ELSE '9' END AS sex,
               width_bucket(ptl_synth.u(p * 64 + 2, v_sq), v_age_cum) AS decade,
               CASE WHEN p > 1 AND ptl_synth.u(p * 64 + 3, v_sq) < (v_r ->> 'twin')::float8 THEN 'twin'
                    WHEN p > 1 AND ptl_synth.u(p * 64 + 3, v_sq) < (v_r ->> 'twin')::float8 + (v_r ->> 'family_member')::float8
                    THEN 'family_member' END AS relation,
               90000000 + (p * 7919 + v_nhs_salt) % 10000000 AS n8,
               floor(ptl_synth.u(p * 64 + 4, v_sq) * 10)::int AS h
        FROM generate_series(1, persons) AS p
        OFFSET 0),
    b AS (
        SELECT a.*,
               sum(CASE WHEN a.relation IS NULL THEN 1 ELSE 0 END) OVER (ORDER BY a.p) AS grp,
               floor((CASE WHEN a.decade = 0 THEN 1 + floor(ptl_synth.u(a.p * 64 + 5, v_sq) * 9)
                           ELSE a.decade * 10 + floor(ptl_synth.u(a.p * 64 + 5, v_sq) * 10) END) * 365.25
                     + ptl_synth.u(a.p * 64 + 6, v_sq) * 365)::int AS age_days,
               CASE WHEN ptl_synth.mod11_remainder(a.n8 * 10 + a.h) = 1
                    THEN a.n8 * 10 + (a.h + 1) % 10 ELSE a.n8 * 10 + a.h END AS n9
        FROM a
        OFFSET 0)
    SELECT b.p, b.sex, b.relation, min(b.p) OVER (PARTITION BY b.grp) AS root,
           b.n9::text || ptl_synth.nhs_check_digit(b.n9)::text AS nhs,
           CASE WHEN b.sex = '1' OR (b.sex = '9' AND ptl_synth.u(b.p * 64 + 7, v_sq) < 0.5)
                THEN v_g_m[1 + width_bucket(ptl_synth.u(b.p * 64 + 8, v_sq), v_g_m_cum)]
                ELSE v_g_f[1 + width_bucket(ptl_synth.u(b.p * 64 + 8, v_sq), v_g_f_cum)] END AS given0,
           CASE WHEN b.sex = '1' OR (b.sex = '9' AND ptl_synth.u(b.p * 64 + 7, v_sq) < 0.5)
                THEN 'm' ELSE 'f' END AS list,
           v_fam[1 + width_bucket(ptl_synth.u(b.p * 64 + 9, v_sq), v_fam_cum)] AS family0,
           v_census - b.age_days AS dob0,
           'Q' || substr('ABDEFGHJLNPRSTUWY', 1 + floor(ptl_synth.u(b.p * 64 + 10, v_sq) * 17)::int, 1)
               || (1 + floor(ptl_synth.u(b.p * 64 + 11, v_sq) * 20)::int)::text || ' '
               || floor(ptl_synth.u(b.p * 64 + 12, v_sq) * 10)::int::text
               || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + floor(ptl_synth.u(b.p * 64 + 13, v_sq) * 20)::int, 1)
               || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + floor(ptl_synth.u(b.p * 64 + 14, v_sq) * 20)::int, 1) AS postcode0,
           (1 + floor(power(ptl_synth.u(b.p * 64 + 15, v_sq), 2) * 150))::int::text || ' '
               || v_street[1 + floor(ptl_synth.u(b.p * 64 + 16, v_sq) * cardinality(v_street))::int] || ' '
               || v_suffix[1 + floor(ptl_synth.u(b.p * 64 + 17, v_sq) * cardinality(v_suffix))::int] AS address0,
           -- the town of the postcode district (its letter and number): no draw of its own
           v_place[1 + (floor(ptl_synth.u(b.p * 64 + 10, v_sq) * 17)::int * 20
                        + floor(ptl_synth.u(b.p * 64 + 11, v_sq) * 20)::int) % cardinality(v_place)] AS town0,
           -- a mobile of one's own (Ofcom's drama numbers 07700 9xxxxx, widened) and an email
           '07700' || lpad((900000 + b.p)::text, 6, '0') AS telephone0,
           b.p::text || '@' || (ARRAY['example.org', 'example.com', 'example.net'])[1 + b.p % 3] AS email_domain0
    FROM b;
    CREATE INDEX ON pg_temp.lw_person0 (p);
    ANALYZE pg_temp.lw_person0;

    INSERT INTO ptl_synth.person (person_id, nhs_number, given_name, family_name, date_of_birth, date_of_death,
                                  sex, postcode, address_line_1, commissioner_code, home_site_code, town,
                                  telephone, email)
    SELECT x.p, x.nhs,
           CASE WHEN x.relation IS NOT NULL AND x.given0 = r.given0
                THEN CASE x.list WHEN 'm' THEN v_g_m[1 + array_position(v_g_m, x.given0) % cardinality(v_g_m)]
                                 ELSE v_g_f[1 + array_position(v_g_f, x.given0) % cardinality(v_g_f)] END
                ELSE x.given0 END,
           r.family0,
           CASE WHEN x.relation = 'twin' THEN r.dob0
                WHEN x.relation = 'family_member' AND x.dob0 = r.dob0 THEN x.dob0 - 366
                ELSE x.dob0 END,
           NULL, x.sex, r.postcode0, r.address0,
           CASE WHEN x.p % 2 = 0 THEN '9ZA' ELSE '9ZB' END,
           ptl_synth.trust_code(1) || '01', r.town0, x.telephone0,
           lower(CASE WHEN x.relation IS NOT NULL AND x.given0 = r.given0
                      THEN CASE x.list WHEN 'm' THEN v_g_m[1 + array_position(v_g_m, x.given0) % cardinality(v_g_m)]
                                       ELSE v_g_f[1 + array_position(v_g_f, x.given0) % cardinality(v_g_f)] END
                      ELSE x.given0 END || '.' || r.family0 || '.' || x.email_domain0)
    FROM pg_temp.lw_person0 x JOIN pg_temp.lw_person0 r ON r.p = x.root;

    INSERT INTO ptl_synth.link_world_relative (person_id, relative_id, relation)
    SELECT x.p, x.root, x.relation FROM pg_temp.lw_person0 x WHERE x.relation IS NOT NULL;

    -- Records: 1 to 4 per person (profile's shares), at distinct sites
    -- (the site of record j is (o + 3j) mod 8 for a random o).  Stream
    -- u(rec*64+k, v_sr), rec = person*4 + j.  Faults: a changed family name
    -- first (women 20 or over; then nothing else), then one given-name fault
    -- (typo, missing or nickname), one family-name typo, a swap of given and
    -- family name, and one birth-date slip, each at its rate.
    CREATE TEMP TABLE lw_rec ON COMMIT DROP AS
    WITH k AS (
        SELECT pe.*, 1 + width_bucket(ptl_synth.u(pe.person_id * 64 + 30, v_sq), v_rec_cum) AS n_rec,
               floor(ptl_synth.u(pe.person_id * 64 + 31, v_sq) * v_ns)::int AS o
        FROM ptl_synth.person pe
        OFFSET 0),
    r AS (
        SELECT k.*, j, k.person_id * 4 + j AS rec, (k.o + 3 * j) % v_ns AS site_idx
        FROM k CROSS JOIN LATERAL generate_series(0, k.n_rec - 1) AS j
        OFFSET 0),
    f AS (
        SELECT r.*,
               (r.sex = '2' AND v_census - r.date_of_birth >= 7305
                AND ptl_synth.u(r.rec * 64 + 1, v_sr) < (v_r ->> 'family_name_changed')::float8) AS married,
               ptl_synth.u(r.rec * 64 + 2, v_sr) AS ug,
               ptl_synth.u(r.rec * 64 + 3, v_sr) AS uf,
               ptl_synth.u(r.rec * 64 + 4, v_sr) AS us,
               ptl_synth.u(r.rec * 64 + 5, v_sr) AS ud,
               nk.nickname
        FROM r LEFT JOIN ptl_synth.link_world_nickname nk ON nk.given_name = r.given_name
        OFFSET 0),
    g AS (
        SELECT f.*,
               CASE WHEN f.married THEN NULL
                    WHEN f.ug < (v_r ->> 'given_name_typo')::float8 THEN 'given_name_typo'
                    WHEN f.ug < (v_r ->> 'given_name_typo')::float8 + (v_r ->> 'given_name_missing')::float8
                    THEN 'given_name_missing'
                    WHEN f.ug < (v_r ->> 'given_name_typo')::float8 + (v_r ->> 'given_name_missing')::float8
                                + (v_r ->> 'nickname')::float8 AND f.nickname IS NOT NULL THEN 'nickname' END AS gfault,
               CASE WHEN NOT f.married AND f.uf < (v_r ->> 'family_name_typo')::float8
                    THEN 'family_name_typo' END AS ffault,
               CASE WHEN f.married THEN NULL
                    WHEN f.ud < (v_r ->> 'dob_day_month_swapped')::float8 THEN 'dob_day_month_swapped'
                    WHEN f.ud < (v_r ->> 'dob_day_month_swapped')::float8 + (v_r ->> 'dob_digits_swapped')::float8
                    THEN 'dob_digits_swapped'
                    WHEN f.ud < (v_r ->> 'dob_day_month_swapped')::float8 + (v_r ->> 'dob_digits_swapped')::float8
                                + (v_r ->> 'dob_digit_wrong')::float8 THEN 'dob_digit_wrong'
                    WHEN f.ud < (v_r ->> 'dob_day_month_swapped')::float8 + (v_r ->> 'dob_digits_swapped')::float8
                                + (v_r ->> 'dob_digit_wrong')::float8 + (v_r ->> 'dob_year_off_by_one')::float8
                    THEN 'dob_year_off_by_one' END AS dfault
        FROM f
        OFFSET 0),
    h AS (
        SELECT g.*,
               CASE g.gfault
                   WHEN 'given_name_typo' THEN ptl_synth.one_edit(g.given_name,
                        floor(ptl_synth.u(g.rec * 64 + 6, v_sr) * 4)::int,
                        1 + floor(ptl_synth.u(g.rec * 64 + 7, v_sr) * length(g.given_name))::int,
                        1 + floor(ptl_synth.u(g.rec * 64 + 8, v_sr) * 25)::int)
                   WHEN 'given_name_missing' THEN NULL
                   WHEN 'nickname' THEN g.nickname
                   ELSE g.given_name END AS given1,
               CASE WHEN g.married
                    THEN coalesce(nullif(v_fam[1 + width_bucket(ptl_synth.u(g.rec * 64 + 9, v_sr), v_fam_cum)], g.family_name),
                                  v_fam[1 + array_position(v_fam, g.family_name) % cardinality(v_fam)])
                    WHEN g.ffault IS NOT NULL THEN ptl_synth.one_edit(g.family_name,
                        floor(ptl_synth.u(g.rec * 64 + 10, v_sr) * 4)::int,
                        1 + floor(ptl_synth.u(g.rec * 64 + 11, v_sr) * length(g.family_name))::int,
                        1 + floor(ptl_synth.u(g.rec * 64 + 12, v_sr) * 25)::int)
                    ELSE g.family_name END AS family1,
               CASE WHEN g.dfault IS NOT NULL
                    THEN ptl_synth.dob_slip(g.date_of_birth, g.dfault, ptl_synth.u(g.rec * 64 + 13, v_sr), v_census) END AS dob1,
               (NOT g.married AND g.gfault IS DISTINCT FROM 'given_name_missing'
                AND g.us < (v_r ->> 'names_swapped')::float8) AS swapped,
               ptl_synth.u(g.rec * 64 + 14, v_sr) < (v_r ->> 'nhs_number')::float8 AS nhs_sent,
               ptl_synth.u(g.rec * 64 + 15, v_sr) < (v_r ->> 'nhs_number_invalid')::float8 AS nhs_bad,
               ptl_synth.u(g.rec * 64 + 16, v_sr) < (v_r ->> 'postcode')::float8 AS postcode_sent,
               ptl_synth.u(g.rec * 64 + 17, v_sr) < (v_r ->> 'address')::float8 AS address_sent,
               ptl_synth.u(g.rec * 64 + 18, v_sr) < (v_r ->> 'town')::float8 AS town_sent,
               ptl_synth.u(g.rec * 64 + 19, v_sr) < (v_r ->> 'telephone')::float8 AS telephone_sent,
               ptl_synth.u(g.rec * 64 + 20, v_sr) < (v_r ->> 'email')::float8 AS email_sent
        FROM g
        OFFSET 0)
    SELECT h.*, s.batch_id, s.org_code, s.site_code, s.source_system, s.dmy, s.spaced, s.upper_family,
           ptl_synth.local_patient_id(h.site_idx, s.site_code, h.person_id, s.lpid_salt) AS local_patient_id,
           CASE WHEN h.married THEN 'family_name_changed' END AS mfault,
           CASE WHEN h.swapped THEN h.family1 ELSE h.given1 END AS given_sent,
           CASE WHEN h.swapped THEN h.given1 ELSE h.family1 END AS family_sent0,
           coalesce(h.dob1, h.date_of_birth) AS dob_sent,
           CASE WHEN h.nhs_sent AND h.nhs_bad
                THEN ptl_synth.format_nhs(left(h.nhs_number, 9) || ((right(h.nhs_number, 1)::int + 1) % 10)::text, s.spaced)
                WHEN h.nhs_sent THEN ptl_synth.format_nhs(h.nhs_number, s.spaced) END AS nhs_out,
           CASE WHEN h.postcode_sent THEN CASE WHEN s.spaced THEN replace(h.postcode, ' ', '') ELSE h.postcode END END AS postcode_out,
           CASE WHEN h.address_sent THEN h.address_line_1 END AS address_out,
           CASE WHEN h.town_sent THEN h.town END AS town_out,
           CASE WHEN h.telephone_sent THEN h.telephone END AS telephone_out,
           CASE WHEN h.email_sent THEN h.email END AS email_out
    FROM h JOIN pg_temp.lw_site s ON s.site_idx = h.site_idx;
    ANALYZE pg_temp.lw_rec;

    INSERT INTO ptl_stage.patient (batch_id, local_patient_id, nhs_number, given_name, family_name, date_of_birth,
                                   sex, postcode, address_line_1, commissioner_code, town, telephone, email)
    SELECT c.batch_id, c.local_patient_id, c.nhs_out, c.given_sent,
           CASE WHEN c.upper_family THEN upper(c.family_sent0) ELSE c.family_sent0 END,
           ptl_synth.fmt_date(c.dob_sent, c.dmy), c.sex, c.postcode_out, c.address_out, c.commissioner_code,
           c.town_out, c.telephone_out, c.email_out
    FROM pg_temp.lw_rec c
    ORDER BY c.site_idx, c.person_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;

    INSERT INTO ptl_synth.patient_record (org_code, source_system, local_patient_id, person_id, site_code, batch_id,
                                          nhs_number_sent, typo_duplicate)
    SELECT c.org_code, c.source_system, c.local_patient_id, c.person_id, c.site_code, c.batch_id, c.nhs_out,
           (c.married OR c.gfault IS NOT NULL OR c.ffault IS NOT NULL OR c.swapped OR c.dob1 IS NOT NULL)
    FROM pg_temp.lw_rec c;

    INSERT INTO ptl_synth.link_world_fault (org_code, source_system, local_patient_id, fault, true_value, sent_value)
    SELECT c.org_code, c.source_system, c.local_patient_id, x.fault, x.true_value, x.sent_value
    FROM pg_temp.lw_rec c
    CROSS JOIN LATERAL (VALUES
        (c.mfault, c.family_name, c.family1),
        (c.gfault, c.given_name, c.given1),
        (c.ffault, c.family_name, c.family1),
        (CASE WHEN c.swapped THEN 'names_swapped' END, c.given1 || '|' || c.family1, c.given_sent || '|' || c.family_sent0),
        (CASE WHEN c.dob1 IS NOT NULL THEN c.dfault END, c.date_of_birth::text, c.dob1::text)) AS x (fault, true_value, sent_value)
    WHERE x.fault IS NOT NULL;

    INSERT INTO ptl_synth.run (referrals, seed_value, census_date, trust_count, sites_per_trust, effective_rates,
                               persons, batch_ids)
    SELECT 0, seed, v_census, v_trusts, v_spt, v_r || jsonb_build_object('profile', profile),
           persons, array_agg(s.batch_id ORDER BY s.site_idx)
    FROM pg_temp.lw_site s;

    -- Load through the front door, site by site.
    FOR v_site IN SELECT * FROM pg_temp.lw_site ORDER BY site_idx LOOP
        PERFORM count(*) FROM ptl.load(v_site.batch_id);
    END LOOP;
    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);

    ANALYZE ptl_synth.person;
    ANALYZE ptl_synth.patient_record;
    ANALYZE ptl_synth.link_world_fault;
    ANALYZE ptl_synth.link_world_relative;
    DROP TABLE pg_temp.lw_site, pg_temp.lw_person0, pg_temp.lw_rec;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.link_world(int, int, text) IS
    'A world for person linkage: persons with 1-4 patient records at different sites, staged and loaded through ptl.load(), with the profile''s identifiers and planted faults (ptl_synth.link_world_fault, ptl_synth.link_world_relative); truth in ptl_synth.patient_record. Returns the number of records made';

-- ---------------------------------------------------------------------------
-- What linkage made of a link_world(): per planted fault, the true pairs
-- (two records of one person) with at least one record carrying it, how
-- many ptl.person_link put in one person (linked), how many were linked or
-- kept in ptl.link_pair (scored at the review probability or above), and
-- how many share a blocking key in a block no larger than max_block_size
-- (blocked: the reach of the blocking keys; the rest were never compared;
-- in a block larger than block_window + 1 a pair also needs to be in each
-- other's window, which this count does not check).  Rows any_fault, no_fault and all sum the true
-- pairs; rows twin and family_member (pair_kind distinct) count the pairs
-- of records of look-alike persons, where linked means wrongly linked.
-- The keys are those the last run gave each record (ptl.link_record.keys,
-- element n for blocking rule n), so they are the rules' own, not restated.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_synth.link_world_diagnosis()
RETURNS TABLE (fault text, pair_kind text, pairs bigint, linked bigint, scored bigint, blocked bigint, recall float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
SET enable_nestloop = off  -- pairs come from self-joins the planner cannot estimate: hash them
AS $fn$
DECLARE
    v_keys      text;
    v_max       bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ptl.link_record) THEN
        RAISE EXCEPTION 'no person linkage run to diagnose'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT ptl.link_persons() after ptl_synth.link_world().';
    END IF;
    SELECT (to_jsonb(s) ->> 'max_block_size')::bigint INTO v_max
    FROM ptl.link_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1;
    -- the keys the last run gave each record (element n: rule n's)
    v_keys := 'SELECT lr.patient_id, n AS rule_no, lr.keys[n]::text AS k
               FROM ptl.link_record lr CROSS JOIN LATERAL generate_subscripts(lr.keys, 1) AS n
               WHERE lr.keys[n] IS NOT NULL';
    RETURN QUERY EXECUTE format($q$
        WITH rec AS MATERIALIZED (
            SELECT t.record_id, t.predicted, t.truth, r.org_code, r.source_system, r.local_patient_id
            FROM ptl_synth.person_link_truth t
            JOIN ptl.patient p ON p.patient_id = t.record_id
            JOIN ptl_synth.patient_record r
              ON r.org_code = p.org_code AND r.source_system = p.source_system AND r.local_patient_id = p.local_patient_id),
        keyed AS MATERIALIZED (
            SELECT x.patient_id, x.rule_no, x.k, count(*) OVER (PARTITION BY x.rule_no, x.k) AS n
            FROM (%s) x WHERE x.k IS NOT NULL),
        block AS MATERIALIZED (
            SELECT patient_id, rule_no, k FROM keyed WHERE n BETWEEN 2 AND coalesce($1, n)),
        faults AS MATERIALIZED (
            SELECT rec.record_id, array_agg(f.fault) AS faults
            FROM rec JOIN ptl_synth.link_world_fault f
              ON f.org_code = rec.org_code AND f.source_system = rec.source_system
             AND f.local_patient_id = rec.local_patient_id
            GROUP BY rec.record_id),
        pair AS MATERIALIZED (
            SELECT 'true'::text AS pair_kind, NULL::text AS relation, a.record_id AS a, b.record_id AS b,
                   coalesce(fa.faults, '{}') || coalesce(fb.faults, '{}') AS faults,
                   a.predicted = b.predicted AS linked
            FROM rec a JOIN rec b ON b.truth = a.truth AND b.record_id > a.record_id
            LEFT JOIN faults fa ON fa.record_id = a.record_id
            LEFT JOIN faults fb ON fb.record_id = b.record_id
            UNION ALL
            SELECT 'distinct', rel.relation, least(a.record_id, b.record_id), greatest(a.record_id, b.record_id),
                   '{}', a.predicted = b.predicted
            FROM ptl_synth.link_world_relative rel
            JOIN rec a ON a.truth = rel.person_id
            JOIN rec b ON b.truth = rel.relative_id),
        blocked AS MATERIALIZED (
            SELECT DISTINCT pr.a, pr.b
            FROM pair pr
            JOIN block ka ON ka.patient_id = pr.a
            JOIN block kb ON kb.patient_id = pr.b AND kb.rule_no = ka.rule_no AND kb.k = ka.k),
        judged AS (
            SELECT pr.*,
                   pr.linked OR lp.patient_a IS NOT NULL AS scored,
                   bl.a IS NOT NULL AS blocked
            FROM pair pr
            LEFT JOIN ptl.link_pair lp ON lp.patient_a = pr.a AND lp.patient_b = pr.b
            LEFT JOIN blocked bl ON bl.a = pr.a AND bl.b = pr.b),
        classed AS (
            SELECT c.fault, c.ord, j.*
            FROM judged j
            CROSS JOIN LATERAL (
                SELECT DISTINCT u.fault, 1 AS ord FROM unnest(j.faults) AS u (fault)
                UNION ALL SELECT 'any_fault', 2 WHERE j.pair_kind = 'true' AND cardinality(j.faults) > 0
                UNION ALL SELECT 'no_fault', 3 WHERE j.pair_kind = 'true' AND cardinality(j.faults) = 0
                UNION ALL SELECT 'all', 4 WHERE j.pair_kind = 'true'
                UNION ALL SELECT j.relation, 5 WHERE j.pair_kind = 'distinct') c)
        SELECT fault, pair_kind, count(*), count(*) FILTER (WHERE linked), count(*) FILTER (WHERE scored),
               count(*) FILTER (WHERE blocked),
               CASE WHEN pair_kind = 'true' THEN (count(*) FILTER (WHERE linked))::float8 / count(*) END
        FROM classed
        GROUP BY fault, pair_kind, ord
        ORDER BY ord, fault$q$, v_keys) USING v_max;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.link_world_diagnosis() IS
    'Per planted fault of a link_world(): true pairs touching it, how many ptl linked, scored (in ptl.link_pair or linked) and blocked (share a blocking key of ptl.link_blocking_rule in a block within max_block_size); twin and family_member rows count look-alike pairs (linked = wrongly)';
