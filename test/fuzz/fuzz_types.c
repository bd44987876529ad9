/*
 * fuzz_types.c
 *		libFuzzer target for the text input of ptl's base types.
 *
 * Input layout: byte 0 selects the type and the database encoding, the rest
 * (up to the first NUL) is the C string handed to the input function.
 *
 *	 byte 0, low nibble (mod 7)	 type
 *		0	nhs_number			src/types/nhs_number.c
 *		1	rtt_status			src/types/rtt_status.c
 *		2	clinical_priority	src/types/clinical_priority.c
 *		3	target_elapsed		src/types/target_elapsed.c
 *		4	int2 \
 *		5	int4  > ptl.check_input's integer checker (src/types/check_input.c)
 *		6	int8 /
 *	 byte 0, bits 4-5			 database encoding
 *		0 UTF8, 1 SQL_ASCII, 2 LATIN1, 3 EUC_JP
 *
 * A string that is not valid in the database encoding is dropped, as the
 * server refuses it before any input function sees it.
 *
 * For each input the harness calls the non-raising parser, the input
 * function itself (its ereport caught by PG_TRY), and, where the type has
 * them, the check_input path; all must agree with each other and with a
 * small independent oracle written from the documented rules.  An accepted
 * value goes back through the output function and is parsed again, and
 * through send/recv; both must give the same value.  A broken invariant
 * calls abort(), which libFuzzer reports as a crash: that is a bug.
 */
#include "postgres.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/elog.h"

#include "types/types.h"

#include "backend_shim.h"

/* The extension's functions that types.h does not declare. */
extern Datum nhs_number_out(PG_FUNCTION_ARGS);
extern Datum nhs_number_send(PG_FUNCTION_ARGS);
extern Datum nhs_number_recv(PG_FUNCTION_ARGS);
extern Datum nhs_number_from_bigint(PG_FUNCTION_ARGS);
extern Datum nhs_number_valid(PG_FUNCTION_ARGS);
extern Datum rtt_status_out(PG_FUNCTION_ARGS);
extern Datum rtt_status_send(PG_FUNCTION_ARGS);
extern Datum rtt_status_recv(PG_FUNCTION_ARGS);
extern Datum rtt_status_from_integer(PG_FUNCTION_ARGS);
extern Datum rtt_status_starts_clock(PG_FUNCTION_ARGS);
extern Datum rtt_status_continues_clock(PG_FUNCTION_ARGS);
extern Datum rtt_status_stops_clock(PG_FUNCTION_ARGS);
extern Datum rtt_status_nullifies_clock(PG_FUNCTION_ARGS);
extern Datum rtt_status_outside_rtt(PG_FUNCTION_ARGS);
extern Datum rtt_status_group(PG_FUNCTION_ARGS);
extern Datum rtt_status_description(PG_FUNCTION_ARGS);
extern Datum clinical_priority_out(PG_FUNCTION_ARGS);
extern Datum clinical_priority_send(PG_FUNCTION_ARGS);
extern Datum clinical_priority_recv(PG_FUNCTION_ARGS);
extern Datum target_elapsed_in(PG_FUNCTION_ARGS);
extern Datum target_elapsed_out(PG_FUNCTION_ARGS);
extern Datum target_elapsed_send(PG_FUNCTION_ARGS);
extern Datum target_elapsed_recv(PG_FUNCTION_ARGS);
extern Datum target_elapsed(PG_FUNCTION_ARGS);
extern Datum target_elapsed_pct(PG_FUNCTION_ARGS);
extern Datum target_elapsed_wait_days(PG_FUNCTION_ARGS);
extern Datum target_elapsed_target_days(PG_FUNCTION_ARGS);
extern Datum target_elapsed_cmp(PG_FUNCTION_ARGS);

/* check_input_unit.c */
extern bool fuzz_IntegerFromString(const char *str, int64 min,
								   const char *typname, TypeProblem *problem);

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...) fuzz_fail(__VA_ARGS__)

/* ---------------------------------------------------------------- calling */

/* The five-character SQLSTATE of an error code, for messages. */
static const char *
unpack_sql_state_local(int sql_state)
{
	static char buf[6];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sql_state);
		sql_state >>= 6;
	}
	buf[5] = '\0';
	return buf;
}


static Datum
call_fn(PGFunction fn, int nargs, Datum a0, Datum a1)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = a0;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = a1;
	fcinfo->args[1].isnull = false;
	result = fn(fcinfo);
	if (fcinfo->isnull)
		FAIL("a function returned NULL");
	return result;
}

/* Call fn; false and *err if it raised an ERROR. */
static bool
try_call(PGFunction fn, int nargs, Datum a0, Datum a1, Datum *result,
		 FuzzError *err)
{
	volatile bool ok = false;

	PG_TRY();
	{
		*result = call_fn(fn, nargs, a0, a1);
		ok = true;
	}
	PG_CATCH();
	{
		fuzz_take_error(err);
	}
	PG_END_TRY();
	return ok;
}

/* Call fn, which must not raise (what, for the report, names the call). */
static Datum
must_call(const char *what, PGFunction fn, int nargs, Datum a0, Datum a1)
{
	Datum		result = 0;
	FuzzError	err;

	if (!try_call(fn, nargs, a0, a1, &result, &err))
		FAIL("%s raised SQLSTATE %s at %s:%d: %s", what,
			 unpack_sql_state_local(err.sqlerrcode), err.filename, err.lineno,
			 err.message ? err.message : "(no message)");
	return result;
}

/* send, then recv: the value must survive and recv must read every byte. */
static Datum
binary_roundtrip(const char *what, PGFunction send, PGFunction recv, Datum value)
{
	bytea	   *bytes = (bytea *) DatumGetPointer(must_call(what, send, 1, value, 0));
	StringInfoData buf;
	Datum		result;

	buf.data = VARDATA(bytes);
	buf.len = VARSIZE(bytes) - VARHDRSZ;
	buf.maxlen = buf.len;
	buf.cursor = 0;
	result = must_call(what, recv, 1, PointerGetDatum(&buf), 0);
	if (buf.cursor != buf.len)
		FAIL("%s: recv read %d of %d bytes", what, buf.cursor, buf.len);
	return result;
}

/* ---------------------------------------------------------------- helpers */

/* The string with surrounding isspace() removed, as [*start, *start+*len). */
static void
trim_space(const char *s, const char **start, size_t *len)
{
	const char *b = s;
	const char *e = s + strlen(s);

	while (b < e && isspace((unsigned char) *b))
		b++;
	while (e > b && isspace((unsigned char) e[-1]))
		e--;
	*start = b;
	*len = e - b;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* An input error must be an ordinary ERROR naming the input. */
static void
check_input_error(const char *type, const FuzzError *err, const char *str,
				  int expected_code)
{
	if (err->elevel != ERROR)
		FAIL("%s: error at level %d", type, err->elevel);
	if (err->sqlerrcode != expected_code)
	{
		char		expected[6];

		strlcpy(expected, unpack_sql_state_local(expected_code), sizeof(expected));
		FAIL("%s: input raised SQLSTATE %s (%s:%d: %s), expected %s", type,
			 unpack_sql_state_local(err->sqlerrcode), err->filename,
			 err->lineno, err->message ? err->message : "(no message)",
			 expected);
	}
	if (err->message == NULL)
		FAIL("%s: error without a message", type);
}

/* Invariants shared by the three types with a TypeProblem. */
static void
check_problem_matches(const char *type, const TypeProblem *problem,
					  const FuzzError *err, const char *str)
{
	check_input_error(type, err, str, ERRCODE_INVALID_TEXT_REPRESENTATION);
	if (problem->sqlerrcode != ERRCODE_INVALID_TEXT_REPRESENTATION)
		FAIL("%s: check_input reports SQLSTATE %s", type,
			 unpack_sql_state_local(problem->sqlerrcode));
	if (!str_eq(problem->message, err->message) ||
		!str_eq(problem->detail, err->detail) ||
		!str_eq(problem->hint, err->hint))
		FAIL("%s: check_input and the cast disagree: \"%s\" vs \"%s\"", type,
			 problem->message ? problem->message : "(null)", err->message);
	if (strstr(problem->message, str) == NULL)
		FAIL("%s: the message does not quote the input", type);
	if (problem->detail == NULL)
		FAIL("%s: a rejected input has no detail", type);
}

/* ---------------------------------------------------------------- nhs_number */

/*
 * Independent oracle from the NHS Data Dictionary's NHS NUMBER and types.h: the first
 * broken rule in the order character, length, grouping, check digit.
 */
static NhsNumberStatus
nhs_oracle(const char *str, int64 *value, int *bad_position)
{
	const char *s;
	size_t		len;
	int			ndigits = 0;
	char		d[10];
	int			sum = 0;
	int			check;

	trim_space(str, &s, &len);
	for (size_t i = 0; i < len; i++)
	{
		if (!(isdigit((unsigned char) s[i]) || s[i] == ' ' || s[i] == '-'))
		{
			/* 1-based character position in the untrimmed input */
			const char *p = str;
			int			chars = 0;

			while (p < s + i)
			{
				p += pg_encoding_mblen(GetDatabaseEncoding(), p);
				chars++;
			}
			*bad_position = chars + 1;
			return NHS_NUMBER_BAD_CHARACTER;
		}
		if (isdigit((unsigned char) s[i]))
		{
			if (ndigits < 10)
				d[ndigits] = s[i] - '0';
			ndigits++;
		}
	}
	if (ndigits != 10)
		return NHS_NUMBER_WRONG_LENGTH;
	/* Exactly "dddddddddd", "ddd ddd dddd" or "ddd-ddd-dddd". */
	if (len != 10 &&
		!(len == 12 && (s[3] == ' ' || s[3] == '-') && s[7] == s[3]))
		return NHS_NUMBER_BAD_SEPARATORS;
	for (int i = 0; i < 9; i++)
		sum += d[i] * (10 - i);
	check = (11 - sum % 11) % 11;
	if (check == 10)
		return NHS_NUMBER_CHECK_VALUE_10;
	if (check != d[9])
		return NHS_NUMBER_WRONG_CHECK_DIGIT;
	*value = 0;
	for (int i = 0; i < 10; i++)
		*value = *value * 10 + d[i];
	return NHS_NUMBER_OK;
}

static void
fuzz_nhs_number(const char *str)
{
	int64		v_parse = -1,
				v_from = -1,
				v_oracle = -1;
	NhsNumberFault fault;
	NhsNumberStatus status;
	NhsNumberStatus expected;
	int			bad_position = 0;
	TypeProblem problem = {0};
	bool		ok_from;
	Datum		d_in;
	FuzzError	err;
	bool		ok_in;
	bool		valid;

	memset(&fault, 0, sizeof(fault));
	status = nhs_number_parse(str, &v_parse, &fault);
	expected = nhs_oracle(str, &v_oracle, &bad_position);
	if (status != expected)
		FAIL("nhs_number: nhs_number_parse says %d, the rules say %d", status, expected);
	ok_from = nhs_number_from_string(str, &v_from, &problem);
	ok_in = try_call(nhs_number_in, 1, CStringGetDatum(str), 0, &d_in, &err);
	valid = DatumGetBool(must_call("nhs_number_valid", nhs_number_valid, 1,
								   PointerGetDatum(cstring_to_text(str)), 0));
	if (ok_from != (status == NHS_NUMBER_OK) || ok_in != ok_from || valid != ok_from)
		FAIL("nhs_number: parse %d, FromString %d, input %d, valid %d disagree",
			 status, ok_from, ok_in, valid);

	if (!ok_in)
	{
		check_problem_matches("nhs_number", &problem, &err, str);
		if (status == NHS_NUMBER_BAD_CHARACTER)
		{
			if (fault.position != bad_position)
				FAIL("nhs_number: bad character at position %d, reported %d",
					 bad_position, fault.position);
			if (fault.character < str || fault.character >= str + strlen(str) ||
				fault.character_len < 1 ||
				fault.character + fault.character_len > str + strlen(str))
				FAIL("nhs_number: the bad character lies outside the input");
		}
		if ((problem.hint != NULL) == (status == NHS_NUMBER_OUT_OF_RANGE))
			FAIL("nhs_number: hint presence wrong for status %d", status);
		return;
	}

	/* Accepted: the same value every way, a valid number in range. */
	{
		int64		value = DatumGetInt64(d_in);
		char	   *out;
		int64		again = -1;
		const char *s;
		size_t		len;
		size_t		o = 0;

		if (value != v_parse || value != v_from || value != v_oracle)
			FAIL("nhs_number: values differ: in " INT64_FORMAT ", parse " INT64_FORMAT
				 ", oracle " INT64_FORMAT, value, v_parse, v_oracle);
		if (value < 0 || value > NHS_NUMBER_MAX ||
			nhs_number_check_integer(value, &fault) != NHS_NUMBER_OK)
			FAIL("nhs_number: accepted " INT64_FORMAT " fails the integer check", value);

		out = DatumGetCString(must_call("nhs_number_out", nhs_number_out, 1, d_in, 0));
		if (strlen(out) != 12 || out[3] != ' ' || out[7] != ' ')
			FAIL("nhs_number: output \"%s\" is not ddd ddd dddd", out);
		/* The digits of the input, in order, are the digits of the output. */
		trim_space(str, &s, &len);
		for (size_t i = 0; i < len; i++)
		{
			if (!isdigit((unsigned char) s[i]))
				continue;
			if (o == 3 || o == 7)
				o++;
			if (out[o++] != s[i])
				FAIL("nhs_number: \"%s\" printed as \"%s\"", str, out);
		}
		if (nhs_number_parse(out, &again, &fault) != NHS_NUMBER_OK || again != value)
			FAIL("nhs_number: output \"%s\" does not parse back", out);
		if (DatumGetInt64(must_call("nhs_number_in(out)", nhs_number_in, 1,
									CStringGetDatum(out), 0)) != value)
			FAIL("nhs_number: text round trip changed \"%s\"", out);
		if (DatumGetInt64(binary_roundtrip("nhs_number send/recv", nhs_number_send,
										   nhs_number_recv, d_in)) != value)
			FAIL("nhs_number: binary round trip changed " INT64_FORMAT, value);
		if (DatumGetInt64(must_call("nhs_number_from_bigint", nhs_number_from_bigint,
									1, Int64GetDatum(value), 0)) != value)
			FAIL("nhs_number: bigint cast changed " INT64_FORMAT, value);
	}
}

/* ---------------------------------------------------------------- rtt_status */

/* The 17 codes, from the detail text and the NHS Data Dictionary. */
static const int rtt_codes[] = {10, 11, 12, 20, 21, 30, 31, 32, 33, 34, 35, 36,
90, 91, 92, 98, 99};

static bool
rtt_oracle(const char *str, int16 *code)
{
	const char *s;
	size_t		len;

	trim_space(str, &s, &len);
	if (len != 2 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]))
		return false;
	for (int i = 0; i < lengthof(rtt_codes); i++)
	{
		if (rtt_codes[i] == (s[0] - '0') * 10 + (s[1] - '0'))
		{
			*code = rtt_codes[i];
			return true;
		}
	}
	return false;
}

static void
fuzz_rtt_status(const char *str)
{
	int16		c_parse = -1,
				c_from = -1,
				c_oracle = -1;
	bool		ok_parse = rtt_status_parse(str, &c_parse);
	bool		ok_oracle = rtt_oracle(str, &c_oracle);
	TypeProblem problem = {0};
	bool		ok_from = rtt_status_from_string(str, &c_from, &problem);
	Datum		d_in;
	FuzzError	err;
	bool		ok_in = try_call(rtt_status_in, 1, CStringGetDatum(str), 0, &d_in, &err);

	if (ok_parse != ok_oracle || ok_from != ok_parse || ok_in != ok_parse)
		FAIL("rtt_status: parse %d, oracle %d, FromString %d, input %d disagree",
			 ok_parse, ok_oracle, ok_from, ok_in);
	if (!ok_in)
	{
		check_problem_matches("rtt_status", &problem, &err, str);
		return;
	}

	{
		int16		code = DatumGetInt16(d_in);
		char	   *out;
		const char *s;
		size_t		len;
		int			groups;
		const char *group;

		if (code != c_parse || code != c_from || code != c_oracle)
			FAIL("rtt_status: values differ: %d %d %d %d", code, c_parse, c_from, c_oracle);
		out = DatumGetCString(must_call("rtt_status_out", rtt_status_out, 1, d_in, 0));
		trim_space(str, &s, &len);
		if (strlen(out) != len || memcmp(out, s, len) != 0)
			FAIL("rtt_status: \"%s\" printed as \"%s\"", str, out);
		if (DatumGetInt16(must_call("rtt_status_in(out)", rtt_status_in, 1,
									CStringGetDatum(out), 0)) != code)
			FAIL("rtt_status: text round trip changed \"%s\"", out);
		if (DatumGetInt16(binary_roundtrip("rtt_status send/recv", rtt_status_send,
										   rtt_status_recv, d_in)) != code)
			FAIL("rtt_status: binary round trip changed %d", code);
		if (DatumGetInt16(must_call("rtt_status_from_integer", rtt_status_from_integer,
									1, Int32GetDatum(code), 0)) != code)
			FAIL("rtt_status: integer cast changed %d", code);

		/* Every accepted code is in the table: one group, a description. */
		groups = DatumGetBool(must_call("starts", rtt_status_starts_clock, 1, d_in, 0)) +
			DatumGetBool(must_call("continues", rtt_status_continues_clock, 1, d_in, 0)) +
			DatumGetBool(must_call("stops", rtt_status_stops_clock, 1, d_in, 0)) +
			DatumGetBool(must_call("outside", rtt_status_outside_rtt, 1, d_in, 0));
		(void) must_call("nullifies", rtt_status_nullifies_clock, 1, d_in, 0);
		group = text_to_cstring((text *) DatumGetPointer(
														 must_call("group", rtt_status_group, 1, d_in, 0)));
		(void) must_call("description", rtt_status_description, 1, d_in, 0);
		if (groups != (strcmp(group, "unknown") == 0 ? 0 : 1))
			FAIL("rtt_status: code %d is in %d clock groups (group %s)", code, groups, group);
	}
}

/* ---------------------------------------------------------------- clinical_priority */

static const char *const priority_spellings[] = {"P1a", "P1b", "P2", "P3", "P4", "P5", "P6"};

static void
fuzz_clinical_priority(const char *str)
{
	int16		v_from = -1;
	TypeProblem problem = {0};
	bool		ok_from = clinical_priority_from_string(str, &v_from, &problem);
	Datum		d_in;
	FuzzError	err;
	bool		ok_in = try_call(clinical_priority_in, 1, CStringGetDatum(str), 0, &d_in, &err);
	const char *s;
	size_t		len;
	int			oracle = -1;

	trim_space(str, &s, &len);
	for (int i = 0; i < lengthof(priority_spellings); i++)
	{
		if (strlen(priority_spellings[i]) == len &&
			pg_strncasecmp(s, priority_spellings[i], len) == 0)
			oracle = i;
	}
	if (ok_from != (oracle >= 0) || ok_in != ok_from)
		FAIL("clinical_priority: oracle %d, FromString %d, input %d disagree",
			 oracle, ok_from, ok_in);
	if (!ok_in)
	{
		bool		p1 = len == 2 && pg_strncasecmp(s, "P1", 2) == 0;

		check_problem_matches("clinical_priority", &problem, &err, str);
		if ((problem.hint != NULL) != p1)
			FAIL("clinical_priority: P1 hint %s for \"%s\"",
				 problem.hint ? "given" : "missing", str);
		return;
	}

	{
		int16		value = DatumGetInt16(d_in);
		char	   *out;

		if (value != v_from || value != oracle)
			FAIL("clinical_priority: values differ: %d %d %d", value, v_from, oracle);
		out = DatumGetCString(must_call("clinical_priority_out", clinical_priority_out,
										1, d_in, 0));
		if (strcmp(out, priority_spellings[value]) != 0)
			FAIL("clinical_priority: %d printed as \"%s\"", value, out);
		if (DatumGetInt16(must_call("clinical_priority_in(out)", clinical_priority_in, 1,
									CStringGetDatum(out), 0)) != value)
			FAIL("clinical_priority: text round trip changed \"%s\"", out);
		if (DatumGetInt16(binary_roundtrip("clinical_priority send/recv",
										   clinical_priority_send,
										   clinical_priority_recv, d_in)) != value)
			FAIL("clinical_priority: binary round trip changed %d", value);
	}
}

/* ---------------------------------------------------------------- target_elapsed */

typedef enum
{
	TE_OK,
	TE_SYNTAX,					/* 22P02 */
	TE_RANGE					/* 22023: wait < 0 or target < 1 */
} TeVerdict;

/* [ \t]*[+-]?digits, of int32 range; advances *p. */
static bool
te_oracle_int(const char **p, int64 *value)
{
	const char *s = *p;
	bool		negative = false;
	int64		magnitude = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+' || *s == '-')
		negative = *s++ == '-';
	if (!isdigit((unsigned char) *s))
		return false;
	while (isdigit((unsigned char) *s))
	{
		magnitude = magnitude * 10 + (*s++ - '0');
		if (magnitude > (int64) PG_INT32_MAX + 1)
			magnitude = (int64) PG_INT32_MAX + 2;	/* saturate: out of range */
	}
	*value = negative ? -magnitude : magnitude;
	if (*value < PG_INT32_MIN || *value > PG_INT32_MAX)
		return false;
	*p = s;
	return true;
}

/* The documented form: "wait/target", spaces or tabs around either. */
static TeVerdict
te_oracle(const char *str, int64 *wait, int64 *target)
{
	const char *p = str;

	if (!te_oracle_int(&p, wait))
		return TE_SYNTAX;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '/')
		return TE_SYNTAX;
	if (!te_oracle_int(&p, target))
		return TE_SYNTAX;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return TE_SYNTAX;
	return *wait >= 0 && *target >= 1 ? TE_OK : TE_RANGE;
}

static void
fuzz_target_elapsed(const char *str)
{
	int64		o_wait = 0,
				o_target = 0;
	TeVerdict	verdict = te_oracle(str, &o_wait, &o_target);
	Datum		d_in;
	FuzzError	err;
	bool		ok_in = try_call(target_elapsed_in, 1, CStringGetDatum(str), 0, &d_in, &err);

	if (ok_in != (verdict == TE_OK))
		FAIL("target_elapsed: input %s, the documented form says %d",
			 ok_in ? "accepted" : "rejected", verdict);
	if (!ok_in)
	{
		check_input_error("target_elapsed", &err, str,
						  verdict == TE_SYNTAX ? ERRCODE_INVALID_TEXT_REPRESENTATION :
						  ERRCODE_INVALID_PARAMETER_VALUE);
		if (verdict == TE_SYNTAX && strstr(err.message, str) == NULL)
			FAIL("target_elapsed: the message does not quote the input");
		return;
	}

	{
		int64		value = DatumGetInt64(d_in);
		int32		wait = DatumGetInt32(must_call("wait_days", target_elapsed_wait_days,
												   1, d_in, 0));
		int32		target = DatumGetInt32(must_call("target_days", target_elapsed_target_days,
													 1, d_in, 0));
		char	   *out;
		char	   *expected;

		if (wait != o_wait || target != o_target)
			FAIL("target_elapsed: \"%s\" read as %d/%d", str, wait, target);
		out = DatumGetCString(must_call("target_elapsed_out", target_elapsed_out, 1, d_in, 0));
		expected = psprintf("%d/%d", wait, target);
		if (strcmp(out, expected) != 0)
			FAIL("target_elapsed: %d/%d printed as \"%s\"", wait, target, out);
		if (DatumGetInt64(must_call("target_elapsed_in(out)", target_elapsed_in, 1,
									CStringGetDatum(out), 0)) != value)
			FAIL("target_elapsed: text round trip changed \"%s\"", out);
		if (DatumGetInt64(binary_roundtrip("target_elapsed send/recv", target_elapsed_send,
										   target_elapsed_recv, d_in)) != value)
			FAIL("target_elapsed: binary round trip changed \"%s\"", out);
		if (DatumGetInt64(must_call("target_elapsed()", target_elapsed, 2,
									Int32GetDatum(wait), Int32GetDatum(target))) != value)
			FAIL("target_elapsed: constructor disagrees for \"%s\"", out);
		if (DatumGetInt32(must_call("target_elapsed_cmp", target_elapsed_cmp, 2,
									d_in, d_in)) != 0)
			FAIL("target_elapsed: \"%s\" does not equal itself", out);
		(void) must_call("target_elapsed_pct", target_elapsed_pct, 1, d_in, 0);
	}
}

/* ---------------------------------------------------------------- integers */

typedef enum
{
	INT_OK,
	INT_SYNTAX,					/* 22P02 */
	INT_RANGE					/* 22003 */
} IntVerdict;

/*
 * PostgreSQL 15's pg_strtoint16/32/64 as documented: optional isspace,
 * optional sign, digits, optional isspace.  Digits too many for the type
 * are out of range even if junk follows; the magnitude of min without a
 * minus sign is out of range only if the rest is well formed.
 */
static IntVerdict
int_oracle(const char *str, int64 min)
{
	const char *p = str;
	bool		negative = false;
	uint64		limit = (uint64) (-(min + 1)) + 1;	/* |min| */
	uint64		magnitude = 0;
	bool		too_big = false;

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	if (!isdigit((unsigned char) *p))
		return INT_SYNTAX;
	while (isdigit((unsigned char) *p))
	{
		unsigned	digit = *p++ - '0';

		if (!too_big && magnitude > (limit - digit) / 10)
			too_big = true;
		if (!too_big)
			magnitude = magnitude * 10 + digit;
	}
	if (too_big)
		return INT_RANGE;
	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return INT_SYNTAX;
	if (!negative && magnitude == limit)
		return INT_RANGE;
	return INT_OK;
}

static void
fuzz_integer(const char *str, int64 min, const char *typname)
{
	TypeProblem problem = {0};
	bool		ok = fuzz_IntegerFromString(str, min, typname, &problem);
	IntVerdict	verdict = int_oracle(str, min);

	if (ok != (verdict == INT_OK))
		FAIL("check_input(%s): %s, PostgreSQL 15's rules say %d", typname,
			 ok ? "accepted" : "rejected", verdict);
	if (ok)
		return;
	if (problem.sqlerrcode != (verdict == INT_SYNTAX ? ERRCODE_INVALID_TEXT_REPRESENTATION :
							   ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE))
		FAIL("check_input(%s): SQLSTATE %s for verdict %d", typname,
			 unpack_sql_state_local(problem.sqlerrcode), verdict);
	if (problem.message == NULL || strstr(problem.message, str) == NULL ||
		strstr(problem.message, typname) == NULL)
		FAIL("check_input(%s): the message does not name the input and type", typname);
}

/* ---------------------------------------------------------------- entry */

static const int encodings[] = {PG_UTF8, PG_SQL_ASCII, PG_LATIN1, PG_EUC_JP};

#define NUM_TYPES 7

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			type;
	int			encoding;
	size_t		len;
	char	   *str;

	if (size < 1)
		return 0;
	type = (data[0] & 0x0F) % NUM_TYPES;
	encoding = encodings[(data[0] >> 4) & 3];

	/* The C string: up to the first NUL, in a buffer of exactly its size. */
	len = strnlen((const char *) data + 1, size - 1);
	str = malloc(len + 1);
	if (str == NULL)
		abort();
	memcpy(str, data + 1, len);
	str[len] = '\0';

	/* The server verifies the encoding before any input function runs. */
	if (pg_encoding_max_length(encoding) > 1 &&
		pg_encoding_verifymbstr(encoding, str, (int) len) != (int) len)
	{
		free(str);
		return 0;
	}
	fuzz_set_database_encoding(encoding);

	switch (type)
	{
		case 0:
			fuzz_nhs_number(str);
			break;
		case 1:
			fuzz_rtt_status(str);
			break;
		case 2:
			fuzz_clinical_priority(str);
			break;
		case 3:
			fuzz_target_elapsed(str);
			break;
		case 4:
			fuzz_integer(str, PG_INT16_MIN, "smallint");
			break;
		case 5:
			fuzz_integer(str, PG_INT32_MIN, "integer");
			break;
		case 6:
			fuzz_integer(str, PG_INT64_MIN, "bigint");
			break;
	}

	/* Input functions must leave their argument alone. */
	if (memcmp(str, data + 1, len) != 0)
		FAIL("the parser modified its input string");

	fuzz_arena_reset();
	free(str);
	return 0;
}
