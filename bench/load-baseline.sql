-- Baseline for bench/load.sh: what a team would write without ptl's C
-- parsers.  Plain INSERT ... SELECT from the staged text, validating in SQL:
-- regular expressions and calendar arithmetic for dates, the Modulus 11 sum
-- written in SQL, code lists with IN, parents by join.  Bad rows are only
-- counted by extract (no per-row reason or message), so the baseline does
-- less work than ptl.load().
\set ON_ERROR_STOP on
SET datestyle = 'ISO, DMY';

-- A date written YYYY-MM-DD or DD/MM/YYYY, NULL when it is not a real date.
CREATE FUNCTION bench.sql_date(v text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN v ~ '^\d{4}-\d{2}-\d{2}$'
         AND substr(v, 6, 2)::int BETWEEN 1 AND 12
         AND substr(v, 9, 2)::int BETWEEN 1 AND
             extract(day FROM make_date(substr(v, 1, 4)::int, substr(v, 6, 2)::int, 1)
                              + interval '1 month - 1 day')::int
        THEN make_date(substr(v, 1, 4)::int, substr(v, 6, 2)::int, substr(v, 9, 2)::int)
    WHEN v ~ '^\d{2}/\d{2}/\d{4}$'
         AND substr(v, 4, 2)::int BETWEEN 1 AND 12
         AND substr(v, 1, 2)::int BETWEEN 1 AND
             extract(day FROM make_date(substr(v, 7, 4)::int, substr(v, 4, 2)::int, 1)
                              + interval '1 month - 1 day')::int
        THEN make_date(substr(v, 7, 4)::int, substr(v, 4, 2)::int, substr(v, 1, 2)::int)
END;

-- Modulus 11 in SQL on the digits of an NHS number (spaces/hyphens removed).
CREATE FUNCTION bench.sql_nhs_valid(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN v ~ '^\d{3}[ -]?\d{3}[ -]?\d{4}$' THEN
   (11 - (substr(translate(v, ' -', ''), 1, 1)::int * 10 + substr(translate(v, ' -', ''), 2, 1)::int * 9 + substr(translate(v, ' -', ''), 3, 1)::int * 8 + substr(translate(v, ' -', ''), 4, 1)::int * 7 + substr(translate(v, ' -', ''), 5, 1)::int * 6 + substr(translate(v, ' -', ''), 6, 1)::int * 5 + substr(translate(v, ' -', ''), 7, 1)::int * 4 + substr(translate(v, ' -', ''), 8, 1)::int * 3 + substr(translate(v, ' -', ''), 9, 1)::int * 2) % 11) % 11
       = substr(translate(v, ' -', ''), 10, 1)::int
   ELSE false END;

CREATE TEMP TABLE ok_patient AS
SELECT s.*, b.org_code, b.source_system
FROM bench.patient s JOIN ptl.batch b USING (batch_id)
WHERE nullif(btrim(s.local_patient_id), '') IS NOT NULL
  AND (nullif(btrim(s.date_of_birth), '') IS NULL OR bench.sql_date(btrim(s.date_of_birth)) IS NOT NULL)
  AND (nullif(btrim(s.date_of_death), '') IS NULL OR bench.sql_date(btrim(s.date_of_death)) IS NOT NULL)
  AND (nullif(btrim(s.sex), '') IS NULL OR btrim(s.sex) IN ('1', '2', '9', 'X'))
  AND (nullif(btrim(s.ethnic_category), '') IS NULL OR btrim(s.ethnic_category) IN
       ('A','B','C','D','E','F','G','H','J','K','L','M','N','P','R','S','Z','99'))
  AND (nullif(btrim(s.commissioner_code), '') IS NULL
       OR btrim(s.commissioner_code) IN (SELECT commissioner_code FROM ptl.commissioner));
INSERT INTO ptl.patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
                         given_name, family_name, date_of_birth, date_of_death, sex, postcode,
                         address_line_1, ethnic_category, lsoa_code, gp_practice_code, commissioner_code, batch_id)
SELECT DISTINCT ON (org_code, source_system, btrim(local_patient_id))
       org_code, source_system, btrim(local_patient_id),
       CASE WHEN bench.sql_nhs_valid(btrim(nhs_number)) THEN btrim(nhs_number)::ptl.nhs_number END,
       nullif(btrim(nhs_number), ''),
       nullif(btrim(given_name), ''), nullif(btrim(family_name), ''),
       bench.sql_date(btrim(date_of_birth)), bench.sql_date(btrim(date_of_death)),
       nullif(btrim(sex), ''), nullif(btrim(postcode), ''), nullif(btrim(address_line_1), ''),
       nullif(btrim(ethnic_category), ''), nullif(btrim(lsoa_code), ''),
       nullif(btrim(gp_practice_code), ''), nullif(btrim(commissioner_code), ''), batch_id
FROM ok_patient
ORDER BY org_code, source_system, btrim(local_patient_id), row_no DESC
ON CONFLICT DO NOTHING;
INSERT INTO bench.rejected SELECT 'patient', row_no FROM bench.patient
WHERE row_no NOT IN (SELECT row_no FROM ok_patient);

CREATE TEMP TABLE ok_pathway AS
SELECT s.*, b.org_code, b.source_system, b.site_code AS batch_site
FROM bench.pathway s JOIN ptl.batch b USING (batch_id)
WHERE btrim(s.ppid) ~ '^[!-~]{1,20}$'
  AND btrim(s.ppid_issuer) ~ '^[A-Z0-9]{3,6}$'
  AND (nullif(btrim(s.ubrn), '') IS NULL OR btrim(s.ubrn) ~ '^[0-9]{12}$')
  AND (nullif(btrim(s.site_code), '') IS NULL OR btrim(s.site_code) IN (SELECT site_code FROM ptl.site))
  AND btrim(s.treatment_function) IN (SELECT tfc FROM ptl.treatment_function)
  AND (nullif(btrim(s.referral_priority), '') IS NULL
       OR btrim(s.referral_priority) IN ('1', '2', '3', 'routine', 'urgent', 'two_week_wait'))
  AND bench.sql_date(btrim(s.referral_received)) IS NOT NULL
  AND (nullif(btrim(s.commissioner_code), '') IS NULL
       OR btrim(s.commissioner_code) IN (SELECT commissioner_code FROM ptl.commissioner));
INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, ubrn, treatment_function,
                         referral_priority, referral_received, commissioner_code, consultant_code, batch_id)
SELECT DISTINCT ON (w.org_code, btrim(w.ppid_issuer), btrim(w.ppid))
       p.patient_id, w.org_code, coalesce(nullif(btrim(w.site_code), ''), w.batch_site),
       btrim(w.ppid), btrim(w.ppid_issuer), nullif(btrim(w.ubrn), ''), btrim(w.treatment_function),
       CASE btrim(w.referral_priority) WHEN '2' THEN 'urgent' WHEN '3' THEN 'two_week_wait'
            WHEN 'urgent' THEN 'urgent' WHEN 'two_week_wait' THEN 'two_week_wait'
            ELSE 'routine' END::ptl.referral_priority,
       bench.sql_date(btrim(w.referral_received)),
       nullif(btrim(w.commissioner_code), ''), nullif(btrim(w.consultant_code), ''), w.batch_id
FROM ok_pathway w
JOIN ptl.patient p ON p.org_code = w.org_code AND p.source_system = w.source_system
                  AND p.local_patient_id = btrim(w.local_patient_id)
ORDER BY w.org_code, btrim(w.ppid_issuer), btrim(w.ppid), w.row_no DESC
ON CONFLICT DO NOTHING;
INSERT INTO bench.rejected SELECT 'pathway', row_no FROM bench.pathway
WHERE row_no NOT IN (SELECT row_no FROM ok_pathway);

CREATE TEMP TABLE ok_event AS
SELECT s.*, b.org_code, b.site_code AS batch_site
FROM bench.pathway_event s JOIN ptl.batch b USING (batch_id)
WHERE nullif(btrim(s.event_ref), '') IS NOT NULL
  AND bench.sql_date(btrim(s.event_date)) IS NOT NULL
  AND btrim(s.kind) IN (SELECT unnest(enum_range(NULL::ptl.event_kind))::text)
  AND (nullif(btrim(s.rtt_status), '') IS NULL OR btrim(s.rtt_status) IN
       ('10','11','12','20','21','30','31','32','33','34','35','36','90','91','92','98','99'))
  AND (nullif(btrim(s.ref_date), '') IS NULL OR bench.sql_date(btrim(s.ref_date)) IS NOT NULL)
  AND (nullif(btrim(s.ref_date), '') IS NOT NULL OR btrim(s.kind) NOT IN ('transfer_in', 'tci_offer', 'tci_declined'))
  AND (nullif(btrim(s.site_code), '') IS NULL OR btrim(s.site_code) IN (SELECT site_code FROM ptl.site))
  AND (nullif(btrim(s.treatment_function), '') IS NULL
       OR btrim(s.treatment_function) IN (SELECT tfc FROM ptl.treatment_function));
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                               site_code, treatment_function, batch_id)
SELECT DISTINCT ON (p.pathway_id, btrim(w.event_ref))
       p.pathway_id, p.patient_id, btrim(w.event_ref), bench.sql_date(btrim(w.event_date)),
       btrim(w.kind)::ptl.event_kind, nullif(btrim(w.rtt_status), '')::ptl.rtt_status,
       bench.sql_date(btrim(w.ref_date)), coalesce(nullif(btrim(w.site_code), ''), w.batch_site),
       nullif(btrim(w.treatment_function), ''), w.batch_id
FROM ok_event w
JOIN ptl.pathway p ON p.provider_org = w.org_code AND p.ppid_issuer = btrim(w.ppid_issuer)
                  AND p.ppid = btrim(w.ppid)
ORDER BY p.pathway_id, btrim(w.event_ref), w.row_no DESC
ON CONFLICT DO NOTHING;
INSERT INTO bench.rejected SELECT 'pathway_event', row_no FROM bench.pathway_event
WHERE row_no NOT IN (SELECT row_no FROM ok_event);

CREATE TEMP TABLE ok_entry AS
SELECT s.*, b.org_code, b.site_code AS batch_site
FROM bench.waiting_list_entry s JOIN ptl.batch b USING (batch_id)
WHERE nullif(btrim(s.entry_ref), '') IS NOT NULL
  AND (nullif(btrim(s.procedure_code), '') IS NULL OR btrim(s.procedure_code) ~ '^[A-Z][0-9]{2}\.?[0-9]?$')
  AND btrim(s.intended_management) IN ('1', '2', '3', '4', '5')
  AND (nullif(btrim(s.clinical_priority), '') IS NULL
       OR lower(btrim(s.clinical_priority)) IN ('p1a', 'p1b', 'p2', 'p3', 'p4', 'p5', 'p6'))
  AND bench.sql_date(btrim(s.decision_to_admit)) IS NOT NULL
  AND (nullif(btrim(s.expected_duration_minutes), '') IS NULL
       OR (btrim(s.expected_duration_minutes) ~ '^\d{1,4}$'
           AND btrim(s.expected_duration_minutes)::int BETWEEN 1 AND 1440))
  AND (nullif(btrim(s.tci_date), '') IS NULL OR bench.sql_date(btrim(s.tci_date)) IS NOT NULL)
  AND (nullif(btrim(s.removed_date), '') IS NULL OR bench.sql_date(btrim(s.removed_date)) IS NOT NULL)
  AND (nullif(btrim(s.removed_date), '') IS NULL) = (nullif(btrim(s.removal_reason), '') IS NULL)
  AND (nullif(btrim(s.removal_reason), '') IS NULL OR btrim(s.removal_reason) IN
       ('admitted', 'no_longer_required', 'died', 'transferred', 'other'));
INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, procedure_description,
                                    intended_management, clinical_priority, decision_to_admit,
                                    expected_duration_minutes, consultant_code, tci_date, removed_date,
                                    removal_reason, site_code, batch_id)
SELECT DISTINCT ON (p.pathway_id, btrim(w.entry_ref))
       p.pathway_id, p.patient_id, btrim(w.entry_ref), nullif(btrim(w.procedure_code), ''),
       nullif(btrim(w.procedure_description), ''), btrim(w.intended_management),
       nullif(btrim(w.clinical_priority), '')::ptl.clinical_priority,
       bench.sql_date(btrim(w.decision_to_admit)), nullif(btrim(w.expected_duration_minutes), '')::int,
       nullif(btrim(w.consultant_code), ''), bench.sql_date(btrim(w.tci_date)),
       bench.sql_date(btrim(w.removed_date)), nullif(btrim(w.removal_reason), ''),
       coalesce(nullif(btrim(w.site_code), ''), w.batch_site), w.batch_id
FROM ok_entry w
JOIN ptl.pathway p ON p.provider_org = w.org_code AND p.ppid_issuer = btrim(w.ppid_issuer)
                  AND p.ppid = btrim(w.ppid)
WHERE bench.sql_date(btrim(w.removed_date)) IS NULL
   OR bench.sql_date(btrim(w.removed_date)) >= bench.sql_date(btrim(w.decision_to_admit))
ORDER BY p.pathway_id, btrim(w.entry_ref), w.row_no DESC
ON CONFLICT DO NOTHING;
INSERT INTO bench.rejected SELECT 'waiting_list_entry', row_no FROM bench.waiting_list_entry
WHERE row_no NOT IN (SELECT row_no FROM ok_entry);
