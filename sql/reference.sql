-- Reference data: treatment functions and the RTT return line each is
-- reported on (RTT guidance 10.1.4; DCB0028).  The mapping is data.

-- The 18 named functions report on their own line; the stated exceptions
-- report on the parent line (108, 111, 115 -> 110; 144, 145 -> 140; 172,
-- 173 -> 170); others go to the "Other" line of their group.
SELECT tf.tfc, tf.name, l.csv_code
FROM ptl.treatment_function tf JOIN ptl.rtt_line l ON l.line_code = tf.rtt_line
WHERE tf.tfc IN ('100', '108', '110', '111', '115', '144', '145', '172', '173', '306', '420', '710', '650')
ORDER BY tf.tfc;

-- Every line of the published file is present, in the published order.
SELECT csv_code, name FROM ptl.rtt_line ORDER BY sort_order;

-- A shipped row cannot be changed in place (a restore would undo it) ...
UPDATE ptl.treatment_function SET rtt_line = 'X05' WHERE tfc = '172';
DELETE FROM ptl.treatment_function WHERE tfc = '650';

-- ... the trust records its correction as an override, which pg_dump keeps.
-- Here: 172 and 173 reported on X05 rather than 170 (both are allowed).
INSERT INTO ptl.treatment_function_override (tfc, rtt_line, consultant_led, reason)
VALUES ('172', 'X05', true, 'report 172 and 173 on Other - Surgical, as the reference allows'),
       ('173', 'X05', true, 'report 172 and 173 on Other - Surgical, as the reference allows');
SELECT tfc, name, rtt_line, consultant_led, overridden
FROM ptl.treatment_function_in_use WHERE tfc IN ('170', '172', '173') ORDER BY tfc;

-- Local codes are added as ordinary rows, and can be changed.
INSERT INTO ptl.treatment_function (tfc, name, rtt_line) VALUES ('999', 'Local test service', 'X06');
UPDATE ptl.treatment_function SET consultant_led = false WHERE tfc = '999';
SELECT tfc, rtt_line, consultant_led, shipped FROM ptl.treatment_function WHERE tfc = '999';

DELETE FROM ptl.treatment_function_override;
DELETE FROM ptl.treatment_function WHERE tfc = '999';
