/*
 * rtt_status.c
 *		ptl.rtt_status: the 17 national RTT period status codes (NHS Data
 *		Dictionary REFERRAL TO TREATMENT PERIOD STATUS; rtt-rules.md 4.3).
 *
 * Stored as a 2-byte integer.  Anything but the 17 codes is rejected, so a
 * local code must be mapped before it is loaded.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "types/types.h"

#define PG_GETARG_RTT_STATUS(n) DatumGetInt16(PG_GETARG_DATUM(n))
#define PG_RETURN_RTT_STATUS(x) return Int16GetDatum(x)

/* What a code does to the RTT clock. */
typedef enum RttStatusGroup
{
	RTT_START,					/* 10, 11, 12: first activity of a period */
	RTT_RUNNING,				/* 20, 21: the clock continues */
	RTT_STOP,					/* 30-36: the clock stops (33 also nullifies) */
	RTT_NOT_RTT,				/* 90, 91, 92, 98: outside an RTT period */
	RTT_UNKNOWN					/* 99: not yet known */
} RttStatusGroup;

typedef struct RttStatusCode
{
	int16		code;
	RttStatusGroup group;
	const char *description;
} RttStatusCode;

/* The code table: meanings paraphrased from rtt-rules.md section 4.3. */
static const RttStatusCode rtt_status_codes[] = {
	{10, RTT_START, "first activity in a new RTT period (the referral starts the clock)"},
	{11, RTT_START, "first activity of a new RTT period after active monitoring"},
	{12, RTT_START, "first activity of a new RTT period after referral to a consultant for a separate condition"},
	{20, RTT_RUNNING, "subsequent activity; more activity expected"},
	{21, RTT_RUNNING, "subsequent activity by another provider (transfer of responsibility)"},
	{30, RTT_STOP, "start of first definitive treatment"},
	{31, RTT_STOP, "start of active monitoring initiated by the patient"},
	{32, RTT_STOP, "start of active monitoring initiated by the care professional"},
	{33, RTT_STOP, "patient did not attend the first activity after referral (period nullified)"},
	{34, RTT_STOP, "decision not to treat, or no further contact required"},
	{35, RTT_STOP, "patient declined offered treatment"},
	{36, RTT_STOP, "patient died before treatment"},
	{90, RTT_NOT_RTT, "activity after first definitive treatment"},
	{91, RTT_NOT_RTT, "activity during a period of active monitoring"},
	{92, RTT_NOT_RTT, "not yet referred (diagnostics before referral)"},
	{98, RTT_NOT_RTT, "activity not applicable to RTT"},
	{99, RTT_UNKNOWN, "not yet known"},
};

#define RTT_STATUS_CODE_LIST "10, 11, 12, 20, 21, 30, 31, 32, 33, 34, 35, 36, 90, 91, 92, 98, 99"

/* The table entry of a code, or NULL if it is not one of the 17. */
static const RttStatusCode *
LookupRttStatus(int code)
{
	for (int i = 0; i < lengthof(rtt_status_codes); i++)
		if (rtt_status_codes[i].code == code)
			return &rtt_status_codes[i];
	return NULL;
}

/* The table entry of a stored value (which input has already validated). */
static const RttStatusCode *
RttStatusEntry(int16 code)
{
	const RttStatusCode *entry = LookupRttStatus(code);

	if (entry == NULL)
		elog(ERROR, "invalid rtt_status value %d", code);
	return entry;
}

/*
 * Parse a status code: two digits, surrounding white space ignored.  Returns
 * true and sets *result, or returns false and describes the problem.
 */
bool
RttStatusFromString(const char *str, int16 *result, TypeProblem *problem)
{
	const char *p = str;
	int			code;

	while (isspace((unsigned char) *p))
		p++;
	if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9')
	{
		const char *q = p + 2;

		while (isspace((unsigned char) *q))
			q++;
		code = (p[0] - '0') * 10 + (p[1] - '0');
		if (*q == '\0' && LookupRttStatus(code) != NULL)
		{
			*result = (int16) code;
			return true;
		}
	}
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type rtt_status: \"%s\"", str);
	problem->detail = pstrdup("An RTT period status must be one of the 17 national codes: " RTT_STATUS_CODE_LIST ".");
	problem->hint = pstrdup("Map local status codes to the national codes before loading.");
	return false;
}

/* Text input. */
PG_FUNCTION_INFO_V1(rtt_status_in);
Datum
rtt_status_in(PG_FUNCTION_ARGS)
{
	int16		result;
	TypeProblem problem;

	if (!RttStatusFromString(PG_GETARG_CSTRING(0), &result, &problem))
		ReportTypeProblem(&problem);
	PG_RETURN_RTT_STATUS(result);
}

/* Text output: the two-digit code. */
PG_FUNCTION_INFO_V1(rtt_status_out);
Datum
rtt_status_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(psprintf("%02d", PG_GETARG_RTT_STATUS(0)));
}

/* Binary input: an int2, which must be one of the 17 codes. */
PG_FUNCTION_INFO_V1(rtt_status_recv);
Datum
rtt_status_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int16		code = (int16) pq_getmsgint(buf, sizeof(int16));

	if (LookupRttStatus(code) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external rtt_status value %d", code),
				 errdetail("An RTT period status must be one of the 17 national codes: " RTT_STATUS_CODE_LIST ".")));
	PG_RETURN_RTT_STATUS(code);
}

/* Binary output: an int2. */
PG_FUNCTION_INFO_V1(rtt_status_send);
Datum
rtt_status_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, PG_GETARG_RTT_STATUS(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Cast from integer: must be one of the 17 codes. */
PG_FUNCTION_INFO_V1(rtt_status_from_integer);
Datum
rtt_status_from_integer(PG_FUNCTION_ARGS)
{
	int32		code = PG_GETARG_INT32(0);

	if (LookupRttStatus(code) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d is not an RTT period status", code),
				 errdetail("An RTT period status must be one of the 17 national codes: " RTT_STATUS_CODE_LIST ".")));
	PG_RETURN_RTT_STATUS((int16) code);
}

/* Cast to integer. */
PG_FUNCTION_INFO_V1(rtt_status_to_integer);
Datum
rtt_status_to_integer(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) PG_GETARG_RTT_STATUS(0));
}

/* Whether the code is the first activity of a period (10, 11, 12). */
PG_FUNCTION_INFO_V1(rtt_status_starts_clock);
Datum
rtt_status_starts_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RttStatusEntry(PG_GETARG_RTT_STATUS(0))->group == RTT_START);
}

/* Whether the clock keeps running (20, 21). */
PG_FUNCTION_INFO_V1(rtt_status_continues_clock);
Datum
rtt_status_continues_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RttStatusEntry(PG_GETARG_RTT_STATUS(0))->group == RTT_RUNNING);
}

/* Whether the code stops the clock (30-36; 33 also nullifies). */
PG_FUNCTION_INFO_V1(rtt_status_stops_clock);
Datum
rtt_status_stops_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RttStatusEntry(PG_GETARG_RTT_STATUS(0))->group == RTT_STOP);
}

/* Whether the code nullifies the period (33: first-appointment DNA). */
PG_FUNCTION_INFO_V1(rtt_status_nullifies_clock);
Datum
rtt_status_nullifies_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RTT_STATUS(0) == 33);
}

/* Whether the activity is outside an RTT period (90, 91, 92, 98). */
PG_FUNCTION_INFO_V1(rtt_status_outside_rtt);
Datum
rtt_status_outside_rtt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RttStatusEntry(PG_GETARG_RTT_STATUS(0))->group == RTT_NOT_RTT);
}

/* The code's group: start, running, stop, not_rtt or unknown. */
PG_FUNCTION_INFO_V1(rtt_status_group);
Datum
rtt_status_group(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"start", "running", "stop", "not_rtt", "unknown"};

	PG_RETURN_TEXT_P(cstring_to_text(names[RttStatusEntry(PG_GETARG_RTT_STATUS(0))->group]));
}

/* What the code means, in words. */
PG_FUNCTION_INFO_V1(rtt_status_description);
Datum
rtt_status_description(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(RttStatusEntry(PG_GETARG_RTT_STATUS(0))->description));
}

PTL_COMPARISON_FUNCTIONS(rtt_status, PG_GETARG_RTT_STATUS)

/* Hash support 1: as smallint. */
PG_FUNCTION_INFO_V1(rtt_status_hash);
Datum
rtt_status_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint2, PG_GETARG_DATUM(0));
}

/* Hash support 2: seeded, as smallint. */
PG_FUNCTION_INFO_V1(rtt_status_hash_extended);
Datum
rtt_status_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint2extended, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}
