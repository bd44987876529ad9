#!/usr/bin/env bash
# Runs inside pg_virtualenv; called by bench/ops.sh.  Also runs against any
# cluster the PG* variables name, as a superuser: bash bench/ops-in-cluster.sh 20000
set -euo pipefail
cd "$(dirname "$0")/.."
referrals=$1
psql() { command psql -qX -v ON_ERROR_STOP=1 "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

for db in ptl_ops_daily ptl_ops_direct ptl_ops_admin; do
    dropdb --if-exists $db && createdb $db
    psql -d $db -c 'CREATE EXTENSION ptl' -c 'CREATE EXTENSION ptl_synth'
    psql -d $db -At -c "SELECT count(*) FROM ptl_synth.generate($referrals, seed => 42)" >/dev/null
done

# An administrator's login (a member of ptl_admin, not a superuser, not the
# tables' owner), as pg_cron or the system's cron would run the refresh.  It
# takes the superuser's password, if the cluster asks for one.
psql -d ptl_ops_admin -v pw="${PGPASSWORD:-}" <<'SQL'
SELECT to_regrole('bench_admin') IS NULL AS missing \gset
\if :missing
    CREATE ROLE bench_admin LOGIN IN ROLE ptl_admin;
\endif
SELECT :'pw' <> '' AS has_pw \gset
\if :has_pw
    ALTER ROLE bench_admin PASSWORD :'pw';
\endif
SQL

t0=$(date +%s%N)
psql -d ptl_ops_daily -c "SELECT count(ptl.close_batch(batch_id)) FROM ptl.batch WHERE status = 'open'" >/dev/null
psql -d ptl_ops_daily -c "CALL ptl.daily_refresh('2025-03-31')"
daily=$(ms $t0)
t0=$(date +%s%N)
psql -d ptl_ops_direct -c "SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id)" >/dev/null
psql -d ptl_ops_direct -c "CALL ptl.refresh('2025-03-31')"
direct=$(ms $t0)
t0=$(date +%s%N)
psql -U bench_admin -d ptl_ops_admin -c "SELECT count(ptl.close_batch(batch_id)) FROM ptl.batch WHERE status = 'open'" >/dev/null
psql -U bench_admin -d ptl_ops_admin -c "CALL ptl.daily_refresh('2025-03-31')"
admin=$(ms $t0)
admin_same=$(diff <(psql -d ptl_ops_daily -At -c "SELECT pathway_id, days_waited, list_position FROM ptl.ptl ORDER BY 1") \
                  <(psql -d ptl_ops_admin -At -c "SELECT pathway_id, days_waited, list_position FROM ptl.ptl ORDER BY 1") \
             >/dev/null && echo yes || echo NO)
admin_steps=$(psql -d ptl_ops_admin -At -c "SELECT run_by || ': ' || step_times FROM ptl.refresh_status LIMIT 1")
daily_steps=$(psql -d ptl_ops_daily -At -c "SELECT run_by || ': ' || step_times FROM ptl.refresh_status LIMIT 1")
same=$(diff <(psql -d ptl_ops_daily -At -c "SELECT pathway_id, days_waited, list_position FROM ptl.ptl ORDER BY 1") \
            <(psql -d ptl_ops_direct -At -c "SELECT pathway_id, days_waited, list_position FROM ptl.ptl ORDER BY 1") \
       >/dev/null && echo yes || echo NO)

# Readers: a trust's (the largest trust) and the ICS's, against the owner.
psql -d ptl_ops_daily -c "
    DO \$\$ BEGIN
        IF to_regrole('bench_trust_reader') IS NULL THEN CREATE ROLE bench_trust_reader IN ROLE ptl_reader; END IF;
        IF to_regrole('bench_ics_reader') IS NULL THEN CREATE ROLE bench_ics_reader IN ROLE ptl_reader; END IF;
    END \$\$;
    INSERT INTO ptl.user_organisation (role_name, org_code)
    SELECT 'bench_trust_reader', (SELECT provider_org FROM ptl.ptl GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
    UNION ALL SELECT 'bench_ics_reader', min(org_code) FROM ptl.organisation WHERE org_kind = 'ics'
    ON CONFLICT DO NOTHING"
read_as() {   # role query -> best of three, ms
    local best=999999999 t
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        psql -d ptl_ops_daily -At -c "SET ROLE $1" -c "$2" >/dev/null
        t=$(ms $t0); [ "$t" -lt "$best" ] && best=$t
    done
    echo $best
}
ptl_q="SELECT count(*), sum(days_waited), max(list_position) FROM ptl.ptl"
period_q="SELECT count(*), sum(days_waited) FROM ptl.rtt_period"
ptl_owner=$(read_as postgres "$ptl_q"); ptl_ics=$(read_as bench_ics_reader "$ptl_q"); ptl_trust=$(read_as bench_trust_reader "$ptl_q")
per_owner=$(read_as postgres "$period_q"); per_ics=$(read_as bench_ics_reader "$period_q"); per_trust=$(read_as bench_trust_reader "$period_q")
rows=$(psql -d ptl_ops_daily -At -c "SELECT count(*) FROM ptl.ptl")
trust_rows=$(psql -d ptl_ops_daily -At -c "SET ROLE bench_trust_reader" -c "SELECT count(*) FROM ptl.ptl")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }'; }
echo
echo "ptl ops benchmark: $referrals referrals, $rows on the PTL ($trust_rows for the largest trust)"
printf '%-58s %9s %9s %7s\n' "work" "ptl ms" "base ms" "ratio"
printf '%-58s %9s %9s %7s\n' "daily_refresh vs load + refresh (same PTL: $same)" "$daily" "$direct" "$(ratio "$daily" "$direct")"
printf '%-58s %9s %9s %7s\n' "admin's daily_refresh vs the superuser's (same PTL: $admin_same)" "$admin" "$daily" "$(ratio "$admin" "$daily")"
printf '%-58s %9s %9s %7s\n' "ptl.ptl as the ICS's reader vs the owner" "$ptl_ics" "$ptl_owner" "$(ratio "$ptl_ics" "$ptl_owner")"
printf '%-58s %9s %9s %7s\n' "ptl.ptl as a trust's reader vs the owner" "$ptl_trust" "$ptl_owner" "$(ratio "$ptl_trust" "$ptl_owner")"
printf '%-58s %9s %9s %7s\n' "rtt_period as the ICS's reader vs the owner" "$per_ics" "$per_owner" "$(ratio "$per_ics" "$per_owner")"
printf '%-58s %9s %9s %7s\n' "rtt_period as a trust's reader vs the owner" "$per_trust" "$per_owner" "$(ratio "$per_trust" "$per_owner")"
echo "steps, $daily_steps"
echo "steps, $admin_steps"
