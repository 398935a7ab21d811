// Lazy character vectors over an Arrow utf8 / large_utf8 array.
//
// Why: R spends most of a string result's time creating one CHARSXP per
// element (1e6 strings: ~1.5 s, the same as unserialize()). A result that is
// only partly used should pay only for what is used. This ALTREP STRSXP keeps
// the Arrow offsets, data and validity bitmap (inside a holder: a raw vector
// or a shared memory mapping, kept alive by the vector) and creates each
// CHARSXP on first access; DATAPTR (which R needs for many operations)
// materializes every element once and drops the holder.
//
// The offsets are checked once when the vector is made (monotonic, inside the
// data); each string's UTF-8 is checked when its CHARSXP is made.

#include "shm.h"
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <R_ext/Altrep.h>

// data1: list(holder or NULL, cache STRSXP or NULL)
// data2: REALSXP meta, see the M_* slots.
// M_NEXT, M_RUN: where an in-order scan would read next, and how many
// elements its last miss made (lazy_elt).
enum { M_OFFS, M_DATA, M_DLEN, M_VALID, M_N, M_LARGE, M_FULL, M_NEXT, M_RUN, M_SLOTS };

static R_altrep_class_t lazy_utf8;

static double *meta(SEXP x) { return REAL(R_altrep_data2(x)); }
static SEXP holder(SEXP x) { return VECTOR_ELT(R_altrep_data1(x), 0); }
static SEXP cache(SEXP x) { return VECTOR_ELT(R_altrep_data1(x), 1); }

static R_xlen_t lazy_length(SEXP x) { return (R_xlen_t) meta(x)[M_N]; }

static int64_t offset_at(const unsigned char *p, int large, R_xlen_t i) {
  if (large) { int64_t v; memcpy(&v, p + (size_t) i * 8, 8); return v; }
  int32_t v;
  memcpy(&v, p + (size_t) i * 4, 4);
  return v;
}

// Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)?
static int utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t k;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    i += k + 1;
  }
  return 1;
}

// Is s[0..n) ASCII without a NUL? Eight bytes at a time: most strings are,
// and then neither the NUL search nor the UTF-8 check is needed.
static int plain_ascii(const unsigned char *s, size_t n) {
  const uint64_t hi = 0x8080808080808080ULL, lo = 0x0101010101010101ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if ((w & hi) || ((w - lo) & ~w & hi)) return 0;
  }
  for (; i < n; i++) if (s[i] == 0 || s[i] >= 0x80) return 0;
  return 1;
}

// Where a lazy vector's Arrow buffers are, looked up once per access or per
// materialization rather than once per element.
typedef struct {
  const unsigned char *valid, *offs, *data; // valid NULL: no nulls
  int large;
} view_t;

static view_t view_of(SEXP x) {
  double *m = meta(x);
  size_t len;
  const unsigned char *base = mangoro_holder_bytes(holder(x), &len);
  if (!base) Rf_error("mangoro: the memory behind this character vector was released");
  return (view_t) {m[M_VALID] >= 0 ? base + (size_t) m[M_VALID] : NULL, base + (size_t) m[M_OFFS],
                   base + (size_t) m[M_DATA], m[M_LARGE] != 0};
}

// The CHARSXP of element i, made from the Arrow bytes; NULL when the string
// can't be an R string, with *why saying so.
static SEXP try_elt(const view_t *v, R_xlen_t i, const char **why) {
  if (v->valid && !((v->valid[i >> 3] >> (i & 7)) & 1)) return NA_STRING;
  int64_t a = offset_at(v->offs, v->large, i), b = offset_at(v->offs, v->large, i + 1);
  const unsigned char *s = v->data + (size_t) a;
  size_t n = (size_t) (b - a);
  if (n > INT_MAX) { *why = "is longer than R allows"; return NULL; }
  if (!plain_ascii(s, n)) {
    if (memchr(s, 0, n)) { *why = "holds a NUL byte, which R strings cannot"; return NULL; }
    if (!utf8_ok(s, n)) { *why = "is not valid UTF-8"; return NULL; }
  }
  return Rf_mkCharLenCE((const char *) s, (int) n, CE_UTF8);
}

// Element i, or an R error saying why it can't be one.
static SEXP view_elt(const view_t *v, R_xlen_t i) {
  const char *why = NULL;
  SEXP e = try_elt(v, i, &why);
  if (!e) Rf_error("mangoro: string %.0f %s", (double) i + 1, why);
  return e;
}

// The element cache, made on first use. R_BlankString marks "not made yet"
// (a real "" is cheap to make again).
static SEXP ensure_cache(SEXP x) {
  SEXP c = cache(x);
  if (c == R_NilValue) {
    c = Rf_allocVector(STRSXP, lazy_length(x));
    SET_VECTOR_ELT(R_altrep_data1(x), 1, c);
  }
  return c;
}

// Element i, made on first use. A miss right where the previous one's run
// ended (an in-order scan: nchar(), paste(), a loop) makes a longer run at
// once, 8 then 16 ... up to 4096 elements, in one loop: a scan of every
// element then costs about what materializing does, while scattered use
// still makes one element per miss.
static SEXP lazy_elt(SEXP x, R_xlen_t i) {
  SEXP c = cache(x);
  double *m = meta(x);
  if (m[M_FULL] != 0) return STRING_ELT(c, i);
  if (c != R_NilValue) {
    SEXP v = STRING_ELT(c, i);
    if (v != R_BlankString) return v;
  }
  R_xlen_t n = lazy_length(x);
  R_xlen_t run = 1;
  if (i > 0 && (double) i == m[M_NEXT]) {
    run = m[M_RUN] < 4 ? 8 : (R_xlen_t) m[M_RUN] * 2;
    if (run > 4096) run = 4096;
  }
  if (run > n - i) run = n - i;
  c = PROTECT(ensure_cache(x));
  view_t v = view_of(x);
  SEXP first = view_elt(&v, i); // an error here is the element asked for
  if (first != R_BlankString) SET_STRING_ELT(c, i, first);
  for (R_xlen_t k = i + 1; k < i + run; k++) {
    if (STRING_ELT(c, k) != R_BlankString) continue; // made before
    const char *why = NULL;
    SEXP e = try_elt(&v, k, &why);
    if (!e) { run = k - i; break; } // a bad string errors only when it is asked for
    if (e != R_BlankString) SET_STRING_ELT(c, k, e);
  }
  m = meta(x);
  m[M_NEXT] = (double) (i + run);
  m[M_RUN] = (double) run;
  UNPROTECT(1);
  return first;
}

// Makes every element; the Arrow bytes are not needed afterwards.
static void materialize(SEXP x) {
  if (meta(x)[M_FULL] != 0) return;
  SEXP c = PROTECT(ensure_cache(x));
  R_xlen_t n = lazy_length(x);
  view_t v = view_of(x); // the holder stays alive until the loop is done
  for (R_xlen_t i = 0; i < n; i++) {
    if (STRING_ELT(c, i) == R_BlankString) SET_STRING_ELT(c, i, view_elt(&v, i));
  }
  meta(x)[M_FULL] = 1;
  SET_VECTOR_ELT(R_altrep_data1(x), 0, R_NilValue);
  UNPROTECT(1);
}

static void *lazy_dataptr(SEXP x, Rboolean writeable) {
  (void) writeable;
  materialize(x);
  return DATAPTR(cache(x));
}

static const void *lazy_dataptr_or_null(SEXP x) {
  return meta(x)[M_FULL] != 0 ? DATAPTR(cache(x)) : NULL;
}

static void lazy_set_elt(SEXP x, R_xlen_t i, SEXP v) {
  materialize(x);
  SET_STRING_ELT(cache(x), i, v);
}

static SEXP lazy_duplicate(SEXP x, Rboolean deep) {
  (void) deep;
  R_xlen_t n = lazy_length(x);
  SEXP out = PROTECT(Rf_allocVector(STRSXP, n));
  for (R_xlen_t i = 0; i < n; i++) SET_STRING_ELT(out, i, lazy_elt(x, i));
  UNPROTECT(1);
  return out;
}

static Rboolean lazy_inspect(SEXP x, int pre, int deep, int pvec,
                             void (*inspect_subtree)(SEXP, int, int, int)) {
  (void) pre; (void) deep; (void) pvec; (void) inspect_subtree;
  Rprintf(" mangoro lazy utf8 of %.0f strings (%s)\n", (double) lazy_length(x),
          meta(x)[M_FULL] != 0 ? "materialized" : "lazy");
  return TRUE;
}

void mangoro_init_altrep_string(DllInfo *dll) {
  lazy_utf8 = R_make_altstring_class("mangoro_lazy_utf8", "mangoro", dll);
  R_set_altrep_Length_method(lazy_utf8, lazy_length);
  R_set_altrep_Duplicate_method(lazy_utf8, lazy_duplicate);
  R_set_altrep_Inspect_method(lazy_utf8, lazy_inspect);
  R_set_altvec_Dataptr_method(lazy_utf8, lazy_dataptr);
  R_set_altvec_Dataptr_or_null_method(lazy_utf8, lazy_dataptr_or_null);
  R_set_altstring_Elt_method(lazy_utf8, lazy_elt);
  R_set_altstring_Set_elt_method(lazy_utf8, lazy_set_elt);
}

// A lazy character vector of `n` strings over the Arrow buffers at byte
// offsets `offsets` (n + 1 int32, or int64 when `large`), `data` (`data_len`
// bytes) and `validity` (a bitmap, or negative for none) of `holder` (a raw
// vector or a mapping; for a mapping, offsets count from the start of the
// mapping). Checks the offsets; R error when they are bad.
SEXP mangoro_lazy_utf8(SEXP holder, uint64_t offsets, uint64_t data, uint64_t data_len,
                       int64_t validity, R_xlen_t n, int large) {
  size_t len;
  const unsigned char *base = mangoro_holder_bytes(holder, &len);
  if (!base) Rf_error("mangoro: lazy strings need a raw vector or a live mapping");
  size_t w = large ? 8 : 4;
  if (n < 0 || offsets > len || (uint64_t) n + 1 > (len - offsets) / w) Rf_error("mangoro: the string offsets are out of bounds");
  if (data > len || data_len > len - data) Rf_error("mangoro: the string data are out of bounds");
  if (validity >= 0 && ((uint64_t) validity > len || ((uint64_t) n + 7) / 8 > len - (uint64_t) validity)) {
    Rf_error("mangoro: the validity bitmap is out of bounds");
  }
  const unsigned char *offs = base + offsets;
  int64_t prev = offset_at(offs, large, 0);
  if (prev < 0) Rf_error("mangoro: the string offsets are malformed");
  for (R_xlen_t i = 1; i <= n; i++) {
    int64_t o = offset_at(offs, large, i);
    if (o < prev) Rf_error("mangoro: the string offsets are malformed");
    prev = o;
  }
  if ((uint64_t) prev > data_len) Rf_error("mangoro: the string offsets point past the data");
  SEXP d1 = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(d1, 0, holder);
  SEXP m = PROTECT(Rf_allocVector(REALSXP, M_SLOTS));
  double *mp = REAL(m);
  mp[M_OFFS] = (double) offsets;
  mp[M_DATA] = (double) data;
  mp[M_DLEN] = (double) data_len;
  mp[M_VALID] = (double) validity;
  mp[M_N] = (double) n;
  mp[M_LARGE] = large;
  mp[M_FULL] = 0;
  mp[M_NEXT] = -1;
  mp[M_RUN] = 0;
  SEXP out = R_new_altrep(lazy_utf8, d1, m);
  UNPROTECT(2);
  return out;
}

static double nonneg(SEXP x, const char *what) {
  double v = Rf_asReal(x);
  if (!(v >= 0) || v > 9007199254740992.0) Rf_error("mangoro: %s must be a non-negative number", what);
  return v;
}

// .Call entry: offsets, data, validity are byte offsets into the holder
// (validity NULL for none); for a mapping they count from its payload.
SEXP mangoro_c_lazy_utf8(SEXP holder, SEXP offsets, SEXP data, SEXP data_len, SEXP validity,
                         SEXP n, SEXP large) {
  uint64_t shift = TYPEOF(holder) == EXTPTRSXP ? MANGORO_SHM_HEADER : 0;
  int64_t v = Rf_isNull(validity) ? -1 : (int64_t) (nonneg(validity, "validity") + shift);
  return mangoro_lazy_utf8(holder, (uint64_t) nonneg(offsets, "offsets") + shift,
                           (uint64_t) nonneg(data, "data") + shift, (uint64_t) nonneg(data_len, "data_len"),
                           v, (R_xlen_t) nonneg(n, "n"), Rf_asLogical(large) == TRUE);
}

// .Call entry: materializes a lazy vector (for benchmarks); returns it.
SEXP mangoro_c_lazy_materialize(SEXP x) {
  if (ALTREP(x) && R_altrep_inherits(x, lazy_utf8)) materialize(x);
  return x;
}
