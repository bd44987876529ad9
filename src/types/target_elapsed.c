/*
 * target_elapsed.c
 *		ptl.target_elapsed: days waited over a clinical priority's target
 *		days, kept as the two integers and ordered exactly.
 *
 * The waiting list is ordered by the share of its target each patient has
 * waited (docs/risk.md, "One order").  Comparing wait_a / target_a with
 * wait_b / target_b in floating point would break ties arbitrarily (90/90
 * and 28/28 must be equal, so "listed earlier" decides); comparing the cross
 * products wait_a * target_b and wait_b * target_a in 64 bits is exact.
 *
 * A value packs both 32-bit integers into one 8-byte Datum: wait in the high
 * half, target in the low half.  Text form: "wait/target", e.g. "90/28".
 */
#include "postgres.h"

#include <errno.h>
#include <stdlib.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#define TE_WAIT(v)			((int32) ((uint64) (v) >> 32))
#define TE_TARGET(v)		((int32) ((uint64) (v) & 0xFFFFFFFF))

static int64
target_elapsed_make(int32 wait_days, int32 target_days)
{
	if (wait_days < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("wait_days %d is out of range", wait_days),
				 errdetail("wait_days must be 0 or more.")));
	if (target_days <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target_days %d is out of range", target_days),
				 errdetail("target_days must be 1 or more."),
				 errhint("Priorities without a target (P5, P6) are set aside, not ordered.")));
	return (int64) (((uint64) (uint32) wait_days << 32) | (uint32) target_days);
}

/* -1, 0, 1 as a's share of its target is below, equal to, above b's. */
static int
target_elapsed_cmp_internal(int64 a, int64 b)
{
	int64		lhs = (int64) TE_WAIT(a) * TE_TARGET(b);
	int64		rhs = (int64) TE_WAIT(b) * TE_TARGET(a);

	return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
}

/* One decimal integer of int32 range after optional space; NULL if none. */
static const char *
parse_int32(const char *p, int32 *value)
{
	char	   *end;
	long		v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == '+'))
		return NULL;
	errno = 0;
	v = strtol(p, &end, 10);
	if (end == p || errno == ERANGE || v < PG_INT32_MIN || v > PG_INT32_MAX)
		return NULL;
	*value = (int32) v;
	return end;
}

PG_FUNCTION_INFO_V1(target_elapsed_in);
Datum
target_elapsed_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p;
	int32		wait_days = 0,
				target_days = 0;

	p = parse_int32(str, &wait_days);
	if (p)
	{
		while (*p == ' ' || *p == '\t')
			p++;
		p = (*p == '/') ? parse_int32(p + 1, &target_days) : NULL;
	}
	if (p)
		while (*p == ' ' || *p == '\t')
			p++;
	if (p == NULL || *p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type target_elapsed: \"%s\"", str),
				 errdetail("A target_elapsed is written days waited/target days, e.g. 90/28.")));
	PG_RETURN_INT64(target_elapsed_make(wait_days, target_days));
}

PG_FUNCTION_INFO_V1(target_elapsed_out);
Datum
target_elapsed_out(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);

	PG_RETURN_CSTRING(psprintf("%d/%d", TE_WAIT(v), TE_TARGET(v)));
}

PG_FUNCTION_INFO_V1(target_elapsed_recv);
Datum
target_elapsed_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		wait_days = pq_getmsgint(buf, 4);
	int32		target_days = pq_getmsgint(buf, 4);

	PG_RETURN_INT64(target_elapsed_make(wait_days, target_days));
}

PG_FUNCTION_INFO_V1(target_elapsed_send);
Datum
target_elapsed_send(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, TE_WAIT(v));
	pq_sendint32(&buf, TE_TARGET(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(target_elapsed);
Datum
target_elapsed(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(target_elapsed_make(PG_GETARG_INT32(0), PG_GETARG_INT32(1)));
}

/* The share in per cent, for display: the order never uses it. */
PG_FUNCTION_INFO_V1(target_elapsed_pct);
Datum
target_elapsed_pct(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);

	PG_RETURN_FLOAT8(100.0 * TE_WAIT(v) / TE_TARGET(v));
}

PG_FUNCTION_INFO_V1(target_elapsed_wait_days);
Datum
target_elapsed_wait_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(TE_WAIT(PG_GETARG_INT64(0)));
}

PG_FUNCTION_INFO_V1(target_elapsed_target_days);
Datum
target_elapsed_target_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(TE_TARGET(PG_GETARG_INT64(0)));
}

PG_FUNCTION_INFO_V1(target_elapsed_cmp);
Datum
target_elapsed_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(target_elapsed_cmp_internal(PG_GETARG_INT64(0), PG_GETARG_INT64(1)));
}

#define TE_OPERATOR(name, test) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(target_elapsed_cmp_internal(PG_GETARG_INT64(0), PG_GETARG_INT64(1)) test); \
}

TE_OPERATOR(target_elapsed_lt, < 0)
TE_OPERATOR(target_elapsed_le, <= 0)
TE_OPERATOR(target_elapsed_eq, == 0)
TE_OPERATOR(target_elapsed_ne, != 0)
TE_OPERATOR(target_elapsed_ge, >= 0)
TE_OPERATOR(target_elapsed_gt, > 0)
