#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/theatre.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mip_seconds=$1
export PGDATABASE=ptl_bench
createdb ptl_bench
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
psql -c "CREATE TABLE bench_instance (sessions int, cases int, seed int, slots ptl.theatre_slot[], cases_ ptl.theatre_case[])" \
     -c "CREATE TABLE bench_result (sessions int, cases int, seed int, solver text, status text, seconds float8,
                                    booked_minutes bigint, patients_booked bigint, breaches bigint, inversions bigint)"

# ptl: solve, time the call alone (the instance is already in memory as
# arrays), check the allocation with the plain-SQL checker.
run_ptl() {
    psql -c "DO \$\$
    DECLARE i record; t0 timestamptz; t1 timestamptz; c bigint[]; s bigint[];
    BEGIN
        SELECT * INTO i FROM bench_instance WHERE sessions = $1 AND cases = $2 AND seed = $3;
        t0 := clock_timestamp();
        SELECT array_agg(r.case_id), array_agg(r.session_id) INTO c, s FROM ptl.allocate_theatre(i.slots, i.cases_) r;
        t1 := clock_timestamp();
        INSERT INTO bench_result
        SELECT $1, $2, $3, 'ptl', 'heuristic', extract(epoch FROM t1 - t0), k.booked_minutes, k.patients_booked,
               k.ineligible + k.overfull_sessions + k.double_booked, k.inversions
        FROM ptl_synth.theatre_check(i.slots, i.cases_, 15, coalesce(c, '{}'), coalesce(s, '{}')) k;
    END \$\$"
}

# CBC on the MIP with the rule; its solution is checked by the same checker.
run_mip() {
    local lp=$work/i.lp sol=$work/i.sol t0 t1 status
    psql -At -c "SELECT ptl_synth.theatre_lp(slots, cases_, 15, true) FROM bench_instance
                 WHERE sessions = $1 AND cases = $2 AND seed = $3" > "$lp"
    rm -f "$sol"
    t0=$(date +%s%N)
    # CBC 2.10.8 sometimes stops on an internal assertion (ClpNonLinearCost)
    # with scaling on; the same model then solves with scaling off.
    if ! cbc "$lp" sec "$mip_seconds" solve solu "$sol" > "$work/cbc.log" 2>&1 || [ ! -s "$sol" ]; then
        rm -f "$sol"
        cbc "$lp" scaling off sec "$mip_seconds" solve solu "$sol" > "$work/cbc.log" 2>&1 || true
    fi
    t1=$(date +%s%N)
    status=$( { head -1 "$sol" 2>/dev/null || true; } | sed 's/ - objective.*//; s/ *$//')
    awk '$2 ~ /^x/ && $3 > 0.5 { split(substr($2, 2), a, "_"); print a[1] "\t" a[2] }' "$sol" 2>/dev/null > "$work/pairs" || true
    psql -c "CREATE TEMP TABLE mip_pairs (case_id bigint, session_id bigint)" \
         -c "\\copy mip_pairs FROM '$work/pairs'" \
         -c "INSERT INTO bench_result
             SELECT $1, $2, $3, 'mip', '${status:-no solution}', $(( (t1 - t0) / 1000000 )) / 1000.0,
                    k.booked_minutes, k.patients_booked, k.ineligible + k.overfull_sessions + k.double_booked, k.inversions
             FROM bench_instance i,
                  LATERAL (SELECT coalesce(array_agg(case_id), '{}') AS c, coalesce(array_agg(session_id), '{}') AS s
                           FROM mip_pairs) p,
                  LATERAL ptl_synth.theatre_check(i.slots, i.cases_, 15, p.c, p.s) k
             WHERE i.sessions = $1 AND i.cases = $2 AND i.seed = $3"
}

echo "instances: sessions over six weeks at six sites, cases from the synthetic ICS's procedures;"
echo "MIP = same constraints incl. no inversion, CBC $(cbc -quit 2>/dev/null | sed -n 's/^Version: //p'), ${mip_seconds} s limit each"
for size in ${THEATRE_BENCH_SIZES:-30x300 60x600 100x1000}; do
    set -- ${size/x/ }
    for seed in 1 2 3 4 5; do
        psql -c "INSERT INTO bench_instance SELECT $1, $2, $seed, * FROM ptl_synth.theatre_instance($1, $2, $seed)"
        run_ptl "$1" "$2" "$seed"
        run_mip "$1" "$2" "$seed"
    done
done

psql -P footer=off -c "
SELECT p.sessions, p.cases, p.seed, m.status AS mip_status,
       p.booked_minutes AS ptl_minutes, m.booked_minutes AS mip_minutes,
       round(100.0 * p.booked_minutes / nullif(m.booked_minutes, 0), 2) AS \"minutes %\",
       p.patients_booked AS ptl_patients, m.patients_booked AS mip_patients,
       round(100.0 * p.patients_booked / nullif(m.patients_booked, 0), 2) AS \"patients %\",
       p.inversions AS ptl_inv, m.inversions AS mip_inv, p.breaches + m.breaches AS breaches,
       round(p.seconds::numeric, 3) AS ptl_s, round(m.seconds::numeric, 1) AS mip_s
FROM bench_result p JOIN bench_result m USING (sessions, cases, seed)
WHERE p.solver = 'ptl' AND m.solver = 'mip'
ORDER BY p.sessions, p.seed"
psql -P footer=off -c "
SELECT p.sessions, p.cases, count(*) AS instances,
       count(*) FILTER (WHERE m.status = 'Optimal') AS mip_optimal,
       round(min(100.0 * p.booked_minutes / nullif(m.booked_minutes, 0)), 2) AS \"worst minutes %\",
       round(100.0 * sum(p.booked_minutes) / nullif(sum(m.booked_minutes), 0), 2) AS \"total minutes %\",
       round(min(100.0 * p.patients_booked / nullif(m.patients_booked, 0)), 2) AS \"worst patients %\",
       round(100.0 * sum(p.patients_booked) / nullif(sum(m.patients_booked), 0), 2) AS \"total patients %\",
       sum(p.inversions) AS ptl_inversions,
       round(avg(p.seconds)::numeric, 4) AS ptl_mean_s, round(avg(m.seconds)::numeric, 1) AS mip_mean_s,
       round(avg(m.seconds) / nullif(avg(p.seconds), 0)) AS \"time ratio mip/ptl\"
FROM bench_result p JOIN bench_result m USING (sessions, cases, seed)
WHERE p.solver = 'ptl' AND m.solver = 'mip'
GROUP BY 1, 2 ORDER BY 1"

echo
echo "the issue's scale: 2,000 sessions x 20,000 cases, ptl alone (three seeds; best of three runs each)"
for seed in 1 2 3; do
    psql -c "INSERT INTO bench_instance SELECT 2000, 20000, $seed, * FROM ptl_synth.theatre_instance(2000, 20000, $seed)"
    for run in 1 2 3; do run_ptl 2000 20000 "$seed"; done
done
psql -P footer=off -c "
SELECT sessions, cases, seed, min(booked_minutes) AS booked_minutes, min(patients_booked) AS patients_booked,
       max(inversions) AS inversions, max(breaches) AS breaches, round(min(seconds)::numeric, 3) AS seconds
FROM bench_result WHERE sessions = 2000 GROUP BY 1, 2, 3 ORDER BY 3"
