-- ptl 0.2.0 -> 0.3.0: patient journey stages and bottlenecks, planned bed
-- occupancy, the weekly PTL pack, and outpatients (follow-up backlogs, PIFU,
-- measures, the independent sector).  Built by scripts/build-upgrade: the
-- --@ lines take definitions from src/, so a changed object is defined once.
-- test/t/upgrade.sh checks that an updated database's catalogue equals a
-- fresh install's.
\echo Use "ALTER EXTENSION ptl UPDATE TO '0.3.0'" to load this file. \quit

-- Settings for lengths of stay, the bed horizon and bottlenecks (added at
-- the end, as a fresh install has them).
ALTER TABLE ptl.ops_setting
    ADD COLUMN los_percentile float8 NOT NULL DEFAULT 0.8 CHECK (los_percentile > 0 AND los_percentile < 1),
    ADD COLUMN los_history interval NOT NULL DEFAULT '1 year' CHECK (los_history > interval '0'),
    ADD COLUMN los_min_spells int NOT NULL DEFAULT 5 CHECK (los_min_spells >= 1),
    ADD COLUMN bed_horizon_days int NOT NULL DEFAULT 42 CHECK (bed_horizon_days BETWEEN 1 AND 366),
    ADD COLUMN bottleneck_weeks int NOT NULL DEFAULT 4 CHECK (bottleneck_weeks >= 1);
COMMENT ON COLUMN ptl.ops_setting.los_percentile IS
    'Length-of-stay percentile planned bed occupancy assumes for every admission (default 0.8: the stay 80% of past patients were home within)';
COMMENT ON COLUMN ptl.ops_setting.los_history IS 'How far back past elective spells are read for lengths of stay (default 1 year)';
COMMENT ON COLUMN ptl.ops_setting.los_min_spells IS
    'Past spells of a procedure needed to use its own stays; with fewer, its specialty''s are used (default 5)';
COMMENT ON COLUMN ptl.ops_setting.bed_horizon_days IS 'Days ahead planned bed occupancy looks (default 42, six weeks)';
COMMENT ON COLUMN ptl.ops_setting.bottleneck_weeks IS 'Recent weeks whose entries and exits measure a stage''s growth and clearance time (default 4)';

-- Each snapshot month gets an index of its long waiters (the weekly pack's
-- trend reads 26 censuses through it): new months from the function, the
-- months already there and the default partition here.
CREATE OR REPLACE FUNCTION ptl.census_snapshot_partition(census date) RETURNS regclass
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month_start date := date_trunc('month', census)::date;
    month_end date := (date_trunc('month', census) + interval '1 month')::date;
    part_name text := format('census_snapshot_y%sm%s', to_char(census, 'YYYY'), to_char(census, 'MM'));
    part regclass;
BEGIN
    IF census IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', census
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := to_regclass(format('ptl.%I', part_name));
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    -- Made beside the parent, then attached: attaching scans only the new
    -- month, and the default partition gives up its rows for it first.
    LOCK TABLE ptl.census_snapshot_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE ptl.%I (LIKE ptl.census_snapshot INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part_name);
    EXECUTE format('INSERT INTO ptl.%I SELECT * FROM ptl.census_snapshot_default
                    WHERE census_date >= %L AND census_date < %L', part_name, month_start, month_end);
    DELETE FROM ptl.census_snapshot_default d WHERE d.census_date >= month_start AND d.census_date < month_end;
    EXECUTE format('ALTER TABLE ptl.%I ADD CONSTRAINT %I CHECK (census_date >= %L AND census_date < %L),
                    ADD PRIMARY KEY (census_date, pathway_id, period_no)',
                   part_name, part_name || '_month', month_start, month_end);
    EXECUTE format('CREATE INDEX %I ON ptl.%I (census_date, provider_org, rtt_line)',
                   part_name || '_provider_idx', part_name);
    -- long waiters at each census, for trends (the weekly pack)
    EXECUTE format('CREATE INDEX %I ON ptl.%I (census_date, provider_org, days_waited) WHERE days_waited > 364',
                   part_name || '_long_wait_idx', part_name);
    EXECUTE format('ALTER TABLE ptl.census_snapshot ATTACH PARTITION ptl.%I FOR VALUES FROM (%L) TO (%L)',
                   part_name, month_start, month_end);
    EXECUTE format('COMMENT ON TABLE ptl.%I IS %L', part_name,
                   format('Census snapshots of %s (a partition of ptl.census_snapshot)', to_char(census, 'FMMonth YYYY')));
    RETURN format('ptl.%I', part_name)::regclass;
END
$$;
CREATE INDEX census_snapshot_default_long_wait_idx ON ptl.census_snapshot_default (census_date, provider_org, days_waited)
    WHERE days_waited > 364;
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
                WHERE i.inhparent = 'ptl.census_snapshot'::regclass
                  AND i.inhrelid <> 'ptl.census_snapshot_default'::regclass
    LOOP
        EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (census_date, provider_org, days_waited) WHERE days_waited > 364',
                                  (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = part) || '_long_wait_idx', part);
    END LOOP;
END
$$;

-- The refresh derives journey stages after the clocks.
CREATE OR REPLACE PROCEDURE ptl.refresh(census date DEFAULT current_date, "full" boolean DEFAULT false)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    last_census date;
    everything boolean := "full";
    computed record;
    n_snapshot bigint;
    n_validation bigint;
    n_target bigint;
    n_link bigint;
    n_journey bigint;
    steps jsonb := '[]';
    step_began timestamptz;
    daily_run bigint := nullif(current_setting('ptl.daily_refresh_run', true), '')::bigint;
BEGIN
    IF census IS NULL OR census = 'infinity' OR census = '-infinity' THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One refresh at a time; readers (ACCESS SHARE) are not blocked and see
    -- the old list until this transaction commits.
    LOCK TABLE ptl.rtt_pathway IN SHARE ROW EXCLUSIVE MODE;
    steps := ptl.refresh_step(steps, 'table_lock', started);

    SELECT r.census INTO last_census FROM ptl.refresh_run r
    WHERE r.status = 'succeeded' ORDER BY r.run_id DESC LIMIT 1;
    -- Going back in time, or never computed: everything.
    IF last_census IS NULL OR census < last_census THEN
        everything := true;
    END IF;

    -- Statistics the planner can trust before anything joins: a load, or
    -- rows rolled back since autovacuum last looked, leave them stale.
    step_began := clock_timestamp();
    PERFORM ptl.analyze_if_grown(t)
    FROM unnest(ARRAY['ptl.patient', 'ptl.pathway', 'ptl.pathway_event', 'ptl.waiting_list_entry',
                      'ptl.rtt_dirty_pathway', 'ptl.rtt_pathway', 'ptl.rtt_period', 'ptl.person_link',
                      'ptl.pathway_link', 'ptl.pathway_transfer', 'ptl.pathway_duplicate',
                      'ptl.census_snapshot', 'ptl.waiting_list_suspension', 'ptl.risk_assessment',
                      'ptl.clinical_priority_history']::regclass[]) t;
    steps := ptl.refresh_step(steps, 'analyze', step_began);
    step_began := clock_timestamp();

    -- Link first (link/): persons when patient records changed since the
    -- last linkage run, then pathways across providers.
    IF NOT EXISTS (SELECT 1 FROM ptl.link_run)
       OR EXISTS (SELECT 1 FROM ptl.patient p
                  WHERE p.updated_at >= (SELECT max(r.started_at) FROM ptl.link_run r))
       OR (SELECT count(*) FROM ptl.patient)
          <> (SELECT r.records FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1) THEN
        PERFORM ptl.link_persons();
    END IF;
    IF to_regclass('pg_temp.rtt_receiver_before') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_receiver_before;
    END IF;
    CREATE TEMP TABLE rtt_receiver_before ON COMMIT DROP AS
    SELECT DISTINCT receiver_pathway_id AS pathway_id FROM ptl.pathway_transfer;
    PERFORM ptl.link_pathways();
    n_link := (SELECT count(*) FROM ptl.pathway_transfer);
    steps := ptl.refresh_step(steps, 'link', step_began, n_link);
    step_began := clock_timestamp();

    IF to_regclass('pg_temp.rtt_target') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_target;
    END IF;
    CREATE TEMP TABLE rtt_target (pathway_id bigint PRIMARY KEY) ON COMMIT DROP;
    IF everything THEN
        DELETE FROM ptl.rtt_dirty_pathway;
        INSERT INTO rtt_target SELECT pathway_id FROM ptl.pathway;
        -- Pathway records that no longer exist lose their clocks.
        DELETE FROM ptl.rtt_pathway r WHERE NOT EXISTS (SELECT 1 FROM rtt_target t WHERE t.pathway_id = r.pathway_id);
    ELSE
        WITH taken AS (DELETE FROM ptl.rtt_dirty_pathway RETURNING pathway_id)
        INSERT INTO rtt_target
        SELECT pathway_id FROM taken
        UNION
        -- events that were in the future at the last census are not any more
        SELECT pathway_id FROM ptl.rtt_pathway WHERE next_event_date <= census
        UNION
        SELECT p.pathway_id FROM ptl.pathway p
        WHERE NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway r WHERE r.pathway_id = p.pathway_id);
        -- Receivers of transfers (before and after this linkage) run on their
        -- senders' events too: a few, always recomputed.
        INSERT INTO rtt_target
        SELECT pathway_id FROM rtt_receiver_before
        UNION
        SELECT receiver_pathway_id FROM ptl.pathway_transfer
        ON CONFLICT DO NOTHING;
        DELETE FROM rtt_target t WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = t.pathway_id);
    END IF;
    ANALYZE rtt_target;
    -- After a big load the planner's statistics are stale (autovacuum has not
    -- caught up) and a bad join plan costs minutes; sampling costs a second.
    SELECT count(*) INTO n_target FROM rtt_target;
    IF n_target > 10000 THEN
        ANALYZE ptl.pathway, ptl.pathway_event, ptl.patient, ptl.waiting_list_entry;
    END IF;

    computed := ptl.rtt_compute(census);
    IF n_target > 10000 THEN
        ANALYZE ptl.rtt_pathway, ptl.rtt_period, ptl.rtt_event_issue;
    END IF;

    -- The other incomplete periods only grow older.
    UPDATE ptl.rtt_period
    SET census = refresh.census,
        days_waited = refresh.census - clock_start,
        week_band = CASE WHEN refresh.census - clock_start >= 0
                         THEN ptl.rtt_week_band(refresh.census - clock_start) END,
        adjusted_days = refresh.census - clock_start
    WHERE outcome = 'incomplete' AND rtt_period.census <> refresh.census;
    UPDATE ptl.rtt_pathway SET census = refresh.census WHERE rtt_pathway.census <> refresh.census;
    steps := ptl.refresh_step(steps, 'clock', step_began, computed.pathways);
    step_began := clock_timestamp();

    -- Journey stages (journey/journey.sql) of the same pathways.
    n_journey := ptl.journey_compute(census, CASE WHEN NOT everything THEN ARRAY(SELECT t.pathway_id FROM rtt_target t) END);
    steps := ptl.refresh_step(steps, 'journey', step_began, n_journey);
    step_began := clock_timestamp();

    PERFORM ptl.find_pathway_duplicates(census);
    n_validation := ptl.validate(census);
    steps := ptl.refresh_step(steps, 'validate', step_began, n_validation);
    step_began := clock_timestamp();

    -- Rank and snapshot: ptl.ptl orders each list (list_position) as it is
    -- read, and the snapshot keeps that order for the census.
    PERFORM ptl.census_snapshot_partition(census);

    DELETE FROM ptl.census_snapshot s WHERE s.census_date = census;
    INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                     treatment_function, rtt_line, commissioner_code, referral_priority,
                                     clinical_priority, clock_start, days_waited, week_band, has_dta,
                                     target_date, list_position)
    SELECT census, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function,
           l.rtt_line, l.commissioner_code, l.referral_priority, l.clinical_priority,
           l.clock_start, l.days_waited, l.week_band, l.has_dta, l.target_date, l.list_position
    FROM ptl.ptl l;
    GET DIAGNOSTICS n_snapshot = ROW_COUNT;
    steps := ptl.refresh_step(steps, 'rank_and_snapshot', step_began, n_snapshot);

    IF daily_run IS NULL THEN
        INSERT INTO ptl.refresh_run (census, full_refresh, started_at, pathways_computed, periods,
                                     event_issues, validation_issues, snapshot_rows, steps)
        VALUES (census, everything, started, computed.pathways, computed.periods, computed.issues,
                n_validation, n_snapshot, steps);
    ELSE
        -- Under ptl.daily_refresh, which finishes its own row.
        UPDATE ptl.refresh_run r
        SET full_refresh = everything, pathways_computed = computed.pathways, periods = computed.periods,
            event_issues = computed.issues, validation_issues = n_validation, snapshot_rows = n_snapshot,
            steps = r.steps || steps
        WHERE r.run_id = daily_run;
    END IF;
END
$$;

-- Validation campaigns run on the non-RTT follow-up list too (added at the
-- end, as a fresh install has them).
ALTER TABLE ptl.validation_campaign
    ADD COLUMN list text NOT NULL DEFAULT 'rtt' CHECK (list IN ('rtt', 'follow_up')),
    ADD COLUMN min_days_past_lcad int,
    ADD CONSTRAINT validation_campaign_check CHECK ((list = 'follow_up') = (min_days_past_lcad IS NOT NULL));
COMMENT ON COLUMN ptl.validation_campaign.list IS 'rtt (the PTL) or follow_up (the non-RTT follow-up list, ptl.follow_up_list)';
COMMENT ON COLUMN ptl.validation_campaign.min_days_past_lcad IS 'Follow-up campaigns: follow-ups at least this many days past their LCAD';

-- New capabilities.
-- from src/journey/journey.sql
-- ---------------------------------------------------------------------------
-- journey: where each pathway is in its journey (the stage it waits in, how
-- long it has been there), the weekly flows between stages, and the stages
-- whose queue grows faster than it clears.  docs/journey.md.
--
-- A pathway's stage is derived from its events, replayed in date order: each
-- event either moves the pathway to a stage or leaves it where it is.  Which
-- stage an event means is data (ptl.journey_stage_rule), because trusts code
-- the same step differently; a trust's own rules beat the ICS-wide ones.
-- Waiting-list entries add what events may not say: a decision to admit, a
-- booked admission date, and removal from the list.  ptl.refresh derives the
-- stages (ptl.journey_compute) for the pathways it recomputes.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.journey_stage (
    stage           text PRIMARY KEY CHECK (stage ~ '^[a-z_]+$'),
    label           text NOT NULL,
    sort_order      int NOT NULL UNIQUE,
    closed          boolean NOT NULL,
    queue           boolean NOT NULL,
    description     text NOT NULL,
    shipped         boolean NOT NULL DEFAULT false,
    CHECK (NOT (closed AND queue))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage', 'WHERE NOT shipped');
COMMENT ON TABLE ptl.journey_stage IS
    'The stages of a patient''s journey: open ones a pathway waits in, closed ones it ends in. ptl ships the stages of docs/journey.md; a trust may add its own';
COMMENT ON COLUMN ptl.journey_stage.stage IS 'Name of the stage, e.g. awaiting_first_outpatient';
COMMENT ON COLUMN ptl.journey_stage.label IS 'The stage in words, for reports';
COMMENT ON COLUMN ptl.journey_stage.sort_order IS 'Order along the journey, for reports';
COMMENT ON COLUMN ptl.journey_stage.closed IS 'True for stages a pathway ends in (treated, discharged, died)';
COMMENT ON COLUMN ptl.journey_stage.queue IS
    'True for stages where the provider owes the next step: these are the queues whose growth flags a bottleneck';
COMMENT ON COLUMN ptl.journey_stage.description IS 'What being in the stage means';
COMMENT ON COLUMN ptl.journey_stage.shipped IS 'True for the stages ptl ships';

INSERT INTO ptl.journey_stage (stage, label, sort_order, closed, queue, description, shipped) VALUES
    ('awaiting_first_outpatient', 'Awaiting first outpatient appointment', 10, false, true,
     'Referred (or transferred in) and not yet seen: first appointments booked, cancelled or not attended leave the patient here', true),
    ('awaiting_follow_up', 'Awaiting follow-up or diagnostics', 20, false, true,
     'Seen, with the clock running: waiting for a further appointment, a test or its result before a decision', true),
    ('decision_to_admit_no_date', 'Decision to admit, no date', 30, false, true,
     'On the admitted waiting list without an admission date (or the offered date was declined)', true),
    ('date_booked', 'Admission date booked', 40, false, true,
     'On the admitted waiting list with a date to come in', true),
    ('active_monitoring', 'Active monitoring', 50, false, false,
     'Clock stopped for active monitoring (watchful waiting): reviewed, not treated, for now', true),
    ('transferred', 'Transferred to another provider', 60, false, false,
     'Sent to another provider, who carries the pathway on', true),
    ('treated', 'Treated', 70, true, false,
     'First definitive treatment given (clock stopped), including follow-up afterwards', true),
    ('discharged', 'Discharged without treatment', 80, true, false,
     'Discharged, or a decision not to treat, or taken off the list as no longer needed', true),
    ('declined', 'Declined treatment', 90, true, false,
     'The patient declined treatment', true),
    ('died', 'Died', 100, true, false,
     'The patient died before treatment', true);

CREATE TABLE ptl.journey_stage_rule (
    rule_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider_org    text REFERENCES ptl.organisation (org_code),
    kind            ptl.event_kind NOT NULL,
    rtt_status      text CHECK (rtt_status ~ '^[0-9]{2}$'),
    stage           text REFERENCES ptl.journey_stage (stage),
    shipped         boolean NOT NULL DEFAULT false,
    set_at          timestamptz NOT NULL DEFAULT now(),
    set_by          text NOT NULL DEFAULT current_user,
    note            text
);
CREATE UNIQUE INDEX journey_stage_rule_key_idx
    ON ptl.journey_stage_rule (coalesce(provider_org, ''), kind, coalesce(rtt_status, ''), shipped);
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage_rule', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage_rule_rule_id_seq', '');
COMMENT ON TABLE ptl.journey_stage_rule IS
    'Which stage an event moves its pathway to, by event kind and RTT status. The most specific rule wins: an exact status before any status, then a provider''s own rule before the ICS-wide one, then a rule a trust added before the one ptl ships. A change takes effect for every pathway at the next refresh';
COMMENT ON COLUMN ptl.journey_stage_rule.rule_id IS 'ptl''s key for the rule';
COMMENT ON COLUMN ptl.journey_stage_rule.provider_org IS 'The provider whose events the rule reads (NULL: every provider)';
COMMENT ON COLUMN ptl.journey_stage_rule.kind IS 'Event kind';
COMMENT ON COLUMN ptl.journey_stage_rule.rtt_status IS 'RTT status recorded on the event (NULL: any status, or none)';
COMMENT ON COLUMN ptl.journey_stage_rule.stage IS 'Stage the event moves the pathway to (NULL: the event leaves the stage as it is)';
COMMENT ON COLUMN ptl.journey_stage_rule.shipped IS 'True for the rules ptl ships';
COMMENT ON COLUMN ptl.journey_stage_rule.set_at IS 'When the rule was set';
COMMENT ON COLUMN ptl.journey_stage_rule.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.journey_stage_rule.note IS 'Why the rule is as it is';

-- The shipped reading of the national RTT statuses (rtt-rules.md 9.1 and
-- the status codes of its section 3): 10-12 start or continue a clock, 20
-- continues, 21 transfers, 30 treats, 31/32 start active monitoring, 33
-- is a first-appointment DNA, 34 a decision not to treat, 35 a patient
-- declining, 36 death, 90-92 activity after the clock stopped, 98 outside RTT.
INSERT INTO ptl.journey_stage_rule (kind, rtt_status, stage, shipped, set_at, set_by, note)
SELECT v.kind::ptl.event_kind, v.status, v.stage, true, '-infinity', 'ptl', v.note
FROM (VALUES
    ('referral', NULL, 'awaiting_first_outpatient', 'A new referral waits to be seen'),
    ('transfer_in', NULL, 'awaiting_first_outpatient', 'The receiving provider has yet to see the patient'),
    ('outpatient', NULL, 'awaiting_follow_up', 'Seen: what comes next is a further appointment, test or decision'),
    ('outpatient', '10', 'awaiting_follow_up', 'First activity: seen, clock running'),
    ('outpatient', '20', 'awaiting_follow_up', 'Subsequent activity, clock running'),
    ('outpatient', '21', 'transferred', 'Transferred to another provider at the appointment'),
    ('outpatient', '30', 'treated', 'First definitive treatment in clinic'),
    ('outpatient', '31', 'active_monitoring', 'Active monitoring started by the patient'),
    ('outpatient', '32', 'active_monitoring', 'Active monitoring started by the clinician'),
    ('outpatient', '34', 'discharged', 'Decision not to treat'),
    ('outpatient', '35', 'declined', 'Patient declined treatment'),
    ('outpatient', '36', 'died', 'Patient died'),
    ('outpatient', '90', 'treated', 'Follow-up after treatment: the clock stopped earlier'),
    ('outpatient', '91', 'active_monitoring', 'Review during active monitoring'),
    ('outpatient', '92', NULL, 'Not yet referred for treatment: no change'),
    ('outpatient', '98', NULL, 'Outside RTT: no change'),
    ('dna', NULL, NULL, 'A missed appointment leaves the patient where they were'),
    ('patient_cancel', NULL, NULL, 'A cancelled appointment leaves the patient where they were'),
    ('provider_cancel', NULL, NULL, 'A cancelled appointment leaves the patient where they were'),
    ('decision_to_admit', NULL, 'decision_to_admit_no_date', 'Added to the admitted waiting list'),
    ('tci_offer', NULL, 'date_booked', 'An admission date offered'),
    ('tci_declined', NULL, 'decision_to_admit_no_date', 'The offered date declined: back to waiting for one'),
    ('admission', NULL, 'treated', 'Admitted for treatment'),
    ('admission', '20', 'awaiting_follow_up', 'Admitted for a diagnostic procedure: the clock runs on'),
    ('admission', '10', 'awaiting_follow_up', 'Admitted for a diagnostic procedure: the clock runs on'),
    ('decision', NULL, NULL, 'A decision without a status: no change'),
    ('decision', '10', 'awaiting_follow_up', 'A new clock starts'),
    ('decision', '11', 'awaiting_follow_up', 'A new clock starts after active monitoring'),
    ('decision', '12', 'awaiting_follow_up', 'A new clock starts for a second treatment'),
    ('decision', '20', 'awaiting_follow_up', 'Clock continues'),
    ('decision', '21', 'transferred', 'Transferred to another provider'),
    ('decision', '30', 'treated', 'First definitive treatment'),
    ('decision', '31', 'active_monitoring', 'Active monitoring started by the patient'),
    ('decision', '32', 'active_monitoring', 'Active monitoring started by the clinician'),
    ('decision', '34', 'discharged', 'Decision not to treat'),
    ('decision', '35', 'declined', 'Patient declined treatment'),
    ('decision', '36', 'died', 'Patient died'),
    ('discharge', NULL, 'discharged', 'Discharged back to the referrer'),
    ('discharge', '30', 'treated', 'Discharged after treatment'),
    ('transfer_out', NULL, 'transferred', 'Sent to another provider'),
    ('death', NULL, 'died', 'Patient died'),
    ('patient_ready', NULL, NULL, 'Patient available again (pre-2015 pause): no change')
) AS v (kind, status, stage, note);

-- A changed rule may move any pathway of the providers it covers: the next
-- refresh derives their stages (and clocks) again.
CREATE FUNCTION ptl.journey_stage_rule_changed() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    INSERT INTO ptl.rtt_dirty_pathway (pathway_id)
    SELECT p.pathway_id FROM ptl.pathway p
    WHERE EXISTS (SELECT 1 FROM changed_rows c WHERE c.provider_org IS NULL OR c.provider_org = p.provider_org)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.journey_stage_rule_changed() IS
    'Trigger: marks the pathways of the providers a changed journey stage rule covers for the next refresh';
CREATE TRIGGER journey_stage_rule_inserted AFTER INSERT ON ptl.journey_stage_rule
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();
CREATE TRIGGER journey_stage_rule_updated AFTER UPDATE ON ptl.journey_stage_rule
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();
CREATE TRIGGER journey_stage_rule_deleted AFTER DELETE ON ptl.journey_stage_rule
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();

-- The rule in force for each provider, event kind and status key ('*' =
-- any status): for each, a provider's own rule before the ICS-wide one, a
-- trust's before a shipped one.  An event takes the rule of its exact status
-- if there is one, else that of '*'.
CREATE VIEW ptl.journey_stage_rule_in_force AS
SELECT DISTINCT ON (o.org_code, r.kind, coalesce(r.rtt_status, '*'))
       o.org_code AS provider_org, r.kind, coalesce(r.rtt_status, '*') AS rtt_status, r.stage, r.rule_id
FROM ptl.organisation o
JOIN ptl.journey_stage_rule r ON r.provider_org IS NULL OR r.provider_org = o.org_code
ORDER BY o.org_code, r.kind, coalesce(r.rtt_status, '*'), r.provider_org IS NULL, r.shipped, r.set_at DESC;
COMMENT ON VIEW ptl.journey_stage_rule_in_force IS
    'For each provider, the stage rule in force per event kind and status (''*'': any status); an event takes its exact status''s rule, else ''*''''s';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.kind IS 'Event kind';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.rtt_status IS 'RTT status, or * for any';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.stage IS 'Stage the event moves the pathway to (NULL: no change)';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.rule_id IS 'The rule (ptl.journey_stage_rule)';

-- Derived, and written only by ptl.journey_compute from the pathways and
-- the stage rules, so it carries no foreign keys: checking four of them on
-- each of some three million rows a full derivation writes at a million
-- referrals took most of its time.  The pathway's provider and specialty
-- are copied in, so that flows and bottlenecks count without a join.
CREATE TABLE ptl.journey_episode (
    pathway_id      bigint NOT NULL,
    episode_no      int NOT NULL CHECK (episode_no > 0),
    provider_org    text NOT NULL,
    treatment_function text NOT NULL,
    stage           text NOT NULL,
    previous_stage  text,
    entered         date NOT NULL,
    entered_by      text NOT NULL,
    left_on         date,
    next_stage      text,
    census          date NOT NULL,
    PRIMARY KEY (pathway_id, episode_no),
    CHECK (left_on IS NULL OR left_on >= entered),
    CHECK ((left_on IS NULL) = (next_stage IS NULL))
);
CREATE INDEX journey_episode_entered_idx ON ptl.journey_episode (entered);
CREATE INDEX journey_episode_current_idx ON ptl.journey_episode (stage) WHERE left_on IS NULL;
COMMENT ON TABLE ptl.journey_episode IS
    'Each pathway''s stages in turn, derived from its events and waiting-list entries up to the census of the last refresh (ptl.journey_compute); the row without left_on is where it is now';
COMMENT ON COLUMN ptl.journey_episode.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.journey_episode.episode_no IS 'Order of the stage on the pathway (1 = first)';
COMMENT ON COLUMN ptl.journey_episode.provider_org IS 'Provider of the pathway record (copied, for counting without a join)';
COMMENT ON COLUMN ptl.journey_episode.treatment_function IS 'Treatment function of the pathway record (copied, as provider_org)';
COMMENT ON COLUMN ptl.journey_episode.stage IS 'Stage (ptl.journey_stage)';
COMMENT ON COLUMN ptl.journey_episode.previous_stage IS 'Stage before (NULL on the first)';
COMMENT ON COLUMN ptl.journey_episode.entered IS 'Date the pathway entered the stage';
COMMENT ON COLUMN ptl.journey_episode.entered_by IS
    'What moved it there: an event kind (e.g. outpatient), or entry_decision, entry_booked, entry_admitted, entry_removed for a waiting-list entry';
COMMENT ON COLUMN ptl.journey_episode.left_on IS 'Date it left the stage (NULL: still in it)';
COMMENT ON COLUMN ptl.journey_episode.next_stage IS 'Stage it left for (NULL: still in it)';
COMMENT ON COLUMN ptl.journey_episode.census IS 'Census the stages were derived at';

-- Replays the events (on or before the census) of the given pathways, or of
-- all with NULL, through the rules in force, and stores their stages.  An
-- event whose rule says NULL (or that no rule covers) leaves the stage as it
-- is; consecutive events meaning the same stage continue one stay in it.
-- Waiting-list entries add their decision to admit, their booked date (when
-- it is known, from the first theatre booking, else from when ptl saw the
-- entry; never before the decision) and their removal.  Returns the stages
-- stored.
CREATE FUNCTION ptl.journey_compute(census date, pathways bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    n bigint;
BEGIN
    IF census IS NULL OR NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass('pg_temp.journey_target') IS NOT NULL THEN
        DROP TABLE pg_temp.journey_target;
    END IF;
    CREATE TEMP TABLE journey_target ON COMMIT DROP AS
    SELECT p.pathway_id, p.provider_org, p.treatment_function FROM ptl.pathway p WHERE pathways IS NULL
    UNION ALL
    SELECT p.pathway_id, p.provider_org, p.treatment_function FROM (SELECT DISTINCT u.id FROM unnest(pathways) u (id)) u
    JOIN ptl.pathway p ON p.pathway_id = u.id
    WHERE pathways IS NOT NULL;
    ALTER TABLE journey_target ADD PRIMARY KEY (pathway_id);
    ANALYZE journey_target;

    -- (DELETE, not TRUNCATE: readers keep seeing the old stages until commit)
    IF pathways IS NULL THEN
        DELETE FROM ptl.journey_episode;
    ELSE
        DELETE FROM ptl.journey_episode e USING journey_target t WHERE e.pathway_id = t.pathway_id;
    END IF;

    INSERT INTO ptl.journey_episode (pathway_id, episode_no, provider_org, treatment_function, stage, previous_stage,
                                     entered, entered_by, left_on, next_stage, census)
    WITH rule AS (
        SELECT * FROM ptl.journey_stage_rule_in_force
    ),
    happening AS (
        -- Events, with the stage their rule in force gives (exact status first).
        SELECT e.pathway_id, e.event_date AS on_date, 0 AS source_order, e.event_id AS tiebreak,
               e.kind::text AS what, coalesce(exact.stage, anystatus.stage) AS stage
        FROM ptl.pathway_event e
        JOIN journey_target t ON t.pathway_id = e.pathway_id
        LEFT JOIN rule exact ON exact.provider_org = t.provider_org AND exact.kind = e.kind
                            AND exact.rtt_status = e.rtt_status::text
        LEFT JOIN rule anystatus ON anystatus.provider_org = t.provider_org AND anystatus.kind = e.kind
                                AND anystatus.rtt_status = '*'
        WHERE e.event_date <= census
        UNION ALL
        -- Waiting-list entries: the decision, the date booked, the removal.
        SELECT w.pathway_id, x.on_date, x.source_order, w.entry_id, x.what, x.stage
        FROM ptl.waiting_list_entry w
        JOIN journey_target t ON t.pathway_id = w.pathway_id
        CROSS JOIN LATERAL (VALUES
            (w.decision_to_admit, 1, 'entry_decision', 'decision_to_admit_no_date'),
            (CASE WHEN w.tci_date IS NOT NULL AND w.removed_date IS NULL
                  THEN greatest(w.decision_to_admit,
                                least(coalesce((SELECT min(b.booked_at)::date FROM ptl.theatre_booking b
                                                WHERE b.entry_id = w.entry_id AND b.status <> 'cancelled'),
                                               w.updated_at::date),
                                      w.tci_date, census)) END,
             2, 'entry_booked', 'date_booked'),
            (w.removed_date, 3,
             CASE w.removal_reason WHEN 'admitted' THEN 'entry_admitted' ELSE 'entry_removed' END,
             CASE w.removal_reason WHEN 'admitted' THEN 'treated' WHEN 'no_longer_required' THEN 'discharged'
                                   WHEN 'died' THEN 'died' WHEN 'transferred' THEN 'transferred' END)
        ) AS x (on_date, source_order, what, stage)
        WHERE x.on_date IS NOT NULL AND x.on_date <= census AND x.stage IS NOT NULL
          AND w.decision_to_admit <= census
    ),
    runs AS (
        -- The happenings that name a stage, in order; the others leave the
        -- pathway where it was.
        SELECT h.pathway_id, h.on_date, h.what, h.stage,
               row_number() OVER w AS run, lag(h.stage) OVER w AS before
        FROM happening h
        WHERE h.stage IS NOT NULL
        WINDOW w AS (PARTITION BY h.pathway_id ORDER BY h.on_date, h.source_order, h.tiebreak)
    ),
    stays AS (
        -- A run that names the stage the pathway is already in continues it.
        SELECT r.pathway_id, r.on_date, r.what, r.stage, r.before,
               row_number() OVER w AS episode_no,
               lead(r.on_date) OVER w AS left_on,
               lead(r.stage) OVER w AS next_stage
        FROM runs r
        WHERE r.before IS DISTINCT FROM r.stage
        WINDOW w AS (PARTITION BY r.pathway_id ORDER BY r.run)
    )
    SELECT s.pathway_id, s.episode_no, t.provider_org, t.treatment_function, s.stage, s.before, s.on_date, s.what,
           s.left_on, s.next_stage, census
    FROM stays s
    JOIN journey_target t ON t.pathway_id = s.pathway_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- The stages of the other pathways are as they were, only older.
    UPDATE ptl.journey_episode e SET census = census
    WHERE e.left_on IS NULL AND e.census <> census;
    PERFORM ptl.analyze_if_grown('ptl.journey_episode');
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.journey_compute(date, bigint[]) IS
    'Derives the journey stages of the given pathways (NULL: all) from their events and waiting-list entries up to the census, through the stage rules in force; stores them in ptl.journey_episode and returns how many';

-- A change to a waiting-list entry (a decision, a date booked, a removal)
-- moves its pathway's stage: the next refresh derives it again.
CREATE TRIGGER waiting_list_entry_inserted AFTER INSERT ON ptl.waiting_list_entry
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER waiting_list_entry_updated AFTER UPDATE ON ptl.waiting_list_entry
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER waiting_list_entry_deleted AFTER DELETE ON ptl.waiting_list_entry
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();

-- Where every open pathway is now.
CREATE VIEW ptl.journey AS
SELECT e.pathway_id, p.patient_id, p.provider_org, p.site_code, p.treatment_function,
       e.stage, s.label AS stage_label, s.queue, e.entered AS stage_entered, e.entered_by,
       e.census - e.entered AS days_in_stage,
       (e.census - e.entered) / 7 AS weeks_in_stage,
       p.referral_received,
       e.census - p.referral_received AS days_on_pathway,
       (e.census - p.referral_received) / 7 AS weeks_on_pathway,
       o.days_waited AS rtt_days_waited,
       e.census
FROM ptl.journey_episode e
JOIN ptl.journey_stage s ON s.stage = e.stage AND NOT s.closed
JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
LEFT JOIN ptl.rtt_period o ON o.pathway_id = e.pathway_id AND o.outcome = 'incomplete'
WHERE e.left_on IS NULL;
COMMENT ON VIEW ptl.journey IS
    'Every open pathway record''s current stage, how long it has been in it and on the pathway, at the census of the last refresh';
COMMENT ON COLUMN ptl.journey.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.journey.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.journey.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.journey.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey.stage IS 'Current stage';
COMMENT ON COLUMN ptl.journey.stage_label IS 'Current stage in words';
COMMENT ON COLUMN ptl.journey.queue IS 'True when the provider owes the next step';
COMMENT ON COLUMN ptl.journey.stage_entered IS 'Date it entered the stage';
COMMENT ON COLUMN ptl.journey.entered_by IS 'What moved it there (event kind or entry_*)';
COMMENT ON COLUMN ptl.journey.days_in_stage IS 'Days in the stage at the census';
COMMENT ON COLUMN ptl.journey.weeks_in_stage IS 'Completed weeks in the stage';
COMMENT ON COLUMN ptl.journey.referral_received IS 'Date the provider received the referral';
COMMENT ON COLUMN ptl.journey.days_on_pathway IS 'Days since the referral was received';
COMMENT ON COLUMN ptl.journey.weeks_on_pathway IS 'Completed weeks since the referral was received';
COMMENT ON COLUMN ptl.journey.rtt_days_waited IS 'Days waited on the open RTT clock, if one runs';
COMMENT ON COLUMN ptl.journey.census IS 'Census the stages were derived at';

-- Movements between stages per week: how many entered each stage from which,
-- i.e. how many left each stage for which (from_stage NULL: a new pathway).
CREATE VIEW ptl.journey_flow AS
SELECT date_trunc('week', e.entered)::date AS week_starting, e.provider_org, e.treatment_function,
       e.previous_stage AS from_stage, e.stage AS to_stage, count(*) AS pathways
FROM ptl.journey_episode e
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ptl.journey_flow IS
    'Pathways that moved between stages, per week (Monday), provider and specialty: a row counts both those leaving from_stage and those entering to_stage';
COMMENT ON COLUMN ptl.journey_flow.week_starting IS 'Monday of the week of the move';
COMMENT ON COLUMN ptl.journey_flow.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_flow.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_flow.from_stage IS 'Stage left (NULL: the pathway began)';
COMMENT ON COLUMN ptl.journey_flow.to_stage IS 'Stage entered (why it left from_stage)';
COMMENT ON COLUMN ptl.journey_flow.pathways IS 'Pathway records that made the move';

-- The same per stage: how many entered and left each week, and what they
-- left for.
CREATE VIEW ptl.journey_stage_week AS
WITH moves AS (
    SELECT f.week_starting, f.provider_org, f.treatment_function, f.to_stage AS stage, f.pathways AS entered,
           0::bigint AS left_stage, NULL::text AS left_for
    FROM ptl.journey_flow f
    UNION ALL
    SELECT f.week_starting, f.provider_org, f.treatment_function, f.from_stage, 0, f.pathways, f.to_stage
    FROM ptl.journey_flow f WHERE f.from_stage IS NOT NULL
)
SELECT m.week_starting, m.provider_org, m.treatment_function, m.stage,
       sum(m.entered) AS entered, sum(m.left_stage) AS left_stage,
       coalesce(jsonb_object_agg(m.left_for, m.left_stage) FILTER (WHERE m.left_for IS NOT NULL), '{}') AS left_for
FROM moves m
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW ptl.journey_stage_week IS
    'Per week (Monday), provider, specialty and stage: pathways that entered it, that left it, and the stages they left for';
COMMENT ON COLUMN ptl.journey_stage_week.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.journey_stage_week.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_stage_week.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_stage_week.stage IS 'Stage';
COMMENT ON COLUMN ptl.journey_stage_week.entered IS 'Pathways that entered the stage that week';
COMMENT ON COLUMN ptl.journey_stage_week.left_stage IS 'Pathways that left it that week';
COMMENT ON COLUMN ptl.journey_stage_week.left_for IS 'Why they left: the stages they went to, with how many, e.g. {"treated": 3}';

-- Per provider, specialty and open stage at a census: the queue now and
-- `weeks` weeks before, the mean weekly entries and exits over those weeks,
-- and the clearance time (queue / mean weekly exits).  A queue stage whose
-- entries outpace its exits grows faster than it clears: a bottleneck.
CREATE FUNCTION ptl.journey_bottlenecks(census date DEFAULT NULL, weeks int DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, stage text, stage_label text,
               queue_now bigint, queue_before bigint, entered_per_week numeric, exited_per_week numeric,
               growth_per_week numeric, clearance_weeks numeric, bottleneck boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 500
SET search_path = pg_catalog, ptl, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    at_date date := coalesce($1, (SELECT max(e.census) FROM ptl.journey_episode e));
    span int := coalesce($2, (ptl.ops_setting_in_force()).bottleneck_weeks);
    since date;
BEGIN
    IF span < 1 THEN
        RAISE EXCEPTION 'weeks must be at least 1, not %', span
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    since := at_date - 7 * span;
    RETURN QUERY
    WITH counted AS (
        SELECT e.provider_org, e.treatment_function, e.stage,
               count(*) FILTER (WHERE e.entered <= at_date AND (e.left_on IS NULL OR e.left_on > at_date)) AS queue_now,
               count(*) FILTER (WHERE e.entered <= since AND (e.left_on IS NULL OR e.left_on > since)) AS queue_before,
               count(*) FILTER (WHERE e.entered > since AND e.entered <= at_date) AS entered,
               count(*) FILTER (WHERE e.left_on > since AND e.left_on <= at_date) AS exited
        FROM ptl.journey_episode e
        WHERE e.entered <= at_date AND (e.left_on IS NULL OR e.left_on > since)
        GROUP BY 1, 2, 3
    )
    SELECT c.provider_org, c.treatment_function, c.stage, s.label, c.queue_now, c.queue_before,
           round(c.entered::numeric / span, 2), round(c.exited::numeric / span, 2),
           round((c.queue_now - c.queue_before)::numeric / span, 2),
           -- no exits at all: it never clears (NULL, flagged when anyone waits)
           CASE WHEN c.exited > 0 THEN round(c.queue_now / (c.exited::numeric / span), 1) END,
           s.queue AND c.queue_now > 0 AND c.entered > c.exited
    FROM counted c
    JOIN ptl.journey_stage s ON s.stage = c.stage AND NOT s.closed
    ORDER BY 1, 2, s.sort_order;
END
$$;
COMMENT ON FUNCTION ptl.journey_bottlenecks(date, int) IS
    'Per provider, specialty and open stage at a census (default: the last refresh''s): queue now and weeks before (default ops_setting.bottleneck_weeks), mean weekly entries and exits, clearance weeks = queue / mean weekly exits, and whether it is a bottleneck (a queue stage entered faster than it is left)';

CREATE VIEW ptl.journey_bottleneck AS
SELECT * FROM ptl.journey_bottlenecks();
COMMENT ON VIEW ptl.journey_bottleneck IS
    'ptl.journey_bottlenecks at the last refresh''s census over the weeks in ptl.ops_setting';
COMMENT ON COLUMN ptl.journey_bottleneck.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_bottleneck.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_bottleneck.stage IS 'Open stage';
COMMENT ON COLUMN ptl.journey_bottleneck.stage_label IS 'The stage in words';
COMMENT ON COLUMN ptl.journey_bottleneck.queue_now IS 'Pathways in the stage at the census';
COMMENT ON COLUMN ptl.journey_bottleneck.queue_before IS 'Pathways in the stage the given weeks before';
COMMENT ON COLUMN ptl.journey_bottleneck.entered_per_week IS 'Mean pathways entering the stage a week over those weeks';
COMMENT ON COLUMN ptl.journey_bottleneck.exited_per_week IS 'Mean pathways leaving the stage a week';
COMMENT ON COLUMN ptl.journey_bottleneck.growth_per_week IS 'Mean weekly growth of the queue (entries - exits)';
COMMENT ON COLUMN ptl.journey_bottleneck.clearance_weeks IS 'Weeks to clear the queue at the recent exit rate (queue / mean weekly exits; NULL: no exits)';
COMMENT ON COLUMN ptl.journey_bottleneck.bottleneck IS 'True for a queue stage entered faster than it is left';
-- from src/journey/beds.sql
-- ---------------------------------------------------------------------------
-- beds: the elective beds that booked and proposed admissions will occupy at
-- each site over the coming weeks, against the site's elective bed base.
-- docs/journey.md.
--
-- Length of stay comes from past elective spells (ptl.hospital_spell), per
-- procedure when there are enough of them, else per specialty and intended
-- management, else per intended management.  Beds are counted as the NHS
-- counts them (KH03): occupied overnight, at midnight, so a spell from day a
-- to day b fills the nights a .. b-1 and a same-day case fills none (it is
-- counted as a day case on its day).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.hospital_spell (
    spell_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    entry_id            bigint REFERENCES ptl.waiting_list_entry (entry_id),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    procedure_code      text CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    intended_management text NOT NULL CHECK (intended_management IN ('1', '2', '3', '4', '5')),
    elective            boolean NOT NULL DEFAULT true,
    admitted            date NOT NULL,
    discharged          date,
    CHECK (discharged IS NULL OR discharged >= admitted)
);
CREATE INDEX hospital_spell_admitted_idx ON ptl.hospital_spell (admitted);
CREATE INDEX hospital_spell_in_hospital_idx ON ptl.hospital_spell (site_code) WHERE discharged IS NULL;
CREATE INDEX hospital_spell_pathway_idx ON ptl.hospital_spell (pathway_id);
COMMENT ON TABLE ptl.hospital_spell IS
    'Hospital spells (admission to discharge) of pathways'' patients: the length-of-stay history behind planned bed occupancy, and the patients in a bed now';
COMMENT ON COLUMN ptl.hospital_spell.spell_id IS 'ptl''s key for the spell';
COMMENT ON COLUMN ptl.hospital_spell.pathway_id IS 'Pathway the spell belongs to';
COMMENT ON COLUMN ptl.hospital_spell.entry_id IS 'Waiting-list entry it admitted, if any';
COMMENT ON COLUMN ptl.hospital_spell.site_code IS 'Site of the bed';
COMMENT ON COLUMN ptl.hospital_spell.procedure_code IS 'Main procedure, OPCS-4';
COMMENT ON COLUMN ptl.hospital_spell.treatment_function IS 'Treatment function of the spell';
COMMENT ON COLUMN ptl.hospital_spell.intended_management IS 'INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights';
COMMENT ON COLUMN ptl.hospital_spell.elective IS 'True for elective admissions (only these feed the length-of-stay history)';
COMMENT ON COLUMN ptl.hospital_spell.admitted IS 'Admission date';
COMMENT ON COLUMN ptl.hospital_spell.discharged IS 'Discharge date (NULL: still in hospital)';
SELECT pg_catalog.pg_extension_config_dump('ptl.hospital_spell', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.hospital_spell_spell_id_seq', '');

CREATE TABLE ptl.elective_bed_base (
    site_code       text NOT NULL REFERENCES ptl.site (site_code),
    valid_from      date NOT NULL,
    isodow          int CHECK (isodow BETWEEN 1 AND 7),
    beds            int NOT NULL CHECK (beds >= 0),
    set_at          timestamptz NOT NULL DEFAULT now(),
    set_by          text NOT NULL DEFAULT current_user,
    note            text
);
CREATE UNIQUE INDEX elective_bed_base_key_idx ON ptl.elective_bed_base (site_code, valid_from, coalesce(isodow, 0));
COMMENT ON TABLE ptl.elective_bed_base IS
    'The overnight beds a site keeps for elective patients, from a date; a row for one day of the week (isodow) beats the every-day row, e.g. a five-day ward with no beds at the weekend';
COMMENT ON COLUMN ptl.elective_bed_base.site_code IS 'Site';
COMMENT ON COLUMN ptl.elective_bed_base.valid_from IS 'First day the number holds';
COMMENT ON COLUMN ptl.elective_bed_base.isodow IS 'Day of the week it holds for (1 Monday .. 7 Sunday; NULL: every day)';
COMMENT ON COLUMN ptl.elective_bed_base.beds IS 'Elective beds open overnight';
COMMENT ON COLUMN ptl.elective_bed_base.set_at IS 'When it was set';
COMMENT ON COLUMN ptl.elective_bed_base.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.elective_bed_base.note IS 'Why, e.g. ward closed for refurbishment';
SELECT pg_catalog.pg_extension_config_dump('ptl.elective_bed_base', '');

-- Lengths of stay (nights) of elective spells discharged in the history
-- window before the census, at three levels: a procedure, a specialty with
-- its intended management, an intended management.  Each level has the
-- percentile stay and the share still in hospital after each night.
CREATE FUNCTION ptl.length_of_stay(census date, percentile float8 DEFAULT NULL)
RETURNS TABLE (level text, key text, spells bigint, nights_at_percentile int, mean_nights numeric,
               still_in_after float8[])
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 200
SET search_path = pg_catalog, ptl, pg_temp
-- a few hundred thousand spells: compiling the query (JIT) cost more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    s ptl.ops_setting := ptl.ops_setting_in_force();
    p float8 := coalesce($2, s.los_percentile);
    since date := $1 - s.los_history;
BEGIN
    IF $1 IS NULL OR NOT isfinite($1) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce($1::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p <= 0 OR p >= 1 THEN
        RAISE EXCEPTION 'length-of-stay percentile must be between 0 and 1 (exclusive), not %', p
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'e.g. 0.8 plans for the stay 80% of past patients were home within';
    END IF;
    RETURN QUERY
    WITH stay AS (
        -- spells counted per procedure, specialty, management and stay:
        -- a few thousand rows however many spells, so what follows is cheap
        SELECT h.procedure_code, h.treatment_function,
               CASE WHEN h.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END AS management,
               h.discharged - h.admitted AS nights, count(*) AS spells
        FROM ptl.hospital_spell h
        WHERE h.elective AND h.discharged IS NOT NULL AND h.discharged > since AND h.discharged <= $1
        GROUP BY 1, 2, 3, 4
    ),
    per_stay AS (
        SELECT g.level, g.key, st.nights, sum(st.spells) AS spells
        FROM stay st
        CROSS JOIN LATERAL (VALUES ('procedure', st.procedure_code),
                                   ('specialty', st.treatment_function || '/' || st.management),
                                   ('management', st.management)) g (level, key)
        WHERE g.key IS NOT NULL
        GROUP BY 1, 2, 3
    ),
    cumulative AS (
        SELECT ps.*, sum(ps.spells) OVER (PARTITION BY ps.level, ps.key ORDER BY ps.nights) AS up_to,
               sum(ps.spells) OVER (PARTITION BY ps.level, ps.key) AS total
        FROM per_stay ps
    ),
    summary AS (
        -- the percentile by nearest rank (as percentile_disc): the shortest
        -- stay at least that share of spells were home within
        SELECT c.level, c.key, min(c.total)::bigint AS spells,
               min(c.nights) FILTER (WHERE c.up_to >= p * c.total) AS at_percentile,
               round(sum(c.nights * c.spells)::numeric / min(c.total), 2) AS mean_nights
        FROM cumulative c GROUP BY 1, 2
    ),
    curve AS (
        -- spells longer than n nights = all spells - those of n nights or fewer
        SELECT sm.level, sm.key, g.n,
               (sm.spells - sum(coalesce(ps.spells, 0)) OVER (PARTITION BY sm.level, sm.key ORDER BY g.n))::float8
                   / sm.spells AS still_in
        FROM summary sm
        CROSS JOIN generate_series(0, 90) g (n)
        LEFT JOIN per_stay ps ON ps.level = sm.level AND ps.key = sm.key AND ps.nights = g.n
    )
    SELECT sm.level, sm.key, sm.spells, sm.at_percentile, sm.mean_nights, cv.still_in
    FROM summary sm
    JOIN (SELECT c.level, c.key, array_agg(c.still_in ORDER BY c.n) AS still_in FROM curve c GROUP BY 1, 2) cv
      ON cv.level = sm.level AND cv.key = sm.key;
END
$$;
COMMENT ON FUNCTION ptl.length_of_stay(date, float8) IS
    'Nights in hospital of elective spells discharged within ops_setting.los_history before the census, per procedure, specialty/management (day or overnight) and management: spells, the stay at the percentile (default ops_setting.los_percentile), the mean, and still_in_after[n+1] = share still in after n nights';

-- Planned admissions from the census on: booked theatre cases, admission
-- dates booked on the waiting list, and the latest proposal run's proposed
-- cases not yet booked.  One row per waiting-list entry (a theatre booking
-- beats the entry's own date, a booking beats a proposal).
CREATE FUNCTION ptl.planned_admissions(census date, horizon_days int DEFAULT NULL)
RETURNS TABLE (entry_id bigint, pathway_id bigint, site_code text, admission_date date, source text,
               procedure_code text, treatment_function text, intended_management text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH window_days AS (
        SELECT $1 AS first_day, $1 + coalesce($2, (ptl.ops_setting_in_force()).bed_horizon_days) - 1 AS last_day
    ),
    booked AS (
        SELECT b.entry_id, t.site_code, s.session_date AS admission_date, 'theatre_booking' AS source, 1 AS rank
        FROM ptl.theatre_booking b
        JOIN ptl.theatre_session s ON s.session_id = b.session_id AND NOT s.cancelled
        JOIN ptl.theatre t ON t.theatre_code = s.theatre_code, window_days d
        WHERE b.status = 'booked' AND s.session_date BETWEEN d.first_day AND d.last_day
    ),
    dated AS (
        SELECT w.entry_id, coalesce(w.site_code, p.site_code) AS site_code, w.tci_date, 'tci_date', 2
        FROM ptl.waiting_list_entry w
        JOIN ptl.pathway p ON p.pathway_id = w.pathway_id, window_days d
        WHERE w.removed_date IS NULL AND w.tci_date BETWEEN d.first_day AND d.last_day
    ),
    proposed AS (
        SELECT pr.entry_id, t.site_code, s.session_date, 'theatre_proposal', 3
        FROM ptl.theatre_proposal pr
        JOIN ptl.theatre_session s ON s.session_id = pr.session_id AND NOT s.cancelled
        JOIN ptl.theatre t ON t.theatre_code = s.theatre_code, window_days d
        WHERE pr.status = 'proposed'
          AND pr.run_id = (SELECT max(r.run_id) FROM ptl.theatre_proposal_run r)
          AND s.session_date BETWEEN d.first_day AND d.last_day
    ),
    picked AS (
        SELECT DISTINCT ON (a.entry_id) a.*
        FROM (SELECT * FROM booked UNION ALL SELECT * FROM dated UNION ALL SELECT * FROM proposed) a
        ORDER BY a.entry_id, a.rank
    )
    SELECT k.entry_id, w.pathway_id, k.site_code, k.admission_date, k.source,
           w.procedure_code, p.treatment_function, w.intended_management
    FROM picked k
    JOIN ptl.waiting_list_entry w ON w.entry_id = k.entry_id AND w.removed_date IS NULL
    JOIN ptl.pathway p ON p.pathway_id = w.pathway_id
    WHERE k.site_code IS NOT NULL
$$;
COMMENT ON FUNCTION ptl.planned_admissions(date, int) IS
    'Admissions planned from the census for horizon_days (default ops_setting.bed_horizon_days): theatre bookings, then booked admission dates, then the latest run''s proposed cases; one per open waiting-list entry';

-- Expected occupied elective beds per site and night.  Each admission fills
-- nights from its day: in expectation (the share of past stays still in),
-- and at the percentile (every patient staying the percentile stay), which
-- is what the bed base is compared with.  Patients in a bed at the census
-- count too: in expectation given how long they have stayed, and at the
-- percentile until their stay reaches it.  Stays are read per procedure
-- with at least ops_setting.los_min_spells past spells, else per specialty
-- and management, else per management; with no history at all, a day case
-- goes home the same day and an inpatient after one night.
CREATE FUNCTION ptl.bed_occupancy(census date, horizon_days int DEFAULT NULL, percentile float8 DEFAULT NULL)
RETURNS TABLE (site_code text, day date, admissions bigint, day_cases bigint, expected_beds numeric,
               planned_beds bigint, bed_base int, over_base boolean, beds_free bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 300
SET search_path = pg_catalog, ptl, pg_temp
-- small joins the planner over-estimates: compiling them (JIT) took a second
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    s ptl.ops_setting := ptl.ops_setting_in_force();
    horizon int := coalesce($2, s.bed_horizon_days);
BEGIN
    IF horizon IS NULL OR horizon < 1 OR horizon > 366 THEN
        RAISE EXCEPTION 'horizon must be 1 to 366 days, not %', coalesce(horizon::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH los AS (
        SELECT * FROM ptl.length_of_stay($1, $3)
    ),
    patient AS (
        -- who will be (or is) in a bed, from which day, with which stay
        SELECT a.site_code, a.admission_date AS admitted, 0 AS stayed,
               CASE WHEN a.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END AS management,
               a.procedure_code, a.treatment_function
        FROM ptl.planned_admissions($1, horizon) a
        UNION ALL
        SELECT h.site_code, h.admitted, $1 - h.admitted,
               CASE WHEN h.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END,
               h.procedure_code, h.treatment_function
        FROM ptl.hospital_spell h
        WHERE h.elective AND h.admitted < $1 AND h.discharged IS NULL
    ),
    with_stay AS (
        SELECT pt.*,
               coalesce(bp.nights_at_percentile, bs.nights_at_percentile, bm.nights_at_percentile,
                        CASE pt.management WHEN 'day' THEN 0 ELSE 1 END) AS stay,
               coalesce(bp.still_in_after, bs.still_in_after, bm.still_in_after,
                        CASE pt.management WHEN 'day' THEN ARRAY[0::float8] ELSE ARRAY[1::float8, 0] END) AS still_in
        FROM patient pt
        LEFT JOIN los bp ON bp.level = 'procedure' AND bp.key = pt.procedure_code AND bp.spells >= s.los_min_spells
        LEFT JOIN los bs ON bs.level = 'specialty' AND bs.key = pt.treatment_function || '/' || pt.management
                        AND bs.spells >= s.los_min_spells
        LEFT JOIN los bm ON bm.level = 'management' AND bm.key = pt.management
    ),
    night AS (
        -- Night n after admission (0 = the admission night) inside the
        -- window.  still_in[n + 1] is the share of past stays longer than n
        -- nights; a patient in a bed at the census (stayed > 0) is there
        -- tonight, and after that as likely as a past patient who had
        -- stayed as long.
        SELECT ws.site_code, ws.admitted + n AS day,
               CASE WHEN ws.stayed > 0 AND n = ws.stayed THEN 1
                    ELSE coalesce(ws.still_in[n + 1]
                                  / nullif(CASE WHEN ws.stayed = 0 THEN 1 ELSE ws.still_in[ws.stayed + 1] END, 0), 0)
               END AS expected,
               n < greatest(ws.stay, CASE WHEN ws.stayed > 0 THEN ws.stayed + 1 ELSE 0 END) AS at_percentile
        FROM with_stay ws
        -- up to the night after which no past stay lasted (nor the percentile)
        CROSS JOIN LATERAL generate_series(ws.stayed,
                                           least(ws.stayed + horizon - 1,
                                                 greatest(ws.stay, ws.stayed + 1,
                                                          coalesce(array_position(ws.still_in, 0::float8), 92) - 1))) n
        WHERE ws.admitted + n BETWEEN $1 AND $1 + horizon - 1
    ),
    by_night AS (
        SELECT nt.site_code, nt.day, sum(least(nt.expected, 1)) AS expected,
               count(*) FILTER (WHERE nt.at_percentile) AS planned
        FROM night nt
        WHERE nt.at_percentile OR nt.expected > 0
        GROUP BY 1, 2
    ),
    arriving AS (
        SELECT pt.site_code, pt.admitted AS day, count(*) AS admissions,
               count(*) FILTER (WHERE pt.management = 'day') AS day_cases
        FROM patient pt WHERE pt.stayed = 0 GROUP BY 1, 2
    ),
    grid AS (
        SELECT si.site_code, $1 + d.offset_days AS day
        FROM (SELECT DISTINCT x.site_code FROM (SELECT site_code FROM with_stay
                                                UNION SELECT site_code FROM ptl.elective_bed_base) x) si
        CROSS JOIN generate_series(0, horizon - 1) d (offset_days)
    )
    SELECT g.site_code, g.day, coalesce(a.admissions, 0), coalesce(a.day_cases, 0),
           round(coalesce(b.expected, 0)::numeric, 1), coalesce(b.planned, 0), base.beds,
           coalesce(b.planned, 0) > base.beds,
           base.beds - coalesce(b.planned, 0)
    FROM grid g
    LEFT JOIN by_night b ON b.site_code = g.site_code AND b.day = g.day
    LEFT JOIN arriving a ON a.site_code = g.site_code AND a.day = g.day
    LEFT JOIN LATERAL (
        SELECT e.beds FROM ptl.elective_bed_base e
        WHERE e.site_code = g.site_code AND e.valid_from <= g.day
          AND (e.isodow IS NULL OR e.isodow = extract(isodow FROM g.day))
        ORDER BY e.valid_from DESC, e.isodow IS NULL LIMIT 1) base ON true
    ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION ptl.bed_occupancy(date, int, float8) IS
    'Per site and night from the census: planned admissions and day cases, expected occupied elective beds (mean), planned beds at the length-of-stay percentile, the elective bed base, and whether planned beds exceed it';
-- from src/outpatient/outpatient.sql
-- ---------------------------------------------------------------------------
-- outpatient: clinics and their sessions, appointments with attendance and
-- clinic outcome, follow-up requests with their latest clinically
-- appropriate date (LCAD), patient-initiated follow-up (PIFU), and advice
-- and guidance.  docs/outpatients.md.
--
-- Follow-ups after a clock stop sit outside RTT and start no clock
-- (rtt-rules.md 4.7): they are managed by risk and LCAD, which is what the
-- non-RTT follow-up list here does; NHS England asks trusts to validate
-- these lists as well as the RTT list (rtt-rules.md 10.1), so the same
-- validation campaigns run on them.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.clinic (
    clinic_code         text PRIMARY KEY CHECK (clinic_code <> ''),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    name                text NOT NULL,
    consultant_code     text
);
CREATE INDEX clinic_site_idx ON ptl.clinic (site_code);
COMMENT ON TABLE ptl.clinic IS 'Outpatient clinics: a specialty''s clinic at a site, usually one consultant''s';
COMMENT ON COLUMN ptl.clinic.clinic_code IS 'The trust''s code for the clinic';
COMMENT ON COLUMN ptl.clinic.site_code IS 'Site';
COMMENT ON COLUMN ptl.clinic.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.clinic.name IS 'Name of the clinic';
COMMENT ON COLUMN ptl.clinic.consultant_code IS 'Consultant who runs it, if one does';
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic', '');

CREATE TABLE ptl.clinic_session (
    session_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    clinic_code     text NOT NULL REFERENCES ptl.clinic (clinic_code),
    session_date    date NOT NULL,
    slots           int NOT NULL CHECK (slots >= 0),
    cancelled       boolean NOT NULL DEFAULT false,
    UNIQUE (clinic_code, session_date)
);
CREATE INDEX clinic_session_date_idx ON ptl.clinic_session (session_date);
COMMENT ON TABLE ptl.clinic_session IS 'A clinic on a day, with the appointment slots it offers';
COMMENT ON COLUMN ptl.clinic_session.session_id IS 'ptl''s key for the session';
COMMENT ON COLUMN ptl.clinic_session.clinic_code IS 'Clinic';
COMMENT ON COLUMN ptl.clinic_session.session_date IS 'Date';
COMMENT ON COLUMN ptl.clinic_session.slots IS 'Appointment slots offered';
COMMENT ON COLUMN ptl.clinic_session.cancelled IS 'True if the whole session was cancelled (its slots are not offered)';
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic_session', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic_session_session_id_seq', '');

CREATE TABLE ptl.outpatient_appointment (
    appointment_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    clinic_code         text NOT NULL REFERENCES ptl.clinic (clinic_code),
    appointment_date    date NOT NULL,
    appointment_type    text NOT NULL CHECK (appointment_type IN ('first', 'follow_up')),
    attendance          text NOT NULL DEFAULT 'booked'
                        CHECK (attendance IN ('booked', 'attended', 'dna', 'cancelled_by_patient', 'cancelled_by_hospital')),
    outcome             text CHECK (outcome IN ('discharged', 'follow_up', 'pifu', 'listed', 'other')),
    follow_up_weeks     int CHECK (follow_up_weeks BETWEEN 1 AND 520),
    booked_on           date,
    CHECK (outcome IS NULL OR attendance = 'attended'),
    CHECK ((outcome = 'follow_up') = (follow_up_weeks IS NOT NULL)),
    CHECK (booked_on IS NULL OR booked_on <= appointment_date)
);
CREATE INDEX outpatient_appointment_pathway_idx ON ptl.outpatient_appointment (pathway_id, appointment_date);
CREATE INDEX outpatient_appointment_clinic_date_idx ON ptl.outpatient_appointment (clinic_code, appointment_date);
CREATE INDEX outpatient_appointment_date_idx ON ptl.outpatient_appointment (appointment_date);
COMMENT ON TABLE ptl.outpatient_appointment IS
    'Outpatient appointments, first and follow-up: booked, attended, not attended (DNA) or cancelled (by whom), and the clinic outcome';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_id IS 'ptl''s key for the appointment';
COMMENT ON COLUMN ptl.outpatient_appointment.pathway_id IS 'Pathway the appointment belongs to';
COMMENT ON COLUMN ptl.outpatient_appointment.clinic_code IS 'Clinic';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_date IS 'Date of the appointment';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_type IS 'first or follow_up';
COMMENT ON COLUMN ptl.outpatient_appointment.attendance IS 'booked (still to happen), attended, dna, cancelled_by_patient or cancelled_by_hospital';
COMMENT ON COLUMN ptl.outpatient_appointment.outcome IS
    'Clinic outcome of an attendance: discharged, follow_up (in follow_up_weeks), pifu (moved to patient-initiated follow-up), listed (added to the admitted list), other';
COMMENT ON COLUMN ptl.outpatient_appointment.follow_up_weeks IS 'Weeks to the follow-up asked for (outcome follow_up)';
COMMENT ON COLUMN ptl.outpatient_appointment.booked_on IS 'When the appointment was booked';

CREATE TABLE ptl.follow_up_request (
    request_id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    clinic_code             text REFERENCES ptl.clinic (clinic_code),
    from_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    requested_on            date NOT NULL,
    due_date                date NOT NULL,
    lcad                    date NOT NULL,
    clinical_risk           text CHECK (clinical_risk IN ('high', 'medium', 'low')),
    unavailable_until       date,
    seen_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    closed_on               date,
    closed_reason           text CHECK (closed_reason IN ('seen', 'discharged', 'pifu', 'no_longer_required',
                                                          'died', 'transferred')),
    CHECK (due_date >= requested_on),
    CHECK (lcad >= due_date),
    CHECK ((closed_on IS NULL) = (closed_reason IS NULL)),
    CHECK (closed_on IS NULL OR closed_on >= requested_on),
    CHECK ((closed_reason = 'seen') = (seen_appointment_id IS NOT NULL))
);
CREATE INDEX follow_up_request_pathway_idx ON ptl.follow_up_request (pathway_id);
CREATE INDEX follow_up_request_open_idx ON ptl.follow_up_request (lcad) WHERE closed_on IS NULL;
COMMENT ON TABLE ptl.follow_up_request IS
    'Follow-ups a clinician asked for: when (due), by when at the latest (LCAD), how risky a delay is, and how the request ended';
COMMENT ON COLUMN ptl.follow_up_request.request_id IS 'ptl''s key for the request';
COMMENT ON COLUMN ptl.follow_up_request.pathway_id IS 'Pathway';
COMMENT ON COLUMN ptl.follow_up_request.treatment_function IS 'Treatment function (specialty) to see the patient';
COMMENT ON COLUMN ptl.follow_up_request.clinic_code IS 'Clinic to see the patient in, if set';
COMMENT ON COLUMN ptl.follow_up_request.from_appointment_id IS 'The attendance whose outcome asked for it';
COMMENT ON COLUMN ptl.follow_up_request.requested_on IS 'Date it was asked for';
COMMENT ON COLUMN ptl.follow_up_request.due_date IS 'When the clinician wants to see the patient';
COMMENT ON COLUMN ptl.follow_up_request.lcad IS 'Latest clinically appropriate date: seeing the patient later than this risks harm';
COMMENT ON COLUMN ptl.follow_up_request.clinical_risk IS 'Risk of harm from delay, as the clinician stratified it: high, medium or low (NULL: not stratified)';
COMMENT ON COLUMN ptl.follow_up_request.unavailable_until IS 'The patient said they cannot come before this date (a validation answer)';
COMMENT ON COLUMN ptl.follow_up_request.seen_appointment_id IS 'The attendance that met it (closed_reason seen)';
COMMENT ON COLUMN ptl.follow_up_request.closed_on IS 'Date the request ended (NULL: still waiting)';
COMMENT ON COLUMN ptl.follow_up_request.closed_reason IS 'seen, discharged, pifu, no_longer_required, died or transferred';

CREATE TABLE ptl.pifu_episode (
    pifu_id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    from_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    started_on              date NOT NULL,
    window_end              date NOT NULL,
    initiated_on            date,
    ended_on                date,
    end_reason              text CHECK (end_reason IN ('discharged_at_window_end', 'discharged_early',
                                                       'returned_to_routine_follow_up')),
    CHECK (window_end > started_on),
    CHECK (initiated_on IS NULL OR initiated_on BETWEEN started_on AND window_end),
    CHECK ((ended_on IS NULL) = (end_reason IS NULL)),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE INDEX pifu_episode_pathway_idx ON ptl.pifu_episode (pathway_id);
COMMENT ON TABLE ptl.pifu_episode IS
    'Patient-initiated follow-up: a patient who books their own follow-up when they need it, within a window, instead of a routine review';
COMMENT ON COLUMN ptl.pifu_episode.pifu_id IS 'ptl''s key';
COMMENT ON COLUMN ptl.pifu_episode.pathway_id IS 'Pathway';
COMMENT ON COLUMN ptl.pifu_episode.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.pifu_episode.from_appointment_id IS 'The attendance that moved the patient to PIFU';
COMMENT ON COLUMN ptl.pifu_episode.started_on IS 'Date moved to PIFU';
COMMENT ON COLUMN ptl.pifu_episode.window_end IS 'Last day the patient may initiate a follow-up';
COMMENT ON COLUMN ptl.pifu_episode.initiated_on IS 'Date the patient first asked to be seen (NULL: not yet, or never)';
COMMENT ON COLUMN ptl.pifu_episode.ended_on IS 'Date the episode ended (NULL: open)';
COMMENT ON COLUMN ptl.pifu_episode.end_reason IS 'discharged_at_window_end, discharged_early or returned_to_routine_follow_up';

CREATE TABLE ptl.advice_request (
    advice_id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider_org            text NOT NULL REFERENCES ptl.organisation (org_code),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    gp_practice_code        text,
    requested_on            date NOT NULL,
    responded_on            date,
    outcome                 text NOT NULL DEFAULT 'pending'
                            CHECK (outcome IN ('pending', 'diverted', 'referral_advised', 'other')),
    referred_pathway_id     bigint REFERENCES ptl.pathway (pathway_id),
    CHECK ((outcome = 'pending') = (responded_on IS NULL)),
    CHECK (responded_on IS NULL OR responded_on >= requested_on)
);
CREATE INDEX advice_request_requested_idx ON ptl.advice_request (requested_on);
COMMENT ON TABLE ptl.advice_request IS
    'Advice and guidance: a GP asks a specialist before (or instead of) referring; diverted means the patient was managed without a referral';
COMMENT ON COLUMN ptl.advice_request.advice_id IS 'ptl''s key';
COMMENT ON COLUMN ptl.advice_request.provider_org IS 'Provider whose specialist was asked';
COMMENT ON COLUMN ptl.advice_request.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.advice_request.gp_practice_code IS 'The practice that asked';
COMMENT ON COLUMN ptl.advice_request.requested_on IS 'Date asked';
COMMENT ON COLUMN ptl.advice_request.responded_on IS 'Date answered (NULL: pending)';
COMMENT ON COLUMN ptl.advice_request.outcome IS 'pending, diverted (no referral needed), referral_advised or other';
COMMENT ON COLUMN ptl.advice_request.referred_pathway_id IS 'The pathway of the referral that followed, if any';

SELECT pg_catalog.pg_extension_config_dump('ptl.outpatient_appointment', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.outpatient_appointment_appointment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.follow_up_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.follow_up_request_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pifu_episode', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pifu_episode_pifu_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.advice_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.advice_request_advice_id_seq', '');

-- ---------------------------------------------------------------------------
-- The non-RTT follow-up list
-- ---------------------------------------------------------------------------

-- Open follow-up requests at a census whose pathway has no open RTT clock
-- (those with one are on the PTL), with how far past their LCAD they are
-- (negative: days still to go), the next booked follow-up, the clinician's
-- risk stratification, and the pathway's latest validation.
CREATE FUNCTION ptl.follow_up_backlog(census date DEFAULT NULL)
RETURNS TABLE (request_id bigint, pathway_id bigint, patient_id bigint, provider_org text, site_code text,
               treatment_function text, clinic_code text, requested_on date, due_date date, lcad date,
               days_past_due int, days_past_lcad int, weeks_past_lcad int, overdue boolean, clinical_risk text,
               next_booked date, booked_after_lcad boolean, unavailable_until date,
               last_validated_on date, last_validation_outcome text, census date)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH c AS (SELECT coalesce($1, (SELECT max(r.census) FROM ptl.rtt_pathway r), current_date) AS census)
    SELECT f.request_id, p.pathway_id, p.patient_id, p.provider_org, p.site_code, f.treatment_function, f.clinic_code,
           f.requested_on, f.due_date, f.lcad,
           c.census - f.due_date, c.census - f.lcad,
           CASE WHEN c.census > f.lcad THEN (c.census - f.lcad) / 7 ELSE 0 END,
           c.census > f.lcad, f.clinical_risk,
           nb.next_booked, nb.next_booked > f.lcad, f.unavailable_until,
           v.validated_on, v.outcome, c.census
    FROM ptl.follow_up_request f
    CROSS JOIN c
    JOIN ptl.pathway p ON p.pathway_id = f.pathway_id
    LEFT JOIN LATERAL (
        SELECT min(a.appointment_date) AS next_booked FROM ptl.outpatient_appointment a
        WHERE a.pathway_id = f.pathway_id AND a.appointment_type = 'follow_up' AND a.attendance = 'booked'
          AND a.appointment_date >= c.census) nb ON true
    LEFT JOIN LATERAL (
        SELECT pv.validated_on, pv.outcome FROM ptl.pathway_validation pv
        WHERE pv.pathway_id = f.pathway_id AND pv.validated_on <= c.census
        ORDER BY pv.validated_on DESC, pv.validation_id DESC LIMIT 1) v ON true
    WHERE f.requested_on <= c.census
      AND (f.closed_on IS NULL OR f.closed_on > c.census)
      AND NOT EXISTS (SELECT 1 FROM ptl.rtt_period r
                      WHERE r.pathway_id = f.pathway_id AND r.outcome = 'incomplete')
$$;
COMMENT ON FUNCTION ptl.follow_up_backlog(date) IS
    'The non-RTT follow-up list at a census (default: the last refresh''s): open follow-up requests of pathways with no open RTT clock, days past due and past LCAD, risk, next booked follow-up, and latest validation';

CREATE VIEW ptl.follow_up_list AS
SELECT * FROM ptl.follow_up_backlog();
COMMENT ON VIEW ptl.follow_up_list IS
    'The non-RTT follow-up list at the last refresh''s census (ptl.follow_up_backlog): follow-ups waiting with no RTT clock, how far past their LCAD';
COMMENT ON COLUMN ptl.follow_up_list.request_id IS 'Follow-up request';
COMMENT ON COLUMN ptl.follow_up_list.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.follow_up_list.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.follow_up_list.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.follow_up_list.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.follow_up_list.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.follow_up_list.clinic_code IS 'Clinic, if set';
COMMENT ON COLUMN ptl.follow_up_list.requested_on IS 'Date the follow-up was asked for';
COMMENT ON COLUMN ptl.follow_up_list.due_date IS 'When the clinician wanted to see the patient';
COMMENT ON COLUMN ptl.follow_up_list.lcad IS 'Latest clinically appropriate date';
COMMENT ON COLUMN ptl.follow_up_list.days_past_due IS 'Days since the due date (negative: not yet due)';
COMMENT ON COLUMN ptl.follow_up_list.days_past_lcad IS 'Days since the LCAD (negative: days still to go)';
COMMENT ON COLUMN ptl.follow_up_list.weeks_past_lcad IS 'Completed weeks past the LCAD (0 if not past)';
COMMENT ON COLUMN ptl.follow_up_list.overdue IS 'True when past the LCAD';
COMMENT ON COLUMN ptl.follow_up_list.clinical_risk IS 'Risk of harm from delay: high, medium, low (NULL: not stratified)';
COMMENT ON COLUMN ptl.follow_up_list.next_booked IS 'Next booked follow-up appointment, if any';
COMMENT ON COLUMN ptl.follow_up_list.booked_after_lcad IS 'True when the next booked follow-up is after the LCAD';
COMMENT ON COLUMN ptl.follow_up_list.unavailable_until IS 'The patient cannot come before this date';
COMMENT ON COLUMN ptl.follow_up_list.last_validated_on IS 'Latest validation of the pathway';
COMMENT ON COLUMN ptl.follow_up_list.last_validation_outcome IS 'Its outcome';
COMMENT ON COLUMN ptl.follow_up_list.census IS 'Census';

-- A validation campaign on the follow-up list: the pathways with a follow-up
-- at least min_days_past_lcad past its LCAD (default 0: due by the LCAD and
-- not yet seen) and no validation in not_validated_weeks weeks.
CREATE FUNCTION ptl.start_follow_up_validation_campaign(name text, min_days_past_lcad int DEFAULT 0,
                                                        not_validated_weeks int DEFAULT 12,
                                                        provider_org text DEFAULT NULL,
                                                        treatment_function text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c date := (SELECT max(r.census) FROM ptl.rtt_pathway r);
    id bigint;
BEGIN
    IF min_days_past_lcad IS NULL OR not_validated_weeks IS NULL OR not_validated_weeks < 0 THEN
        RAISE EXCEPTION 'invalid campaign rule: % days past the LCAD, not validated in % weeks',
                        coalesce(min_days_past_lcad::text, 'NULL'), coalesce(not_validated_weeks::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Days past the LCAD may be negative (due within that many days); weeks are zero or more.';
    END IF;
    IF c IS NULL THEN
        RAISE EXCEPTION 'there is no census to pick a follow-up validation cohort at'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'CALL ptl.refresh() first.';
    END IF;
    INSERT INTO ptl.validation_campaign (name, census, min_weeks, not_validated_weeks, provider_org,
                                         treatment_function, list, min_days_past_lcad)
    VALUES (name, c, 0, not_validated_weeks, provider_org, treatment_function, 'follow_up', min_days_past_lcad)
    RETURNING validation_campaign.campaign_id INTO id;
    INSERT INTO ptl.validation_campaign_pathway (campaign_id, pathway_id, days_waited)
    SELECT DISTINCT ON (b.pathway_id) id, b.pathway_id, c - b.requested_on
    FROM ptl.follow_up_backlog(c) b
    WHERE b.days_past_lcad >= min_days_past_lcad
      AND (provider_org IS NULL OR b.provider_org = provider_org)
      AND (treatment_function IS NULL OR b.treatment_function = treatment_function)
      AND (b.last_validated_on IS NULL OR b.last_validated_on <= c - 7 * not_validated_weeks)
    ORDER BY b.pathway_id, b.days_past_lcad DESC;
    RETURN id;
END
$$;
COMMENT ON FUNCTION ptl.start_follow_up_validation_campaign(text, int, int, text, text) IS
    'Starts a validation campaign on the non-RTT follow-up list: pathways with a follow-up at least min_days_past_lcad past its LCAD, not validated in not_validated_weeks weeks; answers are applied by ptl.apply_validation_contact';

-- ---------------------------------------------------------------------------
-- PIFU
-- ---------------------------------------------------------------------------

-- Per provider and specialty at a census: patients moved to PIFU, on it now,
-- who initiated a follow-up, and how the windows that ended ended.
CREATE FUNCTION ptl.pifu_summary(census date DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, moved_to_pifu bigint, on_pifu_now bigint,
               initiated bigint, windows_ended bigint, discharged_at_window_end bigint, discharged_early bigint,
               returned_to_routine bigint, initiated_pct numeric, discharged_at_end_pct numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH c AS (SELECT coalesce($1, (SELECT max(r.census) FROM ptl.rtt_pathway r), current_date) AS census),
    e AS (
        SELECT p.provider_org, e.treatment_function, e.started_on, e.window_end,
               CASE WHEN e.initiated_on <= c.census THEN e.initiated_on END AS initiated_on,
               CASE WHEN e.ended_on <= c.census THEN e.ended_on END AS ended_on,
               CASE WHEN e.ended_on <= c.census THEN e.end_reason END AS end_reason, c.census
        FROM ptl.pifu_episode e
        JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
        CROSS JOIN c
        WHERE e.started_on <= c.census
    )
    SELECT e.provider_org, e.treatment_function, count(*),
           count(*) FILTER (WHERE e.ended_on IS NULL AND e.window_end >= e.census),
           count(*) FILTER (WHERE e.initiated_on IS NOT NULL),
           count(*) FILTER (WHERE e.window_end < e.census OR e.ended_on IS NOT NULL),
           count(*) FILTER (WHERE e.end_reason = 'discharged_at_window_end'),
           count(*) FILTER (WHERE e.end_reason = 'discharged_early'),
           count(*) FILTER (WHERE e.end_reason = 'returned_to_routine_follow_up'),
           round(100.0 * count(*) FILTER (WHERE e.initiated_on IS NOT NULL) / count(*), 1),
           round(100.0 * count(*) FILTER (WHERE e.end_reason = 'discharged_at_window_end')
                 / nullif(count(*) FILTER (WHERE e.window_end < e.census OR e.ended_on IS NOT NULL), 0), 1)
    FROM e
    GROUP BY 1, 2
$$;
COMMENT ON FUNCTION ptl.pifu_summary(date) IS
    'PIFU per provider and specialty at a census: moved to PIFU, on it now, initiated a follow-up, windows ended and how (discharged at the end, early, back to routine), and the shares initiated and discharged at the end';
-- from src/outpatient/measures.sql
-- ---------------------------------------------------------------------------
-- outpatient measures: per specialty, clinic and week; and the independent
-- sector's activity beside the NHS providers', with displacement.
-- docs/outpatients.md.
-- ---------------------------------------------------------------------------

-- Per week (Monday), provider, specialty and clinic ('clinic' rows), and per
-- provider and specialty ('specialty' rows, which add advice and guidance).
-- The provider is the one running the clinic; weeks run up to the last
-- refresh's census (what has happened).  Rates are per cent:
--   DNA rate: DNAs / (attendances + DNAs), first and follow-up apart;
--   cancellation rates: cancellations by the hospital (or the patient) /
--     all appointments that were due that week;
--   follow-ups per first: follow-up attendances / first attendances (the
--     new-to-follow-up ratio);
--   PIFU uptake: attendances moved to PIFU / attendances;
--   slot utilisation: slots used (attended or not attended) / slots offered
--     in sessions not cancelled;
--   advice diverted: advice answered with no referral needed / answered.
CREATE VIEW ptl.outpatient_measures AS
WITH appt AS (
    SELECT si.org_code AS provider_org, c.treatment_function, a.clinic_code,
           date_trunc('week', a.appointment_date)::date AS week_starting,
           count(*) AS appointments_due,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended') AS first_attended,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended') AS follow_up_attended,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'dna') AS first_dna,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'dna') AS follow_up_dna,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_hospital') AS hospital_cancelled,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_patient') AS patient_cancelled,
           count(*) FILTER (WHERE a.outcome = 'pifu') AS moved_to_pifu,
           count(*) FILTER (WHERE a.outcome = 'discharged') AS discharged
    FROM ptl.outpatient_appointment a
    JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE a.attendance <> 'booked' AND a.appointment_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
    GROUP BY 1, 2, 3, 4
),
sess AS (
    SELECT si.org_code AS provider_org, c.treatment_function, s.clinic_code,
           date_trunc('week', s.session_date)::date AS week_starting,
           sum(s.slots) FILTER (WHERE NOT s.cancelled) AS slots
    FROM ptl.clinic_session s
    JOIN ptl.clinic c ON c.clinic_code = s.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE s.session_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
      -- sessions and advice hold no patient data, so no row security: show
      -- a user only its own organisations' (as the appointments are)
      AND ((SELECT ptl.sees_all_organisations()) OR si.org_code = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3, 4
),
per_clinic AS (
    SELECT coalesce(a.provider_org, s.provider_org) AS provider_org,
           coalesce(a.treatment_function, s.treatment_function) AS treatment_function,
           coalesce(a.clinic_code, s.clinic_code) AS clinic_code,
           coalesce(a.week_starting, s.week_starting) AS week_starting,
           coalesce(a.appointments_due, 0) AS appointments_due, coalesce(a.first_attended, 0) AS first_attended,
           coalesce(a.follow_up_attended, 0) AS follow_up_attended, coalesce(a.first_dna, 0) AS first_dna,
           coalesce(a.follow_up_dna, 0) AS follow_up_dna, coalesce(a.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(a.patient_cancelled, 0) AS patient_cancelled, coalesce(a.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(a.discharged, 0) AS discharged, s.slots
    FROM appt a
    FULL JOIN sess s ON s.clinic_code = a.clinic_code AND s.week_starting = a.week_starting
),
advice AS (
    SELECT r.provider_org, r.treatment_function, date_trunc('week', r.requested_on)::date AS week_starting,
           count(*) AS advice_requests,
           count(*) FILTER (WHERE r.outcome <> 'pending') AS advice_answered,
           count(*) FILTER (WHERE r.outcome = 'diverted') AS advice_diverted
    FROM ptl.advice_request r
    WHERE r.requested_on <= (SELECT max(r2.census) FROM ptl.rtt_pathway r2)
      AND ((SELECT ptl.sees_all_organisations()) OR r.provider_org = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3
),
per_specialty AS (
    SELECT coalesce(k.provider_org, v.provider_org) AS provider_org,
           coalesce(k.treatment_function, v.treatment_function) AS treatment_function,
           coalesce(k.week_starting, v.week_starting) AS week_starting,
           coalesce(k.appointments_due, 0) AS appointments_due, coalesce(k.first_attended, 0) AS first_attended,
           coalesce(k.follow_up_attended, 0) AS follow_up_attended, coalesce(k.first_dna, 0) AS first_dna,
           coalesce(k.follow_up_dna, 0) AS follow_up_dna, coalesce(k.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(k.patient_cancelled, 0) AS patient_cancelled, coalesce(k.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(k.discharged, 0) AS discharged, k.slots,
           v.advice_requests, v.advice_answered, v.advice_diverted
    FROM (SELECT pc.provider_org, pc.treatment_function, pc.week_starting,
                 sum(pc.appointments_due) AS appointments_due, sum(pc.first_attended) AS first_attended,
                 sum(pc.follow_up_attended) AS follow_up_attended, sum(pc.first_dna) AS first_dna,
                 sum(pc.follow_up_dna) AS follow_up_dna, sum(pc.hospital_cancelled) AS hospital_cancelled,
                 sum(pc.patient_cancelled) AS patient_cancelled, sum(pc.moved_to_pifu) AS moved_to_pifu,
                 sum(pc.discharged) AS discharged, sum(pc.slots) AS slots
          FROM per_clinic pc GROUP BY 1, 2, 3) k
    FULL JOIN advice v ON v.provider_org = k.provider_org AND v.treatment_function = k.treatment_function
                      AND v.week_starting = k.week_starting
),
measured AS (
    SELECT 'clinic' AS grouping, pc.provider_org, pc.treatment_function, pc.clinic_code, pc.week_starting,
           pc.appointments_due, pc.first_attended, pc.follow_up_attended, pc.first_dna, pc.follow_up_dna,
           pc.hospital_cancelled, pc.patient_cancelled, pc.moved_to_pifu, pc.discharged, pc.slots,
           NULL::bigint AS advice_requests, NULL::bigint AS advice_answered, NULL::bigint AS advice_diverted
    FROM per_clinic pc
    UNION ALL
    SELECT 'specialty', ps.provider_org, ps.treatment_function, NULL, ps.week_starting,
           ps.appointments_due, ps.first_attended, ps.follow_up_attended, ps.first_dna, ps.follow_up_dna,
           ps.hospital_cancelled, ps.patient_cancelled, ps.moved_to_pifu, ps.discharged, ps.slots,
           coalesce(ps.advice_requests, 0), coalesce(ps.advice_answered, 0), coalesce(ps.advice_diverted, 0)
    FROM per_specialty ps
)
SELECT m.grouping, m.week_starting, m.provider_org, m.treatment_function, m.clinic_code,
       m.first_attended, m.follow_up_attended,
       round(m.follow_up_attended::numeric / nullif(m.first_attended, 0), 2) AS follow_ups_per_first,
       m.first_dna, round(100.0 * m.first_dna / nullif(m.first_attended + m.first_dna, 0), 1) AS first_dna_pct,
       m.follow_up_dna, round(100.0 * m.follow_up_dna / nullif(m.follow_up_attended + m.follow_up_dna, 0), 1) AS follow_up_dna_pct,
       m.hospital_cancelled, round(100.0 * m.hospital_cancelled / nullif(m.appointments_due, 0), 1) AS hospital_cancelled_pct,
       m.patient_cancelled, round(100.0 * m.patient_cancelled / nullif(m.appointments_due, 0), 1) AS patient_cancelled_pct,
       m.moved_to_pifu,
       round(100.0 * m.moved_to_pifu / nullif(m.first_attended + m.follow_up_attended, 0), 1) AS pifu_uptake_pct,
       m.discharged, m.slots,
       m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna AS slots_used,
       round(100.0 * (m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna) / nullif(m.slots, 0), 1)
           AS slot_utilisation_pct,
       m.advice_requests, m.advice_answered, m.advice_diverted,
       round(100.0 * m.advice_diverted / nullif(m.advice_answered, 0), 1) AS advice_diverted_pct
FROM measured m;
COMMENT ON VIEW ptl.outpatient_measures IS
    'Outpatient measures per week, provider, specialty and clinic (grouping clinic) or specialty (grouping specialty, with advice and guidance): attendances, follow-ups per first, DNA rates, cancellation rates by whom, PIFU uptake, slot utilisation, advice diverted from referral';
COMMENT ON COLUMN ptl.outpatient_measures.grouping IS 'clinic (one clinic) or specialty (all the provider''s clinics of the specialty, and advice and guidance)';
COMMENT ON COLUMN ptl.outpatient_measures.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.outpatient_measures.provider_org IS 'Provider running the clinic (asked, for advice)';
COMMENT ON COLUMN ptl.outpatient_measures.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.outpatient_measures.clinic_code IS 'Clinic (clinic rows)';
COMMENT ON COLUMN ptl.outpatient_measures.first_attended IS 'First attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_attended IS 'Follow-up attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_ups_per_first IS 'Follow-up attendances per first attendance (new-to-follow-up ratio)';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna IS 'First appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna_pct IS 'First DNA rate: DNAs / (attendances + DNAs), per cent';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna IS 'Follow-up appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna_pct IS 'Follow-up DNA rate, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled IS 'Appointments the hospital cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled_pct IS 'Hospital cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled IS 'Appointments the patient cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled_pct IS 'Patient cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.moved_to_pifu IS 'Attendances whose outcome moved the patient to PIFU';
COMMENT ON COLUMN ptl.outpatient_measures.pifu_uptake_pct IS 'PIFU uptake: attendances moved to PIFU / attendances, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.discharged IS 'Attendances whose outcome was discharge';
COMMENT ON COLUMN ptl.outpatient_measures.slots IS 'Slots offered in sessions not cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.slots_used IS 'Slots used: attended or not attended';
COMMENT ON COLUMN ptl.outpatient_measures.slot_utilisation_pct IS 'Slots used / slots offered, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.advice_requests IS 'Advice and guidance requests (specialty rows)';
COMMENT ON COLUMN ptl.outpatient_measures.advice_answered IS 'Requests answered';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted IS 'Requests answered with no referral needed';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted_pct IS 'Share of answered requests diverted from referral, per cent';

-- ---------------------------------------------------------------------------
-- Independent sector
-- ---------------------------------------------------------------------------

-- Activity and clock stops per month, specialty and provider type (NHS
-- trust or independent sector, from ptl.organisation.org_kind): outpatient
-- attendances and admissions from the pathway events, clock stops from the
-- completed RTT periods at the last refresh.
CREATE VIEW ptl.provider_type_activity AS
WITH kind AS (
    SELECT o.org_code, CASE o.org_kind WHEN 'independent_sector' THEN 'independent_sector' ELSE 'nhs' END AS provider_type
    FROM ptl.organisation o WHERE o.org_kind IN ('nhs_trust', 'independent_sector')
),
events AS (
    SELECT date_trunc('month', e.event_date)::date AS month, p.treatment_function, k.provider_type,
           count(*) FILTER (WHERE e.kind = 'outpatient') AS attendances,
           count(*) FILTER (WHERE e.kind = 'admission') AS admissions
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE e.kind IN ('outpatient', 'admission')
    GROUP BY 1, 2, 3
),
stops AS (
    SELECT date_trunc('month', r.clock_stop)::date AS month, p.treatment_function, k.provider_type,
           count(*) AS clock_stops
    FROM ptl.rtt_period r
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE r.outcome IN ('admitted', 'non_admitted')
    GROUP BY 1, 2, 3
)
SELECT coalesce(e.month, s.month) AS month, coalesce(e.treatment_function, s.treatment_function) AS treatment_function,
       coalesce(e.provider_type, s.provider_type) AS provider_type,
       coalesce(e.attendances, 0) AS attendances, coalesce(e.admissions, 0) AS admissions,
       coalesce(e.attendances, 0) + coalesce(e.admissions, 0) AS activity,
       coalesce(s.clock_stops, 0) AS clock_stops
FROM events e
FULL JOIN stops s ON s.month = e.month AND s.treatment_function = e.treatment_function AND s.provider_type = e.provider_type;
COMMENT ON VIEW ptl.provider_type_activity IS
    'Outpatient attendances, admissions and RTT clock stops per month, specialty and provider type (nhs or independent_sector)';
COMMENT ON COLUMN ptl.provider_type_activity.month IS 'First day of the month';
COMMENT ON COLUMN ptl.provider_type_activity.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.provider_type_activity.provider_type IS 'nhs (NHS trusts) or independent_sector';
COMMENT ON COLUMN ptl.provider_type_activity.attendances IS 'Outpatient attendances (events of kind outpatient)';
COMMENT ON COLUMN ptl.provider_type_activity.admissions IS 'Admissions (events of kind admission)';
COMMENT ON COLUMN ptl.provider_type_activity.activity IS 'Attendances + admissions';
COMMENT ON COLUMN ptl.provider_type_activity.clock_stops IS 'RTT periods completed (admitted or non-admitted) in the month';

-- Displacement: in the three months to each month, against the three months
-- before, did the independent sector's activity grow while the NHS
-- providers' own activity in the same specialty fell?  (Three-month sums
-- smooth a month's noise; a year-on-year comparison would also remove the
-- season but needs two years of data.)
CREATE VIEW ptl.independent_sector_displacement AS
WITH grid AS (
    SELECT t.treatment_function, m::date AS month
    FROM (SELECT DISTINCT treatment_function FROM ptl.provider_type_activity) t
    CROSS JOIN generate_series((SELECT min(month) FROM ptl.provider_type_activity),
                               (SELECT max(month) FROM ptl.provider_type_activity), interval '1 month') m
),
monthly AS (
    SELECT g.treatment_function, g.month,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_activity,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_activity,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_clock_stops,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_clock_stops
    FROM grid g
    LEFT JOIN ptl.provider_type_activity a ON a.treatment_function = g.treatment_function AND a.month = g.month
    GROUP BY 1, 2
),
rolled AS (
    SELECT m.*,
           sum(m.nhs_activity) OVER last3 AS nhs_3m, sum(m.nhs_activity) OVER before3 AS nhs_3m_before,
           sum(m.is_activity) OVER last3 AS is_3m, sum(m.is_activity) OVER before3 AS is_3m_before,
           count(*) OVER before3 AS months_before
    FROM monthly m
    WINDOW last3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
           before3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 5 PRECEDING AND 3 PRECEDING)
)
SELECT r.month, r.treatment_function, r.nhs_activity, r.is_activity, r.nhs_clock_stops, r.is_clock_stops,
       round(100.0 * r.is_activity / nullif(r.nhs_activity + r.is_activity, 0), 1) AS is_share_pct,
       r.nhs_3m, r.nhs_3m_before, r.is_3m, r.is_3m_before,
       CASE WHEN r.months_before = 3 THEN r.nhs_3m - r.nhs_3m_before END AS nhs_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m - r.is_3m_before END AS is_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m > r.is_3m_before AND r.nhs_3m < r.nhs_3m_before END AS displacement
FROM rolled r;
COMMENT ON VIEW ptl.independent_sector_displacement IS
    'Per specialty and month: NHS and independent sector activity and clock stops, the independent sector''s share, and displacement (its activity in the three months to the month grew on the three before while the NHS providers'' fell)';
COMMENT ON COLUMN ptl.independent_sector_displacement.month IS 'Month (first day)';
COMMENT ON COLUMN ptl.independent_sector_displacement.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_activity IS 'NHS providers'' attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_activity IS 'Independent sector attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_clock_stops IS 'NHS providers'' clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_clock_stops IS 'Independent sector clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_share_pct IS 'Independent sector share of the month''s activity, per cent';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m IS 'NHS activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m_before IS 'NHS activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m IS 'Independent sector activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m_before IS 'Independent sector activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_change IS 'NHS change, three months on three months (NULL without six months of data)';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_change IS 'Independent sector change, three months on three months';
COMMENT ON COLUMN ptl.independent_sector_displacement.displacement IS 'True when independent sector activity grew while the NHS providers'' own fell (NULL without six months of data)';
-- from src/journey/pack.sql
-- ---------------------------------------------------------------------------
-- pack: the weekly PTL pack, one self-contained HTML document (no scripts,
-- fonts, images or network) with charts ptl draws itself as inline SVG, each
-- followed by its table of numbers (for screen readers and for checking),
-- and a print stylesheet for A4.  docs/journey.md.
--
-- The drawing functions are general: a title, categories along the x axis,
-- series, and values as a two-dimensional array vals[series][category]
-- (NULL: no value).  Colours are the Okabe-Ito palette, which readers with
-- colour-vision deficiency can tell apart.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION ptl.html_escape(text) IS 'Text made safe inside HTML or SVG, in elements and quoted attributes';

-- A table row: header cells (th) or data cells (td, numbers right-aligned).
CREATE FUNCTION ptl.html_row(cells text[], header boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '<tr>' || coalesce((SELECT string_agg(
            CASE WHEN header THEN '<th scope="col">' || ptl.html_escape(coalesce(c, '')) || '</th>'
                 WHEN c ~ '^[-+]?[0-9][0-9,]*(\.[0-9]+)?%?$' THEN '<td class="num">' || c || '</td>'
                 ELSE '<td>' || ptl.html_escape(coalesce(c, '')) || '</td>' END, '' ORDER BY i)
        FROM unnest(cells) WITH ORDINALITY u (c, i)), '') || '</tr>';
COMMENT ON FUNCTION ptl.html_row(text[], boolean) IS 'One HTML table row of the cells, escaped: th cells for a header, else td (numbers right-aligned)';

-- The i-th colour of the palette (Okabe and Ito 2008, "Color Universal
-- Design"), repeating after eight.
CREATE FUNCTION ptl.chart_colour(i int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (ARRAY['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#7F7F7F', '#F0E442'])
       [1 + ((i - 1) % 8 + 8) % 8];
COMMENT ON FUNCTION ptl.chart_colour(int) IS 'Series colour i (1-based) of the Okabe-Ito palette, distinguishable with colour-vision deficiency';

-- A round step for about `ticks` gridlines up to top: 1, 2 or 5 times a
-- power of ten.
CREATE FUNCTION ptl.chart_step(top float8, ticks int DEFAULT 5) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    raw float8;
    magnitude float8;
BEGIN
    IF top <= 0 OR ticks < 1 THEN
        RETURN 1;
    END IF;
    raw := top / ticks;
    magnitude := power(10, floor(log(raw)));
    RETURN magnitude * CASE WHEN raw / magnitude <= 1 THEN 1 WHEN raw / magnitude <= 2 THEN 2
                            WHEN raw / magnitude <= 5 THEN 5 ELSE 10 END;
END
$$;
COMMENT ON FUNCTION ptl.chart_step(float8, int) IS 'A round gridline step (1, 2 or 5 times a power of ten) giving about ticks lines up to top';

-- A number as a chart prints it: whole numbers plainly, others to one place.
CREATE FUNCTION ptl.chart_number(v float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN v = trunc(v) AND abs(v) < 1e15 THEN to_char(v, 'FM999,999,999,999,990')
            ELSE to_char(v, 'FM999,999,999,990.0') END;
COMMENT ON FUNCTION ptl.chart_number(float8) IS 'A number for a chart or table: thousands separated, one decimal place unless whole';

-- Bars (stacked or side by side) or lines, on one frame: axes, gridlines,
-- a legend, and an optional dashed reference line (a target, a bed base).
-- Each mark has a <title>, so hovering names the series, category and value.
CREATE FUNCTION ptl.svg_chart(kind text, title text, categories text[], series text[], vals float8[],
                              y_label text, reference float8 DEFAULT NULL, reference_label text DEFAULT NULL,
                              colours text[] DEFAULT NULL, reference_line float8[] DEFAULT NULL,
                              width int DEFAULT 720, height int DEFAULT 300)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    n int := coalesce(cardinality(categories), 0);
    s int := coalesce(cardinality(series), 0);
    left_edge CONSTANT int := 64;
    right_edge int := width - 16;
    top_edge int;
    bottom_edge int := height - 74;
    legend text := '';
    legend_x float8 := 64;
    legend_y int := 10;
    legend_width float8;
    colour text[];
    band float8;
    top float8 := 0;
    step float8;
    scale float8;
    tick float8;
    total float8;
    v float8;
    y0 float8;
    x float8;
    bar float8;
    label_every int;
    points text;
    out text;
    i int;
    j int;
BEGIN
    IF kind NOT IN ('stacked', 'grouped', 'lines') THEN
        RAISE EXCEPTION 'chart kind must be stacked, grouped or lines, not %', coalesce(kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF s > 0 AND n > 0 AND (array_ndims(vals) IS DISTINCT FROM 2 OR array_length(vals, 1) <> s
                            OR array_length(vals, 2) <> n) THEN
        RAISE EXCEPTION 'chart "%" needs values for % series by % categories, not %', title, s, n,
                        coalesce(array_dims(vals), 'none')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'vals is a two-dimensional array: vals[series][category]';
    END IF;
    out := format('<svg class="chart-svg" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" '
                  'width="%s" height="%s" aria-label="%s"><title>%s</title>',
                  width, height, width, height, html_escape(title), html_escape(title));
    -- the largest value (or stack), and the reference, fix the scale
    FOR j IN 1 .. n LOOP
        total := 0;
        FOR i IN 1 .. s LOOP
            v := coalesce(vals[i][j], 0);
            IF kind = 'stacked' THEN total := total + greatest(v, 0); ELSE total := greatest(total, v); END IF;
        END LOOP;
        top := greatest(top, total);
    END LOOP;
    -- series colours: the caller's, else the palette's
    colour := ARRAY(SELECT coalesce(colours[k], chart_colour(k)) FROM generate_series(1, s) k);
    -- the legend, in rows above the plot
    FOR i IN 1 .. s LOOP
        legend_width := 22 + 6.2 * length(series[i]);
        IF legend_x + legend_width > right_edge AND legend_x > left_edge THEN
            legend_x := left_edge;
            legend_y := legend_y + 16;
        END IF;
        legend := legend || format('<rect x="%s" y="%s" width="12" height="12" fill="%s"/><text class="legend" x="%s" y="%s">%s</text>',
                                   round(legend_x::numeric, 1), legend_y, colour[i], round((legend_x + 16)::numeric, 1),
                                   legend_y + 10, html_escape(series[i]));
        legend_x := legend_x + legend_width + 8;
    END LOOP;
    top_edge := legend_y + 30;
    IF reference_line IS NOT NULL AND cardinality(reference_line) <> n THEN
        RAISE EXCEPTION 'chart "%" has % categories but % reference values', title, n, cardinality(reference_line)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n = 0 OR s = 0 OR top <= 0 AND reference IS NULL AND reference_line IS NULL THEN
        RETURN out || format('<text class="no-data" x="%s" y="%s" text-anchor="middle">No data</text></svg>',
                             width / 2, height / 2);
    END IF;
    top := greatest(top, coalesce(reference, 0),
                    coalesce((SELECT max(r) FROM unnest(reference_line) r), 0)) * 1.05;
    step := chart_step(top);
    top := ceil(top / step) * step;
    scale := (bottom_edge - top_edge) / top;
    band := (right_edge - left_edge)::float8 / n;

    -- gridlines and the y axis
    tick := 0;
    WHILE tick <= top + step / 2 LOOP
        out := out || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>'
                             '<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>',
                             left_edge, right_edge, round((bottom_edge - tick * scale)::numeric, 1),
                             round((bottom_edge - tick * scale)::numeric, 1),
                             left_edge - 6, round((bottom_edge - tick * scale + 4)::numeric, 1),
                             -- short tick labels (300k, 1.5M) keep clear of the axis title;
                             -- one unit for the whole axis
                             CASE WHEN tick = 0 THEN '0'
                                  WHEN top >= 1e6 THEN to_char(tick / 1e6, 'FM999990.##') || 'M'
                                  WHEN top >= 1e4 THEN to_char(tick / 1e3, 'FM999990.##') || 'k'
                                  ELSE chart_number(tick) END);
        tick := tick + step;
    END LOOP;
    out := out || format('<text class="axis-label" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>',
                         (top_edge + bottom_edge) / 2, html_escape(y_label));
    out := out || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', left_edge, right_edge, bottom_edge, bottom_edge);

    -- category labels: every one if they fit, else every k-th, slanted
    label_every := greatest(1, ceil(n / 16.0)::int);
    FOR j IN 1 .. n LOOP
        CONTINUE WHEN (j - 1) % label_every <> 0;
        x := left_edge + (j - 0.5) * band;
        -- long labels are cut (the table beneath has them whole)
        out := out || format('<text class="category" text-anchor="end" transform="translate(%s %s) rotate(-35)">%s</text>',
                             round(x::numeric, 1), bottom_edge + 14,
                             html_escape(CASE WHEN length(categories[j]) > 16 THEN left(categories[j], 15) || '…'
                                              ELSE categories[j] END));
    END LOOP;

    -- the marks
    IF kind = 'lines' THEN
        FOR i IN 1 .. s LOOP
            points := '';
            FOR j IN 1 .. n LOOP
                v := vals[i][j];
                IF v IS NULL THEN
                    -- a gap: the line breaks here
                    IF points <> '' THEN
                        out := out || format('<polyline class="mark" fill="none" stroke="%s" stroke-width="2" points="%s"/>',
                                             colour[i], trim(points));
                    END IF;
                    points := '';
                    CONTINUE;
                END IF;
                x := left_edge + (j - 0.5) * band;
                points := points || format(' %s,%s', round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1));
                out := out || format('<circle class="mark" cx="%s" cy="%s" r="2.5" fill="%s"><title>%s, %s: %s</title></circle>',
                                     round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1), colour[i],
                                     html_escape(series[i]), html_escape(categories[j]), chart_number(v));
            END LOOP;
            IF points <> '' THEN
                out := out || format('<polyline class="mark" fill="none" stroke="%s" stroke-width="2" points="%s"/>',
                                     colour[i], trim(points));
            END IF;
        END LOOP;
    ELSE
        FOR j IN 1 .. n LOOP
            y0 := bottom_edge;
            FOR i IN 1 .. s LOOP
                v := vals[i][j];
                CONTINUE WHEN v IS NULL OR v <= 0;
                IF kind = 'stacked' THEN
                    bar := band * 0.8;
                    x := left_edge + (j - 1) * band + band * 0.1;
                    y0 := y0 - v * scale;
                    out := out || format('<rect class="mark" x="%s" y="%s" width="%s" height="%s" fill="%s">',
                                         round(x::numeric, 1), round(y0::numeric, 1), round(bar::numeric, 1),
                                         round((v * scale)::numeric, 1), colour[i]);
                ELSE
                    bar := band * 0.8 / s;
                    x := left_edge + (j - 1) * band + band * 0.1 + (i - 1) * bar;
                    out := out || format('<rect class="mark" x="%s" y="%s" width="%s" height="%s" fill="%s">',
                                         round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1),
                                         round(bar::numeric, 1), round((v * scale)::numeric, 1), colour[i]);
                END IF;
                out := out || format('<title>%s, %s: %s</title></rect>', html_escape(series[i]),
                                     html_escape(categories[j]), chart_number(v));
            END LOOP;
        END LOOP;
    END IF;

    -- a reference that changes along the x axis: a dashed step line
    IF reference_line IS NOT NULL THEN
        points := '';
        FOR j IN 1 .. n LOOP
            CONTINUE WHEN reference_line[j] IS NULL;
            points := points || format(' %s,%s %s,%s',
                                       round((left_edge + (j - 1) * band)::numeric, 1),
                                       round((bottom_edge - reference_line[j] * scale)::numeric, 1),
                                       round((left_edge + j * band)::numeric, 1),
                                       round((bottom_edge - reference_line[j] * scale)::numeric, 1));
        END LOOP;
        out := out || format('<polyline class="reference" fill="none" points="%s"/>', trim(points))
            || format('<text class="reference-label" x="%s" y="%s" text-anchor="end">%s</text>', right_edge, top_edge - 4,
                      html_escape(coalesce(reference_label, 'reference')) || ' (dashed)');
    END IF;
    IF reference IS NOT NULL THEN
        out := out || format('<line class="reference" x1="%s" x2="%s" y1="%s" y2="%s"/>'
                             '<text class="reference-label" x="%s" y="%s" text-anchor="end">%s</text>',
                             left_edge, right_edge, round((bottom_edge - reference * scale)::numeric, 1),
                             round((bottom_edge - reference * scale)::numeric, 1), right_edge,
                             round((bottom_edge - reference * scale - 4)::numeric, 1),
                             html_escape(coalesce(reference_label, chart_number(reference))));
    END IF;

    out := out || legend;
    RETURN out || '</svg>';
END
$$;
COMMENT ON FUNCTION ptl.svg_chart(text, text, text[], text[], float8[], text, float8, text, text[], float8[], int, int) IS
    'An SVG chart: kind stacked or grouped (bars) or lines, categories on the x axis, vals[series][category], an optional dashed reference line (constant, or reference_line[category]), series colours (default: the Okabe-Ito palette)';

-- A chart, its caption and its table, as one figure.
CREATE FUNCTION ptl.pack_figure(chart_id text, heading text, caption text, svg text, table_header text[], table_rows text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('<figure class="chart" id="chart-%s"%s><h2>%s</h2>%s<figcaption>%s</figcaption>'
              '<table><caption>%s: the numbers</caption><thead>%s</thead><tbody>%s</tbody></table></figure>',
              chart_id, CASE WHEN svg LIKE '%class="no-data"%' THEN ' data-empty="true"' ELSE '' END,
              ptl.html_escape(heading), svg, ptl.html_escape(caption), ptl.html_escape(heading),
              ptl.html_row(table_header, true),
              coalesce(nullif(table_rows, ''),
                       format('<tr><td colspan="%s">No data</td></tr>', cardinality(table_header))));
COMMENT ON FUNCTION ptl.pack_figure(text, text, text, text, text[], text) IS
    'One figure of the weekly pack: heading, chart, caption, and the table of its numbers';

-- The weekly PTL pack.  Every number is read as the caller may see it (row
-- security applies), for one provider, or the whole ICS, or for a user who
-- does not see the whole ICS, the organisations it is mapped to.  The waiting list is
-- the census snapshot on or before the census date (so a past week's pack
-- can be made again); stages are those of the last refresh.  VOLATILE
-- only because it gathers each part once into temporary tables.
CREATE FUNCTION ptl.weekly_pack(census date, provider text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
-- Each query reads a few hundred thousand rows at most: compiling them (JIT)
-- cost more than it saved, about half a second a query at a million referrals.
SET jit = off
AS $$
#variable_conflict use_variable
DECLARE
    snap date;
    week_before date;
    scope text;
    target float8 := (ptl.theatre_setting_in_force()).utilisation_target_pct;
    head record;
    cats text[];
    sers text[];
    vals float8[];
    rows_html text;
    figures text := '';
    in_bottleneck bigint;
    base_line float8[];
    orgs text[];
BEGIN
    IF census IS NULL OR NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF provider IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code = provider) THEN
        RAISE EXCEPTION 'provider % is not in ptl.organisation', provider
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Give an ODS organisation code, e.g. RBD, or NULL for the whole ICS.';
    END IF;
    SELECT max(s.census_date) INTO snap FROM ptl.census_snapshot s WHERE s.census_date <= census;
    IF snap IS NULL THEN
        RAISE EXCEPTION 'no census snapshot on or before %', census
            USING ERRCODE = 'no_data_found',
                  HINT = 'Run CALL ptl.daily_refresh() (or ptl.refresh(census)) first: the pack reads its snapshot.';
    END IF;
    SELECT max(s.census_date) INTO week_before FROM ptl.census_snapshot s WHERE s.census_date <= snap - 7;
    -- Whose sites the theatre and bed charts show: the provider's; else,
    -- for a user who does not see the whole ICS, the organisations it may
    -- see (the rest of the pack is filtered by row-level security).
    IF provider IS NOT NULL THEN
        orgs := ARRAY[provider];
        scope := (SELECT o.name || ' (' || o.org_code || ')' FROM ptl.organisation o WHERE o.org_code = provider);
    ELSIF ptl.sees_all_organisations() THEN
        scope := 'All providers in the ICS';
    ELSE
        orgs := ptl.my_organisations();
        scope := coalesce('The organisations you may see: '
                          || (SELECT string_agg(o.name || ' (' || o.org_code || ')', ', ' ORDER BY o.org_code)
                              FROM ptl.organisation o WHERE o.org_code = ANY (orgs)),
                          'No organisations: ask for a mapping in ptl.user_organisation');
    END IF;


    -- Headline figures, against the week before.
    SELECT count(*) AS waiting,
           count(*) FILTER (WHERE l.days_waited <= 126) AS within_18,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS median_weeks,
           count(*) FILTER (WHERE l.days_waited > 364) AS over_52,
           count(*) FILTER (WHERE l.days_waited > 455) AS over_65,
           count(*) FILTER (WHERE l.days_waited > 546) AS over_78,
           count(*) FILTER (WHERE l.days_waited > 728) AS over_104,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND b.days_waited IS NOT NULL
              AND (orgs IS NULL OR b.provider_org = ANY (orgs))) AS waiting_before,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND b.days_waited > 364
              AND (orgs IS NULL OR b.provider_org = ANY (orgs))) AS over_52_before
    INTO head FROM ptl.census_snapshot l
    WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs));

    -- 1. The waiting list by weeks waited (four-week bands), stacked by priority.
    WITH banded AS (
        SELECT least(l.days_waited / 28, 26) AS band,
               coalesce(l.clinical_priority::text, CASE WHEN l.has_dta THEN 'admitted, no priority' ELSE 'non-admitted' END)
                   AS priority
        FROM ptl.census_snapshot l
        WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs))
    ),
    priorities AS (
        SELECT DISTINCT b.priority FROM banded b
    ),
    ordered AS (
        SELECT p.priority, row_number() OVER (ORDER BY p.priority ~ '^P' DESC, p.priority) AS k FROM priorities p
    ),
    grid AS (
        SELECT o.priority, o.k, g.bucket, count(b.band) AS n
        FROM ordered o CROSS JOIN generate_series(0, 26) g (bucket)
        LEFT JOIN banded b ON b.priority = o.priority AND b.band = g.bucket
        GROUP BY 1, 2, 3
    ),
    per_series AS (
        SELECT g.k, g.priority, array_agg(g.n::float8 ORDER BY g.bucket) AS counts FROM grid g GROUP BY 1, 2
    )
    SELECT array_agg(ps.priority ORDER BY ps.k), array_agg(ps.counts ORDER BY ps.k),
           (SELECT string_agg(ptl.html_row(ARRAY[CASE WHEN b = 26 THEN '104+' ELSE (4 * b) || '–' || (4 * b + 3) END]
                                           || ARRAY(SELECT chart_number(x.counts[b + 1]) FROM per_series x ORDER BY x.k)
                                           || chart_number((SELECT sum(x.counts[b + 1]) FROM per_series x))), '' ORDER BY b)
            FROM generate_series(0, 26) b)
    INTO sers, vals, rows_html FROM per_series ps;
    cats := ARRAY(SELECT CASE WHEN b = 26 THEN '104+' ELSE (4 * b) || '–' || (4 * b + 3) END FROM generate_series(0, 26) b);
    figures := figures || pack_figure('waits', 'Waiting list by weeks waited',
        format('%s pathways waiting at %s, in four-week bands of weeks waited, coloured by surgical priority (non-admitted pathways have none).',
               chart_number(head.waiting), snap),
        svg_chart('stacked', 'Waiting list by weeks waited, stacked by priority', cats, sers, vals, 'Pathways',
                  colours => ARRAY(SELECT CASE p WHEN 'P1a' THEN '#7A0019' WHEN 'P1b' THEN '#D55E00' WHEN 'P2' THEN '#E69F00'
                                                 WHEN 'P3' THEN '#CC79A7' WHEN 'P4' THEN '#0072B2' WHEN 'P5' THEN '#56B4E9'
                                                 WHEN 'P6' THEN '#009E73' WHEN 'non-admitted' THEN '#B8B8B8' ELSE '#6E6E6E' END
                                   FROM unnest(sers) p)),
        ARRAY['Weeks waited'] || coalesce(sers, '{}') || ARRAY['All'], rows_html);

    -- 2. Long waiters over the census snapshots: the last census of each of
    -- the 26 weeks up to this one.
    WITH weeks AS (
        -- each week's last census: one short index probe a week
        SELECT last.census_date
        FROM generate_series(0, 25) k
        CROSS JOIN LATERAL (
            SELECT max(s.census_date) AS census_date FROM ptl.census_snapshot s
            WHERE s.census_date >= date_trunc('week', snap)::date - 7 * k
              AND s.census_date < date_trunc('week', snap)::date - 7 * k + 7
              AND s.census_date <= snap) last
        WHERE last.census_date IS NOT NULL
    ),
    counted AS (
        -- one census at a time, through each month's index of long waiters
        SELECT w.census_date, c.*
        FROM weeks w
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE s.days_waited > 364) AS w52,
                   count(*) FILTER (WHERE s.days_waited > 455) AS w65,
                   count(*) FILTER (WHERE s.days_waited > 546) AS w78,
                   count(*) FILTER (WHERE s.days_waited > 728) AS w104
            FROM ptl.census_snapshot s
            WHERE s.census_date = w.census_date AND s.days_waited > 364
              AND (orgs IS NULL OR s.provider_org = ANY (orgs))) c
    )
    SELECT array_agg(c.census_date::text ORDER BY c.census_date),
           ARRAY[array_agg(c.w52::float8 ORDER BY c.census_date), array_agg(c.w65::float8 ORDER BY c.census_date),
                 array_agg(c.w78::float8 ORDER BY c.census_date), array_agg(c.w104::float8 ORDER BY c.census_date)],
           string_agg(ptl.html_row(ARRAY[c.census_date::text, chart_number(c.w52), chart_number(c.w65),
                                         chart_number(c.w78), chart_number(c.w104)]), '' ORDER BY c.census_date)
    INTO cats, vals, rows_html FROM counted c;
    figures := figures || pack_figure('long-waiters', 'Long waiters over time',
        'Pathways waiting more than 52, 65, 78 and 104 weeks at the last census of each week (up to 26 weeks).',
        svg_chart('lines', 'Long waiters at each weekly census', cats,
                  ARRAY['over 52 weeks', 'over 65 weeks', 'over 78 weeks', 'over 104 weeks'], vals, 'Pathways'),
        ARRAY['Census', 'Over 52 weeks', 'Over 65 weeks', 'Over 78 weeks', 'Over 104 weeks'], rows_html);

    -- 3. Provider variation: median weeks waited per provider in the eight
    -- largest specialties.
    WITH per AS (
        SELECT l.treatment_function, l.provider_org, count(*) AS waiting,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS median_weeks,
               percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS p92_weeks,
               100.0 * count(*) FILTER (WHERE l.days_waited > 126) / count(*) AS pct_over_18
        FROM ptl.census_snapshot l
        WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs))
        GROUP BY 1, 2
    ),
    largest AS (
        SELECT p.treatment_function, row_number() OVER (ORDER BY sum(p.waiting) DESC, p.treatment_function) AS k
        FROM per p GROUP BY 1 ORDER BY 2 LIMIT 8
    ),
    providers AS (
        SELECT DISTINCT p.provider_org FROM per p JOIN largest g USING (treatment_function)
    ),
    ordered AS (
        SELECT v.provider_org, row_number() OVER (ORDER BY v.provider_org) AS k FROM providers v
    )
    SELECT (SELECT array_agg(g.treatment_function || ' ' || coalesce(t.name, '') ORDER BY g.k)
            FROM largest g LEFT JOIN ptl.treatment_function t ON t.tfc = g.treatment_function),
           (SELECT array_agg(o.provider_org ORDER BY o.k) FROM ordered o),
           (SELECT array_agg(x.medians ORDER BY x.k)
            FROM (SELECT o.k, array_agg(round(p.median_weeks::numeric, 1)::float8 ORDER BY g.k) AS medians
                  FROM ordered o CROSS JOIN largest g
                  LEFT JOIN per p ON p.provider_org = o.provider_org AND p.treatment_function = g.treatment_function
                  GROUP BY o.k) x),
           (SELECT string_agg(ptl.html_row(ARRAY[g.treatment_function, p.provider_org, chart_number(p.waiting),
                                                 chart_number(round(p.median_weeks::numeric, 1)),
                                                 chart_number(round(p.p92_weeks::numeric, 1)),
                                                 chart_number(round(p.pct_over_18, 1)) || '%']), '' ORDER BY g.k, p.provider_org)
            FROM largest g JOIN per p USING (treatment_function))
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('variation', 'Provider variation per specialty',
        'Median weeks waited at each provider in the eight specialties with the most patients waiting; the table adds the 92nd percentile and the share over 18 weeks.',
        svg_chart('grouped', 'Median weeks waited by provider and specialty', cats, sers, vals, 'Median weeks'),
        ARRAY['Specialty', 'Provider', 'Waiting', 'Median weeks', '92nd percentile weeks', 'Over 18 weeks'], rows_html);

    -- 4. Stage bottlenecks: each open stage's queue now and four weeks ago;
    -- the table lists the worst bottlenecks by specialty and provider.
    CREATE TEMP TABLE pack_bottleneck ON COMMIT DROP AS
    SELECT b.* FROM ptl.journey_bottlenecks(census) b WHERE orgs IS NULL OR b.provider_org = ANY (orgs);
    SELECT coalesce(sum(b.queue_now), 0) INTO in_bottleneck FROM pack_bottleneck b WHERE b.bottleneck;
    WITH per_stage AS (
        SELECT s.stage, s.label, s.sort_order, coalesce(sum(b.queue_now), 0) AS now,
               coalesce(sum(b.queue_before), 0) AS before
        FROM ptl.journey_stage s
        LEFT JOIN pack_bottleneck b ON b.stage = s.stage
        WHERE NOT s.closed GROUP BY 1, 2, 3
    )
    SELECT array_agg(p.label ORDER BY p.sort_order),
           ARRAY[array_agg(p.before::float8 ORDER BY p.sort_order), array_agg(p.now::float8 ORDER BY p.sort_order)]
    INTO cats, vals FROM per_stage p;
    SELECT string_agg(ptl.html_row(ARRAY[b.provider_org, b.treatment_function, b.stage_label, chart_number(b.queue_now),
                                         chart_number(b.entered_per_week), chart_number(b.exited_per_week),
                                         coalesce(chart_number(b.clearance_weeks), 'no exits')]), '')
    INTO rows_html
    FROM (SELECT * FROM pack_bottleneck b WHERE b.bottleneck
          ORDER BY b.growth_per_week DESC, b.clearance_weeks DESC NULLS FIRST, b.queue_now DESC LIMIT 15) b;
    figures := figures || pack_figure('bottlenecks', 'Where patients are stuck',
        format('Pathways in each open stage now and %s weeks ago. The table lists the bottlenecks: queues entered faster than they are left, fastest growing first, with their clearance time (queue ÷ mean weekly exits).',
               (ptl.ops_setting_in_force()).bottleneck_weeks),
        svg_chart('grouped', 'Pathways per journey stage', cats,
                  ARRAY[format('%s weeks ago', (ptl.ops_setting_in_force()).bottleneck_weeks), 'now'], vals, 'Pathways'),
        ARRAY['Provider', 'Specialty', 'Stage', 'Queue', 'In per week', 'Out per week', 'Clearance weeks'], rows_html);

    -- 5. Theatre utilisation, capped, per site and week, against the target.
    WITH weeks AS (
        SELECT p.week_starting, p.site_code, p.capped_utilisation_pct, p.sessions, p.cases
        FROM ptl.theatre_productivity p
        JOIN ptl.site si ON si.site_code = p.site_code
        WHERE p.grouping = 'site' AND p.week_starting > census - 8 * 7 AND p.week_starting <= census
          AND (orgs IS NULL OR si.org_code = ANY (orgs))
    ),
    sites AS (
        SELECT w.site_code, row_number() OVER (ORDER BY w.site_code) AS k FROM (SELECT DISTINCT site_code FROM weeks) w
    ),
    week_list AS (
        SELECT DISTINCT w.week_starting FROM weeks w
    )
    SELECT (SELECT array_agg(x.week_starting::text ORDER BY x.week_starting) FROM week_list x),
           (SELECT array_agg(si.site_code ORDER BY si.k) FROM sites si),
           (SELECT array_agg(y.pcts ORDER BY y.k)
            FROM (SELECT si.k, array_agg(w.capped_utilisation_pct::float8 ORDER BY x.week_starting) AS pcts
                  FROM sites si CROSS JOIN week_list x
                  LEFT JOIN weeks w ON w.site_code = si.site_code AND w.week_starting = x.week_starting
                  GROUP BY si.k) y),
           (SELECT string_agg(ptl.html_row(ARRAY[w.week_starting::text, w.site_code, chart_number(w.sessions),
                                                 chart_number(w.cases), coalesce(chart_number(w.capped_utilisation_pct) || '%', '')]),
                              '' ORDER BY w.week_starting, w.site_code) FROM weeks w)
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('theatre', 'Theatre utilisation against target',
        format('Capped theatre utilisation per site and week (touch time within planned session time), last eight weeks; the dashed line is the %s%% target.',
               chart_number(target)),
        svg_chart('lines', 'Capped theatre utilisation per site', cats, sers, vals, 'Utilisation %',
                  target, format('target %s%%', chart_number(target))),
        ARRAY['Week starting', 'Site', 'Sessions', 'Cases', 'Capped utilisation'], rows_html);

    -- 6. Planned bed occupancy, six weeks ahead, as a share of each site's
    -- elective bed base.
    CREATE TEMP TABLE pack_beds ON COMMIT DROP AS
    SELECT b.* FROM ptl.bed_occupancy(census) b
    JOIN ptl.site si ON si.site_code = b.site_code
    WHERE orgs IS NULL OR si.org_code = ANY (orgs);
    WITH sites AS (
        SELECT b.site_code, row_number() OVER (ORDER BY b.site_code) AS k FROM pack_beds b GROUP BY 1
    )
    SELECT (SELECT array_agg(to_char(d.day, 'Dy DD Mon') ORDER BY d.day) FROM (SELECT DISTINCT b.day FROM pack_beds b) d),
           (SELECT array_agg(si.site_code ORDER BY si.k) FROM sites si),
           (SELECT array_agg(y.beds ORDER BY y.k)
            FROM (SELECT si.k, array_agg(b.planned_beds::float8 ORDER BY b.day) AS beds
                  FROM sites si JOIN pack_beds b ON b.site_code = si.site_code GROUP BY si.k) y),
           (SELECT array_agg(z.base ORDER BY z.day)
            FROM (SELECT b.day, sum(b.bed_base)::float8 AS base FROM pack_beds b GROUP BY 1) z)
    INTO cats, sers, vals, base_line;
    SELECT string_agg(ptl.html_row(ARRAY[x.site_code, chart_number(x.admissions), chart_number(x.peak_planned),
                                         chart_number(x.peak_expected), coalesce(chart_number(x.base), 'not set'),
                                         chart_number(x.days_over), coalesce(x.first_over::text, '')]), '' ORDER BY x.site_code)
    INTO rows_html
    FROM (SELECT b.site_code, sum(b.admissions) AS admissions, max(b.planned_beds) AS peak_planned,
                 max(b.expected_beds) AS peak_expected, min(b.bed_base) AS base,
                 count(*) FILTER (WHERE b.over_base) AS days_over, min(b.day) FILTER (WHERE b.over_base) AS first_over
          FROM pack_beds b GROUP BY 1) x;
    figures := figures || pack_figure('beds', 'Planned elective bed occupancy',
        format('Overnight elective beds that booked and proposed admissions (and patients in now) will fill each night for %s days, stacked by site, against the elective bed base (dashed); each stay is the %s percentile of past stays for the procedure. The table counts the nights each site plans more patients than beds.',
               (ptl.ops_setting_in_force()).bed_horizon_days,
               to_char(100 * (ptl.ops_setting_in_force()).los_percentile, 'FM990') || 'th'),
        svg_chart('stacked', 'Planned elective beds per night, by site, against the bed base', cats, sers, vals, 'Beds',
                  reference_label => 'elective bed base', reference_line => base_line),
        ARRAY['Site', 'Admissions planned', 'Peak planned beds', 'Peak expected beds', 'Smallest bed base',
              'Nights over base', 'First night over'], rows_html);

    -- 7. The validation backlog: pathways with open validation issues by rule.
    WITH per AS (
        SELECT v.rule_id, v.title, v.severity, v.provider_org, v.pathways
        FROM ptl.validation_summary v WHERE orgs IS NULL OR v.provider_org = ANY (orgs)
    ),
    rules AS (
        SELECT p.rule_id, row_number() OVER (ORDER BY sum(p.pathways) DESC, p.rule_id) AS k
        FROM per p GROUP BY 1 ORDER BY 2 LIMIT 12
    ),
    providers AS (
        SELECT v.provider_org, row_number() OVER (ORDER BY v.provider_org) AS k
        FROM (SELECT DISTINCT p.provider_org FROM per p JOIN rules r USING (rule_id)) v
    )
    SELECT (SELECT array_agg(r.rule_id ORDER BY r.k) FROM rules r),
           (SELECT array_agg(v.provider_org ORDER BY v.k) FROM providers v),
           (SELECT array_agg(y.counts ORDER BY y.k)
            FROM (SELECT v.k, array_agg(coalesce(p.pathways, 0)::float8 ORDER BY r.k) AS counts
                  FROM providers v CROSS JOIN rules r
                  LEFT JOIN per p ON p.provider_org = v.provider_org AND p.rule_id = r.rule_id GROUP BY v.k) y),
           (SELECT string_agg(ptl.html_row(ARRAY[r.rule_id, x.title, x.severity, chart_number(x.pathways)]), '' ORDER BY r.k)
            FROM rules r
            JOIN (SELECT p.rule_id, min(p.title) AS title, min(p.severity) AS severity, sum(p.pathways) AS pathways
                  FROM per p GROUP BY 1) x USING (rule_id))
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('validation', 'Validation backlog',
        'Pathways with an open validation issue at the last refresh, per rule (the twelve largest) and provider.',
        svg_chart('stacked', 'Pathways with validation issues by rule', cats, sers, vals, 'Pathways'),
        ARRAY['Rule', 'What it finds', 'Severity', 'Pathways'], rows_html);

    -- 8. Outpatients: follow-ups waiting with no RTT clock by how far past
    -- their LCAD, stacked by the risk of harm from delay; the table adds
    -- the last four weeks' outpatient measures of the largest specialties.
    CREATE TEMP TABLE pack_follow_up ON COMMIT DROP AS
    SELECT b.treatment_function, b.days_past_lcad, coalesce(b.clinical_risk, 'not stratified') AS risk
    FROM ptl.follow_up_backlog(census) b WHERE orgs IS NULL OR b.provider_org = ANY (orgs);
    WITH banded AS (
        SELECT CASE WHEN f.days_past_lcad <= 0 THEN 0 WHEN f.days_past_lcad <= 28 THEN 1 WHEN f.days_past_lcad <= 56 THEN 2
                    WHEN f.days_past_lcad <= 84 THEN 3 WHEN f.days_past_lcad <= 182 THEN 4 WHEN f.days_past_lcad <= 364 THEN 5
                    ELSE 6 END AS band, f.risk
        FROM pack_follow_up f
    ),
    risks AS (
        SELECT r.risk, r.k FROM (VALUES ('high', 1), ('medium', 2), ('low', 3), ('not stratified', 4)) r (risk, k)
        WHERE EXISTS (SELECT 1 FROM banded b WHERE b.risk = r.risk)
    )
    SELECT array_agg(r.risk ORDER BY r.k),
           array_agg((SELECT array_agg((SELECT count(*) FROM banded b WHERE b.risk = r.risk AND b.band = g)::float8 ORDER BY g)
                      FROM generate_series(0, 6) g) ORDER BY r.k)
    INTO sers, vals FROM risks r;
    cats := ARRAY['not yet past', '1–4 weeks', '5–8 weeks', '9–12 weeks', '13–26 weeks', '27–52 weeks', 'over 52 weeks'];
    WITH waiting AS (
        SELECT f.treatment_function, count(*) AS waiting, count(*) FILTER (WHERE f.days_past_lcad > 0) AS past_lcad,
               count(*) FILTER (WHERE f.days_past_lcad > 84) AS past_12_weeks,
               count(*) FILTER (WHERE f.days_past_lcad > 0 AND f.risk = 'high') AS high_risk_past
        FROM pack_follow_up f GROUP BY 1
    ),
    measured AS (
        -- the four weeks to the census, as ptl.outpatient_measures counts
        -- them, read straight from the appointments of those weeks
        SELECT c.treatment_function,
               count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended') AS first_attended,
               count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended') AS follow_up_attended,
               count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'dna') AS first_dna,
               count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'dna') AS follow_up_dna,
               count(*) FILTER (WHERE a.outcome = 'pifu') AS moved_to_pifu,
               count(*) FILTER (WHERE a.attendance IN ('attended', 'dna')) AS slots_used,
               (SELECT sum(s.slots) FROM ptl.clinic_session s JOIN ptl.clinic c2 ON c2.clinic_code = s.clinic_code
                JOIN ptl.site s2 ON s2.site_code = c2.site_code
                WHERE c2.treatment_function = c.treatment_function AND NOT s.cancelled
                  AND s.session_date BETWEEN date_trunc('week', census)::date - 21 AND census
                  AND (orgs IS NULL OR s2.org_code = ANY (orgs))) AS slots
        FROM ptl.outpatient_appointment a
        JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
        JOIN ptl.site si ON si.site_code = c.site_code
        WHERE a.appointment_date BETWEEN date_trunc('week', census)::date - 21 AND census AND a.attendance <> 'booked'
          AND (orgs IS NULL OR si.org_code = ANY (orgs))
        GROUP BY 1
    )
    SELECT string_agg(ptl.html_row(ARRAY[
               x.treatment_function || ' ' || coalesce(t.name, ''), chart_number(coalesce(w.waiting, 0)),
               chart_number(coalesce(w.past_lcad, 0)), chart_number(coalesce(w.past_12_weeks, 0)),
               chart_number(coalesce(w.high_risk_past, 0)),
               coalesce(chart_number(round(100.0 * m.first_dna / nullif(m.first_attended + m.first_dna, 0), 1)) || '%', ''),
               coalesce(chart_number(round(100.0 * m.follow_up_dna / nullif(m.follow_up_attended + m.follow_up_dna, 0), 1)) || '%', ''),
               coalesce(chart_number(round(m.follow_up_attended::numeric / nullif(m.first_attended, 0), 2)), ''),
               coalesce(chart_number(round(100.0 * m.moved_to_pifu / nullif(m.first_attended + m.follow_up_attended, 0), 1)) || '%', ''),
               coalesce(chart_number(round(100.0 * m.slots_used / nullif(m.slots, 0), 1)) || '%', '')]),
               '' ORDER BY coalesce(w.waiting, 0) DESC, x.treatment_function)
    INTO rows_html
    FROM (SELECT y.treatment_function FROM (SELECT treatment_function FROM waiting UNION SELECT treatment_function FROM measured) y
          ORDER BY (SELECT w2.waiting FROM waiting w2 WHERE w2.treatment_function = y.treatment_function) DESC NULLS LAST,
                   y.treatment_function LIMIT 10) x
    LEFT JOIN waiting w ON w.treatment_function = x.treatment_function
    LEFT JOIN measured m ON m.treatment_function = x.treatment_function
    LEFT JOIN ptl.treatment_function t ON t.tfc = x.treatment_function;
    figures := figures || pack_figure('outpatients', 'Outpatient follow-ups past their LCAD',
        'Follow-ups waiting with no RTT clock, by how far past their latest clinically appropriate date (LCAD), coloured by the risk of harm from delay. The table gives the largest specialties'' follow-up backlog and their last four weeks'' outpatient measures.',
        svg_chart('stacked', 'Follow-ups waiting, by weeks past their LCAD', cats, sers, vals, 'Follow-ups',
                  colours => ARRAY(SELECT CASE r WHEN 'high' THEN '#D55E00' WHEN 'medium' THEN '#E69F00'
                                                 WHEN 'low' THEN '#56B4E9' ELSE '#B8B8B8' END FROM unnest(sers) r)),
        ARRAY['Specialty', 'Follow-ups waiting', 'Past LCAD', 'Over 12 weeks past', 'High risk past LCAD',
              'First DNA rate', 'Follow-up DNA rate', 'Follow-ups per first', 'PIFU uptake', 'Slot utilisation'],
        rows_html);

    DROP TABLE pack_bottleneck, pack_beds, pack_follow_up;

    RETURN '<!DOCTYPE html>' || E'\n' || '<html lang="en"><head><meta charset="utf-8">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || '<meta name="ptl-charts" content="8">'
        || format('<meta name="generator" content="ptl %s">',
                  (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'ptl'))
        || format('<title>Weekly PTL pack: %s, %s</title>', html_escape(scope), snap)
        || '<style>'
        || 'body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1a1a1a;max-width:760px;margin:1.5em auto;padding:0 1em;line-height:1.4}'
        || 'h1{font-size:1.6em;margin:0}h2{font-size:1.15em;margin:0 0 .4em}.scope{color:#444;margin:.2em 0 1em}'
        || '.headline{display:grid;grid-template-columns:repeat(4,1fr);gap:.5em;margin:1em 0 1.5em}'
        || '.headline div{border:1px solid #ccc;border-radius:4px;padding:.4em .6em}.headline b{display:block;font-size:1.4em}'
        || 'figure.chart{margin:0 0 2em;padding:0}svg.chart-svg{max-width:100%;height:auto;display:block}'
        || 'svg text{font-size:11px;fill:#1a1a1a}svg .grid{stroke:#e3e3e3}svg .axis{stroke:#666}'
        || 'svg .reference{stroke:#b00020;stroke-width:1.5;stroke-dasharray:6 4}svg .reference-label{fill:#b00020}'
        || 'svg .no-data{font-size:16px;fill:#666}figcaption{font-size:.9em;color:#333;margin:.3em 0}'
        || 'table{border-collapse:collapse;font-size:.8em;margin-top:.4em;width:100%}'
        || 'caption{text-align:left;font-weight:600;padding:.2em 0}th,td{border-bottom:1px solid #ddd;padding:.15em .4em;text-align:left}'
        || 'td.num{text-align:right;font-variant-numeric:tabular-nums}footer{font-size:.8em;color:#555;border-top:1px solid #ccc;margin-top:2em}'
        || '@media print{@page{size:A4 portrait;margin:12mm}body{max-width:none;margin:0;font-size:10pt}'
        || 'figure.chart{break-inside:avoid-page;page-break-inside:avoid}figure.chart table{break-inside:auto}'
        || 'h2{break-after:avoid}.headline{break-inside:avoid}}'
        || '</style></head><body>'
        || format('<header><h1>Weekly PTL pack</h1><p class="scope">%s · waiting list at %s%s</p></header>',
                  html_escape(scope), snap,
                  CASE WHEN snap <> census THEN format(' (the last snapshot on or before %s)', census) ELSE '' END)
        || '<section class="headline" aria-label="Headline figures">'
        || format('<div><b>%s</b>waiting%s</div>', chart_number(head.waiting),
                  CASE WHEN week_before IS NOT NULL
                       THEN format(' (%s%s on %s)', CASE WHEN head.waiting >= head.waiting_before THEN '+' ELSE '' END,
                                   chart_number(head.waiting - head.waiting_before), week_before) ELSE '' END)
        || format('<div><b>%s%%</b>within 18 weeks (standard 92%%)</div>',
                  chart_number(round(100.0 * head.within_18 / nullif(head.waiting, 0), 1)::float8))
        || format('<div><b>%s</b>median weeks waited</div>', coalesce(chart_number(round(head.median_weeks::numeric, 1)), '–'))
        || format('<div><b>%s</b>over 52 weeks%s</div>', chart_number(head.over_52),
                  CASE WHEN week_before IS NOT NULL
                       THEN format(' (%s%s)', CASE WHEN head.over_52 >= head.over_52_before THEN '+' ELSE '' END,
                                   chart_number(head.over_52 - head.over_52_before)) ELSE '' END)
        || format('<div><b>%s</b>over 65 weeks</div><div><b>%s</b>over 78 weeks</div><div><b>%s</b>over 104 weeks</div>',
                  chart_number(head.over_65), chart_number(head.over_78), chart_number(head.over_104))
        || format('<div><b>%s</b>in a bottleneck stage</div>',
                  chart_number(in_bottleneck))
        || '</section>'
        || figures
        || format('<footer><p>Made by ptl %s at %s from the census snapshots, journey stages, theatre sessions, '
                  'bookings and proposals, hospital spells, validation issues and outpatient records the caller may see. '
                  'Waits are RTT waits (days since clock start ÷ 7); weeks bands include their lower bound.</p></footer>',
                  (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'ptl'),
                  to_char(now(), 'YYYY-MM-DD HH24:MI'))
        || '</body></html>';
END
$$;
COMMENT ON FUNCTION ptl.weekly_pack(date, text) IS
    'The weekly PTL pack for a census (the snapshot on or before it) and one provider or the whole ICS: one self-contained HTML document with eight inline SVG charts, each with its table, and an A4 print stylesheet';

-- Applying an answer knows the follow-up list; the campaign summary says
-- which list.
CREATE OR REPLACE FUNCTION ptl.apply_validation_contact(contact_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k ptl.validation_contact;
    p ptl.pathway;
    w ptl.waiting_list_entry;
    b bigint;
    status ptl.rtt_status;
    ev bigint;
    val bigint;
    sus bigint;
BEGIN
    SELECT * INTO k FROM ptl.validation_contact x WHERE x.contact_id = apply_validation_contact.contact_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'validation contact % does not exist', apply_validation_contact.contact_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF k.applied_at IS NOT NULL THEN
        RAISE EXCEPTION 'validation contact % was applied on % by %', k.contact_id, k.applied_at, k.applied_by
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO p FROM ptl.pathway x WHERE x.pathway_id = k.pathway_id;

    -- On the follow-up list there is no clock to stop: an answer closes or
    -- keeps the pathway's open follow-up requests (outpatient/outpatient.sql).
    IF (SELECT c.list FROM ptl.validation_campaign c WHERE c.campaign_id = k.campaign_id) = 'follow_up' THEN
        IF k.answer IN ('no_longer_required', 'treated_elsewhere', 'died') THEN
            UPDATE ptl.follow_up_request f
            SET closed_on = greatest(k.contacted_on, f.requested_on),
                closed_reason = CASE k.answer WHEN 'died' THEN 'died' ELSE 'no_longer_required' END
            WHERE f.pathway_id = k.pathway_id AND f.closed_on IS NULL;
            INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
            VALUES (p.pathway_id, k.contacted_on, 'remove', format('follow-up campaign %s: %s', k.campaign_id, k.answer))
            RETURNING validation_id INTO val;
        ELSIF k.answer IN ('still_wants_treatment', 'unavailable_until') THEN
            UPDATE ptl.follow_up_request f SET unavailable_until = k.unavailable_until
            WHERE f.pathway_id = k.pathway_id AND f.closed_on IS NULL AND k.answer = 'unavailable_until';
            INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
            VALUES (p.pathway_id, k.contacted_on, 'correct',
                    format('follow-up campaign %s: %s', k.campaign_id,
                           CASE k.answer WHEN 'unavailable_until' THEN 'unavailable until ' || k.unavailable_until
                                         ELSE 'still wants to be seen' END))
            RETURNING validation_id INTO val;
        END IF;
        UPDATE ptl.validation_contact x SET applied_at = now(), applied_by = current_user, validation_id = val
        WHERE x.contact_id = k.contact_id;
        RETURN CASE k.answer
            WHEN 'no_longer_required' THEN 'follow-up closed: no longer required'
            WHEN 'treated_elsewhere' THEN 'follow-up closed: no longer required (seen elsewhere)'
            WHEN 'died' THEN 'follow-up closed: died'
            WHEN 'unavailable_until' THEN format('validated; not to be booked before %s', k.unavailable_until)
            WHEN 'still_wants_treatment' THEN 'validated'
            ELSE 'recorded; not validated' END;
    END IF;

    SELECT * INTO w FROM ptl.waiting_list_entry e
    WHERE e.pathway_id = k.pathway_id AND e.removed_date IS NULL
    ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1 FOR UPDATE;

    IF k.answer IN ('no_longer_required', 'treated_elsewhere', 'died') THEN
        status := CASE k.answer WHEN 'died' THEN '36' ELSE '34' END;
        INSERT INTO ptl.batch (org_code, site_code, source_system, label, loaded_at, status)
        VALUES (p.provider_org, p.site_code, 'ptl_validation',
                format('validation campaign %s, contact %s', k.campaign_id, k.contact_id), now(), 'loaded')
        RETURNING batch_id INTO b;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                                       site_code, treatment_function, batch_id)
        VALUES (p.pathway_id, p.patient_id, format('validation-%s', k.contact_id), k.contacted_on,
                CASE k.answer WHEN 'died' THEN 'death' ELSE 'decision' END::ptl.event_kind, status,
                CASE k.answer WHEN 'died' THEN k.contacted_on END, p.site_code, p.treatment_function, b)
        RETURNING event_id INTO ev;
        IF w.entry_id IS NOT NULL THEN
            UPDATE ptl.waiting_list_entry e
            SET removed_date = greatest(k.contacted_on, e.decision_to_admit),
                removal_reason = CASE k.answer WHEN 'died' THEN 'died' WHEN 'no_longer_required' THEN 'no_longer_required'
                                               ELSE 'other' END,
                updated_at = now()
            WHERE e.entry_id = w.entry_id;
        END IF;
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'remove', format('campaign %s: %s', k.campaign_id, k.answer))
        RETURNING validation_id INTO val;
    ELSIF k.answer = 'unavailable_until' THEN
        IF w.entry_id IS NOT NULL THEN
            INSERT INTO ptl.waiting_list_suspension (entry_id, suspended_from, suspended_until, reason, recorded_by)
            VALUES (w.entry_id, k.contacted_on, k.unavailable_until, 'patient_unavailable', current_user)
            RETURNING suspension_id INTO sus;
        END IF;
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'correct',
                format('campaign %s: unavailable until %s', k.campaign_id, k.unavailable_until))
        RETURNING validation_id INTO val;
    ELSIF k.answer = 'still_wants_treatment' THEN
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'correct', format('campaign %s: still wants treatment', k.campaign_id))
        RETURNING validation_id INTO val;
    END IF;
    UPDATE ptl.validation_contact x
    SET applied_at = now(), applied_by = current_user, rtt_status_applied = status, event_id = ev,
        validation_id = val, suspension_id = sus
    WHERE x.contact_id = k.contact_id;
    RETURN CASE k.answer
        WHEN 'no_longer_required' THEN 'clock stopped (34), entry removed'
        WHEN 'treated_elsewhere' THEN 'clock stopped (34), entry removed'
        WHEN 'died' THEN 'clock stopped (36), entry removed'
        WHEN 'unavailable_until' THEN CASE WHEN sus IS NULL THEN 'validated; not on the admitted list, nothing to suspend'
                                           ELSE format('validated; suspended until %s (the clock runs on)', k.unavailable_until) END
        WHEN 'still_wants_treatment' THEN 'validated'
        ELSE 'recorded; not validated' END;
END $$;
COMMENT ON FUNCTION ptl.apply_validation_contact(bigint) IS
    'Applies a validation answer to its pathway once: 34 or 36 clock stop and entry removal, suspension until a date, or a validation record; on the follow-up list, closing or keeping its follow-up requests; the contact keeps what was done (audit); the next refresh shows the result';
CREATE OR REPLACE VIEW ptl.validation_campaign_summary AS
SELECT c.campaign_id, c.name, c.census, c.min_weeks, c.not_validated_weeks,
       (SELECT count(*) FROM ptl.validation_campaign_pathway cp WHERE cp.campaign_id = c.campaign_id) AS cohort,
       count(DISTINCT k.pathway_id) AS contacted,
       count(DISTINCT k.pathway_id) FILTER (WHERE k.applied_at IS NOT NULL AND k.answer <> 'no_response') AS validated,
       count(DISTINCT k.pathway_id) FILTER (WHERE k.applied_at IS NOT NULL
                                              AND k.answer IN ('no_longer_required', 'treated_elsewhere', 'died')) AS removed,
       count(*) FILTER (WHERE k.answer = 'still_wants_treatment') AS still_wants_treatment,
       count(*) FILTER (WHERE k.answer = 'no_longer_required') AS no_longer_required,
       count(*) FILTER (WHERE k.answer = 'treated_elsewhere') AS treated_elsewhere,
       count(*) FILTER (WHERE k.answer = 'unavailable_until') AS unavailable,
       count(*) FILTER (WHERE k.answer = 'died') AS died,
       count(*) FILTER (WHERE k.answer = 'no_response') AS no_response,
       count(*) FILTER (WHERE k.applied_at IS NULL AND k.contact_id IS NOT NULL) AS not_yet_applied,
       c.list
FROM ptl.validation_campaign c
LEFT JOIN ptl.validation_contact k ON k.campaign_id = c.campaign_id
GROUP BY c.campaign_id;
COMMENT ON COLUMN ptl.validation_campaign_summary.list IS 'rtt or follow_up';

-- The next refresh derives every pathway's stages (it recomputes their
-- clocks too: the same answer, from the same events).
INSERT INTO ptl.rtt_dirty_pathway (pathway_id) SELECT p.pathway_id FROM ptl.pathway p ON CONFLICT DO NOTHING;

-- Roles, privileges and row-level security again, for the new objects.
DO $$
DECLARE
    r text;
    m text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ptl_reader', 'ptl_identifiable', 'ptl_analyst', 'ptl_loader', 'ptl_admin'] LOOP
        IF pg_catalog.to_regrole(r) IS NULL THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Memberships, each once (a second GRANT would only warn).
    FOR r, m IN SELECT * FROM (VALUES ('ptl_reader', 'ptl_analyst'), ('ptl_analyst', 'ptl_admin'),
                                      ('ptl_loader', 'ptl_admin'), ('ptl_identifiable', 'ptl_admin')) g(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m, r, 'MEMBER') THEN
            EXECUTE pg_catalog.format('GRANT %I TO %I', r, m);
        END IF;
    END LOOP;
END
$$;
DO $$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v'
               AND c.oid NOT IN ('ptl.ptl'::regclass, 'ptl.transferred_pathway_visible'::regclass)
    LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v);
    END LOOP;
END
$$;
DO $$
DECLARE
    t regclass;
    predicate text;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY c.relname
    LOOP
        predicate := ptl.row_security_predicate(t);
        CONTINUE WHEN predicate IS NULL;
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS organisation_rows ON %s', t);
        EXECUTE pg_catalog.format('CREATE POLICY organisation_rows ON %s USING (%s) WITH CHECK (%s)',
                                  t, predicate, predicate);
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA ptl TO ptl_reader, ptl_loader;
GRANT SELECT ON ptl.user_organisation, ptl.transferred_pathway_visible TO ptl_reader, ptl_loader;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA ptl TO ptl_reader;
GRANT SELECT (patient_id, org_code, source_system, sex, ethnic_category, lsoa_code, gp_practice_code,
              commissioner_code, batch_id, updated_at) ON ptl.patient TO ptl_reader;
GRANT SELECT (rejected_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, rejected_at, retried_in)
    ON ptl.rejected_row TO ptl_reader;
GRANT SELECT (warning_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, warned_at)
    ON ptl.load_warning TO ptl_reader;
GRANT SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning TO ptl_identifiable;
GRANT USAGE ON SCHEMA ptl TO ptl_identifiable;
GRANT INSERT, UPDATE, DELETE ON ptl.validation_campaign, ptl.validation_campaign_pathway,
    ptl.theatre_proposal_run, ptl.theatre_proposal, ptl.theatre_proposal_outcome,
    ptl.mutual_aid_request, ptl.mutual_aid_offer, ptl.mutual_aid_slot, ptl.mutual_aid_state_change
    TO ptl_analyst;
GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA ptl_stage TO ptl_loader;
GRANT SELECT ON ptl.organisation, ptl.site, ptl.commissioner, ptl.treatment_function, ptl.extract_column,
    ptl.batch, ptl.batch_extract TO ptl_loader;
GRANT SELECT, INSERT, UPDATE ON ptl.batch, ptl.patient, ptl.pathway, ptl.pathway_event,
    ptl.waiting_list_entry, ptl.rejected_row, ptl.load_warning, ptl.batch_extract TO ptl_loader;
GRANT DELETE ON ptl.load_warning, ptl.rejected_row TO ptl_loader;
GRANT SELECT, INSERT ON ptl.rtt_dirty_pathway TO ptl_loader;
GRANT SELECT, INSERT, UPDATE ON ptl.clinical_priority_history TO ptl_loader;
GRANT ALL ON ALL TABLES IN SCHEMA ptl TO ptl_admin;
GRANT ALL ON ALL TABLES IN SCHEMA ptl_stage TO ptl_admin;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_admin;
GRANT INSERT ON ptl.audit_log TO ptl_analyst, ptl_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl TO ptl_analyst, ptl_loader;
GRANT ALL ON ALL SEQUENCES IN SCHEMA ptl TO ptl_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl_stage TO ptl_loader;
GRANT EXECUTE ON FUNCTION ptl.analyze_if_grown(regclass, bigint) TO ptl_analyst, ptl_loader;
GRANT EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) TO ptl_admin;
GRANT EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date) TO ptl_admin;
REVOKE SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning, ptl.census_snapshot_default,
    ptl.audit_log FROM ptl_reader;
REVOKE UPDATE, DELETE, TRUNCATE ON ptl.audit_log FROM ptl_admin;
REVOKE EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date),
    ptl.analyze_if_grown(regclass, bigint) FROM PUBLIC;
-- (revoking a table's SELECT took its column grants too: again)
GRANT SELECT (patient_id, org_code, source_system, sex, ethnic_category, lsoa_code, gp_practice_code,
              commissioner_code, batch_id, updated_at) ON ptl.patient TO ptl_reader;
GRANT SELECT (rejected_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, rejected_at, retried_in)
    ON ptl.rejected_row TO ptl_reader;
GRANT SELECT (warning_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, warned_at)
    ON ptl.load_warning TO ptl_reader;
