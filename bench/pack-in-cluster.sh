#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/pack.sh.  PTL_BENCH_DB names an
# existing, already prepared database to time instead (for repeated runs).
set -euo pipefail
cd "$(dirname "$0")/.."
referrals=$1
export PGDATABASE=${PTL_BENCH_DB:-ptl_bench_pack}
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
census=2025-03-31

if [ -z "${PTL_BENCH_DB:-}" ]; then
    createdb "$PGDATABASE"
    psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
    t0=$(date +%s%N)
    psql -At -c "SELECT count(*) FROM ptl_synth.generate($referrals, seed => 42) b, ptl.load(b)" >/dev/null
    echo "generated and loaded $referrals referrals in $(ms $t0) ms"
    t0=$(date +%s%N)
    psql -c "CALL ptl.refresh('$census')"
    echo "refreshed in $(ms $t0) ms"
    t0=$(date +%s%N)
    psql -At -c "SELECT ptl.backfill_census_snapshots(DATE '$census' - 182, DATE '$census' - 7)" >/dev/null
    echo "26 weekly snapshots rebuilt in $(ms $t0) ms"
    t0=$(date +%s%N)
    psql -At -c "SELECT count(*) FROM ptl_synth.theatres(42) b, ptl.load(b) l" >/dev/null
    psql -c "CALL ptl.propose_theatre_lists(DATE '$census' + 1, DATE '$census' + 42)"
    psql -At -c "SELECT count(*) FROM ptl_synth.beds(42)" >/dev/null
    psql -At -c "SELECT count(*) FROM ptl_synth.outpatients(42)" >/dev/null
    psql -c "CALL ptl.daily_refresh('$census')"
    echo "theatres, proposals, spells, bed base and outpatients in $(ms $t0) ms"
    psql -c "VACUUM ANALYZE"
fi

psql -At -F ' ' -c "SELECT 'scale:', (SELECT count(*) FROM ptl.pathway) AS pathways,
                           (SELECT count(*) FROM ptl.pathway_event) AS events,
                           (SELECT count(*) FROM ptl.census_snapshot) AS snapshot_rows,
                           (SELECT count(DISTINCT census_date) FROM ptl.census_snapshot) AS censuses,
                           (SELECT count(*) FROM ptl.journey_episode) AS stays,
                           (SELECT count(*) FROM ptl.hospital_spell) AS spells"

# The journey step: every pathway's stages derived afresh.
t0=$(date +%s%N)
stays=$(psql -At -c "SELECT ptl.journey_compute('$census')")
journey=$(ms $t0)
echo "journey_compute for every pathway: $stays stays in $journey ms"
# (a full derivation leaves every old stay dead: vacuum, as autovacuum would)
psql -c "VACUUM ANALYZE ptl.journey_episode"

trust=$(psql -At -c "SELECT provider_org FROM ptl.census_snapshot WHERE census_date = '$census'
                     GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
for run in 1 2; do
    t0=$(date +%s%N); psql -At -c "SELECT ptl.weekly_pack('$census')" > /tmp/ptl-bench-pack.html; pack=$(ms $t0)
    t0=$(date +%s%N); psql -At -c "SELECT ptl.weekly_pack('$census', '$trust')" > /tmp/ptl-bench-pack-trust.html
    pack_trust=$(ms $t0)
    t0=$(date +%s%N); psql -At -v census="$census" -v provider= -f bench/pack-baseline.sql > /dev/null; base=$(ms $t0)
    t0=$(date +%s%N); psql -At -v census="$census" -v provider="$trust" -f bench/pack-baseline.sql > /dev/null
    base_trust=$(ms $t0)
    echo "run $run: pack ICS $pack ms (baseline $base ms), pack $trust $pack_trust ms (baseline $base_trust ms)"
done
echo "pack sizes: ICS $(wc -c < /tmp/ptl-bench-pack.html) bytes, $trust $(wc -c < /tmp/ptl-bench-pack-trust.html) bytes"
awk -v p="$pack" -v b="$base" -v pt="$pack_trust" -v bt="$base_trust" 'BEGIN {
    printf "ratio pack / baseline: ICS %.2f, trust %.2f\n", p / b, pt / bt
    printf "goal (ICS pack under 10 s at 1,000,000 referrals): %s\n", (p < 10000 ? "met" : "NOT met") }'
