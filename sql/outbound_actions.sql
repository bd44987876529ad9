-- The PAS stays the system of record: a worked example (docs/outbound.md).
-- A validation campaign's answers stop four clocks.  Each becomes an
-- outbound action for the trust's PAS team (OUT1) and a provisional event
-- (OUT2).  The next extracts confirm one (OUT3), contradict one with another
-- outcome (OUT4), one by recording activity after the stop (OUT5), and leave one unrecorded past the window
-- (OUT6); the provisional events give way and a contradicted removal is
-- undone (OUT8).  The batch's declared counts are then reconciled with the
-- PTL (REC1-REC6).
\pset null '(null)'
-- Everything below is undone at the end (the database is shared with the
-- other scripts); a statement's expected error undoes only itself.
\set ON_ERROR_ROLLBACK on
BEGIN;
SET LOCAL datestyle = 'ISO, YMD';

INSERT INTO ptl.organisation (org_code, name) VALUES ('RX9', 'Outbound Test NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RX901', 'RX9', 'Outbound General');

-- Day 1: the PAS sends four waiting pathways.
SELECT ptl.open_batch('RX9', 'PAS', 'RX901', 'day 1') AS day1 \gset
COPY ptl_stage.patient (local_patient_id, nhs_number, given_name, family_name, date_of_birth, sex)
    FROM stdin WITH (FORMAT csv);
H1,,Ann,Able,1950-01-01,2
H2,,Ben,Baker,1951-01-01,1
H3,,Cy,Cole,1952-01-01,1
H4,,Di,Dunn,1953-01-01,2
H5,,Ed,Ede,1954-01-01,1
\.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_priority, referral_received)
    FROM stdin WITH (FORMAT csv);
H1,OB-A,RX9,110,1,2024-06-03
H2,OB-B,RX9,110,1,2024-06-10
H3,OB-C,RX9,110,1,2024-06-17
H4,OB-D,RX9,110,1,2024-06-24
H5,OB-E,RX9,110,1,2024-07-01
\.
COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
    FROM stdin WITH (FORMAT csv);
RX9,OB-A,R1,2024-06-03,referral,
RX9,OB-A,E1,2024-07-01,outpatient,10
RX9,OB-A,E2,2024-08-05,decision_to_admit,20
RX9,OB-B,R1,2024-06-10,referral,
RX9,OB-B,E1,2024-07-08,outpatient,10
RX9,OB-C,R1,2024-06-17,referral,
RX9,OB-C,E1,2024-07-15,outpatient,10
RX9,OB-D,R1,2024-06-24,referral,
RX9,OB-D,E1,2024-07-22,outpatient,10
RX9,OB-E,R1,2024-07-01,referral,
RX9,OB-E,E1,2024-07-29,outpatient,10
\.
COPY ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, decision_to_admit)
    FROM stdin WITH (FORMAT csv);
RX9,OB-A,WL-A,2,2024-08-05
\.
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:day1) ORDER BY extract;
CALL ptl.refresh('2025-03-31');
SELECT ppid, days_waited, waiting_list_entry_id IS NOT NULL AS listed, provisional_action
FROM ptl.ptl WHERE provider_org = 'RX9' ORDER BY ppid;

-- The campaign: OB-A, OB-C and OB-E no longer need treatment, OB-B was treated
-- elsewhere, OB-D still waits.
SELECT ptl.start_validation_campaign('RX9 over 12 weeks', provider_org => 'RX9') AS campaign \gset
INSERT INTO ptl.validation_contact (campaign_id, pathway_id, contacted_on, method, answer)
SELECT :campaign, p.pathway_id, date '2025-03-20', 'phone', v.answer
FROM (VALUES ('OB-A', 'no_longer_required'), ('OB-B', 'treated_elsewhere'), ('OB-C', 'no_longer_required'),
             ('OB-D', 'still_wants_treatment'), ('OB-E', 'no_longer_required')) v (ppid, answer)
JOIN ptl.pathway p ON p.provider_org = 'RX9' AND p.ppid = v.ppid;
SELECT p.ppid, ptl.apply_validation_contact(k.contact_id) AS applied
FROM ptl.validation_contact k JOIN ptl.pathway p USING (pathway_id)
WHERE k.campaign_id = :campaign ORDER BY p.ppid;

-- OUT1: one action per clock stop, for the provider's PAS, proposed.
-- (Numbers that depend on what ran before are shown as #.)
SELECT action_kind, state, ppid, entry_ref, event_kind, rtt_status, action_date, removal_reason,
       regexp_replace(source, '[0-9]+', '#') AS source, regexp_replace(detail, '[0-9]+', '#', 'g') AS detail
FROM ptl.outbound_actions('RX9') ORDER BY ppid;
-- OUT2: ptl's events are marked ptl-originated and provisional.
SELECT p.ppid, regexp_replace(e.event_ref, '-[0-9]+', '-#') AS event_ref, e.kind, e.rtt_status, e.origin, e.provisional
FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
WHERE p.provider_org = 'RX9' AND e.origin = 'ptl' ORDER BY p.ppid;
-- The PTL counts the provisional stops: only OB-D waits.
CALL ptl.refresh('2025-03-31');
SELECT ppid, provisional_action FROM ptl.ptl WHERE provider_org = 'RX9' ORDER BY ppid;

-- The file for the PAS team (the hospital number shows: this session may
-- see identifiers), then marked sent.
SELECT regexp_replace(line, '^[0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z|validation_contact [0-9]+|campaign [0-9]+, contact [0-9]+',
                      '#', 'g') AS line
FROM ptl.outbound_actions_csv('RX9') AS line;
SELECT ptl.mark_outbound_sent('RX9') AS sent;
SELECT ptl.mark_outbound_sent('NOPE') AS sent;

-- Day 2: the PAS recorded OB-A's stop a day later (OUT3 allows
-- outbound_match_days, 28, either side) and removed its entry; for OB-B it
-- recorded an attendance after the date with the clock running (OUT5); OB-E
-- it treated (30: a different outcome, OUT4); of OB-C it says nothing.
SELECT ptl.open_batch('RX9', 'PAS', 'RX901', 'day 2') AS day2 \gset
COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
    FROM stdin WITH (FORMAT csv);
RX9,OB-A,E3,2025-03-21,decision,34
RX9,OB-B,E2,2025-04-07,outpatient,20
RX9,OB-E,E2,2025-03-25,admission,30
\.
COPY ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, decision_to_admit,
                                   removed_date, removal_reason)
    FROM stdin WITH (FORMAT csv);
RX9,OB-A,WL-A,2,2024-08-05,2025-03-21,no_longer_required
\.
SELECT extract, rows_read, rows_loaded, rows_updated FROM ptl.load(:day2) ORDER BY extract;
CALL ptl.refresh('2025-04-30');
SELECT ppid, state, resolution_rule, resolution FROM ptl.outbound_actions('RX9') ORDER BY ppid;
-- OUT8: the provisional events gave way (OB-A keeps the PAS's own stop,
-- OB-B has no stop); the contact keeps its answer, its event is gone.
SELECT p.ppid, regexp_replace(e.event_ref, '-[0-9]+', '-#') AS event_ref, e.kind, e.rtt_status, e.origin
FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
WHERE p.provider_org = 'RX9' AND e.event_date >= '2025-03-01' ORDER BY p.ppid, e.event_date;
SELECT p.ppid, k.answer, k.event_id IS NOT NULL AS has_event FROM ptl.validation_contact k JOIN ptl.pathway p USING (pathway_id)
WHERE k.campaign_id = :campaign AND k.answer <> 'still_wants_treatment' ORDER BY p.ppid;
-- OB-B is back on the list; the trust sees why.
SELECT ppid, days_waited, provisional_action FROM ptl.ptl WHERE provider_org = 'RX9' ORDER BY ppid;
SELECT action_kind, ppid, proposed_date, resolution_rule, resolution FROM ptl.outbound_contradiction
WHERE provider_org = 'RX9';

-- REC: day 2's declared counts.  The PAS has three open pathways in 110
-- (OB-B, OB-C, OB-D); the PTL two; OB-C's provisional stop explains the
-- difference (REC5), nothing is unexplained.
SELECT ptl.declare_source_counts(:day2, '{"110": 3}') AS declared;
SELECT treatment_function, source_open, ptl_open, difference, quarantined, duplicate, outside_rtt,
       transferred, provisional, unexplained
FROM ptl.reconcile(:day2);
-- Bad declarations are refused, naming the value.
SELECT ptl.declare_source_counts(:day2, '{"11O": 3}');
SELECT ptl.declare_source_counts(:day2, '{"110": -1}');
SELECT ptl.declare_source_counts(:day2, '[3]');
\set VERBOSITY sqlstate
SELECT * FROM ptl.reconcile(:day1);
\set VERBOSITY default

-- OUT6: as if the file had gone 40 days ago, the next extract (day 3) still
-- does not record OB-C's stop: contradicted, and OB-C is back on the list.
UPDATE ptl.outbound_action SET sent_at = sent_at - interval '40 days' WHERE provider_org = 'RX9' AND state = 'sent';
SELECT ptl.open_batch('RX9', 'PAS', 'RX901', 'day 3') AS day3 \gset
COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
    FROM stdin WITH (FORMAT csv);
RX9,OB-D,E2,2025-04-14,outpatient,20
\.
SELECT count(*) AS extracts FROM ptl.load(:day3);
CALL ptl.refresh('2025-04-30');
SELECT ppid, state, resolution_rule, resolution FROM ptl.outbound_actions('RX9') ORDER BY ppid;
SELECT ppid, provisional_action FROM ptl.ptl WHERE provider_org = 'RX9' ORDER BY ppid;
SELECT treatment_function, source_open, ptl_open, provisional, unexplained
FROM ptl.reconcile(:day2);

-- The refresh logs the step.
SELECT s ->> 'step' AS step, (s ->> 'rows')::int AS resolved
FROM ptl.refresh_run r, jsonb_array_elements(r.steps) s
WHERE r.run_id = (SELECT max(run_id) FROM ptl.refresh_run) AND s ->> 'step' = 'reconcile_outbound';

SELECT count(*) AS violations FROM ptl.access_policy_violations();
ROLLBACK;
