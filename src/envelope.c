// The mangoro envelope (specified in inst/WIRE.md), in C so that building and
// parsing cost one pass over the bytes.
// Parsing never raises an R error for bad input; it returns a status code so
// the R side can signal a classed mangoro_protocol_error with a clear message.

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>

#define ENV_HEADER 9 /* type byte + two length words */

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

// A string argument as UTF-8 bytes; NULL/NA/"" all mean "empty".
static const char *utf8_or_empty(SEXP x, size_t *len) {
  if (TYPEOF(x) != STRSXP || XLENGTH(x) < 1 || STRING_ELT(x, 0) == NA_STRING) {
    *len = 0;
    return "";
  }
  const char *s = Rf_translateCharUTF8(STRING_ELT(x, 0));
  *len = strlen(s);
  return s;
}

// Build an envelope with one allocation and one copy of the payload.
SEXP mangoro_c_envelope_pack(SEXP type, SEXP name, SEXP error, SEXP payload) {
  int t = Rf_asInteger(type);
  if (t == NA_INTEGER || t < 0 || t > 255)
    Rf_error("envelope type must be an integer in 0..255");
  if (payload != R_NilValue && TYPEOF(payload) != RAWSXP)
    Rf_error("payload must be a raw vector or NULL");
  size_t nlen, elen;
  const char *n = utf8_or_empty(name, &nlen);
  const char *e = utf8_or_empty(error, &elen);
  if (nlen > UINT32_MAX || elen > UINT32_MAX)
    Rf_error("name or error longer than 4294967295 bytes");
  R_xlen_t plen = payload == R_NilValue ? 0 : XLENGTH(payload);
  R_xlen_t total = ENV_HEADER + (R_xlen_t) nlen + (R_xlen_t) elen + plen;

  SEXP out = PROTECT(Rf_allocVector(RAWSXP, total));
  unsigned char *p = RAW(out);
  p[0] = (unsigned char) t;
  put_u32(p + 1, (uint32_t) nlen);
  memcpy(p + 5, n, nlen);
  p += 5 + nlen;
  put_u32(p, (uint32_t) elen);
  memcpy(p + 4, e, elen);
  p += 4 + elen;
  if (plen > 0)
    memcpy(p, RAW(payload), (size_t) plen);
  UNPROTECT(1);
  return out;
}

// Envelope header only (type, name, error, no payload): callers that stream
// the payload into a connection write this first and append to it.
SEXP mangoro_c_envelope_header(SEXP type, SEXP name, SEXP error) {
  return mangoro_c_envelope_pack(type, name, error, R_NilValue);
}

static SEXP utf8_string(const unsigned char *p, uint32_t len) {
  return Rf_ScalarString(Rf_mkCharLenCE((const char *) p, (int) len, CE_UTF8));
}

// Parse status codes, mirrored in R/wire.R (envelope_parse_status).
enum {
  PARSE_OK = 0,
  PARSE_SHORT_HEADER = 1,
  PARSE_NAME_OVERRUN = 2,
  PARSE_ERROR_OVERRUN = 3,
  PARSE_NUL_IN_STRING = 4,
  PARSE_BAD_TYPE = 5,
  PARSE_TOO_LONG = 6
};

static SEXP parse_status(int code, R_xlen_t at) {
  const char *names[] = {"status", "at", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(code));
  SET_VECTOR_ELT(out, 1, Rf_ScalarReal((double) at));
  UNPROTECT(1);
  return out;
}

// Parse an envelope. Every length is checked against the buffer before it is
// used. With copy = TRUE the payload is returned as one new raw vector (one
// memcpy); otherwise its 0-based offset and length are returned so a reader
// can work on the original vector.
SEXP mangoro_c_envelope_parse(SEXP x, SEXP copy) {
  if (TYPEOF(x) != RAWSXP)
    Rf_error("message must be a raw vector");
  const unsigned char *p = RAW(x);
  R_xlen_t n = XLENGTH(x);
  if (n < ENV_HEADER)
    return parse_status(PARSE_SHORT_HEADER, n);
  int type = p[0];
  if (type > 4)
    return parse_status(PARSE_BAD_TYPE, 0);
  uint32_t nlen = get_u32(p + 1);
  // 9 fixed bytes plus both strings must fit; compare without overflow.
  if ((R_xlen_t) nlen > n - ENV_HEADER)
    return parse_status(PARSE_NAME_OVERRUN, 1);
  if (nlen > INT_MAX)
    return parse_status(PARSE_TOO_LONG, 1);
  R_xlen_t epos = 5 + (R_xlen_t) nlen;
  uint32_t elen = get_u32(p + epos);
  if ((R_xlen_t) elen > n - epos - 4)
    return parse_status(PARSE_ERROR_OVERRUN, epos);
  if (elen > INT_MAX)
    return parse_status(PARSE_TOO_LONG, epos);
  if (memchr(p + 5, 0, nlen) != NULL || memchr(p + epos + 4, 0, elen) != NULL)
    return parse_status(PARSE_NUL_IN_STRING, 5);
  R_xlen_t ppos = epos + 4 + (R_xlen_t) elen;
  R_xlen_t plen = n - ppos;

  int do_copy = Rf_asLogical(copy) == TRUE;
  const char *names[] = {"type", "name", "error",
                         do_copy ? "payload" : "offset", do_copy ? "" : "length", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(type));
  SET_VECTOR_ELT(out, 1, utf8_string(p + 5, nlen));
  SET_VECTOR_ELT(out, 2, utf8_string(p + epos + 4, elen));
  if (do_copy) {
    SEXP payload = Rf_allocVector(RAWSXP, plen);
    SET_VECTOR_ELT(out, 3, payload);
    if (plen > 0)
      memcpy(RAW(payload), p + ppos, (size_t) plen);
  } else {
    SET_VECTOR_ELT(out, 3, Rf_ScalarReal((double) ppos));
    SET_VECTOR_ELT(out, 4, Rf_ScalarReal((double) plen));
  }
  UNPROTECT(1);
  return out;
}
