-- ---------------------------------------------------------------------------
-- load, part 1: staging.  Extracts are COPYed here as text, so nothing is
-- refused at the door; ptl.load() then parses and validates every row.
--
-- Each staging table carries the batch (defaulted from ptl.open_batch() in the
-- same session, so a plain COPY with a column list needs no batch column) and
-- a row number in arrival order, which is the line a data manager is shown.
-- ---------------------------------------------------------------------------
CREATE SCHEMA ptl_stage;
COMMENT ON SCHEMA ptl_stage IS
    'Raw extracts as delivered, every column text: COPY here, then call ptl.load(batch)';

-- The batch this session is filling, set by ptl.open_batch().
CREATE FUNCTION ptl.current_batch() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN nullif(current_setting('ptl.current_batch', true), '')::bigint;
COMMENT ON FUNCTION ptl.current_batch() IS
    'The batch opened by ptl.open_batch() in this session (the default batch of staging rows), or NULL';

CREATE TABLE ptl_stage.patient (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    local_patient_id    text,
    nhs_number          text,
    given_name          text,
    family_name         text,
    date_of_birth       text,
    date_of_death       text,
    sex                 text,
    postcode            text,
    address_line_1      text,
    ethnic_category     text,
    lsoa_code           text,
    gp_practice_code    text,
    commissioner_code   text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.patient (batch_id);
COMMENT ON TABLE ptl_stage.patient IS 'Patient extract as delivered (one row per patient record)';

CREATE TABLE ptl_stage.pathway (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    local_patient_id    text,
    ppid                text,
    ppid_issuer         text,
    ubrn                text,
    site_code           text,
    treatment_function  text,
    referral_priority   text,
    referral_received   text,
    commissioner_code   text,
    consultant_code     text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.pathway (batch_id);
COMMENT ON TABLE ptl_stage.pathway IS 'Pathway (referral) extract as delivered (one row per pathway)';

CREATE TABLE ptl_stage.pathway_event (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer         text,
    ppid                text,
    event_ref           text,
    event_date          text,
    kind                text,
    rtt_status          text,
    ref_date            text,
    site_code           text,
    treatment_function  text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.pathway_event (batch_id);
COMMENT ON TABLE ptl_stage.pathway_event IS 'Pathway event extract as delivered (one row per event)';

CREATE TABLE ptl_stage.waiting_list_entry (
    batch_id                    bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                      bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer                 text,
    ppid                        text,
    entry_ref                   text,
    procedure_code              text,
    procedure_description       text,
    intended_management         text,
    clinical_priority           text,
    decision_to_admit           text,
    expected_duration_minutes   text,
    consultant_code             text,
    tci_date                    text,
    removed_date                text,
    removal_reason              text,
    site_code                   text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.waiting_list_entry (batch_id);
COMMENT ON TABLE ptl_stage.waiting_list_entry IS 'Admitted waiting-list extract as delivered (one row per entry)';
