-- ---------------------------------------------------------------------------
-- outpatient, the front door: clinics, clinic sessions, appointments,
-- follow-up requests, PIFU episodes and advice and guidance requests as
-- extracts of a trust's PAS, loaded by ptl.load() like the PAS extracts
-- (src/load/stage.sql, docs/loading.md, docs/outpatients.md).  Clinics are
-- known by the trust's clinic code, sessions by clinic and day; the records
-- of a pathway (appointments, follow-up requests, PIFU episodes) by the
-- source's reference on the pathway; advice requests by the source's
-- reference at the organisation.
-- ---------------------------------------------------------------------------

ALTER TABLE ptl.outpatient_appointment ADD COLUMN source_ref text,
    ADD CONSTRAINT outpatient_appointment_source_ref_key UNIQUE (pathway_id, source_ref);
COMMENT ON COLUMN ptl.outpatient_appointment.source_ref IS
    'The source system''s reference of the appointment (appointment_ref of its extract), unique on its pathway; NULL when inserted directly';
ALTER TABLE ptl.follow_up_request ADD COLUMN source_ref text,
    ADD CONSTRAINT follow_up_request_source_ref_key UNIQUE (pathway_id, source_ref);
COMMENT ON COLUMN ptl.follow_up_request.source_ref IS
    'The source system''s reference of the request (request_ref of its extract), unique on its pathway; NULL when inserted directly';
ALTER TABLE ptl.pifu_episode ADD COLUMN source_ref text,
    ADD CONSTRAINT pifu_episode_source_ref_key UNIQUE (pathway_id, source_ref);
COMMENT ON COLUMN ptl.pifu_episode.source_ref IS
    'The source system''s reference of the episode (pifu_ref of its extract), unique on its pathway; NULL when inserted directly';
ALTER TABLE ptl.advice_request ADD COLUMN source_ref text,
    ADD CONSTRAINT advice_request_source_ref_key UNIQUE (provider_org, source_ref);
COMMENT ON COLUMN ptl.advice_request.source_ref IS
    'The source system''s reference of the request (advice_ref of its extract), unique at its provider; NULL when inserted directly';

CREATE TABLE ptl_stage.clinic (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    clinic_code         text,
    site_code           text,
    treatment_function  text,
    name                text,
    consultant_code     text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.clinic (batch_id);
COMMENT ON TABLE ptl_stage.clinic IS 'Clinic extract as delivered (one row per clinic)';

CREATE TABLE ptl_stage.clinic_session (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    clinic_code         text,
    session_date        text,
    slots               text,
    cancelled           text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.clinic_session (batch_id);
COMMENT ON TABLE ptl_stage.clinic_session IS 'Clinic session extract as delivered (one row per clinic and day)';

CREATE TABLE ptl_stage.outpatient_appointment (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer         text,
    ppid                text,
    appointment_ref     text,
    clinic_code         text,
    appointment_date    text,
    appointment_type    text,
    attendance          text,
    outcome             text,
    follow_up_weeks     text,
    booked_on           text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.outpatient_appointment (batch_id);
COMMENT ON TABLE ptl_stage.outpatient_appointment IS 'Outpatient appointment extract as delivered (one row per appointment)';

CREATE TABLE ptl_stage.follow_up_request (
    batch_id                bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                  bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer             text,
    ppid                    text,
    request_ref             text,
    treatment_function      text,
    clinic_code             text,
    from_appointment_ref    text,
    requested_on            text,
    due_date                text,
    lcad                    text,
    clinical_risk           text,
    unavailable_until       text,
    seen_appointment_ref    text,
    closed_on               text,
    closed_reason           text,
    source_row              bigint
);
CREATE INDEX ON ptl_stage.follow_up_request (batch_id);
COMMENT ON TABLE ptl_stage.follow_up_request IS 'Follow-up request extract as delivered (one row per request)';

CREATE TABLE ptl_stage.pifu_episode (
    batch_id                bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                  bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer             text,
    ppid                    text,
    pifu_ref                text,
    treatment_function      text,
    from_appointment_ref    text,
    started_on              text,
    window_end              text,
    initiated_on            text,
    ended_on                text,
    end_reason              text,
    source_row              bigint
);
CREATE INDEX ON ptl_stage.pifu_episode (batch_id);
COMMENT ON TABLE ptl_stage.pifu_episode IS 'Patient-initiated follow-up extract as delivered (one row per episode)';

CREATE TABLE ptl_stage.advice_request (
    batch_id                bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                  bigint GENERATED ALWAYS AS IDENTITY,
    advice_ref              text,
    treatment_function      text,
    gp_practice_code        text,
    requested_on            text,
    responded_on            text,
    outcome                 text,
    referred_ppid_issuer    text,
    referred_ppid           text,
    source_row              bigint
);
CREATE INDEX ON ptl_stage.advice_request (batch_id);
COMMENT ON TABLE ptl_stage.advice_request IS 'Advice and guidance extract as delivered (one row per request)';

INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES
    ('clinic', 310, 'outpatient', '{clinic_code}', 'clinic (clinic_code)', 'organisation',
     'ptl_internal.load_clinics', 'ptl.clinic', 'An outpatient clinic: a specialty''s clinic at a site of the trust'),
    ('clinic_session', 320, 'outpatient', '{clinic_code,session_date}', 'clinic session (clinic_code, session_date)', 'organisation',
     'ptl_internal.load_clinic_sessions', 'ptl.clinic_session', 'A clinic on a day, with the appointment slots it offers'),
    ('outpatient_appointment', 330, 'outpatient', '{ppid_issuer,ppid,appointment_ref}', 'appointment (ppid_issuer, ppid, appointment_ref)', 'pathway',
     'ptl_internal.load_outpatient_appointments', 'ptl.outpatient_appointment', 'An outpatient appointment of a pathway, with its attendance and clinic outcome'),
    ('follow_up_request', 340, 'outpatient', '{ppid_issuer,ppid,request_ref}', 'follow-up request (ppid_issuer, ppid, request_ref)', 'pathway',
     'ptl_internal.load_follow_up_requests', 'ptl.follow_up_request', 'A follow-up a clinician asked for, with its due date and latest clinically appropriate date'),
    ('pifu_episode', 350, 'outpatient', '{ppid_issuer,ppid,pifu_ref}', 'PIFU episode (ppid_issuer, ppid, pifu_ref)', 'pathway',
     'ptl_internal.load_pifu_episodes', 'ptl.pifu_episode', 'A patient-initiated follow-up episode: its window and how it ended'),
    ('advice_request', 360, 'outpatient', '{advice_ref}', 'advice request (advice_ref)', 'organisation',
     'ptl_internal.load_advice_requests', 'ptl.advice_request', 'An advice and guidance request a GP practice sent to the trust''s specialists');

-- The policy's examples (ptl.feed_example: the PAS examples' pathway
-- RZ9/EX-PW1 at site RZ901, clinic EX-C1, appointment EX-A1) and the row
-- rules beyond the column rules, named as in sql/load_care_feeds.sql
-- (ptl.feed_rule; docs/loading.md).
INSERT INTO ptl.feed_example (extract, example) VALUES
    ('clinic', '{"clinic_code": "EX-C1", "site_code": "RZ901", "treatment_function": "110", "name": "Example hip clinic",
                 "consultant_code": "C1234567"}'),
    ('clinic_session', '{"clinic_code": "EX-C1", "session_date": "2025-01-13", "slots": "12", "cancelled": "N"}'),
    ('outpatient_appointment', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "appointment_ref": "EX-A1", "clinic_code": "EX-C1",
                                 "appointment_date": "2024-12-02", "appointment_type": "first", "attendance": "attended",
                                 "outcome": "follow_up", "follow_up_weeks": "26", "booked_on": "2024-11-11"}'),
    ('follow_up_request', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "request_ref": "EX-F1", "treatment_function": "110",
                            "clinic_code": "EX-C1", "from_appointment_ref": "EX-A1", "requested_on": "2024-12-02",
                            "due_date": "2025-06-02", "lcad": "2025-07-02", "clinical_risk": "low", "unavailable_until": "2025-01-31"}'),
    ('pifu_episode', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "pifu_ref": "EX-PF1", "treatment_function": "110",
                       "from_appointment_ref": "EX-A1", "started_on": "2024-12-02", "window_end": "2025-06-02",
                       "initiated_on": "2025-03-03"}'),
    ('advice_request', '{"advice_ref": "EX-AG1", "treatment_function": "110", "gp_practice_code": "B86001", "requested_on": "2024-10-14",
                         "responded_on": "2024-10-21", "outcome": "referral_advised", "referred_ppid_issuer": "RZ9",
                         "referred_ppid": "EX-PW1"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('clinic', 'C1_site_of_another_trust', 'site_code', 'quarantine', 'unknown_parent', NULL,
     'A site of another organisation: a trust''s extract loads into its own organisation''s records only',
     '[{"extract": "clinic", "set": {"site_code": "RZ801"}}]'),
    ('clinic', 'C2_clinic_of_another_trust', 'clinic_code', 'quarantine', 'inconsistent', NULL,
     'Clinic codes are ptl-wide: a code that is another organisation''s clinic would change that trust''s clinic',
     '[{"extract": "clinic", "set": {"clinic_code": "EX-C9"}}]'),
    ('clinic_session', 'C3_clinic_known', 'clinic_code', 'quarantine', 'unknown_parent', NULL,
     'A session names a clinic of the batch''s organisation: send the clinic row first',
     '[{"extract": "clinic_session", "set": {"clinic_code": "NO-SUCH-CLINIC"}}]'),
    ('clinic_session', 'C4_slots_not_negative', 'slots', 'quarantine', 'out_of_range', NULL,
     'Negative slots: a session is the capacity it offers, and no capacity can be read from it',
     '[{"extract": "clinic_session", "set": {"slots": "-1"}}]'),
    ('outpatient_appointment', 'C3_clinic_known', 'clinic_code', 'quarantine', 'unknown_parent', NULL,
     'An appointment is in a clinic of the batch''s organisation: send the clinic row first',
     '[{"extract": "outpatient_appointment", "set": {"clinic_code": "NO-SUCH-CLINIC"}}]'),
    ('outpatient_appointment', 'C5_outcome_without_attendance', 'outcome', 'load_without', 'inconsistent', 'V32',
     'An outcome of an appointment not attended is left out: there was no consultation to have an outcome',
     '[{"extract": "outpatient_appointment", "set": {"attendance": "dna", "outcome": "other", "follow_up_weeks": ""}}]'),
    ('outpatient_appointment', 'C5_follow_up_weeks_in_range', 'follow_up_weeks', 'load_without', 'out_of_range', 'V32',
     'Weeks to the follow-up outside 1 to 520 are left out',
     '[{"extract": "outpatient_appointment", "set": {"follow_up_weeks": "600"}}]'),
    ('outpatient_appointment', 'C5_follow_up_without_weeks', 'outcome', 'load_without', 'inconsistent', 'V32',
     'Outcome follow_up without usable weeks is left out: a follow-up of no known time cannot be tracked',
     '[{"extract": "outpatient_appointment", "set": {"follow_up_weeks": ""}}]'),
    ('outpatient_appointment', 'C5_weeks_without_follow_up', 'follow_up_weeks', 'load_without', 'inconsistent', 'V32',
     'Weeks to a follow-up with an outcome that is not follow_up are left out',
     '[{"extract": "outpatient_appointment", "set": {"outcome": "discharged"}}]'),
    ('outpatient_appointment', 'C5_booked_after_the_day', 'booked_on', 'load_without', 'inconsistent', 'V32',
     'A booking date after the appointment is left out',
     '[{"extract": "outpatient_appointment", "set": {"booked_on": "2024-12-09"}}]'),
    ('follow_up_request', 'C6_due_before_requested', 'due_date', 'quarantine', 'inconsistent', NULL,
     'A due date before the request: the follow-up list is ordered by it, and which date is wrong cannot be told',
     '[{"extract": "follow_up_request", "set": {"due_date": "2024-11-01"}}]'),
    ('follow_up_request', 'C6_end_without_reason', 'closed_on', 'quarantine', 'inconsistent', NULL,
     'An end date without its reason (or a reason without its date): the request could be neither kept on nor taken off the follow-up list',
     '[{"extract": "follow_up_request", "set": {"closed_on": "2025-01-10"}}]'),
    ('follow_up_request', 'C6_end_before_requested', 'closed_on', 'quarantine', 'inconsistent', NULL,
     'An end before the request: the request could be neither kept on nor taken off the follow-up list',
     '[{"extract": "follow_up_request", "set": {"closed_on": "2024-11-01", "closed_reason": "discharged"}}]'),
    ('follow_up_request', 'C6_seen_without_appointment', 'closed_reason', 'quarantine', 'inconsistent', NULL,
     'Closed as seen without an appointment of the pathway that met it: whether the patient was seen cannot be told',
     '[{"extract": "follow_up_request", "set": {"closed_on": "2025-01-10", "closed_reason": "seen"}}]'),
    ('follow_up_request', 'C5_seen_appointment_without_seen', 'seen_appointment_ref', 'load_without', 'inconsistent', 'V32',
     'An appointment that met the request, given for a request not closed as seen, is left out',
     '[{"extract": "follow_up_request", "set": {"seen_appointment_ref": "EX-A1"}}]'),
    ('follow_up_request', 'C7_lcad_before_due', 'lcad', 'load_without', 'inconsistent', 'V32',
     'A latest clinically appropriate date before the due date is left out: the due date stands as the LCAD, the most cautious reading',
     '[{"extract": "follow_up_request", "set": {"lcad": "2025-05-01"}}]'),
    ('follow_up_request', 'C8_clinic_known', 'clinic_code', 'load_without', 'unknown_clinic', 'V32',
     'A clinic that is not one of the batch''s organisation is left out: the request still waits',
     '[{"extract": "follow_up_request", "set": {"clinic_code": "NO-SUCH-CLINIC"}}]'),
    ('follow_up_request', 'C8_from_appointment_known', 'from_appointment_ref', 'load_without', 'unknown_appointment', 'V32',
     'An attendance that asked for the follow-up that is not an appointment of the pathway is left out',
     '[{"extract": "follow_up_request", "set": {"from_appointment_ref": "NO-SUCH-APPT"}}]'),
    ('follow_up_request', 'C8_seen_appointment_known', 'seen_appointment_ref', 'load_without', 'unknown_appointment', 'V32',
     'An attendance that met the request that is not an appointment of the pathway is left out',
     '[{"extract": "follow_up_request", "set": {"seen_appointment_ref": "NO-SUCH-APPT"}}]'),
    ('pifu_episode', 'C6_window_after_start', 'window_end', 'quarantine', 'inconsistent', NULL,
     'A window that ends at or before it starts: an episode is its window, and which date is wrong cannot be told',
     '[{"extract": "pifu_episode", "set": {"window_end": "2024-12-02"}}]'),
    ('pifu_episode', 'C6_end_without_reason', 'ended_on', 'quarantine', 'inconsistent', NULL,
     'An end date without its reason (or a reason without its date): the episode could be neither kept open nor closed',
     '[{"extract": "pifu_episode", "set": {"ended_on": "2025-04-01"}}]'),
    ('pifu_episode', 'C6_end_before_start', 'ended_on', 'quarantine', 'inconsistent', NULL,
     'An end before the start: the episode could be neither kept open nor closed',
     '[{"extract": "pifu_episode", "set": {"ended_on": "2024-11-01", "end_reason": "discharged_early"}}]'),
    ('pifu_episode', 'C5_initiated_in_window', 'initiated_on', 'load_without', 'inconsistent', 'V32',
     'A first request outside the window is left out',
     '[{"extract": "pifu_episode", "set": {"initiated_on": "2024-11-15"}}]'),
    ('pifu_episode', 'C8_from_appointment_known', 'from_appointment_ref', 'load_without', 'unknown_appointment', 'V32',
     'An attendance that moved the patient to PIFU that is not an appointment of the pathway is left out',
     '[{"extract": "pifu_episode", "set": {"from_appointment_ref": "NO-SUCH-APPT"}}]'),
    ('advice_request', 'C6_answered_unless_pending', 'responded_on', 'quarantine', 'inconsistent', NULL,
     'Answered exactly when the outcome is not pending: otherwise whether the request waits cannot be told',
     '[{"extract": "advice_request", "set": {"outcome": "pending"}}]'),
    ('advice_request', 'C6_answered_after_asked', 'responded_on', 'quarantine', 'inconsistent', NULL,
     'An answer before the request: which date is wrong cannot be told, and the response time would be negative',
     '[{"extract": "advice_request", "set": {"responded_on": "2024-10-01"}}]'),
    ('advice_request', 'C8_referred_pathway_known', 'referred_ppid', 'load_without', 'unknown_pathway', 'V32',
     'A referred pathway the trust does not hold is left out: the request still counts',
     '[{"extract": "advice_request", "set": {"referred_ppid": "NO-SUCH-PW"}}]');

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, description,
     earliest_date, latest_days_after_opening, listed_by)
VALUES
    ('clinic', 'clinic_code', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The trust''s code for the clinic. A code that is a clinic of another organisation quarantines the row (inconsistent, SQLSTATE 23505)', NULL, NULL, NULL),
    ('clinic', 'site_code', 2, true, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site of the clinic. Required: a clinic is at a site. A code ptl.site does not hold yet loads as a placeholder site of the batch''s organisation (warning); a site of another organisation quarantines the row (unknown_parent)', NULL, NULL, 'V32'),
    ('clinic', 'treatment_function', 3, true, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function (specialty) of the clinic. Required; a code ptl.treatment_function does not hold yet loads as a placeholder (warning)', NULL, NULL, 'V32'),
    ('clinic', 'name', 4, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Name of the clinic. Missing, or a value that starts like a spreadsheet formula (left out, warning): the clinic code is its name', NULL, NULL, 'V32'),
    ('clinic', 'consultant_code', 5, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Consultant who runs it. A value that starts like a spreadsheet formula is left out (warning)', NULL, NULL, 'V32'),

    ('clinic_session', 'clinic_code', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The clinic, by its code; it must be a clinic of the batch''s organisation (else unknown_parent: send the clinic row first)', NULL, NULL, NULL),
    ('clinic_session', 'session_date', 2, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Day of the session, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: a session is its day', '1980-01-01', 730, NULL),
    ('clinic_session', 'slots', 3, true, 'integer', NULL, NULL, NULL, NULL, 'quarantine', 'Appointment slots offered (0 or more). Required: a session is the capacity it offers, so a missing, non-integer or negative value quarantines the row', NULL, NULL, NULL),
    ('clinic_session', 'cancelled', 4, false, NULL, '{Y,N,true,false}', NULL, NULL, NULL, 'load_without', 'Whether the whole session was cancelled: Y or true, N or false (missing: N). Another value is left out (warning): the session loads as held', NULL, NULL, 'V32'),

    ('outpatient_appointment', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL, NULL),
    ('outpatient_appointment', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL, NULL),
    ('outpatient_appointment', 'appointment_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the appointment', NULL, NULL, NULL),
    ('outpatient_appointment', 'clinic_code', 4, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The clinic, by its code; it must be a clinic of the batch''s organisation (else unknown_parent: send the clinic row first). Required: an appointment is in a clinic', NULL, NULL, NULL),
    ('outpatient_appointment', 'appointment_date', 5, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date of the appointment, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: an appointment is its day', '1980-01-01', 730, NULL),
    ('outpatient_appointment', 'appointment_type', 6, true, NULL, '{first,follow_up}', NULL, NULL, NULL, 'quarantine', 'first or follow_up. Required: the measures count first and follow-up attendances apart, so another value quarantines the row', NULL, NULL, NULL),
    ('outpatient_appointment', 'attendance', 7, false, NULL, '{booked,attended,dna,cancelled_by_patient,cancelled_by_hospital}', NULL, NULL, NULL, 'load_without', 'booked (still to happen; the default), attended, dna, cancelled_by_patient or cancelled_by_hospital. Another value is left out (warning): the appointment loads as booked, its attendance not recorded', NULL, NULL, 'V32'),
    ('outpatient_appointment', 'outcome', 8, false, NULL, '{discharged,follow_up,pifu,listed,other}', NULL, NULL, NULL, 'load_without', 'Clinic outcome of an attendance: discharged, follow_up, pifu, listed or other. Another value, an outcome of an appointment not attended, or follow_up without follow_up_weeks, is left out (warning)', NULL, NULL, 'V32'),
    ('outpatient_appointment', 'follow_up_weeks', 9, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'Weeks to the follow-up asked for (1 to 520), with outcome follow_up. Another value, or weeks without outcome follow_up, is left out (warning)', NULL, NULL, 'V32'),
    ('outpatient_appointment', 'booked_on', 10, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'When the appointment was booked, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, not after the appointment. Otherwise left out (warning)', '1980-01-01', 0, 'V32'),

    ('follow_up_request', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL, NULL),
    ('follow_up_request', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL, NULL),
    ('follow_up_request', 'request_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the request', NULL, NULL, NULL),
    ('follow_up_request', 'treatment_function', 4, false, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function to see the patient (default: the pathway''s). A code ptl.treatment_function does not hold yet loads as a placeholder (warning); a malformed one is left out (warning) and the pathway''s is used', NULL, NULL, 'V32'),
    ('follow_up_request', 'clinic_code', 5, false, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'load_without', 'Clinic to see the patient in, if set. A code that is not a clinic of the batch''s organisation is left out (warning)', NULL, NULL, 'V32'),
    ('follow_up_request', 'from_appointment_ref', 6, false, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'load_without', 'The attendance whose outcome asked for it, by its appointment_ref on the same pathway. An unknown reference is left out (warning)', NULL, NULL, 'V32'),
    ('follow_up_request', 'requested_on', 7, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date it was asked for, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required', '1980-01-01', 0, NULL),
    ('follow_up_request', 'due_date', 8, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'When the clinician wants to see the patient, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 3650 days after the day the batch was opened, not before requested_on. Required: the follow-up list is ordered by it', '1980-01-01', 3650, NULL),
    ('follow_up_request', 'lcad', 9, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Latest clinically appropriate date, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 3650 days after the day the batch was opened, not before due_date. Missing, or invalid, implausible or before the due date (left out, warning): the due date stands as the LCAD, the most cautious reading', '1980-01-01', 3650, 'V32'),
    ('follow_up_request', 'clinical_risk', 10, false, NULL, '{high,medium,low}', NULL, NULL, NULL, 'load_without', 'Risk of harm from delay: high, medium or low. Another value is left out (warning): the request loads not stratified', NULL, NULL, 'V32'),
    ('follow_up_request', 'unavailable_until', 11, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'The patient cannot come before this date, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Otherwise left out (warning)', '1980-01-01', 730, 'V32'),
    ('follow_up_request', 'seen_appointment_ref', 12, false, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'load_without', 'The attendance that met it (closed_reason seen), by its appointment_ref on the same pathway. An unknown reference, or one without closed_reason seen, is left out (warning)', NULL, NULL, 'V32'),
    ('follow_up_request', 'closed_on', 13, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date the request ended (empty: still waiting), with closed_reason, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, not before requested_on. An invalid, implausible or inconsistent date quarantines the row: without it the request could be neither kept on nor taken off the follow-up list (a held request keeps its last loaded state)', '1980-01-01', 0, NULL),
    ('follow_up_request', 'closed_reason', 14, false, NULL, '{seen,discharged,pifu,no_longer_required,died,transferred}', NULL, NULL, NULL, 'quarantine', 'Why the request ended: seen (with seen_appointment_ref), discharged, pifu, no_longer_required, died or transferred. Another value quarantines the row, as closed_on does', NULL, NULL, NULL),

    ('pifu_episode', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL, NULL),
    ('pifu_episode', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL, NULL),
    ('pifu_episode', 'pifu_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the episode', NULL, NULL, NULL),
    ('pifu_episode', 'treatment_function', 4, false, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function (default: the pathway''s). A code ptl.treatment_function does not hold yet loads as a placeholder (warning); a malformed one is left out (warning) and the pathway''s is used', NULL, NULL, 'V32'),
    ('pifu_episode', 'from_appointment_ref', 5, false, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'load_without', 'The attendance that moved the patient to PIFU, by its appointment_ref on the same pathway. An unknown reference is left out (warning)', NULL, NULL, 'V32'),
    ('pifu_episode', 'started_on', 6, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date moved to PIFU, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: an episode is its window', '1980-01-01', 0, NULL),
    ('pifu_episode', 'window_end', 7, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Last day the patient may initiate a follow-up, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 3650 days after the day the batch was opened, after started_on. Required: an episode is its window', '1980-01-01', 3650, NULL),
    ('pifu_episode', 'initiated_on', 8, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Date the patient first asked to be seen, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, inside the window. Otherwise left out (warning)', '1980-01-01', 0, 'V32'),
    ('pifu_episode', 'ended_on', 9, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date the episode ended (empty: open), with end_reason, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, not before started_on. An invalid, implausible or inconsistent date quarantines the row: the episode could be neither kept open nor closed (a held episode keeps its last loaded state)', '1980-01-01', 0, NULL),
    ('pifu_episode', 'end_reason', 10, false, NULL, '{discharged_at_window_end,discharged_early,returned_to_routine_follow_up}', NULL, NULL, NULL, 'quarantine', 'discharged_at_window_end, discharged_early or returned_to_routine_follow_up. Another value quarantines the row, as ended_on does', NULL, NULL, NULL),

    ('advice_request', 'advice_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the request (e-RS advice and guidance request), unique at the trust', NULL, NULL, NULL),
    ('advice_request', 'treatment_function', 2, true, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function (specialty) asked. Required; a code ptl.treatment_function does not hold yet loads as a placeholder (warning)', NULL, NULL, 'V32'),
    ('advice_request', 'gp_practice_code', 3, false, NULL, NULL, '^[A-Z0-9]{3,8}$', 'an ODS code of 3 to 8 capitals or digits', NULL, 'load_without', 'The GP practice that asked (ODS code). Another value is left out (warning)', NULL, NULL, 'V32'),
    ('advice_request', 'requested_on', 4, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date asked, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: the measures count requests by it', '1980-01-01', 0, NULL),
    ('advice_request', 'responded_on', 5, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date answered (empty: pending), YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, not before requested_on, given exactly when the outcome is not pending. An invalid, implausible or inconsistent date quarantines the row: the request could be neither pending nor answered', '1980-01-01', 0, NULL),
    ('advice_request', 'outcome', 6, false, NULL, '{pending,diverted,referral_advised,other}', NULL, NULL, NULL, 'quarantine', 'pending (the default), diverted (no referral needed), referral_advised or other. Another value quarantines the row, as responded_on does', NULL, NULL, NULL),
    ('advice_request', 'referred_ppid_issuer', 7, false, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'load_without', 'The referral that followed, if any: PPID issuer of its pathway. A malformed value is left out (warning), and so is the link', NULL, NULL, 'V32'),
    ('advice_request', 'referred_ppid', 8, false, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'load_without', 'The referral that followed, if any: PPID of its pathway at the trust. A pathway the trust does not hold is left out (warning): the request still counts', NULL, NULL, 'V32');

-- A clinic of the batch's organisation: at one of its sites.
CREATE FUNCTION ptl_internal.load_clinics(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_foreign_sites(batch, 'clinic', 'site_code');
    -- Clinic codes are ptl-wide: a trust's extract changes its own clinics.
    PERFORM ptl_internal.load_reject('clinic', 'clinic_code', 'inconsistent', '23505',
        format($m$format('clinic_code %%s is a clinic of another organisation; %s may send only its own clinics', ptl.extract_value(w.clinic_code))$m$, b.org_code),
        format($c$EXISTS (SELECT 1 FROM ptl.clinic c JOIN ptl.site s ON s.site_code = c.site_code
                          WHERE c.clinic_code = ptl.extract_value(w.clinic_code) AND s.org_code <> %L)$c$, b.org_code));

    WITH upserted AS (
        INSERT INTO ptl.clinic AS t (clinic_code, site_code, treatment_function, name, consultant_code)
        SELECT ptl.extract_value(w.clinic_code), ptl.extract_value(w.site_code), ptl.extract_value(w.treatment_function),
               coalesce(ptl_internal.load_kept(w.name, 'name', w.warn_columns), ptl.extract_value(w.clinic_code)),
               ptl_internal.load_kept(w.consultant_code, 'consultant_code', w.warn_columns)
        FROM pg_temp.ptl_load_clinic w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (clinic_code) DO UPDATE
        SET site_code = excluded.site_code, treatment_function = excluded.treatment_function,
            name = excluded.name, consultant_code = excluded.consultant_code
        WHERE (t.site_code, t.treatment_function, t.name, t.consultant_code)
              IS DISTINCT FROM (excluded.site_code, excluded.treatment_function, excluded.name, excluded.consultant_code)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.clinic', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_clinic w
    JOIN ptl.clinic t ON t.clinic_code = ptl.extract_value(w.clinic_code)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_clinics(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s clinic extract';

-- SQL test, over work row w, that a staged clinic code names a clinic of
-- an organisation (for the loaders' row rules).
CREATE FUNCTION ptl_internal.load_clinic_is_known(column_sql text, org_code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('EXISTS (SELECT 1 FROM ptl.clinic c JOIN ptl.site s ON s.site_code = c.site_code
                       WHERE c.clinic_code = %s AND s.org_code = %L)', column_sql, org_code);
COMMENT ON FUNCTION ptl_internal.load_clinic_is_known(text, text) IS
    'Internal to the outpatient loaders: SQL test that a staged clinic code is a clinic at a site of the organisation';

CREATE FUNCTION ptl_internal.load_clinic_sessions(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_reject('clinic_session', 'clinic_code', 'unknown_parent', '23503',
        format($m$format('no clinic %%s is known at %s; send the clinic row first', ptl.extract_value(w.clinic_code))$m$, b.org_code),
        'NOT ' || ptl_internal.load_clinic_is_known('ptl.extract_value(w.clinic_code)', b.org_code));
    PERFORM ptl_internal.load_reject('clinic_session', 'slots', 'out_of_range', '22003',
        $m$format('slots %s is negative', ptl.extract_value(w.slots))$m$,
        'ptl.extract_value(w.slots)::int < 0');

    WITH upserted AS (
        INSERT INTO ptl.clinic_session AS t (clinic_code, session_date, slots, cancelled, clinician_code)
        SELECT ptl.extract_value(w.clinic_code), ptl.extract_value(w.session_date)::date, ptl.extract_value(w.slots)::int,
               coalesce(ptl_internal.load_kept(w.cancelled, 'cancelled', w.warn_columns) IN ('Y', 'true'), false),
               ptl_internal.load_kept(w.clinician_code, 'clinician_code', w.warn_columns)
        FROM pg_temp.ptl_load_clinic_session w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (clinic_code, session_date) DO UPDATE
        SET slots = excluded.slots, cancelled = excluded.cancelled,
            clinician_code = coalesce(excluded.clinician_code, t.clinician_code)
        WHERE (t.slots, t.cancelled, t.clinician_code)
              IS DISTINCT FROM (excluded.slots, excluded.cancelled, coalesce(excluded.clinician_code, t.clinician_code))
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.clinic_session', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_clinic_session w
    JOIN ptl.clinic_session t ON t.clinic_code = ptl.extract_value(w.clinic_code)
                             AND t.session_date = ptl.extract_value(w.session_date)::date
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_clinic_sessions(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s clinic session extract';

-- SQL test, over work row w, that a staged appointment reference names an
-- appointment on the row's pathway at an organisation.
CREATE FUNCTION ptl_internal.load_appointment_is_known(column_sql text, org_code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('EXISTS (SELECT 1 FROM ptl.pathway p JOIN ptl.outpatient_appointment a ON a.pathway_id = p.pathway_id
                       WHERE p.provider_org = %L AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                         AND p.ppid = ptl.extract_value(w.ppid) AND a.source_ref = %s)', org_code, column_sql);
COMMENT ON FUNCTION ptl_internal.load_appointment_is_known(text, text) IS
    'Internal to the outpatient loaders: SQL test that a staged appointment reference is an appointment of the row''s pathway';

CREATE FUNCTION ptl_internal.load_outpatient_appointments(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_reject('outpatient_appointment', 'clinic_code', 'unknown_parent', '23503',
        format($m$format('no clinic %%s is known at %s; send the clinic row first', ptl.extract_value(w.clinic_code))$m$, b.org_code),
        'NOT ' || ptl_internal.load_clinic_is_known('ptl.extract_value(w.clinic_code)', b.org_code));
    -- Cross-column rules (the table's CHECKs): each leaves out the value
    -- that breaks it, with a warning; the appointment still loads.
    PERFORM ptl_internal.load_leave_out('outpatient_appointment', 'outcome', 'inconsistent', '23514',
        $m$format('outcome %s is given, but the appointment was not attended (attendance %s)',
                  ptl.extract_value(w.outcome), coalesce(ptl_internal.load_kept(w.attendance, 'attendance', w.warn_columns), 'booked'))$m$,
        $c$coalesce(ptl_internal.load_kept(w.attendance, 'attendance', w.warn_columns), 'booked') <> 'attended'$c$);
    PERFORM ptl_internal.load_leave_out('outpatient_appointment', 'follow_up_weeks', 'out_of_range', '22003',
        $m$format('follow_up_weeks %s is outside 1 to 520 weeks', ptl.extract_value(w.follow_up_weeks))$m$,
        'ptl.extract_value(w.follow_up_weeks)::int NOT BETWEEN 1 AND 520');
    PERFORM ptl_internal.load_leave_out('outpatient_appointment', 'outcome', 'inconsistent', '23514',
        $m$'outcome follow_up needs follow_up_weeks (1 to 520)'$m$,
        $c$ptl.extract_value(w.outcome) = 'follow_up' AND ptl_internal.load_kept(w.follow_up_weeks, 'follow_up_weeks', w.warn_columns) IS NULL$c$);
    PERFORM ptl_internal.load_leave_out('outpatient_appointment', 'follow_up_weeks', 'inconsistent', '23514',
        $m$format('follow_up_weeks %s is given, but the outcome is not follow_up', ptl.extract_value(w.follow_up_weeks))$m$,
        $c$ptl_internal.load_kept(w.outcome, 'outcome', w.warn_columns) IS DISTINCT FROM 'follow_up'$c$);
    PERFORM ptl_internal.load_leave_out('outpatient_appointment', 'booked_on', 'inconsistent', '23514',
        $m$format('booked_on %s is after appointment_date %s', ptl.extract_value(w.booked_on), ptl.extract_value(w.appointment_date))$m$,
        'ptl.extract_value(w.booked_on)::date > ptl.extract_value(w.appointment_date)::date');

    WITH upserted AS (
        INSERT INTO ptl.outpatient_appointment AS t
            (pathway_id, source_ref, clinic_code, appointment_date, appointment_type, attendance, outcome,
             follow_up_weeks, booked_on)
        SELECT p.pathway_id, ptl.extract_value(w.appointment_ref), ptl.extract_value(w.clinic_code),
               ptl.extract_value(w.appointment_date)::date, ptl.extract_value(w.appointment_type),
               coalesce(ptl_internal.load_kept(w.attendance, 'attendance', w.warn_columns), 'booked'),
               ptl_internal.load_kept(w.outcome, 'outcome', w.warn_columns),
               ptl_internal.load_kept(w.follow_up_weeks, 'follow_up_weeks', w.warn_columns)::int,
               ptl_internal.load_kept(w.booked_on, 'booked_on', w.warn_columns)::date
        FROM pg_temp.ptl_load_outpatient_appointment w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, source_ref) DO UPDATE
        SET clinic_code = excluded.clinic_code, appointment_date = excluded.appointment_date,
            appointment_type = excluded.appointment_type, attendance = excluded.attendance, outcome = excluded.outcome,
            follow_up_weeks = excluded.follow_up_weeks, booked_on = excluded.booked_on
        WHERE (t.clinic_code, t.appointment_date, t.appointment_type, t.attendance, t.outcome, t.follow_up_weeks, t.booked_on)
              IS DISTINCT FROM
              (excluded.clinic_code, excluded.appointment_date, excluded.appointment_type, excluded.attendance,
               excluded.outcome, excluded.follow_up_weeks, excluded.booked_on)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.outpatient_appointment', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_outpatient_appointment w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.outpatient_appointment t ON t.pathway_id = p.pathway_id AND t.source_ref = ptl.extract_value(w.appointment_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_outpatient_appointments(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s outpatient appointment extract';

CREATE FUNCTION ptl_internal.load_follow_up_requests(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    -- Without a consistent end the request could be neither kept on nor
    -- taken off the follow-up list: quarantined.
    PERFORM ptl_internal.load_reject('follow_up_request', 'due_date', 'inconsistent', '23514',
        $m$format('due_date %s is before requested_on %s', ptl.extract_value(w.due_date), ptl.extract_value(w.requested_on))$m$,
        'ptl.extract_value(w.due_date)::date < ptl.extract_value(w.requested_on)::date');
    PERFORM ptl_internal.load_reject('follow_up_request', 'closed_on', 'inconsistent', '23514',
        $m$'closed_on and closed_reason must be given together'$m$,
        '(ptl.extract_value(w.closed_on) IS NULL) <> (ptl.extract_value(w.closed_reason) IS NULL)');
    PERFORM ptl_internal.load_reject('follow_up_request', 'closed_on', 'inconsistent', '23514',
        $m$format('closed_on %s is before requested_on %s', ptl.extract_value(w.closed_on), ptl.extract_value(w.requested_on))$m$,
        'ptl.extract_value(w.closed_on)::date < ptl.extract_value(w.requested_on)::date');
    -- References to other records that do not resolve are left out.
    PERFORM ptl_internal.load_leave_out('follow_up_request', 'clinic_code', 'unknown_clinic', '23503',
        format($m$format('clinic_code %%s is not a clinic of %s', ptl.extract_value(w.clinic_code))$m$, b.org_code),
        'NOT ' || ptl_internal.load_clinic_is_known('ptl.extract_value(w.clinic_code)', b.org_code));
    PERFORM ptl_internal.load_leave_out('follow_up_request', 'from_appointment_ref', 'unknown_appointment', '23503',
        $m$format('from_appointment_ref %s is not an appointment of this pathway', ptl.extract_value(w.from_appointment_ref))$m$,
        'NOT ' || ptl_internal.load_appointment_is_known('ptl.extract_value(w.from_appointment_ref)', b.org_code));
    PERFORM ptl_internal.load_leave_out('follow_up_request', 'seen_appointment_ref', 'unknown_appointment', '23503',
        $m$format('seen_appointment_ref %s is not an appointment of this pathway', ptl.extract_value(w.seen_appointment_ref))$m$,
        'NOT ' || ptl_internal.load_appointment_is_known('ptl.extract_value(w.seen_appointment_ref)', b.org_code));
    PERFORM ptl_internal.load_leave_out('follow_up_request', 'seen_appointment_ref', 'inconsistent', '23514',
        $m$'seen_appointment_ref is given, but closed_reason is not seen'$m$,
        $c$ptl.extract_value(w.closed_reason) IS DISTINCT FROM 'seen'$c$);
    PERFORM ptl_internal.load_reject('follow_up_request', 'closed_reason', 'inconsistent', '23514',
        $m$'closed_reason seen needs seen_appointment_ref naming an appointment of this pathway'$m$,
        $c$ptl.extract_value(w.closed_reason) = 'seen' AND ptl_internal.load_kept(w.seen_appointment_ref, 'seen_appointment_ref', w.warn_columns) IS NULL$c$);
    -- An LCAD before the due date is left out: the due date stands.
    PERFORM ptl_internal.load_leave_out('follow_up_request', 'lcad', 'inconsistent', '23514',
        $m$format('lcad %s is before due_date %s', ptl.extract_value(w.lcad), ptl.extract_value(w.due_date))$m$,
        'ptl.extract_value(w.lcad)::date < ptl.extract_value(w.due_date)::date');

    WITH upserted AS (
        INSERT INTO ptl.follow_up_request AS t
            (pathway_id, source_ref, treatment_function, clinic_code, from_appointment_id, requested_on, due_date, lcad,
             clinical_risk, unavailable_until, seen_appointment_id, closed_on, closed_reason)
        SELECT p.pathway_id, ptl.extract_value(w.request_ref),
               coalesce(ptl_internal.load_kept(w.treatment_function, 'treatment_function', w.warn_columns), p.treatment_function),
               ptl_internal.load_kept(w.clinic_code, 'clinic_code', w.warn_columns),
               fa.appointment_id,
               ptl.extract_value(w.requested_on)::date, ptl.extract_value(w.due_date)::date,
               coalesce(ptl_internal.load_kept(w.lcad, 'lcad', w.warn_columns)::date, ptl.extract_value(w.due_date)::date),
               ptl_internal.load_kept(w.clinical_risk, 'clinical_risk', w.warn_columns),
               ptl_internal.load_kept(w.unavailable_until, 'unavailable_until', w.warn_columns)::date,
               sa.appointment_id,
               ptl.extract_value(w.closed_on)::date, ptl.extract_value(w.closed_reason)
        FROM pg_temp.ptl_load_follow_up_request w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        LEFT JOIN ptl.outpatient_appointment fa
               ON fa.pathway_id = p.pathway_id AND fa.source_ref = ptl_internal.load_kept(w.from_appointment_ref, 'from_appointment_ref', w.warn_columns)
        LEFT JOIN ptl.outpatient_appointment sa
               ON sa.pathway_id = p.pathway_id AND sa.source_ref = ptl_internal.load_kept(w.seen_appointment_ref, 'seen_appointment_ref', w.warn_columns)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, source_ref) DO UPDATE
        SET treatment_function = excluded.treatment_function, clinic_code = excluded.clinic_code,
            from_appointment_id = excluded.from_appointment_id, requested_on = excluded.requested_on,
            due_date = excluded.due_date, lcad = excluded.lcad, clinical_risk = excluded.clinical_risk,
            unavailable_until = excluded.unavailable_until, seen_appointment_id = excluded.seen_appointment_id,
            closed_on = excluded.closed_on, closed_reason = excluded.closed_reason
        WHERE (t.treatment_function, t.clinic_code, t.from_appointment_id, t.requested_on, t.due_date, t.lcad,
               t.clinical_risk, t.unavailable_until, t.seen_appointment_id, t.closed_on, t.closed_reason)
              IS DISTINCT FROM
              (excluded.treatment_function, excluded.clinic_code, excluded.from_appointment_id, excluded.requested_on,
               excluded.due_date, excluded.lcad, excluded.clinical_risk, excluded.unavailable_until,
               excluded.seen_appointment_id, excluded.closed_on, excluded.closed_reason)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.follow_up_request', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_follow_up_request w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.follow_up_request t ON t.pathway_id = p.pathway_id AND t.source_ref = ptl.extract_value(w.request_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_follow_up_requests(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s follow-up request extract';

CREATE FUNCTION ptl_internal.load_pifu_episodes(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_reject('pifu_episode', 'window_end', 'inconsistent', '23514',
        $m$format('window_end %s is not after started_on %s', ptl.extract_value(w.window_end), ptl.extract_value(w.started_on))$m$,
        'ptl.extract_value(w.window_end)::date <= ptl.extract_value(w.started_on)::date');
    PERFORM ptl_internal.load_reject('pifu_episode', 'ended_on', 'inconsistent', '23514',
        $m$'ended_on and end_reason must be given together'$m$,
        '(ptl.extract_value(w.ended_on) IS NULL) <> (ptl.extract_value(w.end_reason) IS NULL)');
    PERFORM ptl_internal.load_reject('pifu_episode', 'ended_on', 'inconsistent', '23514',
        $m$format('ended_on %s is before started_on %s', ptl.extract_value(w.ended_on), ptl.extract_value(w.started_on))$m$,
        'ptl.extract_value(w.ended_on)::date < ptl.extract_value(w.started_on)::date');
    PERFORM ptl_internal.load_leave_out('pifu_episode', 'initiated_on', 'inconsistent', '23514',
        $m$format('initiated_on %s is outside the window %s to %s', ptl.extract_value(w.initiated_on),
                  ptl.extract_value(w.started_on), ptl.extract_value(w.window_end))$m$,
        'ptl.extract_value(w.initiated_on)::date NOT BETWEEN ptl.extract_value(w.started_on)::date AND ptl.extract_value(w.window_end)::date');
    PERFORM ptl_internal.load_leave_out('pifu_episode', 'from_appointment_ref', 'unknown_appointment', '23503',
        $m$format('from_appointment_ref %s is not an appointment of this pathway', ptl.extract_value(w.from_appointment_ref))$m$,
        'NOT ' || ptl_internal.load_appointment_is_known('ptl.extract_value(w.from_appointment_ref)', b.org_code));

    WITH upserted AS (
        INSERT INTO ptl.pifu_episode AS t
            (pathway_id, source_ref, treatment_function, from_appointment_id, started_on, window_end, initiated_on,
             ended_on, end_reason)
        SELECT p.pathway_id, ptl.extract_value(w.pifu_ref),
               coalesce(ptl_internal.load_kept(w.treatment_function, 'treatment_function', w.warn_columns), p.treatment_function),
               fa.appointment_id, ptl.extract_value(w.started_on)::date, ptl.extract_value(w.window_end)::date,
               ptl_internal.load_kept(w.initiated_on, 'initiated_on', w.warn_columns)::date,
               ptl.extract_value(w.ended_on)::date, ptl.extract_value(w.end_reason)
        FROM pg_temp.ptl_load_pifu_episode w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        LEFT JOIN ptl.outpatient_appointment fa
               ON fa.pathway_id = p.pathway_id AND fa.source_ref = ptl_internal.load_kept(w.from_appointment_ref, 'from_appointment_ref', w.warn_columns)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, source_ref) DO UPDATE
        SET treatment_function = excluded.treatment_function, from_appointment_id = excluded.from_appointment_id,
            started_on = excluded.started_on, window_end = excluded.window_end, initiated_on = excluded.initiated_on,
            ended_on = excluded.ended_on, end_reason = excluded.end_reason
        WHERE (t.treatment_function, t.from_appointment_id, t.started_on, t.window_end, t.initiated_on, t.ended_on, t.end_reason)
              IS DISTINCT FROM
              (excluded.treatment_function, excluded.from_appointment_id, excluded.started_on, excluded.window_end,
               excluded.initiated_on, excluded.ended_on, excluded.end_reason)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.pifu_episode', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_pifu_episode w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.pifu_episode t ON t.pathway_id = p.pathway_id AND t.source_ref = ptl.extract_value(w.pifu_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_pifu_episodes(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s PIFU episode extract';

CREATE FUNCTION ptl_internal.load_advice_requests(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    -- Answered exactly when the outcome is not pending.
    PERFORM ptl_internal.load_reject('advice_request', 'responded_on', 'inconsistent', '23514',
        $m$CASE WHEN ptl.extract_value(w.responded_on) IS NULL
                THEN format('outcome %s needs responded_on', ptl.extract_value(w.outcome))
                ELSE 'responded_on is given, but the outcome is pending' END$m$,
        $c$(coalesce(ptl.extract_value(w.outcome), 'pending') = 'pending') <> (ptl.extract_value(w.responded_on) IS NULL)$c$);
    PERFORM ptl_internal.load_reject('advice_request', 'responded_on', 'inconsistent', '23514',
        $m$format('responded_on %s is before requested_on %s', ptl.extract_value(w.responded_on), ptl.extract_value(w.requested_on))$m$,
        'ptl.extract_value(w.responded_on)::date < ptl.extract_value(w.requested_on)::date');
    PERFORM ptl_internal.load_leave_out('advice_request', 'referred_ppid', 'unknown_pathway', '23503',
        format($m$format('no pathway with PPID %%s issued by %%s is known at %s', ptl.extract_value(w.referred_ppid),
                         coalesce(ptl_internal.load_kept(w.referred_ppid_issuer, 'referred_ppid_issuer', w.warn_columns), '(none)'))$m$, b.org_code),
        format($c$NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.provider_org = %L
                              AND p.ppid_issuer = ptl_internal.load_kept(w.referred_ppid_issuer, 'referred_ppid_issuer', w.warn_columns)
                              AND p.ppid = ptl.extract_value(w.referred_ppid))$c$, b.org_code));

    WITH upserted AS (
        INSERT INTO ptl.advice_request AS t
            (provider_org, source_ref, treatment_function, gp_practice_code, requested_on, responded_on, outcome,
             referred_pathway_id)
        SELECT b.org_code, ptl.extract_value(w.advice_ref), ptl.extract_value(w.treatment_function),
               ptl_internal.load_kept(w.gp_practice_code, 'gp_practice_code', w.warn_columns),
               ptl.extract_value(w.requested_on)::date, ptl.extract_value(w.responded_on)::date,
               coalesce(ptl.extract_value(w.outcome), 'pending'), p.pathway_id
        FROM pg_temp.ptl_load_advice_request w
        LEFT JOIN ptl.pathway p ON p.provider_org = b.org_code
                               AND p.ppid_issuer = ptl_internal.load_kept(w.referred_ppid_issuer, 'referred_ppid_issuer', w.warn_columns)
                               AND p.ppid = ptl_internal.load_kept(w.referred_ppid, 'referred_ppid', w.warn_columns)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (provider_org, source_ref) DO UPDATE
        SET treatment_function = excluded.treatment_function, gp_practice_code = excluded.gp_practice_code,
            requested_on = excluded.requested_on, responded_on = excluded.responded_on, outcome = excluded.outcome,
            referred_pathway_id = excluded.referred_pathway_id
        WHERE (t.treatment_function, t.gp_practice_code, t.requested_on, t.responded_on, t.outcome, t.referred_pathway_id)
              IS DISTINCT FROM
              (excluded.treatment_function, excluded.gp_practice_code, excluded.requested_on, excluded.responded_on,
               excluded.outcome, excluded.referred_pathway_id)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO loaded, changed FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.advice_request', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_advice_request w
    JOIN ptl.advice_request t ON t.provider_org = b.org_code AND t.source_ref = ptl.extract_value(w.advice_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_advice_requests(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s advice and guidance extract';

SELECT ptl_internal.prepare_staging_table(e.extract) FROM ptl.feed e WHERE e.capability = 'outpatient';
