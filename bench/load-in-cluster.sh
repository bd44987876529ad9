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
# What ptl.load wrote, kept for the floor (bench/load-floor.sql).
psql -c "CREATE TABLE bench.floor_patient AS SELECT * FROM ptl.patient" \
     -c "CREATE TABLE bench.floor_pathway AS SELECT * FROM ptl.pathway" \
     -c "CREATE TABLE bench.floor_pathway_event AS SELECT * FROM ptl.pathway_event" \
     -c "CREATE TABLE bench.floor_waiting_list_entry AS SELECT * FROM ptl.waiting_list_entry"

# The other feeds (theatre, risk, outpatient, beds, aid): the generators
# stage them from the loaded, refreshed ICS, as the demo does; each
# delivery is kept in bench.<extract> and loaded.  ptl.load's time per
# extract (ptl.batch_extract.load_ms) is set against the same plain SQL for
# every feed (bench/load-feeds-baseline.sql), run below.
echo "refreshing, then staging and loading the other feeds"
psql -c "CALL ptl.refresh('2025-03-31')"
feed_first=$(psql -At -c "SELECT coalesce(max(batch_id), 0) FROM ptl.batch")
for generator in "assess_waiting_patients(seed => 42)" "theatres(42)" "beds(42)" "outpatients(42)" "mutual_aid(42)"; do
    psql -At -c "SELECT count(*) FROM ptl_synth.$generator" >/dev/null
    psql -At -c "SELECT format('CREATE TABLE IF NOT EXISTS bench.%1\$I (LIKE ptl_stage.%1\$I);
                                INSERT INTO bench.%1\$I SELECT * FROM ptl_stage.%1\$I;', f.extract)
                 FROM ptl.feed f WHERE f.capability <> 'pas'" | PGOPTIONS='-c client_min_messages=warning' psql
    psql -At -c "SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status IN ('open', 'ready')" >/dev/null
done
psql -At -c "SELECT e.extract, sum(e.rows_read), sum(e.load_ms) FROM ptl.batch_extract e JOIN ptl.feed f USING (extract)
             WHERE e.batch_id > $feed_first AND f.capability <> 'pas' GROUP BY e.extract, f.load_order ORDER BY f.load_order" \
    | tr '|' ' ' > /tmp/ptl-feeds-ptl.txt

psql -f bench/load-reset.sql
psql -c CHECKPOINT
echo "plain INSERT ... SELECT with SQL validation: same $rows rows"
t0=$(now_ms)
psql -f bench/load-baseline.sql
sql_ms=$(( $(now_ms) - t0 ))
sql_loaded=$(psql -At -c "SELECT (SELECT count(*) FROM ptl.patient) + (SELECT count(*) FROM ptl.pathway)
                               + (SELECT count(*) FROM ptl.pathway_event) + (SELECT count(*) FROM ptl.waiting_list_entry)")
sql_rej=$(psql -At -c "SELECT count(*) FROM bench.rejected")
psql -f bench/load-feeds-baseline.sql | grep -v '^$' > /tmp/ptl-feeds-sql.txt

# The floor: the rows ptl.load wrote, written again by a bare INSERT ...
# SELECT into the same emptied tables (every index, constraint and trigger,
# no validation).
psql -f bench/load-reset.sql
psql -c "VACUUM ANALYZE bench.floor_patient, bench.floor_pathway, bench.floor_pathway_event, bench.floor_waiting_list_entry"
psql -c CHECKPOINT
echo "floor: bare INSERT ... SELECT of the rows ptl.load() wrote"
t0=$(now_ms)
psql -f bench/load-floor.sql
floor_ms=$(( $(now_ms) - t0 ))
floor_rows=$(psql -At -c "SELECT (SELECT count(*) FROM ptl.patient) + (SELECT count(*) FROM ptl.pathway)
                                + (SELECT count(*) FROM ptl.pathway_event) + (SELECT count(*) FROM ptl.waiting_list_entry)")

echo
printf 'scale: %s referrals, %s staged rows\n' "$n" "$rows"
printf '%-34s %9s ms %10s rows/s  loaded %9s  quarantined %7s\n' \
    "ptl.load() (C parsers, upsert)" "$ptl_ms" "$(( rows * 1000 / ptl_ms ))" "$ptl_loaded" "$ptl_quar"
printf '%-34s %9s ms %10s rows/s  loaded %9s  rejected    %7s\n' \
    "INSERT ... SELECT, SQL validation" "$sql_ms" "$(( rows * 1000 / sql_ms ))" "$sql_loaded" "$sql_rej"
printf '%-34s %9s ms %10s rows/s  written %8s\n' \
    "floor: bare INSERT ... SELECT" "$floor_ms" "$(( floor_rows * 1000 / floor_ms ))" "$floor_rows"
# Each rate counts its own rows (ptl.load and the baseline: rows staged; the
# floor: rows written); the ratios are of rates.
awk -v r="$rows" -v p="$ptl_ms" -v s="$sql_ms" -v fr="$floor_rows" -v f="$floor_ms" 'BEGIN {
    ptl = r * 1000 / p; sql = r * 1000 / s; floor = fr * 1000 / f
    printf "ptl.load rows/s %d, baseline rows/s %d, floor rows/s %d\n", ptl, sql, floor
    printf "ratio ptl/baseline (rows/s): %.2f\n", ptl / sql
    printf "ratio ptl/floor (rows/s): %.2f\n", ptl / floor }'

echo
echo "the other feeds: ptl.load per extract against the same plain SQL for every extract (typed INSERT ... SELECT)"
printf '%-24s %9s %12s %12s %8s\n' extract rows "ptl rows/s" "SQL rows/s" ratio
awk 'NR == FNR { sql_rows[$1] = $2; sql_ms[$1] = $3; next }
     { p = ($3 > 0 ? $2 * 1000 / $3 : 0); q = (sql_ms[$1] > 0 ? sql_rows[$1] * 1000 / sql_ms[$1] : 0);
       printf "%-24s %9d %12d %12d %8.2f\n", $1, $2, p, q, (p > 0 ? q / p : 0) }' \
    /tmp/ptl-feeds-sql.txt /tmp/ptl-feeds-ptl.txt
