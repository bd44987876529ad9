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
     -c "CREATE TABLE feasible (patients int, slots int, seed int, patient_key bigint, slot_id bigint, wait_days int,
                                clock_start date, slot_date date, miles float8, saving int)" \
     -c "CREATE TABLE result (patients int, slots int, seed int, solver text, seconds float8, moved bigint,
                              wait_days bigint, days_saved bigint, pairs bigint[])"

# The matching alone, on the feasible pairs computed once (ptl.mutual_aid_pairs):
# ptl's C matcher in both modes, greedy as a PL/pgSQL loop, and the LP by CBC.
match_ptl() {   # patients slots seed mode
    psql -c "DO \$\$
    DECLARE t0 timestamptz; t1 timestamptz;
    BEGIN
        CREATE TEMP TABLE f AS SELECT * FROM feasible WHERE patients = $1 AND slots = $2 AND seed = $3;
        t0 := clock_timestamp();
        CREATE TEMP TABLE m AS
        SELECT x.* FROM (SELECT array_agg(patient_key) pk, array_agg(slot_id) sk, array_agg(wait_days) w,
                                array_agg(clock_start) cs, array_agg(slot_date) sd, array_agg(miles) mi,
                                array_agg(saving) sv FROM f) a,
                        ptl.mutual_aid_match(a.pk, a.sk, a.w, a.cs, a.sd, a.mi, a.sv, '$4' = 'optimal') x;
        t1 := clock_timestamp();
        INSERT INTO result
        SELECT $1, $2, $3, 'ptl $4', extract(epoch FROM t1 - t0), count(*), sum(f.wait_days), sum(f.saving),
               array_agg(f.patient_key * 1000000 + f.slot_id ORDER BY f.patient_key)
        FROM m JOIN f ON f.patient_key = m.patient AND f.slot_id = m.slot;
        DROP TABLE f, m;
    END \$\$"
}
match_loop() {  # patients slots seed
    psql -c "DO \$\$
    DECLARE t0 timestamptz; t1 timestamptz; p record; q bigint;
    BEGIN
        CREATE TEMP TABLE f AS SELECT * FROM feasible WHERE patients = $1 AND slots = $2 AND seed = $3;
        CREATE INDEX ON f (patient_key, slot_date, miles, slot_id);
        CREATE TEMP TABLE used (slot_id bigint PRIMARY KEY);
        CREATE TEMP TABLE m (patient_key bigint, slot_id bigint);
        t0 := clock_timestamp();
        FOR p IN SELECT DISTINCT patient_key, wait_days, clock_start FROM f ORDER BY wait_days DESC, clock_start, patient_key LOOP
            SELECT f.slot_id INTO q FROM f
            WHERE f.patient_key = p.patient_key AND NOT EXISTS (SELECT 1 FROM used u WHERE u.slot_id = f.slot_id)
            ORDER BY f.slot_date, f.miles, f.slot_id LIMIT 1;
            IF FOUND THEN INSERT INTO used VALUES (q); INSERT INTO m VALUES (p.patient_key, q); END IF;
        END LOOP;
        t1 := clock_timestamp();
        INSERT INTO result
        SELECT $1, $2, $3, 'plpgsql greedy', extract(epoch FROM t1 - t0), count(*), sum(f.wait_days), sum(f.saving),
               array_agg(f.patient_key * 1000000 + f.slot_id ORDER BY f.patient_key)
        FROM m JOIN f USING (patient_key, slot_id);
        DROP TABLE f, m, used;
    END \$\$"
}
match_lp() {    # patients slots seed
    psql -At -c "SELECT ptl_synth.aid_lp(p, q, '2025-03-31') FROM instance
                 WHERE patients = $1 AND slots = $2 AND seed = $3" > "$work/i.lp"
    local t1 t2
    t1=$(date +%s%N)
    cbc "$work/i.lp" solve solu "$work/i.sol" > "$work/cbc.log" 2>&1 || true
    t2=$(date +%s%N)
    awk '$2 ~ /^x/ && $3 > 0.5 { split(substr($2, 2), a, "_"); print a[1] "\t" a[2] }' "$work/i.sol" > "$work/pairs"
    psql -c "CREATE TEMP TABLE lp (patient_key bigint, slot_id bigint)" -c "\\copy lp FROM '$work/pairs'" \
         -c "INSERT INTO result
             SELECT $1, $2, $3, 'cbc lp', $(( (t2 - t1) / 1000000 )) / 1000.0, count(*), sum(f.wait_days),
                    sum(f.saving), NULL
             FROM feasible f JOIN lp USING (patient_key, slot_id)
             WHERE f.patients = $1 AND f.slots = $2 AND f.seed = $3"
}

echo "instances: patients at 3 origins, slots at 5 providers, 4 specialties, as of 2025-03-31 (three seeds each);"
echo "the matching alone on the same feasible pairs; greedy baseline: PL/pgSQL loop; optimal baseline: LP by CBC $(cbc -quit 2>/dev/null | sed -n 's/^Version: //p')"
for size in ${AID_BENCH_SIZES:-1000x100 5000x500 10000x1000}; do
    set -- ${size/x/ }
    for seed in 1 2 3; do
        psql -c "INSERT INTO instance SELECT $1, $2, $seed, a.patient_list, a.slot_list FROM ptl_synth.aid_instance($1, $2, $seed) a"
        t0=$(date +%s%N)
        psql -c "INSERT INTO feasible
                 SELECT $1, $2, $seed, x.patient_key, x.slot_id, x.wait_days, x.clock_start, x.slot_date,
                        coalesce(x.distance_miles, 'Infinity'), coalesce(x.days_saved, greatest(0, 3650 - (x.slot_date - DATE '2025-03-31')))
                 FROM instance i, ptl.mutual_aid_pairs(i.p, i.q, '2025-03-31') x
                 WHERE i.patients = $1 AND i.slots = $2 AND i.seed = $seed AND x.stage = 6"
        t1=$(date +%s%N)
        # the whole plan (pairs, matching, every patient's reason), optimal mode
        psql -c "CREATE TEMP TABLE whole AS SELECT m.* FROM instance i,
                 ptl.mutual_aid_plan(i.p, i.q, '2025-03-31', 'optimal') m
                 WHERE i.patients = $1 AND i.slots = $2 AND i.seed = $seed"
        t2=$(date +%s%N)
        echo "    ${1}x${2} seed $seed: $(psql -At -c "SELECT count(*) FROM feasible WHERE patients = $1 AND slots = $2 AND seed = $seed") feasible pairs in $(( (t1 - t0) / 1000000 )) ms; whole optimal plan $(( (t2 - t1) / 1000000 )) ms"
        match_ptl "$1" "$2" "$seed" greedy
        match_loop "$1" "$2" "$seed"
        match_ptl "$1" "$2" "$seed" optimal
        match_lp "$1" "$2" "$seed"
    done
done

psql -P footer=off -c "
SELECT g.patients, g.slots, g.seed, g.moved AS greedy_moved, g.pairs = b.pairs AS \"greedy = loop\",
       round((1000 * g.seconds)::numeric, 1) AS ptl_greedy_ms, round((1000 * b.seconds)::numeric, 1) AS loop_ms,
       round((b.seconds / nullif(g.seconds, 0))::numeric) AS \"loop/ptl\",
       o.moved AS optimal_moved, o.wait_days AS ptl_wait_days, l.wait_days AS lp_wait_days,
       o.days_saved AS ptl_saved, l.days_saved AS lp_saved,
       (o.wait_days, o.days_saved) = (l.wait_days, l.days_saved) AS \"optimal = LP\",
       round((1000 * o.seconds)::numeric, 1) AS ptl_optimal_ms, round((1000 * l.seconds)::numeric) AS cbc_ms,
       round((l.seconds / nullif(o.seconds, 0))::numeric, 1) AS \"cbc/ptl\",
       round(100.0 * o.wait_days / nullif(g.wait_days, 0) - 100, 1) AS \"optimal over greedy, wait-days %\"
FROM result g
JOIN result b ON (b.patients, b.slots, b.seed, b.solver) = (g.patients, g.slots, g.seed, 'plpgsql greedy')
JOIN result o ON (o.patients, o.slots, o.seed, o.solver) = (g.patients, g.slots, g.seed, 'ptl optimal')
JOIN result l ON (l.patients, l.slots, l.seed, l.solver) = (g.patients, g.slots, g.seed, 'cbc lp')
WHERE g.solver = 'ptl greedy'
ORDER BY g.patients, g.seed"
