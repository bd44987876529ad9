-- Copies of the staged rows, so ptl.load() and the baseline read the same.
CREATE SCHEMA bench;
CREATE TABLE bench.patient AS SELECT * FROM ptl_stage.patient;
CREATE TABLE bench.pathway AS SELECT * FROM ptl_stage.pathway;
CREATE TABLE bench.pathway_event AS SELECT * FROM ptl_stage.pathway_event;
CREATE TABLE bench.waiting_list_entry AS SELECT * FROM ptl_stage.waiting_list_entry;
CREATE TABLE bench.rejected (extract text, row_no bigint);
VACUUM ANALYZE;
