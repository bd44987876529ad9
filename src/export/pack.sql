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

CREATE FUNCTION ptl_internal.html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION ptl_internal.html_escape(text) IS 'Text made safe inside HTML or SVG, in elements and quoted attributes';

-- A table row: header cells (th) or data cells (td, numbers right-aligned).
CREATE FUNCTION ptl_internal.html_row(cells text[], header boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '<tr>' || coalesce((SELECT string_agg(
            CASE WHEN header THEN '<th scope="col">' || ptl_internal.html_escape(coalesce(c, '')) || '</th>'
                 WHEN c ~ '^[-+]?[0-9][0-9,]*(\.[0-9]+)?%?$' THEN '<td class="num">' || c || '</td>'
                 ELSE '<td>' || ptl_internal.html_escape(coalesce(c, '')) || '</td>' END, '' ORDER BY i)
        FROM unnest(cells) WITH ORDINALITY u (c, i)), '') || '</tr>';
COMMENT ON FUNCTION ptl_internal.html_row(text[], boolean) IS 'One HTML table row of the cells, escaped: th cells for a header, else td (numbers right-aligned)';

-- The i-th colour of the palette (Okabe and Ito 2008, "Color Universal
-- Design"), repeating after eight.
CREATE FUNCTION ptl_internal.chart_colour(i int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (ARRAY['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#7F7F7F', '#F0E442'])
       [1 + ((i - 1) % 8 + 8) % 8];
COMMENT ON FUNCTION ptl_internal.chart_colour(int) IS 'Series colour i (1-based) of the Okabe-Ito palette, distinguishable with colour-vision deficiency';

-- A round step for about `ticks` gridlines up to top: 1, 2 or 5 times a
-- power of ten.
CREATE FUNCTION ptl_internal.chart_step(top float8, ticks int DEFAULT 5) RETURNS float8
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
COMMENT ON FUNCTION ptl_internal.chart_step(float8, int) IS 'A round gridline step (1, 2 or 5 times a power of ten) giving about ticks lines up to top';

-- A number as a chart prints it: whole numbers plainly, others to one place.
CREATE FUNCTION ptl_internal.chart_number(v float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN v = trunc(v) AND abs(v) < 1e15 THEN to_char(v, 'FM999,999,999,999,990')
            ELSE to_char(v, 'FM999,999,999,990.0') END;
COMMENT ON FUNCTION ptl_internal.chart_number(float8) IS 'A number for a chart or table: thousands separated, one decimal place unless whole';

-- Bars (stacked or side by side) or lines, on one frame: axes, gridlines,
-- a legend, and an optional dashed reference line (a target, a bed base).
-- Each mark has a <title>, so hovering names the series, category and value.
CREATE FUNCTION ptl_internal.svg_chart(kind text, title text, categories text[], series text[], vals float8[],
                              y_label text, reference float8 DEFAULT NULL, reference_label text DEFAULT NULL,
                              colours text[] DEFAULT NULL, reference_line float8[] DEFAULT NULL,
                              width int DEFAULT 720, height int DEFAULT 300)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, ptl_internal, pg_temp
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
COMMENT ON FUNCTION ptl_internal.svg_chart(text, text, text[], text[], float8[], text, float8, text, text[], float8[], int, int) IS
    'An SVG chart: kind stacked or grouped (bars) or lines, categories on the x axis, vals[series][category], an optional dashed reference line (constant, or reference_line[category]), series colours (default: the Okabe-Ito palette)';

-- A chart, its caption and its table, as one figure.
CREATE FUNCTION ptl_internal.pack_figure(chart_id text, heading text, caption text, svg text, table_header text[], table_rows text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('<figure class="chart" id="chart-%s"%s><h2>%s</h2>%s<figcaption>%s</figcaption>'
              '<table><caption>%s: the numbers</caption><thead>%s</thead><tbody>%s</tbody></table></figure>',
              chart_id, CASE WHEN svg LIKE '%class="no-data"%' THEN ' data-empty="true"' ELSE '' END,
              ptl_internal.html_escape(heading), svg, ptl_internal.html_escape(caption), ptl_internal.html_escape(heading),
              ptl_internal.html_row(table_header, true),
              coalesce(nullif(table_rows, ''),
                       format('<tr><td colspan="%s">No data</td></tr>', cardinality(table_header))));
COMMENT ON FUNCTION ptl_internal.pack_figure(text, text, text, text, text[], text) IS
    'One figure of the weekly pack: heading, chart, caption, and the table of its numbers';

-- The weekly PTL pack.  Every number is read as the caller may see it (row
-- security applies), for one provider, or the whole ICS, or for a user who
-- does not see the whole ICS, the organisations it is mapped to.  The waiting list is
-- the census snapshot on or before the census date (so a past week's pack
-- can be made again); stages are those of the last refresh.  VOLATILE
-- only because it gathers each part once into temporary tables.
CREATE FUNCTION ptl.weekly_pack(census date, provider text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, ptl_internal, pg_temp
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
           count(*) FILTER (WHERE NOT ptl.rtt_over_weeks(l.days_waited, 18)) AS within_18,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS median_weeks,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 52)) AS over_52,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 65)) AS over_65,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 78)) AS over_78,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 104)) AS over_104,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND b.days_waited IS NOT NULL
              AND (orgs IS NULL OR b.provider_org = ANY (orgs))) AS waiting_before,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND ptl.rtt_over_weeks(b.days_waited, 52)
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
           (SELECT string_agg(ptl_internal.html_row(ARRAY[CASE WHEN b = 26 THEN '104+' ELSE (4 * b) || '–' || (4 * b + 3) END]
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
            SELECT count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 52)) AS w52,
                   count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 65)) AS w65,
                   count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 78)) AS w78,
                   count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 104)) AS w104
            FROM ptl.census_snapshot s
            WHERE s.census_date = w.census_date AND ptl.rtt_over_weeks(s.days_waited, 52)
              AND (orgs IS NULL OR s.provider_org = ANY (orgs))) c
    )
    SELECT array_agg(c.census_date::text ORDER BY c.census_date),
           ARRAY[array_agg(c.w52::float8 ORDER BY c.census_date), array_agg(c.w65::float8 ORDER BY c.census_date),
                 array_agg(c.w78::float8 ORDER BY c.census_date), array_agg(c.w104::float8 ORDER BY c.census_date)],
           string_agg(ptl_internal.html_row(ARRAY[c.census_date::text, chart_number(c.w52), chart_number(c.w65),
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
               100.0 * count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 18)) / count(*) AS pct_over_18
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
           (SELECT string_agg(ptl_internal.html_row(ARRAY[g.treatment_function, p.provider_org, chart_number(p.waiting),
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
    SELECT string_agg(ptl_internal.html_row(ARRAY[b.provider_org, b.treatment_function, b.stage_label, chart_number(b.queue_now),
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
           (SELECT string_agg(ptl_internal.html_row(ARRAY[w.week_starting::text, w.site_code, chart_number(w.sessions),
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
    SELECT string_agg(ptl_internal.html_row(ARRAY[x.site_code, chart_number(x.admissions), chart_number(x.peak_planned),
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
           (SELECT string_agg(ptl_internal.html_row(ARRAY[r.rule_id, x.title, x.severity, chart_number(x.pathways)]), '' ORDER BY r.k)
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
    SELECT string_agg(ptl_internal.html_row(ARRAY[
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

    -- 9. The non-admitted list by referral priority (docs/risk.md, "One
    -- order"): the priority that orders it (a clinician's triage priority
    -- over the referrer's) and its target from ptl.risk_setting, within
    -- the target or at or past it; the table adds, per priority, the
    -- consultant with most patients at or past it, with their specialty
    -- and site.
    CREATE TEMP TABLE pack_non_admitted ON COMMIT DROP AS
    -- (the triage priority and consultant as they stood at the census)
    SELECT coalesce(l.triage_priority, l.referral_priority) AS priority, l.days_waited,
           l.days_waited >= CASE coalesce(l.triage_priority, l.referral_priority)
                                 WHEN 'two_week_wait' THEN rs.two_week_wait_target_days
                                 WHEN 'urgent' THEN rs.urgent_referral_target_days
                                 ELSE rs.routine_referral_target_days END AS past_target,
           l.consultant_code, l.treatment_function, l.site_code
    FROM ptl.census_snapshot l
    CROSS JOIN ptl.risk_setting_in_force() rs
    WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND l.clinical_priority IS NULL AND NOT l.has_dta
      AND (orgs IS NULL OR l.provider_org = ANY (orgs));
    WITH priorities AS (
        SELECT x.priority, x.label, x.k
        FROM (VALUES ('two_week_wait'::ptl.referral_priority, 'Two-week wait', 1), ('urgent', 'Urgent', 2),
                     ('routine', 'Routine', 3)) x (priority, label, k)
    ),
    busiest AS (
        SELECT DISTINCT ON (n.priority) n.priority, n.consultant_code, n.treatment_function, n.site_code, count(*) AS past
        FROM pack_non_admitted n WHERE n.past_target AND n.consultant_code IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY n.priority, count(*) DESC, n.consultant_code, n.treatment_function, n.site_code
    )
    SELECT array_agg(x.label ORDER BY x.k),
           ARRAY[(SELECT array_agg((SELECT count(*) FROM pack_non_admitted n
                                    WHERE n.priority = y.priority AND NOT n.past_target)::float8 ORDER BY y.k)
                  FROM priorities y),
                 (SELECT array_agg((SELECT count(*) FROM pack_non_admitted n
                                    WHERE n.priority = y.priority AND n.past_target)::float8 ORDER BY y.k)
                  FROM priorities y)],
           string_agg(ptl_internal.html_row(ARRAY[
               x.label, chart_number(w.waiting), chart_number(w.past),
               coalesce(chart_number(round(100.0 * w.past / nullif(w.waiting, 0), 1)) || '%', ''),
               coalesce(chart_number(round((w.median_days / 7)::numeric, 1)), ''),
               coalesce(b.consultant_code || ' (' || b.treatment_function || ', ' || coalesce(b.site_code, 'no site') || '): '
                        || chart_number(b.past), '')]), '' ORDER BY x.k)
    INTO cats, vals, rows_html
    FROM priorities x
    CROSS JOIN LATERAL (SELECT count(*) AS waiting, count(*) FILTER (WHERE n.past_target) AS past,
                               percentile_cont(0.5) WITHIN GROUP (ORDER BY n.days_waited) AS median_days
                        FROM pack_non_admitted n WHERE n.priority = x.priority) w
    LEFT JOIN busiest b ON b.priority = x.priority;
    figures := figures || pack_figure('non-admitted', 'The non-admitted list by referral priority',
        'Pathways waiting with no decision to admit, by the priority that orders their list (a clinician''s triage priority in place of the referrer''s), within their target or at or past it (targets in ptl.risk_setting: two-week wait, urgent, routine). The table names, per priority, the consultant with most patients at or past the target.',
        svg_chart('stacked', 'Non-admitted pathways by referral priority and target', cats,
                  ARRAY['within target', 'at or past target'], vals, 'Pathways',
                  colours => ARRAY['#0072B2', '#D55E00']),
        ARRAY['Priority', 'Waiting', 'At or past target', 'Share past', 'Median weeks', 'Consultant with most past target'],
        rows_html);

    DROP TABLE pack_bottleneck, pack_beds, pack_follow_up, pack_non_admitted;

    RETURN '<!DOCTYPE html>' || E'\n' || '<html lang="en"><head><meta charset="utf-8">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || '<meta name="ptl-charts" content="9">'
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
    'The weekly PTL pack for a census (the snapshot on or before it) and one provider or the whole ICS: one self-contained HTML document with nine inline SVG charts, each with its table, and an A4 print stylesheet';
