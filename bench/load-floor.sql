-- The floor for bench/load.sh: the rows ptl.load() wrote (kept in
-- bench.floor_<table> right after its load), written again into the same
-- emptied canonical tables by a bare INSERT ... SELECT: already typed, no
-- validation, no parent lookups, no upsert, no quarantine, no accounting.
-- Every index, constraint and trigger of the tables is paid, as ptl.load
-- pays them; nothing else is.  No loader of these tables can be faster.
\set ON_ERROR_STOP on
INSERT INTO ptl.patient SELECT * FROM bench.floor_patient;
INSERT INTO ptl.pathway SELECT * FROM bench.floor_pathway;
INSERT INTO ptl.pathway_event SELECT * FROM bench.floor_pathway_event;
INSERT INTO ptl.waiting_list_entry SELECT * FROM bench.floor_waiting_list_entry;
