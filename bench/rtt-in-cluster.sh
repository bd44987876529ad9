#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/rtt.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1
census=2025-03-31
export PGDATABASE=ptl_bench
createdb ptl_bench
psql() { command psql -qX -v ON_ERROR_STOP=1 -v census="$census" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
echo "generating $n referrals (seed 42, no injected faults)"
t0=$(now_ms)
psql -At -c "SELECT count(*) FROM ptl_synth.generate($n, seed => 42, fault_rates => '{\"invalid_nhs_number\": 0, \"missing_nhs_number\": 0, \"cross_site_duplicate_patient\": 0, \"duplicate_pathway\": 0, \"malformed_date\": 0, \"malformed_code\": 0}')" >/dev/null
echo "generated in $(( $(now_ms) - t0 )) ms"
# The events typed, straight from the staged rows (both paths read this table).
psql -f bench/rtt-setup.sql
read -r pathways events < <(psql -At -F ' ' -c "SELECT count(DISTINCT pathway_id), count(*) FROM bench_event")
psql -c CHECKPOINT

# C: the bulk aggregate, periods materialised.  Two runs, the second reported (warm cache).
# unnest in the select list (ProjectSet) is cheaper than in FROM, which
# builds a tuplestore per pathway.
# As ptl.rtt_compute does, read pathways in index order rather than hash a
# million aggregate states (twice as fast; the planner cannot see it).
c_sql="SET enable_hashagg = off;
DROP TABLE IF EXISTS c_period;
CREATE UNLOGGED TABLE c_period AS
SELECT g.pathway_id, (g.period).*
FROM (SELECT pathway_id,
             unnest(ptl.rtt_periods_agg(event_date, kind, rtt_status, ref_date, event_id,
                                        :'census'::date, two_week_wait)) AS period
      FROM bench_event GROUP BY pathway_id) g;"
sql_run() { psql -f bench/rtt-baseline.sql; }
c_run() { psql <<<"$c_sql"; }
for i in 1 2; do
    t0=$(now_ms); c_run; c_ms=$(( $(now_ms) - t0 ))
    t0=$(now_ms); sql_run; sql_ms=$(( $(now_ms) - t0 ))
    echo "run $i: C $c_ms ms, SQL $sql_ms ms"
done
periods=$(psql -At -c "SELECT count(*) FROM c_period")
differ=$(psql -At -c "SELECT count(*) FROM ((TABLE c_period EXCEPT TABLE sql_period)
                                            UNION ALL (TABLE sql_period EXCEPT TABLE c_period)) d")

echo
printf 'scale: %s referrals = %s pathway records, %s events, %s periods (census %s)\n' "$n" "$pathways" "$events" "$periods" "$census"
printf '%-40s %9s ms  %10s events/s\n' "C: ptl.rtt_periods_agg" "$c_ms" "$(( events * 1000 / c_ms ))"
printf '%-40s %9s ms  %10s events/s\n' "SQL: window functions (rtt-baseline.sql)" "$sql_ms" "$(( events * 1000 / sql_ms ))"
awk -v a="$sql_ms" -v b="$c_ms" 'BEGIN { printf "ratio SQL/C time: %.1f\n", a / b }'
echo "rows that differ between the two: $differ"
[ "$differ" -eq 0 ] || { echo "the SQL baseline and the C engine disagree" >&2; exit 1; }
