-- ---------------------------------------------------------------------------
-- link/person: patient records of every source into ICS persons.
--
-- ptl.link_persons() compares candidate pairs of records (blocking rules),
-- links identical valid NHS numbers unless the rest of the record flatly
-- contradicts them, scores the other pairs with a Fellegi-Sunter model whose
-- m and u probabilities it estimates from the data (EM), and forms persons
-- by union-find with a guard against chaining.  Method and sources:
-- docs/linkage.md; Fellegi & Sunter (1969), and Splink's formulation
-- (its Fellegi-Sunter topic guide): match weight = log2(lambda / (1 - lambda)) + sum of
-- log2(m / u) over the fields.
-- ---------------------------------------------------------------------------

-- The normalised fields linkage compares (ptl_internal.link_fields_of).
CREATE TYPE ptl.link_fields AS (
    nhs_number      text,
    given_name      text,
    family_name     text,
    date_of_birth   date,
    sex             text,
    postcode        text,
    address         text,
    town            text,
    telephone       text,
    email           text
);
COMMENT ON TYPE ptl.link_fields IS
    'A patient record as linkage compares it: NHS number digits as recorded, names upper case letters only, sex 1 or 2, postcode without spaces, address and town upper case, telephone as national digits (0...), email lower case';

CREATE FUNCTION ptl.jaro(a text, b text) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_jaro' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.jaro(text, text) IS
    'Jaro similarity of two strings (0 to 1), on characters, case sensitive';

CREATE FUNCTION ptl.jaro_winkler(a text, b text) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_jaro_winkler' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.jaro_winkler(text, text) IS
    'Jaro-Winkler similarity (0 to 1): Jaro plus 0.1 per common leading character (up to 4) when Jaro is above 0.7';

CREATE FUNCTION ptl.damerau_levenshtein(a text, b text) RETURNS int
AS 'MODULE_PATHNAME', 'ptl_damerau_levenshtein' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.damerau_levenshtein(text, text) IS
    'Edits between two strings: insertions, deletions, substitutions and swaps of adjacent characters (optimal string alignment)';

CREATE FUNCTION ptl.soundex(name text) RETURNS text
AS 'MODULE_PATHNAME', 'ptl_soundex' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.soundex(text) IS
    'American Soundex code of a name (US National Archives rules): first letter and three digits, e.g. Robert and Rupert R163; NULL without a letter';

CREATE FUNCTION ptl.link_compare(a ptl.link_fields, b ptl.link_fields) RETURNS bigint
AS 'MODULE_PATHNAME', 'ptl_link_compare_wide' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_compare(ptl.link_fields, ptl.link_fields) IS
    'Comparison vector of two records: each field''s level (ptl.link_level) in 4 bits, field n at bit 4n';

CREATE FUNCTION ptl.link_em(patterns bigint[], counts float8[], u float8[], m_start float8[],
                            lambda_start float8, used_fields int, trained_fields int,
                            max_iterations int, tolerance float8,
                            OUT m float8[], OUT lambda float8, OUT iterations int)
AS 'MODULE_PATHNAME', 'ptl_link_em' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_em(bigint[], float8[], float8[], float8[], float8, int, int, int, float8) IS
    'Fellegi-Sunter EM over distinct comparison vectors and their counts, u fixed: the share of matches (lambda) and m for the trained fields (bit n = field n); m and u are 160-element arrays, field f level l at f*16+l+1';

CREATE FUNCTION ptl.link_clusters(record_ids bigint[], record_keys text[], left_ids bigint[],
                                  right_ids bigint[], weights float8[], max_cluster_size int)
RETURNS TABLE (left_id bigint, right_id bigint, left_cluster bigint, right_cluster bigint, outcome text)
AS 'MODULE_PATHNAME', 'ptl_link_clusters' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_clusters(bigint[], text[], bigint[], bigint[], float8[], int) IS
    'Union-find over links in descending weight, refusing a link that would join two different NHS numbers or exceed max_cluster_size; each link''s outcome and both records'' final clusters (named by their smallest record id)';

-- The candidate pairs of a full run, compared (src/link/block.c):
-- records_sql gives (patient_id, keys, f, nhs_valid) in name order; it reads
-- only (SPI read-only) and with the caller's rights.
CREATE FUNCTION ptl_internal.link_candidates(records_sql text, block_window int, max_block_size int)
RETURNS TABLE (a bigint, b bigint, rules int, gamma bigint, same_nhs boolean,
               given_a text, family_a text, given_b text,
               rule_no int, keyed_records bigint, skipped_blocks bigint)
AS 'MODULE_PATHNAME', 'ptl_link_candidates' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ptl_internal.link_candidates(text, int, int) IS
    'Internal to linkage: every blocking rule''s pairs in one pass, each record of a block with the next block_window in name order (ptl_internal.link_name_order_sql; records_sql in any order), blocks over max_block_size skipped; one row per pair with its rule bits, comparison vector, NHS-number agreement and names, then one per rule with the records it keyed and the blocks it skipped';

-- Stable person numbers by vote (src/link/cluster.c): members_sql gives
-- each record's cluster and the person the last run gave it.
CREATE FUNCTION ptl_internal.link_vote(members_sql text)
RETURNS TABLE (cluster bigint, person_id bigint)
AS 'MODULE_PATHNAME', 'ptl_link_vote' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ptl_internal.link_vote(text) IS
    'Internal to linkage: each cluster keeps the person number most of its records had (ties: the smaller number); a number several clusters would keep goes to the one with most records voting for it (ties: the smaller cluster); one row per cluster, person_id NULL when it keeps none';

-- The pairs an incremental run looks at again, compared (src/link/block.c):
-- records_sql gives every record of the blocks a changed record holds now or
-- held before, with its side (1 now, 2 before, 3 both).
CREATE FUNCTION ptl_internal.link_window_delta(records_sql text, block_window int, max_block_size int)
RETURNS TABLE (a bigint, b bigint, rules int, other_rules int, gamma bigint, same_nhs boolean,
               given_a text, family_a text, given_b text,
               rule_no int, keyed_records bigint, skipped_blocks bigint)
AS 'MODULE_PATHNAME', 'ptl_link_window_delta' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ptl_internal.link_window_delta(text, int, int) IS
    'Internal to incremental linkage: each block a changed record is in (now or before) windowed now and before as ptl_internal.link_candidates windows it; one row per pair in a window now with a changed record, or that entered or left a window, with the rule bits of its windows now, those of unchanged blocks it shares (other_rules) and its comparison; then one per rule with the changed records it keys and the blocks over max_block_size';

-- ---------------------------------------------------------------------------
-- The model's vocabulary
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.link_level (
    field_no    int NOT NULL CHECK (field_no BETWEEN 0 AND 9),
    field       text NOT NULL,
    level       int NOT NULL CHECK (level BETWEEN 0 AND 15),
    label       text NOT NULL,
    PRIMARY KEY (field_no, level)
);
COMMENT ON TABLE ptl.link_level IS 'Comparison levels of each field that person linkage compares (what ptl.link_compare returns)';
COMMENT ON COLUMN ptl.link_level.field_no IS 'Field number: its level sits at bits 4n to 4n+3 of the comparison vector';
COMMENT ON COLUMN ptl.link_level.field IS 'Field name';
COMMENT ON COLUMN ptl.link_level.level IS 'Level: 0 missing on either side (weight 0), 1 exact, higher agree less';
COMMENT ON COLUMN ptl.link_level.label IS 'What the level means';
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES
    (0, 'nhs_number', 0, 'missing'), (0, 'nhs_number', 1, 'exact'),
    (0, 'nhs_number', 2, 'one edit (a digit wrong, or two swapped)'), (0, 'nhs_number', 3, 'different'),
    (1, 'given_name', 0, 'missing'), (1, 'given_name', 1, 'exact'),
    (1, 'given_name', 2, 'Jaro-Winkler >= 0.92'), (1, 'given_name', 3, 'Jaro-Winkler >= 0.88'),
    (1, 'given_name', 4, 'Jaro-Winkler >= 0.70'), (1, 'given_name', 5, 'different'),
    (2, 'family_name', 0, 'missing'), (2, 'family_name', 1, 'exact'),
    (2, 'family_name', 2, 'Jaro-Winkler >= 0.92'), (2, 'family_name', 3, 'Jaro-Winkler >= 0.88'),
    (2, 'family_name', 4, 'Jaro-Winkler >= 0.70'), (2, 'family_name', 5, 'different'),
    (3, 'date_of_birth', 0, 'missing'), (3, 'date_of_birth', 1, 'exact'),
    (3, 'date_of_birth', 2, 'day and month swapped, or two adjacent digits swapped'),
    (3, 'date_of_birth', 3, 'two of year, month and day agree, or one digit differs'),
    (3, 'date_of_birth', 4, 'different'),
    (4, 'sex', 0, 'missing or not stated'), (4, 'sex', 1, 'same'), (4, 'sex', 2, 'different'),
    (5, 'postcode', 0, 'missing'), (5, 'postcode', 1, 'exact'), (5, 'postcode', 2, 'same district (outward code)'),
    (5, 'postcode', 3, 'different'),
    (6, 'address', 0, 'missing'), (6, 'address', 1, 'exact'), (6, 'address', 2, 'Jaro-Winkler >= 0.88'),
    (6, 'address', 3, 'different');
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- names swapped (0.4.0)
    (1, 'given_name', 6, 'swapped: matches the other record''s family name (Jaro-Winkler >= 0.92), and its family name this given name'),
    (2, 'family_name', 6, 'swapped: matches the other record''s given name (Jaro-Winkler >= 0.92), and its given name this family name');
-- Women's family names change at marriage (0.4.0): a family name that
-- differs between two records of women is a level of its own, and sex is
-- then counted in it (src/link/compare.c).
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- married name
    (2, 'family_name', 7, 'different, both records female (a family name changed at marriage)');
UPDATE ptl.link_level SET label = 'missing, not stated, or counted in the family name (both female, family names different)'
WHERE field_no = 4 AND level = 0;
-- A birth date with one slip (a digit, or the year one out) and one whose
-- two parts agree by coincidence are levels apart (0.4.0; src/link/compare.c).
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- two parts of a date
    (3, 'date_of_birth', 5, 'two of year, month and day agree (not one slip)');
UPDATE ptl.link_level SET label = 'one digit differs, or the year is one out with month and day the same'
WHERE field_no = 3 AND level = 3;
-- A name that is part of the other (0.4.0): a double-barrelled family name
-- against one of its halves, a middle name run into the given name, an
-- initial (src/link/compare.c).
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- part of a name
    (1, 'given_name', 8, 'part: one is the start or end of the other (3 letters or more), or its initial'),
    (2, 'family_name', 8, 'part: one is the start or end of the other (3 letters or more), or its initial');
-- The town (0.4.0): extracts without an address line often carry the town.
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- town
    (7, 'town', 0, 'missing'), (7, 'town', 1, 'exact'), (7, 'town', 2, 'Jaro-Winkler >= 0.88'),
    (7, 'town', 3, 'different');
-- Telephone and email (0.4.0), when the extract sends them.
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES -- telephone and email
    (8, 'telephone', 0, 'missing'), (8, 'telephone', 1, 'exact'),
    (8, 'telephone', 2, 'one edit (a digit wrong, or two swapped)'), (8, 'telephone', 3, 'different'),
    (9, 'email', 0, 'missing'), (9, 'email', 1, 'exact'), (9, 'email', 2, 'one edit (a character wrong, missing, extra or two swapped)'),
    (9, 'email', 3, 'different');

-- Nicknames: a given name and a short form records carry instead of it
-- (Bill for William).  They matter where a given name that differs would
-- otherwise say "another person": the look-alike guard (ptl.link_setting.
-- look_alike_review) does not hold back a pair whose given names are one
-- another's nickname.  Shipped: common English diminutives; add your own.
CREATE TABLE ptl.link_nickname (
    given_name  text NOT NULL CHECK (given_name ~ '^[A-Z]+$'),
    nickname    text NOT NULL CHECK (nickname ~ '^[A-Z]+$'),
    shipped     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (given_name, nickname)
);
COMMENT ON TABLE ptl.link_nickname IS
    'Given names and the nicknames records carry instead (upper case letters, as linkage normalises them): such a pair is not two look-alikes; add rows of your own';
COMMENT ON COLUMN ptl.link_nickname.given_name IS 'Given name, upper case letters';
COMMENT ON COLUMN ptl.link_nickname.nickname IS 'A short form of it, upper case letters';
COMMENT ON COLUMN ptl.link_nickname.shipped IS 'True for the rows ptl ships';
INSERT INTO ptl.link_nickname (given_name, nickname) VALUES
    ('WILLIAM', 'BILL'), ('WILLIAM', 'BILLY'), ('WILLIAM', 'WILL'), ('WILLIAM', 'WILLIE'),
    ('WILLIAM', 'LIAM'), ('ROBERT', 'BOB'), ('ROBERT', 'BOBBY'), ('ROBERT', 'ROB'),
    ('ROBERT', 'ROBBIE'), ('ROBERT', 'BERT'), ('RICHARD', 'DICK'), ('RICHARD', 'RICK'),
    ('RICHARD', 'RICKY'), ('RICHARD', 'RICH'), ('RICHARD', 'RICHIE'), ('JAMES', 'JIM'),
    ('JAMES', 'JIMMY'), ('JAMES', 'JAMIE'), ('JOHN', 'JACK'), ('JOHN', 'JOHNNY'),
    ('MARGARET', 'MAGGIE'), ('MARGARET', 'MEG'), ('MARGARET', 'PEGGY'), ('MARGARET', 'MARGE'),
    ('MARGARET', 'MADGE'), ('ELIZABETH', 'LIZ'), ('ELIZABETH', 'LIZZIE'), ('ELIZABETH', 'BETH'),
    ('ELIZABETH', 'BETTY'), ('ELIZABETH', 'ELIZA'), ('ELIZABETH', 'LIBBY'), ('ELIZABETH', 'BESS'),
    ('CATHERINE', 'KATE'), ('CATHERINE', 'KATIE'), ('CATHERINE', 'CATH'), ('CATHERINE', 'CATHY'),
    ('CATHERINE', 'KITTY'), ('KATHERINE', 'KATE'), ('KATHERINE', 'KATIE'), ('KATHERINE', 'KATH'),
    ('KATHERINE', 'KATHY'), ('KATHERINE', 'KITTY'), ('THOMAS', 'TOM'), ('THOMAS', 'TOMMY'),
    ('MICHAEL', 'MIKE'), ('MICHAEL', 'MICK'), ('MICHAEL', 'MICKY'), ('CHRISTOPHER', 'CHRIS'),
    ('CHRISTOPHER', 'KIT'), ('ANTHONY', 'TONY'), ('EDWARD', 'ED'), ('EDWARD', 'EDDIE'),
    ('EDWARD', 'TED'), ('EDWARD', 'TEDDY'), ('EDWARD', 'NED'), ('DAVID', 'DAVE'),
    ('DAVID', 'DAVY'), ('DANIEL', 'DAN'), ('DANIEL', 'DANNY'), ('JOSEPH', 'JOE'),
    ('JOSEPH', 'JOEY'), ('SAMUEL', 'SAM'), ('SAMUEL', 'SAMMY'), ('SAMANTHA', 'SAM'),
    ('SAMANTHA', 'SAMMY'), ('ALEXANDER', 'ALEX'), ('ALEXANDER', 'ALEC'), ('ALEXANDER', 'SANDY'),
    ('ALEXANDRA', 'ALEX'), ('ALEXANDRA', 'SANDRA'), ('ALEXANDRA', 'SANDY'), ('ANDREW', 'ANDY'),
    ('ANDREW', 'DREW'), ('PATRICK', 'PAT'), ('PATRICK', 'PADDY'), ('PATRICIA', 'PAT'),
    ('PATRICIA', 'PATSY'), ('PATRICIA', 'TRISH'), ('PATRICIA', 'TRICIA'), ('SUSAN', 'SUE'),
    ('SUSAN', 'SUSIE'), ('DEBORAH', 'DEBBIE'), ('DEBORAH', 'DEB'), ('REBECCA', 'BECKY'),
    ('REBECCA', 'BECCA'), ('JENNIFER', 'JENNY'), ('JENNIFER', 'JEN'), ('NICHOLAS', 'NICK'),
    ('NICHOLAS', 'NICKY'), ('STEPHEN', 'STEVE'), ('STEVEN', 'STEVE'), ('PETER', 'PETE'),
    ('BENJAMIN', 'BEN'), ('BENJAMIN', 'BENNY'), ('MATTHEW', 'MATT'), ('TIMOTHY', 'TIM'),
    ('HENRY', 'HARRY'), ('HENRY', 'HAL'), ('HENRY', 'HANK'), ('CHARLES', 'CHARLIE'),
    ('CHARLES', 'CHAS'), ('FREDERICK', 'FRED'), ('FREDERICK', 'FREDDIE'), ('GERALD', 'GERRY'),
    ('GEOFFREY', 'GEOFF'), ('KENNETH', 'KEN'), ('KENNETH', 'KENNY'), ('LEONARD', 'LEN'),
    ('LEONARD', 'LENNY'), ('RONALD', 'RON'), ('RONALD', 'RONNIE'), ('DONALD', 'DON'),
    ('DONALD', 'DONNIE'), ('STANLEY', 'STAN'), ('ALBERT', 'BERT'), ('ALBERT', 'ALBIE'),
    ('HAROLD', 'HARRY'), ('HAROLD', 'HAL'), ('PHILIP', 'PHIL'), ('VICTORIA', 'VICKY'),
    ('VICTORIA', 'VICKI'), ('VICTORIA', 'TORI'), ('CHRISTINE', 'CHRIS'), ('CHRISTINE', 'CHRISSY'),
    ('JACQUELINE', 'JACKIE'), ('JOSEPHINE', 'JO'), ('JOSEPHINE', 'JOSIE'), ('DOROTHY', 'DOT'),
    ('DOROTHY', 'DOLLY'), ('MARY', 'MOLLY'), ('MARY', 'POLLY'), ('SARAH', 'SALLY'),
    ('HELEN', 'NELL'), ('HELEN', 'NELLIE'), ('ELEANOR', 'NELL'), ('ELEANOR', 'ELLIE'),
    ('ABIGAIL', 'ABBY'), ('ABIGAIL', 'ABBIE'), ('AMANDA', 'MANDY'), ('MARTIN', 'MARTY'),
    ('TERENCE', 'TERRY'), ('THEODORE', 'THEO'), ('THEODORE', 'TED'), ('OLIVER', 'OLLIE'),
    ('OLIVIA', 'LIV'), ('OLIVIA', 'LIVVY'), ('JOANNE', 'JO'), ('NATHANIEL', 'NAT'),
    ('NATHANIEL', 'NATE'), ('NATALIE', 'NAT'), ('RAYMOND', 'RAY'), ('FRANCIS', 'FRANK'),
    ('FRANCES', 'FRAN'), ('FRANCES', 'FRANKIE'), ('ISABELLA', 'BELLA'), ('ISABELLA', 'IZZY'),
    ('ISABEL', 'IZZY'), ('GWENDOLINE', 'GWEN'), ('BARBARA', 'BARB'), ('BARBARA', 'BABS'),
    ('JUDITH', 'JUDY'), ('PAMELA', 'PAM'), ('SANDRA', 'SANDY'), ('BEVERLEY', 'BEV'),
    ('VALERIE', 'VAL'), ('GORDON', 'GORDIE'), ('DOUGLAS', 'DOUG'), ('LAWRENCE', 'LAURIE'),
    ('LAWRENCE', 'LARRY'), ('GREGORY', 'GREG'), ('JONATHAN', 'JON'), ('JONATHAN', 'JONNY');
UPDATE ptl.link_nickname SET shipped = true;
SELECT pg_catalog.pg_extension_config_dump('ptl.link_nickname', 'WHERE NOT shipped');

-- The fields a blocking rule's expression names, as bits (field n = bit n).
CREATE FUNCTION ptl_internal.link_expression_fields(expression text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(sum(1 << x.n), 0)::int
    FROM unnest(ARRAY['nhs_number', 'given_name', 'family_name', 'date_of_birth', 'sex', 'postcode', 'address', 'town',
                        'telephone', 'email'])
         WITH ORDINALITY AS f (name, k)
    CROSS JOIN LATERAL (SELECT (f.k - 1)::int AS n) AS x (n)
    WHERE expression ~* ('\m' || f.name || '\M');
END;
COMMENT ON FUNCTION ptl_internal.link_expression_fields(text) IS
    'The fields of ptl.link_fields a blocking rule''s key expression names, as bits (field n = bit n)';

-- Blocking: only pairs that agree on at least one rule's key are compared.
-- A rule is data: one SQL expression over the normalised fields of a record
-- (the columns of ptl.link_fields), whose value, hashed, is the key; a NULL
-- value (a field it needs is missing) gives the record no key for that rule.
-- A rule does not train m for the fields it names, since all its pairs agree
-- on them (near enough).  ptl ships a set that still finds a person's records
-- when the NHS number, the postcode or both are missing, or when a name or
-- the date of birth has a common slip (docs/linkage.md, "Blocking").
CREATE TABLE ptl.link_blocking_rule (
    rule_no         int PRIMARY KEY CHECK (rule_no BETWEEN 1 AND 30),
    key_expression  text NOT NULL,
    description     text NOT NULL,
    shipped         boolean NOT NULL DEFAULT false,
    blocked_fields  int NOT NULL GENERATED ALWAYS AS (ptl_internal.link_expression_fields(key_expression)) STORED
);
COMMENT ON TABLE ptl.link_blocking_rule IS
    'Blocking rules of person linkage: two records are compared only when one of these keys has the same value for both; add a row to add a rule (it takes effect at the next run, which then links every record again)';
COMMENT ON COLUMN ptl.link_blocking_rule.rule_no IS 'Rule number, 1 to 30 (bit rule_no - 1 of a pair''s rules)';
COMMENT ON COLUMN ptl.link_blocking_rule.key_expression IS
    'One SQL expression over nhs_number, given_name, family_name, date_of_birth, sex, postcode, address, town, telephone and email (ptl.link_fields, normalised); its value is the key, NULL for no key';
COMMENT ON COLUMN ptl.link_blocking_rule.description IS 'What the key is, and which slips it still finds';
COMMENT ON COLUMN ptl.link_blocking_rule.shipped IS 'True for the rules ptl ships (read only: CREATE EXTENSION writes them again after a restore)';
COMMENT ON COLUMN ptl.link_blocking_rule.blocked_fields IS
    'Fields the expression names (bit n = field n of ptl.link_fields), derived: EM does not train them on this rule''s pairs';
-- The shipped rules.  1 to 6 need an NHS number or a postcode, or exact
-- names; 7 to 12 find a person's records without either, through the
-- slips records carry most (Winkler 1990; Christen, "Data Matching", 2012,
-- ch. 4 on blocking keys): a name misspelt (Soundex), a given name missing
-- or a nickname (family name and date of birth), day and month swapped,
-- the year wrong (names and birthday; a family name changed by marriage is
-- rule 2's, date of birth and given-name initial), given
-- and family name swapped (the two names unordered), a date-of-birth slip
-- with both names sounding alike, the address line or the town when the
-- postcode is missing, and a telephone number or email address shared.
INSERT INTO ptl.link_blocking_rule (rule_no, key_expression, description, shipped) VALUES
    (1, 'nhs_number', 'NHS number digits as recorded (valid or not)', true),
    (2, 'date_of_birth::text || left(given_name, 1)', 'date of birth and given name initial', true),
    (3, 'date_of_birth::text || left(postcode, length(postcode) - 3)', 'date of birth and postcode district', true),
    (4, 'postcode || left(given_name, 1)', 'postcode and given name initial', true),
    (5, $$family_name || ' ' || given_name || extract(year FROM date_of_birth)$$,
        'family name, given name and year of birth', true),
    (6, 'postcode || left(family_name, 1)', 'postcode and family name initial', true),
    (7, 'ptl.soundex(family_name) || date_of_birth::text',
        'family name''s Soundex and date of birth: a misspelt, missing or nicknamed given name', true),
    (8, $$ptl.soundex(family_name) || to_char(date_of_birth, 'YYYY') || least(to_char(date_of_birth, 'MMDD'), to_char(date_of_birth, 'DDMM'))$$,
        'family name''s Soundex, year of birth, and day and month in either order: day and month swapped', true),
    (9, $$ptl.soundex(family_name) || left(given_name, 1) || to_char(date_of_birth, 'MMDD')$$,
        'family name''s Soundex, given-name initial and the birthday (month and day): the year of birth wrong', true),
    (10, $$least(given_name, family_name) || ' ' || greatest(given_name, family_name) || to_char(date_of_birth, 'YYYY')$$,
        'both names in either order and year of birth: given and family name swapped', true),
    (11, $$ptl.soundex(given_name) || ptl.soundex(family_name) || to_char(date_of_birth, 'YYYY')$$,
        'Soundex of both names and year of birth: a slip in the day or month of birth, with names misspelt', true),
    (12, $$address || ' ' || ptl.soundex(family_name)$$,
        'address line and family name''s Soundex: no postcode, and the date of birth wrong', true),
    (13, $$date_of_birth::text || least(left(given_name, 1), left(family_name, 1)) || greatest(left(given_name, 1), left(family_name, 1))$$,
        'date of birth and both initials in either order: given and family name swapped, and one of them misspelt', true),
    (14, $$town || ' ' || ptl.soundex(family_name) || left(given_name, 1)$$,
        'town, family name''s Soundex and given-name initial: no postcode or address line, and the date of birth wrong', true),
    (15, 'telephone', 'telephone number: names or date of birth changed, the number kept', true),
    (16, 'email', 'email address: names or date of birth changed, the address kept', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_blocking_rule', 'WHERE NOT shipped');
-- Settings (src/model/settings.sql).
CREATE TABLE ptl.link_setting (
    setting_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    shipped             boolean NOT NULL DEFAULT false,
    link_probability    float8 NOT NULL DEFAULT 0.95 CHECK (link_probability > 0 AND link_probability < 1),
    review_probability  float8 NOT NULL DEFAULT 0.5 CHECK (review_probability > 0 AND review_probability < 1),
    max_cluster_size    int NOT NULL DEFAULT 20 CHECK (max_cluster_size >= 2),
    max_block_size      int NOT NULL DEFAULT 1000 CHECK (max_block_size >= 2),
    u_sample_pairs      int NOT NULL DEFAULT 1000000 CHECK (u_sample_pairs >= 1000),
    em_max_iterations   int NOT NULL DEFAULT 100 CHECK (em_max_iterations >= 1),
    em_tolerance        float8 NOT NULL DEFAULT 1e-6 CHECK (em_tolerance > 0),
    transfer_window_days int NOT NULL DEFAULT 42 CHECK (transfer_window_days >= 0),
    look_alike_review   boolean NOT NULL DEFAULT true,
    block_window        int NOT NULL DEFAULT 3 CHECK (block_window >= 1),
    CHECK (review_probability <= link_probability)
);
SELECT ptl_internal.settings_history_ready('ptl.link_setting');
COMMENT ON TABLE ptl.link_setting IS
    'Person linkage thresholds and limits: a history, the latest row is in force (change with ptl.change_settings)';
COMMENT ON COLUMN ptl.link_setting.link_probability IS
    'Posterior match probability at or above which two records are linked (default 0.95: odds of 19 to 1 that they are one person; docs/linkage.md, "Thresholds")';
COMMENT ON COLUMN ptl.link_setting.review_probability IS
    'Pairs from this probability up to link_probability go to clerical review (ptl.link_review)';
COMMENT ON COLUMN ptl.link_setting.max_cluster_size IS 'Chaining guard: no person gathers more records than this';
COMMENT ON COLUMN ptl.link_setting.max_block_size IS
    'Blocks (records sharing one key) larger than this are not compared (keeps the work near linear; counted in ptl.link_run)';
COMMENT ON COLUMN ptl.link_setting.block_window IS
    'In a block, each record is compared with the next block_window records in name order (given name, family name, date of birth): a block of block_window + 1 records or fewer is compared whole, a larger one by its sorted neighbourhood, so a record has at most block_window pairs per rule however large its blocks grow with the ICS (docs/linkage.md, "Blocking")';
COMMENT ON COLUMN ptl.link_setting.u_sample_pairs IS 'Random record pairs drawn to estimate u probabilities';
COMMENT ON COLUMN ptl.link_setting.em_max_iterations IS 'EM iterations at most';
COMMENT ON COLUMN ptl.link_setting.em_tolerance IS 'EM stops when no probability moves by more than this';
COMMENT ON COLUMN ptl.link_setting.look_alike_review IS
    'True (default): two records with the same family name and date of birth whose given names differ (not a slip, a swap or a nickname of ptl.link_nickname) go to clerical review, never linked by weight: twins share everything else';
COMMENT ON COLUMN ptl.link_setting.transfer_window_days IS
    'Pathway linkage: a transfer_in matches a transfer_out of the same person at another provider when it comes at most this many days later';

CREATE FUNCTION ptl_internal.link_setting_in_force() RETURNS ptl.link_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.link_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl_internal.link_setting_in_force() IS 'The person linkage settings in force: the latest row of ptl.link_setting';

-- A blocking rule is checked when it is written, not when a run meets it:
-- its expression must name a field and give a key on a sample record.
-- Shipped rules are read only (CREATE EXTENSION writes them again).
CREATE FUNCTION ptl_internal.link_blocking_rule_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    sample ptl.link_fields := ROW('9434765919', 'ANN', 'SMITH', DATE '1950-03-01', '2', 'DT12JY', '1 HIGH STREET', 'DORCHESTER', '01305123456', 'ann@example.org');
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.shipped THEN
        RAISE EXCEPTION 'blocking rule % is shipped with ptl and cannot be changed or removed', OLD.rule_no
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'CREATE EXTENSION writes shipped rules again when a dump is restored, so the change would be lost.',
                  HINT = 'Add a rule of your own with another rule_no; ptl.link_setting.max_block_size keeps a rule''s large blocks out.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.key_expression ~ ';' THEN
        RAISE EXCEPTION 'blocking rule %: the key expression "%" is more than one expression', NEW.rule_no, NEW.key_expression
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write one SQL expression over the fields, e.g. ptl.soundex(family_name) || to_char(date_of_birth, ''YYYY'').';
    END IF;
    IF ptl_internal.link_expression_fields(NEW.key_expression) = 0 THEN
        RAISE EXCEPTION 'blocking rule %: the key expression "%" names no field of a patient record', NEW.rule_no, NEW.key_expression
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A key that is the same for every record would compare every pair.',
                  HINT = 'Name nhs_number, given_name, family_name, date_of_birth, sex, postcode, address, town, telephone or email (ptl.link_fields).';
    END IF;
    BEGIN
        EXECUTE format('SELECT hashtextextended((%s)::text, 0) FROM (SELECT ($1).*) AS k', NEW.key_expression) USING sample;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'blocking rule %: the key expression "%" does not run on a patient record''s fields: %',
                        NEW.rule_no, NEW.key_expression, SQLERRM
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write one SQL expression over nhs_number, given_name, family_name, date_of_birth, sex, postcode, address, town, telephone and email (ptl.link_fields), e.g. ptl.soundex(family_name) || to_char(date_of_birth, ''YYYY'').';
    END;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl_internal.link_blocking_rule_check() IS
    'Trigger: a blocking rule''s expression must name a field and give a key on a sample record; shipped rules are read only';
CREATE TRIGGER link_blocking_rule_checked
    BEFORE INSERT OR UPDATE OR DELETE ON ptl.link_blocking_rule
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.link_blocking_rule_check();

-- The blocking rules as a run used them: a run whose rules differ from the
-- full run's cannot use that run's model and keys (ptl_internal.link_model_stale).
CREATE FUNCTION ptl_internal.link_rules_signature() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT md5(coalesce(string_agg(r.rule_no || ':' || r.key_expression, E'\n' ORDER BY r.rule_no), ''))
    FROM ptl.link_blocking_rule r;
END;
COMMENT ON FUNCTION ptl_internal.link_rules_signature() IS
    'A digest of the blocking rules in force (numbers and expressions): ptl.link_run.blocking_rules records the one a run used';

-- The fields of a patient record as linkage compares them.
CREATE FUNCTION ptl_internal.link_normalise(nhs_number text, given_name text, family_name text, date_of_birth date,
                                            sex text, postcode text, address text, town text, telephone text, email text)
RETURNS ptl.link_fields
AS 'MODULE_PATHNAME', 'ptl_link_normalise' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.link_normalise(text, text, text, date, text, text, text, text, text, text) IS
    'Internal to linkage: a record''s fields as linkage compares them (the rules of ptl.link_fields), each NULL when nothing is left';

-- (not STRICT, so that the planner inlines it and reads the columns, not the row)
CREATE FUNCTION ptl_internal.link_fields_of(p ptl.patient) RETURNS ptl.link_fields
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ptl_internal.link_normalise(coalesce(p.nhs_number::text, p.nhs_number_as_recorded), p.given_name, p.family_name,
                                   p.date_of_birth, p.sex, p.postcode, p.address_line_1, p.town, p.telephone, p.email);
COMMENT ON FUNCTION ptl_internal.link_fields_of(ptl.patient) IS
    'A patient record normalised for linkage (ptl.link_fields)';

-- ---------------------------------------------------------------------------
-- The model and its results
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.link_run (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    records             bigint NOT NULL,
    candidate_pairs     bigint NOT NULL,
    skipped_blocks      bigint NOT NULL,
    u_sample_pairs      bigint NOT NULL,
    em_iterations       int NOT NULL,
    candidate_match_share float8 NOT NULL,
    prior_weight        float8 NOT NULL,
    nhs_number_links    bigint NOT NULL,
    probabilistic_links bigint NOT NULL,
    conflicts           bigint NOT NULL,
    refused_links       bigint NOT NULL,
    review_pairs        bigint NOT NULL,
    persons             bigint NOT NULL,
    run_by              text NOT NULL DEFAULT current_user,
    kind                text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'frozen', 'incremental')),
    compared_records    bigint NOT NULL,
    blocking_rules      text,
    unblocked_records   bigint,
    expected_precision  float8,
    expected_recall     float8,
    untrained_fields    text,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT link_run_started_at_in_range CHECK (ptl.in_storage_range(started_at)),
    CONSTRAINT link_run_finished_at_in_range CHECK (ptl.in_storage_range(finished_at))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_run', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.link_run_run_id_seq', '');
COMMENT ON TABLE ptl.link_run IS 'One row per linkage run (ptl.link_persons, ptl.link_persons_incremental): the work done and what the model found';
COMMENT ON COLUMN ptl.link_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.link_run.started_at IS 'Start';
COMMENT ON COLUMN ptl.link_run.finished_at IS 'End';
COMMENT ON COLUMN ptl.link_run.records IS 'Patient records linked';
COMMENT ON COLUMN ptl.link_run.candidate_pairs IS 'Distinct pairs the blocking rules produced and compared (an incremental run: the pairs touching a changed record or a block it changed)';
COMMENT ON COLUMN ptl.link_run.skipped_blocks IS 'Blocks over max_block_size, not compared';
COMMENT ON COLUMN ptl.link_run.u_sample_pairs IS 'Random pairs compared to estimate u';
COMMENT ON COLUMN ptl.link_run.em_iterations IS 'EM iterations, all rules together';
COMMENT ON COLUMN ptl.link_run.candidate_match_share IS 'Estimated share of matches among the candidate pairs';
COMMENT ON COLUMN ptl.link_run.prior_weight IS 'log2(lambda / (1 - lambda)) for two records drawn at random';
COMMENT ON COLUMN ptl.link_run.nhs_number_links IS 'Pairs linked by identical valid NHS numbers';
COMMENT ON COLUMN ptl.link_run.probabilistic_links IS 'Other pairs at or above the link probability';
COMMENT ON COLUMN ptl.link_run.conflicts IS 'Pairs with one valid NHS number whose other fields flatly contradict it (not linked)';
COMMENT ON COLUMN ptl.link_run.refused_links IS 'Links the chaining guard refused';
COMMENT ON COLUMN ptl.link_run.review_pairs IS 'Pairs between the review and link probabilities';
COMMENT ON COLUMN ptl.link_run.persons IS 'Persons after the run';
COMMENT ON COLUMN ptl.link_run.run_by IS 'Database user';
COMMENT ON COLUMN ptl.link_run.kind IS
    'full (estimated the model, then linked every record), frozen (linked every record with the stored model) or incremental (compared only the pairs touching records changed since the last run, stored model)';
COMMENT ON COLUMN ptl.link_run.compared_records IS
    'Records whose candidate pairs the run compared: every record for full and frozen runs, the new, changed and deleted ones for an incremental run';
COMMENT ON COLUMN ptl.link_run.blocking_rules IS
    'The blocking rules the run used (ptl_internal.link_rules_signature): a later run with other rules links every record again';
COMMENT ON COLUMN ptl.link_run.expected_precision IS
    'The model''s own estimate of the share of its links by weight that are true: the mean posterior of those links (docs/linkage.md, "Thresholds")';
COMMENT ON COLUMN ptl.link_run.expected_recall IS
    'The model''s own estimate of the share of the true pairs among those compared (by weight) that it linked: posteriors linked over all posteriors; true pairs never compared are outside it';
COMMENT ON COLUMN ptl.link_run.untrained_fields IS
    'Fields whose m the run could not estimate, because no pair of a blocking rule that does not name them carries them (e.g. no record has one): their m is the starting value, and their weight says little; NULL when every field was trained or the run did not estimate the model';
COMMENT ON COLUMN ptl.link_run.unblocked_records IS
    'Of the records compared, those no blocking rule gave a key (compared with no other record: only a reviewer can link them)';

-- What each blocking rule did in a run.
CREATE TABLE ptl.link_run_rule (
    run_id          bigint NOT NULL REFERENCES ptl.link_run ON DELETE CASCADE,
    rule_no         int NOT NULL,
    keyed_records   bigint NOT NULL,
    candidate_pairs bigint NOT NULL,
    only_this_rule  bigint NOT NULL,
    pair_share      float8,
    skipped_blocks  bigint NOT NULL,
    PRIMARY KEY (run_id, rule_no)
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_run_rule', '');
COMMENT ON TABLE ptl.link_run_rule IS
    'Each blocking rule in each linkage run: records it gave a key, pairs it produced and their share of the pairs compared, blocks it skipped';
COMMENT ON COLUMN ptl.link_run_rule.run_id IS 'Linkage run';
COMMENT ON COLUMN ptl.link_run_rule.rule_no IS 'Blocking rule (ptl.link_blocking_rule)';
COMMENT ON COLUMN ptl.link_run_rule.keyed_records IS 'Records of the run the rule gave a key (its fields present)';
COMMENT ON COLUMN ptl.link_run_rule.candidate_pairs IS 'Pairs compared that the rule produced (a pair several rules produce counts for each)';
COMMENT ON COLUMN ptl.link_run_rule.only_this_rule IS 'Of those, pairs no other rule produced: what the rule adds';
COMMENT ON COLUMN ptl.link_run_rule.pair_share IS 'candidate_pairs over all the pairs the run compared';
COMMENT ON COLUMN ptl.link_run_rule.skipped_blocks IS 'The rule''s blocks over max_block_size, not compared';

-- Whether the stored model and keys are the ones a run with today's
-- settings and rules would use: not when the settings changed since the
-- full run that estimated the model (or in this transaction: now() is when
-- it began), nor when the blocking rules differ from that run's.
CREATE FUNCTION ptl_internal.link_model_stale() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT NOT EXISTS (SELECT 1 FROM ptl.link_run r WHERE r.kind = 'full')
           OR EXISTS (SELECT 1 FROM ptl.link_setting ls
                      WHERE ls.set_at >= least((SELECT max(r.started_at) FROM ptl.link_run r WHERE r.kind = 'full'), now()))
           OR (SELECT r.blocking_rules FROM ptl.link_run r WHERE r.kind = 'full' ORDER BY r.run_id DESC LIMIT 1)
              IS DISTINCT FROM ptl_internal.link_rules_signature();
END;
COMMENT ON FUNCTION ptl_internal.link_model_stale() IS
    'True when no full linkage run exists, or the link settings or blocking rules changed since the last one: only a full run may link then';

CREATE TABLE ptl.link_parameter (
    field_no    int NOT NULL,
    level       int NOT NULL,
    m           float8 NOT NULL CHECK (m > 0 AND m <= 1),
    u           float8 NOT NULL CHECK (u > 0 AND u <= 1),
    weight      float8 GENERATED ALWAYS AS (ln(m / u) / ln(2.0::float8)) STORED,
    PRIMARY KEY (field_no, level),
    FOREIGN KEY (field_no, level) REFERENCES ptl.link_level (field_no, level)
);
COMMENT ON TABLE ptl.link_parameter IS 'The Fellegi-Sunter model the last run estimated: m and u of each field level';
COMMENT ON COLUMN ptl.link_parameter.field_no IS 'Field (ptl.link_level)';
COMMENT ON COLUMN ptl.link_parameter.level IS 'Level (1 exact ... last different)';
COMMENT ON COLUMN ptl.link_parameter.m IS 'Chance of this level when the records are the same person (EM)';
COMMENT ON COLUMN ptl.link_parameter.u IS 'Chance of this level when they are not (random pairs)';
COMMENT ON COLUMN ptl.link_parameter.weight IS 'Match weight of the level, log2(m / u)';

CREATE TABLE ptl.link_term_frequency (
    field_no    int NOT NULL CHECK (field_no IN (1, 2)),
    value       text NOT NULL,
    frequency   float8 NOT NULL CHECK (frequency > 0 AND frequency <= 1),
    PRIMARY KEY (field_no, value)
);
COMMENT ON TABLE ptl.link_term_frequency IS
    'Share of records with each given and family name: an exact match on a common name weighs log2(m / frequency), less than on a rare one';
COMMENT ON COLUMN ptl.link_term_frequency.field_no IS '1 given name, 2 family name';
COMMENT ON COLUMN ptl.link_term_frequency.value IS 'Normalised name';
COMMENT ON COLUMN ptl.link_term_frequency.frequency IS 'Share of records carrying it';

-- Pairs worth keeping: links, conflicts, refusals and review candidates.
CREATE TABLE ptl.link_pair (
    patient_a       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    patient_b       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    rules           int NOT NULL,
    gamma           bigint NOT NULL,
    match_weight    float8 NOT NULL,
    match_probability float8 NOT NULL,
    method          text NOT NULL CHECK (method IN ('nhs_number', 'probabilistic', 'reviewer', 'conflict', 'review')),
    outcome         text CHECK (outcome IN ('linked', 'already', 'refused_nhs_number', 'refused_size')),
    PRIMARY KEY (patient_a, patient_b),
    CHECK (patient_a < patient_b)
);
CREATE INDEX link_pair_b_idx ON ptl.link_pair (patient_b);
COMMENT ON TABLE ptl.link_pair IS
    'Record pairs of the last linkage run that were linked, refused, in conflict or left for review';
COMMENT ON COLUMN ptl.link_pair.patient_a IS 'One record (the smaller id)';
COMMENT ON COLUMN ptl.link_pair.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_pair.rules IS 'Blocking rules that produced the pair (bit n-1 = rule n)';
COMMENT ON COLUMN ptl.link_pair.gamma IS 'Comparison vector (ptl.link_compare)';
COMMENT ON COLUMN ptl.link_pair.match_weight IS 'Match weight: prior plus every field''s weight, names adjusted for frequency';
COMMENT ON COLUMN ptl.link_pair.match_probability IS 'Probability the records are one person, 2^w / (1 + 2^w)';
COMMENT ON COLUMN ptl.link_pair.method IS
    'nhs_number (identical valid numbers), probabilistic (at or above the link probability), reviewer (a clerical decision), conflict (identical numbers, contradicting details: not linked) or review (below the link probability)';
COMMENT ON COLUMN ptl.link_pair.outcome IS 'For links: what clustering did (linked, already joined, or refused by the chaining guard and why)';

-- Clerical decisions: a reviewer's match joins two records whatever their
-- weight, a non-match keeps that pair from linking.
CREATE TABLE ptl.link_decision (
    patient_a       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    patient_b       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    decision        text NOT NULL CHECK (decision IN ('match', 'non_match')),
    decided_by      text NOT NULL DEFAULT current_user,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    note            text,
    PRIMARY KEY (patient_a, patient_b),
    CHECK (patient_a < patient_b),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT link_decision_decided_at_in_range CHECK (ptl.in_storage_range(decided_at))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_decision', '');
COMMENT ON TABLE ptl.link_decision IS
    'Clerical review decisions on record pairs, applied by every later linkage run';
COMMENT ON COLUMN ptl.link_decision.patient_a IS 'One record (the smaller id)';
COMMENT ON COLUMN ptl.link_decision.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_decision.decision IS 'match or non_match';
COMMENT ON COLUMN ptl.link_decision.decided_by IS 'Reviewer';
COMMENT ON COLUMN ptl.link_decision.decided_at IS 'When';
COMMENT ON COLUMN ptl.link_decision.note IS 'Why';

CREATE SEQUENCE ptl.person_id_seq;
SELECT pg_catalog.pg_extension_config_dump('ptl.person_id_seq', '');
COMMENT ON SEQUENCE ptl.person_id_seq IS 'ICS person numbers';

CREATE TABLE ptl.person_link (
    patient_id      bigint PRIMARY KEY REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    person_id       bigint NOT NULL,
    method          text NOT NULL CHECK (method IN ('nhs_number', 'probabilistic', 'reviewer', 'single')),
    match_weight    float8,
    linked_at       timestamptz NOT NULL DEFAULT now(),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT person_link_linked_at_in_range CHECK (ptl.in_storage_range(linked_at))
);
CREATE INDEX person_link_person_idx ON ptl.person_link (person_id);
SELECT pg_catalog.pg_extension_config_dump('ptl.person_link', '');
COMMENT ON TABLE ptl.person_link IS
    'The ICS person of every patient record: person numbers stay stable across runs while their records stay together';
COMMENT ON COLUMN ptl.person_link.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.person_link.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person_link.method IS
    'Strongest link joining the record to its person: nhs_number, reviewer, probabilistic, or single (no other record)';
COMMENT ON COLUMN ptl.person_link.match_weight IS 'Weight of that link (NULL for single)';
COMMENT ON COLUMN ptl.person_link.linked_at IS 'When a run gave the record this person, method and weight (a later run that finds them unchanged keeps the time)';

-- What the last linkage run saw of each record: an incremental run finds the
-- records new, changed or deleted since then by comparing with it (no
-- foreign key: a deleted record's row stays until the next run has seen it).
-- (fillfactor: room for a run's new person numbers as heap-only updates)
-- Unlogged: it is derived from the patient records by every run, and a day's
-- first write to each of its thirty indexes' pages after a checkpoint logged
-- the whole page (250 MB of WAL and 2.2 s for 10,000 changed records at a
-- million, 0.8 s without).  A crash, or a standby promoted, empties it; the
-- next run then links every record with the stored model (ptl.refresh), and
-- ptl.link_persons_incremental refuses to run on it.
CREATE UNLOGGED TABLE ptl.link_record (
    patient_id          bigint PRIMARY KEY,
    fields              ptl.link_fields NOT NULL,
    nhs_valid           text,
    decisions           text,
    person_id           bigint,
    keys                bigint[] NOT NULL
) WITH (fillfactor = 80);
-- Records sharing a key, one B-tree per rule: rule n's block of key k is
-- "keys[n] = k", read by link_record_key_<n>_idx.  A day's run reads the
-- blocks of its changed records' keys; one GIN index over the whole array
-- cost a bitmap scan and a heap recheck per key (a day of 10,000 changed
-- records at a million: 13.3 s with it, 9.3 s with these), and was
-- larger.  Rule numbers run 1 to 30 (ptl.link_blocking_rule); an index
-- whose rule does not exist is empty.  Each key expression has statistics
-- too: the planner does not read a partial index's statistics for the
-- whole table, so without them it took a block for 0.5% of the records and
-- read each by a bitmap scan (a day at a million records: 3.9 s reading its
-- blocks, 3.1 s by plain index scans with them).
DO $$ -- link_record_key_<n>_idx and _stat, n = 1 to 30
BEGIN
    FOR n IN 1..30 LOOP
        EXECUTE format('CREATE INDEX link_record_key_%1$s_idx ON ptl.link_record ((keys[%1$s])) WHERE keys[%1$s] IS NOT NULL', n);
        EXECUTE format('CREATE STATISTICS ptl.link_record_key_%1$s_stat ON (keys[%1$s]) FROM ptl.link_record', n);
        EXECUTE format('COMMENT ON STATISTICS ptl.link_record_key_%1$s_stat IS %2$L', n,
                       format('How often each key of blocking rule %s occurs (keys[%s]), for the planner: it does not read a partial index''s statistics for the whole table', n, n));
    END LOOP;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('ptl.link_record', '');
COMMENT ON TABLE ptl.link_record IS
    'Each patient record as the last linkage run saw it (normalised fields, blocking keys, reviewer decisions, person): an incremental run compares only what changed since';
COMMENT ON COLUMN ptl.link_record.patient_id IS 'Patient record (kept after the record is deleted, until the next run)';
COMMENT ON COLUMN ptl.link_record.fields IS 'The record as linkage compared it (ptl_internal.link_fields_of)';
COMMENT ON COLUMN ptl.link_record.nhs_valid IS 'Valid NHS number digits (the chaining guard''s key), NULL when none';
COMMENT ON COLUMN ptl.link_record.decisions IS 'The reviewer decisions on the record''s pairs the run applied (other record:decision, comma separated), NULL when none';
COMMENT ON COLUMN ptl.link_record.person_id IS 'ICS person the run gave the record';
COMMENT ON COLUMN ptl.link_record.keys IS
    'Blocking keys: element n is rule n''s key (ptl_internal.link_keys_sql), NULL where the rule gives none or does not exist';

-- The records an incremental run looks at: statement triggers on the patient
-- records and the reviewers' decisions note which records changed, so a
-- daily run reads the day's changes, not every record of the ICS.  Each run
-- takes (deletes) the notes it sees; one committed later stays for the next.
-- A record noted but unchanged costs one comparison with ptl.link_record.
CREATE TABLE ptl.link_pending (
    patient_id  bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_pending', '');
COMMENT ON TABLE ptl.link_pending IS
    'Patient records inserted, updated or deleted, or given a reviewer decision, since the last linkage run (filled by triggers, taken by each run)';
COMMENT ON COLUMN ptl.link_pending.patient_id IS 'Patient record (repeats allowed)';

CREATE FUNCTION ptl_internal.note_link_pending() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- every record the last run saw (a truncated decision table: those with a decision)
        INSERT INTO ptl.link_pending (patient_id)
        SELECT r.patient_id FROM ptl.link_record r
        WHERE TG_TABLE_NAME = 'patient' OR r.decisions IS NOT NULL;
    ELSIF TG_TABLE_NAME = 'link_decision' THEN
        INSERT INTO ptl.link_pending (patient_id)
        SELECT c.patient_a FROM changed_rows c UNION SELECT c.patient_b FROM changed_rows c;
    ELSE
        INSERT INTO ptl.link_pending (patient_id) SELECT DISTINCT c.patient_id FROM changed_rows c;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.note_link_pending() IS
    'Trigger: notes the patient records of inserted, updated or deleted patient rows or reviewer decisions for the next linkage run (ptl.link_pending)';
CREATE TRIGGER patient_inserted_link AFTER INSERT ON ptl.patient
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER patient_updated_link AFTER UPDATE ON ptl.patient
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER patient_deleted_link AFTER DELETE ON ptl.patient
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER patient_truncated_link AFTER TRUNCATE ON ptl.patient
    FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER link_decision_inserted AFTER INSERT ON ptl.link_decision
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER link_decision_updated AFTER UPDATE ON ptl.link_decision
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
-- (a decision moved to another pair: the pair it left as well)
CREATE TRIGGER link_decision_updated_old AFTER UPDATE ON ptl.link_decision
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER link_decision_deleted AFTER DELETE ON ptl.link_decision
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();
CREATE TRIGGER link_decision_truncated AFTER TRUNCATE ON ptl.link_decision
    FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.note_link_pending();

-- ---------------------------------------------------------------------------
-- The run
-- ---------------------------------------------------------------------------

-- m and u arrays (160 elements, field f level l at f*16+l+1) from rows.
CREATE FUNCTION ptl_internal.link_parameter_array(levels int[], probabilities float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT array_agg(coalesce(x.p, 1e-6) ORDER BY s.i)
    FROM generate_series(0, 159) AS s (i)
    LEFT JOIN unnest(levels, probabilities) AS x (slot, p) ON x.slot = s.i;
END;
COMMENT ON FUNCTION ptl_internal.link_parameter_array(int[], float8[]) IS
    'Internal: slots (f*16+l) and probabilities into the 160-element array ptl.link_em takes (other slots 1e-6)';

-- The blocking keys of a record, as the select-list expression a run
-- evaluates over the fields of ptl.link_fields (as columns): an array whose
-- element n is rule n's key hashed to bigint with seed n (grouping integers
-- is several times faster than collating text, and a collision only adds a
-- pair to compare), NULL where the rule gives none or does not exist.  Full
-- and incremental runs both take the keys from here.
CREATE FUNCTION ptl_internal.link_keys_sql() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'ARRAY[' || string_agg(CASE WHEN r.rule_no IS NULL THEN 'NULL::bigint'
                                       ELSE format('hashtextextended((%s)::text, %s)', r.key_expression, n) END,
                                  ', ' ORDER BY n) || ']::bigint[]'
    FROM generate_series(1, (SELECT coalesce(max(x.rule_no), 1) FROM ptl.link_blocking_rule x)) AS n
    LEFT JOIN ptl.link_blocking_rule r ON r.rule_no = n;
END;
COMMENT ON FUNCTION ptl_internal.link_keys_sql() IS
    'The blocking keys as an expression over the columns of ptl.link_fields: element n is rule n''s key, hashed (ptl.link_blocking_rule)';

-- One record's blocking keys now, as a run would compute them (ISO dates, as
-- the runs read them).  For ptl.link_explain: it must not read
-- ptl.link_record, which is unlogged, so a standby cannot read it.
CREATE FUNCTION ptl_internal.link_keys_of(f ptl.link_fields) RETURNS bigint[]
LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, ptl, pg_temp
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    keys bigint[];
BEGIN
    EXECUTE format('SELECT %s FROM (SELECT ($1).*) AS k', ptl_internal.link_keys_sql()) INTO keys USING f;
    RETURN keys;
END
$$;
COMMENT ON FUNCTION ptl_internal.link_keys_of(ptl.link_fields) IS
    'One record''s blocking keys from its normalised fields (ptl_internal.link_keys_sql), as a linkage run computes them';

-- A block's sorted neighbourhood (Hernandez and Stolfo, "The merge/purge
-- problem for large databases", SIGMOD 1995, within each block): its records
-- in name order, each compared with the next block_window.  A rule's blocks
-- grow with the ICS when its key has a fixed range (a birthday, a Soundex
-- code and an initial), so comparing them whole grows as the square of the
-- records; the window keeps each record's pairs per rule at block_window.
-- Names first: the slips the rules find elsewhere (a date of birth, a
-- married name, a year) leave a record beside its partner, and a given
-- name misspelt past its first letters is rule 7's and 11's.  The
-- incremental run (a window over the blocks a change touched) orders by
-- this text; the full run (ptl_internal.link_candidates, every block at
-- once) sorts in C in the same order, and test/pgtap/link_candidates.sql
-- checks that the two agree pair for pair.
CREATE FUNCTION ptl_internal.link_name_order_sql() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'ORDER BY (f).given_name COLLATE "C", (f).family_name COLLATE "C", (f).date_of_birth, patient_id';
COMMENT ON FUNCTION ptl_internal.link_name_order_sql() IS
    'Internal to linkage: the name order of a block''s sorted neighbourhood (given name, family name, date of birth, patient id), over rows with columns f (ptl.link_fields) and patient_id';

CREATE FUNCTION ptl_internal.link_window_sql(block_window int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ptl_internal.link_name_order_sql()
       || format(' ROWS BETWEEN 1 FOLLOWING AND %s FOLLOWING', block_window);
COMMENT ON FUNCTION ptl_internal.link_window_sql(int) IS
    'Internal to linkage: the window clause of a block''s sorted neighbourhood, the next block_window records in name order (ptl_internal.link_name_order_sql)';

CREATE FUNCTION ptl_internal.link_nhs_valid(nhs ptl.nhs_number) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(nhs::text, '[^0-9]', '', 'g');
COMMENT ON FUNCTION ptl_internal.link_nhs_valid(ptl.nhs_number) IS
    'Digits of a valid NHS number (NULL when none): the key of the chaining guard';

-- The reviewer decisions on each record's pairs, as one text per record.
CREATE FUNCTION ptl.link_decisions_by_record()
RETURNS TABLE (patient_id bigint, decisions text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT x.patient_id, string_agg(x.other || ':' || x.decision, ',' ORDER BY x.other)
    FROM (SELECT d.patient_a AS patient_id, d.patient_b AS other, d.decision FROM ptl.link_decision d
          UNION ALL
          SELECT d.patient_b, d.patient_a, d.decision FROM ptl.link_decision d) x
    GROUP BY x.patient_id
$$;
COMMENT ON FUNCTION ptl.link_decisions_by_record() IS
    'Internal: every record with a reviewer decision, and its decisions (other record:decision, comma separated), as ptl.link_record keeps them';

-- The model a run that does not estimate one uses: the last run's.
CREATE FUNCTION ptl_internal.link_stored_model() RETURNS ptl.link_run
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    last ptl.link_run;
BEGIN
    SELECT r.* INTO last FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1;
    IF last.run_id IS NULL OR NOT EXISTS (SELECT 1 FROM ptl.link_parameter) THEN
        RAISE EXCEPTION 'no stored linkage model: no full linkage run has estimated m, u and the prior yet'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT ptl.link_persons() first: it estimates the model and links every record.';
    END IF;
    RETURN last;
END
$$;
COMMENT ON FUNCTION ptl_internal.link_stored_model() IS
    'Internal: the last linkage run (its prior weight is the model''s), or an error when no full run has estimated a model (ptl.link_parameter)';

-- Look-alikes, by their comparison vector, both records stating sex: given
-- names that differ (both present, not a slip; one the initial or a part of
-- the other is no better: James and John share J) with the same family name
-- and date of birth (twins), or with another date of birth too (people who
-- share a home); or the same family name and date of birth, sex differs,
-- one given name missing (twins told apart only by sex).  Everything else
-- about them agrees, so their weight is high though they are two people.
-- A data set that records no sex (FEBRL) is outside the rule: there a given
-- name that differs is as often a keying error (docs/linkage.md,
-- "Thresholds and look-alikes").
CREATE FUNCTION ptl_internal.link_look_alike(gamma bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (gamma >> 16) & 15 <> 0
       AND ((gamma >> 4) & 15 IN (4, 5, 8)
            AND ((gamma >> 8) & 15 = 1 AND (gamma >> 12) & 15 = 1 OR (gamma >> 12) & 15 = 4)
            OR (gamma >> 4) & 15 = 0 AND (gamma >> 16) & 15 = 2 AND (gamma >> 8) & 15 = 1 AND (gamma >> 12) & 15 = 1);
COMMENT ON FUNCTION ptl_internal.link_look_alike(bigint) IS
    'Whether a comparison vector is that of look-alikes (twins, people who share a home): linked only by a reviewer while ptl.link_setting.look_alike_review';

-- Scores the candidate pairs in pg_temp.link_cand with the model in
-- ptl.link_parameter, ptl.link_term_frequency and the given prior weight,
-- and applies the NHS-number rules and reviewers' decisions: pg_temp.link_edge
-- (pairs with a method).  Full and incremental runs score through this.
CREATE FUNCTION ptl_internal.link_score(prior_weight float8, touched_only boolean) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    s ptl.link_setting := ptl_internal.link_setting_in_force();
    link_weight float8 := (ln(s.link_probability / (1 - s.link_probability)) / ln(2.0::float8));
    review_weight float8 := (ln(s.review_probability / (1 - s.review_probability)) / ln(2.0::float8));
    n bigint;
BEGIN
    -- Identical valid NHS numbers link unless the record flatly contradicts
    -- them: the date of birth and both names all different (each present).
    CREATE TEMP TABLE link_edge ON COMMIT DROP AS
    WITH scored AS (
        SELECT c.a, c.b, c.rules, c.gamma, c.same_nhs, c.given_a, c.given_b,
               link_score.prior_weight + pw.weight
               + CASE WHEN (c.gamma >> 4) & 15 = 1
                      THEN (ln(pw.u_given / greatest(tg.frequency, 1e-9)) / ln(2.0::float8)) ELSE 0 END
               + CASE WHEN (c.gamma >> 8) & 15 = 1
                      THEN (ln(pw.u_family / greatest(tf.frequency, 1e-9)) / ln(2.0::float8)) ELSE 0 END
                 AS w
        FROM pg_temp.link_cand c
        -- (postcode, address, town and telephone say the same thing, where
        -- someone lives, a landline being a household's: of those that
        -- agree, only the strongest counts, so that a household is not
        -- counted as several pieces of evidence; those that disagree all
        -- count)
        JOIN (SELECT g.gamma,
                     sum(p.weight) FILTER (WHERE p.level = (g.gamma >> (4 * p.field_no)) & 15)
                     - coalesce(sum(p.weight) FILTER (WHERE p.field_no IN (5, 6, 7, 8) AND p.weight > 0
                                                        AND p.level = (g.gamma >> (4 * p.field_no)) & 15)
                                - max(p.weight) FILTER (WHERE p.field_no IN (5, 6, 7, 8) AND p.weight > 0
                                                          AND p.level = (g.gamma >> (4 * p.field_no)) & 15), 0) AS weight,
                     max(p.u) FILTER (WHERE p.field_no = 1 AND p.level = 1) AS u_given,
                     max(p.u) FILTER (WHERE p.field_no = 2 AND p.level = 1) AS u_family
              FROM (SELECT DISTINCT gamma FROM pg_temp.link_cand) g CROSS JOIN ptl.link_parameter p
              GROUP BY g.gamma) pw ON pw.gamma = c.gamma
        LEFT JOIN ptl.link_term_frequency tg ON tg.field_no = 1 AND tg.value = c.given_a
        LEFT JOIN ptl.link_term_frequency tf ON tf.field_no = 2 AND tf.value = c.family_a)
    SELECT sc.a, sc.b, sc.rules, sc.gamma, sc.w,
           CASE WHEN d.decision = 'match' THEN 'reviewer'
                WHEN sc.same_nhs AND (sc.gamma >> 12) & 15 = 4 AND (sc.gamma >> 4) & 15 = 5
                     AND (sc.gamma >> 8) & 15 IN (5, 7) THEN 'conflict'
                WHEN sc.same_nhs THEN 'nhs_number'
                WHEN d.decision = 'non_match' THEN NULL
                -- look-alikes (ptl_internal.link_look_alike) are never
                -- linked without a reviewer, unless the given names are one
                -- another's nickname
                WHEN s.look_alike_review AND sc.w >= review_weight AND ptl_internal.link_look_alike(sc.gamma)
                     AND NOT EXISTS (SELECT 1 FROM ptl.link_nickname k
                                     WHERE (k.given_name, k.nickname) IN ((sc.given_a, sc.given_b), (sc.given_b, sc.given_a)))
                     THEN 'review'
                WHEN sc.w >= link_weight THEN 'probabilistic'
                WHEN sc.w >= review_weight THEN 'review' END AS method
    FROM scored sc
    LEFT JOIN ptl.link_decision d ON d.patient_a = sc.a AND d.patient_b = sc.b;
    -- A reviewer's match on a pair no blocking rule produced still counts
    -- (an incremental run: those touching a changed record or a pair it
    -- looked at again; the others are stored already).
    IF touched_only THEN
        INSERT INTO pg_temp.link_edge (a, b, rules, gamma, w, method)
        SELECT d.patient_a, d.patient_b, 0, ptl.link_compare(ra.f, rb.f), 'Infinity', 'reviewer'
        FROM ptl.link_decision d
        JOIN pg_temp.link_rec ra ON ra.patient_id = d.patient_a
        JOIN pg_temp.link_rec rb ON rb.patient_id = d.patient_b
        WHERE d.decision = 'match'
          AND NOT EXISTS (SELECT 1 FROM pg_temp.link_edge e WHERE e.a = d.patient_a AND e.b = d.patient_b)
          AND (EXISTS (SELECT 1 FROM pg_temp.link_changed c WHERE c.patient_id IN (d.patient_a, d.patient_b))
               OR EXISTS (SELECT 1 FROM pg_temp.link_touched t WHERE t.a = d.patient_a AND t.b = d.patient_b));
    ELSE
        INSERT INTO pg_temp.link_edge (a, b, rules, gamma, w, method)
        SELECT d.patient_a, d.patient_b, 0, ptl.link_compare(ra.f, rb.f), 'Infinity', 'reviewer'
        FROM ptl.link_decision d
        JOIN pg_temp.link_rec ra ON ra.patient_id = d.patient_a
        JOIN pg_temp.link_rec rb ON rb.patient_id = d.patient_b
        WHERE d.decision = 'match'
          AND NOT EXISTS (SELECT 1 FROM pg_temp.link_edge e WHERE e.a = d.patient_a AND e.b = d.patient_b);
    END IF;
    -- What the model expects of its decisions on the pairs it scored by
    -- weight (each pair's posterior p = 2^w / (1 + 2^w)): the share of its
    -- links that are true (mean p of the links), and the share of the true
    -- pairs among those compared that it linked (sum of p linked over sum of
    -- p); pairs no blocking rule produced are outside both.
    DROP TABLE IF EXISTS pg_temp.link_expected;
    CREATE TEMP TABLE link_expected ON COMMIT DROP AS
    SELECT avg(e.p) FILTER (WHERE e.method = 'probabilistic') AS expected_precision,
           sum(e.p) FILTER (WHERE e.method = 'probabilistic') / nullif(sum(e.p), 0) AS expected_recall
    FROM (SELECT x.method, 1 / (1 + 2 ^ (-least(x.w, 1000))) AS p
          FROM pg_temp.link_edge x WHERE x.method IS DISTINCT FROM 'reviewer' AND x.method IS DISTINCT FROM 'nhs_number'
            AND x.method IS DISTINCT FROM 'conflict') e;
    DELETE FROM pg_temp.link_edge WHERE method IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE pg_temp.link_edge;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl_internal.link_score(float8, boolean) IS
    'Internal to the linkage runs: scores pg_temp.link_cand with the stored m, u and name frequencies and the given prior, applies the NHS-number rules and ptl.link_decision, into pg_temp.link_edge; touched_only: reviewers'' matches only on pairs touching pg_temp.link_changed or in pg_temp.link_touched';

-- Persons of the records in pg_temp.link_scope (patient_id, nhs_valid) from
-- the pairs in pg_temp.link_edge (every pair touching them: links by
-- union-find, the rest stored as they are), and their stable numbers;
-- writes ptl.link_pair and ptl.person_link for those records (all rows when
-- not scoped).  Full and incremental runs cluster through this.
CREATE FUNCTION ptl_internal.link_cluster(scoped boolean) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    s ptl.link_setting := ptl_internal.link_setting_in_force();
BEGIN
    -- Scoped, the statements below read the records of pg_temp.link_scope
    -- by index, "= ANY (ARRAY(SELECT ...))": given the ids as a value whose
    -- size it knew, the planner scanned every person link instead (0.3 s of
    -- a day at a million records).
    -- Union-find over the links, strongest first (identical NHS numbers and
    -- reviewers' matches before any probabilistic link; ties in record order).
    CREATE TEMP TABLE link_outcome ON COMMIT DROP AS
    SELECT o.*
    FROM (SELECT array_agg(a ORDER BY a, b) AS l, array_agg(b ORDER BY a, b) AS r,
                 array_agg(CASE WHEN method IN ('nhs_number', 'reviewer') THEN 'Infinity' ELSE w END ORDER BY a, b) AS w
          FROM pg_temp.link_edge WHERE method IN ('nhs_number', 'reviewer', 'probabilistic')) e,
         (SELECT array_agg(patient_id ORDER BY patient_id) AS ids,
                 array_agg(nhs_valid ORDER BY patient_id) AS keys
          FROM pg_temp.link_scope
          WHERE patient_id IN (SELECT a FROM pg_temp.link_edge UNION SELECT b FROM pg_temp.link_edge)) rec,
         ptl.link_clusters(rec.ids, rec.keys, e.l, e.r, e.w, s.max_cluster_size) o
    WHERE e.l IS NOT NULL;

    -- The pairs as this run scored them.  Only the rows that differ are
    -- written: a weekly relink finds almost every pair as it was, and
    -- rewriting them all (with their indexes) was most of its writing; a
    -- day finds most pairs of the persons it clusters again as they were.
    CREATE TEMP TABLE link_pair_now ON COMMIT DROP AS
    SELECT e.a AS patient_a, e.b AS patient_b, e.rules, e.gamma, e.w AS match_weight,
           CASE WHEN e.w = 'Infinity' THEN 1 ELSE 1 - 1 / (1 + power(2::float8, least(e.w, 1000))) END AS match_probability,
           e.method, o.outcome
    FROM pg_temp.link_edge e
    LEFT JOIN pg_temp.link_outcome o ON o.left_id = e.a AND o.right_id = e.b;
    DELETE FROM ptl.link_pair lp
    WHERE (NOT scoped OR lp.patient_a = ANY (ARRAY(SELECT patient_id FROM pg_temp.link_scope))
                      OR lp.patient_b = ANY (ARRAY(SELECT patient_id FROM pg_temp.link_scope)))
      AND NOT EXISTS (SELECT 1 FROM pg_temp.link_pair_now n WHERE (n.patient_a, n.patient_b) = (lp.patient_a, lp.patient_b));
    INSERT INTO ptl.link_pair AS lp SELECT * FROM pg_temp.link_pair_now
    ON CONFLICT (patient_a, patient_b) DO UPDATE
    SET rules = excluded.rules, gamma = excluded.gamma, match_weight = excluded.match_weight,
        match_probability = excluded.match_probability, method = excluded.method, outcome = excluded.outcome
    WHERE (lp.rules, lp.gamma, lp.match_weight, lp.match_probability, lp.method, lp.outcome)
          IS DISTINCT FROM (excluded.rules, excluded.gamma, excluded.match_weight, excluded.match_probability,
                            excluded.method, excluded.outcome);

    -- Stable person numbers: a cluster keeps the person number most of its
    -- records had (the larger cluster wins a split); others get new ones.
    CREATE TEMP TABLE link_member ON COMMIT DROP AS
    SELECT r.patient_id, coalesce(c.cluster, r.patient_id) AS cluster
    FROM pg_temp.link_scope r
    LEFT JOIN (SELECT left_id AS patient_id, min(left_cluster) AS cluster FROM pg_temp.link_outcome GROUP BY 1
               UNION
               SELECT right_id, min(right_cluster) FROM pg_temp.link_outcome GROUP BY 1) c USING (patient_id);
    --    (ptl_internal.link_vote; in SQL, its groupings and two orderings of
    --    a million records took about 4.5 s of a full run)
    CREATE TEMP TABLE link_person ON COMMIT DROP AS
    SELECT v.cluster, coalesce(v.person_id, nextval('ptl.person_id_seq')) AS person_id
    FROM ptl_internal.link_vote(
        'SELECT m.cluster, pl.person_id FROM pg_temp.link_member m
         LEFT JOIN ptl.person_link pl ON pl.patient_id = m.patient_id'
        || CASE WHEN scoped THEN ' AND pl.patient_id = ANY (ARRAY(SELECT patient_id FROM pg_temp.link_scope))' ELSE '' END) v;

    CREATE TEMP TABLE link_person_now ON COMMIT DROP AS
    SELECT m.patient_id, p.person_id, coalesce(strongest.method, 'single') AS method, strongest.w AS match_weight
    FROM pg_temp.link_member m
    JOIN pg_temp.link_person p USING (cluster)
    LEFT JOIN (
        SELECT DISTINCT ON (x.patient_id) x.patient_id, x.method, x.w
        FROM (SELECT e.a AS patient_id, e.method, e.w FROM pg_temp.link_edge e
              JOIN pg_temp.link_outcome o ON o.left_id = e.a AND o.right_id = e.b AND o.outcome = 'linked'
              UNION ALL
              SELECT e.b, e.method, e.w FROM pg_temp.link_edge e
              JOIN pg_temp.link_outcome o ON o.left_id = e.a AND o.right_id = e.b AND o.outcome = 'linked') x
        ORDER BY x.patient_id, x.method = 'nhs_number' DESC, x.method = 'reviewer' DESC, x.w DESC
        ) strongest USING (patient_id);
    -- (only the records whose person or link changed: linked_at stays the
    -- time of the run that made the link, in a full run and in a day's)
    DELETE FROM ptl.person_link pl
    WHERE (NOT scoped OR pl.patient_id = ANY (ARRAY(SELECT patient_id FROM pg_temp.link_scope)))
      AND NOT EXISTS (SELECT 1 FROM pg_temp.link_person_now n WHERE n.patient_id = pl.patient_id);
    INSERT INTO ptl.person_link AS pl (patient_id, person_id, method, match_weight, linked_at)
    SELECT n.patient_id, n.person_id, n.method, n.match_weight, clock_timestamp()
    FROM pg_temp.link_person_now n
    -- (one join finds the rows that differ, rather than a conflict per record)
    LEFT JOIN ptl.person_link was ON was.patient_id = n.patient_id
                                  AND (NOT scoped OR was.patient_id = ANY (ARRAY(SELECT patient_id FROM pg_temp.link_scope)))
    WHERE (was.person_id, was.method, was.match_weight) IS DISTINCT FROM (n.person_id, n.method, n.match_weight)
    ON CONFLICT (patient_id) DO UPDATE
    SET person_id = excluded.person_id, method = excluded.method, match_weight = excluded.match_weight,
        linked_at = excluded.linked_at
    WHERE (pl.person_id, pl.method, pl.match_weight)
          IS DISTINCT FROM (excluded.person_id, excluded.method, excluded.match_weight);
END
$$;
COMMENT ON FUNCTION ptl_internal.link_cluster(boolean) IS
    'Internal to the linkage runs: union-find with the chaining guard over pg_temp.link_edge for the records of pg_temp.link_scope, stable person numbers by vote; rewrites their ptl.link_pair and ptl.person_link rows (all rows when not scoped)';

-- What each blocking rule did in the run, into ptl.link_run_rule: from
-- pg_temp.link_rule_count (records keyed and blocks skipped, per rule) and
-- the pairs compared, pg_temp.link_cand.  Full and incremental runs both.
CREATE FUNCTION ptl_internal.link_run_rules(run_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    INSERT INTO ptl.link_run_rule (run_id, rule_no, keyed_records, candidate_pairs, only_this_rule, pair_share,
                                   skipped_blocks)
    SELECT link_run_rules.run_id, c.rule_no, c.keyed, coalesce(p.n, 0), coalesce(p.only, 0),
           coalesce(p.n, 0)::float8 / nullif((SELECT count(*) FROM pg_temp.link_cand), 0), c.skipped
    FROM pg_temp.link_rule_count c
    LEFT JOIN (SELECT r.rule_no, sum(lc.n) AS n, sum(lc.n) FILTER (WHERE lc.rules = 1 << (r.rule_no - 1)) AS only
               FROM (SELECT rules, count(*) AS n FROM pg_temp.link_cand GROUP BY rules) lc
               JOIN pg_temp.link_rule_count r ON lc.rules & (1 << (r.rule_no - 1)) <> 0
               GROUP BY r.rule_no) p USING (rule_no);
END
$$;
COMMENT ON FUNCTION ptl_internal.link_run_rules(bigint) IS
    'Internal to the linkage runs: what each blocking rule did (records keyed, pairs, pairs only it found, share, blocks skipped) into ptl.link_run_rule';

-- A full run links every record.  With retrain (ptl.link_persons()) it first
-- estimates the model: u from random pairs, m by EM per blocking rule, the
-- prior and the name frequencies.  Without (a frozen relink) it uses the
-- model the last run left, unchanged.
CREATE FUNCTION ptl.link_persons(retrain boolean) RETURNS ptl.link_run
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET work_mem = '256MB'
SET client_min_messages = warning
-- (a rule's date_of_birth::text is ISO whatever the session's style, so that
-- every run keys a record alike: ptl.link_record keeps the keys)
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    s ptl.link_setting := ptl_internal.link_setting_in_force();
    run ptl.link_run;
    stored ptl.link_run;
    rule record;
    u_arr float8[];
    m_start float8[];
    em record;
    lambda_candidates float8;
    prior float8;
BEGIN
    run.started_at := clock_timestamp();
    -- One run at a time; readers of person_link see the old persons until commit.
    LOCK TABLE ptl.person_link IN SHARE ROW EXCLUSIVE MODE;
    IF NOT retrain THEN
        stored := ptl_internal.link_stored_model();
    END IF;

    -- This run reads every record: the notes for the next one start now.
    DELETE FROM ptl.link_pending;

    -- 1. Normalised records and their blocking keys (ptl_internal.link_keys_sql).
    DROP TABLE IF EXISTS link_rec, link_cand, link_edge, link_block, link_block_pair, link_draw, link_u, link_m, link_pattern,
                         link_outcome, link_member, link_person, link_scope, link_changed, link_touched,
                         link_rule_count, link_pair_now, link_person_now;
    EXECUTE format($q$
        CREATE TEMP TABLE link_rec ON COMMIT DROP AS
        SELECT x.patient_id, x.f, x.nhs_valid, row_number() OVER (ORDER BY x.patient_id) AS rn, %s AS keys
        FROM (SELECT p.patient_id, ptl_internal.link_fields_of(p) AS f,
                     ptl_internal.link_nhs_valid(p.nhs_number) AS nhs_valid
              FROM ptl.patient p
              OFFSET 0) x  -- a fence: normalise each record once, not once per key
        CROSS JOIN LATERAL (SELECT (x.f).*) AS k$q$, ptl_internal.link_keys_sql());
    run.records := (SELECT count(*) FROM link_rec);
    run.unblocked_records := (SELECT count(*) FROM link_rec WHERE cardinality(array_remove(keys, NULL)) = 0);
    ANALYZE link_rec;

    -- 2. Candidate pairs: the union of the blocking rules, each pair with
    --    every rule it satisfies.  In a block, each record with the next
    --    block_window records in name order (the window of
    --    ptl_internal.link_window_sql, which the incremental run reads);
    --    blocks over max_block_size are skipped.  Each pair compared.
    CREATE TEMP TABLE link_cand ON COMMIT DROP AS
    SELECT * FROM ptl_internal.link_candidates(
        'SELECT patient_id, keys, f, nhs_valid FROM pg_temp.link_rec',
        s.block_window, s.max_block_size);
    -- (the rules' rows out: link_cand holds the pairs)
    CREATE TEMP TABLE link_rule_count (rule_no int PRIMARY KEY, keyed bigint, skipped bigint) ON COMMIT DROP;
    WITH counts AS (DELETE FROM link_cand WHERE a IS NULL RETURNING rule_no, keyed_records, skipped_blocks)
    INSERT INTO link_rule_count
    SELECT r.rule_no, coalesce(c.keyed_records, 0), coalesce(c.skipped_blocks, 0)
    FROM ptl.link_blocking_rule r LEFT JOIN counts c USING (rule_no);
    ALTER TABLE link_cand DROP COLUMN rule_no, DROP COLUMN keyed_records, DROP COLUMN skipped_blocks;
    run.skipped_blocks := (SELECT coalesce(sum(skipped), 0) FROM link_rule_count);
    run.candidate_pairs := (SELECT count(*) FROM link_cand);

    IF retrain THEN
        -- 3. u: the levels of random pairs (almost all different persons),
        --    drawn reproducibly from the record numbers.
        CREATE TEMP TABLE link_draw ON COMMIT DROP AS
        SELECT 1 + (abs(hashint8extended(i, 1)) % run.records) AS x,
               1 + (abs(hashint8extended(i, 2)) % run.records) AS y
        FROM generate_series(1, least(s.u_sample_pairs, run.records * (run.records - 1) / 2)) AS i;
        ANALYZE link_draw;
        CREATE TEMP TABLE link_u ON COMMIT DROP AS
        WITH g AS MATERIALIZED (
            SELECT ptl.link_compare(rx.f, ry.f) AS gamma, count(*) AS n
            FROM link_draw d JOIN link_rec rx ON rx.rn = d.x JOIN link_rec ry ON ry.rn = d.y
            WHERE d.x <> d.y
            GROUP BY 1),
        seen AS (
            SELECT lv.field_no, lv.level, coalesce(sum(g.n), 0) AS n
            FROM ptl.link_level lv
            LEFT JOIN g ON (g.gamma >> (4 * lv.field_no)) & 15 = lv.level
            WHERE lv.level > 0
            GROUP BY lv.field_no, lv.level)
        -- add-one smoothing: a level never seen at random is rare, not impossible
        SELECT field_no, level,
               (n + 1)::float8 / (sum(n) OVER (PARTITION BY field_no) + count(*) OVER (PARTITION BY field_no)) AS u
        FROM seen;
        run.u_sample_pairs := least(s.u_sample_pairs, run.records * (run.records - 1) / 2);
        SELECT ptl_internal.link_parameter_array(array_agg(field_no * 16 + level), array_agg(u)) INTO u_arr FROM link_u;

        -- Starting m: exact agreement likely among matches, the rest shared out.
        SELECT ptl_internal.link_parameter_array(array_agg(lv.field_no * 16 + lv.level),
                                        array_agg(CASE WHEN lv.level = 1 THEN 0.9
                                                       ELSE 0.1 / (n.levels - 2) END))
        INTO m_start
        FROM ptl.link_level lv
        JOIN (SELECT field_no, count(*) AS levels FROM ptl.link_level GROUP BY field_no) n USING (field_no)
        WHERE lv.level > 0;

        -- 4. m by EM, once per blocking rule on the pairs it produced, not
        --    training the fields it blocks on; a field's m is the mean over the
        --    rules that trained it.
        --    (the candidates as counts of each set of rules and pattern:
        --    one pass over the pairs, not one per rule)
        CREATE TEMP TABLE link_pattern ON COMMIT DROP AS
        SELECT rules, gamma, count(*) AS n FROM link_cand GROUP BY rules, gamma;
        CREATE TEMP TABLE link_m (field_no int, level int, m float8) ON COMMIT DROP;
        run.em_iterations := 0;
        FOR rule IN SELECT * FROM ptl.link_blocking_rule ORDER BY rule_no LOOP
            SELECT e.* INTO em
            FROM (SELECT array_agg(gamma) AS patterns, array_agg(n::float8) AS counts
                  FROM (SELECT gamma, sum(n) AS n FROM link_pattern
                        WHERE rules & (1 << (rule.rule_no - 1)) <> 0 GROUP BY gamma) g) x,
                 ptl.link_em(x.patterns, x.counts, u_arr, m_start, 0.5,
                             1023 & ~rule.blocked_fields, 1023 & ~rule.blocked_fields,
                             s.em_max_iterations, s.em_tolerance) e
            WHERE x.patterns IS NOT NULL;
            CONTINUE WHEN em IS NULL OR em.m IS NULL;
            run.em_iterations := run.em_iterations + em.iterations;
            INSERT INTO link_m
            SELECT lv.field_no, lv.level, em.m[lv.field_no * 16 + lv.level + 1]
            FROM ptl.link_level lv
            WHERE lv.level > 0 AND rule.blocked_fields & (1 << lv.field_no) = 0;
        END LOOP;

        -- A field is trained when a rule that does not name it produced
        -- pairs in which it is present (EM learns nothing from "missing").
        run.untrained_fields := (
            SELECT string_agg(f.field, ', ' ORDER BY f.field_no)
            FROM (SELECT DISTINCT lv.field_no, lv.field FROM ptl.link_level lv) f
            WHERE NOT EXISTS (SELECT 1 FROM ptl.link_blocking_rule r
                              JOIN link_pattern c ON c.rules & (1 << (r.rule_no - 1)) <> 0
                              WHERE r.blocked_fields & (1 << f.field_no) = 0
                                AND (c.gamma >> (4 * f.field_no)) & 15 <> 0));

        DELETE FROM ptl.link_parameter;
        INSERT INTO ptl.link_parameter (field_no, level, m, u)
        SELECT u.field_no, u.level,
               coalesce(m.m, m_start[u.field_no * 16 + u.level + 1]), u.u
        FROM link_u u
        LEFT JOIN (SELECT field_no, level, avg(m) AS m FROM link_m GROUP BY field_no, level) m
               USING (field_no, level);

        -- 5. The prior: EM for lambda alone over all candidates with m and u
        --    fixed, then from the candidates' share to any two records.
        SELECT e.lambda, e.iterations INTO em
        FROM (SELECT array_agg(gamma) AS patterns, array_agg(n::float8) AS counts
              FROM (SELECT gamma, sum(n) AS n FROM link_pattern GROUP BY gamma) g) x,
             ptl.link_em(x.patterns, x.counts, u_arr,
                         (SELECT ptl_internal.link_parameter_array(array_agg(field_no * 16 + level), array_agg(m))
                          FROM ptl.link_parameter),
                         0.5, 1023, 0, s.em_max_iterations, s.em_tolerance) e
        WHERE x.patterns IS NOT NULL;
        lambda_candidates := coalesce(em.lambda, 1e-6);
        run.em_iterations := run.em_iterations + coalesce(em.iterations, 0);
        run.candidate_match_share := lambda_candidates;
        prior := greatest(lambda_candidates * greatest(run.candidate_pairs, 1)
                          / greatest(run.records::float8 * (run.records - 1) / 2, 1), 1e-12);
        prior := least(prior, 0.5);
        run.prior_weight := (ln(prior / (1 - prior)) / ln(2.0::float8));

        -- Name frequencies, for the term-frequency adjustment.
        DELETE FROM ptl.link_term_frequency;
        INSERT INTO ptl.link_term_frequency (field_no, value, frequency)
        SELECT 1, v, count(*)::float8 / sum(count(*)) OVER ()
        FROM (SELECT (f).given_name AS v FROM link_rec) x WHERE v IS NOT NULL GROUP BY v
        UNION ALL
        SELECT 2, v, count(*)::float8 / sum(count(*)) OVER ()
        FROM (SELECT (f).family_name AS v FROM link_rec) x WHERE v IS NOT NULL GROUP BY v;
    ELSE
        -- The stored model, unchanged.
        run.u_sample_pairs := 0;
        run.em_iterations := 0;
        run.candidate_match_share := stored.candidate_match_share;
        run.prior_weight := stored.prior_weight;
    END IF;

    -- 6. Scores, NHS-number rules and reviewers' decisions (ptl_internal.link_score).
    PERFORM ptl_internal.link_score(run.prior_weight, false);

    -- 7, 8. Persons by union-find and their stable numbers (ptl_internal.link_cluster).
    CREATE TEMP TABLE link_scope ON COMMIT DROP AS SELECT patient_id, nhs_valid FROM link_rec;
    PERFORM ptl_internal.link_cluster(false);

    -- What this run saw of each record, for the next incremental run: only
    -- the rows that differ are written (rewriting every record's thirteen
    -- keys into the index took about a minute at a million records, and a
    -- weekly full run finds few changed).
    INSERT INTO ptl.link_record AS o (patient_id, fields, nhs_valid, decisions, person_id, keys)
    SELECT r.patient_id, r.f, r.nhs_valid, d.decisions, pl.person_id, r.keys
    FROM link_rec r
    JOIN ptl.person_link pl USING (patient_id)
    LEFT JOIN ptl.link_decisions_by_record() d USING (patient_id)
    -- (one join finds the rows that differ, rather than a conflict per record)
    LEFT JOIN ptl.link_record was ON was.patient_id = r.patient_id
    WHERE (was.fields, was.nhs_valid, was.decisions, was.person_id, was.keys)
          IS DISTINCT FROM (r.f, r.nhs_valid, d.decisions, pl.person_id, r.keys)
    ON CONFLICT (patient_id) DO UPDATE
    SET fields = excluded.fields, nhs_valid = excluded.nhs_valid, decisions = excluded.decisions,
        person_id = excluded.person_id, keys = excluded.keys
    WHERE (o.fields, o.nhs_valid, o.decisions, o.person_id, o.keys)
          IS DISTINCT FROM (excluded.fields, excluded.nhs_valid, excluded.decisions, excluded.person_id, excluded.keys);
    -- (now every record of this run is there: as many rows as records means
    -- none is left of a deleted patient, and the anti-join of a million
    -- records, about 1.4 s, is not needed)
    IF (SELECT count(*) FROM ptl.link_record) <> run.records THEN
        DELETE FROM ptl.link_record r WHERE NOT EXISTS (SELECT 1 FROM link_rec x WHERE x.patient_id = r.patient_id);
    END IF;

    -- Pathway linkage and the clocks join through these next.
    PERFORM ptl.analyze_if_grown('ptl.person_link', run.records);
    PERFORM ptl.analyze_if_grown('ptl.link_pair', (SELECT count(*) FROM ptl.link_pair));
    PERFORM ptl.analyze_if_grown('ptl.link_record', run.records);

    SELECT count(*) FILTER (WHERE method = 'nhs_number'),
           count(*) FILTER (WHERE method = 'probabilistic'),
           count(*) FILTER (WHERE method = 'conflict'),
           count(*) FILTER (WHERE outcome LIKE 'refused%'),
           count(*) FILTER (WHERE method = 'review')
    INTO run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links, run.review_pairs
    FROM ptl.link_pair;
    run.persons := (SELECT count(DISTINCT person_id) FROM ptl.person_link);
    run.run_by := current_user;
    run.finished_at := clock_timestamp();

    INSERT INTO ptl.link_run (started_at, finished_at, records, candidate_pairs, skipped_blocks, u_sample_pairs,
                              em_iterations, candidate_match_share, prior_weight, nhs_number_links,
                              probabilistic_links, conflicts, refused_links, review_pairs, persons,
                              kind, compared_records, blocking_rules, unblocked_records, expected_precision,
                              expected_recall, untrained_fields)
    VALUES (run.started_at, run.finished_at, run.records, run.candidate_pairs, run.skipped_blocks,
            run.u_sample_pairs, run.em_iterations, run.candidate_match_share, run.prior_weight,
            run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links,
            run.review_pairs, run.persons, CASE WHEN retrain THEN 'full' ELSE 'frozen' END, run.records,
            ptl_internal.link_rules_signature(), run.unblocked_records,
            (SELECT expected_precision FROM pg_temp.link_expected), (SELECT expected_recall FROM pg_temp.link_expected),
            run.untrained_fields)
    RETURNING * INTO run;
    PERFORM ptl_internal.link_run_rules(run.run_id);
    RETURN run;
END
$$;
COMMENT ON FUNCTION ptl.link_persons(boolean) IS
    'Links every patient record to an ICS person (ptl.person_link); retrain: first estimates the model (m, u, prior, name frequencies) from the data, else uses the stored model unchanged (a frozen relink); returns the run''s figures';

CREATE FUNCTION ptl.link_persons() RETURNS ptl.link_run
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN ptl.link_persons(true);
COMMENT ON FUNCTION ptl.link_persons() IS
    'Links every patient record to an ICS person (ptl.person_link): blocking, identical NHS numbers, a Fellegi-Sunter model estimated from the data, union-find with a chaining guard; returns the run''s figures';

-- The blocks of some keys as one query: for each row (rule_no, k) of
-- keys_table, the number of records holding key k for rule n, their patient
-- ids and their fields (for the block's windows); each block read through
-- its rule's index (link_record_key_<n>_idx).
CREATE FUNCTION ptl_internal.link_block_sql(keys_table text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(string_agg(format($f$
        SELECT c.rule_no, c.k, m.n, m.members, m.member_fields
        FROM %1$s c
        CROSS JOIN LATERAL (SELECT count(*) AS n, array_agg(r.patient_id) AS members,
                                   array_agg(r.fields) AS member_fields
                            FROM ptl.link_record r
                            WHERE r.keys[%2$s] = c.k AND r.keys[%2$s] IS NOT NULL) m
        WHERE c.rule_no = %2$s $f$, keys_table, r.rule_no),
        ' UNION ALL ' ORDER BY r.rule_no),
        'SELECT 0 AS rule_no, 0::bigint AS k, 0::bigint AS n, NULL::bigint[] AS members,
                NULL::ptl.link_fields[] AS member_fields WHERE false')
    FROM ptl.link_blocking_rule r;
END;
COMMENT ON FUNCTION ptl_internal.link_block_sql(text) IS
    'Internal to incremental linkage: a query giving, for each (rule_no, k) of the table named, the records of that block (count, patient ids and their fields), read through the rule''s index';

-- The records of some blocks, as one query: every record holding one of
-- the keys of rule n for some row (rule_no, keys) of keys_table (keys
-- bigint[], repeats allowed: the index scan sorts them and drops repeats),
-- once, with its keys and fields.  One bitmap scan ORs the rules' indexes:
-- a record in several of the blocks is fetched once, and the heap is read
-- in page order (a day of 10,000 changed records at a million: 313,000
-- block members, 97,000 records; 0.4 s, against 1.9 s reading each block by
-- its index and then each record by its patient id).  The bitmap stays
-- exact within the run's work_mem (a page costs it about 50 bytes).
CREATE FUNCTION ptl_internal.link_block_members_sql(keys_table text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'SELECT r.patient_id, r.keys, r.fields, r.nhs_valid FROM ptl.link_record r WHERE '
           || coalesce(string_agg(format($f$
        (r.keys[%2$s] = ANY ((SELECT c.keys FROM %1$s c WHERE c.rule_no = %2$s)::bigint[]) AND r.keys[%2$s] IS NOT NULL)$f$,
                                         keys_table, r.rule_no),
                              ' OR ' ORDER BY r.rule_no),
                       'false')
    FROM ptl.link_blocking_rule r;
END;
COMMENT ON FUNCTION ptl_internal.link_block_members_sql(text) IS
    'Internal to incremental linkage: a query giving (patient_id, keys, fields, nhs_valid) of the records of every block of the table named (rule_no int, keys bigint[]: rule_no''s keys), each record once, read by one bitmap scan over the rules'' indexes';

-- An incremental run.  The rule (docs/linkage.md, "Incremental runs"): the
-- model is estimated by a full run and then frozen; an incremental run
-- compares only the pairs touching a record new, changed (its
-- ptl_internal.link_fields_of or its reviewer decisions) or deleted since the last
-- run, found through the same blocking keys against all records, with the
-- pairs of their blocks that entered or left a window (a record coming or
-- going moves the others of its block's sorted neighbourhood; a block it
-- moved across max_block_size gains or loses all of them), scores them with
-- the stored model as a full run scores, and clusters again only the
-- affected persons: those of the changed records and of every record a
-- replaced or new link touches, closed over the links the chaining guard
-- refused between persons.  Its result equals a frozen full relink,
-- ptl.link_persons(false).
CREATE FUNCTION ptl.link_persons_incremental() RETURNS ptl.link_run
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET work_mem = '256MB'
SET client_min_messages = warning
-- (its statements read a few thousand records through indexes, but the
-- estimates over a million-record table made the planner compile them:
-- about 1.5 s of a day at a million records on the development cluster,
-- within the noise of bench/link.sh)
SET jit = off
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    s ptl.link_setting := ptl_internal.link_setting_in_force();
    run ptl.link_run;
    stored ptl.link_run;
    n_affected bigint;
    n_persons_after bigint;
BEGIN
    run.started_at := clock_timestamp();
    LOCK TABLE ptl.person_link IN SHARE ROW EXCLUSIVE MODE;
    stored := ptl_internal.link_stored_model();
    -- Settings changed since the full run that estimated the model change
    -- which blocks are compared and which pairs link everywhere: only a full
    -- run applies them (set since it began, or in this transaction: now() is
    -- when the transaction began).
    IF ptl_internal.link_model_stale() THEN
        RAISE EXCEPTION 'link settings or blocking rules changed since the full linkage run that estimated the model: an incremental run (last run %) cannot apply them',
                        stored.run_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT ptl.link_persons(): it estimates the model again and links every record with the settings in force.';
    END IF;
    -- (ptl.link_record is unlogged: a crash or a promoted standby leaves it empty)
    IF stored.records > 0 AND NOT EXISTS (SELECT 1 FROM ptl.link_record) THEN
        RAISE EXCEPTION 'ptl.link_record is empty but linkage run % linked % records: an incremental run cannot tell what changed since',
                        stored.run_id, stored.records
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT ptl.link_persons(false): it links every record with the stored model (ptl.refresh does this itself). The table is unlogged, so a crash or a promoted standby empties it.';
    END IF;

    DROP TABLE IF EXISTS link_rec, link_cand, link_edge, link_block, link_block_pair, link_draw, link_u, link_m, link_pattern,
                         link_outcome, link_member, link_person, link_scope, link_changed, link_touched,
                         link_old, link_affected, link_rule_count, link_taken, link_now, link_ck, link_delta,
                         link_other_key, link_pair_now, link_person_now;

    -- 1. Records new, changed or deleted since the last run: of those the
    --    triggers noted (ptl.link_pending), the ones that differ from what
    --    the last run saw.
    CREATE TEMP TABLE link_taken (patient_id bigint) ON COMMIT DROP;
    WITH taken AS (DELETE FROM ptl.link_pending RETURNING patient_id)
    INSERT INTO link_taken SELECT DISTINCT patient_id FROM taken;
    CREATE TEMP TABLE link_changed ON COMMIT DROP AS
    SELECT t.patient_id, c.f, c.nhs_valid, c.patient_id IS NOT NULL AS present,
           r.patient_id IS NOT NULL AS was, r.person_id AS old_person_id, r.keys AS old_keys,
           r.fields AS old_fields
    FROM link_taken t
    LEFT JOIN LATERAL (SELECT p.patient_id, ptl_internal.link_fields_of(p) AS f,
                              ptl_internal.link_nhs_valid(p.nhs_number) AS nhs_valid
                       FROM ptl.patient p WHERE p.patient_id = t.patient_id
                       OFFSET 0) c ON true  -- (OFFSET 0: normalised once, not again in the WHERE)
    LEFT JOIN ptl.link_record r ON r.patient_id = t.patient_id
    LEFT JOIN ptl.link_decisions_by_record() d ON d.patient_id = t.patient_id
    WHERE (c.patient_id IS NULL) <> (r.patient_id IS NULL)
       OR c.f IS DISTINCT FROM r.fields OR c.nhs_valid IS DISTINCT FROM r.nhs_valid
       OR d.decisions IS DISTINCT FROM r.decisions;
    DROP TABLE link_taken;
    ALTER TABLE link_changed ADD PRIMARY KEY (patient_id);
    -- (the joined and filtered columns: the fields' statistics cost 0.1 s)
    ANALYZE link_changed (patient_id, present, was);
    run.compared_records := (SELECT count(*) FROM link_changed);
    -- (what the last run saw of them, read in the same pass)
    CREATE TEMP TABLE link_old ON COMMIT DROP AS
    SELECT c.patient_id, c.old_person_id AS person_id, c.old_keys AS keys, c.old_fields AS fields
    FROM link_changed c WHERE c.was;

    -- The changed records' keys now (ptl_internal.link_keys_sql).
    EXECUTE format($q$
        CREATE TEMP TABLE link_now ON COMMIT DROP AS
        SELECT c.patient_id, %s AS keys
        FROM pg_temp.link_changed c
        CROSS JOIN LATERAL (SELECT (c.f).*) AS k
        WHERE c.present$q$, ptl_internal.link_keys_sql());

    -- ptl.link_record becomes what this run sees (person numbers follow).
    -- (= ANY (ARRAY(...)): each record by its key, not a scan of every record)
    DELETE FROM ptl.link_record r WHERE r.patient_id = ANY (ARRAY(SELECT patient_id FROM link_changed));
    INSERT INTO ptl.link_record (patient_id, fields, nhs_valid, decisions, person_id, keys)
    SELECT c.patient_id, c.f, c.nhs_valid, d.decisions, o.person_id, n.keys
    FROM link_changed c
    JOIN link_now n USING (patient_id)
    LEFT JOIN link_old o USING (patient_id)
    LEFT JOIN ptl.link_decisions_by_record() d USING (patient_id);
    run.unblocked_records := (SELECT count(*) FROM link_now WHERE cardinality(array_remove(keys, NULL)) = 0);
    -- The records as the scoring and clustering read them.
    CREATE TEMP VIEW link_rec AS
    SELECT r.patient_id, r.fields AS f, r.nhs_valid FROM ptl.link_record r;

    -- 2. The blocks the changed records hold now or held before: every
    --    record of them, read once by one bitmap scan over the rules'
    --    indexes (ptl_internal.link_block_members_sql).  In C, each block's
    --    windows now and before (ptl_internal.link_window_delta): the pairs
    --    to look at again are those of a window now touching a changed
    --    record, and those that entered or left a window; each compared.
    CREATE TEMP TABLE link_ck ON COMMIT DROP AS
    SELECT x.n::int AS rule_no, array_agg(x.k) AS keys
    FROM (SELECT keys FROM link_now UNION ALL SELECT keys FROM link_old) c
    CROSS JOIN LATERAL unnest(c.keys) WITH ORDINALITY AS x (k, n)
    WHERE x.k IS NOT NULL
    GROUP BY x.n;
    CREATE TEMP TABLE link_delta ON COMMIT DROP AS
    SELECT * FROM ptl_internal.link_window_delta(format($q$
        SELECT m.*, CASE WHEN m.patient_id IN (SELECT patient_id FROM pg_temp.link_changed) THEN 1 ELSE 3 END
        FROM (%s) m
        UNION ALL
        SELECT o.patient_id, o.keys, o.fields, NULL, 2 FROM pg_temp.link_old o$q$,
        ptl_internal.link_block_members_sql('pg_temp.link_ck')), s.block_window, s.max_block_size);
    CREATE TEMP TABLE link_rule_count (rule_no int PRIMARY KEY, keyed bigint, skipped bigint) ON COMMIT DROP;
    WITH counts AS (DELETE FROM link_delta WHERE a IS NULL RETURNING rule_no, keyed_records, skipped_blocks)
    INSERT INTO link_rule_count
    SELECT r.rule_no, coalesce(c.keyed_records, 0), coalesce(c.skipped_blocks, 0)
    FROM ptl.link_blocking_rule r LEFT JOIN counts c USING (rule_no);
    run.skipped_blocks := (SELECT coalesce(sum(skipped), 0) FROM link_rule_count);
    CREATE TEMP TABLE link_touched ON COMMIT DROP AS SELECT a, b FROM link_delta;
    ANALYZE link_touched;

    -- The rules of the blocks such a pair shares that no changed record
    -- touched: their windows, unchanged by this run, read now (few).
    CREATE TEMP TABLE link_other_key ON COMMIT DROP AS
    SELECT DISTINCT x.n::int AS rule_no, x.k
    FROM ptl.link_record r
    JOIN link_delta d ON d.a = r.patient_id AND d.other_rules <> 0
    CROSS JOIN LATERAL unnest(r.keys) WITH ORDINALITY AS x (k, n)
    WHERE r.patient_id = ANY (ARRAY(SELECT a FROM link_delta WHERE other_rules <> 0))
      AND d.other_rules & (1 << (x.n::int - 1)) <> 0;
    ANALYZE link_other_key;
    EXECUTE 'CREATE TEMP TABLE link_block ON COMMIT DROP AS '
            || ptl_internal.link_block_sql('pg_temp.link_other_key');
    EXECUTE format($q$
        CREATE TEMP TABLE link_block_pair ON COMMIT DROP AS
        SELECT least(w.patient_id, x.patient_id) AS a, greatest(w.patient_id, x.patient_id) AS b,
               bit_or(1 << (w.rule_no - 1)) AS rules
        FROM (SELECT q.rule_no, q.patient_id,
                     array_agg(q.patient_id) OVER (PARTITION BY q.rule_no, q.k %1$s) AS next
              FROM (SELECT b.rule_no, b.k, m.patient_id, m.f
                    FROM pg_temp.link_block b
                    CROSS JOIN LATERAL (SELECT x.patient_id, b.member_fields[x.i] AS f
                                        FROM unnest(b.members) WITH ORDINALITY AS x (patient_id, i)) m
                    WHERE b.n BETWEEN 2 AND %2$s) q) w
        CROSS JOIN LATERAL unnest(w.next) AS x (patient_id)
        GROUP BY 1, 2$q$,
        ptl_internal.link_window_sql(s.block_window), s.max_block_size);
    CREATE TEMP TABLE link_cand ON COMMIT DROP AS
    SELECT d.a, d.b, d.rules | coalesce(bp.rules & d.other_rules, 0) AS rules, d.gamma, d.same_nhs,
           d.given_a, d.family_a, d.given_b
    FROM link_delta d
    LEFT JOIN link_block_pair bp ON bp.a = d.a AND bp.b = d.b
    WHERE d.rules | coalesce(bp.rules & d.other_rules, 0) <> 0;
    DROP TABLE link_block_pair, link_delta;
    run.candidate_pairs := (SELECT count(*) FROM link_cand);

    -- 3. Scores with the stored model, as a full run scores (ptl_internal.link_score).
    PERFORM ptl_internal.link_score(stored.prior_weight, true);

    -- 4. Affected persons: those of the changed records, and of both records
    --    of every link replaced or made; then those a link the chaining
    --    guard refused joins to them (their clustering can change too).
    CREATE TEMP TABLE link_affected (person_id bigint PRIMARY KEY) ON COMMIT DROP;
    INSERT INTO link_affected
    SELECT o.person_id FROM link_old o WHERE o.person_id IS NOT NULL
    UNION
    SELECT pl.person_id
    FROM ptl.person_link pl
    WHERE pl.patient_id = ANY (ARRAY(
          SELECT x.id FROM link_edge e CROSS JOIN LATERAL (VALUES (e.a), (e.b)) x (id)
          WHERE e.method IN ('nhs_number', 'reviewer', 'probabilistic')
          UNION
          SELECT x.id FROM ptl.link_pair lp JOIN link_touched t ON t.a = lp.patient_a AND t.b = lp.patient_b
          CROSS JOIN LATERAL (VALUES (lp.patient_a), (lp.patient_b)) x (id)
          WHERE lp.method IN ('nhs_number', 'reviewer', 'probabilistic')));
    -- (the stored pairs touching a changed record are in link_touched when
    -- still candidates; the others are replaced below: their records' persons)
    INSERT INTO link_affected
    SELECT pl.person_id
    FROM ptl.link_pair lp
    JOIN ptl.person_link pl ON pl.patient_id IN (lp.patient_a, lp.patient_b)
    WHERE (lp.patient_a IN (SELECT patient_id FROM link_changed) OR lp.patient_b IN (SELECT patient_id FROM link_changed))
      AND lp.method IN ('nhs_number', 'reviewer', 'probabilistic')
    ON CONFLICT DO NOTHING;
    LOOP
        -- (each by index: the persons' records, their links, the other ends)
        INSERT INTO link_affected
        SELECT DISTINCT q.person_id
        FROM ptl.person_link pl
        CROSS JOIN LATERAL (SELECT lp.patient_b AS y FROM ptl.link_pair lp
                            WHERE lp.patient_a = pl.patient_id AND lp.method IN ('nhs_number', 'reviewer', 'probabilistic')
                            UNION ALL
                            SELECT lp.patient_a FROM ptl.link_pair lp
                            WHERE lp.patient_b = pl.patient_id AND lp.method IN ('nhs_number', 'reviewer', 'probabilistic')) lp
        JOIN ptl.person_link q ON q.patient_id = lp.y
        WHERE pl.person_id = ANY (ARRAY(SELECT person_id FROM link_affected))
          AND NOT EXISTS (SELECT 1 FROM link_affected y WHERE y.person_id = q.person_id)
        ON CONFLICT DO NOTHING;
        EXIT WHEN NOT FOUND;
    END LOOP;
    n_affected := (SELECT count(*) FROM link_affected);

    -- 5. The records clustered again: every record of an affected person,
    --    and the new and changed ones; their pairs are the stored ones not
    --    replaced, and the ones just scored.
    --    (person_before: the person the last run gave the record, NULL for
    --    a new one; ptl.refresh reads it to find the records that moved)
    CREATE TEMP TABLE link_scope ON COMMIT DROP AS
    SELECT r.patient_id, r.nhs_valid, r.person_id AS person_before
    FROM ptl.link_record r
    WHERE r.patient_id = ANY (ARRAY(
          SELECT pl.patient_id FROM ptl.person_link pl
          WHERE pl.person_id = ANY (ARRAY(SELECT person_id FROM link_affected))
          UNION SELECT c.patient_id FROM link_changed c WHERE c.present));
    ALTER TABLE link_scope ADD PRIMARY KEY (patient_id);
    ANALYZE link_scope;
    DELETE FROM ptl.link_pair lp
    WHERE lp.patient_a IN (SELECT patient_id FROM link_changed)
       OR lp.patient_b IN (SELECT patient_id FROM link_changed)
       OR EXISTS (SELECT 1 FROM link_touched t WHERE t.a = lp.patient_a AND t.b = lp.patient_b);
    INSERT INTO link_edge (a, b, rules, gamma, w, method)
    SELECT lp.patient_a, lp.patient_b, lp.rules, lp.gamma, lp.match_weight, lp.method
    FROM ptl.link_pair lp
    WHERE lp.patient_a IN (SELECT patient_id FROM link_scope)
    UNION
    SELECT lp.patient_a, lp.patient_b, lp.rules, lp.gamma, lp.match_weight, lp.method
    FROM ptl.link_pair lp
    WHERE lp.patient_b IN (SELECT patient_id FROM link_scope);
    ANALYZE link_edge;
    n_persons_after := -n_affected;
    PERFORM ptl_internal.link_cluster(true);
    n_persons_after := n_persons_after + (SELECT count(DISTINCT person_id) FROM link_person);
    -- (link_person_now: the person link_cluster gave each record in scope)
    UPDATE ptl.link_record r SET person_id = n.person_id
    FROM link_person_now n
    WHERE n.patient_id = r.patient_id AND r.patient_id = ANY (ARRAY(SELECT patient_id FROM link_person_now))
      AND r.person_id IS DISTINCT FROM n.person_id;
    DROP VIEW link_rec;

    -- (the last run's records, with the new ones and without the deleted)
    run.records := stored.records
                   + (SELECT count(*) FILTER (WHERE c.present AND o.patient_id IS NULL)
                             - count(*) FILTER (WHERE NOT c.present AND o.patient_id IS NOT NULL)
                      FROM link_changed c LEFT JOIN link_old o USING (patient_id));
    run.u_sample_pairs := 0;
    run.em_iterations := 0;
    run.candidate_match_share := stored.candidate_match_share;
    run.prior_weight := stored.prior_weight;
    SELECT count(*) FILTER (WHERE method = 'nhs_number'),
           count(*) FILTER (WHERE method = 'probabilistic'),
           count(*) FILTER (WHERE method = 'conflict'),
           count(*) FILTER (WHERE outcome LIKE 'refused%'),
           count(*) FILTER (WHERE method = 'review')
    INTO run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links, run.review_pairs
    FROM ptl.link_pair;
    -- persons outside the affected ones are untouched
    run.persons := stored.persons + n_persons_after;
    run.finished_at := clock_timestamp();
    INSERT INTO ptl.link_run (started_at, finished_at, records, candidate_pairs, skipped_blocks, u_sample_pairs,
                              em_iterations, candidate_match_share, prior_weight, nhs_number_links,
                              probabilistic_links, conflicts, refused_links, review_pairs, persons,
                              kind, compared_records, blocking_rules, unblocked_records, expected_precision,
                              expected_recall)
    VALUES (run.started_at, run.finished_at, run.records, run.candidate_pairs, run.skipped_blocks,
            run.u_sample_pairs, run.em_iterations, run.candidate_match_share, run.prior_weight,
            run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links,
            run.review_pairs, run.persons, 'incremental', run.compared_records,
            ptl_internal.link_rules_signature(), run.unblocked_records,
            (SELECT expected_precision FROM pg_temp.link_expected), (SELECT expected_recall FROM pg_temp.link_expected))
    RETURNING * INTO run;
    PERFORM ptl_internal.link_run_rules(run.run_id);
    RETURN run;
END
$$;
COMMENT ON FUNCTION ptl.link_persons_incremental() IS
    'Links the patient records new, changed or deleted since the last linkage run (those noted in ptl.link_pending) with the stored model (no retraining): compares only the pairs touching them, clusters again only the persons affected; equals ptl.link_persons(false); returns the run''s figures, and leaves pg_temp.link_scope (the records clustered again, each with person_before) for the rest of the transaction';

-- Each ICS person with the records behind them.
CREATE VIEW ptl.person_record AS
SELECT pl.person_id, pl.patient_id, p.org_code, p.source_system, p.local_patient_id, p.nhs_number,
       p.given_name, p.family_name, p.date_of_birth, p.sex, p.postcode, pl.method, pl.match_weight
FROM ptl.person_link pl
JOIN ptl.patient p ON p.patient_id = pl.patient_id;
COMMENT ON VIEW ptl.person_record IS 'Every patient record with the ICS person it belongs to';
COMMENT ON COLUMN ptl.person_record.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person_record.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.person_record.org_code IS 'Organisation holding the record';
COMMENT ON COLUMN ptl.person_record.source_system IS 'System holding it';
COMMENT ON COLUMN ptl.person_record.local_patient_id IS 'Hospital number';
COMMENT ON COLUMN ptl.person_record.nhs_number IS 'Valid NHS number on the record';
COMMENT ON COLUMN ptl.person_record.given_name IS 'Given name as recorded';
COMMENT ON COLUMN ptl.person_record.family_name IS 'Family name as recorded';
COMMENT ON COLUMN ptl.person_record.date_of_birth IS 'Date of birth as recorded';
COMMENT ON COLUMN ptl.person_record.sex IS 'Sex code as recorded';
COMMENT ON COLUMN ptl.person_record.postcode IS 'Postcode as recorded';
COMMENT ON COLUMN ptl.person_record.method IS 'How the record joined the person';
COMMENT ON COLUMN ptl.person_record.match_weight IS 'Weight of that link';

CREATE VIEW ptl.person AS
SELECT pl.person_id,
       count(*) AS records,
       count(DISTINCT p.org_code) AS organisations,
       (array_agg(p.nhs_number ORDER BY p.updated_at DESC) FILTER (WHERE p.nhs_number IS NOT NULL))[1] AS nhs_number,
       (array_agg(p.given_name ORDER BY p.updated_at DESC) FILTER (WHERE p.given_name IS NOT NULL))[1] AS given_name,
       (array_agg(p.family_name ORDER BY p.updated_at DESC) FILTER (WHERE p.family_name IS NOT NULL))[1] AS family_name,
       mode() WITHIN GROUP (ORDER BY p.date_of_birth) AS date_of_birth,
       array_agg(p.org_code || ':' || p.local_patient_id ORDER BY p.org_code, p.local_patient_id) AS local_ids,
       array_agg(pl.patient_id ORDER BY pl.patient_id) AS patient_ids
FROM ptl.person_link pl
JOIN ptl.patient p ON p.patient_id = pl.patient_id
GROUP BY pl.person_id;
COMMENT ON VIEW ptl.person IS 'ICS persons: each with how many records and organisations hold them, and the identifiers behind them';
COMMENT ON COLUMN ptl.person.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person.records IS 'Patient records linked to the person';
COMMENT ON COLUMN ptl.person.organisations IS 'Organisations holding them';
COMMENT ON COLUMN ptl.person.nhs_number IS 'Valid NHS number of the most recently updated record that has one';
COMMENT ON COLUMN ptl.person.given_name IS 'Given name of the most recently updated record';
COMMENT ON COLUMN ptl.person.family_name IS 'Family name of the most recently updated record';
COMMENT ON COLUMN ptl.person.date_of_birth IS 'Most common date of birth among the records';
COMMENT ON COLUMN ptl.person.local_ids IS 'organisation:hospital number of each record';
COMMENT ON COLUMN ptl.person.patient_ids IS 'ptl patient record ids';

-- Clerical review: pairs between the thresholds, and links the guard refused.
CREATE VIEW ptl.link_review AS
SELECT lp.patient_a, lp.patient_b, lp.match_weight, lp.match_probability,
       CASE WHEN lp.outcome LIKE 'refused%' THEN lp.outcome
            WHEN ptl_internal.link_look_alike(lp.gamma) THEN 'look_alike'
            ELSE 'between_thresholds' END AS why,
       a.org_code AS org_a, b.org_code AS org_b,
       a.nhs_number_as_recorded AS nhs_number_a, b.nhs_number_as_recorded AS nhs_number_b,
       a.given_name AS given_name_a, b.given_name AS given_name_b,
       a.family_name AS family_name_a, b.family_name AS family_name_b,
       a.date_of_birth AS date_of_birth_a, b.date_of_birth AS date_of_birth_b,
       a.postcode AS postcode_a, b.postcode AS postcode_b
FROM ptl.link_pair lp
JOIN ptl.patient a ON a.patient_id = lp.patient_a
JOIN ptl.patient b ON b.patient_id = lp.patient_b
WHERE (lp.method = 'review' OR lp.outcome LIKE 'refused%')
  AND NOT EXISTS (SELECT 1 FROM ptl.link_decision d WHERE d.patient_a = lp.patient_a AND d.patient_b = lp.patient_b);
COMMENT ON VIEW ptl.link_review IS
    'Record pairs for clerical review: match probability between the review and link thresholds, or a link the chaining guard refused; decide in ptl.link_decision';
COMMENT ON COLUMN ptl.link_review.patient_a IS 'One record';
COMMENT ON COLUMN ptl.link_review.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_review.match_weight IS 'Match weight (ptl.link_explain shows its parts)';
COMMENT ON COLUMN ptl.link_review.match_probability IS 'Match probability';
COMMENT ON COLUMN ptl.link_review.why IS
    'between_thresholds, look_alike (same family name and date of birth, given names differ: twins look like this; ptl.link_setting.look_alike_review), refused_nhs_number or refused_size';
COMMENT ON COLUMN ptl.link_review.org_a IS 'Organisation of record a';
COMMENT ON COLUMN ptl.link_review.org_b IS 'Organisation of record b';
COMMENT ON COLUMN ptl.link_review.nhs_number_a IS 'NHS number as recorded on a';
COMMENT ON COLUMN ptl.link_review.nhs_number_b IS 'NHS number as recorded on b';
COMMENT ON COLUMN ptl.link_review.given_name_a IS 'Given name on a';
COMMENT ON COLUMN ptl.link_review.given_name_b IS 'Given name on b';
COMMENT ON COLUMN ptl.link_review.family_name_a IS 'Family name on a';
COMMENT ON COLUMN ptl.link_review.family_name_b IS 'Family name on b';
COMMENT ON COLUMN ptl.link_review.date_of_birth_a IS 'Date of birth on a';
COMMENT ON COLUMN ptl.link_review.date_of_birth_b IS 'Date of birth on b';
COMMENT ON COLUMN ptl.link_review.postcode_a IS 'Postcode on a';
COMMENT ON COLUMN ptl.link_review.postcode_b IS 'Postcode on b';

CREATE VIEW ptl.link_conflict AS
SELECT lp.patient_a, lp.patient_b, a.nhs_number,
       a.given_name AS given_name_a, b.given_name AS given_name_b,
       a.family_name AS family_name_a, b.family_name AS family_name_b,
       a.date_of_birth AS date_of_birth_a, b.date_of_birth AS date_of_birth_b
FROM ptl.link_pair lp
JOIN ptl.patient a ON a.patient_id = lp.patient_a
JOIN ptl.patient b ON b.patient_id = lp.patient_b
WHERE lp.method = 'conflict';
COMMENT ON VIEW ptl.link_conflict IS
    'Records sharing a valid NHS number whose date of birth and both names all differ: not linked, for the trusts to correct';
COMMENT ON COLUMN ptl.link_conflict.patient_a IS 'One record';
COMMENT ON COLUMN ptl.link_conflict.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_conflict.nhs_number IS 'The NHS number both carry';
COMMENT ON COLUMN ptl.link_conflict.given_name_a IS 'Given name on a';
COMMENT ON COLUMN ptl.link_conflict.given_name_b IS 'Given name on b';
COMMENT ON COLUMN ptl.link_conflict.family_name_a IS 'Family name on a';
COMMENT ON COLUMN ptl.link_conflict.family_name_b IS 'Family name on b';
COMMENT ON COLUMN ptl.link_conflict.date_of_birth_a IS 'Date of birth on a';
COMMENT ON COLUMN ptl.link_conflict.date_of_birth_b IS 'Date of birth on b';

-- Why two records do or do not link: each field's level and weight.
CREATE FUNCTION ptl.link_explain(patient_a bigint, patient_b bigint)
RETURNS TABLE (field text, value_a text, value_b text, level int, level_label text,
               m float8, u float8, weight float8)
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
BEGIN ATOMIC
    WITH r AS (
        SELECT ptl_internal.link_fields_of(a) AS fa, ptl_internal.link_fields_of(b) AS fb,
               ptl.link_compare(ptl_internal.link_fields_of(a), ptl_internal.link_fields_of(b)) AS gamma
        FROM ptl.patient a, ptl.patient b
        WHERE a.patient_id = link_explain.patient_a AND b.patient_id = link_explain.patient_b),
    v AS (
        SELECT x.field_no, x.value_a, x.value_b, r.gamma
        FROM r, LATERAL (VALUES
            (0, (r.fa).nhs_number, (r.fb).nhs_number),
            (1, (r.fa).given_name, (r.fb).given_name),
            (2, (r.fa).family_name, (r.fb).family_name),
            (3, (r.fa).date_of_birth::text, (r.fb).date_of_birth::text),
            (4, (r.fa).sex, (r.fb).sex),
            (5, (r.fa).postcode, (r.fb).postcode),
            (6, (r.fa).address, (r.fb).address),
            (7, (r.fa).town, (r.fb).town),
            (8, (r.fa).telephone, (r.fb).telephone),
            (9, (r.fa).email, (r.fb).email)) AS x (field_no, value_a, value_b)),
    f AS (
        SELECT v.field_no, lv.field, v.value_a, v.value_b, lv.level, lv.label, p.m,
               -- an exact name weighs against its own frequency (term-frequency adjustment)
               CASE WHEN lv.level = 1 AND v.field_no IN (1, 2) THEN coalesce(tf.frequency, p.u) ELSE p.u END AS u
        FROM v
        JOIN ptl.link_level lv ON lv.field_no = v.field_no AND lv.level = (v.gamma >> (4 * v.field_no)) & 15
        LEFT JOIN ptl.link_parameter p ON p.field_no = lv.field_no AND p.level = lv.level
        LEFT JOIN ptl.link_term_frequency tf ON tf.field_no = v.field_no AND tf.value = v.value_a),
    fw AS (
        SELECT f.*, CASE WHEN f.level = 0 THEN 0 ELSE ln(f.m / f.u) / ln(2.0::float8) END AS w FROM f),
    -- of postcode, address, town and telephone, those agreeing count once
    -- (as ptl_internal.link_score)
    residence AS (
        SELECT -coalesce(sum(x.w) FILTER (WHERE x.place > 1), 0) AS w
        FROM (SELECT fw.w, row_number() OVER (ORDER BY fw.w DESC) AS place
              FROM fw WHERE fw.field_no IN (5, 6, 7, 8) AND fw.w > 0) x),
    pair AS (
        SELECT lp.method, lp.rules FROM ptl.link_pair lp
        WHERE (lp.patient_a, lp.patient_b) IN ((link_explain.patient_a, link_explain.patient_b),
                                               (link_explain.patient_b, link_explain.patient_a))),
    -- (the records' keys now, as the next run computes them)
    shared_keys AS (
        SELECT string_agg(n::text, ', ' ORDER BY n) AS rules
        FROM (SELECT ptl_internal.link_keys_of(r.fa) AS ka, ptl_internal.link_keys_of(r.fb) AS kb FROM r) k
        CROSS JOIN LATERAL generate_subscripts(k.ka, 1) AS n
        WHERE k.ka[n] = k.kb[n])
    SELECT 'prior', NULL, NULL, NULL, 'two records drawn at random', NULL, NULL,
           (SELECT prior_weight FROM ptl.link_run ORDER BY run_id DESC LIMIT 1)
    UNION ALL
    (SELECT fw.field, fw.value_a, fw.value_b, fw.level, fw.label, fw.m, fw.u, fw.w FROM fw ORDER BY fw.field_no)
    UNION ALL
    SELECT 'residence', NULL, NULL, NULL, 'postcode, address, town and telephone: only the largest agreeing weight counts',
           NULL, NULL, residence.w
    FROM residence WHERE residence.w <> 0
    UNION ALL
    SELECT 'total', NULL, NULL, NULL, 'match probability ' || round((1 - 1 / (1 + power(2::float8, least(t.w, 1000))))::numeric, 6),
           NULL, NULL, t.w
    FROM (SELECT (SELECT prior_weight FROM ptl.link_run ORDER BY run_id DESC LIMIT 1)
                 + (SELECT sum(fw.w) FROM fw) + (SELECT residence.w FROM residence) AS w) t
    UNION ALL
    SELECT 'blocking', NULL, NULL, NULL,
           coalesce('rules ' || (SELECT shared_keys.rules FROM shared_keys), 'no blocking rule gives them a shared key: never compared'),
           NULL, NULL, NULL
    UNION ALL
    SELECT 'decision', NULL, NULL, NULL,
           coalesce((SELECT CASE pair.method WHEN 'review' THEN 'clerical review' ELSE pair.method END FROM pair),
                    'not linked (below the review probability, or not compared)')
           || format(' (link at probability %s, review from %s)', s.link_probability, s.review_probability),
           NULL, NULL, NULL
    FROM ptl_internal.link_setting_in_force() s;
END;
COMMENT ON FUNCTION ptl.link_explain(bigint, bigint) IS
    'Why two patient records do or do not link under the last estimated model: the prior, each field''s values, comparison level, m, u and weight, agreeing postcode, address, town and telephone counted once, the total with its match probability, the blocking rules that found the pair, and the decision against the thresholds';
