/*
 * rtt_status.c
 *		ptl.rtt_status: the 17 national RTT period status codes (NHS Data
 *		Dictionary REFERRAL TO TREATMENT PERIOD STATUS; RTT guidance Annex D).
 *
 * Stored as a 2-byte integer, the code itself.  Anything but the 17 codes is
 * refused, so a local code must be mapped to a national one before loading.
 * Comparison, hashing and sort support are PostgreSQL's own int2 functions
 * (declared LANGUAGE internal in types.sql).
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "types/types.h"

#define PG_GETARG_RTT_STATUS(n) PG_GETARG_INT16(n)
#define PG_RETURN_RTT_STATUS(x) PG_RETURN_INT16(x)

/* What a code does to the RTT clock (its group in RTT guidance Annex D). */
typedef enum RttStatusGroup
{
	RTT_GROUP_START,			/* 10, 11, 12: first activity of a period */
	RTT_GROUP_RUNNING,			/* 20, 21: the clock keeps running */
	RTT_GROUP_STOP,				/* 30-36: the clock stops */
	RTT_GROUP_NOT_RTT,			/* 90, 91, 92, 98: outside an RTT period */
	RTT_GROUP_UNKNOWN			/* 99: not yet known */
} RttStatusGroup;

/* The SQL names of the groups, in the enum's order. */
static const char *const rtt_group_names[] = {
	"start", "running", "stop", "not_rtt", "unknown"
};

typedef struct RttStatusCode
{
	int16		code;
	RttStatusGroup group;
	bool		nullifies;		/* the stop voids the period (33) */
	const char *description;
} RttStatusCode;

/* The code table: meanings paraphrased from the NHS Data Dictionary. */
static const RttStatusCode rtt_status_codes[] = {
	{10, RTT_GROUP_START, false, "First activity of an RTT period; the referral, not the activity, starts the clock"},
	{11, RTT_GROUP_START, false, "First activity of a new RTT period after a period of active monitoring"},
	{12, RTT_GROUP_START, false, "First activity of a new RTT period after a referral to a consultant for a separate condition"},
	{20, RTT_GROUP_RUNNING, false, "Subsequent activity; more activity is expected in this period"},
	{21, RTT_GROUP_RUNNING, false, "Subsequent activity will be by another provider (transfer of responsibility)"},
	{30, RTT_GROUP_STOP, false, "Start of the first treatment intended to manage the condition"},
	{31, RTT_GROUP_STOP, false, "Start of active monitoring initiated by the patient"},
	{32, RTT_GROUP_STOP, false, "Start of active monitoring initiated by the care professional"},
	{33, RTT_GROUP_STOP, true, "Patient did not attend the first activity after referral; the period is nullified"},
	{34, RTT_GROUP_STOP, false, "Decision not to treat, or no further contact required"},
	{35, RTT_GROUP_STOP, false, "Patient declined the treatment offered"},
	{36, RTT_GROUP_STOP, false, "Patient died before treatment"},
	{90, RTT_GROUP_NOT_RTT, false, "Activity after the first treatment"},
	{91, RTT_GROUP_NOT_RTT, false, "Activity during a period of active monitoring"},
	{92, RTT_GROUP_NOT_RTT, false, "Activity before referral, such as diagnostics requested by a GP"},
	{98, RTT_GROUP_NOT_RTT, false, "Activity not applicable to RTT, such as care that is not consultant-led"},
	{99, RTT_GROUP_UNKNOWN, false, "Not yet known"},
};

#define RTT_STATUS_CODES_DETAIL \
	"An RTT period status must be one of the 17 national codes: 10, 11, 12, 20, 21, 30, 31, 32, 33, 34, 35, 36, 90, 91, 92, 98, 99."

/* The table entry of a code, or NULL if it is not one of the 17. */
static const RttStatusCode *
lookup_rtt_status(int code)
{
	for (int i = 0; i < lengthof(rtt_status_codes); i++)
	{
		if (rtt_status_codes[i].code == code)
			return &rtt_status_codes[i];
	}
	return NULL;
}

/* The table entry of a stored value, which input has already validated. */
static const RttStatusCode *
rtt_status_entry(int16 code)
{
	const RttStatusCode *entry = lookup_rtt_status(code);

	if (entry == NULL)
		elog(ERROR, "invalid rtt_status value %d", code);
	return entry;
}

/*
 * Parse a status code: exactly two digits that make one of the 17 codes,
 * surrounding white space ignored.  Never raises.
 */
bool
rtt_status_parse(const char *str, int16 *result)
{
	const char *start = str;
	const char *end = str + strlen(str);
	int			code;

	while (start < end && isspace((unsigned char) *start))
		start++;
	while (end > start && isspace((unsigned char) end[-1]))
		end--;
	if (end - start != 2 || !isdigit((unsigned char) start[0]) ||
		!isdigit((unsigned char) start[1]))
		return false;
	code = (start[0] - '0') * 10 + (start[1] - '0');
	if (lookup_rtt_status(code) == NULL)
		return false;
	*result = (int16) code;
	return true;
}

/*
 * Parse a status code; on failure describe the error that text input raises
 * (for ptl.check_input and rtt_status_in alike).
 */
bool
rtt_status_from_string(const char *str, int16 *result, TypeProblem *problem)
{
	if (rtt_status_parse(str, result))
		return true;
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type rtt_status: \"%s\"", str);
	problem->detail = pstrdup(RTT_STATUS_CODES_DETAIL);
	problem->hint = pstrdup("Map a local status code to its national code before loading.");
	return false;
}

/* Text input: the two-digit code. */
PG_FUNCTION_INFO_V1(rtt_status_in);
Datum
rtt_status_in(PG_FUNCTION_ARGS)
{
	int16		result;
	TypeProblem problem;

	if (!rtt_status_from_string(PG_GETARG_CSTRING(0), &result, &problem))
		report_type_problem(&problem);
	PG_RETURN_RTT_STATUS(result);
}

/* Text output: the two-digit code. */
PG_FUNCTION_INFO_V1(rtt_status_out);
Datum
rtt_status_out(PG_FUNCTION_ARGS)
{
	int16		code = PG_GETARG_RTT_STATUS(0);
	char	   *result = palloc(3);

	result[0] = '0' + (char) (code / 10 % 10);
	result[1] = '0' + (char) (code % 10);
	result[2] = '\0';
	PG_RETURN_CSTRING(result);
}

/* Binary input: an int2, which must be one of the 17 codes. */
PG_FUNCTION_INFO_V1(rtt_status_recv);
Datum
rtt_status_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int16		code = (int16) pq_getmsgint(buf, sizeof(int16));

	if (lookup_rtt_status(code) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary value for type rtt_status: %d", code),
				 errdetail(RTT_STATUS_CODES_DETAIL)));
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

/* Cast from integer: the integer must be one of the 17 codes. */
PG_FUNCTION_INFO_V1(rtt_status_from_integer);
Datum
rtt_status_from_integer(PG_FUNCTION_ARGS)
{
	int32		code = PG_GETARG_INT32(0);

	if (lookup_rtt_status(code) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value %d is not a valid RTT period status", code),
				 errdetail(RTT_STATUS_CODES_DETAIL)));
	PG_RETURN_RTT_STATUS((int16) code);
}

/* Whether the code is the first activity of a period (10, 11, 12). */
PG_FUNCTION_INFO_V1(rtt_status_starts_clock);
Datum
rtt_status_starts_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->group == RTT_GROUP_START);
}

/* Whether the clock keeps running (20, 21). */
PG_FUNCTION_INFO_V1(rtt_status_continues_clock);
Datum
rtt_status_continues_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->group == RTT_GROUP_RUNNING);
}

/* Whether the code stops the clock (30-36; 33 also nullifies). */
PG_FUNCTION_INFO_V1(rtt_status_stops_clock);
Datum
rtt_status_stops_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->group == RTT_GROUP_STOP);
}

/* Whether the stop voids the whole period (33, a DNA of the first activity). */
PG_FUNCTION_INFO_V1(rtt_status_nullifies_clock);
Datum
rtt_status_nullifies_clock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->nullifies);
}

/* Whether the activity lies outside an RTT period (90, 91, 92, 98). */
PG_FUNCTION_INFO_V1(rtt_status_outside_rtt);
Datum
rtt_status_outside_rtt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->group == RTT_GROUP_NOT_RTT);
}

/* The code's group: start, running, stop, not_rtt or unknown. */
PG_FUNCTION_INFO_V1(rtt_status_group);
Datum
rtt_status_group(PG_FUNCTION_ARGS)
{
	RttStatusGroup group = rtt_status_entry(PG_GETARG_RTT_STATUS(0))->group;

	PG_RETURN_TEXT_P(cstring_to_text(rtt_group_names[group]));
}

/* What the code means, in words. */
PG_FUNCTION_INFO_V1(rtt_status_description);
Datum
rtt_status_description(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(rtt_status_entry(PG_GETARG_RTT_STATUS(0))->description));
}
