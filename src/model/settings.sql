-- ---------------------------------------------------------------------------
-- model, part 2: settings, one mechanism for every capability.  Each
-- capability keeps its settings in a table of its own (typed columns, each
-- with its default and its CHECK), whose rows are a history: the latest is
-- in force.  The table begins with the history's columns (setting_id,
-- set_at, set_by, shipped) and ptl_internal.settings_history_ready makes the
-- rest of the history: a shipped row of defaults (left out of pg_dump;
-- CREATE EXTENSION writes it again), pg_dump of the rows users add, and the
-- range of set_at.  ptl.change_settings changes some settings and keeps the
-- others; ptl.settings shows every setting in force.  The operational
-- settings and the risk and ordering settings are read by several rooms,
-- so they are here too, before every room that reads them.
-- ---------------------------------------------------------------------------

-- A table is one of ptl's settings when it begins with the history's columns.
CREATE FUNCTION ptl_internal.settings_tables() RETURNS SETOF regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'r'
      AND ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum BETWEEN 1 AND 4 ORDER BY a.attnum)
          = '{setting_id,set_at,set_by,shipped}'::name[]
    ORDER BY c.relname
$$;
COMMENT ON FUNCTION ptl_internal.settings_tables() IS
    'The tables of ptl''s settings: those that begin with the history''s columns setting_id, set_at, set_by and shipped';

-- The rest of a settings table's history, once it is created: its shipped
-- row of defaults, pg_dump of the rows users add (not the shipped row), set_at
-- a stored date or the shipped row's -infinity, and the history columns'
-- comments.  Called by the install script after each CREATE TABLE.
CREATE FUNCTION ptl_internal.settings_history_ready(settings regclass) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = settings);
BEGIN
    IF settings NOT IN (SELECT ptl_internal.settings_tables()) THEN
        RAISE EXCEPTION '% does not begin with the columns of a settings history', settings
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'Begin it with setting_id, set_at, set_by and shipped, as ptl.rtt_setting does.';
    END IF;
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; src/model/model.sql)
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (ptl.in_storage_range(set_at) OR (shipped AND set_at = %L))',
                   settings, name || '_set_at_in_range', '-infinity');
    EXECUTE format('INSERT INTO %s (setting_id, set_at, set_by, shipped) VALUES (0, %L, %L, true)',
                   settings, '-infinity', 'ptl');
    PERFORM pg_catalog.pg_extension_config_dump(settings, 'WHERE NOT shipped');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence(settings::text, 'setting_id')::regclass, '');
    EXECUTE format('COMMENT ON COLUMN %s.setting_id IS %L', settings, 'Row number (0 = the defaults ptl ships)');
    EXECUTE format('COMMENT ON COLUMN %s.set_at IS %L', settings, 'When the settings were set');
    EXECUTE format('COMMENT ON COLUMN %s.set_by IS %L', settings, 'Who set them');
    EXECUTE format('COMMENT ON COLUMN %s.shipped IS %L', settings, 'True for the defaults row ptl ships');
END
$$;
COMMENT ON FUNCTION ptl_internal.settings_history_ready(regclass) IS
    'Internal to the install script: gives a new settings table its shipped row of defaults, pg_dump of the rows users add, the range of set_at and the history columns'' comments';

-- Changes settings: a new row of the history, the row in force with the
-- named settings changed.  (A plain INSERT naming some columns gives the
-- others their shipped defaults, and so undoes any earlier change of them.)
-- Runs with the caller's rights: whoever may insert into the table.
CREATE FUNCTION ptl.change_settings(settings regclass, changes jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    own text[];
    unknown text;
    id bigint;
BEGIN
    IF settings NOT IN (SELECT ptl_internal.settings_tables()) THEN
        RAISE EXCEPTION '% is not a table of ptl''s settings', settings
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'ptl.settings lists every setting and its table.';
    END IF;
    IF jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'the changes must be a JSON object of settings and values, not %', changes
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ''{"snapshot_retention": "5 years"}''.';
    END IF;
    own := ARRAY(SELECT a.attname::text FROM pg_attribute a
                 WHERE a.attrelid = settings AND a.attnum > 4 AND NOT a.attisdropped ORDER BY a.attnum);
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown FROM jsonb_object_keys(changes) k WHERE k <> ALL (own);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION '% has no setting %', settings, unknown
            USING ERRCODE = 'undefined_column',
                  HINT = format('Its settings are %s.', array_to_string(own, ', '));
    END IF;
    -- The row in force, with the changes laid over it (each value read by
    -- its column's type; the table's CHECKs judge the result).
    EXECUTE format('INSERT INTO %1$s (%2$s) SELECT %3$s
                    FROM jsonb_populate_record((SELECT s FROM %1$s s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1), $1) r
                    RETURNING setting_id',
                   settings,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(own) c),
                   (SELECT string_agg('r.' || quote_ident(c), ', ') FROM unnest(own) c))
        USING changes INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION ptl.change_settings(regclass, jsonb) IS
    'Changes some settings of one settings table (ptl.settings lists them) and keeps the others in force: a new row of its history, e.g. ptl.change_settings(''ptl.ops_setting'', ''{"snapshot_retention": "5 years"}''); returns the new row''s setting_id';

-- Every setting in force, with the default ptl ships, when and by whom it
-- was set, and what it means (its column's comment).
CREATE FUNCTION ptl.settings_in_force()
RETURNS TABLE (settings regclass, setting name, value text, shipped_value text, set_at timestamptz, set_by text,
               description text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT ptl_internal.settings_tables() LOOP
        RETURN QUERY EXECUTE format(
            $q$SELECT %1$L::regclass, a.attname, cur.v ->> a.attname::text, shipped.v ->> a.attname::text,
                      (cur.v ->> 'set_at')::timestamptz, cur.v ->> 'set_by', col_description(%1$L::regclass, a.attnum)
               FROM (SELECT to_jsonb(s) AS v FROM %1$s s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1) cur
               LEFT JOIN (SELECT to_jsonb(s) AS v FROM %1$s s WHERE s.shipped) shipped ON true
               JOIN pg_attribute a ON a.attrelid = %1$L::regclass AND a.attnum > 4 AND NOT a.attisdropped
               ORDER BY a.attnum$q$, t);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ptl.settings_in_force() IS
    'Every setting of every settings table in force: its value, the default ptl ships, when and by whom the row in force was set, and what it means';

CREATE VIEW ptl.settings AS SELECT * FROM ptl.settings_in_force();
COMMENT ON VIEW ptl.settings IS
    'Every setting in force, one row each: its table, name, value, the default ptl ships, when and by whom it was set, what it means (change them with ptl.change_settings)';
COMMENT ON COLUMN ptl.settings.settings IS 'The settings table (a history: ptl.change_settings adds a row)';
COMMENT ON COLUMN ptl.settings.setting IS 'The setting: a column of the table';
COMMENT ON COLUMN ptl.settings.value IS 'Its value in force, as text (NULL: none)';
COMMENT ON COLUMN ptl.settings.shipped_value IS 'The default ptl ships';
COMMENT ON COLUMN ptl.settings.set_at IS 'When the row in force was set (-infinity: the shipped defaults)';
COMMENT ON COLUMN ptl.settings.set_by IS 'Who set the row in force';
COMMENT ON COLUMN ptl.settings.description IS 'What the setting means (the column''s comment)';

-- Operational settings, e.g. SELECT ptl.change_settings('ptl.ops_setting',
-- '{"snapshot_retention": "5 years"}').
CREATE TABLE ptl.ops_setting (
    setting_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    shipped             boolean NOT NULL DEFAULT false,
    snapshot_retention  interval DEFAULT '3 years' CHECK (snapshot_retention > interval '0'),
    los_percentile      float8 NOT NULL DEFAULT 0.8 CHECK (los_percentile > 0 AND los_percentile < 1),
    los_history         interval NOT NULL DEFAULT '1 year' CHECK (los_history > interval '0'),
    los_min_spells      int NOT NULL DEFAULT 5 CHECK (los_min_spells >= 1),
    bed_horizon_days    int NOT NULL DEFAULT 42 CHECK (bed_horizon_days BETWEEN 1 AND 366),
    bottleneck_weeks    int NOT NULL DEFAULT 4 CHECK (bottleneck_weeks >= 1),
    outbound_match_days int NOT NULL DEFAULT 28 CHECK (outbound_match_days BETWEEN 1 AND 366)
);
SELECT ptl_internal.settings_history_ready('ptl.ops_setting');
COMMENT ON TABLE ptl.ops_setting IS
    'Operational settings: a history, the latest row is in force (change with ptl.change_settings)';
COMMENT ON COLUMN ptl.ops_setting.snapshot_retention IS
    'How long census snapshots are kept: ptl.daily_refresh drops the months that ended longer ago than this before the census (NULL keeps them all)';
COMMENT ON COLUMN ptl.ops_setting.los_percentile IS
    'Length-of-stay percentile planned bed occupancy assumes for every admission (default 0.8: the stay 80% of past patients were home within)';
COMMENT ON COLUMN ptl.ops_setting.los_history IS 'How far back past elective spells are read for lengths of stay (default 1 year)';
COMMENT ON COLUMN ptl.ops_setting.los_min_spells IS
    'Past spells of a procedure needed to use its own stays; with fewer, its specialty''s are used (default 5)';
COMMENT ON COLUMN ptl.ops_setting.bed_horizon_days IS 'Days ahead planned bed occupancy looks (default 42, six weeks)';
COMMENT ON COLUMN ptl.ops_setting.bottleneck_weeks IS 'Recent weeks whose entries and exits measure a stage''s growth and clearance time (default 4)';
COMMENT ON COLUMN ptl.ops_setting.outbound_match_days IS
    'Outbound actions (docs/outbound.md): days either side of the proposed date within which the PAS''s event confirms it (OUT3), and days after it was sent within which the PAS must record it (OUT6); default 28';

CREATE FUNCTION ptl.ops_setting_in_force() RETURNS ptl.ops_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.ops_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.ops_setting_in_force() IS 'The operational settings in force: the latest row of ptl.ops_setting';

CREATE TABLE ptl.risk_setting (
    setting_id                      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at                          timestamptz NOT NULL DEFAULT now(),
    set_by                          text NOT NULL DEFAULT current_user,
    shipped                         boolean NOT NULL DEFAULT false,
    order_policy                    text NOT NULL DEFAULT 'clinical_priority'
                                    CHECK (order_policy IN ('clinical_priority', 'longest_wait')),
    prehabilitation_ariscat_from    int NOT NULL DEFAULT 26 CHECK (prehabilitation_ariscat_from BETWEEN 0 AND 123),
    high_mortality_sort_pct         float8 NOT NULL DEFAULT 5 CHECK (high_mortality_sort_pct > 0 AND high_mortality_sort_pct < 100),
    frail_from_cfs                  int NOT NULL DEFAULT 5 CHECK (frail_from_cfs BETWEEN 1 AND 9),
    assessment_valid_days           int NOT NULL DEFAULT 84 CHECK (assessment_valid_days > 0),
    harm_review_weeks               int NOT NULL DEFAULT 52 CHECK (harm_review_weeks > 0),
    harm_review_target_margin_days  int NOT NULL DEFAULT 0 CHECK (harm_review_target_margin_days >= 0),
    priority_review_days            int NOT NULL DEFAULT 84 CHECK (priority_review_days > 0),
    two_week_wait_target_days       int NOT NULL DEFAULT 14 CHECK (two_week_wait_target_days > 0),
    urgent_referral_target_days     int NOT NULL DEFAULT 28 CHECK (urgent_referral_target_days > 0),
    routine_referral_target_days    int NOT NULL DEFAULT 126 CHECK (routine_referral_target_days > 0)
);
SELECT ptl_internal.settings_history_ready('ptl.risk_setting');
COMMENT ON TABLE ptl.risk_setting IS
    'Risk cohorts'' thresholds and the waiting-list order policy: a history, the latest row is in force (change with ptl.change_settings)';
COMMENT ON COLUMN ptl.risk_setting.order_policy IS
    'clinical_priority (default): on the admitted list P1a/P1b first, then P2-P4 by share of target waited, date listed, clock start; on the non-admitted list two-week wait, urgent, routine referrals, each by share of its target waited, then clock start; longest_wait: the admitted list by RTT clock start instead of share of target, the non-admitted list by clock start alone';
COMMENT ON COLUMN ptl.risk_setting.prehabilitation_ariscat_from IS
    'ARISCAT score from which a patient joins the prehabilitation cohort (26: intermediate or high risk of pulmonary complications, observed rates above 10%)';
COMMENT ON COLUMN ptl.risk_setting.high_mortality_sort_pct IS 'SORT predicted 30-day mortality (per cent) from which a patient is high risk';
COMMENT ON COLUMN ptl.risk_setting.frail_from_cfs IS 'Clinical Frailty Scale level from which a patient is frail';
COMMENT ON COLUMN ptl.risk_setting.assessment_valid_days IS
    'Days a risk assessment stays fit for listing decisions (default 84, 12 weeks); older ones are flagged stale';
COMMENT ON COLUMN ptl.risk_setting.harm_review_weeks IS 'Pathways waiting more than this many weeks go to clinical harm review (default 52)';
COMMENT ON COLUMN ptl.risk_setting.harm_review_target_margin_days IS
    'Patients more than this many days past their clinical priority''s target date go to harm review (default 0: any breach)';
COMMENT ON COLUMN ptl.risk_setting.two_week_wait_target_days IS
    'Days from clock start within which a two-week-wait referral should be seen (default 14: the two-week standard for urgent suspected cancer referrals)';
COMMENT ON COLUMN ptl.risk_setting.urgent_referral_target_days IS
    'Days from clock start within which an urgent referral should be seen (default 28; there is no national standard: set the trust''s own)';
COMMENT ON COLUMN ptl.risk_setting.routine_referral_target_days IS
    'Days from clock start within which a routine referral should be seen (default 126, the 18 weeks of the RTT standard)';
COMMENT ON COLUMN ptl.risk_setting.priority_review_days IS
    'Days after which a clinical priority is due for review (default 84); ptl.priority_review_due lists them';

CREATE FUNCTION ptl.risk_setting_in_force() RETURNS ptl.risk_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.risk_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.risk_setting_in_force() IS 'The risk and ordering settings in force (the latest row of ptl.risk_setting)';
