#!/usr/bin/env bash
# Runs inside pg_virtualenv (or any cluster the PG* variables name); called
# by bench/clinic.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mip_seconds=$1
export PGDATABASE=ptl_bench_clinic
dropdb --if-exists ptl_bench_clinic
createdb ptl_bench_clinic
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists ptl_bench_clinic' EXIT
psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
psql -c "CREATE TABLE bench_instance (sessions int, patients int, seed int, slots ptl.clinic_slot_offer[],
                                      patients_ ptl.clinic_patient[])" \
     -c "CREATE TABLE bench_result (sessions int, patients int, seed int, solver text, status text, seconds float8,
                                    patients_booked bigint, breaches bigint, inversions bigint, date_inversions bigint)"

# ptl: solve, time the call alone (the instance is already in memory as
# arrays), check the allocation with the plain-SQL checker (the checker only
# at the MIP's sizes: it joins every eligible pair).
run_ptl() {
    psql -c "DO \$\$
    DECLARE i record; t0 timestamptz; t1 timestamptz; c bigint[]; s bigint[];
    BEGIN
        SELECT * INTO i FROM bench_instance WHERE sessions = $1 AND patients = $2 AND seed = $3;
        t0 := clock_timestamp();
        SELECT array_agg(r.patient_key), array_agg(r.slot_id) INTO c, s FROM ptl.allocate_clinic(i.slots, i.patients_) r;
        t1 := clock_timestamp();
        IF $4 THEN
            INSERT INTO bench_result
            SELECT $1, $2, $3, 'ptl', 'exact', extract(epoch FROM t1 - t0), k.patients_booked,
                   k.ineligible + k.double_booked_slots + k.double_booked_patients, k.inversions, k.date_inversions
            FROM ptl_synth.clinic_check(i.slots, i.patients_, coalesce(c, '{}'), coalesce(s, '{}')) k;
        ELSE
            INSERT INTO bench_result VALUES ($1, $2, $3, 'ptl', 'exact', extract(epoch FROM t1 - t0),
                                             coalesce(cardinality(c), 0), NULL, NULL, NULL);
        END IF;
    END \$\$"
}

# CBC on the MIP with the rule; its solution is checked by the same checker.
run_mip() {
    local lp=$work/i.lp sol=$work/i.sol t0 t1 status
    psql -At -c "SELECT ptl_synth.clinic_lp(slots, patients_, true) FROM bench_instance
                 WHERE sessions = $1 AND patients = $2 AND seed = $3" > "$lp"
    rm -f "$sol"
    t0=$(date +%s%N)
    if ! cbc "$lp" sec "$mip_seconds" solve solu "$sol" > "$work/cbc.log" 2>&1 || [ ! -s "$sol" ]; then
        rm -f "$sol"
        cbc "$lp" scaling off sec "$mip_seconds" solve solu "$sol" > "$work/cbc.log" 2>&1 || true
    fi
    t1=$(date +%s%N)
    status=$( { head -1 "$sol" 2>/dev/null || true; } | sed 's/ - objective.*//; s/ *$//')
    awk '$2 ~ /^x/ && $3 > 0.5 { split(substr($2, 2), a, "_"); print a[1] "\t" a[2] }' "$sol" 2>/dev/null > "$work/pairs" || true
    psql -c "CREATE TEMP TABLE mip_pairs (patient_key bigint, slot_id bigint)" \
         -c "\\copy mip_pairs FROM '$work/pairs'" \
         -c "INSERT INTO bench_result
             SELECT $1, $2, $3, 'mip', '${status:-no solution}', $(( (t1 - t0) / 1000000 )) / 1000.0,
                    k.patients_booked, k.ineligible + k.double_booked_slots + k.double_booked_patients,
                    k.inversions, k.date_inversions
             FROM bench_instance i,
                  LATERAL (SELECT coalesce(array_agg(patient_key), '{}') AS c, coalesce(array_agg(slot_id), '{}') AS s
                           FROM mip_pairs) p,
                  LATERAL ptl_synth.clinic_check(i.slots, i.patients_, p.c, p.s) k
             WHERE i.sessions = $1 AND i.patients = $2 AND i.seed = $3"
}

echo "instances: clinic sessions of 8-14 slots (new, follow-up, either; some virtual) over six weeks at six sites;"
echo "MIP = same constraints incl. no inversion, CBC $(cbc -quit 2>/dev/null | sed -n 's/^Version: //p'), ${mip_seconds} s limit each"
for size in ${CLINIC_BENCH_SIZES:-20x200 40x400 60x600}; do
    set -- ${size/x/ }
    for seed in 1 2 3 4 5; do
        psql -c "INSERT INTO bench_instance SELECT $1, $2, $seed, * FROM ptl_synth.clinic_instance($1, $2, $seed)"
        run_ptl "$1" "$2" "$seed" true
        run_mip "$1" "$2" "$seed"
    done
done

psql -P footer=off -c "
SELECT p.sessions, p.patients, p.seed, m.status AS mip_status,
       p.patients_booked AS ptl_booked, m.patients_booked AS mip_booked,
       round(100.0 * p.patients_booked / nullif(m.patients_booked, 0), 2) AS \"booked %\",
       p.inversions AS ptl_inv, m.inversions AS mip_inv, p.date_inversions AS ptl_date_inv,
       p.breaches + m.breaches AS breaches,
       round(p.seconds::numeric, 4) AS ptl_s, round(m.seconds::numeric, 1) AS mip_s
FROM bench_result p JOIN bench_result m USING (sessions, patients, seed)
WHERE p.solver = 'ptl' AND m.solver = 'mip'
ORDER BY p.sessions, p.seed"
psql -P footer=off -c "
SELECT p.sessions, p.patients, count(*) AS instances,
       count(*) FILTER (WHERE m.status = 'Optimal') AS mip_optimal,
       round(min(100.0 * p.patients_booked / nullif(m.patients_booked, 0)) FILTER (WHERE m.status = 'Optimal'), 2)
           AS \"worst booked % (proven)\",
       round(100.0 * sum(p.patients_booked) / nullif(sum(m.patients_booked), 0), 2) AS \"total booked %\",
       sum(p.inversions) AS ptl_inversions, sum(p.date_inversions) AS ptl_date_inversions,
       round(avg(p.seconds)::numeric, 4) AS ptl_mean_s, round(avg(m.seconds)::numeric, 1) AS mip_mean_s
FROM bench_result p JOIN bench_result m USING (sessions, patients, seed)
WHERE p.solver = 'ptl' AND m.solver = 'mip'
GROUP BY 1, 2 ORDER BY 1"

echo
echo "the issue's scale: 5,000 sessions x 50,000 patients, ptl alone (three seeds; best of three runs each)"
for seed in 1 2 3; do
    psql -c "INSERT INTO bench_instance SELECT 5000, 50000, $seed, * FROM ptl_synth.clinic_instance(5000, 50000, $seed)"
    for run in 1 2 3; do run_ptl 5000 50000 "$seed" false; done
done
psql -P footer=off -c "
SELECT r.sessions, r.patients, r.seed, (SELECT cardinality(i.slots) FROM bench_instance i
                                        WHERE (i.sessions, i.patients, i.seed) = (r.sessions, r.patients, r.seed)) AS slots,
       min(r.patients_booked) AS patients_booked, round(min(r.seconds)::numeric, 3) AS seconds
FROM bench_result r WHERE r.sessions = 5000 GROUP BY 1, 2, 3 ORDER BY 3"
