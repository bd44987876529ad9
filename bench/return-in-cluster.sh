#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/return.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=$*
month=2025-03-31
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The best of three runs of a query (ms), output discarded.
best_ms() {
    local best= t0 ms
    for _ in 1 2 3; do
        t0=$(now_ms); psql -d "$db" -c "$1" >/dev/null; ms=$(( $(now_ms) - t0 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

results=()
for n in $sizes; do
    db=ptl_return_$n
    dropdb --if-exists "$db"; createdb "$db"
    psql -d "$db" -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
    echo "generating, loading and refreshing $n referrals (seed 42)"
    psql -d "$db" -At -c "SELECT count(*) FROM ptl_synth.generate($n, seed => 42) b, ptl.load(b)" >/dev/null
    psql -d "$db" -c "CALL ptl.refresh('$month')" -c 'VACUUM ANALYZE'
    long_ms=$(best_ms "SELECT count(*) FROM ptl.rtt_return('$month')")
    wide_ms=$(best_ms "SELECT count(*) FROM ptl.rtt_return_wide('$month')")
    csv_ms=$(best_ms "SELECT count(*) FROM ptl.rtt_return_csv('$month')")
    # Release 0.3.0's pivot, as a function of the bench's own schema.
    psql -d "$db" -c 'CREATE SCHEMA bench'
    sed 's/pg_temp\.rtt_return_wide_0_3/bench.rtt_return_wide_0_3/' test/reference/rtt_return_wide_0_3.sql | psql -d "$db"
    old_ms=$(best_ms "SELECT count(*) FROM bench.rtt_return_wide_0_3('$month')")
    read -r long_rows wide_rows differing < <(psql -d "$db" -At -F ' ' -c "
        SELECT (SELECT count(*) FROM ptl.rtt_return('$month')),
               (SELECT count(*) FROM ptl.rtt_return_wide('$month')),
               (SELECT count(*) FILTER (WHERE n::text IS DISTINCT FROM o::text)
                FROM ptl.rtt_return_wide('$month') WITH ORDINALITY n
                FULL JOIN bench.rtt_return_wide_0_3('$month') WITH ORDINALITY o ON o.ordinality = n.ordinality)")
    if [ "$differing" != 0 ]; then
        echo "the wide return differs from release 0.3.0's in $differing rows at $n referrals" >&2
        exit 1
    fi
    results+=("$(printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s |' \
        "$n" "$long_rows" "$wide_rows" "$long_ms" "$wide_ms" "$csv_ms" "$old_ms" \
        "$(awk -v a="$wide_ms" -v b="$long_ms" 'BEGIN { printf "%.2f", a / b }')")")
    dropdb "$db"
done

echo
echo "month $month; best of three runs; the wide return equals release 0.3.0's row for row at every size"
echo '| referrals | long-form rows | wide rows | long form | wide | CSV | 0.3.0 pivot | wide / long |'
echo '|---|---|---|---|---|---|---|---|'
printf '%s\n' "${results[@]}"
