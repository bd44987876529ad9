-- Across the ICS (scripts/demo): how waits differ between providers, which
-- long waiters could move to a provider with capacity, who may ask to move,
-- whether any group is left behind, and where each list is heading.
\pset footer off

\echo
\echo '==> waits by provider, the four largest specialties (census snapshot; p92 nearest rank)'
WITH big AS (SELECT treatment_function FROM ptl.provider_waits
             WHERE census_date = (SELECT max(census_date) FROM ptl.census_snapshot)
             GROUP BY 1 ORDER BY sum(list_size) DESC LIMIT 4)
SELECT w.treatment_function AS tfc, w.provider_org AS provider, w.list_size AS waiting,
       round(w.median_weeks::numeric, 1) AS "median wk", round(w.p92_weeks::numeric, 1) AS "p92 wk",
       w.pct_over_18_weeks AS "% > 18 wk", w.over_52_weeks AS "> 52 wk",
       round(w.excess_patient_weeks) AS "patient-wk > 18"
FROM ptl.provider_waits w JOIN big USING (treatment_function)
WHERE w.census_date = (SELECT max(census_date) FROM ptl.census_snapshot)
ORDER BY 1, 2;
\echo '==> variation between providers (docs/ics.md)'
WITH big AS (SELECT treatment_function FROM ptl.provider_waits
             WHERE census_date = (SELECT max(census_date) FROM ptl.census_snapshot)
             GROUP BY 1 ORDER BY sum(list_size) DESC LIMIT 4)
SELECT v.treatment_function AS tfc, v.providers, v.list_size AS waiting,
       round(v.range_median::numeric, 1) AS "median range wk", round(v.ratio_median::numeric, 2) AS "median ratio",
       round(v.cv_median::numeric, 3) AS "median CV", round(v.gap_p92::numeric, 1) AS "p92 gap wk",
       round(v.between_share::numeric, 3) AS "between share", round(v.gini_mean::numeric, 3) AS "Gini of means"
FROM ptl.wait_variation((SELECT max(census_date) FROM ptl.census_snapshot)) v JOIN big USING (treatment_function)
ORDER BY 1;

\echo '==> weekly monitoring: four earlier weeks rebuilt from the events (ptl.backfill_census_snapshots), largest specialty'
SELECT ptl.backfill_census_snapshots(DATE '2025-03-31' - 28, DATE '2025-03-31' - 7) AS "snapshot rows rebuilt";
SELECT m.week_ending, m.provider_org AS provider, m.list_size AS waiting, round(m.median_weeks::numeric, 1) AS "median wk",
       m.over_18_weeks AS "> 18 wk", m.over_52_weeks AS "> 52 wk", m.list_size_change AS "Δ waiting",
       round(m.median_weeks_change::numeric, 1) AS "Δ median wk", m.over_52_weeks_change AS "Δ > 52 wk"
FROM ptl.wait_monitoring m
WHERE m.treatment_function = (SELECT treatment_function FROM ptl.census_snapshot
                              WHERE census_date = DATE '2025-03-31' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
ORDER BY m.provider_org, m.week_ending;

\echo
\echo '==> mutual aid: coordinates, patients'' wishes, offers (ptl_synth.mutual_aid, seed 42)'
SELECT * FROM ptl_synth.mutual_aid(42);
\echo '==> CALL ptl.daily_refresh: each trust''s transfer preferences and offers, staged extracts, through the front door'
CALL ptl.daily_refresh('2025-03-31');
CREATE TEMP TABLE suggestion AS
SELECT m.* FROM unnest(ARRAY['greedy', 'optimal']) mode, ptl.mutual_aid_suggestions(mode) m;
\echo '==> top mutual aid suggestions (greedy: longest wait first, earliest slot)'
SELECT pathway_id AS pathway, origin, destination AS "to", site_code AS site, slot_date AS "slot",
       round(distance_miles::numeric, 1) AS miles, wait_days / 7 AS "waited wk", days_saved AS "days saved"
FROM suggestion WHERE plan_mode = 'greedy' AND reason = 'SUGGESTED'
ORDER BY wait_days DESC, pathway_id LIMIT 10;
\echo '==> greedy against optimal: patients moved, wait-days served, days saved'
SELECT plan_mode AS mode, count(*) FILTER (WHERE reason = 'SUGGESTED') AS moved,
       sum(wait_days) FILTER (WHERE reason = 'SUGGESTED') AS "wait-days served",
       sum(days_saved) FILTER (WHERE reason = 'SUGGESTED') AS "days saved"
FROM suggestion GROUP BY 1 ORDER BY 1;
\echo '==> why the others were not suggested (greedy)'
SELECT reason, count(*) AS patients FROM suggestion WHERE plan_mode = 'greedy' AND reason <> 'SUGGESTED'
GROUP BY 1 ORDER BY 2 DESC;

\echo
\echo '==> patients eligible to ask for a transfer (PIDMAS), by cohort'
SELECT cohort, count(*) FILTER (WHERE ineligible_reason IS NULL) AS eligible,
       count(*) FILTER (WHERE ineligible_reason IS NULL AND admitted) AS admitted,
       count(*) FILTER (WHERE ineligible_reason IS NULL AND NOT admitted) AS "awaiting first appt"
FROM ptl.pidmas_eligibility GROUP BY 1 ORDER BY 1;
\echo '==> what the longest waiter would compare within 50 miles'
SELECT provider_org AS provider, site_code AS site, round(distance_miles::numeric, 1) AS miles, list_size AS waiting,
       round(median_weeks::numeric, 1) AS "median wk", round(p92_weeks::numeric, 1) AS "p92 wk", current_provider
FROM ptl.provider_waits_for((SELECT pathway_id FROM ptl.ptl ORDER BY days_waited DESC NULLS LAST, pathway_id LIMIT 1), 50);

\echo
\echo '==> did-not-attend rate by deprivation decile (1 = most deprived), last 12 months, ICS; counts under 5 suppressed'
SELECT group_value AS decile, appointments, dnas AS "DNAs", dna_rate AS "DNA %", suppressed
FROM ptl.dna_rates(DATE '2025-03-31' - 364, '2025-03-31')
WHERE dimension = 'imd_decile' AND provider_org IS NULL;
\echo '==> waits by ethnic group, ICS'
SELECT group_value AS "ethnic group", patients, round(median_weeks::numeric, 1) AS "median wk",
       pct_over_18_weeks AS "% > 18 wk", over_52_weeks AS "> 52 wk", mean_list_percentile AS "mean list %ile", suppressed
FROM ptl.wait_inequality() WHERE dimension = 'ethnic_group' AND provider_org IS NULL;

\echo
\echo '==> a validation campaign: 52 weeks, not validated in 12 (answers simulated for 20 patients)'
SELECT ptl.start_validation_campaign('52-week validation', 52) AS campaign \gset
INSERT INTO ptl.validation_contact (campaign_id, pathway_id, contacted_on, method, answer, unavailable_until)
SELECT :campaign, pathway_id, '2025-03-31', 'letter',
       (ARRAY['still_wants_treatment', 'still_wants_treatment', 'still_wants_treatment', 'no_longer_required',
              'treated_elsewhere', 'unavailable_until', 'no_response'])[1 + (pathway_id % 7)::int],
       CASE WHEN pathway_id % 7 = 5 THEN DATE '2025-06-30' END
FROM ptl.validation_campaign_pathway WHERE campaign_id = :campaign ORDER BY pathway_id LIMIT 20;
SELECT count(*) AS "answers applied" FROM ptl.validation_contact k, ptl.apply_validation_contact(k.contact_id)
WHERE k.campaign_id = :campaign;
SELECT name, cohort, contacted, validated, removed, still_wants_treatment AS "still wants", no_longer_required AS "not needed",
       treated_elsewhere AS "treated elsewhere", unavailable, no_response AS "no response"
FROM ptl.validation_campaign_summary WHERE campaign_id = :campaign;

\echo
\echo '==> the four largest lists as queues (NHSRwaitinglist formulas, per week; target 18 weeks)'
SELECT q.provider_org AS provider, q.treatment_function AS tfc, q.list_size AS waiting,
       round(q.weekly_demand::numeric, 1) AS "demand/wk", round(q.weekly_capacity::numeric, 1) AS "stops/wk",
       round(q.load::numeric, 2) AS load, round(q.target_queue_size::numeric) AS "target size",
       round(q.relief_capacity::numeric, 1) AS "relief/wk", round(q.pressure::numeric, 2) AS pressure,
       round(q.clearance_weeks::numeric, 1) AS "clearance wk"
FROM ptl.waiting_list_queue() q ORDER BY q.list_size DESC LIMIT 4;
\echo '==> forecast of the largest list, 52 weeks: as is, and with 10% more clock stops'
WITH biggest AS (SELECT provider_org, treatment_function FROM ptl.waiting_list_queue() ORDER BY list_size DESC LIMIT 1)
SELECT f.week, f.week_ending, round(f.list_size) AS "as is", round(f.over_18_weeks) AS "> 18 wk",
       round(f.over_52_weeks) AS "> 52 wk", round(g.list_size) AS "+10% stops", round(g.over_52_weeks) AS "> 52 wk, +10%"
FROM biggest b,
     ptl.forecast_waiting_list(provider_org => b.provider_org, treatment_function => b.treatment_function) f
JOIN ptl.forecast_waiting_list(provider_org => b.provider_org, treatment_function => b.treatment_function,
                               capacity_change => 0.1) g USING (week)
WHERE f.week % 13 = 0 ORDER BY f.week;
