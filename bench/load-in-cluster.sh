#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/load.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1
export PGDATABASE=ptl_bench
createdb ptl_bench
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
echo "generating $n referrals (seed 42)"
t0=$(now_ms)
psql -At -c "SELECT count(*) FROM ptl_synth.generate($n, seed => 42)" >/dev/null
echo "generated in $(( $(now_ms) - t0 )) ms"
# Keep the staged rows so both loaders read exactly the same ones.
psql -f bench/load-setup.sql
rows=$(psql -At -c "SELECT (SELECT count(*) FROM bench.patient) + (SELECT count(*) FROM bench.pathway)
                         + (SELECT count(*) FROM bench.pathway_event) + (SELECT count(*) FROM bench.waiting_list_entry)")
psql -c CHECKPOINT

echo "ptl.load(): $rows staged rows"
t0=$(now_ms)
psql -At -c "SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'open'" >/dev/null
ptl_ms=$(( $(now_ms) - t0 ))
ptl_loaded=$(psql -At -c "SELECT sum(rows_loaded) FROM ptl.batch_extract")
ptl_quar=$(psql -At -c "SELECT sum(rows_quarantined) FROM ptl.batch_extract")

psql -f bench/load-reset.sql
psql -c CHECKPOINT
echo "plain INSERT ... SELECT with SQL validation: same $rows rows"
t0=$(now_ms)
psql -f bench/load-baseline.sql
sql_ms=$(( $(now_ms) - t0 ))
sql_loaded=$(psql -At -c "SELECT (SELECT count(*) FROM ptl.patient) + (SELECT count(*) FROM ptl.pathway)
                               + (SELECT count(*) FROM ptl.pathway_event) + (SELECT count(*) FROM ptl.waiting_list_entry)")
sql_rej=$(psql -At -c "SELECT count(*) FROM bench.rejected")

echo
printf 'scale: %s referrals, %s staged rows\n' "$n" "$rows"
printf '%-34s %9s ms %10s rows/s  loaded %9s  quarantined %7s\n' \
    "ptl.load() (C parsers, upsert)" "$ptl_ms" "$(( rows * 1000 / ptl_ms ))" "$ptl_loaded" "$ptl_quar"
printf '%-34s %9s ms %10s rows/s  loaded %9s  rejected    %7s\n' \
    "INSERT ... SELECT, SQL validation" "$sql_ms" "$(( rows * 1000 / sql_ms ))" "$sql_loaded" "$sql_rej"
awk -v a="$ptl_ms" -v b="$sql_ms" 'BEGIN { printf "ratio ptl/baseline time: %.2f (baseline is %.2fx the speed of ptl.load)\n", a / b, a / b }'
