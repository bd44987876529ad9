/*
 * types.h
 *		Shared declarations of ptl's base types: nhs_number, rtt_status and
 *		clinical_priority, and of ptl.check_input.
 *
 * Every type's text parser reports what is wrong instead of raising, so the
 * input function (which raises) and ptl.check_input (which returns the
 * problem) say exactly the same thing, and the loader can test millions of
 * staged values without a subtransaction each.
 */
#ifndef PTL_TYPES_H
#define PTL_TYPES_H

#include "fmgr.h"

/* What a parser found wrong: the pieces of the error the cast raises. */
typedef struct TypeProblem
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;			/* NULL if none */
	char	   *hint;			/* NULL if none */
} TypeProblem;

/* (PostgreSQL 18 marks a function that never returns before it, not after) */
#if PG_VERSION_NUM >= 180000
pg_noreturn extern void report_type_problem(const TypeProblem *problem);
#else
extern void report_type_problem(const TypeProblem *problem) pg_attribute_noreturn();
#endif

/*
 * nhs_number.c
 *
 * nhs_number_parse is the one place where the NHS Data Dictionary rules live
 * (NHS NUMBER, Modulus 11).  It returns a reason code and never raises; text
 * input, binary receive, the bigint cast, ptl.nhs_number_valid and
 * ptl.check_input all go through it.
 */
typedef enum NhsNumberStatus
{
	NHS_NUMBER_OK = 0,
	NHS_NUMBER_BAD_CHARACTER,	/* not a digit, space or hyphen */
	NHS_NUMBER_WRONG_LENGTH,	/* not exactly 10 digits */
	NHS_NUMBER_BAD_SEPARATORS,	/* spaces/hyphens not as 3-3-4, or mixed */
	NHS_NUMBER_CHECK_VALUE_10,	/* Modulus 11 gives 10: no valid number */
	NHS_NUMBER_WRONG_CHECK_DIGIT,	/* digit 10 is not the check digit */
	NHS_NUMBER_OUT_OF_RANGE		/* an integer outside 0..9999999999 */
} NhsNumberStatus;

/* The particulars of a failed parse, for the error detail. */
typedef struct NhsNumberFault
{
	int			ndigits;		/* WRONG_LENGTH: digits found */
	int			position;		/* BAD_CHARACTER: 1-based character position */
	const char *character;		/* BAD_CHARACTER: the character in the input */
	int			character_len;	/* ... and its length in bytes */
	int			found;			/* WRONG_CHECK_DIGIT: digit 10 as written */
	int			expected;		/* WRONG_CHECK_DIGIT: the check digit */
} NhsNumberFault;

#define NHS_NUMBER_MAX	INT64CONST(9999999999)

extern NhsNumberStatus nhs_number_parse(const char *str, int64 *result,
									  NhsNumberFault *fault);
extern NhsNumberStatus nhs_number_check_integer(int64 value, NhsNumberFault *fault);
extern char *nhs_number_fault_detail(NhsNumberStatus status, const NhsNumberFault *fault);
extern char *nhs_number_fault_hint(NhsNumberStatus status);
extern bool nhs_number_from_string(const char *str, int64 *result, TypeProblem *problem);
extern Datum nhs_number_in(PG_FUNCTION_ARGS);

/* rtt_status.c */
extern bool rtt_status_parse(const char *str, int16 *result);
extern bool rtt_status_from_string(const char *str, int16 *result, TypeProblem *problem);
extern Datum rtt_status_in(PG_FUNCTION_ARGS);

/* clinical_priority.c */
extern bool clinical_priority_from_string(const char *str, int16 *result, TypeProblem *problem);
extern Datum clinical_priority_in(PG_FUNCTION_ARGS);

#endif							/* PTL_TYPES_H */
