-- The comparison's shortcuts (src/link/strings.c) change no level: a slip
-- (one edit) is found in one pass rather than by the full optimal string
-- alignment distance, and a Jaro-Winkler similarity that cannot reach a
-- level's threshold (by the characters two strings share) is not computed.
-- Property: on 6,000 pairs of strings, each the other after 0 to 3 random
-- edits (substitute, insert, delete, swap two neighbours) over a small
-- alphabet with a space and letters outside ASCII, every level
-- ptl.link_compare gives is the one the full distance or similarity
-- (ptl.damerau_levenshtein, ptl.jaro_winkler) implies.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.mutated(s text, edits int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    alphabet text := 'ABCDEAEIO NRST' || 'ÉØ';
    c text;
    p int;
BEGIN
    FOR k IN 1..edits LOOP
        p := 1 + floor(random() * greatest(length(s), 1))::int;
        c := substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1);
        CASE floor(random() * 4)::int
            WHEN 0 THEN s := overlay(s PLACING c FROM p FOR 1);
            WHEN 1 THEN s := overlay(s PLACING c FROM p FOR 0);
            WHEN 2 THEN s := overlay(s PLACING '' FROM p FOR 1);
            ELSE s := overlay(s PLACING substr(s, p + 1, 1) || substr(s, p, 1) FROM p FOR 2);
        END CASE;
    END LOOP;
    RETURN s;
END $$;

SELECT setseed(0.42);
CREATE TEMP TABLE base AS
SELECT i, (SELECT string_agg(substr('ABCDEAEIO NRSTÉØ', 1 + floor(random() * 16)::int, 1), '')
           FROM generate_series(1, (i % 14) + 1)) AS a
FROM generate_series(1, 6000) AS i;
CREATE TEMP TABLE pairs AS
SELECT i, a, pg_temp.mutated(a, (i % 4)) AS b FROM base;
UPDATE pairs SET b = a || ' X' WHERE i % 29 = 0;   -- and some far apart
CREATE TEMP TABLE levels AS
SELECT a, b, ptl.damerau_levenshtein(a, b) AS dl, ptl.jaro_winkler(a, b) AS jw,
       ptl.link_compare(ROW(NULL, a, NULL, NULL, NULL, NULL, a, a, a, a)::ptl.link_fields,
                        ROW(NULL, b, NULL, NULL, NULL, NULL, b, b, b, b)::ptl.link_fields) AS gamma
FROM pairs WHERE a <> '' AND b <> '';

SELECT ok((SELECT count(*) FILTER (WHERE dl = 1) > 1000 AND count(*) FILTER (WHERE dl > 1) > 1000
                  AND count(*) FILTER (WHERE jw BETWEEN 0.8 AND 0.95) > 500 AND count(*) FILTER (WHERE jw < 0.7) > 200
                  AND count(*) FILTER (WHERE a ~ '[^[:ascii:]]') > 1000
           FROM levels), 'the pairs span one edit and more, similarities around every threshold, and letters outside ASCII');
SELECT is((SELECT count(*) FROM levels
           WHERE ((gamma >> 32) & 15) <> CASE WHEN a = b THEN 1 WHEN dl <= 1 THEN 2 ELSE 3 END
              OR ((gamma >> 36) & 15) <> CASE WHEN a = b THEN 1 WHEN dl <= 1 THEN 2 ELSE 3 END), 0::bigint,
          'telephone and email: a slip (level 2) exactly when the full distance is one');
SELECT is((SELECT count(*) FROM levels
           WHERE ((gamma >> 24) & 15) <> CASE WHEN a = b THEN 1 WHEN jw >= 0.88 THEN 2 ELSE 3 END
              OR ((gamma >> 28) & 15) <> CASE WHEN a = b THEN 1 WHEN jw >= 0.88 THEN 2 ELSE 3 END), 0::bigint,
          'address and town: close (level 2) exactly when the full similarity is at least 0.88');
SELECT is((SELECT count(*) FROM levels
           WHERE ((gamma >> 4) & 15) <> CASE WHEN a = b THEN 1 WHEN jw >= 0.92 THEN 2 WHEN jw >= 0.88 THEN 3
                                             WHEN jw >= 0.70 THEN 4 ELSE ((gamma >> 4) & 15) END
              OR (jw < 0.70 AND a <> b AND ((gamma >> 4) & 15) NOT IN (5, 8))), 0::bigint,
          'given name: each similarity band''s level as the full similarity puts it, and below 0.70 part or different');

-- Names recorded the wrong way round: found when each name is at least
-- 0.92 like the other record's other name, whatever the bound skips.
CREATE TEMP TABLE swaps AS
SELECT p.a AS g, q.a AS f, p.b AS g2, q.b AS f2,
       ptl.link_compare(ROW(NULL, p.a, q.a, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::ptl.link_fields,
                        ROW(NULL, q.b, p.b, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::ptl.link_fields) AS gamma
FROM pairs p JOIN pairs q ON q.i = p.i + 3000
WHERE p.a <> '' AND p.b <> '' AND q.a <> '' AND q.b <> '';
SELECT is((SELECT count(*) FROM swaps
           WHERE (((gamma >> 4) & 15) = 6)
                 <> (ptl.jaro_winkler(g, g2) >= 0.92 AND ptl.jaro_winkler(f, f2) >= 0.92
                     AND g <> f2 AND ptl.jaro_winkler(g, f2) < 0.88 AND f <> g2 AND ptl.jaro_winkler(f, g2) < 0.88)),
          0::bigint,
          'swapped names (level 6) exactly when each is at least 0.92 like the other''s other name and neither agrees with its own');
SELECT cmp_ok((SELECT count(*) FROM swaps WHERE ((gamma >> 4) & 15) = 6), '>', 100::bigint,
              'and many pairs are swaps');

SELECT * FROM finish();
ROLLBACK;
