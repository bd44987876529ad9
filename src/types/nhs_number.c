/*
 * nhs_number.c
 *		ptl.nhs_number: a valid NHS number, stored as an 8-byte integer.
 *
 * Validation follows the NHS Data Dictionary (rtt-rules.md section 7): ten
 * digits; digits 1-9 weighted 10 down to 2; check = 11 - (sum mod 11), where
 * 11 becomes 0 and 10 means no valid number has those nine digits; the check
 * must equal digit 10.  Input may be written 3-3-4 with single spaces or
 * single hyphens; output is always "943 476 5919".
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "types/types.h"

#define NHS_NUMBER_MAX INT64CONST(9999999999)
#define DatumGetNhsNumber(X)	DatumGetInt64(X)
#define NhsNumberGetDatum(X)	Int64GetDatum(X)
#define PG_GETARG_NHS_NUMBER(n) DatumGetNhsNumber(PG_GETARG_DATUM(n))
#define PG_RETURN_NHS_NUMBER(x) return NhsNumberGetDatum(x)

/*
 * Modulus 11 check value of the first nine digits: 0-9, or 10 when no check
 * digit can make the number valid.
 */
static int
NhsNumberCheckValue(const int digits[10])
{
	int			sum = 0;
	int			check;

	for (int i = 0; i < 9; i++)
		sum += digits[i] * (10 - i);
	check = 11 - (sum % 11);
	return check == 11 ? 0 : check;
}

/* Fill *problem for an input string that is not a valid NHS number. */
static void
SetNhsNumberProblem(TypeProblem *problem, const char *str, char *detail, char *hint)
{
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type nhs_number: \"%s\"", str);
	problem->detail = detail;
	problem->hint = hint;
}

/*
 * Parse an NHS number written as 10 digits or 3-3-4 with single spaces or
 * hyphens (surrounding white space ignored).  Returns true and sets *result,
 * or returns false and describes the problem; never raises.
 */
bool
NhsNumberFromString(const char *str, int64 *result, TypeProblem *problem)
{
	const char *start = str;
	const char *end = str + strlen(str);
	int			digits[10];
	int			ndigits = 0;
	int			separators = 0;
	char		separator = '\0';
	bool		layout_ok = true;
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
			/* Only "ddd?ddd?dddd", with the same single separator twice. */
			separators++;
			if ((ndigits != 3 && ndigits != 6) ||
				(separators == 1 && ndigits != 3) ||
				(separators == 2 && ndigits != 6) ||
				separators > 2 ||
				(separator != '\0' && *p != separator))
				layout_ok = false;
			separator = *p;
		}
		else
		{
			int			len = pg_mblen(p);

			SetNhsNumberProblem(problem, str,
								psprintf("Character \"%.*s\" at position %d is not a digit.",
										 (int) Min(len, end - p), p, (int) (p - str) + 1),
								pstrdup("An NHS number is 10 digits, optionally written 3-3-4 with spaces or hyphens."));
			return false;
		}
	}

	if (ndigits != 10)
	{
		SetNhsNumberProblem(problem, str,
							psprintf("An NHS number has 10 digits; this has %d.", ndigits),
							NULL);
		return false;
	}
	if (!layout_ok || separators == 1)
	{
		SetNhsNumberProblem(problem, str,
							pstrdup("Digits may be grouped only as 3-3-4, separated by single spaces or single hyphens, the same both times."),
							NULL);
		return false;
	}

	check = NhsNumberCheckValue(digits);
	if (check == 10)
	{
		SetNhsNumberProblem(problem, str,
							pstrdup("The Modulus 11 check value of the first nine digits is 10, so no valid NHS number starts with these nine digits."),
							pstrdup("Check the number against the patient's record or the Personal Demographics Service."));
		return false;
	}
	if (check != digits[9])
	{
		SetNhsNumberProblem(problem, str,
							psprintf("The check digit is %d, but Modulus 11 of the first nine digits requires %d.",
									 digits[9], check),
							pstrdup("Check the number against the patient's record or the Personal Demographics Service."));
		return false;
	}

	for (int i = 0; i < 10; i++)
		value = value * 10 + digits[i];
	*result = value;
	return true;
}

/* Whether an integer is a valid NHS number (range and check digit). */
static bool
NhsNumberValueIsValid(int64 value)
{
	int			digits[10];

	if (value < 0 || value > NHS_NUMBER_MAX)
		return false;
	for (int i = 9; i >= 0; i--)
	{
		digits[i] = (int) (value % 10);
		value /= 10;
	}
	return NhsNumberCheckValue(digits) == digits[9];
}

/*
 * Raise the error a parser described.  Shared by all three types' input
 * functions.
 */
void
ReportTypeProblem(const TypeProblem *problem)
{
	ereport(ERROR,
			(errcode(problem->sqlerrcode),
			 errmsg_internal("%s", problem->message),
			 problem->detail ? errdetail_internal("%s", problem->detail) : 0,
			 problem->hint ? errhint("%s", problem->hint) : 0));
	pg_unreachable();
}

/* Text input: 10 digits, or 3-3-4 with spaces or hyphens. */
PG_FUNCTION_INFO_V1(nhs_number_in);
Datum
nhs_number_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int64		result;
	TypeProblem problem;

	if (!NhsNumberFromString(str, &result, &problem))
		ReportTypeProblem(&problem);
	PG_RETURN_NHS_NUMBER(result);
}

/* Text output: always the 3-3-4 display form with single spaces. */
PG_FUNCTION_INFO_V1(nhs_number_out);
Datum
nhs_number_out(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_NHS_NUMBER(0);

	PG_RETURN_CSTRING(psprintf("%03d %03d %04d",
							   (int) (value / 10000000),
							   (int) (value / 10000 % 1000),
							   (int) (value % 10000)));
}

/* Binary input: an int8, validated like text input. */
PG_FUNCTION_INFO_V1(nhs_number_recv);
Datum
nhs_number_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		value = pq_getmsgint64(buf);

	if (!NhsNumberValueIsValid(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external nhs_number value " INT64_FORMAT, value),
				 errdetail("It is not a 10-digit number that passes the Modulus 11 check.")));
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

	if (value < 0 || value > NHS_NUMBER_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value " INT64_FORMAT " is not a valid NHS number", value),
				 errdetail("An NHS number is a number from 0 to 9999999999 (10 digits).")));
	if (!NhsNumberValueIsValid(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value " INT64_FORMAT " is not a valid NHS number", value),
				 errdetail("Its last digit does not pass the Modulus 11 check.")));
	PG_RETURN_NHS_NUMBER(value);
}

/* Cast to bigint: the number as an integer. */
PG_FUNCTION_INFO_V1(nhs_number_to_bigint);
Datum
nhs_number_to_bigint(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_NHS_NUMBER(0));
}

/* Whether text is a valid NHS number; never raises. */
PG_FUNCTION_INFO_V1(nhs_number_valid);
Datum
nhs_number_valid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		result;
	TypeProblem problem;

	PG_RETURN_BOOL(NhsNumberFromString(str, &result, &problem));
}

PTL_COMPARISON_FUNCTIONS(nhs_number, PG_GETARG_NHS_NUMBER)

/* Hash support 1: the same hash as bigint, so the two types hash alike. */
PG_FUNCTION_INFO_V1(nhs_number_hash);
Datum
nhs_number_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint8, PG_GETARG_DATUM(0));
}

/* Hash support 2: seeded 64-bit hash, needed by hash partitioning. */
PG_FUNCTION_INFO_V1(nhs_number_hash_extended);
Datum
nhs_number_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint8extended, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}
