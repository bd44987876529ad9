/*
 * nhs_number.c
 *		ptl.nhs_number: a valid NHS number, stored as an 8-byte integer.
 *
 * Validation follows the NHS Data Dictionary (NHS NUMBER): ten
 * digits; digits 1-9 weighted 10 down to 2; check = 11 - (sum mod 11), where
 * 11 becomes 0 and 10 means that no valid number starts with those nine
 * digits; the check must equal digit 10.  Input may be written 3-3-4 with
 * single spaces or single hyphens; output is always "943 476 5919".
 *
 * Comparison, hashing and sort support are PostgreSQL's own int8 functions
 * (declared LANGUAGE internal in types.sql), since the Datum is an int64.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "types/types.h"

#define PG_GETARG_NHS_NUMBER(n) PG_GETARG_INT64(n)
#define PG_RETURN_NHS_NUMBER(x) PG_RETURN_INT64(x)

#define NHS_NUMBER_FORMS_HINT \
	"Write an NHS number as 10 digits, optionally grouped 3-3-4 by single spaces or single hyphens, e.g. 943 476 5919."
#define NHS_NUMBER_CHECK_HINT \
	"The number may have been mistyped; check it against the patient's record or the Personal Demographics Service."

/*
 * Modulus 11 check digit of the first nine digits: 0-9, or 10 when no check
 * digit can make the number valid.
 */
static int
nhs_number_check_digit(const int digits[10])
{
	int			sum = 0;
	int			check;

	for (int i = 0; i < 9; i++)
		sum += digits[i] * (10 - i);
	check = 11 - sum % 11;
	return check == 11 ? 0 : check;
}

/*
 * Parse an NHS number: 10 digits, or 3-3-4 with the same single space or
 * hyphen twice, surrounding white space ignored.  Returns NHS_NUMBER_OK and
 * sets *result, or returns the first rule broken (a character that does not
 * belong, then the number of digits, then the grouping, then the check
 * digit) with its particulars in *fault.  Never raises.
 */
NhsNumberStatus
nhs_number_parse(const char *str, int64 *result, NhsNumberFault *fault)
{
	const char *start = str;
	const char *end = str + strlen(str);
	int			digits[10];
	int			ndigits = 0;
	int			nseparators = 0;
	char		separator = '\0';
	bool		grouping_ok = true;
	int			check;
	int64		value = 0;

	while (start < end && isspace((unsigned char) *start))
		start++;
	while (end > start && isspace((unsigned char) end[-1]))
		end--;

	for (const char *p = start; p < end; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (ndigits < 10)
				digits[ndigits] = *p - '0';
			ndigits++;
		}
		else if (*p == ' ' || *p == '-')
		{
			/* The first separator follows digit 3, the second digit 6. */
			if (nseparators >= 2 ||
				ndigits != (nseparators == 0 ? 3 : 6) ||
				(separator != '\0' && *p != separator))
				grouping_ok = false;
			separator = *p;
			nseparators++;
		}
		else
		{
			fault->position = pg_mbstrlen_with_len(str, p - str) + 1;
			fault->character = p;
			fault->character_len = Min(pg_mblen(p), (int) (end - p));
			return NHS_NUMBER_BAD_CHARACTER;
		}
	}

	if (ndigits != 10)
	{
		fault->ndigits = ndigits;
		return NHS_NUMBER_WRONG_LENGTH;
	}
	if (!grouping_ok || nseparators == 1)
		return NHS_NUMBER_BAD_SEPARATORS;

	check = nhs_number_check_digit(digits);
	if (check == 10)
		return NHS_NUMBER_CHECK_VALUE_10;
	if (check != digits[9])
	{
		fault->found = digits[9];
		fault->expected = check;
		return NHS_NUMBER_WRONG_CHECK_DIGIT;
	}

	for (int i = 0; i < 10; i++)
		value = value * 10 + digits[i];
	*result = value;
	return NHS_NUMBER_OK;
}

/*
 * Check an integer as an NHS number (binary receive, cast from bigint): it
 * must lie in 0..9999999999, and its 10 digits, with leading zeros, must
 * pass the same parser as text.
 */
NhsNumberStatus
nhs_number_check_integer(int64 value, NhsNumberFault *fault)
{
	char		buf[11];
	int64		parsed;

	if (value < 0 || value > NHS_NUMBER_MAX)
		return NHS_NUMBER_OUT_OF_RANGE;
	snprintf(buf, sizeof(buf), "%010lld", (long long) value);
	return nhs_number_parse(buf, &parsed, fault);
}

/* Name a character of the input for an error detail, visibly. */
static char *
describe_character(const char *p, int len)
{
	unsigned char c = (unsigned char) *p;

	if (c < 0x80 && isprint(c))
		return psprintf("\"%c\"", c);
	if (c < 0x80)
		return psprintf("U+%04X", c);	/* a control character */
	/* The code point only of a whole character (the fuzzer found a lone
	 * lead byte read past the end, were it ever given unchecked bytes). */
	if (GetDatabaseEncoding() == PG_UTF8 && pg_utf_mblen((const unsigned char *) p) == len)
		return psprintf("\"%.*s\" (U+%04X)", len, p,
						(unsigned int) utf8_to_unicode((const unsigned char *) p));
	return psprintf("\"%.*s\"", len, p);
}

/* The error detail for a failed parse: one full sentence saying why. */
char *
nhs_number_fault_detail(NhsNumberStatus status, const NhsNumberFault *fault)
{
	switch (status)
	{
		case NHS_NUMBER_OK:
			break;
		case NHS_NUMBER_BAD_CHARACTER:
			return psprintf("Character %s at position %d is not a digit, a space or a hyphen.",
							describe_character(fault->character, fault->character_len),
							fault->position);
		case NHS_NUMBER_WRONG_LENGTH:
			if (fault->ndigits == 0)
				return pstrdup("An NHS number has 10 digits, but this value has none.");
			return psprintf("An NHS number has 10 digits, but this value has %d.",
							fault->ndigits);
		case NHS_NUMBER_BAD_SEPARATORS:
			return pstrdup("Spaces or hyphens may only group the digits 3-3-4, with the same single separator both times.");
		case NHS_NUMBER_CHECK_VALUE_10:
			return pstrdup("The Modulus 11 check value of the first nine digits is 10, so no valid NHS number starts with these nine digits.");
		case NHS_NUMBER_WRONG_CHECK_DIGIT:
			return psprintf("The check digit is %d, but Modulus 11 of the first nine digits requires %d.",
							fault->found, fault->expected);
		case NHS_NUMBER_OUT_OF_RANGE:
			return pstrdup("An NHS number is a 10-digit number from 0 to 9999999999.");
	}
	return NULL;
}

/* The error hint for a failed parse: what to do about it. */
char *
nhs_number_fault_hint(NhsNumberStatus status)
{
	switch (status)
	{
		case NHS_NUMBER_BAD_CHARACTER:
		case NHS_NUMBER_WRONG_LENGTH:
		case NHS_NUMBER_BAD_SEPARATORS:
			return pstrdup(NHS_NUMBER_FORMS_HINT);
		case NHS_NUMBER_CHECK_VALUE_10:
		case NHS_NUMBER_WRONG_CHECK_DIGIT:
			return pstrdup(NHS_NUMBER_CHECK_HINT);
		case NHS_NUMBER_OK:
		case NHS_NUMBER_OUT_OF_RANGE:
			break;
	}
	return NULL;
}

/*
 * Parse text as an NHS number; on failure describe the error that text
 * input raises (for ptl.check_input and nhs_number_in alike).
 */
bool
nhs_number_from_string(const char *str, int64 *result, TypeProblem *problem)
{
	NhsNumberFault fault;
	NhsNumberStatus status = nhs_number_parse(str, result, &fault);

	if (status == NHS_NUMBER_OK)
		return true;
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type nhs_number: \"%s\"", str);
	problem->detail = nhs_number_fault_detail(status, &fault);
	problem->hint = nhs_number_fault_hint(status);
	return false;
}

/* Text input: 10 digits, or 3-3-4 with spaces or hyphens. */
PG_FUNCTION_INFO_V1(nhs_number_in);
Datum
nhs_number_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int64		result;
	TypeProblem problem;

	if (!nhs_number_from_string(str, &result, &problem))
		report_type_problem(&problem);
	PG_RETURN_NHS_NUMBER(result);
}

/* Text output: always the 3-3-4 display form with single spaces. */
PG_FUNCTION_INFO_V1(nhs_number_out);
Datum
nhs_number_out(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_NHS_NUMBER(0);
	char	   *result = palloc(13);

	/* Fill "ddd ddd dddd" from the right. */
	result[12] = '\0';
	for (int i = 11; i >= 0; i--)
	{
		if (i == 3 || i == 7)
			result[i] = ' ';
		else
		{
			result[i] = '0' + (char) (value % 10);
			value /= 10;
		}
	}
	PG_RETURN_CSTRING(result);
}

/* Binary input: an int8, which must itself be a valid NHS number. */
PG_FUNCTION_INFO_V1(nhs_number_recv);
Datum
nhs_number_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		value = pq_getmsgint64(buf);
	NhsNumberFault fault;
	NhsNumberStatus status = nhs_number_check_integer(value, &fault);

	if (status != NHS_NUMBER_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary value for type nhs_number: " INT64_FORMAT, value),
				 errdetail_internal("%s", nhs_number_fault_detail(status, &fault))));
	PG_RETURN_NHS_NUMBER(value);
}

/* Binary output: an int8. */
PG_FUNCTION_INFO_V1(nhs_number_send);
Datum
nhs_number_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_NHS_NUMBER(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Cast from bigint: the integer must itself be a valid NHS number. */
PG_FUNCTION_INFO_V1(nhs_number_from_bigint);
Datum
nhs_number_from_bigint(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);
	NhsNumberFault fault;
	NhsNumberStatus status = nhs_number_check_integer(value, &fault);

	if (status != NHS_NUMBER_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value " INT64_FORMAT " is not a valid NHS number", value),
				 errdetail_internal("%s", nhs_number_fault_detail(status, &fault)),
				 status == NHS_NUMBER_OUT_OF_RANGE ? 0 :
				 errhint("%s", nhs_number_fault_hint(status))));
	PG_RETURN_NHS_NUMBER(value);
}

/* Whether text is a valid NHS number, by the rules of text input; never raises. */
PG_FUNCTION_INFO_V1(nhs_number_valid);
Datum
nhs_number_valid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		result;
	NhsNumberFault fault;

	PG_RETURN_BOOL(nhs_number_parse(str, &result, &fault) == NHS_NUMBER_OK);
}
