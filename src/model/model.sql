-- ---------------------------------------------------------------------------
-- model: reference data and the canonical tables every capability reads.
--
-- Reference tables (organisation, site, commissioner, treatment function) are
-- small and are filled from NHS England's published ODS files by
-- ptl.load_reference (src/load/reference.sql), by the ICS's DBA, or by the
-- synthetic generator.  The
-- canonical tables (patient, pathway, pathway_event, waiting_list_entry) are
-- filled only by ptl.load() from the staging tables.  Every large table
-- carries patient_id so it can later be hash-partitioned or distributed by it.
-- ---------------------------------------------------------------------------

-- The dates ptl stores.  PostgreSQL's date runs from 4713 BC to 5874897 AD
-- and has infinity and -infinity; a view that adds weeks to a stored date
-- near either end, or subtracts infinite timestamps, fails for every reader.
-- So every date and timestamp column of every table carries a CHECK that
-- its value lies in this window: finite, and centuries inside the range,
-- while wider than any date an extract may plausibly send (the loader's
-- narrower windows are in ptl.extract_column).  The window is defined here
-- once; the CHECKs call these functions, which the planner inlines.  NULL
-- in gives NULL out (a CHECK passes it), but they are not declared STRICT:
-- a strict SQL function around AND is not inlined.
CREATE FUNCTION ptl.in_storage_range(d date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN d BETWEEN date '1850-01-01' AND date '2200-12-31';
COMMENT ON FUNCTION ptl.in_storage_range(date) IS
    'Whether a date is one ptl stores: from 1850-01-01 to 2200-12-31 (never infinity), so no date arithmetic on stored data can overflow';
CREATE FUNCTION ptl.in_storage_range(t timestamp) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN t >= timestamp '1850-01-01 00:00' AND t < timestamp '2201-01-01 00:00';
COMMENT ON FUNCTION ptl.in_storage_range(timestamp) IS
    'Whether a timestamp is one ptl stores: from 1850-01-01 to the end of 2200-12-31 (never infinity)';
CREATE FUNCTION ptl.in_storage_range(t timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN t >= timestamptz '1850-01-01 00:00+00' AND t < timestamptz '2201-01-01 00:00+00';
COMMENT ON FUNCTION ptl.in_storage_range(timestamptz) IS
    'Whether a timestamp with time zone is one ptl stores: from 1850-01-01 to the end of 2200-12-31 UTC (never infinity)';

-- The event vocabulary of the RTT clock engine (docs/rtt-engine.md).
CREATE TYPE ptl.event_kind AS ENUM (
    'referral', 'transfer_in', 'outpatient', 'dna', 'patient_cancel',
    'provider_cancel', 'decision_to_admit', 'tci_offer', 'tci_declined',
    'admission', 'decision', 'discharge', 'transfer_out', 'death',
    'patient_ready'
);
COMMENT ON TYPE ptl.event_kind IS
    'What happened on a pathway event: the vocabulary the RTT clock engine reads';

-- NHS Data Dictionary PRIORITY TYPE (1 routine, 2 urgent, 3 two week wait).
CREATE TYPE ptl.referral_priority AS ENUM ('routine', 'urgent', 'two_week_wait');
COMMENT ON TYPE ptl.referral_priority IS
    'Priority of the referral as the referrer set it (NHS Data Dictionary PRIORITY TYPE)';

-- ---------------------------------------------------------------------------
-- Reference data
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.organisation (
    org_code        text PRIMARY KEY
                    CHECK (org_code ~ '^[A-Z0-9]{3,6}$'),
    name            text NOT NULL,
    org_kind        text NOT NULL DEFAULT 'nhs_trust'
                    CHECK (org_kind IN ('nhs_trust', 'independent_sector', 'ics', 'other')),
    parent_org_code text REFERENCES ptl.organisation (org_code),
    in_ics          boolean NOT NULL DEFAULT true,
    open_date       date,
    close_date      date,
    placeholder     boolean NOT NULL DEFAULT false,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisation_closes_after_opening CHECK (close_date >= open_date),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see above)
    CONSTRAINT organisation_open_date_in_range CHECK (ptl.in_storage_range(open_date)),
    CONSTRAINT organisation_close_date_in_range CHECK (ptl.in_storage_range(close_date)),
    CONSTRAINT organisation_recorded_at_in_range CHECK (ptl.in_storage_range(recorded_at))
);
COMMENT ON TABLE ptl.organisation IS
    'Providers (and the ICS itself) by ODS code: each trust reports its own RTT return';
COMMENT ON COLUMN ptl.organisation.org_code IS 'ODS organisation code, e.g. RBD';
COMMENT ON COLUMN ptl.organisation.name IS 'Organisation name as published by ODS';
COMMENT ON COLUMN ptl.organisation.org_kind IS
    'nhs_trust, independent_sector, ics or other';
COMMENT ON COLUMN ptl.organisation.parent_org_code IS
    'Parent organisation (for a trust, the ICS it belongs to)';
COMMENT ON COLUMN ptl.organisation.in_ics IS
    'True for organisations inside this ICS; false for providers outside it that send or receive transfers';
COMMENT ON COLUMN ptl.organisation.open_date IS 'Open Date as ODS publishes it (NULL: not known)';
COMMENT ON COLUMN ptl.organisation.close_date IS
    'Close Date as ODS publishes it: a closed or merged organisation stays, and its pathways keep it as their provider (ptl.organisation_successor says who reports them)';
COMMENT ON COLUMN ptl.organisation.placeholder IS
    'Created by the loader from a code in an extract that ptl did not know; the reference data resolves it (ptl.load_reference sets the real name and parent and clears this). ptl.reference_placeholder lists those unresolved';
COMMENT ON COLUMN ptl.organisation.recorded_at IS 'When ptl first recorded the code (for a placeholder: when an extract first used it)';

CREATE TABLE ptl.site (
    site_code   text PRIMARY KEY CHECK (site_code ~ '^[A-Z0-9]{5}$'),
    org_code    text NOT NULL REFERENCES ptl.organisation (org_code),
    name        text NOT NULL,
    postcode    text,
    latitude    float8 CHECK (latitude BETWEEN -90 AND 90),
    longitude   float8 CHECK (longitude BETWEEN -180 AND 180),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    open_date   date,
    close_date  date,
    placeholder boolean NOT NULL DEFAULT false,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT site_closes_after_opening CHECK (close_date >= open_date),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see above)
    CONSTRAINT site_open_date_in_range CHECK (ptl.in_storage_range(open_date)),
    CONSTRAINT site_close_date_in_range CHECK (ptl.in_storage_range(close_date)),
    CONSTRAINT site_recorded_at_in_range CHECK (ptl.in_storage_range(recorded_at))
);
CREATE INDEX site_org_code_idx ON ptl.site (org_code);
COMMENT ON TABLE ptl.site IS 'Hospital sites, each run by one organisation';
COMMENT ON COLUMN ptl.site.site_code IS 'ODS site code (5 characters), e.g. RBD01';
COMMENT ON COLUMN ptl.site.org_code IS 'The organisation that runs the site';
COMMENT ON COLUMN ptl.site.name IS 'Site name';
COMMENT ON COLUMN ptl.site.postcode IS 'Site postcode, for travel distances in mutual aid';
COMMENT ON COLUMN ptl.site.latitude IS 'Latitude in degrees (WGS84), for travel distances; NULL: taken from the postcode district';
COMMENT ON COLUMN ptl.site.longitude IS 'Longitude in degrees (WGS84); NULL: taken from the postcode district';
COMMENT ON COLUMN ptl.site.open_date IS 'Open Date as ODS publishes it (NULL: not known)';
COMMENT ON COLUMN ptl.site.close_date IS 'Close Date as ODS publishes it: a closed site stays, with the records made there';
COMMENT ON COLUMN ptl.site.placeholder IS
    'Created by the loader from a code in an extract that ptl did not know; the reference data resolves it (ptl.load_reference sets the real name and organisation and clears this). ptl.reference_placeholder lists those unresolved';
COMMENT ON COLUMN ptl.site.recorded_at IS 'When ptl first recorded the code (for a placeholder: when an extract first used it)';

-- Postcode districts (the outward code, e.g. CM1) with a central point, for
-- travel distances between where patients live and sites.  The DBA loads
-- them from ONS's open postcode directory; ptl ships none.
CREATE TABLE ptl.postcode_district (
    district    text PRIMARY KEY CHECK (district ~ '^[A-Z]{1,2}[0-9][0-9A-Z]?$'),
    latitude    float8 NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   float8 NOT NULL CHECK (longitude BETWEEN -180 AND 180)
);
COMMENT ON TABLE ptl.postcode_district IS
    'Postcode districts (outward codes) with a central point: where a patient lives, for travel distances in mutual aid and patient choice';
COMMENT ON COLUMN ptl.postcode_district.district IS 'Outward code, e.g. CM1';
COMMENT ON COLUMN ptl.postcode_district.latitude IS 'Latitude of its centre in degrees (WGS84)';
COMMENT ON COLUMN ptl.postcode_district.longitude IS 'Longitude of its centre in degrees (WGS84)';

CREATE TABLE ptl.commissioner (
    commissioner_code   text PRIMARY KEY CHECK (commissioner_code ~ '^[A-Z0-9]{3,5}$'),
    name                text NOT NULL,
    commissioner_kind   text NOT NULL DEFAULT 'sub_icb'
                        CHECK (commissioner_kind IN ('sub_icb', 'icb', 'nhs_england', 'non_english')),
    parent_code         text,
    open_date           date,
    close_date          date,
    placeholder         boolean NOT NULL DEFAULT false,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT commissioner_closes_after_opening CHECK (close_date >= open_date),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see above)
    CONSTRAINT commissioner_open_date_in_range CHECK (ptl.in_storage_range(open_date)),
    CONSTRAINT commissioner_close_date_in_range CHECK (ptl.in_storage_range(close_date)),
    CONSTRAINT commissioner_recorded_at_in_range CHECK (ptl.in_storage_range(recorded_at))
);
COMMENT ON TABLE ptl.commissioner IS
    'Commissioners the RTT return is split by (Sub-ICB locations, NHS England, NONC)';
COMMENT ON COLUMN ptl.commissioner.commissioner_code IS 'ODS commissioner code, e.g. 11J, or NONC';
COMMENT ON COLUMN ptl.commissioner.name IS 'Commissioner name';
COMMENT ON COLUMN ptl.commissioner.commissioner_kind IS
    'sub_icb, icb, nhs_england (specialised commissioning) or non_english (reported as NONC)';
COMMENT ON COLUMN ptl.commissioner.parent_code IS 'Parent commissioner (the ICB of a Sub-ICB location)';
COMMENT ON COLUMN ptl.commissioner.open_date IS 'Open Date as ODS publishes it (NULL: not known)';
COMMENT ON COLUMN ptl.commissioner.close_date IS 'Close Date as ODS publishes it: a closed commissioner stays, with the pathways reported against it';
COMMENT ON COLUMN ptl.commissioner.placeholder IS
    'Created by the loader from a code in an extract that ptl did not know; the reference data resolves it (ptl.load_reference sets the real name, kind and parent and clears this). ptl.reference_placeholder lists those unresolved';
COMMENT ON COLUMN ptl.commissioner.recorded_at IS 'When ptl first recorded the code (for a placeholder: when an extract first used it)';

-- The lines of the monthly RTT return (RTT guidance 10.1.4).
CREATE TABLE ptl.rtt_line (
    line_code   text PRIMARY KEY,
    csv_code    text NOT NULL UNIQUE,
    name        text NOT NULL,
    sort_order  int NOT NULL UNIQUE
);
COMMENT ON TABLE ptl.rtt_line IS
    'Treatment-function lines of the monthly RTT return, with the code and name NHS England publishes';
COMMENT ON COLUMN ptl.rtt_line.line_code IS 'Line, e.g. 110 or X05';
COMMENT ON COLUMN ptl.rtt_line.csv_code IS 'Code in the published CSV, e.g. C_110, X05, C_999';
COMMENT ON COLUMN ptl.rtt_line.name IS 'Treatment Function Name as published in the CSV';
COMMENT ON COLUMN ptl.rtt_line.sort_order IS 'Order of the line in the published file';

CREATE TABLE ptl.treatment_function (
    tfc             text PRIMARY KEY CHECK (tfc ~ '^[0-9]{3}$'),
    name            text NOT NULL,
    rtt_line        text NOT NULL REFERENCES ptl.rtt_line (line_code),
    consultant_led  boolean NOT NULL DEFAULT true,
    shipped         boolean NOT NULL DEFAULT false,
    placeholder     boolean NOT NULL DEFAULT false
);
CREATE INDEX treatment_function_rtt_line_idx ON ptl.treatment_function (rtt_line);
COMMENT ON TABLE ptl.treatment_function IS
    'Treatment function codes (DCB0028) and the RTT return line each is reported on. The mapping is data: a trust corrects a shipped row in ptl.treatment_function_override and adds local codes here; ptl.treatment_function_in_use shows what is in force.';
COMMENT ON COLUMN ptl.treatment_function.tfc IS 'Treatment function code, e.g. 110';
COMMENT ON COLUMN ptl.treatment_function.name IS 'Treatment function name';
COMMENT ON COLUMN ptl.treatment_function.rtt_line IS 'The RTT return line this function is counted on';
COMMENT ON COLUMN ptl.treatment_function.consultant_led IS
    'False for services outside RTT (e.g. AHP-only); such pathways are flagged by validation';
COMMENT ON COLUMN ptl.treatment_function.shipped IS
    'True for rows installed by ptl itself; rows a user adds are kept by pg_dump';
COMMENT ON COLUMN ptl.treatment_function.placeholder IS
    'True for a code the loader met in an extract before the reference data held it: reported on Other - Other Services (X06) until resolved';

-- Index of multiple deprivation by small area (LSOA), for inequality analysis.
CREATE TABLE ptl.area_deprivation (
    lsoa_code   text PRIMARY KEY CHECK (lsoa_code ~ '^[EW][0-9]{8}$'),
    imd_decile  smallint NOT NULL CHECK (imd_decile BETWEEN 1 AND 10)
);
COMMENT ON TABLE ptl.area_deprivation IS
    'Index of Multiple Deprivation decile (1 = most deprived) of each lower-layer super output area';
COMMENT ON COLUMN ptl.area_deprivation.lsoa_code IS 'LSOA code, e.g. E01000001';
COMMENT ON COLUMN ptl.area_deprivation.imd_decile IS 'IMD decile, 1 most deprived to 10 least deprived';

-- ---------------------------------------------------------------------------
-- Load batches (one delivery of extracts from one source system)
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.batch (
    batch_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_code        text NOT NULL REFERENCES ptl.organisation (org_code),
    site_code       text REFERENCES ptl.site (site_code),
    source_system   text NOT NULL CHECK (source_system <> ''),
    label           text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    opened_by       text NOT NULL DEFAULT current_user,
    loaded_at       timestamptz,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ready', 'loaded', 'failed')),
    failed_at       timestamptz,
    load_error      text,
    CONSTRAINT batch_failure_has_reason CHECK (status <> 'failed' OR (failed_at IS NOT NULL AND load_error IS NOT NULL)),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT batch_opened_at_in_range CHECK (ptl.in_storage_range(opened_at)),
    CONSTRAINT batch_loaded_at_in_range CHECK (ptl.in_storage_range(loaded_at)),
    CONSTRAINT batch_failed_at_in_range CHECK (ptl.in_storage_range(failed_at))
);
COMMENT ON TABLE ptl.batch IS
    'One delivery of extracts from one source system of one organisation (usually one site''s daily extract)';
COMMENT ON COLUMN ptl.batch.batch_id IS 'Batch number; staging rows carry it';
COMMENT ON COLUMN ptl.batch.org_code IS 'Organisation that sent the extracts';
COMMENT ON COLUMN ptl.batch.site_code IS 'Site the extracts come from, when they are per site; rows without a site take it';
COMMENT ON COLUMN ptl.batch.source_system IS 'The system that produced the extracts (e.g. the PAS name); part of the local patient key';
COMMENT ON COLUMN ptl.batch.label IS 'Free text, e.g. the file names or the extract date';
COMMENT ON COLUMN ptl.batch.opened_at IS 'When the batch was opened';
COMMENT ON COLUMN ptl.batch.opened_by IS 'Database user who opened the batch';
COMMENT ON COLUMN ptl.batch.loaded_at IS 'When ptl.load() last loaded the batch';
COMMENT ON COLUMN ptl.batch.status IS
    'open (rows being staged), ready (closed by ptl.close_batch: the daily refresh loads it), loaded, or failed (its load raised an error: nothing of it was loaded, and it is not tried again; its loader sends a new batch)';
COMMENT ON COLUMN ptl.batch.failed_at IS 'When the daily refresh found the batch could not be loaded (ptl.fail_batch)';
COMMENT ON COLUMN ptl.batch.load_error IS 'Why its load failed: the SQLSTATE and the error message, e.g. "23505: duplicate key value ..."';

-- ---------------------------------------------------------------------------
-- Canonical tables
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.patient (
    patient_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_code            text NOT NULL,
    source_system       text NOT NULL,
    local_patient_id    text NOT NULL CHECK (local_patient_id <> ''),
    nhs_number          ptl.nhs_number,
    nhs_number_as_recorded text,
    given_name          text,
    family_name         text,
    date_of_birth       date,
    date_of_death       date,
    sex                 text CHECK (sex IN ('1', '2', '9', 'X')),
    postcode            text,
    address_line_1      text,
    ethnic_category     text CHECK (ethnic_category ~ '^([A-HJ-NPR-SZ]|99)$'),
    lsoa_code           text,
    gp_practice_code    text,
    commissioner_code   text,
    batch_id            bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    town                text,
    telephone           text,
    email               text,
    UNIQUE (org_code, source_system, local_patient_id),
    CHECK (date_of_death IS NULL OR date_of_birth IS NULL OR date_of_death >= date_of_birth),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT patient_date_of_birth_in_range CHECK (ptl.in_storage_range(date_of_birth)),
    CONSTRAINT patient_date_of_death_in_range CHECK (ptl.in_storage_range(date_of_death)),
    CONSTRAINT patient_updated_at_in_range CHECK (ptl.in_storage_range(updated_at))
);
CREATE INDEX patient_nhs_number_idx ON ptl.patient (nhs_number);
CREATE INDEX patient_batch_idx ON ptl.patient (batch_id);
COMMENT ON TABLE ptl.patient IS
    'Patient records as each source system holds them: one person may have several records until linkage joins them';
COMMENT ON COLUMN ptl.patient.patient_id IS 'ptl''s key for this record';
COMMENT ON COLUMN ptl.patient.org_code IS 'Organisation whose system holds the record';
COMMENT ON COLUMN ptl.patient.source_system IS 'System that holds the record';
COMMENT ON COLUMN ptl.patient.local_patient_id IS 'The source system''s own patient identifier (hospital number)';
COMMENT ON COLUMN ptl.patient.nhs_number IS 'NHS number when the recorded one is valid; NULL when missing or invalid';
COMMENT ON COLUMN ptl.patient.nhs_number_as_recorded IS
    'The NHS number exactly as the extract gave it, kept when it was invalid so validation and linkage can see it';
COMMENT ON COLUMN ptl.patient.given_name IS 'Given name as recorded';
COMMENT ON COLUMN ptl.patient.family_name IS 'Family name as recorded';
COMMENT ON COLUMN ptl.patient.date_of_birth IS 'Date of birth';
COMMENT ON COLUMN ptl.patient.date_of_death IS 'Date of death, when known';
COMMENT ON COLUMN ptl.patient.sex IS 'NHS Data Dictionary PERSON STATED GENDER CODE: 1 male, 2 female, 9 indeterminate, X not known';
COMMENT ON COLUMN ptl.patient.postcode IS 'Postcode of usual address, upper case with one space';
COMMENT ON COLUMN ptl.patient.address_line_1 IS 'First line of the usual address';
COMMENT ON COLUMN ptl.patient.ethnic_category IS 'NHS Data Dictionary ETHNIC CATEGORY code (A-S, Z not stated, 99 not known)';
COMMENT ON COLUMN ptl.patient.lsoa_code IS 'Lower-layer super output area of residence (joins ptl.area_deprivation)';
COMMENT ON COLUMN ptl.patient.gp_practice_code IS 'ODS code of the registered GP practice';
COMMENT ON COLUMN ptl.patient.commissioner_code IS 'Responsible commissioner';
COMMENT ON COLUMN ptl.patient.batch_id IS 'Batch that last inserted or changed the record';
COMMENT ON COLUMN ptl.patient.updated_at IS 'When the record was last inserted or changed';
COMMENT ON COLUMN ptl.patient.town IS 'Town or city of the usual address (person linkage compares it)';
COMMENT ON COLUMN ptl.patient.telephone IS 'Telephone number as recorded (person linkage compares its digits in national form)';
COMMENT ON COLUMN ptl.patient.email IS 'Email address as recorded (person linkage compares it lower case)';

CREATE TABLE ptl.pathway (
    pathway_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    patient_id          bigint NOT NULL REFERENCES ptl.patient (patient_id),
    provider_org        text NOT NULL,
    site_code           text,
    ppid                text NOT NULL CHECK (ppid ~ '^[!-~]{1,20}$'),
    ppid_issuer         text NOT NULL CHECK (ppid_issuer ~ '^[A-Z0-9]{3,6}$'),
    ubrn                text CHECK (ubrn ~ '^[0-9]{12}$'),
    treatment_function  text NOT NULL,
    referral_priority   ptl.referral_priority NOT NULL DEFAULT 'routine',
    referral_received   date,
    commissioner_code   text,
    consultant_code     text,
    batch_id            bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    triage_priority     ptl.referral_priority,
    UNIQUE (provider_org, ppid_issuer, ppid),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_referral_received_in_range CHECK (ptl.in_storage_range(referral_received)),
    CONSTRAINT pathway_updated_at_in_range CHECK (ptl.in_storage_range(updated_at))
);
CREATE INDEX pathway_patient_idx ON ptl.pathway (patient_id);
CREATE INDEX pathway_issuer_ppid_idx ON ptl.pathway (ppid_issuer, ppid);
CREATE INDEX pathway_ubrn_idx ON ptl.pathway (ubrn) WHERE ubrn IS NOT NULL;
CREATE INDEX pathway_provider_tfc_idx ON ptl.pathway (provider_org, treatment_function);
CREATE INDEX pathway_batch_idx ON ptl.pathway (batch_id);
COMMENT ON TABLE ptl.pathway IS
    'A patient pathway as one provider records it: from the referral for one condition to its end. A transferred pathway has a record at each provider, with the same PPID and issuer.';
COMMENT ON COLUMN ptl.pathway.pathway_id IS 'ptl''s key for this record';
COMMENT ON COLUMN ptl.pathway.patient_id IS 'The patient record the provider holds it against';
COMMENT ON COLUMN ptl.pathway.provider_org IS 'Provider that holds this record';
COMMENT ON COLUMN ptl.pathway.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.pathway.ppid IS 'Patient pathway identifier (up to 20 characters), issued by the first organisation to receive the referral';
COMMENT ON COLUMN ptl.pathway.ppid_issuer IS 'ODS code of the organisation that issued the PPID (X09 when the e-RS UBRN is the basis)';
COMMENT ON COLUMN ptl.pathway.ubrn IS 'e-Referral Service unique booking reference number (12 digits)';
COMMENT ON COLUMN ptl.pathway.treatment_function IS 'Treatment function now responsible for the pathway';
COMMENT ON COLUMN ptl.pathway.referral_priority IS 'routine, urgent or two_week_wait';
COMMENT ON COLUMN ptl.pathway.referral_received IS 'Date the provider received the referral (or the UBRN was converted); NULL when the extract''s date was unusable (the clock comes from the events)';
COMMENT ON COLUMN ptl.pathway.commissioner_code IS 'Commissioner the pathway is reported against';
COMMENT ON COLUMN ptl.pathway.consultant_code IS 'GMC or local code of the responsible consultant';
COMMENT ON COLUMN ptl.pathway.batch_id IS 'Batch that last inserted or changed the record';
COMMENT ON COLUMN ptl.pathway.updated_at IS 'When the record was last inserted or changed';
COMMENT ON COLUMN ptl.pathway.triage_priority IS
    'Priority a clinician gave the referral on triage (routine, urgent or two_week_wait), when it differs from the referrer''s; it decides the pathway''s place on the non-admitted list';

CREATE TABLE ptl.pathway_event (
    event_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    patient_id          bigint NOT NULL,
    event_ref           text NOT NULL CHECK (event_ref <> ''),
    event_date          date NOT NULL,
    kind                ptl.event_kind NOT NULL,
    rtt_status          ptl.rtt_status,
    ref_date            date,
    site_code           text,
    treatment_function  text,
    batch_id            bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    event_time          time,
    -- Who wrote the event: the PAS's extract, or ptl itself (a validation
    -- answer, a mutual aid transfer).  ptl's own events are provisional
    -- until the PAS, the system of record, confirms or contradicts them
    -- (ptl.reconcile_outbound, src/export/outbound_reconcile.sql; docs/outbound.md).
    origin              text NOT NULL DEFAULT 'extract' CHECK (origin IN ('extract', 'ptl')),
    provisional         boolean NOT NULL DEFAULT false,
    CONSTRAINT pathway_event_provisional_is_ptl CHECK (NOT provisional OR origin = 'ptl'),
    UNIQUE (pathway_id, event_ref),
    -- The kinds whose meaning needs a second date (docs/rtt-engine.md).
    -- A transfer in may lack it: its clock start is then unknown, reported
    -- as such (RTT guidance 10.1.5) and flagged by validation rule V06.
    CONSTRAINT pathway_event_ref_date_needed CHECK (
        ref_date IS NOT NULL OR kind NOT IN ('tci_offer', 'tci_declined')),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_event_event_date_in_range CHECK (ptl.in_storage_range(event_date)),
    CONSTRAINT pathway_event_ref_date_in_range CHECK (ptl.in_storage_range(ref_date)),
    CONSTRAINT pathway_event_updated_at_in_range CHECK (ptl.in_storage_range(updated_at))
);
CREATE INDEX pathway_event_pathway_date_idx ON ptl.pathway_event (pathway_id, event_date);
CREATE INDEX pathway_event_patient_idx ON ptl.pathway_event (patient_id);
CREATE INDEX pathway_event_batch_idx ON ptl.pathway_event (batch_id);
COMMENT ON TABLE ptl.pathway_event IS
    'What happened on a pathway, dated: referrals, appointments, DNAs, decisions, admissions, transfers. The RTT clock is computed from these.';
COMMENT ON COLUMN ptl.pathway_event.event_id IS 'ptl''s key for this event';
COMMENT ON COLUMN ptl.pathway_event.pathway_id IS 'The pathway record it belongs to';
COMMENT ON COLUMN ptl.pathway_event.patient_id IS 'The patient (copied from the pathway, for partitioning)';
COMMENT ON COLUMN ptl.pathway_event.event_ref IS 'The source system''s identifier of the event (appointment, episode, decision), unique within the pathway';
COMMENT ON COLUMN ptl.pathway_event.event_date IS 'Date of the event';
COMMENT ON COLUMN ptl.pathway_event.kind IS 'What happened (ptl.event_kind)';
COMMENT ON COLUMN ptl.pathway_event.rtt_status IS 'National RTT period status recorded at the end of the event, if any';
COMMENT ON COLUMN ptl.pathway_event.ref_date IS
    'Second date for kinds that need one: transfer_in = original clock start (NULL: unknown, counted as an unknown clock start); tci_offer = admission date offered; tci_declined = date declined';
COMMENT ON COLUMN ptl.pathway_event.site_code IS 'Site where it happened';
COMMENT ON COLUMN ptl.pathway_event.treatment_function IS 'Treatment function of the activity (completed pathways are reported against the one that stopped the clock)';
COMMENT ON COLUMN ptl.pathway_event.batch_id IS 'Batch that last inserted or changed the event';
COMMENT ON COLUMN ptl.pathway_event.updated_at IS 'When the event was last inserted or changed';
COMMENT ON COLUMN ptl.pathway_event.event_time IS
    'Time of day the source system recorded the event, if it gives one: on a day whose events all have a time the RTT clock takes them in that order, else by same-day precedence (docs/rtt-engine.md)';
COMMENT ON COLUMN ptl.pathway_event.origin IS
    'extract (loaded from the source system, the system of record) or ptl (written by ptl itself: a validation answer, a mutual aid transfer)';
COMMENT ON COLUMN ptl.pathway_event.provisional IS
    'True for a ptl event the source system has not yet confirmed or contradicted (ptl.outbound_action); ptl.reconcile_outbound withdraws it when the extract confirms it (the source''s own event replaces it) or contradicts it';

CREATE TABLE ptl.waiting_list_entry (
    entry_id                    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id                  bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    patient_id                  bigint NOT NULL,
    entry_ref                   text NOT NULL CHECK (entry_ref <> ''),
    procedure_code              text CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    procedure_description       text,
    intended_management         text NOT NULL CHECK (intended_management IN ('1', '2', '3', '4', '5')),
    clinical_priority           ptl.clinical_priority,
    decision_to_admit           date NOT NULL,
    expected_duration_minutes   int CHECK (expected_duration_minutes BETWEEN 1 AND 1440),
    consultant_code             text,
    tci_date                    date,
    removed_date                date,
    removal_reason              text CHECK (removal_reason IN ('admitted', 'no_longer_required', 'died', 'transferred', 'other')),
    site_code                   text,
    batch_id                    bigint NOT NULL,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pathway_id, entry_ref),
    CHECK ((removed_date IS NULL) = (removal_reason IS NULL)),
    CHECK (removed_date IS NULL OR removed_date >= decision_to_admit),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT waiting_list_entry_decision_to_admit_in_range CHECK (ptl.in_storage_range(decision_to_admit)),
    CONSTRAINT waiting_list_entry_tci_date_in_range CHECK (ptl.in_storage_range(tci_date)),
    CONSTRAINT waiting_list_entry_removed_date_in_range CHECK (ptl.in_storage_range(removed_date)),
    CONSTRAINT waiting_list_entry_updated_at_in_range CHECK (ptl.in_storage_range(updated_at))
);
CREATE INDEX waiting_list_entry_patient_idx ON ptl.waiting_list_entry (patient_id);
CREATE INDEX waiting_list_entry_open_idx ON ptl.waiting_list_entry (clinical_priority, decision_to_admit)
    WHERE removed_date IS NULL;
CREATE INDEX waiting_list_entry_batch_idx ON ptl.waiting_list_entry (batch_id);
COMMENT ON TABLE ptl.waiting_list_entry IS
    'Admitted waiting-list entries: a decision to admit for a procedure, with its clinical priority, until admission or removal';
COMMENT ON COLUMN ptl.waiting_list_entry.entry_id IS 'ptl''s key for this entry';
COMMENT ON COLUMN ptl.waiting_list_entry.pathway_id IS 'The pathway the admission treats';
COMMENT ON COLUMN ptl.waiting_list_entry.patient_id IS 'The patient (copied from the pathway, for partitioning)';
COMMENT ON COLUMN ptl.waiting_list_entry.entry_ref IS 'The source system''s identifier of the waiting-list entry';
COMMENT ON COLUMN ptl.waiting_list_entry.procedure_code IS 'Intended procedure, OPCS-4 code (e.g. W37.1)';
COMMENT ON COLUMN ptl.waiting_list_entry.procedure_description IS 'Intended procedure in words';
COMMENT ON COLUMN ptl.waiting_list_entry.intended_management IS
    'NHS Data Dictionary INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights';
COMMENT ON COLUMN ptl.waiting_list_entry.clinical_priority IS 'Surgical priority P1a to P6';
COMMENT ON COLUMN ptl.waiting_list_entry.decision_to_admit IS 'Date of the decision to admit';
COMMENT ON COLUMN ptl.waiting_list_entry.expected_duration_minutes IS 'Expected time in theatre, minutes';
COMMENT ON COLUMN ptl.waiting_list_entry.consultant_code IS 'Consultant who will operate';
COMMENT ON COLUMN ptl.waiting_list_entry.tci_date IS 'Admission (to come in) date booked, if any';
COMMENT ON COLUMN ptl.waiting_list_entry.removed_date IS 'Date the entry left the list';
COMMENT ON COLUMN ptl.waiting_list_entry.removal_reason IS 'Why it left: admitted, no_longer_required, died, transferred, other';
COMMENT ON COLUMN ptl.waiting_list_entry.site_code IS 'Site where the admission is planned';
COMMENT ON COLUMN ptl.waiting_list_entry.batch_id IS 'Batch that last inserted or changed the entry';
COMMENT ON COLUMN ptl.waiting_list_entry.updated_at IS 'When the entry was last inserted or changed';

-- pg_restore, run by a superuser, puts back rows that were checked and
-- audited when they were first written: its inserts are not checked again
-- (the reference checks below), nor audited or stamped again
-- (src/ops/audit.sql).
-- (Restore custom-format dumps with pg_restore; a plain SQL dump replayed
-- through psql would audit every restored row as new.)
CREATE FUNCTION ptl_internal.restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN current_setting('application_name', true) = 'pg_restore'
   AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
COMMENT ON FUNCTION ptl_internal.restoring() IS
    'Whether this session is a superuser''s pg_restore (whose inserts restore audited rows rather than make changes)';

-- ---------------------------------------------------------------------------
-- References checked per statement.  A foreign key checks every row it
-- inserts with a query of its own; on the PAS tables, which ptl.load fills
-- a million rows at a time, those queries were most of a load's time (five
-- per event).  The references below are instead checked once per
-- statement, over all the rows it wrote (ptl_internal.check_references), and a
-- referenced row they name cannot be deleted, nor its key changed, while
-- they name it (ptl_internal.check_referenced): the same rule as the foreign key,
-- paid once per statement.  Each one's former constraint name is kept as
-- the rule's name in errors.  A row's parent stays a foreign key: a
-- patient's pathway (pathway_patient_id_fkey), an event's and an entry's
-- pathway (pathway_event_pathway_id_fkey, waiting_list_entry_pathway_id_fkey).
-- docs/loading.md ("What the tables guarantee") explains the choice.
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.checked_reference (
    table_name          text NOT NULL CHECK (table_name IN ('patient', 'pathway', 'pathway_event', 'waiting_list_entry')),
    column_name         text NOT NULL,
    referenced_table    text NOT NULL CHECK (referenced_table IN ('organisation', 'site', 'commissioner',
                                                                  'treatment_function', 'batch', 'patient')),
    referenced_column   text NOT NULL,
    rule_name           text NOT NULL UNIQUE,
    PRIMARY KEY (table_name, column_name)
);
COMMENT ON TABLE ptl.checked_reference IS
    'References of the PAS tables checked once per statement (ptl_internal.check_references, ptl_internal.check_referenced) instead of by a foreign key per row: every value must be a key of the referenced table, which cannot lose a key still named';
COMMENT ON COLUMN ptl.checked_reference.table_name IS 'The table holding the reference (schema ptl)';
COMMENT ON COLUMN ptl.checked_reference.column_name IS 'The column holding the reference (NULL refers to nothing)';
COMMENT ON COLUMN ptl.checked_reference.referenced_table IS 'The table referred to (schema ptl)';
COMMENT ON COLUMN ptl.checked_reference.referenced_column IS 'Its key column';
COMMENT ON COLUMN ptl.checked_reference.rule_name IS 'The rule''s name in errors (the foreign key it replaces had it)';
INSERT INTO ptl.checked_reference (table_name, column_name, referenced_table, referenced_column, rule_name) VALUES
    ('patient', 'org_code', 'organisation', 'org_code', 'patient_org_code_fkey'),
    ('patient', 'commissioner_code', 'commissioner', 'commissioner_code', 'patient_commissioner_code_fkey'),
    ('patient', 'batch_id', 'batch', 'batch_id', 'patient_batch_id_fkey'),
    ('pathway', 'provider_org', 'organisation', 'org_code', 'pathway_provider_org_fkey'),
    ('pathway', 'site_code', 'site', 'site_code', 'pathway_site_code_fkey'),
    ('pathway', 'treatment_function', 'treatment_function', 'tfc', 'pathway_treatment_function_fkey'),
    ('pathway', 'commissioner_code', 'commissioner', 'commissioner_code', 'pathway_commissioner_code_fkey'),
    ('pathway', 'batch_id', 'batch', 'batch_id', 'pathway_batch_id_fkey'),
    ('pathway_event', 'patient_id', 'patient', 'patient_id', 'pathway_event_patient_id_fkey'),
    ('pathway_event', 'site_code', 'site', 'site_code', 'pathway_event_site_code_fkey'),
    ('pathway_event', 'treatment_function', 'treatment_function', 'tfc', 'pathway_event_treatment_function_fkey'),
    ('pathway_event', 'batch_id', 'batch', 'batch_id', 'pathway_event_batch_id_fkey'),
    ('waiting_list_entry', 'patient_id', 'patient', 'patient_id', 'waiting_list_entry_patient_id_fkey'),
    ('waiting_list_entry', 'site_code', 'site', 'site_code', 'waiting_list_entry_site_code_fkey'),
    ('waiting_list_entry', 'batch_id', 'batch', 'batch_id', 'waiting_list_entry_batch_id_fkey');

-- After an INSERT or UPDATE statement on a PAS table: every value its rows
-- hold in a checked reference is a key of the referenced table.  Those keys
-- are locked as a foreign key locks them (FOR KEY SHARE), so a concurrent
-- delete waits and then sees the rows.  Runs with its owner's rights, as a
-- foreign key's check does: the writer need not be able to lock reference
-- rows.
CREATE FUNCTION ptl_internal.check_references() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    r ptl.checked_reference;
    wanted bigint;
    held bigint;
    missing text;
BEGIN
    -- A superuser's pg_restore puts back rows that passed these checks when
    -- they were written, table by table in an order no foreign key now
    -- dictates (a pathway's site may come after it): not checked again.
    IF ptl_internal.restoring() THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT * FROM ptl.checked_reference c WHERE c.table_name = TG_TABLE_NAME ORDER BY c.column_name LOOP
        EXECUTE format('SELECT count(DISTINCT n.%I) FROM checked_rows n', r.column_name) INTO wanted;
        CONTINUE WHEN wanted = 0;
        EXECUTE format($q$
            SELECT count(*) FROM (SELECT 1 FROM ptl.%2$I t
                                  WHERE t.%3$I IN (SELECT n.%1$I FROM checked_rows n)
                                  FOR KEY SHARE OF t) k$q$,
            r.column_name, r.referenced_table, r.referenced_column)
        INTO held;
        CONTINUE WHEN held = wanted;
        EXECUTE format($q$
            SELECT n.%1$I::text FROM checked_rows n
            WHERE n.%1$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ptl.%2$I t WHERE t.%3$I = n.%1$I)
            LIMIT 1$q$,
            r.column_name, r.referenced_table, r.referenced_column)
        INTO missing;
        RAISE EXCEPTION 'ptl.%.% % is not in ptl.% (rule %)', r.table_name, r.column_name,
                        quote_literal(missing), r.referenced_table, r.rule_name
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = r.rule_name,
                  SCHEMA = 'ptl', TABLE = r.table_name, COLUMN = r.column_name,
                  HINT = format('Add it to ptl.%s first (ptl.load adds an unknown site, commissioner or treatment function there as a placeholder).',
                                r.referenced_table);
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.check_references() IS
    'Trigger, once per INSERT or UPDATE statement on a PAS table: every value of a checked reference (ptl.checked_reference) its rows hold is a key of the referenced table, locked as a foreign key locks it (foreign_key_violation otherwise)';

-- After a DELETE, or an UPDATE that changes keys, of a referenced table:
-- no PAS row still names a key that is gone.
CREATE FUNCTION ptl_internal.check_referenced() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    r ptl.checked_reference;
    gone text;
    named text;
BEGIN
    FOR r IN SELECT * FROM ptl.checked_reference c WHERE c.referenced_table = TG_TABLE_NAME
             ORDER BY c.table_name, c.column_name LOOP
        gone := CASE TG_OP
            WHEN 'DELETE' THEN format('SELECT o.%1$I FROM old_rows o', r.referenced_column)
            ELSE format('SELECT o.%1$I FROM old_rows o EXCEPT SELECT n.%1$I FROM new_rows n', r.referenced_column) END;
        EXECUTE format($q$
            SELECT g.k::text FROM (%1$s) g (k)
            WHERE EXISTS (SELECT 1 FROM ptl.%2$I x WHERE x.%3$I = g.k)
            LIMIT 1$q$, gone, r.table_name, r.column_name)
        INTO named;
        IF named IS NOT NULL THEN
            RAISE EXCEPTION '% on table ptl.% takes away % %, which ptl.%.% still names (rule %)',
                            lower(TG_OP), r.referenced_table, r.referenced_column, quote_literal(named),
                            r.table_name, r.column_name, r.rule_name
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = r.rule_name,
                      SCHEMA = 'ptl', TABLE = r.table_name, COLUMN = r.column_name,
                      HINT = format('Change or remove the ptl.%s rows that name it first.', r.table_name);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.check_referenced() IS
    'Trigger, once per DELETE or UPDATE statement on a table the PAS tables refer to (ptl.checked_reference): refuses to take away a key a PAS row still names (foreign_key_violation)';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'] LOOP
        EXECUTE format('CREATE TRIGGER %1$I AFTER INSERT ON ptl.%2$I REFERENCING NEW TABLE AS checked_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.check_references()', t || '_references_inserted', t);
        EXECUTE format('CREATE TRIGGER %1$I AFTER UPDATE ON ptl.%2$I REFERENCING NEW TABLE AS checked_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.check_references()', t || '_references_updated', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['organisation', 'site', 'commissioner', 'treatment_function', 'batch', 'patient'] LOOP
        EXECUTE format('CREATE TRIGGER %1$I AFTER DELETE ON ptl.%2$I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.check_referenced()', t || '_referenced_deleted', t);
        EXECUTE format('CREATE TRIGGER %1$I AFTER UPDATE ON ptl.%2$I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.check_referenced()', t || '_referenced_updated', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Shipped reference rows: RTT lines (RTT guidance 10.1.4) and treatment
-- functions (DCB0028 names; lines for the 18 named functions
-- and the stated exceptions are NHS England's, the X0n groups are the
-- reference's provisional reading and are data a trust may correct).
-- ---------------------------------------------------------------------------
INSERT INTO ptl.rtt_line (line_code, csv_code, name, sort_order) VALUES
    ('100', 'C_100', 'General Surgery Service', 1),
    ('101', 'C_101', 'Urology Service', 2),
    ('110', 'C_110', 'Trauma and Orthopaedic Service', 3),
    ('120', 'C_120', 'Ear Nose and Throat Service', 4),
    ('130', 'C_130', 'Ophthalmology Service', 5),
    ('140', 'C_140', 'Oral Surgery Service', 6),
    ('150', 'C_150', 'Neurosurgical Service', 7),
    ('160', 'C_160', 'Plastic Surgery Service', 8),
    ('170', 'C_170', 'Cardiothoracic Surgery Service', 9),
    ('300', 'C_300', 'General Internal Medicine Service', 10),
    ('301', 'C_301', 'Gastroenterology Service', 11),
    ('320', 'C_320', 'Cardiology Service', 12),
    ('330', 'C_330', 'Dermatology Service', 13),
    ('340', 'C_340', 'Respiratory Medicine Service', 14),
    ('400', 'C_400', 'Neurology Service', 15),
    ('410', 'C_410', 'Rheumatology Service', 16),
    ('430', 'C_430', 'Elderly Medicine Service', 17),
    ('502', 'C_502', 'Gynaecology Service', 18),
    ('X02', 'X02', 'Other - Medical Services', 19),
    ('X03', 'X03', 'Other - Mental Health Services', 20),
    ('X04', 'X04', 'Other - Paediatric Services', 21),
    ('X05', 'X05', 'Other - Surgical Services', 22),
    ('X06', 'X06', 'Other - Other Services', 23),
    ('999', 'C_999', 'Total', 24);

INSERT INTO ptl.treatment_function (tfc, name, rtt_line, consultant_led, shipped)
SELECT v.tfc, v.name, v.line, v.cl, true
FROM (VALUES
    ('100', 'General Surgery Service', '100', true),
    ('101', 'Urology Service', '101', true),
    ('102', 'Transplant Surgery Service', 'X05', true),
    ('103', 'Breast Surgery Service', 'X05', true),
    ('104', 'Colorectal Surgery Service', 'X05', true),
    ('105', 'Hepatobiliary and Pancreatic Surgery Service', 'X05', true),
    ('106', 'Upper Gastrointestinal Surgery Service', 'X05', true),
    ('107', 'Vascular Surgery Service', 'X05', true),
    ('108', 'Spinal Surgery Service', '110', true),
    ('109', 'Bariatric Surgery Service', 'X05', true),
    ('110', 'Trauma and Orthopaedic Service', '110', true),
    ('111', 'Orthopaedic Service', '110', true),
    ('113', 'Endocrine Surgery Service', 'X05', true),
    ('115', 'Trauma Surgery Service', '110', true),
    ('120', 'Ear Nose and Throat Service', '120', true),
    ('130', 'Ophthalmology Service', '130', true),
    ('140', 'Oral Surgery Service', '140', true),
    ('141', 'Restorative Dentistry Service', 'X05', true),
    ('142', 'Paediatric Dentistry Service', 'X04', true),
    ('143', 'Orthodontic Service', 'X05', true),
    ('144', 'Maxillofacial Surgery Service', '140', true),
    ('145', 'Oral and Maxillofacial Surgery Service', '140', true),
    ('150', 'Neurosurgical Service', '150', true),
    ('160', 'Plastic Surgery Service', '160', true),
    ('161', 'Burns Care Service', 'X05', true),
    ('170', 'Cardiothoracic Surgery Service', '170', true),
    ('171', 'Paediatric Surgery Service', 'X04', true),
    ('172', 'Cardiac Surgery Service', '170', true),
    ('173', 'Thoracic Surgery Service', '170', true),
    ('174', 'Cardiothoracic Transplantation Service', 'X05', true),
    ('191', 'Pain Management Service', 'X05', true),
    ('300', 'General Internal Medicine Service', '300', true),
    ('301', 'Gastroenterology Service', '301', true),
    ('302', 'Endocrinology Service', 'X02', true),
    ('303', 'Clinical Haematology Service', 'X02', true),
    ('306', 'Hepatology Service', 'X02', true),
    ('307', 'Diabetes Service', 'X02', true),
    ('308', 'Blood and Marrow Transplantation Service', 'X02', true),
    ('309', 'Haemophilia Service', 'X02', true),
    ('311', 'Clinical Genetics Service', 'X02', true),
    ('314', 'Rehabilitation Medicine Service', 'X02', true),
    ('315', 'Palliative Medicine Service', 'X02', true),
    ('317', 'Allergy Service', 'X02', true),
    ('320', 'Cardiology Service', '320', true),
    ('321', 'Paediatric Cardiology Service', 'X04', true),
    ('326', 'Acute Internal Medicine Service', 'X02', true),
    ('328', 'Stroke Medicine Service', 'X02', true),
    ('330', 'Dermatology Service', '330', true),
    ('340', 'Respiratory Medicine Service', '340', true),
    ('347', 'Sleep Medicine Service', 'X02', true),
    ('350', 'Infectious Diseases Service', 'X02', true),
    ('360', 'Genitourinary Medicine Service', 'X02', true),
    ('361', 'Renal Medicine Service', 'X02', true),
    ('370', 'Medical Oncology Service', 'X02', true),
    ('400', 'Neurology Service', '400', true),
    ('401', 'Clinical Neurophysiology Service', 'X02', true),
    ('410', 'Rheumatology Service', '410', true),
    ('420', 'Paediatric Service', 'X04', true),
    ('421', 'Paediatric Neurology Service', 'X04', true),
    ('430', 'Elderly Medicine Service', '430', true),
    ('460', 'Medical Ophthalmology Service', 'X02', true),
    ('502', 'Gynaecology Service', '502', true),
    ('503', 'Gynaecological Oncology Service', 'X05', true),
    ('290', 'Community Paediatric Service', 'X04', false),
    ('650', 'Physiotherapy Service', 'X06', false),
    ('653', 'Podiatry Service', 'X06', false),
    ('654', 'Dietetics Service', 'X06', false),
    ('656', 'Clinical Psychology Service', 'X03', true),
    ('710', 'Adult Mental Health Service', 'X03', true),
    ('711', 'Child and Adolescent Psychiatry Service', 'X03', true),
    ('715', 'Old Age Psychiatry Service', 'X03', true),
    ('800', 'Clinical Oncology Service', 'X02', true),
    ('812', 'Diagnostic Imaging Service', 'X06', false),
    ('840', 'Audiology Service', 'X06', false)
) AS v (tfc, name, line, cl);

-- Shipped rows are ptl's: CREATE EXTENSION writes them again on restore, so a
-- change made to one in place could not survive pg_dump.  A trust's
-- corrections go in ptl.treatment_function_override instead, and a change in
-- place is refused with a hint saying so.
CREATE TABLE ptl.treatment_function_override (
    tfc             text PRIMARY KEY REFERENCES ptl.treatment_function (tfc),
    rtt_line        text NOT NULL REFERENCES ptl.rtt_line (line_code),
    consultant_led  boolean NOT NULL,
    reason          text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL DEFAULT current_user,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT treatment_function_override_changed_at_in_range CHECK (ptl.in_storage_range(changed_at))
);
COMMENT ON TABLE ptl.treatment_function_override IS
    'A trust''s correction of a shipped treatment function: the RTT line it is reported on (e.g. 172/173 on X05 instead of 170) or whether it is consultant-led';
COMMENT ON COLUMN ptl.treatment_function_override.tfc IS 'Treatment function code';
COMMENT ON COLUMN ptl.treatment_function_override.rtt_line IS 'RTT return line to report it on';
COMMENT ON COLUMN ptl.treatment_function_override.consultant_led IS 'Whether it is consultant-led (in RTT)';
COMMENT ON COLUMN ptl.treatment_function_override.reason IS 'Why (e.g. the DCB0028 group table, or the 170 reporting option)';
COMMENT ON COLUMN ptl.treatment_function_override.changed_at IS 'When it was set';
COMMENT ON COLUMN ptl.treatment_function_override.changed_by IS 'Who set it';

CREATE FUNCTION ptl_internal.refuse_shipped_change() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'treatment function % is shipped with ptl and cannot be changed in place', OLD.tfc
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'CREATE EXTENSION writes shipped rows again when a dump is restored, so the change would be lost.',
              HINT = 'Put the correction in ptl.treatment_function_override.';
END
$$;
COMMENT ON FUNCTION ptl_internal.refuse_shipped_change() IS
    'Trigger: refuses UPDATE or DELETE of a treatment function shipped with ptl (use ptl.treatment_function_override)';
CREATE TRIGGER treatment_function_shipped_is_read_only
    BEFORE UPDATE OR DELETE ON ptl.treatment_function
    FOR EACH ROW WHEN (OLD.shipped) EXECUTE FUNCTION ptl_internal.refuse_shipped_change();

CREATE VIEW ptl.treatment_function_in_use AS
SELECT tf.tfc, tf.name,
       coalesce(o.rtt_line, tf.rtt_line) AS rtt_line,
       coalesce(o.consultant_led, tf.consultant_led) AS consultant_led,
       (o.tfc IS NOT NULL) AS overridden
FROM ptl.treatment_function tf
LEFT JOIN ptl.treatment_function_override o USING (tfc);
COMMENT ON VIEW ptl.treatment_function_in_use IS
    'Every treatment function with the RTT line and consultant-led flag in force (the trust''s override, else ptl''s)';
COMMENT ON COLUMN ptl.treatment_function_in_use.tfc IS 'Treatment function code';
COMMENT ON COLUMN ptl.treatment_function_in_use.name IS 'Name';
COMMENT ON COLUMN ptl.treatment_function_in_use.rtt_line IS 'RTT return line in force';
COMMENT ON COLUMN ptl.treatment_function_in_use.consultant_led IS 'Consultant-led flag in force';
COMMENT ON COLUMN ptl.treatment_function_in_use.overridden IS 'True when the trust has overridden ptl''s mapping';

-- pg_dump keeps what users put in the tables; rows ptl itself ships are
-- recreated by CREATE EXTENSION and so are left out of the dump.
-- Statistics after a bulk write.  Autovacuum analyses a table some time
-- after it changes; a bulk write inside one transaction (a first load, a
-- relinkage, or rows rolled back since the last analysis, which leave a
-- table analysed as empty) is then planned for the wrong size, and a join
-- planned for an empty table can cost minutes.  Sampling costs milliseconds.
--
-- SECURITY DEFINER: only a table's owner may ANALYZE it, and the daily
-- refresh runs as ptl_admin (ops/), for whom ANALYZE would only warn and
-- skip, leaving exactly the stale statistics this guards against.  Limited
-- to ptl's own tables.
CREATE FUNCTION ptl.analyze_if_grown(tbl regclass, rows_now bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    est_rows float8;
    est_pages int;
    pages_now bigint;
BEGIN
    IF (SELECT c.relnamespace FROM pg_class c WHERE c.oid = tbl)
       NOT IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) THEN
        RAISE EXCEPTION 'ptl.analyze_if_grown analyses ptl''s own tables, not %', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    pages_now := pg_catalog.pg_relation_size(tbl) / current_setting('block_size')::int;
    SELECT c.reltuples, c.relpages INTO est_rows, est_pages FROM pg_class c WHERE c.oid = tbl;
    -- Statistics that say "empty" for a table with pages (its rows rolled
    -- back or deleted since): the planner then takes every row written
    -- since for none.  With a row count: more than twice what the
    -- statistics say.  Without: a table that has more than doubled in pages.
    IF (pages_now > 8 AND est_rows <= 0 AND coalesce(rows_now, 1) > 0)
       OR (rows_now IS NOT NULL AND rows_now > 1000 AND rows_now > 2 * greatest(est_rows, 0))
       OR (rows_now IS NULL AND pages_now > 8 AND pages_now > 2 * greatest(est_pages, 1)) THEN
        EXECUTE format('ANALYZE %s', tbl);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION ptl.analyze_if_grown(regclass, bigint) IS
    'Internal: ANALYZE a table after a bulk write its statistics do not know of: statistics saying empty for a table with pages (rows rolled back since), rows_now over 1,000 and over twice the estimate, or (no count given) pages more than doubled';

SELECT pg_catalog.pg_extension_config_dump('ptl.organisation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.site', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.commissioner', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.treatment_function', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.treatment_function_override', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.area_deprivation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.postcode_district', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.batch', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.batch_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient_patient_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_pathway_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_event', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_entry', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_entry_entry_id_seq', '');
