// A synchronous call's request in one native call (R/client.R): the function
// name checked, a call id made, the request header written (inst/WIRE.md,
// "Request header") and the Arrow stream encoded behind it, into one raw
// vector or a shared memory arena (ipc_write.c). Done in C because these
// steps in R cost more than the transport of a small call. Every request
// header and call id R sends comes from here (R/message.R asks for the
// others).

#include "mangoro.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <math.h>

// Element `name` (a symbol) of list x, or R_NilValue. Names are compared as
// cached CHARSXPs (an ASCII name has one), pointer to pointer.
static SEXP list_get(SEXP x, SEXP name) {
  SEXP nms = Rf_getAttrib(x, R_NamesSymbol);
  if (TYPEOF(x) != VECSXP || TYPEOF(nms) != STRSXP) return R_NilValue;
  SEXP ch = PRINTNAME(name);
  for (R_xlen_t i = 0; i < XLENGTH(x); i++)
    if (STRING_ELT(nms, i) == ch) return VECTOR_ELT(x, i);
  return R_NilValue;
}

static SEXP s_id, s_header, s_timeout, s_wait, s_ok, s_arena, s_shm, s_speaks, s_token_json, s_max_size,
  s_opt_timeout, s_opt_threshold;

SEXP mangoro_encode_call(const char *name, size_t nlen, const char *text, size_t tlen,
                         SEXP cols, SEXP nrow, SEXP arena, double thr);

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
    else return 0;
    if (n - i <= k) return 0; // truncated sequence
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += k + 1;
  }
  return 1;
}

// Call ids: 16 hex digits, unique to this R session with overwhelming
// probability. A random 64-bit start, then each id the next step of a
// splitmix64 sequence (a bijection of a counter, so ids never repeat within
// the session and do not look sequential).
static uint64_t id_state;
static int id_seeded = 0;

static void id_seed(void) {
  uint64_t s = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f) {
    if (fread(&s, sizeof s, 1, f) != 1) s = 0;
    fclose(f);
  }
  if (s == 0) // no /dev/urandom (Windows): time, pid and an address
    s = ((uint64_t) time(NULL) << 32) ^ (uint64_t) getpid() ^ (uint64_t) (uintptr_t) &id_state;
  id_state = s;
  id_seeded = 1;
}

static void next_call_id(char out[17]) {
  if (!id_seeded) id_seed();
  uint64_t z = (id_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, z >>= 4) out[i] = hex[z & 0xF];
  out[16] = '\0';
}

// The number of rows of a data frame from its row names, without expanding
// compact ones (Rf_getAttrib would allocate 1..n); -1 when it has none.
static double frame_rows(SEXP x) {
  for (SEXP a = ATTRIB(x); a != R_NilValue; a = CDR(a)) {
    if (TAG(a) != R_RowNamesSymbol) continue;
    SEXP rn = CAR(a);
    if (TYPEOF(rn) == INTSXP && XLENGTH(rn) == 2 && INTEGER(rn)[0] == NA_INTEGER)
      return fabs((double) INTEGER(rn)[1]);
    return (double) Rf_xlength(rn);
  }
  return -1;
}

static size_t put_text(char *text, size_t n, const char *s) {
  size_t k = strlen(s);
  memcpy(text + n, s, k);
  return n + k;
}

// ms (0 .. 1e15) rounded to a whole number, in decimal digits: what
// printf("%.0f") writes, without printf's cost on every call.
static size_t put_ms(char *text, size_t n, double ms) {
  uint64_t v = (uint64_t) nearbyint(ms);
  char digits[20];
  int k = 0;
  do { digits[k++] = (char) ('0' + v % 10); v /= 10; } while (v);
  while (k) text[n++] = digits[--k];
  return n;
}

// The request header (inst/WIRE.md, "Request header") into text, which has
// room for idlen + toklen + 64 bytes; its length. id: NULL for none;
// ms: the timeout in ms (NaN: none); tok: the token as a JSON string. Empty
// when there is nothing to say.
static size_t put_header(char *text, const char *id, size_t idlen, double ms, const char *tok, size_t toklen) {
  size_t n = 0;
  const char *sep = "{";
  if (id) {
    memcpy(text, "{\"id\":\"", 7);
    memcpy(text + 7, id, idlen);
    text[7 + idlen] = '"';
    n = 8 + idlen;
    sep = ",";
  }
  if (!ISNAN(ms)) {
    if (ms > 1e15) ms = 1e15; // ~30,000 years; keeps the number short
    n = put_text(text, n, sep);
    n = put_text(text, n, "\"timeout_ms\":");
    n = put_ms(text, n, ms);
    sep = ",";
  }
  if (toklen) {
    n = put_text(text, n, sep);
    n = put_text(text, n, "\"token\":");
    memcpy(text + n, tok, toklen);
    n += toklen;
  }
  if (n) text[n++] = '}';
  return n;
}

// A fresh call id (R/message.R's new_call_id()).
SEXP mangoro_c_new_call_id(void) {
  char id[17];
  next_call_id(id);
  return Rf_mkString(id);
}

// The request header as a string (R/message.R's request_header()): id a
// string or NULL, timeout_ms a number (NA: none), token a JSON string ("":
// none).
SEXP mangoro_c_request_header(SEXP id, SEXP timeout_ms, SEXP token) {
  size_t idlen = 0, toklen;
  const char *i = id == R_NilValue ? NULL : mangoro_utf8_or_empty(id, &idlen);
  const char *tok = mangoro_utf8_or_empty(token, &toklen);
  if (idlen > 64 || toklen > INT_MAX / 2) return Rf_mkString("");
  char *text = R_alloc(idlen + toklen + 64, 1);
  size_t n = put_header(text, i, idlen, Rf_asReal(timeout_ms), tok, toklen);
  return Rf_ScalarString(Rf_mkCharLenCE(text, (int) n, CE_UTF8));
}

// One number >= 0 (not NA); -1 when x is anything else.
static double non_negative(SEXP x) {
  int numeric = TYPEOF(x) == REALSXP || (TYPEOF(x) == INTSXP && !Rf_isFactor(x));
  if (!numeric || XLENGTH(x) != 1) return -1;
  double v = Rf_asReal(x);
  return ISNAN(v) || v < 0 ? -1 : v;
}

// name: the function name; cols, nrow: the arguments (a list of columns;
// nrow NULL: cols is a data frame, its row names say);
// with_id: give the call an id; timeout_ms: R's wait in ms (NA: none; sent
// only with an id); token: the token as a JSON string ("" for none); arena,
// threshold: as mangoro_encode_call() (threshold NA: never shared memory).
// Returns what mangoro_encode_call() returns, with attributes "id" (when
// with_id) and "header" (the request header, for a shared memory envelope)
// on a raw message or a stream length; or integer status 1 when the name is
// not 1..256 bytes of valid UTF-8 (R/message.R's check_func_name() says why),
// 2 when the threshold is not one number >= 0 (NULL means 256 KiB; R/shm.R's
// shm_threshold() says why; Inf: never). NULL also when nrow is NULL and cols has no row
// names.
static SEXP call_encode(SEXP name, SEXP cols, SEXP nrow, SEXP with_id, SEXP timeout_ms,
                        SEXP token, SEXP arena, SEXP threshold, int raw_id);

SEXP mangoro_c_call_encode(SEXP name, SEXP cols, SEXP nrow, SEXP with_id, SEXP timeout_ms,
                           SEXP token, SEXP arena, SEXP threshold) {
  return call_encode(name, cols, nrow, with_id, timeout_ms, token, arena, threshold, 1);
}

// raw_id = 0: a raw request gets no "id" attribute (the fast path reads the
// id from the request itself, and only if the call is abandoned: making the
// string was a cost on every call).
static SEXP call_encode(SEXP name, SEXP cols, SEXP nrow, SEXP with_id, SEXP timeout_ms,
                        SEXP token, SEXP arena, SEXP threshold, int raw_id) {
  double thr = 262144;
  if (threshold != R_NilValue && (thr = non_negative(threshold)) < 0) return Rf_ScalarInteger(2); // Inf: never shared memory
  SEXP nr = nrow;
  if (nr == R_NilValue) {
    double n = frame_rows(cols);
    if (n < 0) return R_NilValue;
    nr = Rf_ScalarReal(n);
  }
  PROTECT(nr);
  if (TYPEOF(name) != STRSXP || XLENGTH(name) != 1 || STRING_ELT(name, 0) == NA_STRING) {
    UNPROTECT(1);
    return Rf_ScalarInteger(1);
  }
  const char *nm = Rf_translateCharUTF8(STRING_ELT(name, 0));
  size_t nlen = strlen(nm);
  if (nlen == 0 || nlen > 256 || !utf8_valid((const unsigned char *) nm, nlen)) {
    UNPROTECT(1);
    return Rf_ScalarInteger(1);
  }
  size_t toklen;
  const char *tok = mangoro_utf8_or_empty(token, &toklen);
  if (toklen > INT_MAX / 2) {
    UNPROTECT(1);
    return Rf_mkString("the token is too long");
  }
  int id = Rf_asLogical(with_id) == TRUE;
  double ms = Rf_asReal(timeout_ms);
  char idbuf[17] = "";
  if (id) next_call_id(idbuf);
  char room[256]; // a header without a long token
  char *text = 16 + toklen + 64 <= sizeof room ? room : R_alloc(16 + toklen + 64, 1);
  size_t tlen = put_header(text, id ? idbuf : NULL, 16, id ? ms : NAN, tok, toklen);
  SEXP out = PROTECT(mangoro_encode_call(nm, nlen, text, tlen, cols, nr, arena, thr));
  if (TYPEOF(out) == RAWSXP || TYPEOF(out) == REALSXP) {
    if (id && (raw_id || TYPEOF(out) != RAWSXP)) Rf_setAttrib(out, mangoro_sym(&s_id, "id"), Rf_mkString(idbuf));
    if (TYPEOF(out) == REALSXP) {
      SEXP h = PROTECT(Rf_allocVector(STRSXP, 1));
      SET_STRING_ELT(h, 0, Rf_mkCharLenCE(text, (int) tlen, CE_UTF8));
      Rf_setAttrib(out, mangoro_sym(&s_header, "header"), h);
      UNPROTECT(1);
    }
  }
  UNPROTECT(2);
  return out;
}

// Options tag1 and tag2 (R_NilValue when unset) in one walk of R's options
// list, as Rf_GetOption1() reads one: unset, the usual case, an option costs
// a walk of the whole list, about a microsecond in situ (bench/PROFILE.md).
static void two_options(SEXP tag1, SEXP *v1, SEXP tag2, SEXP *v2) {
  static SEXP s_options;
  *v1 = *v2 = R_NilValue;
  int left = 2;
  for (SEXP o = Rf_findVarInFrame(R_BaseEnv, mangoro_sym(&s_options, ".Options")); left && TYPEOF(o) == LISTSXP; o = CDR(o)) {
    if (TAG(o) == tag1) *v1 = CAR(o), left--;
    else if (TAG(o) == tag2) *v2 = CAR(o), left--;
  }
}

// mangoro_rpc_call()'s fast path (R/client.R) in one native call: whether
// it applies (`sock` a started server with its call record `.call`, see
// R/client.R's rpc_target(), `data` a list, no cancel queued in `state`,
// the client state), the options it reads (mangoro.timeout,
// mangoro.shm_threshold), the request (mangoro_c_call_encode) and the size
// check. A raw request has attributes "timeout" (ms for nanonext, NULL for
// none) and "wait" (ms for the cv wait), and its call id in its header
// (mangoro_c_request_id()); anything that needs more than this (a bad timeout or option, a
// message over the server's limit, an arena to grow) gives what
// mangoro_c_call_encode() gives or NULL, and the slow path, which says what
// is wrong, takes over.
SEXP mangoro_c_call_fast(SEXP sock, SEXP name, SEXP data, SEXP timeout, SEXP margin, SEXP state) {
  // A data frame or list to a started server, no cancels queued.
  static SEXP s_call, s_deferred;
  if (TYPEOF(sock) != ENVSXP || TYPEOF(data) != VECSXP || TYPEOF(state) != ENVSXP) return R_NilValue;
  SEXP deferred = Rf_findVarInFrame(state, mangoro_sym(&s_deferred, "deferred"));
  if (deferred != R_UnboundValue && Rf_xlength(deferred) > 0) return R_NilValue;
  SEXP call = Rf_findVarInFrame(sock, mangoro_sym(&s_call, ".call"));
  if (TYPEOF(call) != VECSXP) return R_NilValue;
  SEXP opt_timeout, opt_threshold;
  two_options(mangoro_sym(&s_opt_timeout, "mangoro.timeout"), &opt_timeout,
              mangoro_sym(&s_opt_threshold, "mangoro.shm_threshold"), &opt_threshold);
  SEXP t = timeout == R_NilValue ? opt_timeout : timeout;
  double ms = 10000;
  if (t != R_NilValue && (ms = non_negative(t)) < 0) return R_NilValue;
  int none = !R_FINITE(ms);
  int tms = none ? 0 : (ms > INT_MAX ? INT_MAX : (int) ms);
  SEXP shm = list_get(call, mangoro_sym(&s_shm, "shm")), arena = R_NilValue;
  SEXP thr = PROTECT(Rf_ScalarReal(R_PosInf));
  if (TYPEOF(shm) == ENVSXP) {
    SEXP ok = Rf_findVarInFrame(shm, mangoro_sym(&s_ok, "ok"));
    arena = Rf_findVarInFrame(shm, mangoro_sym(&s_arena, "arena"));
    if (arena == R_UnboundValue) arena = R_NilValue;
    if (TYPEOF(ok) == LGLSXP && XLENGTH(ok) == 1 && LOGICAL(ok)[0] == TRUE) {
      UNPROTECT(1);
      thr = PROTECT(opt_threshold);
    }
  }
  PROTECT(arena);
  SEXP deadline = PROTECT(Rf_ScalarReal(none ? NA_REAL : (double) tms + Rf_asReal(margin)));
  SEXP msg = PROTECT(call_encode(name, data, R_NilValue, list_get(call, mangoro_sym(&s_speaks, "speaks")), deadline,
                                 list_get(call, mangoro_sym(&s_token_json, "token_json")), arena, thr, 0));
  if (TYPEOF(msg) == RAWSXP) {
    double max = Rf_asReal(list_get(call, mangoro_sym(&s_max_size, "max_size")));
    if (!((double) XLENGTH(msg) <= max)) {
      UNPROTECT(4);
      return R_NilValue;
    }
    SEXP wait = PROTECT(Rf_ScalarInteger(none || tms > INT_MAX - 5 ? INT_MAX : tms + 5));
    Rf_setAttrib(msg, mangoro_sym(&s_wait, "wait"), wait);
    if (!none) {
      SEXP tm = PROTECT(Rf_ScalarInteger(tms));
      Rf_setAttrib(msg, mangoro_sym(&s_timeout, "timeout"), tm);
      UNPROTECT(1);
    }
    UNPROTECT(1);
  }
  UNPROTECT(4);
  return msg;
}
