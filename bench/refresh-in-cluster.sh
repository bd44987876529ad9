#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/refresh.sh.  Also runs against
# any cluster on this machine that the PG* variables name, as a superuser:
#   bash bench/refresh-in-cluster.sh 50000
# (the server must be local: peak memory is read from /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1
census=2025-03-31
day=2025-04-01
export PGDATABASE=${PGDATABASE_BENCH:-ptl_refresh_bench}
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

dropdb --if-exists "$PGDATABASE"
createdb "$PGDATABASE"
psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
echo "generating $n referrals (seed 42)"
t0=$(now_ms)
psql -At -c "SELECT count(*) FROM ptl_synth.generate($n, seed => 42)" >/dev/null
echo "generated in $(( $(now_ms) - t0 )) ms"
psql -At -c "SELECT count(ptl.close_batch(batch_id)) FROM ptl.batch WHERE status = 'open'" >/dev/null
psql -c CHECKPOINT

# One daily refresh in a session of its own: its wall time, and the peak
# resident memory of its server process (VmHWM in /proc/<pid>/status, read
# before the session ends; it counts the shared buffers the process touched
# as well as its own memory).
run_daily() {   # census full -> "<ms> <peak kB>"
    local out
    out=$(psql -At <<SQL
\o /dev/null
CALL ptl.daily_refresh('$1', "full" => $2);
\o
SELECT substring(pg_read_file(format('/proc/%s/status', pg_backend_pid())) FROM 'VmHWM:\s*([0-9]+) kB');
SQL
)
    echo "$out" | tail -1
}
report() {   # label ms peak
    psql -At -F ' | ' -c "SELECT run_id, full_refresh, pathways_computed, validation_issues, snapshot_rows, rows_loaded, step_times
                          FROM ptl.refresh_status WHERE status = 'succeeded' ORDER BY run_id DESC LIMIT 1" \
        | awk -v l="$1" -F ' \\| ' '{ printf "%s: run %s, full %s, %s pathways recomputed, %s validation issues, %s snapshot rows, %s rows loaded\n  steps: %s\n", l, $1, $2, $3, $4, $5, $6, $7 }'
    printf '  total %s ms, peak memory of the server process %s MB\n' "$2" "$(( $3 / 1024 ))"
}
refresh_ms() {   # the latest run's steps after the load: the refresh itself
    psql -At -c "SELECT sum((s ->> 'ms')::bigint) FROM (SELECT steps FROM ptl.refresh_run ORDER BY run_id DESC LIMIT 1) r,
                        jsonb_array_elements(r.steps) s WHERE s ->> 'step' NOT IN ('lock', 'load')"
}

echo "first daily refresh at $census: load and compute everything"
t0=$(now_ms); read -r peak0 < <(run_daily "$census" false); first_ms=$(( $(now_ms) - t0 ))
first_refresh=$(refresh_ms)
report "first daily refresh (load $n referrals, full)" "$first_ms" "$peak0"

echo "staging a typical day ($day): 0.5% of the pathway records change, a day's new referrals"
psql -At -c "SELECT count(*) FROM ptl_synth.next_day('$day', 0.005, seed => 42)" >/dev/null
staged=$(psql -At -c "SELECT (SELECT count(*) FROM ptl_stage.patient) || ' patients, '
                             || (SELECT count(*) FROM ptl_stage.pathway) || ' pathways, '
                             || (SELECT count(*) FROM ptl_stage.pathway_event) || ' events, '
                             || (SELECT count(*) FROM ptl_stage.waiting_list_entry) || ' waiting-list entries'")
changed=$(psql -At -c "SELECT count(DISTINCT (ppid_issuer, ppid)) FROM ptl_stage.pathway_event")
psql -At -c "SELECT count(ptl.close_batch(batch_id)) FROM ptl.batch WHERE status = 'open'" >/dev/null
psql -c CHECKPOINT
t0=$(now_ms); read -r peak1 < <(run_daily "$day" false); day_ms=$(( $(now_ms) - t0 ))
day_refresh=$(refresh_ms)
day_issues=$(psql -At -c "SELECT md5(string_agg(format('%s %s %s %s %s', pathway_id, rule_id, event_id, detail, census), ',' ORDER BY pathway_id, rule_id, event_id, detail))
                          FROM ptl.validation_issue")
report "typical day (staged: $staged; $changed pathway records touched)" "$day_ms" "$peak1"

psql -c CHECKPOINT
echo "baseline: a full refresh of the same data at $day"
t0=$(now_ms); read -r peak2 < <(run_daily "$day" true); full_ms=$(( $(now_ms) - t0 ))
full_refresh=$(refresh_ms)
full_issues=$(psql -At -c "SELECT md5(string_agg(format('%s %s %s %s %s', pathway_id, rule_id, event_id, detail, census), ',' ORDER BY pathway_id, rule_id, event_id, detail))
                           FROM ptl.validation_issue")
report "full refresh of the same data (baseline)" "$full_ms" "$peak2"

pathways=$(psql -At -c "SELECT count(*) FROM ptl.pathway")
echo
echo "step times (ms) of the three runs"
psql -c "SELECT s ->> 'step' AS step,
                max((s ->> 'ms')::bigint) FILTER (WHERE r.k = 1) AS first_daily_refresh,
                max((s ->> 'ms')::bigint) FILTER (WHERE r.k = 2) AS typical_day,
                max((s ->> 'ms')::bigint) FILTER (WHERE r.k = 3) AS full_same_data
         FROM (SELECT x.steps, row_number() OVER (ORDER BY x.run_id) AS k
               FROM (SELECT * FROM ptl.refresh_run ORDER BY run_id DESC LIMIT 3) x) r,
              jsonb_array_elements(r.steps) WITH ORDINALITY e(s, o)
         GROUP BY 1 ORDER BY min(o) FILTER (WHERE r.k = 1), min(o)"
no_relink=$(psql -At -c "SELECT sum((s ->> 'ms')::bigint) FROM (SELECT steps FROM ptl.refresh_run ORDER BY run_id DESC OFFSET 1 LIMIT 1) r,
                                jsonb_array_elements(r.steps) s WHERE s ->> 'step' <> 'link_persons'")
echo
printf 'scale: %s referrals, %s pathway records\n' "$n" "$pathways"
printf '%-52s %10s %12s %9s\n' "run" "total ms" "refresh ms" "peak MB"
printf '%-52s %10s %12s %9s\n' "first daily refresh (load + full)" "$first_ms" "$first_refresh" "$(( peak0 / 1024 ))"
printf '%-52s %10s %12s %9s\n' "typical day (0.5% changed + a day's referrals)" "$day_ms" "$day_refresh" "$(( peak1 / 1024 ))"
printf '%-52s %10s %12s %9s\n' "full refresh, same data (baseline)" "$full_ms" "$full_refresh" "$(( peak2 / 1024 ))"
awk -v a="$day_ms" -v b="$full_ms" 'BEGIN { printf "ratio typical day / full refresh: %.3f\n", a / b }'
printf '%-52s %10s\n' "typical day without link_persons (steps)" "$no_relink"
awk -v a="$no_relink" -v b="$full_ms" 'BEGIN { printf "ratio typical day without relinking persons / full refresh: %.3f\n", a / b }'
echo "validation issues of the typical day equal the full refresh's: $([ "$day_issues" = "$full_issues" ] && echo yes || echo NO)"
