/*
 * duration.c
 *		Duration uncertainty for theatre planning (docs/theatre.md):
 *
 *		ptl.normal_quantile(p)						z such that P(Z <= z) = p
 *		ptl.lognormal_quantile(mean, sd, p)			the p point of a lognormal with
 *													that mean and standard deviation
 *		ptl.session_overrun_probability(means, sds, capacity, method)
 *													chance a list of cases runs past
 *													its session's minutes
 *
 * Lognormal from mean m and SD s (method of moments, as the reference
 * states it): sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2, and the p
 * point is exp(mu + z_p sigma).  The overrun chance of a sum of case
 * durations uses either a normal approximation of the sum (mean sum(m),
 * variance sum(s^2)) or Fenton-Wilkinson, a lognormal with the sum's mean
 * and variance, which is better for short lists.
 *
 * The normal quantile is found by Newton's method on the normal CDF, which
 * the C library gives exactly through erfc(), inside a bisection bracket:
 * no table of approximation coefficients is needed.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "common/common.h"

static double
normal_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

static double
normal_quantile(double p)
{
	double		lo = -40.0;
	double		hi = 40.0;
	double		x = 0.0;

	for (int i = 0; i < 200; i++)
	{
		double		f = normal_cdf(x) - p;
		double		density = exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
		double		next;

		if (f == 0.0)
			break;
		if (f < 0.0)
			lo = x;
		else
			hi = x;
		next = density > 0.0 ? x - f / density : (lo + hi) / 2.0;
		if (!(next > lo && next < hi))
			next = (lo + hi) / 2.0;	/* Newton left the bracket: bisect */
		if (fabs(next - x) <= 1e-15 * Max(1.0, fabs(x)))
		{
			x = next;
			break;
		}
		x = next;
	}
	return x;
}

static void
check_probability(double p)
{
	if (!(p > 0.0 && p < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("probability %g is outside (0, 1)", p),
				 errhint("A percentile is given as a fraction, e.g. 0.8 for the 80th.")));
}

PG_FUNCTION_INFO_V1(ptl_normal_quantile);

Datum
ptl_normal_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);

	check_probability(p);
	PG_RETURN_FLOAT8(normal_quantile(p));
}

PG_FUNCTION_INFO_V1(ptl_lognormal_quantile);

Datum
ptl_lognormal_quantile(PG_FUNCTION_ARGS)
{
	double		m = PG_GETARG_FLOAT8(0);
	double		s = PG_GETARG_FLOAT8(1);
	double		p = PG_GETARG_FLOAT8(2);
	double		sigma2;

	if (!(m > 0.0) || isinf(m))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean %g is not a finite positive number of minutes", m),
				 errdetail("A lognormal duration has a positive mean.")));
	if (!(s >= 0.0) || isinf(s))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("standard deviation %g is not a finite number of minutes of 0 or more", s)));
	check_probability(p);
	sigma2 = log1p((s * s) / (m * m));
	PG_RETURN_FLOAT8(exp(log(m) - sigma2 / 2.0 + normal_quantile(p) * sqrt(sigma2)));
}

/* float8[] of minutes, finite and not negative, as a C array. */
static double *
float_array(ArrayType *arr, const char *name, int *n)
{
	double	   *out = float8_elements(arr, name, n);

	for (int i = 0; i < *n; i++)
	{
		if (!(out[i] >= 0.0) || isinf(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s element %d is %g, not a finite non-negative number of minutes",
							name, i + 1, out[i])));
	}
	return out;
}

PG_FUNCTION_INFO_V1(ptl_session_overrun_probability);

Datum
ptl_session_overrun_probability(PG_FUNCTION_ARGS)
{
	int			n_means;
	int			n_sds;
	double	   *means = float_array(PG_GETARG_ARRAYTYPE_P(0), "mean_minutes", &n_means);
	double	   *sds = float_array(PG_GETARG_ARRAYTYPE_P(1), "sd_minutes", &n_sds);
	double		capacity = PG_GETARG_FLOAT8(2);
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(3));
	double		sum_m = 0.0;
	double		sum_v = 0.0;

	if (n_means != n_sds)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("mean_minutes has %d elements but sd_minutes has %d", n_means, n_sds),
				 errdetail("Each case needs a mean and a standard deviation.")));
	/* NaN capacity would answer NaN; an infinite one is no session. */
	if (isnan(capacity) || isinf(capacity))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("capacity_minutes %g is not a finite number of minutes", capacity)));
	for (int i = 0; i < n_means; i++)
	{
		sum_m += means[i];
		sum_v += sds[i] * sds[i];
	}
	if (isinf(sum_m) || isinf(sum_v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the cases' durations add up to more than a float8 can hold")));
	if (sum_v == 0.0)			/* certain durations */
		PG_RETURN_FLOAT8(sum_m > capacity ? 1.0 : 0.0);

	if (strcmp(method, "normal") == 0)
		PG_RETURN_FLOAT8(1.0 - normal_cdf((capacity - sum_m) / sqrt(sum_v)));
	if (strcmp(method, "fenton_wilkinson") == 0)
	{
		double		sigma2;
		double		mu;

		/* A lognormal has a positive mean: uncertain cases of 0 minutes have none. */
		if (!(sum_m > 0.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fenton_wilkinson needs cases whose mean minutes add up to more than 0"),
					 errdetail("The mean minutes add up to 0, but the standard deviations do not."),
					 errhint("Use method \"normal\" for such cases.")));
		sigma2 = log1p(sum_v / (sum_m * sum_m));
		mu = log(sum_m) - sigma2 / 2.0;

		if (capacity <= 0.0)
			PG_RETURN_FLOAT8(1.0);
		PG_RETURN_FLOAT8(1.0 - normal_cdf((log(capacity) - mu) / sqrt(sigma2)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown overrun method \"%s\"", method),
			 errhint("Use \"normal\" or \"fenton_wilkinson\".")));
	PG_RETURN_NULL();			/* not reached */
}
