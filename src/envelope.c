// The mangoro envelope (specified in inst/WIRE.md), in C so that building and
// parsing cost one pass over the bytes.
// Parsing never raises an R error for bad input; it returns a status code so
// the R side can signal a classed mangoro_protocol_error with a clear message.
// mangoro_c_message_decode() parses a reply and decodes its Arrow payload in
// the same native call.

#include "mangoro.h"
#include "shm.h"
#include <stdint.h>
#include <string.h>
#include <limits.h>

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char) (v >> 24);
  p[1] = (unsigned char) (v >> 16);
  p[2] = (unsigned char) (v >> 8);
  p[3] = (unsigned char) v;
}

static uint32_t get_u32(const unsigned char *p) {
  return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
         ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

const char *mangoro_utf8_or_empty(SEXP x, size_t *len) {
  if (TYPEOF(x) != STRSXP || XLENGTH(x) < 1 || STRING_ELT(x, 0) == NA_STRING) {
    *len = 0;
    return "";
  }
  const char *s = Rf_translateCharUTF8(STRING_ELT(x, 0));
  *len = strlen(s);
  return s;
}

void mangoro_envelope_header_put(unsigned char *p, int type, const char *name, size_t nlen,
                                 const char *error, size_t elen) {
  p[0] = (unsigned char) type;
  put_u32(p + 1, (uint32_t) nlen);
  memcpy(p + 5, name, nlen);
  p += 5 + nlen;
  put_u32(p, (uint32_t) elen);
  memcpy(p + 4, error, elen);
}

// Build an envelope with one allocation and one copy of the payload. Bad
// arguments give an error string (R/message.R checks them first).
SEXP mangoro_c_envelope_pack(SEXP type, SEXP name, SEXP error, SEXP payload) {
  int t = Rf_asInteger(type);
  if (t == NA_INTEGER || t < 0 || t > 255)
    return Rf_mkString("the envelope type must be an integer in 0..255");
  if (payload != R_NilValue && TYPEOF(payload) != RAWSXP)
    return Rf_mkString("the payload must be a raw vector or NULL");
  size_t nlen, elen;
  const char *n = mangoro_utf8_or_empty(name, &nlen);
  const char *e = mangoro_utf8_or_empty(error, &elen);
  if (nlen > INT_MAX || elen > INT_MAX)
    return Rf_mkString("the name or error is longer than 2^31 - 1 bytes");
  R_xlen_t plen = payload == R_NilValue ? 0 : XLENGTH(payload);
  R_xlen_t total = ENV_HEADER + (R_xlen_t) nlen + (R_xlen_t) elen + plen;

  SEXP out = PROTECT(Rf_allocVector(RAWSXP, total));
  unsigned char *p = RAW(out);
  mangoro_envelope_header_put(p, t, n, nlen, e, elen);
  if (plen > 0)
    memcpy(p + ENV_HEADER + nlen + elen, RAW(payload), (size_t) plen);
  UNPROTECT(1);
  return out;
}

static SEXP utf8_string(const unsigned char *p, uint32_t len) {
  return Rf_ScalarString(Rf_mkCharLenCE((const char *) p, (int) len, CE_UTF8));
}

// Parse status codes, explained in R/conditions.R (envelope_error).
enum {
  PARSE_OK = 0,
  PARSE_SHORT_HEADER = 1,
  PARSE_NAME_OVERRUN = 2,
  PARSE_ERROR_OVERRUN = 3,
  PARSE_NUL_IN_STRING = 4,
  PARSE_BAD_TYPE = 5,
  PARSE_TOO_LONG = 6,
  PARSE_NOT_RAW = 7
};

static SEXP parse_status(int code, R_xlen_t at) {
  const char *names[] = {"status", "at", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(code));
  SET_VECTOR_ELT(out, 1, Rf_ScalarReal((double) at));
  UNPROTECT(1);
  return out;
}

typedef struct {
  int type;
  uint32_t nlen, elen;
  R_xlen_t epos, ppos, plen;
} envelope_t;

// Every length is checked against the buffer before it is used.
// shm: also accept type 7 (a result in shared memory; only message_decode()
// reads it).
static int parse(SEXP x, envelope_t *e, R_xlen_t *at, int shm) {
  *at = 0;
  if (TYPEOF(x) != RAWSXP) return PARSE_NOT_RAW;
  const unsigned char *p = RAW(x);
  R_xlen_t n = XLENGTH(x);
  if (n < ENV_HEADER) {
    *at = n;
    return PARSE_SHORT_HEADER;
  }
  e->type = p[0];
  if (e->type > 4 && !(shm && e->type == 7)) return PARSE_BAD_TYPE;
  e->nlen = get_u32(p + 1);
  *at = 1;
  // 9 fixed bytes plus both strings must fit; compare without overflow.
  if ((R_xlen_t) e->nlen > n - ENV_HEADER) return PARSE_NAME_OVERRUN;
  if (e->nlen > INT_MAX) return PARSE_TOO_LONG;
  e->epos = 5 + (R_xlen_t) e->nlen;
  e->elen = get_u32(p + e->epos);
  *at = e->epos;
  if ((R_xlen_t) e->elen > n - e->epos - 4) return PARSE_ERROR_OVERRUN;
  if (e->elen > INT_MAX) return PARSE_TOO_LONG;
  *at = 5;
  if (memchr(p + 5, 0, e->nlen) != NULL || memchr(p + e->epos + 4, 0, e->elen) != NULL)
    return PARSE_NUL_IN_STRING;
  e->ppos = e->epos + 4 + (R_xlen_t) e->elen;
  e->plen = n - e->ppos;
  return PARSE_OK;
}

static SEXP payload_copy(SEXP x, const envelope_t *e) {
  SEXP payload = Rf_allocVector(RAWSXP, e->plen);
  if (e->plen > 0) memcpy(RAW(payload), RAW(x) + e->ppos, (size_t) e->plen);
  return payload;
}

// Parse an envelope. With copy = TRUE the payload is returned as one new raw
// vector (one memcpy); otherwise its 0-based offset and length are returned
// so a reader can work on the original vector.
SEXP mangoro_c_envelope_parse(SEXP x, SEXP copy) {
  envelope_t e;
  R_xlen_t at;
  int st = parse(x, &e, &at, 0);
  if (st != PARSE_OK) return parse_status(st, at);
  const unsigned char *p = RAW(x);
  int do_copy = Rf_asLogical(copy) == TRUE;
  const char *names[] = {"type", "name", "error",
                         do_copy ? "payload" : "offset", do_copy ? "" : "length", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(e.type));
  SET_VECTOR_ELT(out, 1, utf8_string(p + 5, e.nlen));
  SET_VECTOR_ELT(out, 2, utf8_string(p + e.epos + 4, e.elen));
  if (do_copy) {
    SET_VECTOR_ELT(out, 3, payload_copy(x, &e));
  } else {
    SET_VECTOR_ELT(out, 3, Rf_ScalarReal((double) e.ppos));
    SET_VECTOR_ELT(out, 4, Rf_ScalarReal((double) e.plen));
  }
  UNPROTECT(1);
  return out;
}

// The call id in request `msg`'s header (the 16 hex digits src/call.c's
// put_header() writes first), NULL when it has none.
SEXP mangoro_c_request_id(SEXP msg) {
  envelope_t e;
  R_xlen_t at;
  if (TYPEOF(msg) != RAWSXP || parse(msg, &e, &at, 0) != PARSE_OK) return R_NilValue;
  const char *t = (const char *) RAW(msg) + e.epos + 4;
  if (e.elen < 24 || memcmp(t, "{\"id\":\"", 7) != 0 || t[23] != '"') return R_NilValue;
  return Rf_ScalarString(Rf_mkCharLen(t + 7, 16));
}

static SEXP message_decode(SEXP x, int i64, int frame);

// mangoro_rpc_call()'s fast path (R/client.R): the result frame of `reply`,
// decoded in place, or NULL when there is more to it (not a raw vector, not
// a result, an int64 column that lost precision, or `data`, the arguments,
// of more than one class, which the result takes after), for the R code
// that says what, decoding it again. That is safe because the fast path only
// sends socket requests: their replies are never in shared memory (type 7),
// whose segment the first decode would have unlinked.
SEXP mangoro_c_call_reply(SEXP reply, SEXP data) {
  if (TYPEOF(reply) != RAWSXP || Rf_length(Rf_getAttrib(data, R_ClassSymbol)) > 1) return R_NilValue;
  SEXP res = message_decode(reply, -1, 1);
  return OBJECT(res) ? res : R_NilValue;
}

// A reply in one native call: list(type, name, error, offset, length, data,
// payload). For a result (type 2) `data` is what the Arrow reader gives,
// read in place (a data.frame or an error string; the reader covers every
// type mangoro reads) and `payload` is NULL; for any other type `data` is NULL and
// `payload` a copy of the payload (JSON for manifest, info and error).
// With frame = TRUE a result whose data is a data.frame that needs no more
// work in R (no int64 column that lost precision) is returned alone: the
// synchronous call's fast path (R/client.R).
SEXP mangoro_c_message_decode(SEXP x, SEXP int64, SEXP frame) {
  int i64 = Rf_asLogical(int64);
  return message_decode(x, i64 == NA_LOGICAL ? -1 : i64, Rf_asLogical(frame) == TRUE); // NA: ask R at the first int64 column
}

// i64: 1, 0, or -1 to ask R at the first int64 column; frame: return a
// clean result frame alone.
static SEXP message_decode(SEXP x, int i64, int frame) {
  envelope_t e;
  R_xlen_t at;
  int st = parse(x, &e, &at, 1);
  if (st != PARSE_OK) return parse_status(st, at);
  const unsigned char *p = RAW(x);
  // The result first: the fast path returns a clean frame alone, without
  // the list around it.
  SEXP data = R_NilValue, why = R_NilValue;
  if (e.type == 2 && e.plen > 0) {
    data = mangoro_ipc_read_in(x, p + e.ppos, (uint64_t) e.plen, i64);
  } else if (e.type == 7) {
    // A result in shared memory: the payload is its handle. The segment is
    // verified, mapped privately and unlinked; the frame is read in place
    // (its columns may be views of the mapping). A refusal gives the reason
    // in `payload`.
    mangoro_shm_seg seg;
    const char *reason = NULL;
    if (mangoro_shm_open(p + e.ppos, (size_t) e.plen, (uint64_t) 1 << 46, &seg, &reason) != 0) {
      why = Rf_mkString(reason);
    } else {
      SEXP map = PROTECT(mangoro_shm_mapping(&seg));
      data = mangoro_ipc_read_in(map, seg.addr + MANGORO_SHM_HEADER, seg.payload_len, i64);
      UNPROTECT(1);
    }
  }
  PROTECT(data);
  PROTECT(why);
  static SEXP s_lossy;
  if (frame && Rf_inherits(data, "data.frame") &&
      Rf_getAttrib(data, mangoro_sym(&s_lossy, "mangoro_lossy_int64")) == R_NilValue) {
    UNPROTECT(2);
    return data;
  }
  const char *names[] = {"type", "name", "error", "offset", "length", "data", "payload", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(e.type));
  SET_VECTOR_ELT(out, 1, utf8_string(p + 5, e.nlen));
  SET_VECTOR_ELT(out, 2, utf8_string(p + e.epos + 4, e.elen));
  SET_VECTOR_ELT(out, 3, Rf_ScalarReal((double) e.ppos));
  SET_VECTOR_ELT(out, 4, Rf_ScalarReal((double) e.plen));
  SET_VECTOR_ELT(out, 5, data);
  SET_VECTOR_ELT(out, 6, e.type == 2 || e.type == 7 ? why : payload_copy(x, &e));
  UNPROTECT(3);
  return out;
}
