/*
 * types.h
 *		Shared declarations of ptl's base types: nhs_number, rtt_status and
 *		clinical_priority.
 *
 * Every type's text parser reports a problem instead of raising, so that the
 * input function (which raises) and ptl.check_input (which returns the
 * problem) say exactly the same thing.
 */
#ifndef PTL_TYPES_H
#define PTL_TYPES_H

#include "fmgr.h"

/* What a parser found wrong: the pieces of the error it would raise. */
typedef struct TypeProblem
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;			/* NULL if none */
	char	   *hint;			/* NULL if none */
} TypeProblem;

extern void ReportTypeProblem(const TypeProblem *problem) pg_attribute_noreturn();

/* nhs_number.c */
extern bool NhsNumberFromString(const char *str, int64 *result, TypeProblem *problem);
extern Datum nhs_number_in(PG_FUNCTION_ARGS);

/* rtt_status.c */
extern bool RttStatusFromString(const char *str, int16 *result, TypeProblem *problem);
extern Datum rtt_status_in(PG_FUNCTION_ARGS);

/* clinical_priority.c */
extern bool ClinicalPriorityFromString(const char *str, int16 *result, TypeProblem *problem);
extern Datum clinical_priority_in(PG_FUNCTION_ARGS);

/*
 * The six comparison operators and the btree comparison function of a type
 * whose Datum holds an integer, so that the three types share one reading
 * of "less than".
 */
#define PTL_COMPARISON_FUNCTIONS(prefix, GETARG) \
PG_FUNCTION_INFO_V1(prefix##_eq); \
Datum prefix##_eq(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) == GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_ne); \
Datum prefix##_ne(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) != GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_lt); \
Datum prefix##_lt(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) < GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_le); \
Datum prefix##_le(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) <= GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_gt); \
Datum prefix##_gt(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) > GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_ge); \
Datum prefix##_ge(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(GETARG(0) >= GETARG(1)); } \
PG_FUNCTION_INFO_V1(prefix##_cmp); \
Datum prefix##_cmp(PG_FUNCTION_ARGS) \
{ \
	if (GETARG(0) < GETARG(1)) \
		PG_RETURN_INT32(-1); \
	PG_RETURN_INT32(GETARG(0) > GETARG(1) ? 1 : 0); \
}

#endif							/* PTL_TYPES_H */
