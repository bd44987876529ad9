#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/aid.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGDATABASE=ptl_bench
createdb ptl_bench
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
psql -c "CREATE TABLE instance (patients int, slots int, seed int, p ptl.aid_patient[], q ptl.aid_slot[])" \
     -c "CREATE TABLE result (patients int, slots int, seed int, solver text, seconds float8, moved bigint,
                              wait_days bigint, days_saved bigint, pairs bigint[])"

echo "instances: patients at 3 origins, slots at 5 providers, 4 specialties, as of 2025-03-31;"
echo "greedy baseline: PL/pgSQL loop; optimal baseline: LP by CBC $(cbc -quit 2>/dev/null | sed -n 's/^Version: //p')"
for size in ${AID_BENCH_SIZES:-1000x100 5000x500 20000x2000}; do
    set -- ${size/x/ }
    for seed in 1 2 3; do
        psql -c "INSERT INTO instance SELECT $1, $2, $seed, a.patient_list, a.slot_list FROM ptl_synth.aid_instance($1, $2, $seed) a"
        # ptl, both modes: the whole plan (eligibility, feasibility, matching, reasons)
        for mode in greedy optimal; do
            psql -c "DO \$\$
            DECLARE i record; t0 timestamptz; t1 timestamptz;
            BEGIN
                SELECT * INTO i FROM instance WHERE patients = $1 AND slots = $2 AND seed = $seed;
                t0 := clock_timestamp();
                CREATE TEMP TABLE r AS SELECT * FROM ptl.mutual_aid_plan(i.p, i.q, '2025-03-31', '$mode');
                t1 := clock_timestamp();
                INSERT INTO result
                SELECT $1, $2, $seed, 'ptl $mode', extract(epoch FROM t1 - t0), count(*), sum(r.wait_days),
                       sum(coalesce(r.days_saved, 0)), array_agg(r.patient_key * 1000000 + r.slot_id ORDER BY r.patient_key)
                FROM r WHERE r.reason = 'SUGGESTED';
                DROP TABLE r;
            END \$\$"
        done
        # greedy baseline
        psql -c "DO \$\$
        DECLARE i record; t0 timestamptz; t1 timestamptz;
        BEGIN
            SELECT * INTO i FROM instance WHERE patients = $1 AND slots = $2 AND seed = $seed;
            t0 := clock_timestamp();
            CREATE TEMP TABLE g AS SELECT * FROM ptl_synth.aid_greedy(i.p, i.q, '2025-03-31');
            t1 := clock_timestamp();
            INSERT INTO result
            SELECT $1, $2, $seed, 'plpgsql greedy', extract(epoch FROM t1 - t0), count(*), NULL, NULL,
                   array_agg(g.patient_key * 1000000 + g.slot_id ORDER BY g.patient_key)
            FROM g;
            DROP TABLE g;
        END \$\$"
        # optimal baseline: the LP, written and read back; its pairs are scored by ptl's pair table
        t0=$(date +%s%N)
        psql -At -c "SELECT ptl_synth.aid_lp(p, q, '2025-03-31') FROM instance
                     WHERE patients = $1 AND slots = $2 AND seed = $seed" > "$work/i.lp"
        t1=$(date +%s%N)
        cbc "$work/i.lp" solve solu "$work/i.sol" > "$work/cbc.log" 2>&1 || true
        t2=$(date +%s%N)
        awk '$2 ~ /^x/ && $3 > 0.5 { split(substr($2, 2), a, "_"); print a[1] "\t" a[2] }' "$work/i.sol" > "$work/pairs"
        psql -c "CREATE TEMP TABLE lp (patient_key bigint, slot_id bigint)" -c "\\copy lp FROM '$work/pairs'" \
             -c "INSERT INTO result
                 SELECT $1, $2, $seed, 'cbc lp', $(( (t2 - t1) / 1000000 )) / 1000.0, count(*), sum(f.wait_days),
                        sum(coalesce(f.days_saved, 0)), NULL
                 FROM instance i, ptl.mutual_aid_pairs(i.p, i.q, '2025-03-31') f
                 JOIN lp USING (patient_key, slot_id)
                 WHERE i.patients = $1 AND i.slots = $2 AND i.seed = $seed AND f.stage = 5"
        echo "    ${1}x${2} seed $seed: LP written in $(( (t1 - t0) / 1000000 )) ms"
    done
done

psql -P footer=off -c "
SELECT g.patients, g.slots, g.seed, g.moved AS greedy_moved,
       g.pairs = b.pairs AS \"greedy = loop\", round(g.seconds::numeric, 3) AS ptl_greedy_s,
       round(b.seconds::numeric, 3) AS loop_s, round((b.seconds / nullif(g.seconds, 0))::numeric, 1) AS \"loop/ptl\",
       o.moved AS optimal_moved, o.wait_days AS ptl_wait_days, l.wait_days AS lp_wait_days,
       o.days_saved AS ptl_saved, l.days_saved AS lp_saved,
       (o.wait_days, o.days_saved) = (l.wait_days, l.days_saved) AS \"optimal = LP\",
       round(o.seconds::numeric, 3) AS ptl_optimal_s, round(l.seconds::numeric, 3) AS cbc_s,
       round(100.0 * o.wait_days / nullif(g.wait_days, 0) - 100, 1) AS \"optimal over greedy, wait-days %\"
FROM result g
JOIN result b ON (b.patients, b.slots, b.seed, b.solver) = (g.patients, g.slots, g.seed, 'plpgsql greedy')
JOIN result o ON (o.patients, o.slots, o.seed, o.solver) = (g.patients, g.slots, g.seed, 'ptl optimal')
JOIN result l ON (l.patients, l.slots, l.seed, l.solver) = (g.patients, g.slots, g.seed, 'cbc lp')
WHERE g.solver = 'ptl greedy'
ORDER BY g.patients, g.seed"
