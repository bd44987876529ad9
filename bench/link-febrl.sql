-- FEBRL (Christen's synthetic record-linkage sets febrl1-4, ANU
-- Open Source Licence 1.3, via the Python Record Linkage Toolkit) as patient
-- records: the file is read in place with COPY, never copied into ptl.
-- soc_sec_id stands in for an NHS number that is present but not valid (a
-- 7-digit number fails Modulus 11), so the deterministic step links nothing
-- and linkage rests on the probabilistic model, with the identifier as one
-- of its fields.  Invalid dates of birth (FEBRL typos) become NULL; the
-- suburb is the town.
-- psql variables: file (path), set_name (febrl1 .. febrl4), source (A or B).
CREATE TEMP TABLE IF NOT EXISTS febrl_raw (
    rec_id text, given_name text, surname text, street_number text, address_1 text,
    address_2 text, suburb text, postcode text, state text, date_of_birth text, soc_sec_id text);
TRUNCATE febrl_raw;
\set copy_command '\\copy febrl_raw FROM ' :'file' ' WITH (FORMAT csv, HEADER true)'
:copy_command

CREATE TEMP TABLE IF NOT EXISTS febrl_truth (patient_id bigint PRIMARY KEY, set_name text, entity text);

INSERT INTO ptl.organisation (org_code, name, org_kind, in_ics)
VALUES ('FEBRL', 'FEBRL benchmark records', 'other', false) ON CONFLICT DO NOTHING;

WITH batch AS (SELECT ptl.open_batch('FEBRL', :'set_name' || :'source') AS batch_id),
ins AS (
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, nhs_number_as_recorded,
                             given_name, family_name, date_of_birth, postcode, address_line_1, town, batch_id)
    SELECT 'FEBRL', :'set_name' || :'source', btrim(r.rec_id), nullif(btrim(r.soc_sec_id), ''),
           nullif(btrim(r.given_name), ''), nullif(btrim(r.surname), ''),
           CASE WHEN btrim(r.date_of_birth) ~ '^[0-9]{8}$'
                 AND ptl.check_input(btrim(r.date_of_birth), 'date') IS NULL
                THEN btrim(r.date_of_birth)::date END,
           nullif(btrim(r.postcode), ''),
           nullif(btrim(concat_ws(' ', nullif(btrim(r.street_number), ''), nullif(btrim(r.address_1), ''))), ''),
           nullif(btrim(r.suburb), ''), batch.batch_id
    FROM febrl_raw r, batch
    RETURNING patient_id, local_patient_id)
INSERT INTO febrl_truth
SELECT patient_id, :'set_name', substring(local_patient_id FROM '^rec-([0-9]+)-') FROM ins;
