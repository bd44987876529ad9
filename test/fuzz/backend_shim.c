/*
 * backend_shim.c
 *		Stand-ins for the PostgreSQL backend functions that ptl's type input
 *		code calls, so the extension's own source files link into a libFuzzer
 *		binary without a server.
 *
 * - Memory: palloc and friends take chunks from malloc and remember them;
 *   fuzz_arena_reset() frees them all after each input, as the executor
 *   resets the per-tuple memory context.  Every chunk is its own malloc, so
 *   AddressSanitizer sees an overrun of any single chunk.
 * - Errors: errstart/errmsg/.../errfinish build a FuzzError and, for ERROR,
 *   siglongjmp to PG_exception_stack exactly as the backend does, so the
 *   harness catches them with PG_TRY()/PG_CATCH().  FATAL, PANIC, an error
 *   with nothing to catch it, or an error raised while one is being built
 *   abort(): those are bugs.
 * - Encoding: GetDatabaseEncoding, pg_mblen and pg_mbstrlen_with_len follow
 *   mbutils.c over an encoding the harness chooses (UTF8, SQL_ASCII, LATIN1
 *   or EUC_JP); the per-encoding helpers they rest on are restated below
 *   so that they run under AddressSanitizer.  pg_snprintf and friends come
 *   from PostgreSQL's own libpgport.
 * - Everything else that check_input.c references (syscache, tuples,
 *   datetime parsing, ...) is only reachable from ptl.check_input's SQL
 *   entry point, which the harness does not call; those stubs abort() so a
 *   surprise call cannot go unnoticed.
 */
#include "postgres.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/tupdesc.h"
#include "catalog/pg_enum.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "backend_shim.h"

/* ---------------------------------------------------------------- fail */

void
fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	fputs("ptl fuzz: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* ---------------------------------------------------------------- memory */

static void **arena;
static size_t arena_len;
static size_t arena_cap;

static void
arena_remember(void *p)
{
	if (arena_len == arena_cap)
	{
		size_t		cap = arena_cap ? arena_cap * 2 : 256;
		void	  **grown = realloc(arena, cap * sizeof(void *));

		if (grown == NULL)
			fuzz_fail("out of memory growing the arena");
		arena = grown;
		arena_cap = cap;
	}
	arena[arena_len++] = p;
}

static size_t
arena_find(void *p)
{
	for (size_t i = arena_len; i > 0; i--)
	{
		if (arena[i - 1] == p)
			return i - 1;
	}
	fuzz_fail("pfree/repalloc of a pointer palloc did not return: %p", p);
}

void
fuzz_arena_reset(void)
{
	for (size_t i = 0; i < arena_len; i++)
		free(arena[i]);
	arena_len = 0;
	/* Keep no slack from a huge input alive between inputs. */
	if (arena_cap > 4096)
	{
		free(arena);
		arena = NULL;
		arena_cap = 0;
	}
}

size_t
fuzz_arena_live(void)
{
	return arena_len;
}

void *
palloc(Size size)
{
	void	   *p;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	/* malloc(0) still gives a chunk any access to which ASan reports. */
	p = malloc(size);
	if (p == NULL && size == 0)
		p = malloc(1);
	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu.", size)));
	arena_remember(p);
	return p;
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	size_t		i = arena_find(pointer);
	void	   *p;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	p = realloc(pointer, size ? size : 1);
	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	arena[i] = p;
	return p;
}

void
pfree(void *pointer)
{
	size_t		i = arena_find(pointer);

	free(pointer);
	arena[i] = arena[--arena_len];
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

/* As in common/psprintf.c: try, and retry once with the size it needs. */
size_t
pvsnprintf(char *buf, size_t len, const char *fmt, va_list args)
{
	int			nprinted = vsnprintf(buf, len, fmt, args);

	if (nprinted < 0)
		elog(ERROR, "vsnprintf failed: %m with format string \"%s\"", fmt);
	if ((size_t) nprinted < len)
		return (size_t) nprinted;
	if ((size_t) nprinted >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory")));
	return (size_t) nprinted + 1;
}

static char *
vformat(const char *fmt, va_list args)
{
	size_t		len = 128;

	for (;;)
	{
		char	   *result = palloc(len);
		size_t		needed;
		va_list		copy;

		va_copy(copy, args);
		needed = pvsnprintf(result, len, fmt, copy);
		va_end(copy);
		if (needed < len)
			return result;
		pfree(result);
		len = needed;
	}
}

char *
psprintf(const char *fmt,...)
{
	va_list		args;
	char	   *result;

	va_start(args, fmt);
	result = vformat(fmt, args);
	va_end(args);
	return result;
}

/* ---------------------------------------------------------------- errors */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;
MemoryContext CurrentMemoryContext = NULL;
volatile uint32 InterruptHoldoffCount = 0;
volatile uint32 QueryCancelHoldoffCount = 0;

static bool error_building = false;	/* between errstart and errfinish */
static bool error_thrown = false;	/* thrown, not yet taken */
static FuzzError current_error;

bool
errstart(int elevel, const char *domain)
{
	if (error_building)
		fuzz_fail("ereport(%d) started while another error was being built", elevel);
	if (error_thrown)
		fuzz_fail("ereport(%d) started before the previous error was handled", elevel);
	memset(&current_error, 0, sizeof(current_error));
	current_error.elevel = elevel;
	current_error.sqlerrcode = elevel >= ERROR ? ERRCODE_INTERNAL_ERROR :
		elevel >= WARNING ? ERRCODE_WARNING : ERRCODE_SUCCESSFUL_COMPLETION;
	error_building = true;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (!error_building)
		fuzz_fail("errfinish without errstart at %s:%d", filename, lineno);
	error_building = false;
	current_error.filename = filename;
	current_error.lineno = lineno;
	current_error.funcname = funcname;

	if (current_error.elevel < ERROR)
		return;					/* a NOTICE or WARNING: carry on */
	if (current_error.elevel > ERROR)
		fuzz_fail("%s raised at level %d at %s:%d: %s",
				  current_error.elevel >= PANIC ? "PANIC" : "FATAL",
				  current_error.elevel, filename, lineno,
				  current_error.message ? current_error.message : "(no message)");
	if (PG_exception_stack == NULL)
		fuzz_fail("ERROR with no PG_TRY to catch it at %s:%d: %s",
				  filename, lineno,
				  current_error.message ? current_error.message : "(no message)");
	error_thrown = true;
	InterruptHoldoffCount = 0;
	QueryCancelHoldoffCount = 0;
	siglongjmp(*PG_exception_stack, 1);
}

void
fuzz_take_error(FuzzError *err)
{
	if (!error_thrown)
		fuzz_fail("PG_CATCH reached with no error thrown");
	*err = current_error;
	error_thrown = false;
}

int
errcode(int sqlerrcode)
{
	current_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define ERR_FIELD(field) \
	do { \
		va_list		args; \
		if (!error_building) \
			fuzz_fail("%s outside ereport", __func__); \
		va_start(args, fmt); \
		current_error.field = vformat(fmt, args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	ERR_FIELD(message);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	ERR_FIELD(message);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	ERR_FIELD(detail);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	ERR_FIELD(detail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	ERR_FIELD(hint);
	return 0;
}

/* ---------------------------------------------------------------- encoding */

/*
 * PostgreSQL's per-encoding helpers (common/wchar.c) and pg_strncasecmp
 * (port/pgstrcasecmp.c) exist in libpgcommon/libpgport, but those archives
 * are built without AddressSanitizer, so a read past the end of the input
 * made inside them on ptl's behalf (utf8_to_unicode of a truncated
 * character, say) would go unseen.  They are restated here, compiled with
 * the sanitizers, for the four database encodings the harness uses.
 */

static int	database_encoding = PG_UTF8;

void
fuzz_set_database_encoding(int encoding)
{
	if (encoding != PG_UTF8 && encoding != PG_SQL_ASCII &&
		encoding != PG_LATIN1 && encoding != PG_EUC_JP)
		fuzz_fail("encoding %d is not one the shim implements", encoding);
	database_encoding = encoding;
}

int
GetDatabaseEncoding(void)
{
	return database_encoding;
}

int
pg_encoding_max_length(int encoding)
{
	switch (encoding)
	{
		case PG_UTF8:
			return 4;
		case PG_EUC_JP:
			return 3;
		default:
			return 1;
	}
}

int
pg_database_encoding_max_length(void)
{
	return pg_encoding_max_length(database_encoding);
}

#define SS2 0x8e
#define SS3 0x8f
#define IS_EUC_RANGE_VALID(c)	((c) >= 0xa1 && (c) <= 0xfe)

/* wchar.c's pg_utf_mblen, pg_euc_mblen, pg_latin1_mblen, pg_ascii_mblen */
int
pg_encoding_mblen(int encoding, const char *mbstr)
{
	const unsigned char *s = (const unsigned char *) mbstr;

	switch (encoding)
	{
		case PG_UTF8:
			if ((*s & 0x80) == 0)
				return 1;
			if ((*s & 0xe0) == 0xc0)
				return 2;
			if ((*s & 0xf0) == 0xe0)
				return 3;
			if ((*s & 0xf8) == 0xf0)
				return 4;
			return 1;
		case PG_EUC_JP:
			if (*s == SS2)
				return 2;
			if (*s == SS3)
				return 3;
			if (IS_HIGHBIT_SET(*s))
				return 2;
			return 1;
		default:
			return 1;
	}
}

/* Length of the valid character at s (at most len bytes), or -1. */
static int
verify_char(int encoding, const unsigned char *s, int len)
{
	int			l = pg_encoding_mblen(encoding, (const char *) s);

	if (*s == '\0')
		return -1;
	if (l > len)
		return -1;
	if (encoding == PG_UTF8)
	{
		/* RFC 3629 well-formed, as wchar.c's pg_utf8_islegal */
		switch (l)
		{
			case 1:
				return *s < 0x80 ? 1 : -1;
			case 2:
				return (*s >= 0xc2 && (s[1] & 0xc0) == 0x80) ? 2 : -1;
			case 3:
				if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
					return -1;
				if (*s == 0xe0 && s[1] < 0xa0)
					return -1;	/* overlong */
				if (*s == 0xed && s[1] > 0x9f)
					return -1;	/* surrogate */
				return 3;
			case 4:
				if (*s > 0xf4 || (s[1] & 0xc0) != 0x80 ||
					(s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
					return -1;
				if (*s == 0xf0 && s[1] < 0x90)
					return -1;	/* overlong */
				if (*s == 0xf4 && s[1] > 0x8f)
					return -1;	/* above U+10FFFF */
				return 4;
		}
		return -1;
	}
	if (encoding == PG_EUC_JP)
	{
		/* wchar.c's pg_eucjp_verifychar */
		if (*s == SS2)
			return (s[1] >= 0xa1 && s[1] <= 0xdf) ? 2 : -1;
		if (*s == SS3)
			return (IS_EUC_RANGE_VALID(s[1]) && IS_EUC_RANGE_VALID(s[2])) ? 3 : -1;
		if (IS_HIGHBIT_SET(*s))
			return (IS_EUC_RANGE_VALID(s[0]) && IS_EUC_RANGE_VALID(s[1])) ? 2 : -1;
		return 1;
	}
	return 1;					/* single-byte: anything but NUL */
}

/* How many leading bytes of mbstr are valid in the encoding. */
int
pg_encoding_verifymbstr(int encoding, const char *mbstr, int len)
{
	const unsigned char *s = (const unsigned char *) mbstr;
	int			done = 0;

	while (done < len)
	{
		int			l = verify_char(encoding, s + done, len - done);

		if (l < 0)
			break;
		done += l;
	}
	return done;
}

/* wchar.c: the code point of the UTF-8 character at c (not validated). */
pg_wchar
utf8_to_unicode(const unsigned char *c)
{
	if ((*c & 0x80) == 0)
		return (pg_wchar) c[0];
	else if ((*c & 0xe0) == 0xc0)
		return (pg_wchar) (((c[0] & 0x1f) << 6) | (c[1] & 0x3f));
	else if ((*c & 0xf0) == 0xe0)
		return (pg_wchar) (((c[0] & 0x0f) << 12) | ((c[1] & 0x3f) << 6) |
						   (c[2] & 0x3f));
	else if ((*c & 0xf8) == 0xf0)
		return (pg_wchar) (((c[0] & 0x07) << 18) | ((c[1] & 0x3f) << 12) |
						   ((c[2] & 0x3f) << 6) | (c[3] & 0x3f));
	else
		return 0xffffffff;
}

/* wchar.c: the length of the UTF-8 character whose lead byte is at s. */
int
pg_utf_mblen(const unsigned char *s)
{
	return pg_encoding_mblen(PG_UTF8, (const char *) s);
}

/* mbutils.c: the length of the character at mbstr in the database encoding. */
int
pg_mblen(const char *mbstr)
{
	return pg_encoding_mblen(database_encoding, mbstr);
}

/* mbutils.c: characters in the first limit bytes (stopping at a NUL). */
int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			len = 0;

	if (pg_database_encoding_max_length() == 1)
		return limit;
	while (limit > 0 && *mbstr)
	{
		int			l = pg_mblen(mbstr);

		limit -= l;
		mbstr += l;
		len++;
	}
	return len;
}

/* pgstrcasecmp.c: case-blind comparison of at most n bytes. */
int
pg_strncasecmp(const char *s1, const char *s2, size_t n)
{
	while (n-- > 0)
	{
		unsigned char ch1 = (unsigned char) *s1++;
		unsigned char ch2 = (unsigned char) *s2++;

		if (ch1 != ch2)
		{
			if (ch1 >= 'A' && ch1 <= 'Z')
				ch1 += 'a' - 'A';
			else if (IS_HIGHBIT_SET(ch1) && isupper(ch1))
				ch1 = tolower(ch1);
			if (ch2 >= 'A' && ch2 <= 'Z')
				ch2 += 'a' - 'A';
			else if (IS_HIGHBIT_SET(ch2) && isupper(ch2))
				ch2 = tolower(ch2);
			if (ch1 != ch2)
				return (int) ch1 - (int) ch2;
		}
		if (ch1 == 0)
			break;
	}
	return 0;
}

/* ---------------------------------------------------------------- varlena */

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum) && !VARATT_IS_SHORT(datum))
		fuzz_fail("a toasted or compressed datum reached the shim");
	return datum;
}

text *
cstring_to_text(const char *s)
{
	size_t		len = strlen(s);
	text	   *result = palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

char *
text_to_cstring(const text *t)
{
	text	   *tunpacked = (text *) pg_detoast_datum_packed(unconstify(text *, t));
	int			len = VARSIZE_ANY_EXHDR(tunpacked);
	char	   *result = palloc(len + 1);

	memcpy(result, VARDATA_ANY(tunpacked), len);
	result[len] = '\0';
	return result;
}

/* ---------------------------------------------------------------- binary I/O */

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0)
		elog(ERROR, "invalid string enlargement request size: %d", needed);
	if (((Size) needed) >= (MaxAllocSize - (Size) str->len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory")));
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

/* pqformat.c: a bytea under construction, length word reserved. */
void
pq_begintypsend(StringInfo buf)
{
	buf->maxlen = 64;
	buf->data = palloc(buf->maxlen);
	buf->len = VARHDRSZ;
	buf->cursor = 0;
	memset(buf->data, 0, VARHDRSZ);
	buf->data[buf->len] = '\0';
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	if (buf->len < VARHDRSZ)
		fuzz_fail("pq_endtypsend without pq_begintypsend");
	SET_VARSIZE(result, buf->len);
	return result;
}

static void
copymsgbytes(StringInfo msg, char *buf, int datalen)
{
	if (datalen < 0 || datalen > (msg->len - msg->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message")));
	memcpy(buf, &msg->data[msg->cursor], datalen);
	msg->cursor += datalen;
}

unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	unsigned char n8;
	uint16		n16;
	uint32		n32;

	switch (b)
	{
		case 1:
			copymsgbytes(msg, (char *) &n8, 1);
			return n8;
		case 2:
			copymsgbytes(msg, (char *) &n16, 2);
			return pg_ntoh16(n16);
		case 4:
			copymsgbytes(msg, (char *) &n32, 4);
			return pg_ntoh32(n32);
	}
	elog(ERROR, "unsupported integer size %d", b);
	return 0;
}

int64
pq_getmsgint64(StringInfo msg)
{
	uint64		n64;

	copymsgbytes(msg, (char *) &n64, sizeof(n64));
	return pg_ntoh64(n64);
}

/* ---------------------------------------------------------------- not reached */

/*
 * Referenced only by parts of check_input.c that need a live server (the
 * SQL-callable ptl_check_input and its date and enum checkers); the harness
 * calls the integer checker and report_type_problem only.
 */
#define NOT_REACHED(name) fuzz_fail("backend function %s called; the fuzz shim cannot serve it", name)

TupleDesc
BlessTupleDesc(TupleDesc tupdesc)
{
	NOT_REACHED("BlessTupleDesc");
}

TupleDesc
CreateTupleDescCopy(TupleDesc tupdesc)
{
	NOT_REACHED("CreateTupleDescCopy");
}

ErrorData *
CopyErrorData(void)
{
	NOT_REACHED("CopyErrorData");
}

void
FlushErrorState(void)
{
	NOT_REACHED("FlushErrorState");
}

void
pg_re_throw(void)
{
	NOT_REACHED("pg_re_throw");
}

int
ParseDateTime(const char *timestr, char *workbuf, size_t buflen,
			  char **field, int *ftype, int maxfields, int *numfields)
{
	NOT_REACHED("ParseDateTime");
}

int
DecodeDateTime(char **field, int *ftype, int nf, int *dtype,
			   struct pg_tm *tm, fsec_t *fsec, int *tzp)
{
	NOT_REACHED("DecodeDateTime");
}

void
GetEpochTime(struct pg_tm *tm)
{
	NOT_REACHED("GetEpochTime");
}

int
date2j(int year, int month, int day)
{
	NOT_REACHED("date2j");
}

bool
EnumUncommitted(Oid enum_id)
{
	NOT_REACHED("EnumUncommitted");
}

HeapTuple
SearchSysCache2(int cacheId, Datum key1, Datum key2)
{
	NOT_REACHED("SearchSysCache2");
}

bool
SearchSysCacheExists(int cacheId, Datum key1, Datum key2, Datum key3, Datum key4)
{
	NOT_REACHED("SearchSysCacheExists");
}

void
ReleaseSysCache(HeapTuple tuple)
{
	NOT_REACHED("ReleaseSysCache");
}

bool
TransactionIdDidCommit(TransactionId transactionId)
{
	NOT_REACHED("TransactionIdDidCommit");
}

bool
TransactionIdIsInProgress(TransactionId xid)
{
	NOT_REACHED("TransactionIdIsInProgress");
}

void
fmgr_info(Oid functionId, FmgrInfo *finfo)
{
	NOT_REACHED("fmgr_info");
}

char *
format_type_be(Oid type_oid)
{
	NOT_REACHED("format_type_be");
}

void
getTypeInputInfo(Oid type, Oid *typInput, Oid *typIOParam)
{
	NOT_REACHED("getTypeInputInfo");
}

bool
type_is_enum(Oid typid)
{
	NOT_REACHED("type_is_enum");
}

TypeFuncClass
get_call_result_type(FunctionCallInfo fcinfo, Oid *resultTypeId,
					 TupleDesc *resultTupleDesc)
{
	NOT_REACHED("get_call_result_type");
}

HeapTuple
heap_form_tuple(TupleDesc tupleDescriptor, Datum *values, bool *isnull)
{
	NOT_REACHED("heap_form_tuple");
}

Datum
HeapTupleHeaderGetDatum(HeapTupleHeader tuple)
{
	NOT_REACHED("HeapTupleHeaderGetDatum");
}

char *
unpack_sql_state(int sql_state)
{
	NOT_REACHED("unpack_sql_state");
}
