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

-- The extracts of the front door, in the order ptl.load() takes them
-- (parents before children: a row can only point at what is loaded).  Each
-- capability that receives a feed registers its extract here, with its
-- staging table ptl_stage.<extract>, its columns in ptl.extract_column and
-- a loader; ptl.load, ptl.stage_extract, ptl.retry_rejected,
-- ptl.staged_rows and ptl.unstage all work from this list.
CREATE TABLE ptl.feed (
    extract         text PRIMARY KEY CHECK (extract ~ '^[a-z][a-z_]*$'),
    load_order      int NOT NULL UNIQUE,
    capability      text NOT NULL,
    natural_key     text[] NOT NULL CHECK (cardinality(natural_key) > 0),
    key_words       text NOT NULL,
    placed_on       text NOT NULL CHECK (placed_on IN ('patient', 'pathway', 'entry', 'organisation')),
    -- (one of ptl's own functions: ptl.load runs it with its owner's rights)
    loader          text NOT NULL CHECK (loader ~ '^ptl_internal[.]load_[a-z_]+$'),
    target          regclass NOT NULL,
    description     text NOT NULL
);
COMMENT ON TABLE ptl.feed IS
    'The extracts ptl.load() receives, in load order: each has a staging table ptl_stage.<extract>, its columns in ptl.extract_column, a natural key (a row repeating a key later in its extract is superseded) and a loader';
COMMENT ON COLUMN ptl.feed.extract IS 'Extract name, which is also its staging table in ptl_stage';
COMMENT ON COLUMN ptl.feed.load_order IS 'Order within a batch: parents (patients, pathways, sessions) before the rows that point at them';
COMMENT ON COLUMN ptl.feed.capability IS 'The part of ptl the extract feeds (pas, theatre, outpatient, beds, risk, aid)';
COMMENT ON COLUMN ptl.feed.natural_key IS 'Staged columns that identify a record at the batch''s organisation: the upsert key';
COMMENT ON COLUMN ptl.feed.key_words IS 'The natural key in words, for messages';
COMMENT ON COLUMN ptl.feed.placed_on IS
    'What a row hangs on: a patient (local_patient_id), a pathway (ppid_issuer, ppid), a waiting-list entry (ppid_issuer, ppid, entry_ref) or only the organisation; a row whose parent is not known is quarantined (unknown_parent)';
COMMENT ON COLUMN ptl.feed.loader IS
    'ptl''s function (batch bigint) returning (loaded, changed, matched): the extract''s row rules and upsert';
COMMENT ON COLUMN ptl.feed.target IS 'The canonical table the extract loads';
COMMENT ON COLUMN ptl.feed.description IS 'What one row of the extract is';

-- The four extracts every PAS sends (the patient administration system's
-- view of patients, referrals, what happened and who waits for admission).
INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES
    ('patient', 10, 'pas', '{local_patient_id}', 'patient (local_patient_id)', 'organisation',
     'ptl_internal.load_patients', 'ptl.patient', 'A patient as the source system records them'),
    ('pathway', 20, 'pas', '{ppid_issuer,ppid}', 'pathway (ppid_issuer, ppid)', 'patient',
     'ptl_internal.load_pathways', 'ptl.pathway', 'A referral: one patient pathway at this provider'),
    ('pathway_event', 30, 'pas', '{ppid_issuer,ppid,event_ref}', 'event (ppid_issuer, ppid, event_ref)', 'pathway',
     'ptl_internal.load_events', 'ptl.pathway_event', 'Something that happened on a pathway, dated, with its RTT status'),
    ('waiting_list_entry', 40, 'pas', '{ppid_issuer,ppid,entry_ref}', 'waiting-list entry (ppid_issuer, ppid, entry_ref)', 'pathway',
     'ptl_internal.load_waiting_list', 'ptl.waiting_list_entry', 'An admitted waiting-list entry: a decision to admit until admission or removal');
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
    source_row          bigint,
    town                text,
    telephone           text,
    email               text
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
    source_row          bigint,
    triage_priority     text
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
    source_row          bigint,
    event_time          text
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
