// A small Arrow IPC stream writer for flat data frames, straight from R
// vectors into one raw vector that already holds the envelope header.
//
// Why: nanoarrow's writer goes through an R connection and allocates a 1 MB
// chunk per write, which costs about a millisecond for a one-row call. This
// writer covers the column types calls use most (logical, integer, double,
// character, Date, POSIXct, integer64); anything else (lists, structs,
// factors, binary) still goes through nanoarrow, see R/convert.R.
//
// Layout written: [prefix][Schema message][RecordBatch message][EOS], each
// message = 0xFFFFFFFF, int32 metadata length, flatbuffer (padded to 8),
// body (each buffer padded to 8). Flatbuffers are built front to back with
// every table preceded by its vtable and every reference pointing forward.

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Column kinds, mirrored in R/convert.R (fast_kinds).
enum { K_LGL = 1, K_INT = 2, K_DBL = 3, K_STR = 4, K_DATE = 5, K_TS = 6, K_I64 = 7 };

// --- a tiny flatbuffer builder ----------------------------------------------

typedef struct {
  unsigned char *buf;
  size_t len, cap;
} fb_t;

static void fb_reserve(fb_t *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 512;
  while (cap < b->len + n) cap *= 2;
  unsigned char *p = realloc(b->buf, cap);
  if (p == NULL) {
    free(b->buf);
    b->buf = NULL;
    Rf_error("out of memory building Arrow IPC metadata");
  }
  b->buf = p;
  b->cap = cap;
}

// Zero `n` bytes at a position aligned to `align`; returns the position.
static size_t fb_alloc(fb_t *b, size_t n, size_t align) {
  size_t pad = (align - (b->len % align)) % align;
  fb_reserve(b, pad + n);
  memset(b->buf + b->len, 0, pad + n);
  b->len += pad;
  size_t pos = b->len;
  b->len += n;
  return pos;
}

static void wr16(unsigned char *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void wr32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char) (v >> (8 * i));
}
static void wr64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char) (v >> (8 * i));
}

// A table with `n` fields of the given byte sizes (0 = absent). Writes the
// vtable, then the table; field positions are returned in `pos`.
static size_t fb_table(fb_t *b, int n, const int *size, size_t *pos) {
  size_t vt = fb_alloc(b, 4 + 2 * (size_t) n, 2);
  // Lay fields out after the 4-byte soffset by decreasing size, each aligned
  // to its size; `rel` holds offsets relative to the table start.
  size_t rel[16];
  size_t off = 4;
  for (int s = 8; s >= 1; s /= 2) {
    for (int i = 0; i < n; i++) {
      if (size[i] != s) continue;
      off = (off + s - 1) & ~(size_t) (s - 1);
      rel[i] = off;
      off += s;
    }
  }
  size_t tsize = (off + 7) & ~(size_t) 7;
  size_t t = fb_alloc(b, tsize, 8);
  wr16(b->buf + vt, (uint16_t) (4 + 2 * n));
  wr16(b->buf + vt + 2, (uint16_t) tsize);
  for (int i = 0; i < n; i++) {
    pos[i] = size[i] ? t + rel[i] : 0;
    wr16(b->buf + vt + 4 + 2 * i, size[i] ? (uint16_t) rel[i] : 0);
  }
  wr32(b->buf + t, (uint32_t) (t - vt)); // vtable = table - soffset
  return t;
}

// Point the uoffset at `field` to `target` (which must come later).
static void fb_link(fb_t *b, size_t field, size_t target) {
  wr32(b->buf + field, (uint32_t) (target - field));
}

static size_t fb_string(fb_t *b, const char *s, size_t n) {
  size_t p = fb_alloc(b, 4 + n + 1, 4);
  wr32(b->buf + p, (uint32_t) n);
  memcpy(b->buf + p + 4, s, n);
  return p;
}

// Vector of `n` offsets; returns its position (elements at pos + 4 + 4i).
static size_t fb_offset_vector(fb_t *b, int n) {
  size_t p = fb_alloc(b, 4 + 4 * (size_t) n, 4);
  wr32(b->buf + p, (uint32_t) n);
  return p;
}

// Vector of `n` 16-byte structs (two int64); elements 8-aligned.
static size_t fb_struct16_vector(fb_t *b, int n, const int64_t *vals) {
  // the length word sits right before an 8-aligned element array
  size_t pad = (8 - ((b->len + 4) % 8)) % 8;
  fb_alloc(b, pad, 1);
  size_t p = fb_alloc(b, 4 + 16 * (size_t) n, 4);
  wr32(b->buf + p, (uint32_t) n);
  for (int i = 0; i < 2 * n; i++) wr64(b->buf + p + 4 + 8 * (size_t) i, (uint64_t) vals[i]);
  return p;
}

// Message table: version V5, header type, header, bodyLength. The header
// table is written by `write_header` after the Message table.
static size_t fb_message_start(fb_t *b, int header_type, int64_t body_len, size_t *header_field) {
  fb_alloc(b, 4, 4); // root uoffset, patched below
  int size[5] = {2, 1, 4, 8, 0};
  size_t pos[5];
  size_t t = fb_table(b, 5, size, pos);
  wr32(b->buf, (uint32_t) t);
  wr16(b->buf + pos[0], 4); // MetadataVersion.V5
  b->buf[pos[1]] = (unsigned char) header_type;
  wr64(b->buf + pos[3], (uint64_t) body_len);
  *header_field = pos[2];
  return t;
}

// --- schema ------------------------------------------------------------------

static void write_type(fb_t *b, int kind, SEXP tz, size_t type_field) {
  size_t pos[2];
  size_t t;
  switch (kind) {
  case K_LGL:
  case K_STR: {
    int size[1] = {0};
    t = fb_table(b, 0, size, pos);
    break;
  }
  case K_INT:
  case K_I64: {
    int size[2] = {4, 1};
    t = fb_table(b, 2, size, pos);
    wr32(b->buf + pos[0], kind == K_INT ? 32 : 64);
    b->buf[pos[1]] = 1;
    break;
  }
  case K_DBL: {
    int size[1] = {2};
    t = fb_table(b, 1, size, pos);
    wr16(b->buf + pos[0], 2); // DOUBLE
    break;
  }
  case K_DATE: {
    int size[1] = {2};
    t = fb_table(b, 1, size, pos);
    wr16(b->buf + pos[0], 0); // DAY
    break;
  }
  default: { // K_TS
    const char *z = Rf_translateCharUTF8(STRING_ELT(tz, 0));
    int size[2] = {2, strlen(z) ? 4 : 0};
    t = fb_table(b, 2, size, pos);
    wr16(b->buf + pos[0], 2); // MICROSECOND
    if (strlen(z)) fb_link(b, pos[1], fb_string(b, z, strlen(z)));
    break;
  }
  }
  fb_link(b, type_field, t);
}

static int type_id(int kind) {
  switch (kind) {
  case K_LGL: return 6;  // Bool
  case K_INT: case K_I64: return 2; // Int
  case K_DBL: return 3;  // FloatingPoint
  case K_STR: return 5;  // Utf8
  case K_DATE: return 8; // Date
  default: return 10;    // Timestamp
  }
}

static void build_schema(fb_t *b, SEXP names, const int *kinds, SEXP tzs, int ncol) {
  size_t header_field;
  fb_message_start(b, 1, 0, &header_field);
  int ssize[4] = {2, 4, 0, 0};
  size_t spos[4];
  size_t schema = fb_table(b, 4, ssize, spos);
  fb_link(b, header_field, schema);
  size_t fields = fb_offset_vector(b, ncol);
  fb_link(b, spos[1], fields);
  for (int j = 0; j < ncol; j++) {
    // Field: name, nullable, type_type, type, dictionary, children
    int fsize[6] = {4, 1, 1, 4, 0, 4};
    size_t fpos[6];
    size_t f = fb_table(b, 6, fsize, fpos);
    fb_link(b, fields + 4 + 4 * (size_t) j, f);
    b->buf[fpos[1]] = 1;
    b->buf[fpos[2]] = (unsigned char) type_id(kinds[j]);
    const char *nm = Rf_translateCharUTF8(STRING_ELT(names, j));
    fb_link(b, fpos[0], fb_string(b, nm, strlen(nm)));
    write_type(b, kinds[j], VECTOR_ELT(tzs, j), fpos[3]);
    fb_link(b, fpos[5], fb_offset_vector(b, 0));
  }
}

// --- record batch --------------------------------------------------------------

#define PAD8(n) (((n) + 7) & ~(int64_t) 7)

typedef struct {
  int64_t null_count;
  int64_t validity_len, data_len, offsets_len; // bytes, before padding
} col_plan;

static int is_null(SEXP x, int kind, R_xlen_t i) {
  switch (kind) {
  case K_LGL: return LOGICAL(x)[i] == NA_LOGICAL;
  case K_INT: return INTEGER(x)[i] == NA_INTEGER;
  case K_DBL: return R_IsNA(REAL(x)[i]);
  case K_STR: return STRING_ELT(x, i) == NA_STRING;
  case K_DATE:
  case K_TS:
    return TYPEOF(x) == INTSXP ? INTEGER(x)[i] == NA_INTEGER : !R_finite(REAL(x)[i]);
  default: { // integer64: NA is INT64_MIN
    int64_t v;
    memcpy(&v, REAL(x) + i, 8);
    return v == INT64_MIN;
  }
  }
}

static int64_t fixed_width(int kind) {
  switch (kind) {
  case K_INT: case K_DATE: return 4;
  default: return 8;
  }
}

static void plan_column(SEXP x, int kind, R_xlen_t n, col_plan *p) {
  p->null_count = 0;
  for (R_xlen_t i = 0; i < n; i++) p->null_count += is_null(x, kind, i);
  p->validity_len = p->null_count ? (n + 7) / 8 : 0;
  p->offsets_len = 0;
  if (kind == K_LGL) {
    p->data_len = (n + 7) / 8;
  } else if (kind == K_STR) {
    int64_t total = 0;
    for (R_xlen_t i = 0; i < n; i++) {
      SEXP s = STRING_ELT(x, i);
      if (s != NA_STRING) total += (int64_t) strlen(Rf_translateCharUTF8(s));
    }
    if (total > INT32_MAX) Rf_error("string column larger than 2 GB");
    p->offsets_len = 4 * (n + 1);
    p->data_len = total;
  } else {
    p->data_len = fixed_width(kind) * n;
  }
}

static void write_validity(unsigned char *dst, SEXP x, int kind, R_xlen_t n) {
  memset(dst, 0, (size_t) ((n + 7) / 8));
  for (R_xlen_t i = 0; i < n; i++)
    if (!is_null(x, kind, i)) dst[i / 8] |= (unsigned char) (1u << (i % 8));
}

static void write_data(unsigned char *dst, unsigned char *offsets, SEXP x, int kind, R_xlen_t n) {
  switch (kind) {
  case K_LGL: {
    memset(dst, 0, (size_t) ((n + 7) / 8));
    const int *v = LOGICAL(x);
    for (R_xlen_t i = 0; i < n; i++)
      if (v[i] == TRUE) dst[i / 8] |= (unsigned char) (1u << (i % 8));
    break;
  }
  case K_INT:
    memcpy(dst, INTEGER(x), 4 * (size_t) n);
    break;
  case K_DBL:
  case K_I64:
    memcpy(dst, REAL(x), 8 * (size_t) n);
    break;
  case K_DATE: {
    int32_t *out = (int32_t *) dst;
    if (TYPEOF(x) == INTSXP) {
      memcpy(dst, INTEGER(x), 4 * (size_t) n);
    } else {
      const double *v = REAL(x);
      for (R_xlen_t i = 0; i < n; i++) out[i] = R_finite(v[i]) ? (int32_t) floor(v[i]) : 0;
    }
    break;
  }
  case K_TS: {
    const double *v = REAL(x);
    for (R_xlen_t i = 0; i < n; i++) {
      int64_t us = R_finite(v[i]) ? (int64_t) llround(v[i] * 1e6) : 0;
      memcpy(dst + 8 * i, &us, 8);
    }
    break;
  }
  default: { // K_STR
    int32_t off = 0;
    memcpy(offsets, &off, 4);
    for (R_xlen_t i = 0; i < n; i++) {
      SEXP s = STRING_ELT(x, i);
      if (s != NA_STRING) {
        const char *c = Rf_translateCharUTF8(s);
        size_t len = strlen(c);
        memcpy(dst + off, c, len);
        off += (int32_t) len;
      }
      memcpy(offsets + 4 * (i + 1), &off, 4);
    }
  }
  }
}

static int64_t buffers_per_column(int kind) { return kind == K_STR ? 3 : 2; }

// Build the RecordBatch metadata; returns body length.
static int64_t build_batch(fb_t *b, const int *kinds, const col_plan *plan, int ncol, R_xlen_t n) {
  int64_t nbuf = 0;
  for (int j = 0; j < ncol; j++) nbuf += buffers_per_column(kinds[j]);
  int64_t *nodes = (int64_t *) R_alloc(2 * (size_t) (ncol ? ncol : 1), sizeof(int64_t));
  int64_t *bufs = (int64_t *) R_alloc(2 * (size_t) (nbuf ? nbuf : 1), sizeof(int64_t));
  int64_t off = 0, k = 0;
  for (int j = 0; j < ncol; j++) {
    nodes[2 * j] = n;
    nodes[2 * j + 1] = plan[j].null_count;
    bufs[2 * k] = off; bufs[2 * k + 1] = plan[j].validity_len; off += PAD8(plan[j].validity_len); k++;
    if (kinds[j] == K_STR) {
      bufs[2 * k] = off; bufs[2 * k + 1] = plan[j].offsets_len; off += PAD8(plan[j].offsets_len); k++;
    }
    bufs[2 * k] = off; bufs[2 * k + 1] = plan[j].data_len; off += PAD8(plan[j].data_len); k++;
  }
  size_t header_field;
  fb_message_start(b, 3, off, &header_field);
  int rsize[3] = {8, 4, 4};
  size_t rpos[3];
  size_t rb = fb_table(b, 3, rsize, rpos);
  fb_link(b, header_field, rb);
  wr64(b->buf + rpos[0], (uint64_t) n);
  fb_link(b, rpos[1], fb_struct16_vector(b, ncol, nodes));
  fb_link(b, rpos[2], fb_struct16_vector(b, (int) nbuf, bufs));
  return off;
}

static size_t framed_len(size_t fb_len) { return 8 + (size_t) PAD8((int64_t) fb_len); }

static unsigned char *write_framed(unsigned char *p, const fb_t *b) {
  size_t meta = (size_t) PAD8((int64_t) b->len);
  wr32(p, 0xFFFFFFFFu);
  wr32(p + 4, (uint32_t) meta);
  memcpy(p + 8, b->buf, b->len);
  memset(p + 8 + b->len, 0, meta - b->len);
  return p + 8 + meta;
}

// prefix: raw (the envelope header); cols: list of vectors; names: character;
// kinds: integer (enum above); tzs: list of time zone strings (for K_TS).
SEXP mangoro_c_ipc_write(SEXP prefix, SEXP cols, SEXP names, SEXP kinds_, SEXP tzs, SEXP nrow) {
  int ncol = Rf_length(cols);
  R_xlen_t n = (R_xlen_t) Rf_asReal(nrow);
  const int *kinds = INTEGER(kinds_);
  for (int j = 0; j < ncol; j++) {
    if (Rf_xlength(VECTOR_ELT(cols, j)) != n) Rf_error("column %d has the wrong length", j + 1);
  }
  col_plan *plan = (col_plan *) R_alloc((size_t) (ncol ? ncol : 1), sizeof(col_plan));
  for (int j = 0; j < ncol; j++) plan_column(VECTOR_ELT(cols, j), kinds[j], n, &plan[j]);

  fb_t schema = {NULL, 0, 0}, batch = {NULL, 0, 0};
  build_schema(&schema, names, kinds, tzs, ncol);
  int64_t body = build_batch(&batch, kinds, plan, ncol, n);

  R_xlen_t plen = XLENGTH(prefix);
  R_xlen_t total = plen + (R_xlen_t) framed_len(schema.len) + (R_xlen_t) framed_len(batch.len) +
                   (R_xlen_t) body + 8;
  SEXP out = Rf_allocVector(RAWSXP, total);
  unsigned char *p = RAW(out);
  memcpy(p, RAW(prefix), (size_t) plen);
  p = write_framed(p + plen, &schema);
  p = write_framed(p, &batch);
  free(schema.buf);
  free(batch.buf);
  for (int j = 0; j < ncol; j++) {
    SEXP x = VECTOR_ELT(cols, j);
    if (plan[j].validity_len) write_validity(p, x, kinds[j], n);
    memset(p + plan[j].validity_len, 0, (size_t) (PAD8(plan[j].validity_len) - plan[j].validity_len));
    p += PAD8(plan[j].validity_len);
    unsigned char *offsets = NULL;
    if (kinds[j] == K_STR) {
      offsets = p;
      memset(p, 0, (size_t) PAD8(plan[j].offsets_len));
      p += PAD8(plan[j].offsets_len);
    }
    memset(p + plan[j].data_len, 0, (size_t) (PAD8(plan[j].data_len) - plan[j].data_len));
    write_data(p, offsets, x, kinds[j], n);
    p += PAD8(plan[j].data_len);
  }
  wr32(p, 0xFFFFFFFFu); // end-of-stream marker
  wr32(p + 4, 0);
  return out;
}
