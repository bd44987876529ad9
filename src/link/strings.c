/*
 * strings.c
 *		String comparisons for record linkage, on characters (code points of
 *		the database encoding), in double precision:
 *
 *		ptl.jaro(a, b)					Jaro similarity, 0..1
 *		ptl.jaro_winkler(a, b)			Jaro-Winkler similarity, 0..1
 *		ptl.damerau_levenshtein(a, b)	edits (insert, delete, substitute,
 *										swap two adjacent characters)
 *		ptl.soundex(a)					American Soundex code (blocking keys)
 *
 * Jaro-Winkler follows Winkler (1990) as Splink and pg_similarity use it:
 * prefix scale 0.1, common prefix of at most 4 characters, and the prefix
 * boost only when the Jaro similarity is above 0.7.  Comparisons are case
 * sensitive; linkage upper-cases names before it compares them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARDATA_ANY left postgres.h in 16 */
#endif

#include "link/link.h"

#define WINKLER_PREFIX_SCALE	0.1
#define WINKLER_MAX_PREFIX		4
#define WINKLER_BOOST_THRESHOLD 0.7

LinkString
link_string_from_text(const text *t)
{
	LinkString	s;
	int			bytes = VARSIZE_ANY_EXHDR(t);

	s.chars = (pg_wchar *) palloc((bytes + 1) * sizeof(pg_wchar));
	s.len = pg_mb2wchar_with_len(VARDATA_ANY(t), s.chars, bytes);
	return s;
}

/*
 * Jaro similarity: characters match when equal and no further apart than
 * half the longer string less one; the transpositions are half the matched
 * characters that are out of order.  Two empty strings are identical (1); one empty string
 * shares nothing with a non-empty one (0).
 */
double
link_jaro(const LinkString *a, const LinkString *b)
{
	int			window;
	bool	   *a_matched;
	bool	   *b_matched;
	int			matches = 0;
	int			out_of_order = 0;
	int			k;
	double		m;

	if (a->len == 0 && b->len == 0)
		return 1.0;
	if (a->len == 0 || b->len == 0)
		return 0.0;

	window = Max(a->len, b->len) / 2 - 1;
	if (window < 0)
		window = 0;
	a_matched = palloc0(a->len * sizeof(bool));
	b_matched = palloc0(b->len * sizeof(bool));

	for (int i = 0; i < a->len; i++)
	{
		int			lo = Max(0, i - window);
		int			hi = Min(b->len, i + window + 1);

		CHECK_FOR_INTERRUPTS();
		for (int j = lo; j < hi; j++)
		{
			if (!b_matched[j] && a->chars[i] == b->chars[j])
			{
				a_matched[i] = b_matched[j] = true;
				matches++;
				break;
			}
		}
	}

	if (matches > 0)
	{
		k = 0;
		for (int i = 0; i < a->len; i++)
		{
			if (!a_matched[i])
				continue;
			while (!b_matched[k])
				k++;
			if (a->chars[i] != b->chars[k])
				out_of_order++;
			k++;
		}
	}
	pfree(a_matched);
	pfree(b_matched);
	if (matches == 0)
		return 0.0;

	m = matches;
	return (m / a->len + m / b->len + (m - out_of_order / 2.0) / m) / 3.0;
}

double
link_jaro_winkler(const LinkString *a, const LinkString *b)
{
	double		jaro = link_jaro(a, b);
	int			prefix = 0;
	int			limit = Min(WINKLER_MAX_PREFIX, Min(a->len, b->len));

	if (jaro <= WINKLER_BOOST_THRESHOLD)
		return jaro;
	while (prefix < limit && a->chars[prefix] == b->chars[prefix])
		prefix++;
	return jaro + prefix * WINKLER_PREFIX_SCALE * (1.0 - jaro);
}

/*
 * An upper bound of the Jaro-Winkler similarity, from the lengths and the
 * characters the two strings share (a match pairs equal characters, each
 * used once, so there are at most as many as the smaller count of each
 * character): Jaro <= (shared / |a| + shared / |b| + 1) / 3, and the prefix
 * boost adds at most WINKLER_MAX_PREFIX * WINKLER_PREFIX_SCALE of the rest
 * when Jaro is above the boost threshold.  ASCII only (one count per
 * character); 1 for anything else.
 */
static double
jaro_winkler_bound(const LinkString *a, const LinkString *b)
{
	int			counts[128] = {0};
	int			shared = 0;
	double		jaro;

	if (a->len == 0 || b->len == 0)
		return 1.0;
	for (int i = 0; i < a->len; i++)
	{
		if (a->chars[i] >= 128)
			return 1.0;
		counts[a->chars[i]]++;
	}
	for (int j = 0; j < b->len; j++)
	{
		if (b->chars[j] >= 128)
			return 1.0;
		if (counts[b->chars[j]] > 0)
		{
			counts[b->chars[j]]--;
			shared++;
		}
	}
	jaro = ((double) shared / a->len + (double) shared / b->len + 1.0) / 3.0;
	if (jaro <= WINKLER_BOOST_THRESHOLD)
		return jaro;
	return jaro + WINKLER_MAX_PREFIX * WINKLER_PREFIX_SCALE * (1.0 - jaro);
}

/*
 * Jaro-Winkler when it can reach floor; otherwise a value below floor,
 * found from the bound without comparing character by character (most
 * candidate pairs' addresses and towns differ).  The margin keeps a
 * similarity within rounding of floor to the full computation.
 */
double
link_jaro_winkler_from(const LinkString *a, const LinkString *b, double floor)
{
	double		bound = jaro_winkler_bound(a, b);

	if (bound < floor - 1e-9)
		return bound;
	return link_jaro_winkler(a, b);
}

/*
 * Whether the optimal string alignment distance is at most one, in one pass:
 * past the common start, the rest is equal after one character substituted,
 * inserted or deleted, or two adjacent characters swapped.
 */
bool
link_within_one_edit(const LinkString *a, const LinkString *b)
{
	const LinkString *shorter = a->len <= b->len ? a : b;
	const LinkString *longer = shorter == a ? b : a;
	int			i = 0;

	if (longer->len - shorter->len > 1)
		return false;
	while (i < shorter->len && shorter->chars[i] == longer->chars[i])
		i++;
	if (i == shorter->len)
		return true;			/* equal, or one character appended */
	if (shorter->len < longer->len)
		return memcmp(shorter->chars + i, longer->chars + i + 1,
					  (shorter->len - i) * sizeof(pg_wchar)) == 0;
	if (memcmp(shorter->chars + i + 1, longer->chars + i + 1,
			   (shorter->len - i - 1) * sizeof(pg_wchar)) == 0)
		return true;			/* one substituted */
	return i + 1 < shorter->len
		&& shorter->chars[i] == longer->chars[i + 1]
		&& shorter->chars[i + 1] == longer->chars[i]
		&& memcmp(shorter->chars + i + 2, longer->chars + i + 2,
				  (shorter->len - i - 2) * sizeof(pg_wchar)) == 0;
}

/*
 * Optimal string alignment distance (the restricted Damerau-Levenshtein: a
 * swapped pair counts once, no substring is edited twice), in three rows.
 */
int
link_damerau_levenshtein(const LinkString *a, const LinkString *b)
{
	int			n = b->len;
	int		   *before = palloc((n + 1) * sizeof(int));
	int		   *previous = palloc((n + 1) * sizeof(int));
	int		   *current = palloc((n + 1) * sizeof(int));
	int			result;

	for (int j = 0; j <= n; j++)
		previous[j] = j;
	for (int i = 1; i <= a->len; i++)
	{
		int		   *spare;

		CHECK_FOR_INTERRUPTS();
		current[0] = i;
		for (int j = 1; j <= n; j++)
		{
			int			cost = a->chars[i - 1] == b->chars[j - 1] ? 0 : 1;
			int			best = Min(previous[j] + 1, current[j - 1] + 1);

			best = Min(best, previous[j - 1] + cost);
			if (i > 1 && j > 1 && a->chars[i - 1] == b->chars[j - 2]
				&& a->chars[i - 2] == b->chars[j - 1])
				best = Min(best, before[j - 2] + 1);
			current[j] = best;
		}
		spare = before;
		before = previous;
		previous = current;
		current = spare;
	}
	result = previous[n];
	pfree(before);
	pfree(previous);
	pfree(current);
	return result;
}

PG_FUNCTION_INFO_V1(ptl_jaro);
Datum
ptl_jaro(PG_FUNCTION_ARGS)
{
	LinkString	a = link_string_from_text(PG_GETARG_TEXT_PP(0));
	LinkString	b = link_string_from_text(PG_GETARG_TEXT_PP(1));

	PG_RETURN_FLOAT8(link_jaro(&a, &b));
}

PG_FUNCTION_INFO_V1(ptl_jaro_winkler);
Datum
ptl_jaro_winkler(PG_FUNCTION_ARGS)
{
	LinkString	a = link_string_from_text(PG_GETARG_TEXT_PP(0));
	LinkString	b = link_string_from_text(PG_GETARG_TEXT_PP(1));

	PG_RETURN_FLOAT8(link_jaro_winkler(&a, &b));
}

PG_FUNCTION_INFO_V1(ptl_damerau_levenshtein);
Datum
ptl_damerau_levenshtein(PG_FUNCTION_ARGS)
{
	LinkString	a = link_string_from_text(PG_GETARG_TEXT_PP(0));
	LinkString	b = link_string_from_text(PG_GETARG_TEXT_PP(1));

	PG_RETURN_INT32(link_damerau_levenshtein(&a, &b));
}

/*
 * American Soundex, as the US National Archives describe it ("The Soundex
 * Indexing System", 2007): the first letter, then the codes of the letters
 * after it (BFPV 1, CGJKQSXZ 2, DT 3, L 4, MN 5, R 6), vowels and Y not
 * coded; adjacent letters with the same code, and two letters with the same
 * code separated only by H or W, are coded once (the first letter's code
 * included); padded with zeros or cut to four characters.  Letters are
 * A-Z of either case; anything else is skipped.  NULL when there is no letter.
 */
static char
soundex_code(char c)
{
	static const char codes[] = "01230120022455012623010202";	/* A..Z */

	return codes[c - 'A'];
}

PG_FUNCTION_INFO_V1(ptl_soundex);
Datum
ptl_soundex(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	char		out[5] = "0000";
	int			n = 0;
	char		last = 0;
	int			i;

	for (i = 0; i < len && n < 4; i++)
	{
		char		c = s[i];
		char		code;

		if (c >= 'a' && c <= 'z')
			c = c - 'a' + 'A';
		if (c < 'A' || c > 'Z')
			continue;
		code = soundex_code(c);
		if (n == 0)
		{
			out[n++] = c;
			last = code;
			continue;
		}
		if (c == 'H' || c == 'W')
			continue;			/* does not separate two equal codes */
		if (code == '0')
		{
			last = 0;			/* a vowel separates them */
			continue;
		}
		if (code != last)
			out[n++] = code;
		last = code;
	}
	if (n == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, 4));
}
