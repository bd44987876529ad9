-- Risk scores and the order at scale: the C scores against the same models
-- written in plain SQL on 50,000 seeded inputs, and the PTL order of a
-- generated ICS against an independent ordering in SQL.
BEGIN;
SELECT plan(15);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
CREATE TEMP TABLE inputs AS SELECT * FROM ptl_synth.risk_inputs(50000, seed => 5);

SELECT is((SELECT count(*) FROM inputs
           WHERE ptl.ariscat_score(age_years, spo2_pct, respiratory_infection, hb_g_dl, incision, surgery_hours, emergency)
                 <> ptl_synth.ariscat_score_sql(age_years, spo2_pct, respiratory_infection, hb_g_dl, incision,
                                                surgery_hours, emergency)),
          0::bigint, 'ARISCAT (Canet et al. 2010): C and plain SQL agree on 50,000 inputs');
SELECT is((SELECT count(*) FROM inputs
           WHERE abs(ptl.sort_mortality_pct(asa_grade, urgency, ptl.sort_high_risk_specialty(specialty), severity,
                                            cancer, age_years)
                     - ptl_synth.sort_mortality_pct_sql(asa_grade, urgency, specialty, severity, cancer, age_years))
                 > 1e-9),
          0::bigint, 'SORT (1.3.1): C and plain SQL agree within 1e-9 percentage points');
SELECT is((SELECT count(*) FROM inputs
           WHERE ptl.possum_physiological_score(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                                glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l,
                                                sodium_mmol_l, potassium_mmol_l, ecg)
                 <> ptl_synth.possum_ps_sql(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                            glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l,
                                            sodium_mmol_l, potassium_mmol_l, ecg)
              OR ptl.possum_operative_score(operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling,
                                            malignancy, mode_of_surgery)
                 <> ptl_synth.possum_os_sql(operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling,
                                            malignancy, mode_of_surgery)),
          0::bigint, 'POSSUM physiological and operative scores (1.4.1, 1.4.2): C and plain SQL agree');
SELECT is((SELECT count(*) FROM inputs i,
                LATERAL (SELECT ptl_synth.possum_ps_sql(age_years, cardiac, respiratory, systolic_bp_mmhg,
                                                        pulse_per_min, glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l,
                                                        urea_mmol_l, sodium_mmol_l, potassium_mmol_l, ecg) AS ps,
                                 ptl_synth.possum_os_sql(operative_severity, procedure_count, blood_loss_ml,
                                                         peritoneal_soiling, malignancy, mode_of_surgery) AS os) s
           WHERE abs(ptl.p_possum_mortality_pct(s.ps, s.os) - ptl_synth.p_possum_mortality_pct_sql(s.ps, s.os)) > 1e-9),
          0::bigint, 'P-POSSUM (1.4.3): C and plain SQL agree within 1e-9 percentage points');
SELECT cmp_ok((SELECT count(DISTINCT ptl.ariscat_class(ptl.ariscat_score(age_years, spo2_pct, respiratory_infection,
                                                                        hb_g_dl, incision, surgery_hours, emergency)))
               FROM inputs), '=', 3::bigint, 'the inputs reach all three ARISCAT classes');

-- A generated ICS, refreshed, with assessments for two in three listed patients.
SELECT count(*) FROM ptl_synth.generate(20000, seed => 23) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
-- (the assessments, staged by the generator, through the front door)
SELECT count(*) FROM ptl_synth.assess_waiting_patients(seed => 23) b, ptl.load(b) l;
SELECT cmp_ok((SELECT count(*) FROM ptl.risk_assessment WHERE source_ref IS NOT NULL), '>', 1000::bigint,
              'assessments recorded for listed patients');

-- The order again, independently: numeric fractions instead of
-- ptl.target_elapsed, the groups spelled out, the non-admitted list's
-- referral targets written out (the shipped 14, 28 and 126 days).
CREATE TEMP TABLE reordered AS
SELECT l.pathway_id, l.period_no, l.list_position,
       CASE WHEN l.order_group = 'set_aside' THEN NULL ELSE
           row_number() OVER (PARTITION BY l.provider_org, l.treatment_function, l.waiting_list_entry_id IS NULL
                              ORDER BY CASE l.order_group WHEN 'urgent' THEN 1 WHEN 'by_target' THEN 2
                                                          WHEN 'set_aside' THEN 9 WHEN 'unprioritised' THEN 3
                                                          ELSE l.referral_rank END,
                                       CASE WHEN l.order_group = 'unprioritised' THEN l.clock_start END NULLS LAST,
                                       l.share DESC NULLS LAST,
                                       l.decision_to_admit, l.clock_start NULLS LAST, l.patient_id, l.pathway_id,
                                       l.period_no) END AS expected_position,
       l.order_group, l.clinical_priority, l.referral_rank, l.share, l.provider_org, l.treatment_function
FROM (SELECT p.*,
             CASE coalesce(p.triage_priority, p.referral_priority)
                  WHEN 'two_week_wait' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END AS referral_rank,
             CASE WHEN p.order_group = 'non_admitted'
                  THEN greatest(p.days_waited, 0)::numeric
                       / CASE coalesce(p.triage_priority, p.referral_priority)
                              WHEN 'two_week_wait' THEN 14 WHEN 'urgent' THEN 28 ELSE 126 END
                  ELSE p.days_on_list::numeric / p.target_days END AS share
      FROM ptl.ptl p) l;
SELECT cmp_ok((SELECT count(*) FROM reordered WHERE order_group = 'by_target'), '>', 1000::bigint,
              'the generated ICS has a prioritised admitted list');
SELECT is((SELECT count(*) FROM reordered WHERE list_position IS DISTINCT FROM expected_position), 0::bigint,
          'order (1.7): every position is the one share of target, date listed and clock start give');
SELECT cmp_ok((SELECT count(DISTINCT (p.referral_priority, p.triage_priority)) FROM ptl.ptl p
               WHERE p.order_group = 'non_admitted'), '>=', 5::bigint,
              'the non-admitted list has two-week-wait, urgent and routine referrals, some triaged up or down');
-- No inversion on the non-admitted list: each patient's successor in the
-- list has a lower referral priority, or the same and no larger share of
-- its target waited (adjacent pairs in order, so the whole list is sorted).
SELECT is((SELECT count(*) FROM (
               SELECT r.referral_rank, r.share,
                      lead(r.referral_rank) OVER w AS next_rank, lead(r.share) OVER w AS next_share
               FROM reordered r WHERE r.order_group = 'non_admitted'
               WINDOW w AS (PARTITION BY r.provider_org, r.treatment_function ORDER BY r.list_position)) x
           WHERE x.next_rank < x.referral_rank
              OR (x.next_rank = x.referral_rank AND x.next_share > x.share)
              OR (x.next_rank = x.referral_rank AND x.share IS NULL AND x.next_share IS NOT NULL)),
          0::bigint,
          'non-admitted order: no referral ahead of a more urgent one, nor of one further past its target');
SELECT is((SELECT count(*) FROM ptl.ptl u JOIN ptl.ptl r
             ON r.provider_org = u.provider_org AND r.treatment_function = u.treatment_function
            AND u.order_group = 'non_admitted' AND r.order_group = 'non_admitted'
           WHERE coalesce(u.triage_priority, u.referral_priority) = 'two_week_wait'
             AND coalesce(r.triage_priority, r.referral_priority) <> 'two_week_wait'
             AND r.list_position < u.list_position),
          0::bigint, 'two-week-wait referrals come before every other referral on the same non-admitted list');
SELECT is((SELECT count(*) FROM ptl.ptl p JOIN ptl.pathway pw USING (pathway_id)
           WHERE p.consultant_code IS DISTINCT FROM
                 coalesce((SELECT e.consultant_code FROM ptl.waiting_list_entry e
                           WHERE e.entry_id = p.waiting_list_entry_id), pw.consultant_code)),
          0::bigint, 'consultant on the PTL: the operating consultant of the entry, else the pathway''s');
SELECT is((SELECT count(*) FROM reordered
           WHERE clinical_priority::text IN ('P5', 'P6') AND list_position IS NOT NULL), 0::bigint,
          'P5 and P6 are set aside (no position)');
SELECT is((SELECT count(*) FROM ptl.ptl u JOIN ptl.ptl b
             ON b.provider_org = u.provider_org AND b.treatment_function = u.treatment_function
            AND u.waiting_list_entry_id IS NOT NULL AND b.waiting_list_entry_id IS NOT NULL
           WHERE u.order_group = 'urgent' AND b.order_group = 'by_target' AND b.list_position < u.list_position),
          0::bigint, 'P1a and P1b come before every P2-P4 on the same list');

-- The prehabilitation cohort is exactly the listed patients whose latest
-- assessment scores ARISCAT 26 or more.
SELECT is((SELECT count(*) FROM ptl.cohort_prehabilitation),
          (SELECT count(*) FROM ptl.ptl_risk WHERE ariscat_score >= 26),
          'prehabilitation cohort = PTL rows with ARISCAT >= 26 on the latest assessment');

SELECT * FROM finish();
ROLLBACK;
