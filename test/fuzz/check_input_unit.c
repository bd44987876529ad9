/*
 * check_input_unit.c
 *		src/types/check_input.c itself, compiled into the fuzzer, plus an
 *		entry point to its static integer checker.
 *
 * check_input.c provides report_type_problem (which the three types' input
 * functions raise through) and integer_from_string, ptl.check_input's
 * stand-in for int2in/int4in/int8in.  The file is included, not copied, so
 * the fuzzer always runs the code the extension is built from.
 */
#include "types/check_input.c"

extern bool fuzz_IntegerFromString(const char *str, int64 min,
								   const char *typname, TypeProblem *problem);

bool
fuzz_IntegerFromString(const char *str, int64 min, const char *typname,
					   TypeProblem *problem)
{
	return integer_from_string(str, min, typname, problem);
}
