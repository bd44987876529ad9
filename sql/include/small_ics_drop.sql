-- Removes the small ICS of sql/include/small_ics.sql.
DELETE FROM pathway_event;
DELETE FROM pathway;
DELETE FROM patient;
DELETE FROM rtt_dirty_pathway;
DELETE FROM batch WHERE batch_id IN (901, 902);
DELETE FROM commissioner WHERE commissioner_code = '01A';
DELETE FROM site WHERE site_code IN ('RA101', 'RA201');
DELETE FROM organisation WHERE org_code IN ('RA1', 'RA2');
DELETE FROM organisation WHERE org_code = 'QAA';
DROP FUNCTION rtt_test_pathway;
