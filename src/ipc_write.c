// A small Arrow IPC stream writer for flat data frames, straight from R
// vectors into one raw vector that already holds the envelope header.
//
// Why it exists (measured: encode 31 -> 5 us per small call): nanoarrow's R
// writer goes through an R connection and allocates a 1 MB chunk per write,
// and cannot write dictionaries; its IPC C library is not reachable through
// LinkingTo. For this file to go away, nanoarrow would need (1) its IPC
// writer's C API exported through LinkingTo (or an R function) that writes
// into a caller-sized buffer or raw vector without a connection, (2)
// dictionary (factor) encoding in that writer, and (3) a way to put our
// envelope header in front without another copy of the payload.
//
// This writer is the only path for the column kinds it covers, named in
// `kind_names` below (the one R -> Arrow type mapping; R/convert.R asks
// mangoro_c_arrow_kind() rather than keeping its own). A frame with any other
// column (list, struct, binary, ...) goes whole through nanoarrow; its
// covered columns then follow the same mapping, except factors, which
// nanoarrow 0.9 can only send as strings.
//
// Layout written: [prefix][Schema][DictionaryBatch per factor][RecordBatch]
// [EOS], each message = 0xFFFFFFFF, int32 metadata length, flatbuffer
// (padded to 8), body (each buffer padded to 8). Flatbuffers are built front
// to back with every table preceded by its vtable and every reference
// pointing forward. Scratch memory is the plan's own (on the C stack) for a
// small frame and R_alloc's beyond, so nothing leaks on an interrupt. Bad
// input gives an error string (see mangoro.h), never an R error.

#include "mangoro.h"
#include "shm.h" // mangoro_shm_mapping_addr(), MANGORO_SHM_HEADER
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

// Column kinds and the Arrow type each is written as.
enum { K_LGL = 1, K_INT = 2, K_DBL = 3, K_STR = 4, K_DATE = 5, K_TS = 6, K_I64 = 7, K_FCT = 8, K_DUR = 9 };
static const char *kind_names[] = {
  "", "bool", "int32", "float64", "utf8", "date32", "timestamp[us]", "int64",
  "dictionary<int32, utf8>", "duration[us]"
};

// difftime units and their seconds. Arrow durations have no minutes or
// days, so the units travel as field metadata (MANGORO_UNITS_KEY) and
// src/ipc_read.c restores them.
#define MANGORO_UNITS_KEY "mangoro.units"
static const char *units_names[] = {"secs", "mins", "hours", "days", "weeks"};
static const double units_seconds[] = {1, 60, 3600, 86400, 604800};

// --- a tiny flatbuffer builder ----------------------------------------------

typedef struct {
  unsigned char *buf;
  size_t len, cap;
} fb_t;

static void fb_reserve(fb_t *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 512;
  while (cap < b->len + n) cap *= 2;
  unsigned char *p = (unsigned char *) R_alloc(cap, 1);
  if (b->len) memcpy(p, b->buf, b->len);
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

// --- columns -------------------------------------------------------------------

typedef struct {
  SEXP x;          // the R vector (for K_FCT: the integer codes)
  int kind;        // K_* above
  int ordered;     // K_FCT: an ordered factor
  const char *tz;  // K_TS: the time zone written to the schema ("" = none)
  int units;       // K_DUR: index into units_names
  R_xlen_t n;      // rows
  int64_t null_count;
  int64_t validity_len, data_len, offsets_len; // bytes, before padding
} col_t;

static int has_class(SEXP cls, const char *name) {
  return TYPEOF(cls) == STRSXP && XLENGTH(cls) == 1 && strcmp(CHAR(STRING_ELT(cls, 0)), name) == 0;
}

// The units of difftime `x` as an index into units_names, -1 when unknown.
static int column_units(SEXP x) {
  SEXP u = Rf_getAttrib(x, Rf_install("units"));
  if (TYPEOF(u) != STRSXP || XLENGTH(u) != 1 || STRING_ELT(u, 0) == NA_STRING) return -1;
  for (int i = 0; i < 5; i++)
    if (strcmp(CHAR(STRING_ELT(u, 0)), units_names[i]) == 0) return i;
  return -1;
}

// The kind of column `x`, or 0 when the nanoarrow path must handle it.
static int column_kind(SEXP x, int *ordered) {
  *ordered = 0;
  if (Rf_getAttrib(x, R_DimSymbol) != R_NilValue) return 0;
  int type = TYPEOF(x);
  // I() marks a plain vector as-is; it changes nothing about its values.
  int asis = OBJECT(x) && has_class(Rf_getAttrib(x, R_ClassSymbol), "AsIs");
  if (!OBJECT(x) || asis) {
    switch (type) {
    case LGLSXP: return K_LGL;
    case INTSXP: return K_INT;
    case REALSXP: return K_DBL;
    case STRSXP: return K_STR;
    default: return 0;
    }
  }
  SEXP cls = Rf_getAttrib(x, R_ClassSymbol);
  if (type == INTSXP && Rf_inherits(x, "factor")) {
    if (TYPEOF(Rf_getAttrib(x, R_LevelsSymbol)) != STRSXP) return 0;
    *ordered = Rf_inherits(x, "ordered");
    // Only plain factor / ordered classes; subclasses may mean more.
    if (XLENGTH(cls) != 1 + *ordered) return 0;
    return K_FCT;
  }
  if (has_class(cls, "Date") && (type == REALSXP || type == INTSXP)) return K_DATE;
  if (type == REALSXP && Rf_inherits(x, "POSIXct")) return K_TS;
  if (type == REALSXP && has_class(cls, "integer64")) return K_I64;
  if ((type == REALSXP || type == INTSXP) && has_class(cls, "difftime") && column_units(x) >= 0) return K_DUR;
  return 0;
}

// The zone a POSIXct is sent in: its own, else the session's (TZ), else UTC.
static const char *column_tz(SEXP x) {
  SEXP tz = Rf_getAttrib(x, Rf_install("tzone"));
  if (TYPEOF(tz) == STRSXP && XLENGTH(tz) >= 1 && STRING_ELT(tz, 0) != NA_STRING) {
    const char *z = Rf_translateCharUTF8(STRING_ELT(tz, 0));
    if (*z) return z;
  }
  const char *env = getenv("TZ");
  return env && *env ? env : "UTC";
}

static int is_null(SEXP x, int kind, R_xlen_t i) {
  switch (kind) {
  case K_LGL: return LOGICAL(x)[i] == NA_LOGICAL;
  case K_INT: case K_FCT: return INTEGER(x)[i] == NA_INTEGER;
  case K_DBL: return R_IsNA(REAL(x)[i]);
  case K_STR: return STRING_ELT(x, i) == NA_STRING;
  case K_DATE:
  case K_TS:
  case K_DUR:
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
  case K_INT: case K_DATE: case K_FCT: return 4;
  default: return 8;
  }
}

// The NA (not NaN) elements of v. NaN is rare, so blocks of 32 are first
// tested without a branch: x * 0 is NaN only for NaN and infinite x, and
// four running sums of it are independent enough for the CPU to keep up
// with memory (a test per element took longer than copying the column).
// Only a block that fails asks R_IsNA of each element.
static int64_t count_na_real(const double *v, R_xlen_t n) {
  int64_t nulls = 0;
  R_xlen_t i = 0;
  for (; i + 32 <= n; i += 32) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int k = 0; k < 32; k += 4) {
      s0 += v[i + k] * 0.0;
      s1 += v[i + k + 1] * 0.0;
      s2 += v[i + k + 2] * 0.0;
      s3 += v[i + k + 3] * 0.0;
    }
    if (ISNAN((s0 + s1) + (s2 + s3)))
      for (int k = 0; k < 32; k++) nulls += R_IsNA(v[i + k]);
  }
  for (; i < n; i++) nulls += ISNAN(v[i]) && R_IsNA(v[i]);
  return nulls;
}

// Count nulls and sizes. Returns 0, -1 for a factor code out of range, -2
// for a string column over 2 GB.
static int plan_column(col_t *c) {
  SEXP x = c->x;
  R_xlen_t n = c->n;
  int64_t nulls = 0;
  if (c->kind == K_DBL) {
    nulls = count_na_real(REAL(x), n);
  } else if (c->kind == K_INT || c->kind == K_FCT) {
    const int *v = INTEGER(x);
    int nlev = c->kind == K_FCT ? (int) XLENGTH(Rf_getAttrib(x, R_LevelsSymbol)) : 0;
    for (R_xlen_t i = 0; i < n; i++) {
      if (v[i] == NA_INTEGER) nulls++;
      else if (c->kind == K_FCT && (v[i] < 1 || v[i] > nlev)) return -1;
    }
  } else {
    for (R_xlen_t i = 0; i < n; i++) nulls += is_null(x, c->kind, i);
  }
  c->null_count = nulls;
  c->validity_len = nulls ? (n + 7) / 8 : 0;
  c->offsets_len = 0;
  if (c->kind == K_LGL) {
    c->data_len = (n + 7) / 8;
  } else if (c->kind == K_STR) {
    int64_t total = 0;
    for (R_xlen_t i = 0; i < n; i++) {
      SEXP s = STRING_ELT(x, i);
      if (s != NA_STRING) total += (int64_t) strlen(Rf_translateCharUTF8(s));
    }
    if (total > INT32_MAX) return -2;
    c->offsets_len = 4 * (n + 1);
    c->data_len = total;
  } else {
    c->data_len = fixed_width(c->kind) * n;
  }
  return 0;
}

// --- schema ------------------------------------------------------------------

static void write_type(fb_t *b, const col_t *c, size_t type_field) {
  size_t pos[2];
  size_t t;
  switch (c->kind) {
  case K_LGL:
  case K_STR:
  case K_FCT: { // a dictionary field's type is its value type, utf8
    int size[1] = {0};
    t = fb_table(b, 0, size, pos);
    break;
  }
  case K_INT:
  case K_I64: {
    int size[2] = {4, 1};
    t = fb_table(b, 2, size, pos);
    wr32(b->buf + pos[0], c->kind == K_INT ? 32 : 64);
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
  case K_DUR: {
    int size[1] = {2};
    t = fb_table(b, 1, size, pos);
    wr16(b->buf + pos[0], 2); // MICROSECOND
    break;
  }
  default: { // K_TS
    size_t zlen = strlen(c->tz);
    int size[2] = {2, zlen ? 4 : 0};
    t = fb_table(b, 2, size, pos);
    wr16(b->buf + pos[0], 2); // MICROSECOND
    if (zlen) fb_link(b, pos[1], fb_string(b, c->tz, zlen));
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
  case K_STR: case K_FCT: return 5;  // Utf8
  case K_DATE: return 8; // Date
  case K_DUR: return 18; // Duration
  default: return 10;    // Timestamp
  }
}

// DictionaryEncoding {id: long, indexType: Int, isOrdered: bool}; the
// dictionary id of column j is j.
static void write_dictionary_encoding(fb_t *b, int64_t id, int ordered, size_t field) {
  int dsize[3] = {8, 4, 1};
  size_t dpos[3];
  size_t d = fb_table(b, 3, dsize, dpos);
  fb_link(b, field, d);
  wr64(b->buf + dpos[0], (uint64_t) id);
  b->buf[dpos[2]] = (unsigned char) (ordered != 0);
  int isize[2] = {4, 1};
  size_t ipos[2];
  size_t it = fb_table(b, 2, isize, ipos);
  fb_link(b, dpos[1], it);
  wr32(b->buf + ipos[0], 32);
  b->buf[ipos[1]] = 1;
}

// custom_metadata [KeyValue {key, value}] holding the difftime units.
static void write_units_metadata(fb_t *b, const char *units, size_t field) {
  size_t vec = fb_offset_vector(b, 1);
  fb_link(b, field, vec);
  int size[2] = {4, 4};
  size_t pos[2];
  size_t kv = fb_table(b, 2, size, pos);
  fb_link(b, vec + 4, kv);
  fb_link(b, pos[0], fb_string(b, MANGORO_UNITS_KEY, strlen(MANGORO_UNITS_KEY)));
  fb_link(b, pos[1], fb_string(b, units, strlen(units)));
}

static void build_schema(fb_t *b, SEXP names, const col_t *cols, int ncol) {
  size_t header_field;
  fb_message_start(b, 1, 0, &header_field);
  int ssize[4] = {2, 4, 0, 0};
  size_t spos[4];
  size_t schema = fb_table(b, 4, ssize, spos);
  fb_link(b, header_field, schema);
  size_t fields = fb_offset_vector(b, ncol);
  fb_link(b, spos[1], fields);
  for (int j = 0; j < ncol; j++) {
    // Field: name, nullable, type_type, type, dictionary, children, custom_metadata
    int dur = cols[j].kind == K_DUR;
    int fsize[7] = {4, 1, 1, 4, cols[j].kind == K_FCT ? 4 : 0, 4, dur ? 4 : 0};
    size_t fpos[7];
    size_t f = fb_table(b, dur ? 7 : 6, fsize, fpos);
    fb_link(b, fields + 4 + 4 * (size_t) j, f);
    b->buf[fpos[1]] = 1;
    b->buf[fpos[2]] = (unsigned char) type_id(cols[j].kind);
    const char *nm = names == R_NilValue ? "" : Rf_translateCharUTF8(STRING_ELT(names, j));
    fb_link(b, fpos[0], fb_string(b, nm, strlen(nm)));
    write_type(b, &cols[j], fpos[3]);
    if (cols[j].kind == K_FCT) write_dictionary_encoding(b, j, cols[j].ordered, fpos[4]);
    fb_link(b, fpos[5], fb_offset_vector(b, 0));
    if (dur) write_units_metadata(b, units_names[cols[j].units], fpos[6]);
  }
}

// --- record batch --------------------------------------------------------------

#define PAD8(n) (((n) + 7) & ~(int64_t) 7)

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
  case K_FCT: { // 1-based codes -> 0-based indices; NA -> 0 (masked as null)
    const int *v = INTEGER(x);
    for (R_xlen_t i = 0; i < n; i++) {
      int32_t k = v[i] == NA_INTEGER ? 0 : v[i] - 1;
      memcpy(dst + 4 * i, &k, 4);
    }
    break;
  }
  case K_DBL:
  case K_I64:
    memcpy(dst, REAL(x), 8 * (size_t) n);
    break;
  case K_DATE: {
    if (TYPEOF(x) == INTSXP) {
      memcpy(dst, INTEGER(x), 4 * (size_t) n);
    } else {
      const double *v = REAL(x);
      for (R_xlen_t i = 0; i < n; i++) {
        int32_t d = R_finite(v[i]) ? (int32_t) floor(v[i]) : 0;
        memcpy(dst + 4 * i, &d, 4);
      }
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
  case K_DUR: { // microseconds; the units' scale comes back from the metadata
    double scale = units_seconds[column_units(x)] * 1e6;
    for (R_xlen_t i = 0; i < n; i++) {
      double s = TYPEOF(x) == INTSXP ? (INTEGER(x)[i] == NA_INTEGER ? 0 : (double) INTEGER(x)[i]) :
                 (R_finite(REAL(x)[i]) ? REAL(x)[i] : 0);
      int64_t us = (int64_t) llround(s * scale);
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

static int64_t body_length(const col_t *cols, int ncol) {
  int64_t off = 0;
  for (int j = 0; j < ncol; j++)
    off += PAD8(cols[j].validity_len) + PAD8(cols[j].offsets_len) + PAD8(cols[j].data_len);
  return off;
}

// A RecordBatch table (length, nodes, buffers) for `cols`, linked from `field`.
static void build_batch_table(fb_t *b, const col_t *cols, int ncol, R_xlen_t n, size_t field) {
  int64_t nbuf = 0;
  for (int j = 0; j < ncol; j++) nbuf += buffers_per_column(cols[j].kind);
  _Alignas(16) unsigned char room[128 * sizeof(int64_t) + 16];
  mangoro_scratch sc = {room, sizeof room, 0};
  int64_t *nodes = (int64_t *) mangoro_take(&sc, 2 * (size_t) ncol, sizeof(int64_t));
  int64_t *bufs = (int64_t *) mangoro_take(&sc, 2 * (size_t) nbuf, sizeof(int64_t));
  int64_t off = 0, k = 0;
  for (int j = 0; j < ncol; j++) {
    const col_t *c = &cols[j];
    nodes[2 * j] = n;
    nodes[2 * j + 1] = c->null_count;
    bufs[2 * k] = off; bufs[2 * k + 1] = c->validity_len; off += PAD8(c->validity_len); k++;
    if (c->kind == K_STR) {
      bufs[2 * k] = off; bufs[2 * k + 1] = c->offsets_len; off += PAD8(c->offsets_len); k++;
    }
    bufs[2 * k] = off; bufs[2 * k + 1] = c->data_len; off += PAD8(c->data_len); k++;
  }
  int rsize[3] = {8, 4, 4};
  size_t rpos[3];
  size_t rb = fb_table(b, 3, rsize, rpos);
  fb_link(b, field, rb);
  wr64(b->buf + rpos[0], (uint64_t) n);
  fb_link(b, rpos[1], fb_struct16_vector(b, ncol, nodes));
  fb_link(b, rpos[2], fb_struct16_vector(b, (int) nbuf, bufs));
}

static void build_batch(fb_t *b, const col_t *cols, int ncol, R_xlen_t n) {
  size_t header_field;
  fb_message_start(b, 3, body_length(cols, ncol), &header_field);
  build_batch_table(b, cols, ncol, n, header_field);
}

// DictionaryBatch {id, data: RecordBatch of the one levels column, isDelta}.
static void build_dictionary_batch(fb_t *b, int64_t id, const col_t *levels) {
  size_t header_field;
  fb_message_start(b, 2, body_length(levels, 1), &header_field);
  int dsize[3] = {8, 4, 0};
  size_t dpos[3];
  size_t d = fb_table(b, 3, dsize, dpos);
  fb_link(b, header_field, d);
  wr64(b->buf + dpos[0], (uint64_t) id);
  build_batch_table(b, levels, 1, levels->n, dpos[1]);
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

// The body of `cols`: each buffer written in place, padding zeroed.
static unsigned char *write_body(unsigned char *p, const col_t *cols, int ncol) {
  for (int j = 0; j < ncol; j++) {
    const col_t *c = &cols[j];
    if (c->validity_len) write_validity(p, c->x, c->kind, c->n);
    memset(p + c->validity_len, 0, (size_t) (PAD8(c->validity_len) - c->validity_len));
    p += PAD8(c->validity_len);
    unsigned char *offsets = NULL;
    if (c->kind == K_STR) {
      offsets = p;
      memset(p, 0, (size_t) PAD8(c->offsets_len));
      p += PAD8(c->offsets_len);
    }
    memset(p + c->data_len, 0, (size_t) (PAD8(c->data_len) - c->data_len));
    write_data(p, offsets, c->x, c->kind, c->n);
    p += PAD8(c->data_len);
  }
  return p;
}

// What goes before the stream: a raw vector, or an envelope header.
typedef struct {
  const unsigned char *raw;
  size_t len;
  int type;
  const char *name;
  size_t nlen;
  const char *text; // the envelope's text field (a request header), or NULL
  size_t tlen;
  int reuse; // a call request: its vector may be the last one's (request_vector())
} prefix_t;

static SEXP error_string(const char *fmt, int j) {
  char msg[200];
  snprintf(msg, sizeof msg, fmt, j);
  return Rf_mkString(msg);
}

// A planned stream: every flatbuffer built and every length known, so it
// can be written into any memory of `total` bytes (a raw vector, or a shared
// memory arena).
typedef struct {
  col_t *c, *lev;
  fb_t schema, batch, *dicts;
  int ncol, nfct;
  size_t stream; // bytes of the Arrow stream alone
  // First storage of the schema and batch flatbuffers: a small call's fit,
  // and need no R allocation (fb_reserve moves a larger one to R_alloc).
  // schema.buf and batch.buf may point here: a plan is never copied.
  unsigned char schema_inline[1024], batch_inline[512];
  // The column tables' memory (mangoro_take): eight columns and two factors
  // fit.
  _Alignas(16) unsigned char room[10 * sizeof(col_t) + 2 * sizeof(int64_t) + 2 * sizeof(fb_t) + 64];
  mangoro_scratch scratch;
} plan_t;

// Plans the stream of `cols`: 0, 1 when some column needs the nanoarrow
// path, or -1 with *err set to an error string.
static int plan_stream(plan_t *pl, SEXP cols, SEXP nrow, SEXP *err) {
  if (TYPEOF(cols) != VECSXP) { *err = Rf_mkString("the columns must be a list"); return -1; }
  int ncol = Rf_length(cols);
  R_xlen_t n = (R_xlen_t) Rf_asReal(nrow);
  SEXP names = Rf_getAttrib(cols, R_NamesSymbol);
  if (names != R_NilValue && (TYPEOF(names) != STRSXP || XLENGTH(names) != ncol)) return 1;
  pl->scratch = (mangoro_scratch) {pl->room, sizeof pl->room, 0};
  col_t *c = (col_t *) mangoro_take(&pl->scratch, (size_t) ncol, sizeof(col_t));
  int nfct = 0;
  for (int j = 0; j < ncol; j++) {
    SEXP x = VECTOR_ELT(cols, j);
    c[j].x = x;
    c[j].n = n;
    c[j].tz = "";
    c[j].kind = column_kind(x, &c[j].ordered);
    if (c[j].kind == 0) return 1;
    if (Rf_xlength(x) != n) { *err = error_string("column %d has a different length from the others", j + 1); return -1; }
    if (c[j].kind == K_TS) c[j].tz = column_tz(x);
    if (c[j].kind == K_DUR) c[j].units = column_units(x);
    if (c[j].kind == K_FCT) nfct++;
  }
  // Levels of each factor as a string column, for its dictionary batch.
  col_t *lev = (col_t *) mangoro_take(&pl->scratch, (size_t) nfct, sizeof(col_t));
  int64_t *lev_id = (int64_t *) mangoro_take(&pl->scratch, (size_t) nfct, sizeof(int64_t));
  for (int j = 0, k = 0; j < ncol; j++) {
    int st = plan_column(&c[j]);
    if (st == -1) { *err = error_string("factor column %d has codes outside its levels", j + 1); return -1; }
    if (st == -2) { *err = error_string("character column %d holds more than 2 GB of text", j + 1); return -1; }
    if (c[j].kind != K_FCT) continue;
    SEXP levels = Rf_getAttrib(c[j].x, R_LevelsSymbol);
    lev[k] = (col_t) {levels, K_STR, 0, "", 0, XLENGTH(levels), 0, 0, 0, 0};
    if (plan_column(&lev[k]) != 0) { *err = error_string("the levels of factor column %d exceed 2 GB", j + 1); return -1; }
    lev_id[k] = j;
    k++;
  }
  pl->c = c;
  pl->lev = lev;
  pl->ncol = ncol;
  pl->nfct = nfct;
  pl->schema = (fb_t) {pl->schema_inline, 0, sizeof pl->schema_inline};
  pl->batch = (fb_t) {pl->batch_inline, 0, sizeof pl->batch_inline};
  pl->dicts = (fb_t *) mangoro_take(&pl->scratch, (size_t) nfct, sizeof(fb_t));
  build_schema(&pl->schema, names, c, ncol);
  size_t total = framed_len(pl->schema.len);
  for (int k = 0; k < nfct; k++) {
    pl->dicts[k] = (fb_t) {NULL, 0, 0};
    build_dictionary_batch(&pl->dicts[k], lev_id[k], &lev[k]);
    total += framed_len(pl->dicts[k].len) + (size_t) body_length(&lev[k], 1);
  }
  build_batch(&pl->batch, c, ncol, n);
  total += framed_len(pl->batch.len) + (size_t) body_length(c, ncol) + 8;
  pl->stream = total;
  return 0;
}

// Writes the planned stream at p (pl->stream bytes).
static void emit_stream(const plan_t *pl, unsigned char *p) {
  p = write_framed(p, &pl->schema);
  for (int k = 0; k < pl->nfct; k++) {
    p = write_framed(p, &pl->dicts[k]);
    p = write_body(p, &pl->lev[k], 1);
  }
  p = write_framed(p, &pl->batch);
  p = write_body(p, pl->c, pl->ncol);
  wr32(p, 0xFFFFFFFFu); // end-of-stream marker
  wr32(p + 4, 0);
}

// The last call request's raw vector, reused by the next request of the
// same size once R holds no reference to it (only this slot does): a small
// call then allocates no vector for its request. A fresh one cost ~4 us in
// situ, a malloc and its share of R's garbage collections (bench/PROFILE.md,
// round five). Every holder of a request is an R binding or promise, which
// R counts; C code must not keep one (by PROTECT alone) across the making
// of the next.
static SEXP request_vector(R_xlen_t n) {
  static SEXP slot = NULL, s_id, s_wait, s_timeout, s_header;
  if (!slot) {
    slot = Rf_allocVector(VECSXP, 1);
    R_PreserveObject(slot);
  }
  SEXP v = VECTOR_ELT(slot, 0);
  if (v != R_NilValue && XLENGTH(v) == n && !MAYBE_SHARED(v)) {
    // The attributes the callers set, as on a fresh vector.
    Rf_setAttrib(v, mangoro_sym(&s_id, "id"), R_NilValue);
    Rf_setAttrib(v, mangoro_sym(&s_wait, "wait"), R_NilValue);
    Rf_setAttrib(v, mangoro_sym(&s_timeout, "timeout"), R_NilValue);
    Rf_setAttrib(v, mangoro_sym(&s_header, "header"), R_NilValue);
    return v;
  }
  v = Rf_allocVector(RAWSXP, n);
  if (n <= 4096) SET_VECTOR_ELT(slot, 0, v); // small calls only: a big one is not kept
  return v;
}

// The prefix and the planned stream as one raw vector.
static SEXP emit_message(const prefix_t *pre, const plan_t *pl) {
  R_xlen_t n = (R_xlen_t) (pre->len + pl->stream);
  SEXP out = PROTECT(pre->reuse ? request_vector(n) : Rf_allocVector(RAWSXP, n));
  unsigned char *p = RAW(out);
  if (pre->raw) memcpy(p, pre->raw, pre->len);
  else mangoro_envelope_header_put(p, pre->type, pre->name, pre->nlen, pre->text ? pre->text : "", pre->tlen);
  emit_stream(pl, p + pre->len);
  UNPROTECT(1);
  return out;
}

// The whole message as one raw vector, NULL when some column needs the
// nanoarrow path, or an error string.
static SEXP write_message(const prefix_t *pre, SEXP cols, SEXP nrow) {
  plan_t pl;
  SEXP err = R_NilValue;
  int st = plan_stream(&pl, cols, nrow, &err);
  if (st != 0) return st < 0 ? err : R_NilValue;
  return emit_message(pre, &pl);
}

// prefix: raw (written first, e.g. nothing); cols: list of vectors (a
// data.frame is fine); nrow: the number of rows.
SEXP mangoro_c_ipc_write(SEXP prefix, SEXP cols, SEXP nrow) {
  if (TYPEOF(prefix) != RAWSXP) return Rf_mkString("the prefix must be a raw vector");
  prefix_t pre = {RAW(prefix), (size_t) XLENGTH(prefix), 0, "", 0, NULL, 0, 0};
  return write_message(&pre, cols, nrow);
}

// A whole message, envelope header (type, name, no error) and Arrow stream,
// in one call: what R/message.R sends for a call.
SEXP mangoro_c_message_encode(SEXP type, SEXP name, SEXP cols, SEXP nrow) {
  int t = Rf_asInteger(type);
  if (t == NA_INTEGER || t < 0 || t > 255) return Rf_mkString("the envelope type must be an integer in 0..255");
  prefix_t pre = {NULL, 0, t, "", 0, NULL, 0, 0};
  pre.name = mangoro_utf8_or_empty(name, &pre.nlen);
  if (pre.nlen > INT_MAX) return Rf_mkString("the name is longer than 2^31 - 1 bytes");
  pre.len = ENV_HEADER + pre.nlen;
  return write_message(&pre, cols, nrow);
}

// A call message: envelope header (type 1, `name`, the request header
// `text`) and the Arrow stream of `cols`. When the stream is at least `thr`
// bytes (never for NaN or Inf) and `arena` (a mapping from mangoro_shm_create, or
// NULL) can hold it, the stream is written straight into the arena's payload
// at offset 0 (no raw vector) and its length is returned as a double; when it
// is that big but does not fit, list(need = bytes); otherwise the socket
// message as one raw vector (NULL when some column needs the nanoarrow path,
// or an error string).
SEXP mangoro_encode_call(const char *name, size_t nlen, const char *text, size_t tlen,
                         SEXP cols, SEXP nrow, SEXP arena, double thr) {
  prefix_t pre = {NULL, ENV_HEADER + nlen + tlen, 1, name, nlen, text, tlen, 1};
  plan_t pl;
  SEXP err = R_NilValue;
  int st = plan_stream(&pl, cols, nrow, &err);
  if (st != 0) return st < 0 ? err : R_NilValue;
  if (!(thr <= (double) pl.stream)) return emit_message(&pre, &pl); // NaN, Inf: the socket
  size_t cap = 0;
  unsigned char *base = arena == R_NilValue ? NULL : mangoro_shm_mapping_addr(arena, &cap);
  if (!base || cap < MANGORO_SHM_HEADER || pl.stream > cap - MANGORO_SHM_HEADER) {
    const char *nm[] = {"need", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, nm));
    SET_VECTOR_ELT(out, 0, Rf_ScalarReal((double) pl.stream));
    UNPROTECT(1);
    return out;
  }
  emit_stream(&pl, base + MANGORO_SHM_HEADER);
  return Rf_ScalarReal((double) pl.stream);
}

// The Arrow type a column is written as by this writer ("" when it is not one
// of the kinds covered here); a timestamp carries its zone in attribute "tz",
// a duration its difftime units in attribute "units".
SEXP mangoro_c_arrow_kind(SEXP x) {
  int ordered;
  int kind = column_kind(x, &ordered);
  SEXP out = PROTECT(Rf_mkString(kind_names[kind]));
  if (kind == K_TS) {
    SEXP tz = PROTECT(Rf_mkString(column_tz(x)));
    Rf_setAttrib(out, Rf_install("tz"), tz);
    UNPROTECT(1);
  }
  if (kind == K_DUR) {
    SEXP units = PROTECT(Rf_mkString(units_names[column_units(x)]));
    Rf_setAttrib(out, Rf_install("units"), units);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return out;
}
