/*
 * em.c
 *		Fellegi-Sunter parameters by expectation-maximisation:
 *
 *		ptl.link_em(patterns bigint[], counts float8[], u float8[], m_start float8[],
 *					lambda_start float8, used_fields int, trained_fields int,
 *					max_iterations int,
 *					tolerance float8, OUT m float8[], OUT lambda float8,
 *					OUT iterations int)
 *
 * The input is the distinct comparison vectors of a set of candidate pairs
 * with how often each occurs.  u (the chance of each level among pairs that
 * are not matches) is held fixed: it is estimated from random pairs, which
 * are almost all non-matches.  EM then finds lambda (the share of matches)
 * and m (the chance of each level among matches) for the fields whose bit
 * is set in trained_fields, assuming fields agree independently given the
 * match status.  Only the fields in used_fields enter the likelihood: a
 * field a blocking rule joins on must be left out of that rule's pairs
 * (they all agree on it).  With trained_fields 0, EM estimates lambda alone
 * for a fixed model.  m and u are
 * flattened: field f, level l at f * 16 + l.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "common/common.h"
#include "link/link.h"

#define PARAMS (LINK_NUM_FIELDS * LINK_LEVEL_SLOTS)
#define PROBABILITY_FLOOR 1e-6

/*
 * An array of probabilities (m or u), 16 slots per field, into out; returns
 * the number of fields (releases before 0.4.0 pass seven, without town,
 * telephone and email).  Every element must be a number from 0 to 1: a NaN, an infinity
 * or a negative value would poison every weight EM computes from it
 * without an error.
 */
static int
float8_array_into(ArrayType *arr, const char *name, double *out)
{
	int			n;
	double	   *values = float8_elements(arr, name, &n);

	if (n % LINK_LEVEL_SLOTS != 0 || n > PARAMS || n < LINK_MIN_FIELDS * LINK_LEVEL_SLOTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements; it must have %d (16 levels for each of %d fields), or %d from a release before 0.4.0",
						name, n, PARAMS, LINK_NUM_FIELDS, LINK_MIN_FIELDS * LINK_LEVEL_SLOTS)));
	for (int i = 0; i < n; i++)
	{
		out[i] = values[i];
		if (!(out[i] >= 0.0 && out[i] <= 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s element %d is %g, not a probability from 0 to 1", name, i + 1, out[i])));
	}
	return n / LINK_LEVEL_SLOTS;
}

PG_FUNCTION_INFO_V1(ptl_link_em);
Datum
ptl_link_em(PG_FUNCTION_ARGS)
{
	ArrayType  *patterns_arr = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *counts_arr = PG_GETARG_ARRAYTYPE_P(1);
	double		u[PARAMS];
	double		m[PARAMS];
	double		lambda = PG_GETARG_FLOAT8(4);
	int32		used = PG_GETARG_INT32(5);
	int32		trained = PG_GETARG_INT32(6);
	int32		max_iterations = PG_GETARG_INT32(7);
	double		tolerance = PG_GETARG_FLOAT8(8);
	int64	   *patterns;
	Datum	   *count_values;
	bool	   *count_nulls;
	int			n,
				n_counts;
	int			iteration = 0;
	TupleDesc	tupdesc;
	Datum		result[3];
	bool		result_nulls[3] = {false, false, false};
	Datum		m_datums[PARAMS];
	int			fields;

	fields = float8_array_into(PG_GETARG_ARRAYTYPE_P(2), "u", u);
	if (float8_array_into(PG_GETARG_ARRAYTYPE_P(3), "m_start", m) != fields)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("m_start and u must be of the same fields"),
				 errdetail("u has %d elements (16 for each of %d fields).",
						   fields * LINK_LEVEL_SLOTS, fields)));
	if (!(lambda > 0.0 && lambda < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda_start %g is not a probability strictly between 0 and 1", lambda)));
	if (max_iterations < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_iterations %d must be at least 1", max_iterations)));
	/* NaN would never compare below it: EM would run to max_iterations. */
	if (!(tolerance >= 0.0) || isinf(tolerance))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tolerance %g is not a finite number of 0 or more", tolerance)));
	if (used < 0 || used >= (1 << fields))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("used_fields %d is not a set of the %d link fields", used, fields),
				 errdetail("Bit n stands for field n: the value is from 0 to %d.", (1 << fields) - 1)));
	if (trained < 0 || trained >= (1 << fields))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trained_fields %d is not a set of the %d link fields", trained, fields),
				 errdetail("Bit n stands for field n: the value is from 0 to %d.", (1 << fields) - 1)));
	trained &= used;
	/* bigint vectors; releases before 0.4.0 pass integers */
	patterns = int64_elements(patterns_arr, "patterns", &n);
	deconstruct_array(counts_arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &count_values, &count_nulls, &n_counts);
	if (n_counts != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("counts has %d elements but patterns has %d", n_counts, n)));

	/*
	 * A count is how many candidate pairs share a comparison vector: a
	 * finite number of 0 or more (a NULL counts as 0).  A negative count
	 * would subtract pairs, and an infinite or NaN one turns lambda and m
	 * into NaN.  Their total must be finite too, or the shares are NaN.
	 */
	{
		double		sum = 0.0;

		for (int p = 0; p < n; p++)
		{
			double		count;

			if (count_nulls[p])
				continue;
			count = DatumGetFloat8(count_values[p]);
			if (!(count >= 0.0) || isinf(count))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("counts element %d is %g, not a finite number of pairs of 0 or more", p + 1, count)));
			sum += count;
		}
		if (isinf(sum))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("counts add up to more than a float8 can hold")));
	}

	while (iteration < max_iterations)
	{
		double		matched[PARAMS] = {0};
		double		matched_field[LINK_NUM_FIELDS] = {0};
		double		total = 0.0,
					total_matched = 0.0;
		double		change;

		CHECK_FOR_INTERRUPTS();
		iteration++;
		/* E step: the chance each pattern is a match, summed by level. */
		for (int p = 0; p < n; p++)
		{
			double		count = count_nulls[p] ? 0.0 : DatumGetFloat8(count_values[p]);
			double		pm = lambda,
						pu = 1.0 - lambda,
						w;

			if (count <= 0.0)
				continue;
			for (int f = 0; f < fields; f++)
			{
				int			l = LINK_LEVEL(patterns[p], f);

				if (l == 0 || !(used & (1 << f)))
					continue;
				pm *= m[f * LINK_LEVEL_SLOTS + l];
				pu *= u[f * LINK_LEVEL_SLOTS + l];
			}
			w = (pm + pu) > 0.0 ? pm / (pm + pu) : 0.0;
			Assert(w >= 0.0 && w <= 1.0);
			total += count;
			total_matched += count * w;
			for (int f = 0; f < fields; f++)
			{
				int			l = LINK_LEVEL(patterns[p], f);

				if (l == 0 || !(trained & (1 << f)))
					continue;
				matched[f * LINK_LEVEL_SLOTS + l] += count * w;
				matched_field[f] += count * w;
			}
		}
		if (total <= 0.0)
			break;

		/* M step. */
		change = fabs(total_matched / total - lambda);
		lambda = Min(Max(total_matched / total, PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR);
		Assert(lambda > 0.0 && lambda < 1.0);
		for (int f = 0; f < fields; f++)
		{
			if (!(trained & (1 << f)) || matched_field[f] <= 0.0)
				continue;
			for (int l = 1; l < link_field_levels[f]; l++)
			{
				double		updated = Max(matched[f * LINK_LEVEL_SLOTS + l] / matched_field[f],
										  PROBABILITY_FLOOR);

				Assert(updated > 0.0 && updated <= 1.0);
				change = Max(change, fabs(updated - m[f * LINK_LEVEL_SLOTS + l]));
				m[f * LINK_LEVEL_SLOTS + l] = updated;
			}
		}
		if (change < tolerance)
			break;
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);
	for (int i = 0; i < fields * LINK_LEVEL_SLOTS; i++)
		m_datums[i] = Float8GetDatum(m[i]);
	result[0] = PointerGetDatum(construct_array(m_datums, fields * LINK_LEVEL_SLOTS, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	result[1] = Float8GetDatum(lambda);
	result[2] = Int32GetDatum(iteration);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, result_nulls)));
}
