// A reader for Arrow IPC streams of flat schemas, straight into R vectors.
//
// Why: a one-row result costs ~70 us through nanoarrow (reader, array stream,
// conversion in R); this costs a few. It reads the stream in place, from an
// offset into the received message, so the payload is never copied, and
// copies each Arrow buffer into its R vector once.
//
// Covered: bool, int32, int64 (as bit64::integer64), float64, utf8,
// large_utf8, date32, timestamp (any unit, with zone) and dictionary<int32,
// utf8> (a factor, ordered when the dictionary says so). Streams with any
// other type (structs, lists, binary, ...), compression, big-endian data,
// delta or replaced dictionaries are left to nanoarrow: the entry point then
// returns NULL.
//
// The input is untrusted: every flatbuffer offset, vector length, buffer and
// string offset is checked against the bytes it points into before it is
// read, and bad input gives back a message (the R side raises a
// mangoro_protocol_error), never an out-of-bounds read. Pass 1 parses and
// checks all metadata and buffer sizes, so pass 2 only allocates what the
// message's bytes can fill.

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>

// Column kinds of the reader.
enum { C_LGL = 1, C_INT, C_I64, C_DBL, C_STR, C_LSTR, C_DATE, C_TS, C_FCT };

// Arrow flatbuffer enums used below (Schema.fbs / Message.fbs).
enum { H_SCHEMA = 1, H_DICT = 2, H_BATCH = 3 };
enum { T_INT = 2, T_FLOAT = 3, T_UTF8 = 5, T_BOOL = 6, T_DATE = 8, T_TS = 10, T_LUTF8 = 20 };

// Outcome of a step: go on, fall back to nanoarrow, or malformed input.
enum { OK = 0, FALLBACK = 1, BAD = 2 };

typedef struct {
  const unsigned char *p;
  uint64_t n;
} span_t;

typedef struct {
  span_t b;
  uint64_t t;     // table start
  uint64_t vt;    // vtable start
  uint16_t vtlen; // vtable bytes
  uint16_t tlen;  // table bytes
} table_t;

typedef struct {
  const char *why; // set on malformed input
} err_t;

static uint64_t le(const unsigned char *p, int w) {
  uint64_t v = 0;
  for (int i = w - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// --- checked flatbuffer access --------------------------------------------------

static int bad(err_t *e, const char *why) {
  if (e->why == NULL) e->why = why;
  return BAD;
}

// Does [pos, pos + len) lie inside `b`?
static int inside(span_t b, uint64_t pos, uint64_t len) {
  return pos <= b.n && len <= b.n - pos;
}

static int table_at(span_t b, uint64_t t, table_t *out, err_t *e) {
  if (!inside(b, t, 4)) return bad(e, "a flatbuffer table offset is out of bounds");
  int32_t soff = (int32_t) (uint32_t) le(b.p + t, 4);
  int64_t vt = (int64_t) t - (int64_t) soff;
  if (vt < 0 || !inside(b, (uint64_t) vt, 4)) return bad(e, "a flatbuffer vtable offset is out of bounds");
  uint16_t vtlen = (uint16_t) le(b.p + vt, 2), tlen = (uint16_t) le(b.p + vt + 2, 2);
  if (vtlen < 4 || (vtlen & 1) || !inside(b, (uint64_t) vt, vtlen) || tlen < 4 || !inside(b, t, tlen))
    return bad(e, "a flatbuffer vtable is malformed");
  *out = (table_t) {b, t, (uint64_t) vt, vtlen, tlen};
  return OK;
}

// Absolute position of field `i` of `size` bytes, or 0 when absent.
static uint64_t field_pos(const table_t *t, int i, int size, err_t *e) {
  uint64_t slot = 4 + 2 * (uint64_t) i;
  if (slot + 2 > t->vtlen) return 0;
  uint16_t off = (uint16_t) le(t->b.p + t->vt + slot, 2);
  if (off == 0) return 0;
  if ((uint64_t) off + (uint64_t) size > t->tlen) {
    bad(e, "a flatbuffer field runs past its table");
    return 0;
  }
  return t->t + off;
}

static int64_t field_int(const table_t *t, int i, int size, int64_t dflt, err_t *e) {
  uint64_t pos = field_pos(t, i, size, e);
  if (pos == 0) return dflt;
  uint64_t v = le(t->b.p + pos, size);
  switch (size) {
  case 1: return (int64_t) (int8_t) v;
  case 2: return (int64_t) (int16_t) v;
  case 4: return (int64_t) (int32_t) v;
  default: return (int64_t) v;
  }
}

// Target of an offset field, or 0 when absent (or malformed: e->why set).
static uint64_t field_ref(const table_t *t, int i, err_t *e) {
  uint64_t pos = field_pos(t, i, 4, e);
  if (pos == 0) return 0;
  uint64_t target = pos + le(t->b.p + pos, 4);
  if (!inside(t->b, target, 4)) {
    bad(e, "a flatbuffer offset is out of bounds");
    return 0;
  }
  return target;
}

// Sub-table at field `i`: OK with `out` filled, FALLBACK when absent, BAD.
static int field_table(const table_t *t, int i, table_t *out, err_t *e) {
  uint64_t target = field_ref(t, i, e);
  if (e->why) return BAD;
  if (target == 0) return FALLBACK;
  return table_at(t->b, target, out, e);
}

// Vector at field `i` of `elsize`-byte elements: count and first element.
static int field_vector(const table_t *t, int i, uint64_t elsize, uint64_t *count,
                        uint64_t *start, err_t *e) {
  *count = 0;
  *start = 0;
  uint64_t target = field_ref(t, i, e);
  if (e->why) return BAD;
  if (target == 0) return OK;
  uint64_t k = le(t->b.p + target, 4);
  if (!inside(t->b, target + 4, k * elsize)) return bad(e, "a flatbuffer vector runs past the message");
  *count = k;
  *start = target + 4;
  return OK;
}

// Element `k` of a vector of offsets to tables.
static int vector_table(span_t b, uint64_t start, uint64_t k, table_t *out, err_t *e) {
  uint64_t pos = start + 4 * k;
  uint64_t target = pos + le(b.p + pos, 4);
  return table_at(b, target, out, e);
}

// --- schema ------------------------------------------------------------------------

typedef struct {
  int kind;
  double divisor;    // C_TS: units per second
  SEXP name;         // CHARSXP
  SEXP tz;           // C_TS: CHARSXP of the zone ("" when none)
  int64_t dict_id;   // C_FCT
  int ordered;       // C_FCT
  int nbuf;          // buffers per column in a batch
} field_t;

static int parse_type(const table_t *f, field_t *out, int int64_ok, err_t *e) {
  int type = (int) field_int(f, 2, 1, 0, e);
  table_t ty, dict;
  int has_type = field_table(f, 3, &ty, e);
  if (has_type == BAD) return BAD;
  uint64_t nkids, kids;
  if (field_vector(f, 5, 4, &nkids, &kids, e) != OK) return BAD;
  if (nkids != 0) return FALLBACK;
  int has_dict = field_table(f, 4, &dict, e);
  if (has_dict == BAD) return BAD;
  if (has_dict == OK) {
    table_t idx;
    int has_idx = field_table(&dict, 1, &idx, e);
    if (has_idx == BAD) return BAD;
    // An absent index type means int32 (Schema.fbs).
    if (has_idx == OK && (field_int(&idx, 0, 4, 0, e) != 32 || field_int(&idx, 1, 1, 0, e) != 1))
      return e->why ? BAD : FALLBACK;
    if (type != T_UTF8) return FALLBACK;
    out->kind = C_FCT;
    out->dict_id = field_int(&dict, 0, 8, 0, e);
    out->ordered = field_int(&dict, 2, 1, 0, e) != 0;
    out->nbuf = 2;
    return e->why ? BAD : OK;
  }
  out->nbuf = 2;
  switch (type) {
  case T_INT: {
    if (has_type != OK) return bad(e, "an Int field has no type table");
    int64_t width = field_int(&ty, 0, 4, 0, e), sign = field_int(&ty, 1, 1, 0, e);
    if (width == 32 && sign) out->kind = C_INT;
    else if (width == 64 && sign && int64_ok) out->kind = C_I64;
    else return e->why ? BAD : FALLBACK;
    break;
  }
  case T_FLOAT:
    if (has_type != OK) return bad(e, "a FloatingPoint field has no type table");
    if (field_int(&ty, 0, 2, 0, e) != 2) return e->why ? BAD : FALLBACK;
    out->kind = C_DBL;
    break;
  case T_UTF8: out->kind = C_STR; out->nbuf = 3; break;
  case T_LUTF8: out->kind = C_LSTR; out->nbuf = 3; break;
  case T_BOOL: out->kind = C_LGL; break;
  case T_DATE:
    // The default unit is milliseconds (date64-like); only days map to Date.
    if (has_type != OK || field_int(&ty, 0, 2, 1, e) != 0) return e->why ? BAD : FALLBACK;
    out->kind = C_DATE;
    break;
  case T_TS: {
    if (has_type != OK) return bad(e, "a Timestamp field has no type table");
    static const double per_second[4] = {1, 1e3, 1e6, 1e9};
    int64_t unit = field_int(&ty, 0, 2, 0, e);
    if (unit < 0 || unit > 3) return bad(e, "a Timestamp has an unknown unit");
    out->kind = C_TS;
    out->divisor = per_second[unit];
    uint64_t zlen, zpos;
    if (field_vector(&ty, 1, 1, &zlen, &zpos, e) != OK) return BAD;
    if (zlen > INT_MAX || (zlen && memchr(ty.b.p + zpos, 0, zlen)))
      return bad(e, "a time zone name is malformed");
    out->tz = Rf_mkCharLenCE((const char *) ty.b.p + zpos, (int) zlen, CE_UTF8);
    break;
  }
  default:
    return FALLBACK;
  }
  return e->why ? BAD : OK;
}

// Fields of the Schema table into `fields` (R_alloc'd); names kept alive in
// `keep` (protected at index `ipx`).
static int parse_schema(const table_t *s, field_t **fields, int *nfield, SEXP *keep,
                        PROTECT_INDEX ipx, int int64_ok, err_t *e) {
  if (field_int(s, 0, 2, 0, e) != 0) return e->why ? BAD : FALLBACK; // big-endian
  uint64_t count, start;
  if (field_vector(s, 1, 4, &count, &start, e) != OK) return BAD;
  if (count > INT_MAX / 2) return bad(e, "the schema has too many fields");
  field_t *f = (field_t *) R_alloc(count ? count : 1, sizeof(field_t));
  // Names and zones of the fields, then room for the levels of each.
  REPROTECT(*keep = Rf_allocVector(VECSXP, 3 * (R_xlen_t) count), ipx);
  for (uint64_t j = 0; j < count; j++) {
    table_t ft;
    if (vector_table(s->b, start, j, &ft, e) != OK) return BAD;
    memset(&f[j], 0, sizeof(field_t));
    f[j].tz = R_BlankString;
    uint64_t nlen, npos;
    if (field_vector(&ft, 0, 1, &nlen, &npos, e) != OK) return BAD;
    if (nlen > INT_MAX || (nlen && memchr(ft.b.p + npos, 0, nlen)))
      return bad(e, "a field name is malformed");
    f[j].name = Rf_mkCharLenCE((const char *) ft.b.p + npos, (int) nlen, CE_UTF8);
    SET_VECTOR_ELT(*keep, 2 * (R_xlen_t) j, f[j].name);
    int st = parse_type(&ft, &f[j], int64_ok, e);
    if (st != OK) return st;
    SET_VECTOR_ELT(*keep, 2 * (R_xlen_t) j + 1, f[j].tz);
  }
  *fields = f;
  *nfield = (int) count;
  return OK;
}

// --- record batches -------------------------------------------------------------------

typedef struct {
  const unsigned char *p; // start of the buffer in the message
  uint64_t len;
} abuf_t;

typedef struct {
  int64_t nulls;
  abuf_t buf[3];
} acol_t;

typedef struct {
  int64_t n;
  acol_t *cols;
} batch_t;

// Bytes a buffer must hold for `n` values of a column.
static uint64_t need_bytes(int kind, int which, uint64_t n) {
  if (which == 0) return (n + 7) / 8; // validity
  switch (kind) {
  case C_LGL: return (n + 7) / 8;
  case C_INT: case C_DATE: case C_FCT: return 4 * n;
  case C_I64: case C_DBL: case C_TS: return 8 * n;
  case C_STR: return which == 1 ? (n ? 4 * (n + 1) : 0) : 0;
  default: return which == 1 ? (n ? 8 * (n + 1) : 0) : 0; // C_LSTR
  }
}

// A RecordBatch table against its body: checks every node and buffer and
// fills `out` with `ncol` columns of the given kinds.
static int parse_batch(const table_t *rb, span_t body, const field_t *f, int ncol, batch_t *out,
                       err_t *e) {
  table_t comp;
  int has_comp = field_table(rb, 3, &comp, e);
  if (has_comp == BAD) return BAD;
  if (has_comp == OK) return FALLBACK; // compressed bodies: nanoarrow reports it
  int64_t n = field_int(rb, 0, 8, 0, e);
  uint64_t nnodes, nodes, nbufs, bufs;
  if (field_vector(rb, 1, 16, &nnodes, &nodes, e) != OK) return BAD;
  if (field_vector(rb, 2, 16, &nbufs, &bufs, e) != OK) return BAD;
  if (e->why) return BAD;
  if (n < 0 || n > INT_MAX) return bad(e, "a record batch has an invalid length");
  uint64_t want = 0;
  for (int j = 0; j < ncol; j++) want += (uint64_t) f[j].nbuf;
  if (nnodes != (uint64_t) ncol || nbufs != want)
    return bad(e, "a record batch does not match its schema");
  out->n = n;
  out->cols = (acol_t *) R_alloc(ncol ? ncol : 1, sizeof(acol_t));
  const unsigned char *m = rb->b.p;
  uint64_t k = 0;
  for (int j = 0; j < ncol; j++) {
    int64_t len = (int64_t) le(m + nodes + 16 * (uint64_t) j, 8);
    int64_t nulls = (int64_t) le(m + nodes + 16 * (uint64_t) j + 8, 8);
    if (len != n || nulls < 0 || nulls > n) return bad(e, "a field node has an invalid length");
    acol_t *c = &out->cols[j];
    c->nulls = nulls;
    for (int w = 0; w < 3; w++) c->buf[w] = (abuf_t) {NULL, 0};
    for (int w = 0; w < f[j].nbuf; w++, k++) {
      int64_t off = (int64_t) le(m + bufs + 16 * k, 8), blen = (int64_t) le(m + bufs + 16 * k + 8, 8);
      if (off < 0 || blen < 0 || !inside(body, (uint64_t) off, (uint64_t) blen))
        return bad(e, "a buffer lies outside the message body");
      uint64_t need = need_bytes(f[j].kind, w, (uint64_t) n);
      // A validity buffer may be left out when nothing is null.
      if (w == 0 && nulls == 0) continue;
      if ((uint64_t) blen < need) return bad(e, "a buffer is too short for its column");
      c->buf[w] = (abuf_t) {body.p + off, (uint64_t) blen};
    }
  }
  return OK;
}

static int valid_at(const abuf_t *v, R_xlen_t i) {
  return v->p == NULL || (v->p[i >> 3] >> (i & 7)) & 1;
}

// Strings of a utf8/large_utf8 column into `out` from row `at`.
static int fill_strings(SEXP out, R_xlen_t at, const acol_t *c, int64_t n, int large, err_t *e) {
  if (n == 0) return OK;
  int w = large ? 8 : 4;
  const unsigned char *o = c->buf[1].p;
  uint64_t dlen = c->buf[2].len;
  int64_t prev = (int64_t) le(o, w);
  if (!large) prev = (int32_t) prev;
  if (prev < 0 || (uint64_t) prev > dlen) return bad(e, "a string offset is out of bounds");
  for (int64_t i = 0; i < n; i++) {
    int64_t next = (int64_t) le(o + w * (i + 1), w);
    if (!large) next = (int32_t) next;
    if (next < prev || (uint64_t) next > dlen) return bad(e, "a string offset is out of bounds");
    if (!valid_at(&c->buf[0], i)) {
      SET_STRING_ELT(out, at + i, NA_STRING);
    } else {
      const char *s = (const char *) c->buf[2].p + prev;
      int64_t len = next - prev;
      if (len > INT_MAX || memchr(s, 0, (size_t) len)) return bad(e, "a string contains a NUL byte");
      SET_STRING_ELT(out, at + i, Rf_mkCharLenCE(s, (int) len, CE_UTF8));
    }
    prev = next;
  }
  return OK;
}

// Rows of batch column `c` into R vector `out` from row `at`.
static int fill_column(SEXP out, R_xlen_t at, const field_t *f, const acol_t *c, int64_t n,
                       SEXP levels, err_t *e) {
  const abuf_t *v = &c->buf[0];
  const unsigned char *d = c->buf[1].p;
  switch (f->kind) {
  case C_LGL: {
    int *o = LOGICAL(out) + at;
    for (int64_t i = 0; i < n; i++)
      o[i] = valid_at(v, i) ? (d[i >> 3] >> (i & 7)) & 1 : NA_LOGICAL;
    break;
  }
  case C_INT: {
    int *o = INTEGER(out) + at;
    if (n) memcpy(o, d, 4 * (size_t) n);
    if (v->p) for (int64_t i = 0; i < n; i++) if (!valid_at(v, i)) o[i] = NA_INTEGER;
    break;
  }
  case C_DBL: {
    double *o = REAL(out) + at;
    if (n) memcpy(o, d, 8 * (size_t) n);
    if (v->p) for (int64_t i = 0; i < n; i++) if (!valid_at(v, i)) o[i] = NA_REAL;
    break;
  }
  case C_I64: {
    double *o = REAL(out) + at;
    if (n) memcpy(o, d, 8 * (size_t) n);
    int64_t na = INT64_MIN;
    if (v->p) for (int64_t i = 0; i < n; i++) if (!valid_at(v, i)) memcpy(o + i, &na, 8);
    break;
  }
  case C_DATE: {
    double *o = REAL(out) + at;
    for (int64_t i = 0; i < n; i++)
      o[i] = valid_at(v, i) ? (double) (int32_t) le(d + 4 * i, 4) : NA_REAL;
    break;
  }
  case C_TS: {
    double *o = REAL(out) + at;
    for (int64_t i = 0; i < n; i++)
      o[i] = valid_at(v, i) ? (double) (int64_t) le(d + 8 * i, 8) / f->divisor : NA_REAL;
    break;
  }
  case C_FCT: {
    int *o = INTEGER(out) + at;
    int64_t nlev = XLENGTH(levels);
    for (int64_t i = 0; i < n; i++) {
      if (!valid_at(v, i)) {
        o[i] = NA_INTEGER;
        continue;
      }
      int32_t k = (int32_t) le(d + 4 * i, 4);
      if (k < 0 || k >= nlev) return bad(e, "a dictionary index is out of range");
      o[i] = k + 1;
    }
    break;
  }
  default:
    return fill_strings(out, at, c, n, f->kind == C_LSTR, e);
  }
  return OK;
}

static SEXPTYPE r_type(int kind) {
  switch (kind) {
  case C_LGL: return LGLSXP;
  case C_INT: case C_FCT: return INTSXP;
  case C_STR: case C_LSTR: return STRSXP;
  default: return REALSXP;
  }
}

static void set_class(SEXP x, const char *a, const char *b) {
  SEXP cls = PROTECT(Rf_allocVector(STRSXP, b ? 2 : 1));
  SET_STRING_ELT(cls, 0, Rf_mkChar(a));
  if (b) SET_STRING_ELT(cls, 1, Rf_mkChar(b));
  Rf_setAttrib(x, R_ClassSymbol, cls);
  UNPROTECT(1);
}

// --- the stream ------------------------------------------------------------------

typedef struct {
  err_t e;
  field_t *fields;
  int nfield;
  SEXP keep;    // protected at `ipx`: field names, zones; then levels per field
  PROTECT_INDEX ipx;
  batch_t *batches;
  int nbatch, cap;
  int64_t rows;
} stream_t;

static int add_batch(stream_t *s, const batch_t *b) {
  if (s->nbatch == s->cap) {
    int cap = s->cap ? 2 * s->cap : 4;
    batch_t *nb = (batch_t *) R_alloc((size_t) cap, sizeof(batch_t));
    if (s->nbatch) memcpy(nb, s->batches, (size_t) s->nbatch * sizeof(batch_t));
    s->batches = nb;
    s->cap = cap;
  }
  s->batches[s->nbatch++] = *b;
  s->rows += b->n;
  if (s->rows > INT_MAX) return bad(&s->e, "the stream has more rows than a data frame can hold");
  return OK;
}

// A dictionary batch: its levels as a character vector, kept in s->keep.
static int read_dictionary(stream_t *s, const table_t *db, span_t body) {
  err_t *e = &s->e;
  if (field_int(db, 2, 1, 0, e) != 0) return e->why ? BAD : FALLBACK; // delta
  int64_t id = field_int(db, 0, 8, 0, e);
  int j = 0;
  while (j < s->nfield && !(s->fields[j].kind == C_FCT && s->fields[j].dict_id == id)) j++;
  if (j == s->nfield) return bad(e, "a dictionary batch has an unknown id");
  // A dictionary replaced after rows used it would need re-coding.
  if (s->nbatch > 0 && VECTOR_ELT(s->keep, 2 * (R_xlen_t) s->nfield + j) != R_NilValue)
    return FALLBACK;
  table_t rb;
  int st = field_table(db, 1, &rb, e);
  if (st != OK) return st == FALLBACK ? bad(e, "a dictionary batch has no data") : BAD;
  field_t lf = {C_STR, 0, R_BlankString, R_BlankString, 0, 0, 3};
  batch_t lb;
  st = parse_batch(&rb, body, &lf, 1, &lb, e);
  if (st != OK) return st;
  SEXP lev = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t) lb.n));
  st = fill_strings(lev, 0, &lb.cols[0], lb.n, 0, e);
  // Factor levels must be unique (a null level is NA, as with addNA()).
  if (st == OK && Rf_any_duplicated(lev, FALSE)) st = FALLBACK;
  if (st == OK) SET_VECTOR_ELT(s->keep, 2 * (R_xlen_t) s->nfield + j, lev);
  UNPROTECT(1);
  return st;
}

static int read_messages(stream_t *s, const unsigned char *p, uint64_t n, int int64_ok) {
  err_t *e = &s->e;
  uint64_t pos = 0;
  int have_schema = 0;
  while (pos < n) {
    if (n - pos < 4) return bad(e, "the stream ends inside a message header");
    uint64_t hdr = 4, mlen = le(p + pos, 4);
    if (mlen == 0xFFFFFFFFu) {
      if (n - pos < 8) return bad(e, "the stream ends inside a message header");
      mlen = le(p + pos + 4, 4);
      hdr = 8;
    }
    if (mlen == 0) break; // end-of-stream marker
    if (mlen > INT32_MAX || !inside((span_t) {p, n}, pos + hdr, mlen))
      return bad(e, "a message length runs past the end of the stream");
    if (mlen < 8) return bad(e, "a message is too short");
    span_t meta = {p + pos + hdr, mlen};
    table_t msg, head;
    if (table_at(meta, le(meta.p, 4), &msg, e) != OK) return BAD;
    int htype = (int) field_int(&msg, 1, 1, 0, e);
    int64_t blen = field_int(&msg, 3, 8, 0, e);
    int st = field_table(&msg, 2, &head, e);
    if (st != OK) return st == FALLBACK ? bad(e, "a message has no header") : BAD;
    uint64_t bstart = pos + hdr + mlen;
    if (blen < 0 || !inside((span_t) {p, n}, bstart, (uint64_t) blen))
      return bad(e, "a message body runs past the end of the stream");
    span_t body = {p + bstart, (uint64_t) blen};
    if (htype == H_SCHEMA) {
      if (have_schema) return bad(e, "the stream has two schemas");
      st = parse_schema(&head, &s->fields, &s->nfield, &s->keep, s->ipx, int64_ok, e);
      if (st != OK) return st;
      have_schema = 1;
    } else if (!have_schema) {
      return bad(e, "the stream does not start with a schema");
    } else if (htype == H_DICT) {
      st = read_dictionary(s, &head, body);
      if (st != OK) return st;
    } else if (htype == H_BATCH) {
      batch_t b;
      st = parse_batch(&head, body, s->fields, s->nfield, &b, e);
      if (st != OK) return st;
      if (add_batch(s, &b) != OK) return BAD;
    } else {
      return bad(e, "a message has an unexpected header type");
    }
    pos = bstart + (uint64_t) blen;
  }
  if (!have_schema) return bad(e, "the stream has no schema");
  return OK;
}

static SEXP build_frame(stream_t *s) {
  int ncol = s->nfield;
  R_xlen_t rows = (R_xlen_t) s->rows;
  SEXP out = PROTECT(Rf_allocVector(VECSXP, ncol));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, ncol));
  for (int j = 0; j < ncol; j++) {
    const field_t *f = &s->fields[j];
    SET_STRING_ELT(names, j, f->name);
    SEXP col = Rf_allocVector(r_type(f->kind), rows);
    SET_VECTOR_ELT(out, j, col);
    SEXP levels = f->kind == C_FCT ? VECTOR_ELT(s->keep, 2 * (R_xlen_t) ncol + j) : R_NilValue;
    if (f->kind == C_FCT && levels == R_NilValue) levels = Rf_allocVector(STRSXP, 0);
    PROTECT(levels);
    R_xlen_t at = 0;
    for (int b = 0; b < s->nbatch; b++) {
      const batch_t *bt = &s->batches[b];
      if (fill_column(col, at, f, &bt->cols[j], bt->n, levels, &s->e) != OK) {
        UNPROTECT(3);
        return R_NilValue;
      }
      at += bt->n;
    }
    switch (f->kind) {
    case C_I64: set_class(col, "integer64", NULL); break;
    case C_DATE: set_class(col, "Date", NULL); break;
    case C_TS:
      set_class(col, "POSIXct", "POSIXt");
      Rf_setAttrib(col, Rf_install("tzone"), Rf_ScalarString(f->tz));
      break;
    case C_FCT:
      Rf_setAttrib(col, R_LevelsSymbol, levels);
      if (f->ordered) set_class(col, "ordered", "factor");
      else set_class(col, "factor", NULL);
      break;
    default: break;
    }
    UNPROTECT(1);
  }
  Rf_setAttrib(out, R_NamesSymbol, names);
  SEXP rn = PROTECT(Rf_allocVector(INTSXP, 2));
  INTEGER(rn)[0] = NA_INTEGER;
  INTEGER(rn)[1] = -(int) rows;
  Rf_setAttrib(out, R_RowNamesSymbol, rn);
  set_class(out, "data.frame", NULL);
  UNPROTECT(3);
  return out;
}

// x: raw vector holding the stream from byte `offset` (0-based) to its end;
// int64: TRUE to read int64 as integer64 (else such streams fall back).
// Returns a data.frame, NULL (use nanoarrow) or a string (malformed input).
SEXP mangoro_c_ipc_read(SEXP x, SEXP offset, SEXP int64) {
  if (TYPEOF(x) != RAWSXP) Rf_error("the stream must be a raw vector");
  double off = Rf_asReal(offset);
  R_xlen_t n = XLENGTH(x);
  if (!(off >= 0) || off > (double) n) Rf_error("offset out of range");
  stream_t s;
  memset(&s, 0, sizeof s);
  PROTECT_WITH_INDEX(s.keep = R_NilValue, &s.ipx);
  int st = read_messages(&s, RAW(x) + (R_xlen_t) off, (uint64_t) (n - (R_xlen_t) off),
                         Rf_asLogical(int64) == TRUE);
  SEXP out = R_NilValue;
  if (st == OK) out = build_frame(&s);
  UNPROTECT(1);
  if (st == BAD || s.e.why) return Rf_mkString(s.e.why ? s.e.why : "malformed Arrow IPC stream");
  return out;
}
