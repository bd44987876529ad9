-- Empty the canonical tables again (and what refers to them) and put the
-- same staged rows back.
TRUNCATE ptl.waiting_list_entry, ptl.pathway_event, ptl.pathway, ptl.patient,
         ptl.rejected_row, ptl.load_warning, ptl.batch_extract CASCADE;
UPDATE ptl.batch SET status = 'open', loaded_at = NULL;
VACUUM ANALYZE;
