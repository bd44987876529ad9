/*
 * scores.c
 *		Published peri-operative risk models, computed from their inputs
 *		(sources in docs/risk.md):
 *
 *		ASA physical status			ptl.asa_physical_status, ptl.asa_description
 *		ARISCAT (2010)				ptl.ariscat_score, ptl.ariscat_class
 *		SORT (2014)					ptl.sort_logit, ptl.sort_mortality_pct
 *		SORT + clinical judgement	ptl.sort_cj_logit, ptl.sort_cj_mortality_pct
 *		SORT morbidity (2017)		ptl.sort_morbidity_logit, ptl.sort_morbidity_pct
 *		POSSUM (1991), P-POSSUM (1998)
 *									ptl.possum_physiological_score,
 *									ptl.possum_operative_score,
 *									ptl.possum_morbidity_pct, ptl.possum_mortality_pct,
 *									ptl.p_possum_logit, ptl.p_possum_mortality_pct
 *		Clinical Frailty Scale 2.0	ptl.cfs_label, ptl.cfs_frail
 *
 * Coefficients are kept exactly as published (sources beside each model);
 * probabilities are returned in per cent, as clinicians and the SORT
 * calculator state them.  An input outside its range raises 22023 naming
 * the input and the range: a risk is never computed from a clamped value.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARDATA_ANY left postgres.h in 16 */
#endif

/* One categorical input: the words accepted and what each is worth. */
typedef struct Level
{
	const char *name;
	int			value;
} Level;

#define lengthof_levels(a) (sizeof(a) / sizeof((a)[0]))

/* p = 1 / (1 + e^-x), without overflow for large |x|. */
static double
logistic(double x)
{
	if (x >= 0)
		return 1.0 / (1.0 + exp(-x));
	return exp(x) / (1.0 + exp(x));
}

static void
range_error(const char *input, double value, const char *range, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s %g is out of range", input, value),
			 errdetail("%s must be %s.", input, range),
			 hint ? errhint("%s", hint) : 0));
}

static int
int_in_range(const char *input, int value, int lo, int hi)
{
	if (value < lo || value > hi)
	{
		char		range[64];

		snprintf(range, sizeof(range), "between %d and %d", lo, hi);
		range_error(input, value, range, NULL);
	}
	return value;
}

static double
float_in_range(const char *input, double value, double lo, double hi, const char *hint)
{
	if (isnan(value) || value < lo || value > hi)
	{
		char		range[64];

		snprintf(range, sizeof(range), "between %g and %g", lo, hi);
		range_error(input, value, range, hint);
	}
	return value;
}

/* Haemoglobin in g/dL; a value in g/L (10 times larger) gets a hint. */
static double
hb_g_dl_in_range(double hb)
{
	return float_in_range("hb_g_dl", hb, 1.0, 25.0,
						  hb > 25.0 && hb <= 250.0
						  ? "Haemoglobin is in g/dL: divide a value in g/L by 10." : NULL);
}

/*
 * Look a categorical input up (case-insensitive, in place: no copy on the
 * common path); anything else is 22023 listing the words.
 */
static int
level_of(const char *input, text *word, const Level *levels, int nlevels)
{
	const char *w = VARDATA_ANY(word);
	size_t		len = VARSIZE_ANY_EXHDR(word);
	StringInfoData list;

	for (int i = 0; i < nlevels; i++)
		if (strlen(levels[i].name) == len && pg_strncasecmp(w, levels[i].name, len) == 0)
			return levels[i].value;

	initStringInfo(&list);
	for (int i = 0; i < nlevels; i++)
		appendStringInfo(&list, "%s%s", i ? ", " : "", levels[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s: \"%s\"", input, text_to_cstring(word)),
			 errdetail("%s must be one of: %s.", input, list.data)));
	return 0;					/* keep the compiler quiet */
}

#define LEVEL_OF(input, word, levels) level_of(input, word, levels, lengthof_levels(levels))

/* ------------------------------------------------------------------------
 * ASA physical status (ASA 2014/2020).  A clinician's grade, never derived:
 * ptl only checks and labels it.  Grade VI (brain-dead donor) takes no E.
 * ------------------------------------------------------------------------ */
static const char *const asa_roman[] = {"I", "II", "III", "IV", "V", "VI"};

static const char *const asa_meaning[] = {
	"A normal healthy patient",
	"A patient with mild systemic disease",
	"A patient with severe systemic disease",
	"A patient with severe systemic disease that is a constant threat to life",
	"A moribund patient who is not expected to survive without the operation",
	"A declared brain-dead patient whose organs are being removed for donor purposes"
};

PG_FUNCTION_INFO_V1(asa_physical_status);
Datum
asa_physical_status(PG_FUNCTION_ARGS)
{
	int			grade = int_in_range("asa_grade", PG_GETARG_INT32(0), 1, 6);
	bool		emergency = PG_GETARG_BOOL(1);

	if (grade == 6 && emergency)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ASA VI takes no emergency suffix"),
				 errdetail("Grade VI is a brain-dead organ donor; E marks an emergency operation on grades I to V.")));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s%s", asa_roman[grade - 1], emergency ? "E" : "")));
}

PG_FUNCTION_INFO_V1(asa_description);
Datum
asa_description(PG_FUNCTION_ARGS)
{
	int			grade = int_in_range("asa_grade", PG_GETARG_INT32(0), 1, 6);

	PG_RETURN_TEXT_P(cstring_to_text(asa_meaning[grade - 1]));
}

/* ------------------------------------------------------------------------
 * ARISCAT: risk of postoperative pulmonary complications.  Canet et al.,
 * Anesthesiology 2010;113:1338-50; points are beta x 10 rounded, as in the
 * paper's simplified score.  Boundaries (ptl's reading of the bands): age 50
 * scores 0 and 51 scores 3, 80 scores 3 and 81 scores 16; SpO2 96 or more
 * scores 0, above 90 scores 8; Hb of exactly 10 g/dL is anaemia; 2 hours
 * exactly scores 0, 3 hours exactly 16.
 * ------------------------------------------------------------------------ */
static const Level ariscat_incision[] = {
	{"peripheral", 0}, {"upper_abdominal", 15}, {"intrathoracic", 24}
};

PG_FUNCTION_INFO_V1(ariscat_score);
Datum
ariscat_score(PG_FUNCTION_ARGS)
{
	int			age = int_in_range("age_years", PG_GETARG_INT32(0), 0, 130);
	double		spo2 = float_in_range("spo2_pct", PG_GETARG_FLOAT8(1), 0, 100, NULL);
	bool		infection = PG_GETARG_BOOL(2);
	double		hb = hb_g_dl_in_range(PG_GETARG_FLOAT8(3));
	int			incision = LEVEL_OF("incision", PG_GETARG_TEXT_PP(4), ariscat_incision);
	double		hours = PG_GETARG_FLOAT8(5);
	bool		emergency = PG_GETARG_BOOL(6);
	int			points = incision;

	if (isnan(hours) || hours <= 0 || hours > 24)
		range_error("surgery_duration_hours", hours, "above 0 and at most 24", NULL);

	points += age > 80 ? 16 : age > 50 ? 3 : 0;
	points += spo2 >= 96 ? 0 : spo2 > 90 ? 8 : 24;
	points += infection ? 17 : 0;
	points += hb <= 10.0 ? 11 : 0;
	points += hours > 3 ? 23 : hours > 2 ? 16 : 0;
	points += emergency ? 8 : 0;
	PG_RETURN_INT32(points);
}

/* Risk classes of the validation studies (Mazo 2014): low <26, high >=45. */
PG_FUNCTION_INFO_V1(ariscat_class);
Datum
ariscat_class(PG_FUNCTION_ARGS)
{
	int			score = int_in_range("ariscat_score", PG_GETARG_INT32(0), 0, 123);

	PG_RETURN_TEXT_P(cstring_to_text(score >= 45 ? "high" : score >= 26 ? "intermediate" : "low"));
}

/* ------------------------------------------------------------------------
 * SORT: 30-day mortality.  Protopapa et al., BJS 2014;101:1774-83, with the
 * coefficients as the SORT authors' calculator codes them (SORTWebCalc).
 * ------------------------------------------------------------------------ */
static const Level sort_urgency[] = {
	{"elective", 0}, {"expedited", 1}, {"urgent", 2}, {"immediate", 3}
};
static const double sort_urgency_beta[] = {0, 1.236, 1.657, 2.452};

/* Severity grades of the AXA-PPP procedure schedule. */
static const Level sort_severity[] = {
	{"minor", 0}, {"intermediate", 0}, {"major", 0}, {"xmajor", 1}, {"complex", 1}
};

/*
 * Specialties the SORT calculator distinguishes.  1 marks the high-risk ones
 * of the mortality model (the paper: gastrointestinal, thoracic, vascular).
 */
enum
{
	SPEC_COLORECTAL, SPEC_UPPER_GI, SPEC_BARIATRIC, SPEC_HPB, SPEC_THORACIC,
	SPEC_VASCULAR, SPEC_ORTHOPAEDIC, SPEC_OTHER
};
static const Level sort_specialty[] = {
	{"colorectal", SPEC_COLORECTAL}, {"upper_gi", SPEC_UPPER_GI}, {"bariatric", SPEC_BARIATRIC},
	{"hpb", SPEC_HPB}, {"thoracic", SPEC_THORACIC}, {"vascular", SPEC_VASCULAR},
	{"orthopaedic", SPEC_ORTHOPAEDIC}, {"other", SPEC_OTHER}
};

static double
sort_logit_of(FunctionCallInfo fcinfo)
{
	int			asa = int_in_range("asa_grade", PG_GETARG_INT32(0), 1, 5);
	int			urgency = LEVEL_OF("urgency", PG_GETARG_TEXT_PP(1), sort_urgency);
	bool		high_risk = PG_GETARG_BOOL(2);
	int			xmajor = LEVEL_OF("severity", PG_GETARG_TEXT_PP(3), sort_severity);
	bool		cancer = PG_GETARG_BOOL(4);
	int			age = int_in_range("age_years", PG_GETARG_INT32(5), 0, 130);
	double		logit = -7.366;

	logit += asa == 3 ? 1.411 : asa == 4 ? 2.388 : asa == 5 ? 4.081 : 0;
	logit += sort_urgency_beta[urgency];
	logit += high_risk ? 0.712 : 0;
	logit += xmajor ? 0.381 : 0;
	logit += cancer ? 0.667 : 0;
	logit += age >= 80 ? 1.591 : age >= 65 ? 0.777 : 0;
	return logit;
}

PG_FUNCTION_INFO_V1(sort_logit);
Datum
sort_logit(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sort_logit_of(fcinfo));
}

PG_FUNCTION_INFO_V1(sort_mortality_pct);
Datum
sort_mortality_pct(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(100.0 * logistic(sort_logit_of(fcinfo)));
}

PG_FUNCTION_INFO_V1(sort_high_risk_specialty);
Datum
sort_high_risk_specialty(PG_FUNCTION_ARGS)
{
	int			spec = LEVEL_OF("specialty", PG_GETARG_TEXT_PP(0), sort_specialty);

	PG_RETURN_BOOL(spec != SPEC_ORTHOPAEDIC && spec != SPEC_OTHER);
}

/*
 * SORT with clinical judgement (Wong et al., PLOS Med 2020, as the SORT
 * calculator codes it): the SORT percentage and the clinician's own band.
 * A clinician who does not know gives no result (NULL).
 */
static const Level cj_band[] = {
	{"<1%", 0}, {"1-2.5%", 1}, {"2.6-5%", 2}, {"5.1-10%", 3}, {"10.1-50%", 4}, {">50%", 5},
	{"unknown", -1}
};
static const double cj_band_beta[] = {0, 1.679, 2.583, 3.295, 4.356, 5.234};

static bool
sort_cj_logit_of(FunctionCallInfo fcinfo, double *logit)
{
	double		sort_pct = float_in_range("sort_mortality_pct", PG_GETARG_FLOAT8(0), 0, 100, NULL);
	int			band = LEVEL_OF("clinician_band", PG_GETARG_TEXT_PP(1), cj_band);

	if (band < 0)
		return false;
	*logit = -6.629 + 0.04044 * sort_pct + cj_band_beta[band];
	return true;
}

PG_FUNCTION_INFO_V1(sort_cj_logit);
Datum
sort_cj_logit(PG_FUNCTION_ARGS)
{
	double		logit;

	if (!sort_cj_logit_of(fcinfo, &logit))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(logit);
}

PG_FUNCTION_INFO_V1(sort_cj_mortality_pct);
Datum
sort_cj_mortality_pct(PG_FUNCTION_ARGS)
{
	double		logit;

	if (!sort_cj_logit_of(fcinfo, &logit))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(100.0 * logistic(logit));
}

/*
 * SORT morbidity: postoperative morbidity (POMS) on day 7.  Wong et al.,
 * BJA 2017;119:95-105, as the SORT calculator codes it.
 */
static double
sort_morbidity_logit_of(FunctionCallInfo fcinfo)
{
	int			asa = int_in_range("asa_grade", PG_GETARG_INT32(0), 1, 5);
	int			spec = LEVEL_OF("specialty", PG_GETARG_TEXT_PP(1), sort_specialty);
	int			xmajor = LEVEL_OF("severity", PG_GETARG_TEXT_PP(2), sort_severity);
	bool		cancer = PG_GETARG_BOOL(3);
	int			age = int_in_range("age_years", PG_GETARG_INT32(4), 0, 130);
	double		logit = -3.228;

	logit += asa == 2 ? 0.332 : asa == 3 ? 1.140 : asa >= 4 ? 1.223 : 0;
	switch (spec)
	{
		case SPEC_COLORECTAL:
			logit += 1.658;
			break;
		case SPEC_UPPER_GI:
			logit -= 0.929;
			break;
		case SPEC_VASCULAR:
			logit += 0.296;
			break;
		case SPEC_BARIATRIC:
			logit -= 1.065;
			break;
		case SPEC_ORTHOPAEDIC:
			break;
		default:
			logit += 0.181;		/* every other specialty */
			break;
	}
	logit += xmajor ? 1.238 : 0;
	logit += cancer ? 0.897 : 0;
	logit += age >= 80 ? 0.550 : age >= 65 ? 0.118 : 0;
	return logit;
}

PG_FUNCTION_INFO_V1(sort_morbidity_logit);
Datum
sort_morbidity_logit(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sort_morbidity_logit_of(fcinfo));
}

PG_FUNCTION_INFO_V1(sort_morbidity_pct);
Datum
sort_morbidity_pct(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(100.0 * logistic(sort_morbidity_logit_of(fcinfo)));
}

/* ------------------------------------------------------------------------
 * POSSUM (Copeland et al., BJS 1991) and P-POSSUM (Prytherch et al., BJS
 * 1998).  Published bands leave gaps on continuous values (urea 7.5 and
 * 7.6); they are closed here with half-open intervals,
 * so every value has exactly one score.
 * ------------------------------------------------------------------------ */
static const Level possum_cardiac[] = {
	{"no_failure", 1}, {"cardiac_drugs", 2}, {"oedema_or_warfarin", 4}, {"cardiomegaly", 8}
};
static const Level possum_respiratory[] = {
	{"no_dyspnoea", 1}, {"dyspnoea_on_exertion", 2}, {"limiting_dyspnoea", 4}, {"dyspnoea_at_rest", 8}
};
static const Level possum_ecg[] = {
	{"normal", 1}, {"af_rate_60_90", 4}, {"other_abnormal", 8}
};

PG_FUNCTION_INFO_V1(possum_physiological_score);
Datum
possum_physiological_score(PG_FUNCTION_ARGS)
{
	int			age = int_in_range("age_years", PG_GETARG_INT32(0), 0, 130);
	int			cardiac = LEVEL_OF("cardiac", PG_GETARG_TEXT_PP(1), possum_cardiac);
	int			respiratory = LEVEL_OF("respiratory", PG_GETARG_TEXT_PP(2), possum_respiratory);
	int			sbp = int_in_range("systolic_bp_mmhg", PG_GETARG_INT32(3), 20, 300);
	int			pulse = int_in_range("pulse_per_min", PG_GETARG_INT32(4), 10, 300);
	int			gcs = int_in_range("glasgow_coma_scale", PG_GETARG_INT32(5), 3, 15);
	double		hb = hb_g_dl_in_range(PG_GETARG_FLOAT8(6));
	double		wcc = float_in_range("wcc_10e9_per_l", PG_GETARG_FLOAT8(7), 0, 500, NULL);
	double		urea = float_in_range("urea_mmol_l", PG_GETARG_FLOAT8(8), 0, 150, NULL);
	double		sodium = float_in_range("sodium_mmol_l", PG_GETARG_FLOAT8(9), 80, 200, NULL);
	double		potassium = float_in_range("potassium_mmol_l", PG_GETARG_FLOAT8(10), 1, 12, NULL);
	int			ecg = LEVEL_OF("ecg", PG_GETARG_TEXT_PP(11), possum_ecg);
	int			score = cardiac + respiratory + ecg;

	score += age >= 71 ? 4 : age >= 61 ? 2 : 1;
	score += sbp <= 89 ? 8 : sbp <= 99 ? 4 : sbp <= 109 ? 2 : sbp <= 130 ? 1 : sbp <= 170 ? 2 : 4;
	score += pulse <= 39 ? 8 : pulse <= 49 ? 2 : pulse <= 80 ? 1 : pulse <= 100 ? 2 : pulse <= 120 ? 4 : 8;
	score += gcs == 15 ? 1 : gcs >= 12 ? 2 : gcs >= 9 ? 4 : 8;
	score += hb < 10.0 ? 8 : hb < 11.5 ? 4 : hb < 13.0 ? 2 : hb <= 16.0 ? 1 : hb <= 17.0 ? 2 : hb <= 18.0 ? 4 : 8;
	score += wcc <= 3.0 ? 4 : wcc < 4.0 ? 2 : wcc <= 10.0 ? 1 : wcc <= 20.0 ? 2 : 4;
	score += urea <= 7.5 ? 1 : urea <= 10.0 ? 2 : urea <= 15.0 ? 4 : 8;
	score += sodium >= 136 ? 1 : sodium >= 131 ? 2 : sodium >= 126 ? 4 : 8;
	score += potassium < 2.9 ? 8 : potassium < 3.2 ? 4 : potassium < 3.5 ? 2 :
		potassium <= 5.0 ? 1 : potassium <= 5.3 ? 2 : potassium < 6.0 ? 4 : 8;
	PG_RETURN_INT32(score);
}

static const Level possum_severity[] = {
	{"minor", 1}, {"moderate", 2}, {"major", 4}, {"major_plus", 8}
};
static const Level possum_soiling[] = {
	{"none", 1}, {"minor_serous", 2}, {"local_pus", 4}, {"free_content", 8}
};
static const Level possum_malignancy[] = {
	{"none", 1}, {"primary_only", 2}, {"nodal_metastases", 4}, {"distant_metastases", 8}
};
static const Level possum_mode[] = {
	{"elective", 1}, {"emergency", 4}, {"emergency_immediate", 8}
};

PG_FUNCTION_INFO_V1(possum_operative_score);
Datum
possum_operative_score(PG_FUNCTION_ARGS)
{
	int			severity = LEVEL_OF("operative_severity", PG_GETARG_TEXT_PP(0), possum_severity);
	int			procedures = int_in_range("procedure_count", PG_GETARG_INT32(1), 1, 20);
	int			blood_loss = int_in_range("blood_loss_ml", PG_GETARG_INT32(2), 0, 50000);
	int			soiling = LEVEL_OF("peritoneal_soiling", PG_GETARG_TEXT_PP(3), possum_soiling);
	int			malignancy = LEVEL_OF("malignancy", PG_GETARG_TEXT_PP(4), possum_malignancy);
	int			mode = LEVEL_OF("mode_of_surgery", PG_GETARG_TEXT_PP(5), possum_mode);
	int			score = severity + soiling + malignancy + mode;

	score += procedures > 2 ? 8 : procedures == 2 ? 4 : 1;
	score += blood_loss <= 100 ? 1 : blood_loss <= 500 ? 2 : blood_loss <= 999 ? 4 : 8;
	PG_RETURN_INT32(score);
}

static void
possum_scores(FunctionCallInfo fcinfo, int *ps, int *os)
{
	*ps = int_in_range("physiological_score", PG_GETARG_INT32(0), 12, 88);
	*os = int_in_range("operative_score", PG_GETARG_INT32(1), 6, 48);
}

PG_FUNCTION_INFO_V1(possum_morbidity_pct);
Datum
possum_morbidity_pct(PG_FUNCTION_ARGS)
{
	int			ps,
				os;

	possum_scores(fcinfo, &ps, &os);
	PG_RETURN_FLOAT8(100.0 * logistic(-5.91 + 0.16 * ps + 0.19 * os));
}

PG_FUNCTION_INFO_V1(possum_mortality_pct);
Datum
possum_mortality_pct(PG_FUNCTION_ARGS)
{
	int			ps,
				os;

	possum_scores(fcinfo, &ps, &os);
	PG_RETURN_FLOAT8(100.0 * logistic(-7.04 + 0.13 * ps + 0.16 * os));
}

static double
p_possum_logit_of(FunctionCallInfo fcinfo)
{
	int			ps,
				os;

	possum_scores(fcinfo, &ps, &os);
	return -9.065 + 0.1692 * ps + 0.1550 * os;
}

PG_FUNCTION_INFO_V1(p_possum_logit);
Datum
p_possum_logit(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(p_possum_logit_of(fcinfo));
}

PG_FUNCTION_INFO_V1(p_possum_mortality_pct);
Datum
p_possum_mortality_pct(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(100.0 * logistic(p_possum_logit_of(fcinfo)));
}

/* ------------------------------------------------------------------------
 * Clinical Frailty Scale, version 2.0 level names (Rockwood 2005; Dalhousie
 * 2020).  The scale's descriptions are copyrighted: ptl keeps the level and
 * its short name only.
 * ------------------------------------------------------------------------ */
static const char *const cfs_names[] = {
	"Very fit", "Fit", "Managing well", "Living with very mild frailty",
	"Living with mild frailty", "Living with moderate frailty",
	"Living with severe frailty", "Living with very severe frailty", "Terminally ill"
};

PG_FUNCTION_INFO_V1(cfs_label);
Datum
cfs_label(PG_FUNCTION_ARGS)
{
	int			level = int_in_range("cfs_level", PG_GETARG_INT32(0), 1, 9);

	PG_RETURN_TEXT_P(cstring_to_text(cfs_names[level - 1]));
}

PG_FUNCTION_INFO_V1(cfs_frail);
Datum
cfs_frail(PG_FUNCTION_ARGS)
{
	int			level = int_in_range("cfs_level", PG_GETARG_INT32(0), 1, 9);
	int			from = int_in_range("frail_from_level", PG_GETARG_INT32(1), 1, 9);

	PG_RETURN_BOOL(level >= from);
}
