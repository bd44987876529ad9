-- Clinic slot proposals on a generated ICS (20,000 referrals), checked by
-- the rules written again in plain SQL (docs/outpatients.md, "Filling
-- clinic slots"): every proposal is eligible (specialty, named clinician,
-- site, clinic asked for, slot type, face to face for a high-risk
-- follow-up, notice and horizon, due date, patient unavailability), no
-- slot holds two patients nor a session more than its slots, nobody booked
-- is proposed, every wait has one outcome, no wait is left out for one
-- further down the order that took a slot it could have had (no
-- inversion), nobody higher in the order waits longer than somebody lower
-- down they could swap with, a session with a slot count became either
-- slots, and a second run proposes the same.
BEGIN;
SELECT plan(15);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM ptl_synth.generate(20000, seed => 41) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
SELECT count(*) FROM ptl_synth.outpatients(41);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';

-- Templates: a clinic per consultant, at the site and in the specialty of
-- most of their pathways, held every other Tuesday from 8 April; four
-- slots a session (new, new, follow-up, either), the either slot virtual
-- for one consultant in three.  Scarce on purpose: many waits find their
-- sessions full.
CREATE TEMP TABLE consultant_clinic AS
SELECT DISTINCT ON (p.consultant_code) p.consultant_code, p.site_code, p.treatment_function,
       'CC-' || p.consultant_code AS clinic_code, row_number() OVER (ORDER BY p.consultant_code) AS k
FROM ptl.pathway p
WHERE p.consultant_code IS NOT NULL AND p.site_code IS NOT NULL
GROUP BY p.consultant_code, p.site_code, p.treatment_function
ORDER BY p.consultant_code, count(*) DESC, p.site_code, p.treatment_function;
INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name, consultant_code)
SELECT c.clinic_code, c.site_code, c.treatment_function, 'Clinic of ' || c.consultant_code, c.consultant_code
FROM consultant_clinic c;
INSERT INTO ptl.clinic_session (clinic_code, session_date, slots)
SELECT c.clinic_code, DATE '2025-04-08' + 14 * w, 4 FROM consultant_clinic c, generate_series(0, 2) w;
SELECT count(ptl.set_clinic_template(s.session_id, '{new,new,follow_up,either}', '{30,30,15,15}',
                                     ARRAY[true, true, true, c.k % 3 <> 0]))
FROM ptl.clinic_session s JOIN consultant_clinic c USING (clinic_code);
-- Half the follow-ups may be seen in any clinic of their consultant (the
-- generated requests name the specialty's clinic at the site).
UPDATE ptl.follow_up_request SET clinic_code = NULL WHERE request_id % 2 = 0;
-- A tenth of the waiting patients are away for a fortnight in April.
INSERT INTO ptl.patient_unavailability (patient_id, unavailable_from, unavailable_to, reason)
SELECT p.patient_id, DATE '2025-04-01' + (p.patient_id % 4)::int * 7, DATE '2025-04-14' + (p.patient_id % 4)::int * 7, 'holiday'
FROM (SELECT DISTINCT patient_id FROM ptl.ptl WHERE order_group = 'non_admitted') p
WHERE p.patient_id % 10 = 3;

CALL ptl.propose_clinic_slots(6, '2025-03-31');
CREATE TEMP TABLE first_run AS
SELECT pathway_id, request_id, slot_id FROM ptl.clinic_proposal WHERE status = 'proposed';

-- The proposals with the slot, its session and the wait, from the tables.
CREATE TEMP TABLE p AS
SELECT pr.*, x.slot_type, x.face_to_face, s.clinic_code, s.cancelled, c.site_code, c.treatment_function AS clinic_tfc,
       coalesce(s.clinician_code, c.consultant_code) AS clinician,
       pw.patient_id, pw.consultant_code, pw.site_code AS pathway_site, pw.treatment_function,
       f.clinic_code AS asked_clinic, f.clinical_risk, f.due_date, f.unavailable_until
FROM ptl.clinic_proposal pr
JOIN ptl.clinic_slot x USING (slot_id)
JOIN ptl.clinic_session s ON s.session_id = x.session_id
JOIN ptl.clinic c ON c.clinic_code = s.clinic_code
JOIN ptl.pathway pw ON pw.pathway_id = pr.pathway_id
LEFT JOIN ptl.follow_up_request f ON f.request_id = pr.request_id
WHERE pr.status = 'proposed';

SELECT cmp_ok((SELECT count(*) FROM p), '>', 1000::bigint, 'the run proposes patients');
SELECT is((SELECT count(*) FROM p
           WHERE clinic_tfc <> treatment_function OR clinician IS DISTINCT FROM consultant_code
              OR site_code <> pathway_site OR cancelled
              OR (asked_clinic IS NOT NULL AND clinic_code <> asked_clinic)),
          0::bigint, 'eligibility: specialty, the named clinician, the pathway''s site, the clinic asked for, a held session');
SELECT is((SELECT count(*) FROM p
           WHERE slot_type NOT IN (need, 'either')
              OR (need = 'new' AND list <> 'non_admitted')
              OR (clinical_risk = 'high' AND need = 'follow_up' AND NOT face_to_face)),
          0::bigint, 'slot type: new slots for first appointments, follow-up slots for follow-ups, either for both; high-risk follow-ups face to face');
SELECT is((SELECT count(*) FROM p
           WHERE session_date < DATE '2025-03-31' + 7 OR session_date > DATE '2025-03-31' + 42
              OR session_date < due_date - 14 OR session_date < unavailable_until
              OR EXISTS (SELECT FROM ptl.patient_unavailability u
                         WHERE u.patient_id = p.patient_id AND p.session_date BETWEEN u.unavailable_from AND u.unavailable_to)),
          0::bigint, 'dates: a week''s notice, six weeks ahead, not before a follow-up''s due date less 14 days, never on a day the patient is away');
SELECT is((SELECT count(*) FROM p
           WHERE EXISTS (SELECT FROM ptl.outpatient_appointment a
                         WHERE a.slot_id = p.slot_id AND a.attendance IN ('booked', 'attended', 'dna'))),
          0::bigint, 'no proposal is in a slot an appointment already holds');
SELECT is((SELECT count(*) FROM (
               SELECT s.session_id FROM ptl.clinic_session s
               JOIN ptl.clinic_slot x ON x.session_id = s.session_id
               LEFT JOIN p ON p.slot_id = x.slot_id
               WHERE s.session_date BETWEEN '2025-04-07' AND '2025-05-12'
               GROUP BY s.session_id, s.clinic_code, s.session_date
               HAVING count(p.proposal_id)
                      + (SELECT count(*) FROM ptl.outpatient_appointment a
                         WHERE a.clinic_code = s.clinic_code AND a.appointment_date = s.session_date
                           AND a.attendance IN ('booked', 'attended', 'dna')) > count(*)
                  OR count(p.proposal_id) > count(DISTINCT p.slot_id)) over),
          0::bigint, 'capacity: one patient a slot, and appointments plus proposals never outnumber a session''s slots');
SELECT is((SELECT count(*) FROM p
           WHERE EXISTS (SELECT FROM ptl.outpatient_appointment a
                         WHERE a.pathway_id = p.pathway_id AND a.attendance = 'booked' AND a.appointment_date > '2025-03-31'
                           AND (p.need = 'new' OR a.appointment_type = 'follow_up'))
              OR EXISTS (SELECT FROM ptl.ptl l WHERE l.pathway_id = p.pathway_id AND l.order_group <> 'non_admitted'
                         AND p.list = 'non_admitted')),
          0::bigint, 'nobody with an appointment to come, nor anybody on the admitted list, is proposed');
SELECT ok((SELECT count(*) = count(DISTINCT o.pathway_id)
                  AND count(*) FILTER (WHERE o.list = 'non_admitted')
                      = (SELECT count(DISTINCT pathway_id) FROM ptl.ptl WHERE order_group = 'non_admitted')
                  AND count(*) FILTER (WHERE o.list = 'follow_up')
                      = (SELECT count(DISTINCT pathway_id) FROM ptl.follow_up_backlog('2025-03-31'))
                  AND count(*) FILTER (WHERE o.proposed) = (SELECT count(*) FROM p)
                  AND count(*) FILTER (WHERE o.proposed) = count(*) FILTER (WHERE o.reason = 'proposed')
           FROM ptl.clinic_proposal_outcome o),
          'every wait of both lists has one outcome, proposed exactly when a proposal exists');
SELECT is((SELECT count(*) FROM ptl.clinic_proposal_outcome o
           WHERE o.list_position IS DISTINCT FROM
                 CASE o.list WHEN 'non_admitted'
                      THEN (SELECT min(l.list_position) FROM ptl.ptl l
                            WHERE l.pathway_id = o.pathway_id AND l.order_group = 'non_admitted')
                      ELSE (SELECT b.list_position FROM ptl.follow_up_backlog('2025-03-31') b
                            WHERE b.request_id = o.request_id) END),
          0::bigint, 'every outcome carries the wait''s place on its own list');
SELECT cmp_ok((SELECT count(DISTINCT reason) FROM ptl.clinic_proposal_outcome), '>=', 6::bigint,
              'the run gives several reasons (slots full, no session, unavailable, already booked...)');

-- Eligibility again, for every wait and every free slot of the run, from
-- the tables: the fill order is the run's list_rank.  The window is kept
-- strict (no unavailable day between its start and the slot), so an
-- inversion found below is a real one.
CREATE TEMP TABLE w AS
SELECT o.item_no, o.list_rank, o.need, o.proposed, o.reason, o.pathway_id, pw.patient_id, pw.consultant_code,
       pw.site_code, pw.treatment_function, f.clinic_code, f.clinical_risk,
       greatest(DATE '2025-03-31' + 7, f.due_date - 14, f.unavailable_until) AS ready_from
FROM ptl.clinic_proposal_outcome o
JOIN ptl.pathway pw ON pw.pathway_id = o.pathway_id
LEFT JOIN ptl.follow_up_request f ON f.request_id = o.request_id
WHERE o.need IS NOT NULL;
CREATE TEMP TABLE slot AS
SELECT x.slot_id, x.slot_type, x.face_to_face, s.session_date, s.clinic_code, c.site_code, c.treatment_function,
       coalesce(s.clinician_code, c.consultant_code) AS clinician, p.list_rank AS taken_by_rank, p.item_no AS taken_by,
       NOT EXISTS (SELECT FROM ptl.outpatient_appointment a
                   WHERE a.clinic_code = s.clinic_code AND a.appointment_date = s.session_date) AS untouched
FROM ptl.clinic_slot x
JOIN ptl.clinic_session s ON s.session_id = x.session_id
JOIN ptl.clinic c ON c.clinic_code = s.clinic_code
LEFT JOIN p ON p.slot_id = x.slot_id
WHERE s.session_date BETWEEN '2025-04-07' AND '2025-05-12' AND NOT s.cancelled;
CREATE INDEX ON slot (treatment_function, clinician);
ANALYZE w;
ANALYZE slot;
CREATE TEMP TABLE e AS
SELECT w.item_no, w.list_rank, slot.slot_id, slot.session_date, slot.taken_by_rank, slot.taken_by, slot.untouched
FROM w JOIN slot ON slot.treatment_function = w.treatment_function AND slot.clinician = w.consultant_code
                AND slot.site_code = w.site_code AND (w.clinic_code IS NULL OR slot.clinic_code = w.clinic_code)
                AND slot.slot_type IN (w.need, 'either')
                AND (slot.face_to_face OR w.need = 'new' OR w.clinical_risk IS DISTINCT FROM 'high')
                AND slot.session_date >= w.ready_from
WHERE NOT EXISTS (SELECT FROM ptl.patient_unavailability u
                  WHERE u.patient_id = w.patient_id AND u.unavailable_to >= w.ready_from
                    AND u.unavailable_from <= slot.session_date);
CREATE INDEX ON e (item_no);
ANALYZE e;

SELECT is((SELECT count(*) FROM w JOIN e USING (item_no)
           WHERE NOT w.proposed AND w.reason = 'slots_full' AND e.taken_by_rank > w.list_rank),
          0::bigint, 'no inversion: no wait is left out while one further down the order holds a slot it could have had');
SELECT is((SELECT count(*) FROM w JOIN e USING (item_no)
           WHERE NOT w.proposed AND w.reason NOT IN ('already_booked', 'first_attended', 'not_due')
             AND e.taken_by IS NULL AND e.untouched),
          0::bigint, 'no wait is left out while a slot it could have had stays free (sessions with no appointment yet)');
SELECT is((SELECT count(*)
           FROM p i JOIN e ei ON ei.item_no = i.item_no AND ei.taken_by_rank > i.list_rank
                                AND ei.session_date < i.session_date
           JOIN e ej ON ej.item_no = ei.taken_by AND ej.slot_id = i.slot_id),
          0::bigint, 'earlier dates first: nobody waits for a later slot than someone lower in the order they could swap with');

SELECT is((SELECT count(*) FROM ptl.clinic_session s
           WHERE s.session_date BETWEEN '2025-04-07' AND '2025-05-12'
             AND s.slots <> (SELECT count(*) FROM ptl.clinic_slot x WHERE x.session_id = s.session_id)),
          0::bigint, 'every session in range has its slots: a template, or either slots made from its count');

CALL ptl.propose_clinic_slots(6, '2025-03-31');
SELECT set_eq('SELECT pathway_id, request_id, slot_id FROM ptl.clinic_proposal WHERE status = ''proposed''',
              'SELECT pathway_id, request_id, slot_id FROM first_run',
              'a second run on the same data proposes the same');

SELECT * FROM finish();
ROLLBACK;
