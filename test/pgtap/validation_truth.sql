-- Validation against the generator's injected faults: every planted fault a
-- rule should find is found wherever the pathway it spoils is still open at
-- the census (the rules look at the open list), and the list of issues of
-- each such rule holds nothing the truth cannot explain.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(20000, seed => 5) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');

SELECT cmp_ok((SELECT sum(on_open_pathway) FROM ptl_synth.validation_recall()), '>', 100::numeric,
              'the generator planted faults on open pathways');
SELECT is((SELECT coalesce(sum(missed), 0) FROM ptl_synth.validation_recall() WHERE rule_id = 'V01'), 0::numeric,
          'V01 finds every planted missing NHS number on an open pathway');
SELECT is((SELECT coalesce(sum(missed), 0) FROM ptl_synth.validation_recall() WHERE rule_id = 'V02'), 0::numeric,
          'V02 finds every planted invalid NHS number on an open pathway');
SELECT is((SELECT coalesce(sum(missed), 0) FROM ptl_synth.validation_recall() WHERE rule_id = 'V07'), 0::numeric,
          'V07 finds every planted duplicate pathway that is open');

-- No false alarms from V01 and V02: each issue belongs to a planted fault.
SELECT is((SELECT count(*) FROM ptl.validation_issue i
           WHERE i.rule_id IN ('V01', 'V02')
             AND NOT EXISTS (SELECT 1 FROM ptl_synth.fault_pathway f
                             WHERE f.pathway_id = i.pathway_id AND f.rule_id = i.rule_id)),
          0::bigint, 'every V01 and V02 issue is a planted fault');

SELECT * FROM finish();
ROLLBACK;
