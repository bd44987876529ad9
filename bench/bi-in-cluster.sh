#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/bi.sh.  Also runs against any
# cluster the PG* variables name, as a superuser: bash bench/bi-in-cluster.sh 200000
# (BI_DB names the database, default ptl_bi; BI_REUSE=1 keeps one already
# generated, loaded and refreshed).
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1
census=2025-03-31
runs=${BI_RUNS:-20}
base_runs=${BI_BASELINE_RUNS:-3}
export PGDATABASE=${BI_DB:-ptl_bi}
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
work=$(mktemp -d /tmp/ptl_bi.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "${BI_REUSE:-0}" = 1 ] && psql -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1; then
    echo "reusing database $PGDATABASE"
else
    dropdb --if-exists "$PGDATABASE"
    createdb "$PGDATABASE"
    psql -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
    echo "generating $n referrals (seed 42)"
    t0=$(now_ms)
    psql -At -c "SELECT count(*) FROM ptl_synth.generate($n, seed => 42)" >/dev/null
    echo "generated in $(( $(now_ms) - t0 )) ms"
    t0=$(now_ms)
    psql -At -c "SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id)" >/dev/null
    echo "loaded in $(( $(now_ms) - t0 )) ms"
    t0=$(now_ms)
    psql -c "CALL ptl.refresh('$census')"
    echo "refreshed in $(( $(now_ms) - t0 )) ms"
    psql -c 'VACUUM ANALYZE'
fi
psql -c 'DROP SCHEMA IF EXISTS bench CASCADE' 2>/dev/null
psql -f test/reference/ptl_computed.sql

# Readers: the ICS's (mapped to the ICS organisation) and the largest
# trust's (mapped to that trust: row-level security decides its rows).
read -r org tfc list_rows < <(psql -At -F ' ' -c "
    SELECT provider_org, treatment_function, count(*) FROM ptl.ptl_entry
    WHERE provider_org = (SELECT provider_org FROM ptl.ptl_entry GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
    GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 1")
# and a typical list: the provider's treatment function of median size
read -r tfc_mid mid_rows < <(psql -At -F ' ' -c "
    SELECT treatment_function, n FROM (
        SELECT treatment_function, count(*) AS n, row_number() OVER (ORDER BY count(*), treatment_function) AS k,
               count(*) OVER () AS lists
        FROM ptl.ptl_entry WHERE provider_org = '$org' GROUP BY 1) l
    WHERE k = (lists + 1) / 2")
pathway=$(psql -At -c "SELECT pathway_id FROM ptl.ptl_entry WHERE provider_org = '$org' AND treatment_function = '$tfc'
                       AND waiting_list_entry_id IS NOT NULL ORDER BY list_position OFFSET 100 LIMIT 1")
psql -c "
    DO \$\$ BEGIN
        IF to_regrole('bench_bi_trust') IS NULL THEN CREATE ROLE bench_bi_trust IN ROLE ptl_reader; END IF;
        IF to_regrole('bench_bi_ics') IS NULL THEN CREATE ROLE bench_bi_ics IN ROLE ptl_reader; END IF;
    END \$\$;
    DELETE FROM ptl.user_organisation WHERE role_name IN ('bench_bi_trust', 'bench_bi_ics');
    INSERT INTO ptl.user_organisation (role_name, org_code)
    SELECT 'bench_bi_trust', '$org'
    UNION ALL SELECT 'bench_bi_ics', min(org_code) FROM ptl.organisation WHERE org_kind = 'ics'"
read -r ptl_rows provider_rows < <(psql -At -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE provider_org = '$org') FROM ptl.ptl_entry")

q_list() { echo "SELECT * FROM $1 WHERE provider_org = '$org' AND treatment_function = '$tfc' ORDER BY list_position;"; }
q_mid() { echo "SELECT * FROM $1 WHERE provider_org = '$org' AND treatment_function = '$tfc_mid' ORDER BY list_position;"; }
q_row() { echo "SELECT * FROM $1 WHERE pathway_id = $pathway;"; }
q_head() { echo "SELECT * FROM $1 WHERE provider_org = '$org';"; }

# Median latency in ms of a query run by pgbench (simple protocol: parsed,
# planned and every row sent to the client each time) as a role.  The
# stored PTL's queries are run once first to warm the cache (the computed
# one reads the whole ICS each time: its first run warms it).
median_ms() {   # role runs query [warm]
    local f=$work/q.sql
    echo "$3" >"$f"
    rm -f "$work"/log.*
    if [ "${4:-warm}" = warm ]; then
        PGOPTIONS="-c role=$1" pgbench -n -t 1 -f "$f" >/dev/null 2>&1
    fi
    PGOPTIONS="-c role=$1" pgbench -n -t "$2" -f "$f" -l --log-prefix="$work/log" >/dev/null 2>&1
    cat "$work"/log.* | awk '{ print $3 }' | sort -n |
        awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}
# The same rows from both (as the role): 'yes' or 'NO'.
same_rows() {   # role stored_query computed_query
    local n
    n=$(psql -At -c "SET ROLE $1" -c "SELECT count(*) FROM (((${2%;}) EXCEPT ALL (${3%;})) UNION ALL ((${3%;}) EXCEPT ALL (${2%;}))) d")
    [ "$n" = 0 ] && echo yes || echo NO
}

declare -A out
for role in bench_bi_ics bench_bi_trust; do
    for q in list mid row head; do
        case $q in
            head) stored=$(q_head ptl.ptl_headline); computed=$(q_head bench.ptl_headline_computed) ;;
            *) stored=$(q_$q ptl.ptl); computed=$(q_$q bench.ptl_computed) ;;
        esac
        out[$role.$q.stored]=$(median_ms $role "$runs" "$stored")
        out[$role.$q.computed]=$(median_ms $role "$base_runs" "$computed" cold)
        out[$role.$q.same]=$(same_rows $role "$stored" "$computed")
    done
done
rows_as() { psql -At -c "SET ROLE $1" -c "${2%;}" | wc -l; }
trust_index=$(psql -At -c "SET ROLE bench_bi_trust" -c "EXPLAIN $(q_list ptl.ptl)" | grep -q 'ptl_entry_list_idx' && echo yes || echo NO)
steps=$(psql -At -c "SELECT step_times FROM ptl.refresh_status LIMIT 1" 2>/dev/null || true)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / (b > 0 ? b : 0.001) }'; }
echo
echo "BI latency: $n referrals, $ptl_rows on the PTL, $provider_rows at $org (the largest trust)"
echo "list: $org treatment function $tfc, $list_rows rows (its largest); mid: $tfc_mid, $mid_rows rows (its median list)"
echo "row: pathway $pathway; head: ptl_headline for $org"
echo "medians of $runs runs (stored) and $base_runs runs (computed as read), ms, each query planned and every row sent"
printf '%-34s %10s %12s %8s %6s\n' "query" "stored ms" "computed ms" "ratio" "same"
for role in bench_bi_ics bench_bi_trust; do
    who=${role#bench_bi_}
    for q in list mid row head; do
        printf '%-34s %10s %12s %8s %6s\n' "$who reader: $q ($(rows_as $role "$(case $q in head) q_head ptl.ptl_headline ;; *) q_$q ptl.ptl ;; esac)") rows)" \
            "${out[$role.$q.stored]}" "${out[$role.$q.computed]}" \
            "$(ratio "${out[$role.$q.computed]}" "${out[$role.$q.stored]}")x" "${out[$role.$q.same]}"
    done
done
echo "trust reader's list query uses ptl_entry_list_idx: $trust_index"
[ -n "$steps" ] && echo "refresh steps: $steps"
for role in bench_bi_ics bench_bi_trust; do
    for q in list mid row head; do
        [ "${out[$role.$q.same]}" = yes ] || { echo "the stored and computed PTL disagree ($role, $q)" >&2; exit 1; }
    done
done
[ "$trust_index" = yes ] || { echo "the trust reader's list query does not use the list index" >&2; exit 1; }
