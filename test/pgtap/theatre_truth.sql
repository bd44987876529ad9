-- Theatre proposals on a generated ICS, checked by rules written again in
-- plain SQL: every proposal is eligible (specialty, consultant, site,
-- notice, pre-operative assessment, patient availability, leave, equipment,
-- session type), no session is overfilled, nobody booked or set aside is
-- proposed, every listed patient has one outcome, no patient is left out
-- for a later one who took their place, and a second run proposes the same.
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM ptl_synth.generate(6000, seed => 31) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
-- (the theatre extracts, staged by the generator, through the front door)
SELECT count(*) FROM ptl_synth.theatres(31) b, ptl.load(b) l;
CALL ptl.propose_theatre_lists('2025-04-01', '2025-05-12');

CREATE TEMP TABLE p AS
SELECT pr.*, s.session_date, s.specialty, s.consultant_code, s.session_type, s.cancelled, t.site_code, t.equipment,
       w.consultant_code AS entry_consultant, w.site_code AS entry_site, w.patient_id, w.procedure_code,
       l.treatment_function, l.order_group, l.list_position AS ptl_position
FROM ptl.theatre_proposal pr
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.theatre t USING (theatre_code)
JOIN ptl.waiting_list_entry w USING (entry_id)
JOIN ptl.ptl l ON l.waiting_list_entry_id = pr.entry_id;

SELECT cmp_ok((SELECT count(*) FROM p), '>', 10::bigint, 'the run proposes patients');
SELECT is((SELECT count(*) FROM p
           WHERE specialty <> treatment_function OR consultant_code IS DISTINCT FROM entry_consultant
              OR site_code <> entry_site OR cancelled OR session_type NOT IN ('elective', 'day_case')),
          0::bigint, 'eligibility: specialty, named consultant, site, and only open elective or day-case lists');
SELECT is((SELECT count(*) FROM p
           WHERE session_date < DATE '2025-03-31' + 7
              OR NOT EXISTS (SELECT FROM ptl.preop_assessment a
                             WHERE a.entry_id = p.entry_id AND a.outcome IN ('fit', 'fit_with_conditions')
                               AND a.assessed_on <= '2025-03-31'
                               AND coalesce(a.valid_until, a.assessed_on + 84) >= p.session_date
                               AND NOT EXISTS (SELECT FROM ptl.preop_assessment b
                                               WHERE b.entry_id = a.entry_id AND b.assessed_on <= '2025-03-31'
                                                 AND (b.assessed_on, b.preop_id) > (a.assessed_on, a.preop_id)))),
          0::bigint, 'readiness: seven days'' notice and a fit pre-operative assessment still valid on the day');
SELECT is((SELECT count(*) FROM p
           WHERE EXISTS (SELECT FROM ptl.patient_unavailability u
                         WHERE u.patient_id = p.patient_id AND p.session_date BETWEEN u.unavailable_from AND u.unavailable_to)
              OR EXISTS (SELECT FROM ptl.consultant_leave c
                         WHERE c.consultant_code = p.consultant_code AND p.session_date BETWEEN c.leave_from AND c.leave_to)),
          0::bigint, 'nobody is proposed on a day they are unavailable or their consultant is on leave');
SELECT is((SELECT count(*) FROM p JOIN ptl.procedure_requirement r
           ON r.procedure_code = p.procedure_code OR r.procedure_code = left(p.procedure_code, 3)
           WHERE NOT r.equipment = ANY (p.equipment)),
          0::bigint, 'equipment: a procedure needing kit goes only to a theatre that has it');
SELECT is((SELECT count(*) FROM ptl.theatre_session_load l
           WHERE l.minutes_booked + l.minutes_proposed + 15 * (l.cases_booked + l.cases_proposed - 1) > l.planned_minutes
             AND l.cases_proposed > 0),
          0::bigint, 'capacity: booked and proposed cases with 15-minute turnarounds fit every session');
SELECT is((SELECT count(*) FROM p
           WHERE order_group = 'set_aside'
              OR EXISTS (SELECT FROM ptl.waiting_list_entry w WHERE w.entry_id = p.entry_id AND w.tci_date >= '2025-03-31')
              OR EXISTS (SELECT FROM ptl.theatre_booking b WHERE b.entry_id = p.entry_id AND b.status = 'booked')),
          0::bigint, 'nobody already dated, booked or set aside (P5, P6, suspended) is proposed');
SELECT is((SELECT count(*) FROM p WHERE list_position <> ptl_position), 0::bigint,
          'proposals carry the PTL''s list position');
SELECT ok((SELECT count(*) = count(DISTINCT o.entry_id)
                  AND count(*) = (SELECT count(*) FROM ptl.ptl WHERE waiting_list_entry_id IS NOT NULL)
                  AND count(*) FILTER (WHERE o.proposed) = (SELECT count(*) FROM p)
           FROM ptl.theatre_proposal_outcome o),
          'every listed patient has one outcome, proposed exactly when a proposal exists');

CREATE TEMP TABLE estimate AS SELECT * FROM ptl.procedure_duration_estimate;
ANALYZE estimate;

-- No inversion: an entry left out with its sessions full may not be
-- eligible for a session holding a proposal further down its list that it
-- would have fitted in place of.  Eligibility again from the tables.
SELECT is((SELECT count(*)
           FROM ptl.theatre_proposal_outcome o
           JOIN ptl.waiting_list_entry w USING (entry_id)
           JOIN ptl.ptl l ON l.waiting_list_entry_id = o.entry_id
           JOIN p j ON j.treatment_function = l.treatment_function AND j.consultant_code = w.consultant_code
                   AND j.site_code = w.site_code AND j.list_position > o.list_position
                   AND j.session_date >= DATE '2025-03-31' + 7
           JOIN ptl.theatre_session_load sl ON sl.session_id = j.session_id
           JOIN LATERAL (SELECT a.assessed_on, coalesce(a.valid_until, a.assessed_on + 84) AS until
                         FROM ptl.preop_assessment a WHERE a.entry_id = o.entry_id AND a.assessed_on <= '2025-03-31'
                         ORDER BY a.assessed_on DESC, a.preop_id DESC LIMIT 1) pa ON pa.until >= j.session_date
           JOIN LATERAL (SELECT coalesce(ec.planned_minutes, ep.planned_minutes, w.expected_duration_minutes) AS minutes
                         FROM (SELECT 1) one
                         LEFT JOIN estimate ec
                                ON ec.procedure_code = w.procedure_code AND ec.consultant_code = w.consultant_code
                         LEFT JOIN estimate ep
                                ON ep.procedure_code = w.procedure_code AND ep.all_consultants) d ON true
           WHERE o.run_id = (SELECT max(run_id) FROM ptl.theatre_proposal_run) AND o.reason = 'sessions_full'
             AND NOT EXISTS (SELECT FROM ptl.patient_unavailability u
                             WHERE u.patient_id = w.patient_id AND u.unavailable_from <= j.session_date
                               AND u.unavailable_to >= DATE '2025-03-31' + 7)
             AND NOT EXISTS (SELECT FROM ptl.procedure_requirement r
                             WHERE (r.procedure_code = w.procedure_code OR r.procedure_code = left(w.procedure_code, 3))
                               AND NOT r.equipment = ANY (j.equipment))
             AND sl.planned_minutes - (sl.minutes_booked + sl.minutes_proposed)
                 - 15 * (sl.cases_booked + sl.cases_proposed - 1) + j.planned_minutes >= d.minutes),
          0::bigint, 'no inversion: nobody is left out for a later patient whose place they would have fitted');

-- Deterministic: a second run supersedes the first and proposes the same.
CREATE TEMP TABLE first_run AS SELECT entry_id, session_id, start_offset_minutes FROM ptl.theatre_proposal;
CALL ptl.propose_theatre_lists('2025-04-01', '2025-05-12');
SELECT is((SELECT count(*) FROM ptl.theatre_proposal WHERE status = 'superseded'), (SELECT count(*) FROM first_run),
          'a second run supersedes the first run''s open proposals');
SELECT set_eq('SELECT entry_id, session_id, start_offset_minutes FROM ptl.theatre_proposal WHERE status = ''proposed''',
              'SELECT entry_id, session_id, start_offset_minutes FROM first_run',
              'and proposes the same patients in the same places');

SELECT * FROM finish();
ROLLBACK;
