#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/risk.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1
export PGDATABASE=ptl_bench
createdb ptl_bench
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
echo "generating $n waiting-list entries with risk inputs (seed 42)"
psql -c "CREATE UNLOGGED TABLE bench_entry AS
         SELECT r.*, t.target_days FROM ptl_synth.risk_inputs($n, seed => 42) r
         LEFT JOIN ptl.priority_target t ON t.priority OPERATOR(ptl.=) r.priority" \
     -c "VACUUM ANALYZE bench_entry" -c CHECKPOINT

# Both paths: ARISCAT and its class, SORT, SORT-CJ, POSSUM's two scores,
# P-POSSUM, frailty, and the place on each specialty's list (P1a/P1b first,
# then P2-P4 by share of target waited, date listed, clock start; P5/P6
# set aside).
c_sql="SET client_min_messages = warning;
DROP TABLE IF EXISTS c_out;
CREATE UNLOGGED TABLE c_out AS
SELECT s.*,
       CASE WHEN s.grp < 9 THEN row_number() OVER (PARTITION BY s.specialty
           ORDER BY s.grp, s.elapsed DESC NULLS LAST, s.listed, s.clock_start, s.entry_id) END AS position
FROM (SELECT e.entry_id, e.specialty, e.listed, e.clock_start, a.ariscat, ptl.ariscat_class(a.ariscat) AS ariscat_class,
             so.sort_pct, ptl.sort_cj_mortality_pct(so.sort_pct, e.clinician_band) AS sort_cj_pct,
             p.ps, p.os, ptl.p_possum_mortality_pct(p.ps, p.os) AS p_possum_pct,
             ptl.cfs_frail(e.cfs_level) AS frail,
             CASE WHEN e.priority::text IN ('P5', 'P6') THEN 9 WHEN e.priority::text IN ('P1a', 'P1b') THEN 1
                  ELSE 2 END AS grp,
             CASE WHEN e.target_days IS NOT NULL
                  THEN ptl.target_elapsed('2025-03-31'::date - e.listed, e.target_days) END AS elapsed
      FROM bench_entry e
      CROSS JOIN LATERAL (SELECT ptl.ariscat_score(e.age_years, e.spo2_pct, e.respiratory_infection, e.hb_g_dl,
                                                   e.incision, e.surgery_hours, e.emergency) AS ariscat) a
      CROSS JOIN LATERAL (SELECT ptl.sort_mortality_pct(e.asa_grade, e.urgency,
                                                        ptl.sort_high_risk_specialty(e.specialty), e.severity,
                                                        e.cancer, e.age_years) AS sort_pct) so
      CROSS JOIN LATERAL (SELECT ptl.possum_physiological_score(e.age_years, e.cardiac, e.respiratory,
                                                                e.systolic_bp_mmhg, e.pulse_per_min,
                                                                e.glasgow_coma_scale, e.hb_g_dl, e.wcc_10e9_per_l,
                                                                e.urea_mmol_l, e.sodium_mmol_l, e.potassium_mmol_l,
                                                                e.ecg) AS ps,
                                 ptl.possum_operative_score(e.operative_severity, e.procedure_count,
                                                            e.blood_loss_ml, e.peritoneal_soiling, e.malignancy,
                                                            e.mode_of_surgery) AS os) p) s;"
sql_sql="SET client_min_messages = warning;
DROP TABLE IF EXISTS sql_out;
CREATE UNLOGGED TABLE sql_out AS
SELECT s.entry_id, s.specialty, s.listed, s.clock_start, s.ariscat, s.ariscat_class, s.sort_pct, s.sort_cj_pct,
       s.ps, s.os, s.p_possum_pct, s.frail, s.grp,
       CASE WHEN s.grp < 9 THEN row_number() OVER (PARTITION BY s.specialty
           ORDER BY s.grp, s.elapsed DESC NULLS LAST, s.listed, s.clock_start, s.entry_id) END AS position
FROM (SELECT e.entry_id, e.specialty, e.listed, e.clock_start, a.ariscat,
             CASE WHEN a.ariscat >= 45 THEN 'high' WHEN a.ariscat >= 26 THEN 'intermediate' ELSE 'low' END
                 AS ariscat_class,
             so.sort_pct,
             CASE WHEN e.clinician_band <> 'unknown' THEN 100 / (1 + exp(-(-6.629::float8 + 0.04044 * so.sort_pct
                 + CASE e.clinician_band WHEN '1-2.5%' THEN 1.679::float8 WHEN '2.6-5%' THEN 2.583
                                         WHEN '5.1-10%' THEN 3.295 WHEN '10.1-50%' THEN 4.356
                                         WHEN '>50%' THEN 5.234 ELSE 0 END))) END AS sort_cj_pct,
             p.ps, p.os, ptl_synth.p_possum_mortality_pct_sql(p.ps, p.os) AS p_possum_pct,
             e.cfs_level >= 5 AS frail,
             CASE WHEN e.priority::text IN ('P5', 'P6') THEN 9 WHEN e.priority::text IN ('P1a', 'P1b') THEN 1
                  ELSE 2 END AS grp,
             ('2025-03-31'::date - e.listed)::numeric / e.target_days AS elapsed
      FROM bench_entry e
      CROSS JOIN LATERAL (SELECT ptl_synth.ariscat_score_sql(e.age_years, e.spo2_pct, e.respiratory_infection,
                                                             e.hb_g_dl, e.incision, e.surgery_hours,
                                                             e.emergency) AS ariscat) a
      CROSS JOIN LATERAL (SELECT ptl_synth.sort_mortality_pct_sql(e.asa_grade, e.urgency, e.specialty, e.severity,
                                                                  e.cancer, e.age_years) AS sort_pct) so
      CROSS JOIN LATERAL (SELECT ptl_synth.possum_ps_sql(e.age_years, e.cardiac, e.respiratory, e.systolic_bp_mmhg,
                                                         e.pulse_per_min, e.glasgow_coma_scale, e.hb_g_dl,
                                                         e.wcc_10e9_per_l, e.urea_mmol_l, e.sodium_mmol_l,
                                                         e.potassium_mmol_l, e.ecg) AS ps,
                                 ptl_synth.possum_os_sql(e.operative_severity, e.procedure_count, e.blood_loss_ml,
                                                         e.peritoneal_soiling, e.malignancy,
                                                         e.mode_of_surgery) AS os) p) s;"
# Two runs each, alternating; the second is reported (warm cache).
for i in 1 2; do
    t0=$(now_ms); psql <<<"$c_sql"; c_ms=$(( $(now_ms) - t0 ))
    t0=$(now_ms); psql <<<"$sql_sql"; sql_ms=$(( $(now_ms) - t0 ))
    echo "run $i: ptl $c_ms ms, plain SQL $sql_ms ms"
done
# The scores alone, summed (no sort, nothing written): what the C saves.
c_only="SELECT sum(ptl.ariscat_score(age_years, spo2_pct, respiratory_infection, hb_g_dl, incision, surgery_hours, emergency)
           + ptl.sort_mortality_pct(asa_grade, urgency, ptl.sort_high_risk_specialty(specialty), severity, cancer, age_years)
           + ptl.possum_physiological_score(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                            glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l, sodium_mmol_l,
                                            potassium_mmol_l, ecg)
           + ptl.possum_operative_score(operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling,
                                        malignancy, mode_of_surgery)) FROM bench_entry"
sql_only="SELECT sum(ptl_synth.ariscat_score_sql(age_years, spo2_pct, respiratory_infection, hb_g_dl, incision, surgery_hours, emergency)
           + ptl_synth.sort_mortality_pct_sql(asa_grade, urgency, specialty, severity, cancer, age_years)
           + ptl_synth.possum_ps_sql(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                     glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l, sodium_mmol_l,
                                     potassium_mmol_l, ecg)
           + ptl_synth.possum_os_sql(operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling,
                                     malignancy, mode_of_surgery)) FROM bench_entry"
for i in 1 2; do
    t0=$(now_ms); c_sum=$(psql -At <<<"$c_only"); c_only_ms=$(( $(now_ms) - t0 ))
    t0=$(now_ms); sql_sum=$(psql -At <<<"$sql_only"); sql_only_ms=$(( $(now_ms) - t0 ))
done

differ=$(psql -At -c "SELECT count(*) FROM c_out c JOIN sql_out s USING (entry_id)
                      WHERE c.ariscat <> s.ariscat OR c.ariscat_class <> s.ariscat_class
                         OR abs(c.sort_pct - s.sort_pct) > 1e-9
                         OR c.sort_cj_pct IS DISTINCT FROM s.sort_cj_pct AND abs(c.sort_cj_pct - s.sort_cj_pct) > 1e-9
                         OR c.ps <> s.ps OR c.os <> s.os OR abs(c.p_possum_pct - s.p_possum_pct) > 1e-9
                         OR c.frail <> s.frail OR c.position IS DISTINCT FROM s.position")
rows=$(psql -At -c "SELECT count(*) FROM c_out")

echo
printf 'scale: %s waiting-list entries, 8 specialty lists, 7 scores each (seed 42)\n' "$rows"
printf '%-46s %9s ms  %10s entries/s\n' "ptl: C scores, ptl.target_elapsed order" "$c_ms" "$(( rows * 1000 / c_ms ))"
printf '%-46s %9s ms  %10s entries/s\n' "plain SQL: CASE scores, numeric fractions" "$sql_ms" "$(( rows * 1000 / sql_ms ))"
awk -v a="$sql_ms" -v b="$c_ms" 'BEGIN { printf "ratio plain SQL/ptl time: %.2f\n", a / b }'
printf '%-46s %9s ms\n' "scores alone, ptl (C)" "$c_only_ms"
printf '%-46s %9s ms\n' "scores alone, plain SQL" "$sql_only_ms"
awk -v a="$sql_only_ms" -v b="$c_only_ms" 'BEGIN { printf "ratio plain SQL/ptl time, scores alone: %.2f\n", a / b }'
awk -v a="$c_sum" -v b="$sql_sum" 'BEGIN { if (a - b > 1e-3 || b - a > 1e-3) { print "score sums differ: " a " " b; exit 1 } }'
echo "entries that differ between the two: $differ"
[ "$differ" -eq 0 ] || { echo "the plain SQL baseline and ptl disagree" >&2; exit 1; }
