-- ---------------------------------------------------------------------------
-- theatre feeds: the theatre system's extracts through ptl's front door
-- (docs/loading.md, "Theatre feeds").  Sessions, bookings, on-the-day
-- cancellations, consultant leave, pre-operative assessments, patient
-- unavailability and past case durations are staged as text and loaded by
-- ptl.load() like the PAS extracts: a row is quarantined only when its record
-- (or the record it hangs on) cannot be identified, or the record would be
-- meaningless without the value; every other fault loads the row without
-- the value, with a warning that validation rule V32 lists.
--
-- Theatres themselves (ptl.theatre) are reference data, like ptl.site: an
-- administrator adds a trust's theatres, their site and their standing
-- equipment, which change a few times a year and decide where a case may be
-- booked.  A session naming a theatre ptl does not hold is quarantined
-- (unknown_parent), so a site that opens a theatre adds it first.
--
-- The canonical tables were made for direct INSERT with ptl's own ids; a
-- staged row names its record by the source system's reference, unique per
-- organisation (source_org, source_ref).  Rows inserted directly leave both
-- NULL, so an administrator may still insert them.
-- ---------------------------------------------------------------------------

ALTER TABLE ptl.theatre_session
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT theatre_session_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT theatre_session_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
-- A list is re-ordered in one delivery (case 1 becomes 2 and 2 becomes 1):
-- the running order is checked at the end of the statement.
ALTER TABLE ptl.theatre_booking
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT theatre_booking_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT theatre_booking_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL)),
    DROP CONSTRAINT theatre_booking_session_id_planned_order_key,
    ADD CONSTRAINT theatre_booking_session_id_planned_order_key UNIQUE (session_id, planned_order) DEFERRABLE;
ALTER TABLE ptl.consultant_leave
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT consultant_leave_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT consultant_leave_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
ALTER TABLE ptl.preop_assessment
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT preop_assessment_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT preop_assessment_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
ALTER TABLE ptl.patient_unavailability
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT patient_unavailability_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT patient_unavailability_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
ALTER TABLE ptl.procedure_duration
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT procedure_duration_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT procedure_duration_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
COMMENT ON COLUMN ptl.theatre_session.source_org IS 'Organisation whose extract delivered the session (NULL: inserted directly)';
COMMENT ON COLUMN ptl.theatre_session.source_ref IS 'The theatre system''s reference of the session, unique per organisation (NULL: inserted directly)';
COMMENT ON COLUMN ptl.theatre_booking.source_org IS 'Organisation whose extract delivered the booking (NULL: inserted directly)';
COMMENT ON COLUMN ptl.theatre_booking.source_ref IS 'The theatre system''s reference of the booking, unique per organisation (NULL: inserted directly)';
COMMENT ON COLUMN ptl.consultant_leave.source_org IS 'Organisation whose extract delivered the leave (NULL: inserted directly)';
COMMENT ON COLUMN ptl.consultant_leave.source_ref IS 'The rostering system''s reference of the leave, unique per organisation (NULL: inserted directly)';
COMMENT ON COLUMN ptl.preop_assessment.source_org IS 'Organisation whose extract delivered the assessment (NULL: inserted directly)';
COMMENT ON COLUMN ptl.preop_assessment.source_ref IS 'The source system''s reference of the assessment, unique per organisation (NULL: inserted directly)';
COMMENT ON COLUMN ptl.patient_unavailability.source_org IS 'Organisation whose extract delivered the period (NULL: inserted directly)';
COMMENT ON COLUMN ptl.patient_unavailability.source_ref IS 'The PAS''s reference of the period, unique per organisation (NULL: inserted directly)';
COMMENT ON COLUMN ptl.procedure_duration.source_org IS 'Organisation whose extract delivered the case (NULL: inserted directly)';
COMMENT ON COLUMN ptl.procedure_duration.source_ref IS 'The theatre system''s reference of the case, unique per organisation (NULL: inserted directly)';

INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES
    ('theatre_session', 110, 'theatre', '{session_ref}', 'theatre session (session_ref)', 'organisation',
     'ptl_internal.load_theatre_sessions', 'ptl.theatre_session', 'A theatre session (list): one theatre''s time on one day for one specialty'),
    ('theatre_booking', 120, 'theatre', '{booking_ref}', 'theatre booking (booking_ref)', 'entry',
     'ptl_internal.load_theatre_bookings', 'ptl.theatre_booking', 'A waiting-list entry booked into a session, with its place, minutes and actual times'),
    ('theatre_cancellation', 130, 'theatre', '{booking_ref}', 'cancelled booking (booking_ref)', 'organisation',
     'ptl_internal.load_theatre_cancellations', 'ptl.theatre_cancellation', 'A booking cancelled: when and why'),
    ('consultant_leave', 140, 'theatre', '{leave_ref}', 'consultant leave (leave_ref)', 'organisation',
     'ptl_internal.load_consultant_leave', 'ptl.consultant_leave', 'A period of a consultant''s leave'),
    ('preop_assessment', 150, 'theatre', '{assessment_ref}', 'pre-operative assessment (assessment_ref)', 'entry',
     'ptl_internal.load_preop_assessments', 'ptl.preop_assessment', 'A pre-operative assessment of a waiting-list entry: outcome and expiry'),
    ('patient_unavailability', 160, 'theatre', '{unavailability_ref}', 'patient unavailability (unavailability_ref)', 'patient',
     'ptl_internal.load_patient_unavailability', 'ptl.patient_unavailability', 'A period a patient has said they cannot come in'),
    ('procedure_duration', 170, 'theatre', '{case_ref}', 'past case (case_ref)', 'organisation',
     'ptl_internal.load_procedure_durations', 'ptl.procedure_duration', 'A past operation''s touch time from the theatre system');

-- The policy's examples (ptl.feed_example: one clean row of each extract,
-- at the PAS examples' organisation, patient EX-P1 and entry RZ9/EX-PW1/EX-W1;
-- theatre EX-TH1 is reference data) and each extract's row rules beyond its
-- column rules, with a row that breaks each (ptl.feed_rule; docs/loading.md).
INSERT INTO ptl.feed_example (extract, example) VALUES
    ('theatre_session', '{"session_ref": "EX-S1", "theatre_code": "EX-TH1", "session_date": "2025-02-03", "planned_start": "08:00",
                          "planned_end": "13:00", "specialty": "110", "consultant_code": "C1234567", "session_type": "elective",
                          "equipment": "laser", "cancelled": "false"}'),
    ('theatre_booking', '{"booking_ref": "EX-B1", "session_ref": "EX-S1", "ppid_issuer": "RZ9", "ppid": "EX-PW1", "entry_ref": "EX-W1",
                          "planned_order": "1", "planned_minutes": "120", "status": "booked", "day_case": "false"}'),
    ('theatre_cancellation', '{"booking_ref": "EX-B1", "cancelled_on": "2025-02-03", "reason_code": "no_bed"}'),
    ('consultant_leave', '{"leave_ref": "EX-LV1", "consultant_code": "C1234567", "leave_from": "2025-03-10", "leave_to": "2025-03-14",
                           "leave_reason": "annual"}'),
    ('preop_assessment', '{"assessment_ref": "EX-PA1", "ppid_issuer": "RZ9", "ppid": "EX-PW1", "entry_ref": "EX-W1",
                           "assessed_on": "2025-01-20", "outcome": "fit", "valid_until": "2025-07-20", "needs_inpatient_bed": "true"}'),
    ('patient_unavailability', '{"unavailability_ref": "EX-U1", "local_patient_id": "EX-P1", "unavailable_from": "2025-04-01",
                                 "unavailable_to": "2025-04-14", "unavailable_reason": "Holiday"}'),
    ('procedure_duration', '{"case_ref": "EX-CASE1", "procedure_code": "W37.1", "consultant_code": "C1234567", "performed_on": "2024-10-01",
                             "minutes": "95"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('theatre_session', 'theatre_session_theatre_known', 'theatre_code', 'quarantine', 'unknown_parent', NULL,
     'The theatre must be one ptl.theatre holds at a site of the batch''s organisation: a session is a theatre''s time, and a trust books only its own theatres',
     '[{"extract": "theatre_session", "set": {"theatre_code": "NO-SUCH-THEATRE"}}]'),
    ('theatre_session', 'theatre_session_ends_after_start', 'planned_end', 'quarantine', 'inconsistent', NULL,
     'A session ending at or before its start has no time to give, and which time is wrong cannot be told',
     '[{"extract": "theatre_session", "set": {"planned_end": "07:00"}}]'),
    ('theatre_session', 'theatre_session_slot_taken', 'planned_start', 'quarantine', 'inconsistent', NULL,
     'A theatre holds one session at a start: a second session there (held, or earlier in the extract) would book the theatre twice',
     '[{"extract": "theatre_session", "set": {"session_date": "2025-02-03"}}]'),
    ('theatre_session', 'theatre_session_reason_without_cancellation', 'cancelled_reason', 'load_without', 'inconsistent', 'V32',
     'A cancellation reason for a session that is not cancelled is left out: the session loads as held',
     '[{"extract": "theatre_session", "set": {"cancelled": "false", "cancelled_reason": "Surgeon on leave"}}]'),
    ('theatre_booking', 'theatre_booking_session_known', 'session_ref', 'quarantine', 'unknown_parent', NULL,
     'The session booked into must be one this organisation''s extracts delivered: a booking is a place in a list',
     '[{"extract": "theatre_booking", "set": {"session_ref": "NO-SUCH-SESSION"}}]'),
    ('theatre_booking', 'theatre_booking_session_quarantined', 'session_ref', 'quarantine', 'parent_rejected', NULL,
     'The booking''s session row in the same batch was quarantined: the booking cannot be placed',
     '[{"extract": "theatre_session", "set": {"specialty": ""}}, {"extract": "theatre_booking", "set": {}}]'),
    ('theatre_booking', 'theatre_booking_place_in_range', 'planned_order', 'quarantine', 'out_of_range', NULL,
     'A place in the running order is 1 or more: a booking is a place in a list',
     '[{"extract": "theatre_booking", "set": {"planned_order": "0"}}]'),
    ('theatre_booking', 'theatre_booking_minutes_in_range', 'planned_minutes', 'quarantine', 'out_of_range', NULL,
     'Planned minutes are 1 to 1440: a booking holds that much of its session''s time',
     '[{"extract": "theatre_booking", "set": {"planned_minutes": "0"}}]'),
    ('theatre_booking', 'theatre_booking_place_taken', 'planned_order', 'quarantine', 'inconsistent', NULL,
     'One booking per place in a session''s running order after the delivery (a list re-ordered in one delivery loads): a place another booking keeps would be booked twice',
     '[{"extract": "theatre_booking", "set": {"planned_order": "1"}}]'),
    ('theatre_booking', 'theatre_booking_times_real_day', 'knife_to_skin', 'load_without', 'invalid_date', 'V32',
     'An actual time (into theatre, anaesthetic start, knife to skin, out of theatre) on a day that does not exist is left out: the booking loads without it',
     '[{"extract": "theatre_booking", "set": {"knife_to_skin": "2025-02-30 09:00"}}]'),
    ('theatre_booking', 'theatre_booking_times_on_session_day', 'into_theatre', 'load_without', 'implausible_date', 'V32',
     'An actual time (into theatre, anaesthetic start, knife to skin, out of theatre) not on the session''s day or the next (a list may overrun past midnight) is left out',
     '[{"extract": "theatre_booking", "set": {"into_theatre": "2025-02-10 09:00"}}]'),
    ('theatre_booking', 'theatre_booking_out_after_start', 'out_of_theatre', 'load_without', 'inconsistent', 'V32',
     'Out of theatre not after the anaesthetic start (or into theatre) is left out: the case''s touch time is then unknown',
     '[{"extract": "theatre_booking", "set": {"into_theatre": "2025-02-03 09:00", "out_of_theatre": "2025-02-03 08:30"}}]'),
    ('theatre_booking', 'theatre_booking_completed_needs_end', 'status', 'load_without', 'inconsistent', 'V32',
     'A case completed without a usable out-of-theatre time loads as booked: a completed case without its end would count no touch time',
     '[{"extract": "theatre_booking", "set": {"status": "completed"}}]'),
    ('theatre_cancellation', 'theatre_cancellation_booking_known', 'booking_ref', 'quarantine', 'unknown_parent', NULL,
     'The booking cancelled must be one this organisation''s extracts delivered',
     '[{"extract": "theatre_cancellation", "set": {"booking_ref": "NO-SUCH-BOOKING"}}]'),
    ('theatre_cancellation', 'theatre_cancellation_booking_quarantined', 'booking_ref', 'quarantine', 'parent_rejected', NULL,
     'The cancellation''s booking row in the same batch was quarantined: the cancellation cannot be placed',
     '[{"extract": "theatre_booking", "set": {"planned_minutes": ""}}, {"extract": "theatre_cancellation", "set": {}}]'),
    ('theatre_cancellation', 'theatre_cancellation_reason_known', 'reason_code', 'quarantine', 'invalid_code', NULL,
     'The reason must be one of ptl.cancellation_reason: whether the cancellation was clinical, and on whose side, decides the 28-day standard',
     '[{"extract": "theatre_cancellation", "set": {"reason_code": "no_such_reason"}}]'),
    ('consultant_leave', 'consultant_leave_period_in_order', 'leave_to', 'quarantine', 'inconsistent', NULL,
     'Leave whose last day is before its first is meaningless, and which day is wrong cannot be told',
     '[{"extract": "consultant_leave", "set": {"leave_to": "2025-03-01"}}]'),
    ('preop_assessment', 'preop_assessment_valid_after_assessed', 'valid_until', 'load_without', 'inconsistent', 'V32',
     'An expiry before the assessment is left out: the assessment then holds for theatre_setting.preop_valid_days',
     '[{"extract": "preop_assessment", "set": {"valid_until": "2025-01-01"}}]'),
    ('patient_unavailability', 'patient_unavailability_period_in_order', 'unavailable_to', 'quarantine', 'inconsistent', NULL,
     'A period whose last day is before its first is meaningless, and which day is wrong cannot be told',
     '[{"extract": "patient_unavailability", "set": {"unavailable_to": "2025-03-01"}}]'),
    ('procedure_duration', 'procedure_duration_minutes_in_range', 'minutes', 'quarantine', 'out_of_range', NULL,
     'A past case''s touch time is 1 to 1440 minutes: the duration is the record',
     '[{"extract": "procedure_duration", "set": {"minutes": "0"}}]');

CREATE TABLE ptl_stage.theatre_session (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    session_ref         text,
    theatre_code        text,
    session_date        text,
    planned_start       text,
    planned_end         text,
    specialty           text,
    consultant_code     text,
    session_type        text,
    equipment           text,
    cancelled           text,
    cancelled_reason    text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.theatre_session (batch_id);
COMMENT ON TABLE ptl_stage.theatre_session IS 'Theatre session extract as delivered (one row per session)';

CREATE TABLE ptl_stage.theatre_booking (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    booking_ref         text,
    session_ref         text,
    ppid_issuer         text,
    ppid                text,
    entry_ref           text,
    planned_order       text,
    planned_minutes     text,
    status              text,
    day_case            text,
    into_theatre        text,
    anaesthetic_start   text,
    knife_to_skin       text,
    out_of_theatre      text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.theatre_booking (batch_id);
COMMENT ON TABLE ptl_stage.theatre_booking IS 'Theatre booking extract as delivered (one row per booking)';

CREATE TABLE ptl_stage.theatre_cancellation (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    booking_ref         text,
    cancelled_on        text,
    reason_code         text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.theatre_cancellation (batch_id);
COMMENT ON TABLE ptl_stage.theatre_cancellation IS 'Theatre cancellation extract as delivered (one row per cancelled booking)';

CREATE TABLE ptl_stage.consultant_leave (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    leave_ref           text,
    consultant_code     text,
    leave_from          text,
    leave_to            text,
    leave_reason        text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.consultant_leave (batch_id);
COMMENT ON TABLE ptl_stage.consultant_leave IS 'Consultant leave extract as delivered (one row per period of leave)';

CREATE TABLE ptl_stage.preop_assessment (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    assessment_ref      text,
    ppid_issuer         text,
    ppid                text,
    entry_ref           text,
    assessed_on         text,
    outcome             text,
    valid_until         text,
    needs_inpatient_bed text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.preop_assessment (batch_id);
COMMENT ON TABLE ptl_stage.preop_assessment IS 'Pre-operative assessment extract as delivered (one row per assessment)';

CREATE TABLE ptl_stage.patient_unavailability (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    unavailability_ref  text,
    local_patient_id    text,
    unavailable_from    text,
    unavailable_to      text,
    unavailable_reason  text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.patient_unavailability (batch_id);
COMMENT ON TABLE ptl_stage.patient_unavailability IS 'Patient unavailability extract as delivered (one row per period)';

CREATE TABLE ptl_stage.procedure_duration (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    case_ref            text,
    procedure_code      text,
    consultant_code     text,
    performed_on        text,
    minutes             text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.procedure_duration (batch_id);
COMMENT ON TABLE ptl_stage.procedure_duration IS 'Past case duration extract as delivered (one row per operation)';

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, listed_by,
     description, earliest_date, latest_days_after_opening, identifying)
VALUES
    ('theatre_session', 'session_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The theatre system''s reference of the session: identifies it at the organisation', NULL, NULL, false),
    ('theatre_session', 'theatre_code', 2, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'Theatre (ptl.theatre, reference data an administrator keeps). Required: a session is a theatre''s time, so a missing one quarantines the row, and a theatre ptl does not hold at a site of the batch''s organisation is unknown_parent', NULL, NULL, false),
    ('theatre_session', 'session_date', 3, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Date of the session, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened (lists are planned ahead). Required: an undated session is meaningless, so an invalid or implausible date quarantines the row', '1980-01-01', 730, false),
    ('theatre_session', 'planned_start', 4, true, NULL, NULL, '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a time of day written HH:MM or HH:MM:SS (00:00 to 23:59)', NULL, 'quarantine', NULL, 'Planned start, local time. Required: the session''s capacity is its planned end less its start', NULL, NULL, false),
    ('theatre_session', 'planned_end', 5, true, NULL, NULL, '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a time of day written HH:MM or HH:MM:SS (00:00 to 23:59)', NULL, 'quarantine', NULL, 'Planned end, local time, after the start (an end not after the start quarantines the row as inconsistent). Required: the session''s capacity is its planned end less its start', NULL, NULL, false),
    ('theatre_session', 'specialty', 6, true, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'V32', 'Treatment function that owns the session. Required: a session is filled from its specialty''s list, so a missing or malformed code quarantines the row; a well-formed code ptl.treatment_function does not hold yet loads as a placeholder there (warning)', NULL, NULL, false),
    ('theatre_session', 'consultant_code', 7, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Consultant who operates. A value that starts like a spreadsheet formula is left out (warning): the session loads with its consultant not yet named', NULL, NULL, false),
    ('theatre_session', 'session_type', 8, false, NULL, '{elective,day_case,emergency,trauma}', NULL, NULL, NULL, 'load_without', 'V32', 'elective (the default), day_case, emergency or trauma. Another value is left out (warning): the session loads as elective', NULL, NULL, false),
    ('theatre_session', 'equipment', 9, false, NULL, NULL, '^[a-z_]+(;[a-z_]+)*$', 'equipment names in lower case separated by semicolons', NULL, 'load_without', 'V32', 'Equipment brought in for the session, beyond the theatre''s own, e.g. laser;robot. Another value is left out (warning): the session loads with the theatre''s own equipment', NULL, NULL, false),
    ('theatre_session', 'cancelled', 10, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'True if the session was cancelled in advance. An invalid value is left out (warning): the session loads as not cancelled', NULL, NULL, false),
    ('theatre_session', 'cancelled_reason', 11, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Why the session was cancelled. Left out (warning) when it starts like a spreadsheet formula or the session is not cancelled', NULL, NULL, false),

    ('theatre_booking', 'booking_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The theatre system''s reference of the booking: identifies it at the organisation', NULL, NULL, false),
    ('theatre_booking', 'session_ref', 2, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The session booked into, by its session_ref. Required: a session this organisation''s extracts have not delivered is unknown_parent (parent_rejected when this batch quarantined it)', NULL, NULL, false),
    ('theatre_booking', 'ppid_issuer', 3, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', NULL, 'Waiting-list entry: PPID issuer', NULL, NULL, false),
    ('theatre_booking', 'ppid', 4, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', NULL, 'Waiting-list entry: PPID', NULL, NULL, false),
    ('theatre_booking', 'entry_ref', 5, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'Waiting-list entry: the PAS''s identifier of the entry operated on', NULL, NULL, false),
    ('theatre_booking', 'planned_order', 6, true, 'integer', NULL, '^[0-9]{1,4}$', 'a whole number of up to 4 digits', NULL, 'quarantine', NULL, 'Place in the session''s running order (1 = first). Required: a booking is a place in a list, so a missing or invalid place, or a place another booking of the session holds, quarantines the row', NULL, NULL, false),
    ('theatre_booking', 'planned_minutes', 7, true, 'integer', NULL, '^[0-9]{1,4}$', 'a whole number of up to 4 digits', NULL, 'quarantine', NULL, 'Minutes planned in theatre, excluding turnaround, 1 to 1440. Required: a booking holds this much of its session''s time, so a missing or invalid value quarantines the row', NULL, NULL, false),
    ('theatre_booking', 'status', 8, false, NULL, '{booked,completed,cancelled}', NULL, NULL, NULL, 'load_without', 'V32', 'booked (the default), completed or cancelled. Another value, or completed without a usable out_of_theatre, is left out (warning): the booking loads as booked', NULL, NULL, false),
    ('theatre_booking', 'day_case', 9, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'Admitted as a day case (true) or an inpatient (false), once known. An invalid value is left out (warning)', NULL, NULL, false),
    ('theatre_booking', 'into_theatre', 10, false, NULL, NULL, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a date and time written YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS', NULL, 'load_without', 'V32', 'Patient into theatre, local time, on the session''s day or the next. Another value is left out (warning): the booking loads without it', NULL, NULL, false),
    ('theatre_booking', 'anaesthetic_start', 11, false, NULL, NULL, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a date and time written YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS', NULL, 'load_without', 'V32', 'Anaesthetic start, local time, on the session''s day or the next. Another value is left out (warning)', NULL, NULL, false),
    ('theatre_booking', 'knife_to_skin', 12, false, NULL, NULL, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a date and time written YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS', NULL, 'load_without', 'V32', 'Operation start, local time, on the session''s day or the next. Another value is left out (warning)', NULL, NULL, false),
    ('theatre_booking', 'out_of_theatre', 13, false, NULL, NULL, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a date and time written YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS', NULL, 'load_without', 'V32', 'Patient leaves theatre, local time, on the session''s day or the next and after the anaesthetic start (or into theatre). Another value is left out (warning): the case''s touch time is then unknown', NULL, NULL, false),

    ('theatre_cancellation', 'booking_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The booking cancelled, by its booking_ref. A booking this organisation''s extracts have not delivered is unknown_parent (parent_rejected when this batch quarantined it)', NULL, NULL, false),
    ('theatre_cancellation', 'cancelled_on', 2, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Date of the cancellation, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: whether a cancellation was last-minute (on the day, the 28-day standard) is read from it, so an invalid or implausible date quarantines the row', '1980-01-01', 0, false),
    ('theatre_cancellation', 'reason_code', 3, true, NULL, NULL, '^[a-z_]{1,40}$', 'a reason code in lower case, e.g. no_bed', NULL, 'quarantine', NULL, 'Why (ptl.cancellation_reason). Required: whether the cancellation was clinical, and on whose side, is read from it, so a missing code, or one ptl.cancellation_reason does not hold, quarantines the row (a trust adds its own reasons there)', NULL, NULL, false),

    ('consultant_leave', 'leave_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The rostering system''s reference of the period of leave: identifies it at the organisation', NULL, NULL, false),
    ('consultant_leave', 'consultant_code', 2, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'Consultant on leave. Required: leave of no one is meaningless', NULL, NULL, false),
    ('consultant_leave', 'leave_from', 3, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'First day of leave, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: an invalid or implausible date quarantines the row', '1980-01-01', 730, false),
    ('consultant_leave', 'leave_to', 4, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Last day of leave, not before the first, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: an invalid, implausible or inconsistent date quarantines the row', '1980-01-01', 730, false),
    ('consultant_leave', 'leave_reason', 5, false, NULL, '{annual,study,sick,other}', NULL, NULL, NULL, 'load_without', 'V32', 'annual (the default when empty), study, sick or other. Another value is left out (warning): the leave loads as other', NULL, NULL, false),

    ('preop_assessment', 'assessment_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The source system''s reference of the assessment: identifies it at the organisation', NULL, NULL, false),
    ('preop_assessment', 'ppid_issuer', 2, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', NULL, 'Waiting-list entry: PPID issuer', NULL, NULL, false),
    ('preop_assessment', 'ppid', 3, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', NULL, 'Waiting-list entry: PPID', NULL, NULL, false),
    ('preop_assessment', 'entry_ref', 4, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'Waiting-list entry: the PAS''s identifier of the entry assessed for', NULL, NULL, false),
    ('preop_assessment', 'assessed_on', 5, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Date of the assessment, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: readiness runs from it, so an invalid or implausible date quarantines the row', '1980-01-01', 0, false),
    ('preop_assessment', 'outcome', 6, true, NULL, '{fit,fit_with_conditions,not_fit,deferred}', NULL, NULL, NULL, 'quarantine', NULL, 'fit, fit_with_conditions, not_fit or deferred. Required: an assessment without its outcome is meaningless', NULL, NULL, false),
    ('preop_assessment', 'valid_until', 7, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'V32', 'Last day the assessment holds, not before assessed_on, plausible from 1980-01-01 to 730 days after the day the batch was opened. An invalid, implausible or inconsistent date is left out (warning): the assessment then holds for theatre_setting.preop_valid_days', '1980-01-01', 730, false),
    ('preop_assessment', 'needs_inpatient_bed', 8, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'True if the patient must not go to a day-case-only unit. An invalid value is left out (warning): the assessment loads with false', NULL, NULL, false),

    ('patient_unavailability', 'unavailability_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The PAS''s reference of the period: identifies it at the organisation', NULL, NULL, false),
    ('patient_unavailability', 'local_patient_id', 2, true, NULL, NULL, NULL, NULL, NULL, 'quarantine', NULL, 'The patient, by the same system''s patient identifier (hospital number)', NULL, NULL, true),
    ('patient_unavailability', 'unavailable_from', 3, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'First day unavailable, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: an invalid or implausible date quarantines the row', '1980-01-01', 730, false),
    ('patient_unavailability', 'unavailable_to', 4, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Last day unavailable, not before the first, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: an invalid, implausible or inconsistent date quarantines the row', '1980-01-01', 730, false),
    ('patient_unavailability', 'unavailable_reason', 5, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Why, as the patient gave it. A value that starts like a spreadsheet formula is left out (warning)', NULL, NULL, false),

    ('procedure_duration', 'case_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The theatre system''s reference of the past case: identifies it at the organisation', NULL, NULL, false),
    ('procedure_duration', 'procedure_code', 2, true, NULL, NULL, '^[A-Z][0-9]{2}\.?[0-9]?$', 'an OPCS-4 code such as W37.1', NULL, 'quarantine', NULL, 'Procedure (OPCS-4). Required: a duration of no known procedure plans nothing', NULL, NULL, false),
    ('procedure_duration', 'consultant_code', 3, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Consultant who operated. A value that starts like a spreadsheet formula is left out (warning): the case counts for the procedure across consultants', NULL, NULL, false),
    ('procedure_duration', 'performed_on', 4, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Date of the operation, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: an invalid or implausible date quarantines the row', '1980-01-01', 0, false),
    ('procedure_duration', 'minutes', 5, true, 'integer', NULL, NULL, NULL, NULL, 'quarantine', NULL, 'Touch time, whole minutes, 1 to 1440. Required: the duration is the record, so a missing, invalid or out-of-range value quarantines the row', NULL, NULL, false);

-- ---------------------------------------------------------------------------
-- Loaders: row rules of each extract, then the upsert on the natural key
-- (ptl.load runs them after the column rules, repeats, parents and
-- placeholders: see src/load/load.sql).
-- ---------------------------------------------------------------------------


CREATE FUNCTION ptl_internal.load_theatre_sessions(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
BEGIN
    -- The theatre must be one of the batch's organisation's (reference data).
    SELECT array_agg(w.row_no), array_agg(format('theatre %s is not a theatre at a site of %s in ptl.theatre; an administrator adds the organisation''s theatres first',
                                                 ptl.extract_value(w.theatre_code), b.org_code))
    INTO r, m
    FROM pg_temp.ptl_load_theatre_session w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.theatre t JOIN ptl.site s ON s.site_code = t.site_code
                      WHERE t.theatre_code = ptl.extract_value(w.theatre_code) AND s.org_code = b.org_code);
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_session', r, 'unknown_parent', '23503', 'theatre_code', m);

    -- Rule theatre_session_ends_after_start: a session ending at or before
    -- its start has no time to give.
    SELECT array_agg(d.row_no), array_agg(format('planned_end %s is not after planned_start %s', d.e, d.s))
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.planned_start)::time AS s, ptl.extract_value(w.planned_end)::time AS e
          FROM pg_temp.ptl_load_theatre_session w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.e <= d.s;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_session', r, 'inconsistent', '23514', 'planned_end', m);

    -- Rule theatre_session_slot_taken: one theatre holds one session at a
    -- start; a second session there (another session held, or an earlier
    -- row of this extract) is quarantined.
    SELECT array_agg(d.row_no), array_agg(format('theatre %s already holds session %s on %s at %s',
                                                 d.theatre_code, coalesce(d.held, d.first_ref), d.session_date, d.planned_start))
    INTO r, m
    FROM (SELECT g.*, h.held,
                 first_value(g.session_ref) OVER slot AS first_ref, row_number() OVER slot AS nth
          FROM (SELECT w.row_no, w.row_in_extract, ptl.extract_value(w.session_ref) AS session_ref,
                       ptl.extract_value(w.theatre_code) AS theatre_code,
                       ptl.extract_value(w.session_date)::date AS session_date,
                       ptl.extract_value(w.planned_start)::time AS planned_start
                FROM pg_temp.ptl_load_theatre_session w
                WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) g
          LEFT JOIN LATERAL (SELECT coalesce(s.source_ref, 'id ' || s.session_id) AS held FROM ptl.theatre_session s
                             WHERE s.theatre_code = g.theatre_code AND s.session_date = g.session_date
                               AND s.planned_start = g.planned_start
                               AND (s.source_org, s.source_ref) IS DISTINCT FROM (b.org_code, g.session_ref)) h ON true
          WINDOW slot AS (PARTITION BY g.theatre_code, g.session_date, g.planned_start ORDER BY g.row_in_extract)) d
    WHERE d.held IS NOT NULL OR d.nth > 1;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_session', r, 'inconsistent', '23505', 'planned_start', m);

    -- A reason for a session that is not cancelled is left out.
    SELECT array_agg(w.row_no), array_agg('cancelled_reason is given, but the session is not cancelled'::text)
    INTO r, m
    FROM pg_temp.ptl_load_theatre_session w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND ptl.extract_value(w.cancelled_reason) IS NOT NULL AND 'cancelled_reason' <> ALL (w.warn_columns)
      AND CASE WHEN 'cancelled' = ANY (w.warn_columns) THEN true
               ELSE NOT coalesce(ptl.extract_value(w.cancelled)::boolean, false) END;
    PERFORM ptl_internal.load_mark_warn('ptl_load_theatre_session', r, 'cancelled_reason', 'inconsistent', '23514', m);

    WITH upserted AS (
        INSERT INTO ptl.theatre_session AS t
            (source_org, source_ref, theatre_code, session_date, planned_start, planned_end, specialty,
             consultant_code, session_type, equipment, cancelled, cancelled_reason)
        SELECT b.org_code, ptl.extract_value(w.session_ref), ptl.extract_value(w.theatre_code),
               ptl.extract_value(w.session_date)::date, ptl.extract_value(w.planned_start)::time,
               ptl.extract_value(w.planned_end)::time, ptl.extract_value(w.specialty),
               CASE WHEN 'consultant_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.consultant_code) END,
               coalesce(CASE WHEN 'session_type' <> ALL (w.warn_columns) THEN ptl.extract_value(w.session_type) END, 'elective'),
               coalesce(CASE WHEN 'equipment' <> ALL (w.warn_columns) THEN string_to_array(ptl.extract_value(w.equipment), ';') END, '{}'),
               coalesce(CASE WHEN 'cancelled' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cancelled)::boolean END, false),
               CASE WHEN 'cancelled_reason' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cancelled_reason) END
        FROM pg_temp.ptl_load_theatre_session w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET theatre_code = excluded.theatre_code, session_date = excluded.session_date,
            planned_start = excluded.planned_start, planned_end = excluded.planned_end,
            specialty = excluded.specialty, consultant_code = excluded.consultant_code,
            session_type = excluded.session_type, equipment = excluded.equipment,
            cancelled = excluded.cancelled, cancelled_reason = excluded.cancelled_reason
        WHERE (t.theatre_code, t.session_date, t.planned_start, t.planned_end, t.specialty, t.consultant_code,
               t.session_type, t.equipment, t.cancelled, t.cancelled_reason)
              IS DISTINCT FROM
              (excluded.theatre_code, excluded.session_date, excluded.planned_start, excluded.planned_end,
               excluded.specialty, excluded.consultant_code, excluded.session_type, excluded.equipment,
               excluded.cancelled, excluded.cancelled_reason)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- Good rows whose record was already held, counted after the upsert.
    PERFORM ptl.analyze_if_grown('ptl.theatre_session', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_theatre_session w
    JOIN ptl.theatre_session t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.session_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_theatre_sessions(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s theatre session extract';

CREATE FUNCTION ptl_internal.load_theatre_bookings(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
    col text;
BEGIN
    -- Rule theatre_booking_session_known: the session, by its session_ref
    -- at the batch's organisation: parent_rejected when this batch
    -- quarantined it, unknown_parent otherwise.
    SELECT array_agg(d.row_no) FILTER (WHERE d.rejected_at IS NOT NULL),
           array_agg(format('its session %s was quarantined at row %s of this batch''s theatre_session extract',
                            d.session_ref, d.rejected_at)) FILTER (WHERE d.rejected_at IS NOT NULL)
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.session_ref) AS session_ref,
                 (SELECT max(x.row_in_extract) FROM ptl.rejected_row x
                  WHERE x.batch_id = batch AND x.extract = 'theatre_session'
                    AND ptl.extract_value(x.raw ->> 'session_ref') = ptl.extract_value(w.session_ref)) AS rejected_at
          FROM pg_temp.ptl_load_theatre_booking w
          WHERE w.bad_column IS NULL AND w.reason IS NULL
            AND NOT EXISTS (SELECT 1 FROM ptl.theatre_session s
                            WHERE s.source_org = b.org_code AND s.source_ref = ptl.extract_value(w.session_ref))) d;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_booking', r, 'parent_rejected', '23503', 'session_ref', m);
    SELECT array_agg(w.row_no), array_agg(format('no theatre session %s is known at %s; send the session row first',
                                                 ptl.extract_value(w.session_ref), b.org_code))
    INTO r, m
    FROM pg_temp.ptl_load_theatre_booking w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.theatre_session s
                      WHERE s.source_org = b.org_code AND s.source_ref = ptl.extract_value(w.session_ref));
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_booking', r, 'unknown_parent', '23503', 'session_ref', m);

    -- The place is 1 or more, the minutes 1 to 1440 (the booking's share
    -- of its session).
    SELECT array_agg(d.row_no), array_agg(format('planned_order %s is outside 1 to 9999', d.v))
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.planned_order)::int AS v FROM pg_temp.ptl_load_theatre_booking w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.v < 1;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_booking', r, 'out_of_range', '22003', 'planned_order', m);
    SELECT array_agg(d.row_no), array_agg(format('planned_minutes %s is outside 1 to 1440 minutes', d.v))
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.planned_minutes)::int AS v FROM pg_temp.ptl_load_theatre_booking w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.v NOT BETWEEN 1 AND 1440;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_booking', r, 'out_of_range', '22003', 'planned_minutes', m);

    -- Rule theatre_booking_times_on_session_day: an actual time lies on the
    -- session's day or the next (a list may overrun past midnight);
    -- another is left out.
    FOREACH col IN ARRAY ARRAY['into_theatre', 'anaesthetic_start', 'knife_to_skin', 'out_of_theatre'] LOOP
        -- (the column rule checks the form; the day must exist too)
        EXECUTE format($q$
            SELECT array_agg(w.row_no), array_agg(format('%1$s %%s is not a valid date and time: there is no such day',
                                                         ptl.extract_value(w.%1$I)))
            FROM pg_temp.ptl_load_theatre_booking w
            WHERE w.bad_column IS NULL AND w.reason IS NULL AND %1$L <> ALL (w.warn_columns)
              AND NOT (ptl.check_input(left(ptl.extract_value(w.%1$I), 10), 'date'::regtype) IS NULL)$q$, col)
        INTO r, m;
        PERFORM ptl_internal.load_mark_warn('ptl_load_theatre_booking', r, col, 'invalid_date', '22008', m);
        EXECUTE format($q$
            SELECT array_agg(d.row_no), array_agg(format('%1$s %%s is not on the session''s day (%%s) or the next', d.v, d.session_date))
            FROM (SELECT w.row_no, ptl.extract_value(w.%1$I) AS v, s.session_date
                  FROM pg_temp.ptl_load_theatre_booking w
                  JOIN ptl.theatre_session s ON s.source_org = $1 AND s.source_ref = ptl.extract_value(w.session_ref)
                  WHERE w.bad_column IS NULL AND w.reason IS NULL AND %1$L <> ALL (w.warn_columns)
                    AND ptl.extract_value(w.%1$I) IS NOT NULL OFFSET 0) d
            WHERE d.v::timestamp NOT BETWEEN d.session_date AND d.session_date + 2 - interval '1 second'$q$, col)
        INTO r, m USING b.org_code;
        PERFORM ptl_internal.load_mark_warn('ptl_load_theatre_booking', r, col, 'implausible_date', '23514', m);
    END LOOP;
    -- Rule theatre_booking_out_after_start: out of theatre after the
    -- anaesthetic start (or into theatre); otherwise left out.
    SELECT array_agg(d.row_no), array_agg(format('out_of_theatre %s is not after %s', d.o, d.s))
    INTO r, m
    FROM (SELECT w.row_no,
                 CASE WHEN 'out_of_theatre' <> ALL (w.warn_columns) THEN ptl.extract_value(w.out_of_theatre)::timestamp END AS o,
                 coalesce(CASE WHEN 'anaesthetic_start' <> ALL (w.warn_columns) THEN ptl.extract_value(w.anaesthetic_start)::timestamp END,
                          CASE WHEN 'into_theatre' <> ALL (w.warn_columns) THEN ptl.extract_value(w.into_theatre)::timestamp END) AS s
          FROM pg_temp.ptl_load_theatre_booking w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.o <= d.s;
    PERFORM ptl_internal.load_mark_warn('ptl_load_theatre_booking', r, 'out_of_theatre', 'inconsistent', '23514', m);
    -- A completed case without its end time loads as booked.
    SELECT array_agg(w.row_no), array_agg('status completed needs a usable out_of_theatre'::text)
    INTO r, m
    FROM pg_temp.ptl_load_theatre_booking w
    WHERE w.bad_column IS NULL AND w.reason IS NULL AND 'status' <> ALL (w.warn_columns)
      AND ptl.extract_value(w.status) = 'completed'
      AND (ptl.extract_value(w.out_of_theatre) IS NULL OR 'out_of_theatre' = ANY (w.warn_columns));
    PERFORM ptl_internal.load_mark_warn('ptl_load_theatre_booking', r, 'status', 'inconsistent', '23514', m);

    -- Rule theatre_booking_place_taken: one booking per place in a
    -- session's running order, after this delivery: a place held by a
    -- booking this batch does not move, or by an earlier row of this
    -- extract, is taken.  Repeated until no row is marked (a row quarantined
    -- here leaves its booking where it was).
    LOOP
        SELECT array_agg(d.row_no), array_agg(format('place %s of session %s is taken by booking %s',
                                                      d.planned_order, d.session_ref, coalesce(d.held, d.first_ref)))
        INTO r, m
        FROM (SELECT g.*, h.held,
                     first_value(g.booking_ref) OVER place AS first_ref, row_number() OVER place AS nth
              FROM (SELECT w.row_no, w.row_in_extract, ptl.extract_value(w.booking_ref) AS booking_ref,
                           ptl.extract_value(w.session_ref) AS session_ref, s.session_id,
                           ptl.extract_value(w.planned_order)::int AS planned_order
                    FROM pg_temp.ptl_load_theatre_booking w
                    JOIN ptl.theatre_session s ON s.source_org = b.org_code AND s.source_ref = ptl.extract_value(w.session_ref)
                    WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) g
              -- the booking holding the place, unless this extract moves it
              LEFT JOIN LATERAL (SELECT coalesce(t.source_ref, 'id ' || t.booking_id) AS held FROM ptl.theatre_booking t
                                 WHERE t.session_id = g.session_id AND t.planned_order = g.planned_order
                                   AND (t.source_org, t.source_ref) IS DISTINCT FROM (b.org_code, g.booking_ref)
                                   AND NOT (coalesce(t.source_org = b.org_code, false) AND EXISTS (
                                       SELECT 1 FROM pg_temp.ptl_load_theatre_booking x
                                       WHERE x.bad_column IS NULL AND x.reason IS NULL
                                         AND ptl.extract_value(x.booking_ref) = t.source_ref))) h ON true
              WINDOW place AS (PARTITION BY g.session_id, g.planned_order ORDER BY g.row_in_extract)) d
        WHERE d.held IS NOT NULL OR d.nth > 1;
        EXIT WHEN r IS NULL;
        PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_booking', r, 'inconsistent', '23505', 'planned_order', m);
    END LOOP;

    WITH upserted AS (
        INSERT INTO ptl.theatre_booking AS t
            (source_org, source_ref, session_id, entry_id, planned_order, planned_minutes, status, day_case,
             into_theatre, anaesthetic_start, knife_to_skin, out_of_theatre)
        SELECT b.org_code, ptl.extract_value(w.booking_ref), s.session_id, e.entry_id,
               ptl.extract_value(w.planned_order)::int, ptl.extract_value(w.planned_minutes)::int,
               coalesce(CASE WHEN 'status' <> ALL (w.warn_columns) THEN ptl.extract_value(w.status) END, 'booked'),
               CASE WHEN 'day_case' <> ALL (w.warn_columns) THEN ptl.extract_value(w.day_case)::boolean END,
               CASE WHEN 'into_theatre' <> ALL (w.warn_columns) THEN ptl.extract_value(w.into_theatre)::timestamp END,
               CASE WHEN 'anaesthetic_start' <> ALL (w.warn_columns) THEN ptl.extract_value(w.anaesthetic_start)::timestamp END,
               CASE WHEN 'knife_to_skin' <> ALL (w.warn_columns) THEN ptl.extract_value(w.knife_to_skin)::timestamp END,
               CASE WHEN 'out_of_theatre' <> ALL (w.warn_columns) THEN ptl.extract_value(w.out_of_theatre)::timestamp END
        FROM pg_temp.ptl_load_theatre_booking w
        JOIN ptl.theatre_session s ON s.source_org = b.org_code AND s.source_ref = ptl.extract_value(w.session_ref)
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        JOIN ptl.waiting_list_entry e ON e.pathway_id = p.pathway_id AND e.entry_ref = ptl.extract_value(w.entry_ref)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET session_id = excluded.session_id, entry_id = excluded.entry_id,
            planned_order = excluded.planned_order, planned_minutes = excluded.planned_minutes,
            status = excluded.status, day_case = excluded.day_case, into_theatre = excluded.into_theatre,
            anaesthetic_start = excluded.anaesthetic_start, knife_to_skin = excluded.knife_to_skin,
            out_of_theatre = excluded.out_of_theatre
        WHERE (t.session_id, t.entry_id, t.planned_order, t.planned_minutes, t.status, t.day_case,
               t.into_theatre, t.anaesthetic_start, t.knife_to_skin, t.out_of_theatre)
              IS DISTINCT FROM
              (excluded.session_id, excluded.entry_id, excluded.planned_order, excluded.planned_minutes,
               excluded.status, excluded.day_case, excluded.into_theatre, excluded.anaesthetic_start,
               excluded.knife_to_skin, excluded.out_of_theatre)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.theatre_booking', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_theatre_booking w
    JOIN ptl.theatre_booking t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.booking_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_theatre_bookings(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s theatre booking extract';

CREATE FUNCTION ptl_internal.load_theatre_cancellations(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
BEGIN
    -- Rule theatre_cancellation_booking_known: the booking, by its
    -- booking_ref at the batch's organisation.
    SELECT array_agg(d.row_no) FILTER (WHERE d.rejected_at IS NOT NULL),
           array_agg(format('its booking %s was quarantined at row %s of this batch''s theatre_booking extract',
                            d.booking_ref, d.rejected_at)) FILTER (WHERE d.rejected_at IS NOT NULL)
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.booking_ref) AS booking_ref,
                 (SELECT max(x.row_in_extract) FROM ptl.rejected_row x
                  WHERE x.batch_id = batch AND x.extract = 'theatre_booking'
                    AND ptl.extract_value(x.raw ->> 'booking_ref') = ptl.extract_value(w.booking_ref)) AS rejected_at
          FROM pg_temp.ptl_load_theatre_cancellation w
          WHERE w.bad_column IS NULL AND w.reason IS NULL
            AND NOT EXISTS (SELECT 1 FROM ptl.theatre_booking t
                            WHERE t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.booking_ref))) d;
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_cancellation', r, 'parent_rejected', '23503', 'booking_ref', m);
    SELECT array_agg(w.row_no), array_agg(format('no theatre booking %s is known at %s; send the booking row first',
                                                 ptl.extract_value(w.booking_ref), b.org_code))
    INTO r, m
    FROM pg_temp.ptl_load_theatre_cancellation w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.theatre_booking t
                      WHERE t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.booking_ref));
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_cancellation', r, 'unknown_parent', '23503', 'booking_ref', m);

    -- Rule theatre_cancellation_reason_known: the reason is one of
    -- ptl.cancellation_reason (it says whether the cancellation counts as
    -- last-minute for a non-clinical reason).
    SELECT array_agg(w.row_no), array_agg(format('reason_code %s is not in ptl.cancellation_reason', quote_literal(ptl.extract_value(w.reason_code))))
    INTO r, m
    FROM pg_temp.ptl_load_theatre_cancellation w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.cancellation_reason c WHERE c.reason_code = ptl.extract_value(w.reason_code));
    PERFORM ptl_internal.load_mark_bad('ptl_load_theatre_cancellation', r, 'invalid_code', '23503', 'reason_code', m);

    WITH upserted AS (
        INSERT INTO ptl.theatre_cancellation AS t (booking_id, cancelled_on, reason_code)
        SELECT k.booking_id, ptl.extract_value(w.cancelled_on)::date, ptl.extract_value(w.reason_code)
        FROM pg_temp.ptl_load_theatre_cancellation w
        JOIN ptl.theatre_booking k ON k.source_org = b.org_code AND k.source_ref = ptl.extract_value(w.booking_ref)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (booking_id) DO UPDATE
        SET cancelled_on = excluded.cancelled_on, reason_code = excluded.reason_code
        WHERE (t.cancelled_on, t.reason_code) IS DISTINCT FROM (excluded.cancelled_on, excluded.reason_code)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.theatre_cancellation', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_theatre_cancellation w
    JOIN ptl.theatre_booking k ON k.source_org = b.org_code AND k.source_ref = ptl.extract_value(w.booking_ref)
    JOIN ptl.theatre_cancellation t ON t.booking_id = k.booking_id
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_theatre_cancellations(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s theatre cancellation extract';


CREATE FUNCTION ptl_internal.load_consultant_leave(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_period('ptl_load_consultant_leave', 'leave_from', 'leave_to');

    WITH upserted AS (
        INSERT INTO ptl.consultant_leave AS t (source_org, source_ref, consultant_code, leave_from, leave_to, reason)
        SELECT b.org_code, ptl.extract_value(w.leave_ref), ptl.extract_value(w.consultant_code),
               ptl.extract_value(w.leave_from)::date, ptl.extract_value(w.leave_to)::date,
               CASE WHEN 'leave_reason' = ANY (w.warn_columns) THEN 'other'
                    ELSE coalesce(ptl.extract_value(w.leave_reason), 'annual') END
        FROM pg_temp.ptl_load_consultant_leave w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET consultant_code = excluded.consultant_code, leave_from = excluded.leave_from,
            leave_to = excluded.leave_to, reason = excluded.reason
        WHERE (t.consultant_code, t.leave_from, t.leave_to, t.reason)
              IS DISTINCT FROM (excluded.consultant_code, excluded.leave_from, excluded.leave_to, excluded.reason)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.consultant_leave', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_consultant_leave w
    JOIN ptl.consultant_leave t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.leave_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_consultant_leave(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s consultant leave extract';

CREATE FUNCTION ptl_internal.load_preop_assessments(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
BEGIN
    -- Rule preop_assessment_valid_after_assessed: an expiry before the
    -- assessment is left out (the assessment then holds for
    -- theatre_setting.preop_valid_days).
    SELECT array_agg(d.row_no), array_agg(format('valid_until %s is before assessed_on %s', d.v, d.a))
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.assessed_on)::date AS a,
                 CASE WHEN 'valid_until' <> ALL (w.warn_columns) THEN ptl.extract_value(w.valid_until)::date END AS v
          FROM pg_temp.ptl_load_preop_assessment w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.v < d.a;
    PERFORM ptl_internal.load_mark_warn('ptl_load_preop_assessment', r, 'valid_until', 'inconsistent', '23514', m);

    WITH upserted AS (
        INSERT INTO ptl.preop_assessment AS t
            (source_org, source_ref, entry_id, assessed_on, outcome, valid_until, needs_inpatient_bed, recorded_by)
        SELECT b.org_code, ptl.extract_value(w.assessment_ref), e.entry_id,
               ptl.extract_value(w.assessed_on)::date, ptl.extract_value(w.outcome),
               CASE WHEN 'valid_until' <> ALL (w.warn_columns) THEN ptl.extract_value(w.valid_until)::date END,
               coalesce(CASE WHEN 'needs_inpatient_bed' <> ALL (w.warn_columns) THEN ptl.extract_value(w.needs_inpatient_bed)::boolean END, false),
               format('%s extract, batch %s', b.source_system, batch)
        FROM pg_temp.ptl_load_preop_assessment w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        JOIN ptl.waiting_list_entry e ON e.pathway_id = p.pathway_id AND e.entry_ref = ptl.extract_value(w.entry_ref)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET entry_id = excluded.entry_id, assessed_on = excluded.assessed_on, outcome = excluded.outcome,
            valid_until = excluded.valid_until, needs_inpatient_bed = excluded.needs_inpatient_bed,
            recorded_by = excluded.recorded_by
        WHERE (t.entry_id, t.assessed_on, t.outcome, t.valid_until, t.needs_inpatient_bed)
              IS DISTINCT FROM
              (excluded.entry_id, excluded.assessed_on, excluded.outcome, excluded.valid_until, excluded.needs_inpatient_bed)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.preop_assessment', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_preop_assessment w
    JOIN ptl.preop_assessment t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.assessment_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_preop_assessments(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s pre-operative assessment extract';

CREATE FUNCTION ptl_internal.load_patient_unavailability(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_period('ptl_load_patient_unavailability', 'unavailable_from', 'unavailable_to');

    WITH upserted AS (
        INSERT INTO ptl.patient_unavailability AS t
            (source_org, source_ref, patient_id, unavailable_from, unavailable_to, reason)
        SELECT b.org_code, ptl.extract_value(w.unavailability_ref), p.patient_id,
               ptl.extract_value(w.unavailable_from)::date, ptl.extract_value(w.unavailable_to)::date,
               CASE WHEN 'unavailable_reason' <> ALL (w.warn_columns) THEN ptl.extract_value(w.unavailable_reason) END
        FROM pg_temp.ptl_load_patient_unavailability w
        JOIN ptl.patient p ON p.org_code = b.org_code AND p.source_system = b.source_system
                          AND p.local_patient_id = ptl.extract_value(w.local_patient_id)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET patient_id = excluded.patient_id, unavailable_from = excluded.unavailable_from,
            unavailable_to = excluded.unavailable_to, reason = excluded.reason
        WHERE (t.patient_id, t.unavailable_from, t.unavailable_to, t.reason)
              IS DISTINCT FROM (excluded.patient_id, excluded.unavailable_from, excluded.unavailable_to, excluded.reason)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.patient_unavailability', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_patient_unavailability w
    JOIN ptl.patient_unavailability t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.unavailability_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_patient_unavailability(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s patient unavailability extract';

CREATE FUNCTION ptl_internal.load_procedure_durations(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
BEGIN
    -- Rule procedure_duration_minutes_in_range: 1 to 1440 minutes (the
    -- duration is the record).
    SELECT array_agg(d.row_no), array_agg(format('minutes %s is outside 1 to 1440', d.v))
    INTO r, m
    FROM (SELECT w.row_no, ptl.extract_value(w.minutes)::int AS v FROM pg_temp.ptl_load_procedure_duration w
          WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
    WHERE d.v NOT BETWEEN 1 AND 1440;
    PERFORM ptl_internal.load_mark_bad('ptl_load_procedure_duration', r, 'out_of_range', '22003', 'minutes', m);

    WITH upserted AS (
        INSERT INTO ptl.procedure_duration AS t (source_org, source_ref, procedure_code, consultant_code, performed_on, minutes)
        SELECT b.org_code, ptl.extract_value(w.case_ref), ptl.extract_value(w.procedure_code),
               CASE WHEN 'consultant_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.consultant_code) END,
               ptl.extract_value(w.performed_on)::date, ptl.extract_value(w.minutes)::int
        FROM pg_temp.ptl_load_procedure_duration w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET procedure_code = excluded.procedure_code, consultant_code = excluded.consultant_code,
            performed_on = excluded.performed_on, minutes = excluded.minutes
        WHERE (t.procedure_code, t.consultant_code, t.performed_on, t.minutes)
              IS DISTINCT FROM (excluded.procedure_code, excluded.consultant_code, excluded.performed_on, excluded.minutes)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.procedure_duration', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_procedure_duration w
    JOIN ptl.procedure_duration t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.case_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_procedure_durations(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s past case duration extract';

-- The theatre extracts' staging tables.
SELECT ptl_internal.prepare_staging_table(e.extract) FROM ptl.feed e WHERE e.capability = 'theatre';
