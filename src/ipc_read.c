// The reader for every Arrow IPC stream mangoro receives, straight into R
// vectors: the package's only decoding path for result payloads.
//
// Why hand-written: a one-row result costs ~70 us through nanoarrow (reader,
// array stream, conversion in R) and a few here, and nanoarrow's reader
// trusts the IPC metadata (one flipped byte in a reply with a list column
// could abort R). This reader reads the stream in place, from an offset into
// the received message, so the payload is never copied.
//
// Covered (R result in brackets): null [logical NA], bool [logical],
// int8/16/32 and uint8/16 [integer], uint32/uint64 [double], int64
// [bit64::integer64, or double], float32/64 [double], utf8/large_utf8
// [character], binary/large_binary [list of raw, NULL for null], date32
// [Date], timestamp of any unit [POSIXct with its zone], duration of any
// unit [difftime in the units named by field metadata "mangoro.units", else
// seconds], dictionary of any integer index and utf8 values [factor,
// ordered when the dictionary says so], list/large_list of any of these [list of vectors, NULL for null] and
// struct [data.frame column, struct-level nulls ignored] nested to any
// depth. Anything else (other types, compression, big-endian data, delta or
// replaced dictionaries) is refused with a reason.
//
// The input is untrusted. Pass 1 parses and checks everything before any R
// vector is made: every flatbuffer table, vtable, offset and vector against
// the bytes it lies in; the schema tree (depth and node count bounded by
// the metadata size); per batch the node and buffer counts against the
// schema, every node's length and null count, every buffer inside the body
// and long enough for its node, every offset buffer monotone and within its
// data or child; dictionary ids. Pass 2 allocates only what those checked
// buffers can fill (null-type columns, which have no buffers, are capped)
// and checks the rest as it copies (NUL bytes in strings, dictionary
// indices). Bad input gives back a reason string (R raises a
// mangoro_protocol_error), never an out-of-bounds read.

#include "mangoro.h" // R.h, Rinternals.h, mangoro_sym()
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include "shm.h" // mangoro_lazy_utf8()

// Arrow flatbuffer enums used below (Schema.fbs / Message.fbs).
enum { H_SCHEMA = 1, H_DICT = 2, H_BATCH = 3 };
enum {
  T_NULL = 1, T_INT = 2, T_FLOAT = 3, T_BIN = 4, T_UTF8 = 5, T_BOOL = 6, T_DATE = 8, T_TS = 10,
  T_LIST = 12, T_STRUCT = 13, T_DURATION = 18, T_LBIN = 19, T_LUTF8 = 20, T_LLIST = 21
};

// Outcome of a step: go on, an optional part is absent, or malformed input.
enum { OK = 0, ABSENT = 1, BAD = 2 };

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
  char msg[160];   // room for a reason that names something
} err_t;

static uint64_t le(const unsigned char *p, int w) {
  uint64_t v = 0;
  for (int i = w - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// A little-endian integer of `w` bytes, sign-extended when `sign`.
static int64_t le_int(const unsigned char *p, int w, int sign) {
  uint64_t v = le(p, w);
  if (sign && w < 8 && (v >> (8 * w - 1)) & 1) v |= ~(uint64_t) 0 << (8 * w);
  return (int64_t) v;
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

// Sub-table at field `i`: OK with `out` filled, ABSENT when absent, BAD.
static int field_table(const table_t *t, int i, table_t *out, err_t *e) {
  uint64_t target = field_ref(t, i, e);
  if (e->why) return BAD;
  if (target == 0) return ABSENT;
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

// --- schema: a tree of nodes, one per Arrow field (pre-order numbered) -----------

enum { K_NULL = 1, K_BOOL, K_INT, K_FLOAT, K_STR, K_BIN, K_DATE, K_TS, K_FCT, K_LIST, K_STRUCT, K_DUR };

#define MAX_DEPTH 64

typedef struct node {
  int kind;
  int width;          // K_INT, K_FCT (index), K_FLOAT: value bytes; K_STR, K_BIN, K_LIST: offset bytes
  int sign;           // K_INT, K_FCT: signed values
  double divisor;     // K_TS, K_DUR: units per second
  const char *name;   // into the message (checked: no NUL)
  int nlen;
  const char *tz;     // K_TS: zone, "" when none
  int tzlen;
  const char *units;  // K_DUR: difftime units (a static string)
  int dict;           // K_FCT: dictionary slot
  int ordered;        // K_FCT
  int nkid;
  struct node *kids;
  int idx;            // position among the batch's field nodes
  int buf;            // first of its buffers in a batch
  int nbuf;
} node_t;

typedef struct {
  int64_t len, nulls;
  const unsigned char *b[3]; // validity (NULL when no nulls), then data buffers
  uint64_t blen[3];
} arr_t;

typedef struct {
  int64_t id;
  node_t value;   // the dictionary's values: utf8 or large_utf8
  arr_t *arr;     // its last dictionary batch, or NULL
} dict_t;

typedef struct {
  int64_t n;
  arr_t *arrs;
} batch_t;

typedef struct {
  err_t e;
  node_t root;     // a struct whose children are the columns
  int nnode, nbuf, max_nodes;
  dict_t *dicts;
  int ndict, dict_cap;
  batch_t *batches;
  int nbatch, cap;
  int64_t rows;
  uint64_t null_values, null_cap; // values of null-type nodes (no buffers bound them)
  int int64_ok;
  int *lossy;      // per column: an int64 beyond 2^53 was read as a double
  SEXP holder;     // what holds the stream: a raw vector or a shared memory
                   // mapping (lazy strings and views keep it alive)
  const unsigned char *base; // its first byte
  double lazy_min; // top-level string columns of at least this many rows are lazy; NAN: not asked yet
  const int *replaced; // per top-level column: made lazy or a view (not allocated)
  mangoro_scratch room; // the tables' memory, on the caller's stack (take())
} stream_t;

// Scratch for n things of `size` bytes, valid until the reader returns.
static void *take(stream_t *s, size_t n, size_t size) { return mangoro_take(&s->room, n, size); }

// Whether int64 columns are read as bit64::integer64. int64_ok < 0: not
// known yet; R's int64_as_integer64() (R/message.R) says, once, at the first
// int64 column (most results have none, so most reads never ask).
static int int64_ok(stream_t *s) {
  if (s->int64_ok < 0) {
    SEXP ns = PROTECT(R_FindNamespace(Rf_mkString("mangoro")));
    SEXP call = PROTECT(Rf_lang1(Rf_install("int64_as_integer64")));
    s->int64_ok = Rf_asLogical(Rf_eval(call, ns)) == TRUE;
    UNPROTECT(2);
  }
  return s->int64_ok;
}

static int bad_named(err_t *e, const char *fmt, const char *what) {
  if (e->why == NULL) {
    snprintf(e->msg, sizeof e->msg, fmt, what);
    e->why = e->msg;
  }
  return BAD;
}

static const char *type_name(int type) {
  static const char *names[] = {"NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool",
                                "Decimal", "Date", "Time", "Timestamp", "Interval", "List", "Struct",
                                "Union", "FixedSizeBinary", "FixedSizeList", "Map", "Duration",
                                "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded",
                                "BinaryView", "Utf8View", "ListView", "LargeListView"};
  return type >= 0 && type < (int) (sizeof names / sizeof names[0]) ? names[type] : "unknown";
}

// A string field (name, zone) of table `t`: checked, no NUL, pointer into the message.
static int field_string(const table_t *t, int i, const char **s, int *len, const char *what, err_t *e) {
  uint64_t n, pos;
  if (field_vector(t, i, 1, &n, &pos, e) != OK) return BAD;
  if (n > INT_MAX || (n && memchr(t->b.p + pos, 0, n))) return bad_named(e, "%s is malformed", what);
  *s = n ? (const char *) t->b.p + pos : "";
  *len = (int) n;
  return OK;
}

// The difftime units of a Duration field, from its custom_metadata (key
// "mangoro.units", written by src/ipc_write.c): nd->units and the divisor
// scaled to them. Absent or unknown units leave seconds.
static int field_units(const table_t *ft, node_t *nd, err_t *e) {
  static const char *names[] = {"secs", "mins", "hours", "days", "weeks"};
  static const double seconds[] = {1, 60, 3600, 86400, 604800};
  static const char key[] = "mangoro.units";
  double per_second = nd->divisor;
  nd->units = names[0];
  uint64_t count, start;
  if (field_vector(ft, 6, 4, &count, &start, e) != OK) return BAD;
  for (uint64_t k = 0; k < count; k++) {
    // Keys and values are checked bytes compared by length: other keys may
    // hold any bytes, NUL included, and are skipped.
    table_t kv;
    uint64_t klen, kpos, vlen, vpos;
    if (vector_table(ft->b, start, k, &kv, e) != OK) return BAD;
    if (field_vector(&kv, 0, 1, &klen, &kpos, e) != OK) return BAD;
    if (klen != sizeof key - 1 || memcmp(kv.b.p + kpos, key, klen) != 0) continue;
    if (field_vector(&kv, 1, 1, &vlen, &vpos, e) != OK) return BAD;
    for (int i = 0; i < 5; i++) {
      if (vlen == strlen(names[i]) && memcmp(kv.b.p + vpos, names[i], vlen) == 0) {
        nd->units = names[i];
        nd->divisor = per_second * seconds[i];
      }
    }
  }
  return OK;
}

static int parse_field(stream_t *s, const table_t *ft, node_t *nd, int depth);

// The children vector of field `ft` into nd->kids (checked against the node budget).
static int parse_children(stream_t *s, const table_t *ft, node_t *nd, int depth, uint64_t count,
                          uint64_t start) {
  err_t *e = &s->e;
  if (count > (uint64_t) (s->max_nodes - s->nnode)) return bad(e, "the schema has more fields than its bytes can hold");
  nd->nkid = (int) count;
  nd->kids = (node_t *) take(s, count, sizeof(node_t));
  for (uint64_t k = 0; k < count; k++) {
    table_t kt;
    if (vector_table(ft->b, start, k, &kt, e) != OK) return BAD;
    if (parse_field(s, &kt, &nd->kids[k], depth + 1) != OK) return BAD;
  }
  return OK;
}

static int parse_field(stream_t *s, const table_t *ft, node_t *nd, int depth) {
  err_t *e = &s->e;
  if (depth > MAX_DEPTH) return bad(e, "the schema is nested too deeply");
  if (s->nnode >= s->max_nodes) return bad(e, "the schema has more fields than its bytes can hold");
  memset(nd, 0, sizeof *nd);
  nd->tz = "";
  nd->idx = s->nnode++;
  nd->buf = s->nbuf;
  if (field_string(ft, 0, &nd->name, &nd->nlen, "a field name", e) != OK) return BAD;
  int type = (int) field_int(ft, 2, 1, 0, e);
  table_t ty, dict;
  int has_type = field_table(ft, 3, &ty, e);
  if (has_type == BAD) return BAD;
  int has_dict = field_table(ft, 4, &dict, e);
  if (has_dict == BAD) return BAD;
  uint64_t nkids, kids;
  if (field_vector(ft, 5, 4, &nkids, &kids, e) != OK) return BAD;
  if (e->why) return BAD;
  int want_kids = 0;
  if (has_dict == OK) {
    if (type != T_UTF8 && type != T_LUTF8)
      return bad_named(e, "a dictionary holds %s values; mangoro reads dictionaries of strings only",
                       type_name(type));
    table_t idx;
    int has_idx = field_table(&dict, 1, &idx, e);
    if (has_idx == BAD) return BAD;
    int64_t bits = 32, sign = 1; // an absent index type means int32 (Schema.fbs)
    if (has_idx == OK) {
      bits = field_int(&idx, 0, 4, 0, e);
      sign = field_int(&idx, 1, 1, 0, e) != 0;
    }
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64) return bad(e, "a dictionary index has an invalid width");
    int64_t id = field_int(&dict, 0, 8, 0, e);
    for (int d = 0; d < s->ndict; d++)
      if (s->dicts[d].id == id) return bad(e, "two fields share a dictionary id");
    if (s->ndict == s->dict_cap) { // grown as met: most schemas have none
      int cap = s->dict_cap ? 2 * s->dict_cap : 4;
      dict_t *nd2 = (dict_t *) take(s, (size_t) cap, sizeof(dict_t));
      if (s->ndict) memcpy(nd2, s->dicts, (size_t) s->ndict * sizeof(dict_t));
      s->dicts = nd2;
      s->dict_cap = cap;
    }
    dict_t *dt = &s->dicts[s->ndict];
    memset(dt, 0, sizeof *dt);
    dt->id = id;
    dt->value = (node_t) {.kind = K_STR, .width = type == T_LUTF8 ? 8 : 4, .nbuf = 3, .name = "", .tz = ""};
    nd->kind = K_FCT;
    nd->width = (int) bits / 8;
    nd->sign = (int) sign;
    nd->dict = s->ndict++;
    nd->ordered = field_int(&dict, 2, 1, 0, e) != 0;
    nd->nbuf = 2;
  } else {
    switch (type) {
    case T_NULL: nd->kind = K_NULL; nd->nbuf = 0; break;
    case T_BOOL: nd->kind = K_BOOL; nd->nbuf = 2; break;
    case T_INT: {
      if (has_type != OK) return bad(e, "an Int field has no type table");
      int64_t bits = field_int(&ty, 0, 4, 0, e);
      if (bits != 8 && bits != 16 && bits != 32 && bits != 64) return bad(e, "an Int field has an invalid width");
      nd->kind = K_INT;
      nd->width = (int) bits / 8;
      nd->sign = field_int(&ty, 1, 1, 0, e) != 0;
      nd->nbuf = 2;
      break;
    }
    case T_FLOAT: {
      if (has_type != OK) return bad(e, "a FloatingPoint field has no type table");
      int64_t prec = field_int(&ty, 0, 2, 0, e);
      if (prec != 1 && prec != 2) return bad(e, "a float16 or unknown floating point column can't be read");
      nd->kind = K_FLOAT;
      nd->width = prec == 1 ? 4 : 8;
      nd->nbuf = 2;
      break;
    }
    case T_UTF8: case T_LUTF8: case T_BIN: case T_LBIN:
      nd->kind = type == T_UTF8 || type == T_LUTF8 ? K_STR : K_BIN;
      nd->width = type == T_LUTF8 || type == T_LBIN ? 8 : 4;
      nd->nbuf = 3;
      break;
    case T_DATE:
      // The default unit is milliseconds (date64); only days map to Date.
      if (has_type != OK || field_int(&ty, 0, 2, 1, e) != 0)
        return e->why ? BAD : bad(e, "a date64 column can't be read (only date32)");
      nd->kind = K_DATE;
      nd->nbuf = 2;
      break;
    case T_TS: {
      if (has_type != OK) return bad(e, "a Timestamp field has no type table");
      static const double per_second[4] = {1, 1e3, 1e6, 1e9};
      int64_t unit = field_int(&ty, 0, 2, 0, e);
      if (unit < 0 || unit > 3) return bad(e, "a Timestamp has an unknown unit");
      nd->kind = K_TS;
      nd->divisor = per_second[unit];
      if (field_string(&ty, 1, &nd->tz, &nd->tzlen, "a time zone name", e) != OK) return BAD;
      nd->nbuf = 2;
      break;
    }
    case T_DURATION: {
      // A difftime in seconds; the unit defaults to milliseconds (Schema.fbs).
      if (has_type != OK) return bad(e, "a Duration field has no type table");
      static const double per_second[4] = {1, 1e3, 1e6, 1e9};
      int64_t unit = field_int(&ty, 0, 2, 1, e);
      if (unit < 0 || unit > 3) return bad(e, "a Duration has an unknown unit");
      nd->kind = K_DUR;
      nd->divisor = per_second[unit];
      if (field_units(ft, nd, e) != OK) return BAD;
      nd->nbuf = 2;
      break;
    }
    case T_LIST: case T_LLIST:
      nd->kind = K_LIST;
      nd->width = type == T_LLIST ? 8 : 4;
      nd->nbuf = 2;
      want_kids = 1;
      if (nkids != 1) return bad(e, "a list field does not have exactly one child");
      break;
    case T_STRUCT:
      nd->kind = K_STRUCT;
      nd->nbuf = 1;
      want_kids = 1;
      break;
    default:
      return bad_named(e, "a column has Arrow type %s, which mangoro does not read", type_name(type));
    }
  }
  if (e->why) return BAD;
  if (!want_kids && nkids != 0) return bad(e, "a field of a flat type has children");
  s->nbuf += nd->nbuf;
  if (want_kids) return parse_children(s, ft, nd, depth, nkids, kids);
  return OK;
}

static int parse_schema(stream_t *s, const table_t *sc, uint64_t meta_len) {
  err_t *e = &s->e;
  if (field_int(sc, 0, 2, 0, e) != 0) return e->why ? BAD : bad(e, "big-endian streams can't be read");
  uint64_t count, start;
  if (field_vector(sc, 1, 4, &count, &start, e) != OK) return BAD;
  // Each field costs at least a 4-byte offset in some vector of the metadata.
  s->max_nodes = (int) (meta_len / 4 < INT_MAX / 2 ? meta_len / 4 : INT_MAX / 2);
  s->root = (node_t) {.kind = K_STRUCT, .idx = -1, .name = "", .tz = ""};
  return parse_children(s, sc, &s->root, 0, count, start);
}

// --- record batches ----------------------------------------------------------------

// Offsets of `n` values (n + 1 entries of `w` bytes) that must start at or
// after 0, never decrease, and end within `limit`. Returns the last offset.
static int check_offsets(const unsigned char *o, int w, int64_t n, uint64_t limit, int64_t *last,
                         err_t *e) {
  *last = 0;
  if (n == 0) return OK;
  int64_t prev = le_int(o, w, 1);
  if (prev < 0) return bad(e, "an offset is negative");
  for (int64_t i = 1; i <= n; i++) {
    int64_t next = le_int(o + (uint64_t) w * i, w, 1);
    if (next < prev) return bad(e, "offsets decrease");
    prev = next;
  }
  if ((uint64_t) prev > limit) return bad(e, "an offset points past its data");
  *last = prev;
  return OK;
}

// Checks node `nd` (and its children) of a batch: length at least `need`
// (exactly, when `exact`), buffers long enough, offsets within bounds.
static int check_node(stream_t *s, const node_t *nd, arr_t *arrs, int64_t need, int exact) {
  err_t *e = &s->e;
  arr_t *a = &arrs[nd->idx];
  if (a->len < need || (exact && a->len != need)) return bad(e, "a field node's length does not match its parent");
  int64_t n = a->len;
  if (nd->kind == K_NULL) {
    s->null_values += (uint64_t) n;
    if (s->null_values > s->null_cap) return bad(e, "null-type columns are longer than the message can justify");
    return OK;
  }
  if (a->nulls > 0) {
    if (a->blen[0] < ((uint64_t) n + 7) / 8) return bad(e, "a validity buffer is too short");
  } else {
    a->b[0] = NULL; // nothing is null: the bitmap may be absent
  }
  uint64_t un = (uint64_t) n, need1 = 0;
  switch (nd->kind) {
  case K_BOOL: need1 = (un + 7) / 8; break;
  case K_INT: case K_FCT: case K_FLOAT: need1 = (uint64_t) nd->width * un; break;
  case K_DATE: need1 = 4 * un; break;
  case K_TS: case K_DUR: need1 = 8 * un; break;
  case K_STR: case K_BIN: case K_LIST: need1 = n ? (uint64_t) nd->width * (un + 1) : 0; break;
  default: break;
  }
  if (nd->nbuf > 1 && a->blen[1] < need1) return bad(e, "a buffer is too short for its column");
  int64_t last;
  switch (nd->kind) {
  case K_STR: case K_BIN:
    return check_offsets(a->b[1], nd->width, n, a->blen[2], &last, e);
  case K_LIST: {
    const node_t *kid = &nd->kids[0];
    if (check_offsets(a->b[1], nd->width, n, (uint64_t) arrs[kid->idx].len, &last, e) != OK) return BAD;
    return check_node(s, kid, arrs, last, 0);
  }
  case K_STRUCT:
    for (int k = 0; k < nd->nkid; k++)
      if (check_node(s, &nd->kids[k], arrs, n, 0) != OK) return BAD;
    return OK;
  default:
    return OK;
  }
}

// A RecordBatch table against its body, for the columns `top` (nnode nodes
// and nbuf buffers in all): every node and buffer checked, into `out`.
static int parse_batch(stream_t *s, const table_t *rb, span_t body, const node_t *top, int ntop, int nnode,
                       int nbuf, batch_t *out) {
  err_t *e = &s->e;
  table_t comp;
  int has_comp = field_table(rb, 3, &comp, e);
  if (has_comp == BAD) return BAD;
  if (has_comp == OK) return bad(e, "compressed record batches can't be read");
  int64_t n = field_int(rb, 0, 8, 0, e);
  uint64_t nnodes, nodes, nbufs, bufs;
  if (field_vector(rb, 1, 16, &nnodes, &nodes, e) != OK) return BAD;
  if (field_vector(rb, 2, 16, &nbufs, &bufs, e) != OK) return BAD;
  if (e->why) return BAD;
  if (n < 0 || n > INT_MAX) return bad(e, "a record batch has an invalid length");
  if (nnodes != (uint64_t) nnode || nbufs != (uint64_t) nbuf)
    return bad(e, "a record batch does not match its schema");
  arr_t *arrs = (arr_t *) take(s, (size_t) nnode, sizeof(arr_t));
  memset(arrs, 0, (nnode ? (size_t) nnode : 1) * sizeof(arr_t));
  const unsigned char *m = rb->b.p;
  for (int i = 0; i < nnode; i++) {
    arrs[i].len = (int64_t) le(m + nodes + 16 * (uint64_t) i, 8);
    arrs[i].nulls = (int64_t) le(m + nodes + 16 * (uint64_t) i + 8, 8);
    if (arrs[i].len < 0 || arrs[i].len > INT_MAX || arrs[i].nulls < 0 || arrs[i].nulls > arrs[i].len)
      return bad(e, "a field node has an invalid length or null count");
  }
  // Buffers in order belong to the nodes in order (both pre-order).
  for (int i = 0; i < ntop; i++) {
    // Walk the tree iteratively through a small explicit stack.
    const node_t *stack[MAX_DEPTH + 2];
    int kid_at[MAX_DEPTH + 2], sp = 0;
    stack[0] = &top[i];
    kid_at[0] = -1;
    while (sp >= 0) {
      const node_t *nd = stack[sp];
      if (kid_at[sp] == -1) {
        for (int w = 0; w < nd->nbuf; w++) {
          uint64_t k = (uint64_t) nd->buf + (uint64_t) w;
          int64_t off = (int64_t) le(m + bufs + 16 * k, 8), blen = (int64_t) le(m + bufs + 16 * k + 8, 8);
          if (off < 0 || blen < 0 || !inside(body, (uint64_t) off, (uint64_t) blen))
            return bad(e, "a buffer lies outside the message body");
          arrs[nd->idx].b[w] = body.p + off;
          arrs[nd->idx].blen[w] = (uint64_t) blen;
        }
        kid_at[sp] = 0;
      }
      if (kid_at[sp] < nd->nkid) {
        stack[sp + 1] = &nd->kids[kid_at[sp]++];
        kid_at[++sp] = -1;
      } else {
        sp--;
      }
    }
    if (check_node(s, &top[i], arrs, n, 1) != OK) return BAD;
  }
  out->n = n;
  out->arrs = arrs;
  return OK;
}

// --- building R vectors ------------------------------------------------------------

// The few class vectors the reader sets, made once and shared by every
// object that has one (not mutable, so R copies before changing one): a
// small call's frame then costs no class vector and no string lookup.
static SEXP class_vector(const char *a, const char *b) {
  static struct { const char *a, *b; SEXP cls; } made[8];
  static int n = 0;
  for (int i = 0; i < n; i++)
    if (strcmp(made[i].a, a) == 0 && (b ? made[i].b && strcmp(made[i].b, b) == 0 : !made[i].b)) return made[i].cls;
  SEXP cls = PROTECT(Rf_allocVector(STRSXP, b ? 2 : 1));
  SET_STRING_ELT(cls, 0, Rf_mkChar(a));
  if (b) SET_STRING_ELT(cls, 1, Rf_mkChar(b));
  if (n < (int) (sizeof made / sizeof made[0])) {
    MARK_NOT_MUTABLE(cls);
    R_PreserveObject(cls);
    made[n].a = a, made[n].b = b, made[n].cls = cls;
    n++;
  }
  UNPROTECT(1);
  return cls;
}

static void set_class(SEXP x, const char *a, const char *b) {
  Rf_setAttrib(x, R_ClassSymbol, class_vector(a, b));
}

static void set_frame_attrs(SEXP df, R_xlen_t n) {
  SEXP rn = PROTECT(Rf_allocVector(INTSXP, 2));
  INTEGER(rn)[0] = NA_INTEGER;
  INTEGER(rn)[1] = -(int) n;
  Rf_setAttrib(df, R_RowNamesSymbol, rn);
  set_class(df, "data.frame", NULL);
  UNPROTECT(1);
}

static int int_is_integer(const node_t *nd) {
  return nd->width < 4 || (nd->width == 4 && nd->sign);
}

// An empty R vector of `n` values for node `nd` (a data.frame for structs,
// its columns allocated too), with its class and attributes.
static SEXP alloc_col(stream_t *s, const node_t *nd, SEXP levels, R_xlen_t n) {
  SEXP x;
  switch (nd->kind) {
  case K_NULL: case K_BOOL: x = PROTECT(Rf_allocVector(LGLSXP, n)); break;
  case K_INT: x = PROTECT(Rf_allocVector(int_is_integer(nd) ? INTSXP : REALSXP, n)); break;
  case K_FCT: x = PROTECT(Rf_allocVector(INTSXP, n)); break;
  case K_STR: x = PROTECT(Rf_allocVector(STRSXP, n)); break;
  case K_BIN: case K_LIST: x = PROTECT(Rf_allocVector(VECSXP, n)); break;
  case K_STRUCT: {
    x = PROTECT(Rf_allocVector(VECSXP, nd->nkid));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, nd->nkid));
    Rf_setAttrib(x, R_NamesSymbol, names);
    for (int k = 0; k < nd->nkid; k++) {
      const node_t *kid = &nd->kids[k];
      SET_STRING_ELT(names, k, Rf_mkCharLenCE(kid->name, kid->nlen, CE_UTF8));
      if (nd == &s->root && s->replaced && s->replaced[k]) continue; // build_frame() sets it
      SET_VECTOR_ELT(x, k, alloc_col(s, kid, levels, n));
    }
    UNPROTECT(1);
    set_frame_attrs(x, n);
    break;
  }
  default: x = PROTECT(Rf_allocVector(REALSXP, n)); break;
  }
  switch (nd->kind) {
  case K_INT:
    if (nd->width == 8 && nd->sign && int64_ok(s)) set_class(x, "integer64", NULL);
    break;
  case K_DATE: set_class(x, "Date", NULL); break;
  case K_TS: {
    set_class(x, "POSIXct", "POSIXt");
    SEXP tz = PROTECT(Rf_ScalarString(Rf_mkCharLenCE(nd->tz, nd->tzlen, CE_UTF8)));
    Rf_setAttrib(x, Rf_install("tzone"), tz);
    UNPROTECT(1);
    break;
  }
  case K_DUR: {
    set_class(x, "difftime", NULL);
    SEXP units = PROTECT(Rf_mkString(nd->units ? nd->units : "secs"));
    Rf_setAttrib(x, Rf_install("units"), units);
    UNPROTECT(1);
    break;
  }
  case K_FCT:
    Rf_setAttrib(x, R_LevelsSymbol, VECTOR_ELT(levels, nd->dict));
    if (nd->ordered) set_class(x, "ordered", "factor");
    else set_class(x, "factor", NULL);
    break;
  default: break;
  }
  UNPROTECT(1);
  return x;
}

static int valid_at(const arr_t *a, int64_t i) {
  return a->b[0] == NULL || (a->b[0][i >> 3] >> (i & 7)) & 1;
}

// Values [start, start + count) of node `nd` into `out` from position `at`.
// `col` is the top-level column (for the precision flag).
static int fill(stream_t *s, const node_t *nd, const arr_t *arrs, SEXP levels, int64_t start,
                int64_t count, SEXP out, R_xlen_t at, int col) {
  err_t *e = &s->e;
  const arr_t *a = &arrs[nd->idx];
  const unsigned char *d = a->b[1];
  switch (nd->kind) {
  case K_NULL: {
    int *o = LOGICAL(out) + at;
    for (int64_t i = 0; i < count; i++) o[i] = NA_LOGICAL;
    return OK;
  }
  case K_BOOL: {
    int *o = LOGICAL(out) + at;
    for (int64_t i = 0, j = start; i < count; i++, j++)
      o[i] = valid_at(a, j) ? (d[j >> 3] >> (j & 7)) & 1 : NA_LOGICAL;
    return OK;
  }
  case K_INT: {
    int w = nd->width;
    if (int_is_integer(nd)) {
      int *o = INTEGER(out) + at;
      if (w == 4) {
        if (count) memcpy(o, d + 4 * start, 4 * (size_t) count);
      } else {
        for (int64_t i = 0; i < count; i++) o[i] = (int) le_int(d + (uint64_t) w * (start + i), w, nd->sign);
      }
      if (a->b[0]) for (int64_t i = 0; i < count; i++) if (!valid_at(a, start + i)) o[i] = NA_INTEGER;
      return OK;
    }
    double *o = REAL(out) + at;
    if (w == 8 && nd->sign && int64_ok(s)) {
      // integer64 keeps the bits; its NA is INT64_MIN.
      if (count) memcpy(o, d + 8 * start, 8 * (size_t) count);
      int64_t na = INT64_MIN;
      if (a->b[0]) for (int64_t i = 0; i < count; i++) if (!valid_at(a, start + i)) memcpy(o + i, &na, 8);
      return OK;
    }
    for (int64_t i = 0; i < count; i++) {
      const unsigned char *p = d + (uint64_t) w * (start + i);
      if (!valid_at(a, start + i)) {
        o[i] = NA_REAL;
      } else if (nd->sign) {
        int64_t v = le_int(p, w, 1);
        o[i] = (double) v;
        if (w == 8 && (v >= ((int64_t) 1 << 53) || v <= -((int64_t) 1 << 53))) s->lossy[col] = 1;
      } else {
        o[i] = (double) le(p, w);
      }
    }
    return OK;
  }
  case K_FLOAT: {
    double *o = REAL(out) + at;
    if (nd->width == 8) {
      if (count) memcpy(o, d + 8 * start, 8 * (size_t) count);
    } else {
      for (int64_t i = 0; i < count; i++) {
        float f;
        memcpy(&f, d + 4 * (start + i), 4);
        o[i] = (double) f;
      }
    }
    if (a->b[0]) for (int64_t i = 0; i < count; i++) if (!valid_at(a, start + i)) o[i] = NA_REAL;
    return OK;
  }
  case K_DATE: {
    double *o = REAL(out) + at;
    for (int64_t i = 0; i < count; i++)
      o[i] = valid_at(a, start + i) ? (double) le_int(d + 4 * (start + i), 4, 1) : NA_REAL;
    return OK;
  }
  case K_TS: case K_DUR: {
    double *o = REAL(out) + at;
    for (int64_t i = 0; i < count; i++)
      o[i] = valid_at(a, start + i) ? (double) le_int(d + 8 * (start + i), 8, 1) / nd->divisor : NA_REAL;
    return OK;
  }
  case K_FCT: {
    int *o = INTEGER(out) + at;
    int64_t nlev = XLENGTH(VECTOR_ELT(levels, nd->dict));
    for (int64_t i = 0; i < count; i++) {
      if (!valid_at(a, start + i)) {
        o[i] = NA_INTEGER;
        continue;
      }
      int64_t k = le_int(d + (uint64_t) nd->width * (start + i), nd->width, nd->sign);
      if (k < 0 || k >= nlev) return bad(e, "a dictionary index is out of range");
      o[i] = (int) k + 1;
    }
    return OK;
  }
  case K_STR: case K_BIN: case K_LIST: {
    int w = nd->width;
    for (int64_t i = 0, j = start; i < count; i++, j++) {
      if (!valid_at(a, j)) {
        if (nd->kind == K_STR) SET_STRING_ELT(out, at + i, NA_STRING);
        continue; // NULL in a list
      }
      int64_t from = le_int(d + (uint64_t) w * j, w, 1), to = le_int(d + (uint64_t) w * (j + 1), w, 1);
      int64_t len = to - from;
      if (nd->kind == K_LIST) {
        const node_t *kid = &nd->kids[0];
        SEXP el = PROTECT(alloc_col(s, kid, levels, (R_xlen_t) len));
        SET_VECTOR_ELT(out, at + i, el);
        UNPROTECT(1);
        if (fill(s, kid, arrs, levels, from, len, el, 0, col) != OK) return BAD;
        continue;
      }
      const char *p = (const char *) a->b[2] + from;
      if (nd->kind == K_BIN) {
        SEXP el = Rf_allocVector(RAWSXP, (R_xlen_t) len);
        if (len) memcpy(RAW(el), p, (size_t) len);
        SET_VECTOR_ELT(out, at + i, el);
      } else {
        if (len > INT_MAX || memchr(p, 0, (size_t) len)) return bad(e, "a string contains a NUL byte");
        SET_STRING_ELT(out, at + i, Rf_mkCharLenCE(p, (int) len, CE_UTF8));
      }
    }
    return OK;
  }
  case K_STRUCT:
    for (int k = 0; k < nd->nkid; k++)
      if (fill(s, &nd->kids[k], arrs, levels, start, count, VECTOR_ELT(out, k), at, col) != OK) return BAD;
    return OK;
  default:
    return bad(e, "internal: unknown column kind");
  }
}

// --- the stream ------------------------------------------------------------------

static int add_batch(stream_t *s, const batch_t *b) {
  if (s->nbatch == s->cap) {
    int cap = s->cap ? 2 * s->cap : 4;
    batch_t *nb = (batch_t *) take(s, (size_t) cap, sizeof(batch_t));
    if (s->nbatch) memcpy(nb, s->batches, (size_t) s->nbatch * sizeof(batch_t));
    s->batches = nb;
    s->cap = cap;
  }
  s->batches[s->nbatch++] = *b;
  s->rows += b->n;
  if (s->rows > INT_MAX) return bad(&s->e, "the stream has more rows than a data frame can hold");
  return OK;
}

// A dictionary batch: checked and kept for its field's levels.
static int read_dictionary(stream_t *s, const table_t *db, span_t body) {
  err_t *e = &s->e;
  if (field_int(db, 2, 1, 0, e) != 0) return e->why ? BAD : bad(e, "delta dictionaries can't be read");
  int64_t id = field_int(db, 0, 8, 0, e);
  int j = 0;
  while (j < s->ndict && s->dicts[j].id != id) j++;
  if (j == s->ndict) return bad(e, "a dictionary batch has an unknown id");
  // Rows already read use the old levels; mangoro does not re-code them.
  if (s->nbatch > 0 && s->dicts[j].arr) return bad(e, "a dictionary replaced mid-stream can't be read");
  table_t rb;
  int st = field_table(db, 1, &rb, e);
  if (st != OK) return st == ABSENT ? bad(e, "a dictionary batch has no data") : BAD;
  batch_t lb;
  if (parse_batch(s, &rb, body, &s->dicts[j].value, 1, 1, 3, &lb) != OK) return BAD;
  s->dicts[j].arr = lb.arrs;
  return OK;
}

static int read_messages(stream_t *s, const unsigned char *p, uint64_t n) {
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
    if (st != OK) return st == ABSENT ? bad(e, "a message has no header") : BAD;
    uint64_t bstart = pos + hdr + mlen;
    if (blen < 0 || !inside((span_t) {p, n}, bstart, (uint64_t) blen))
      return bad(e, "a message body runs past the end of the stream");
    span_t body = {p + bstart, (uint64_t) blen};
    if (htype == H_SCHEMA) {
      if (have_schema) return bad(e, "the stream has two schemas");
      if (parse_schema(s, &head, mlen) != OK) return BAD;
      have_schema = 1;
    } else if (!have_schema) {
      return bad(e, "the stream does not start with a schema");
    } else if (htype == H_DICT) {
      if (read_dictionary(s, &head, body) != OK) return BAD;
    } else if (htype == H_BATCH) {
      batch_t b;
      if (parse_batch(s, &head, body, s->root.kids, s->root.nkid, s->nnode, s->nbuf, &b) != OK) return BAD;
      if (add_batch(s, &b) != OK) return BAD;
    } else {
      return bad(e, "a message has an unexpected header type");
    }
    pos = bstart + (uint64_t) blen;
  }
  if (!have_schema) return bad(e, "the stream has no schema");
  return OK;
}

// The levels of every dictionary (character(0) when none was sent) into `levels`.
static int build_levels(stream_t *s, SEXP levels) {
  for (int d = 0; d < s->ndict; d++) {
    const dict_t *dt = &s->dicts[d];
    int64_t n = dt->arr ? dt->arr[0].len : 0;
    SEXP lev = Rf_allocVector(STRSXP, (R_xlen_t) n);
    SET_VECTOR_ELT(levels, d, lev);
    if (n && fill(s, &dt->value, dt->arr, levels, 0, n, lev, 0, 0) != OK) return BAD;
    // Factor levels must be unique (a null level is NA, as with addNA()).
    if (Rf_any_duplicated(lev, FALSE)) return bad(&s->e, "a dictionary has duplicate values");
  }
  return OK;
}

// What replaces a top-level column of a one-batch stream (0: nothing, the
// column is copied). A utf8 column becomes a lazy ALTREP vector over the
// stream's own bytes (src/altrep_string.c): its CHARSXPs are made when used,
// each element's UTF-8 (and absence of NUL) checked then; check_node()
// checked the offsets. From a shared memory mapping, float64 and int32
// columns without nulls become views of the mapping (no copy; their buffers
// are aligned there, unlike in a reply raw vector, where the envelope header
// shifts them; a misaligned buffer is copied).
static double lazy_min_rows(void);

// Option mangoro.lazy_strings, read at the first string column only: the
// walk of R's options list is a cost a call without strings need not pay.
static double lazy_min(stream_t *s) {
  if (ISNAN(s->lazy_min)) s->lazy_min = lazy_min_rows();
  return s->lazy_min;
}

static int lazy_kind(stream_t *s, const node_t *nd, const arr_t *arrs, R_xlen_t rows) {
  if (rows == 0) return 0;
  const arr_t *a = &arrs[nd->idx];
  if (TYPEOF(s->holder) == EXTPTRSXP && a->b[0] == NULL) {
    uintptr_t at = (uintptr_t) a->b[1];
    if (nd->kind == K_FLOAT && nd->width == 8 && at % 8 == 0) return REALSXP;
    if (nd->kind == K_INT && nd->width == 4 && nd->sign && at % 4 == 0) return INTSXP;
  }
  if (nd->kind == K_STR && (double) rows >= lazy_min(s)) return STRSXP;
  return 0;
}

// The lazy vector or view lazy_kind() chose.
static SEXP lazy_column(const stream_t *s, const node_t *nd, const arr_t *arrs, R_xlen_t rows, int kind) {
  const arr_t *a = &arrs[nd->idx];
  const unsigned char *base = s->base;
  if (kind != STRSXP) return mangoro_altvec_view(s->holder, kind, (uint64_t) (a->b[1] - base), rows);
  int64_t valid = a->b[0] ? (int64_t) (a->b[0] - base) : -1;
  return mangoro_lazy_utf8(s->holder, (uint64_t) (a->b[1] - base), (uint64_t) (a->b[2] - base),
                           a->blen[2], valid, rows, nd->width == 8);
}

static SEXP build_frame(stream_t *s, SEXP levels) {
  const node_t *root = &s->root;
  R_xlen_t rows = (R_xlen_t) s->rows;
  int *rep = NULL;
  if (s->nbatch == 1) {
    rep = (int *) take(s, (size_t) root->nkid, sizeof(int));
    for (int j = 0; j < root->nkid; j++) rep[j] = lazy_kind(s, &root->kids[j], s->batches[0].arrs, rows);
  }
  s->replaced = rep;
  SEXP out = PROTECT(alloc_col(s, root, levels, rows));
  s->replaced = NULL;
  for (int j = 0; rep && j < root->nkid; j++) {
    if (rep[j]) SET_VECTOR_ELT(out, j, lazy_column(s, &root->kids[j], s->batches[0].arrs, rows, rep[j]));
  }
  R_xlen_t at = 0;
  for (int b = 0; b < s->nbatch; b++) {
    const batch_t *bt = &s->batches[b];
    for (int j = 0; j < root->nkid; j++) {
      if (rep && rep[j]) continue; // lazy or a view, made above
      if (fill(s, &root->kids[j], bt->arrs, levels, 0, bt->n, VECTOR_ELT(out, j), at, j) != OK) {
        UNPROTECT(1);
        return R_NilValue;
      }
    }
    at += bt->n;
  }
  int nlossy = 0;
  for (int j = 0; j < root->nkid; j++) nlossy += s->lossy[j];
  if (nlossy) {
    // The R side warns about these columns and drops the attribute.
    SEXP which = PROTECT(Rf_allocVector(INTSXP, nlossy));
    for (int j = 0, k = 0; j < root->nkid; j++) if (s->lossy[j]) INTEGER(which)[k++] = j + 1;
    Rf_setAttrib(out, Rf_install("mangoro_lossy_int64"), which);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return out;
}

// Option mangoro.lazy_strings: the fewest rows for which string columns come
// back lazy (default 1000: below that, making the strings at once is cheaper
// than the ALTREP machinery); FALSE or Inf: never.
static double lazy_min_rows(void) {
  static SEXP s_opt;
  SEXP o = Rf_GetOption1(mangoro_sym(&s_opt, "mangoro.lazy_strings"));
  if (o == R_NilValue) return 1000;
  if (TYPEOF(o) == LGLSXP && XLENGTH(o) == 1) return LOGICAL(o)[0] == TRUE ? 1 : R_PosInf;
  double v = Rf_asReal(o);
  return ISNAN(v) ? R_PosInf : (v < 1 ? 1 : v);
}

// The stream of `len` bytes at p, inside holder (a raw vector or a
// mapping): a data.frame, or a string saying why the input is malformed.
SEXP mangoro_ipc_read_in(SEXP holder, const unsigned char *p, uint64_t len, int as_integer64) {
  stream_t s;
  memset(&s, 0, sizeof s);
  _Alignas(16) unsigned char room[2048];
  s.room = (mangoro_scratch) {room, sizeof room, 0};
  size_t hlen;
  s.int64_ok = as_integer64;
  s.holder = holder;
  s.base = mangoro_holder_bytes(holder, &hlen);
  s.lazy_min = R_NaN; // asked at the first string column (lazy_min())
  // Null-type values have no buffers: allow 2^24 plus eight per byte.
  s.null_cap = ((uint64_t) 1 << 24) + 8 * len;
  int st = read_messages(&s, p, len);
  SEXP out = R_NilValue;
  if (st == OK) {
    s.lossy = (int *) take(&s, (size_t) s.root.nkid, sizeof(int));
    memset(s.lossy, 0, (s.root.nkid ? (size_t) s.root.nkid : 1) * sizeof(int));
    SEXP levels = PROTECT(Rf_allocVector(VECSXP, s.ndict));
    if (build_levels(&s, levels) == OK) out = build_frame(&s, levels);
    UNPROTECT(1);
  }
  if (s.e.why) return Rf_mkString(s.e.why);
  if (out == R_NilValue) return Rf_mkString("malformed Arrow IPC stream");
  return out;
}

// x: raw vector holding the stream from byte `offset` (0-based) to its end;
// int64: TRUE to read int64 as integer64 (else as double).
// Returns a data.frame, or a string saying why the input is malformed.
SEXP mangoro_c_ipc_read(SEXP x, SEXP offset, SEXP int64) {
  if (TYPEOF(x) != RAWSXP) Rf_error("the stream must be a raw vector");
  double off = Rf_asReal(offset);
  R_xlen_t n = XLENGTH(x);
  if (!(off >= 0) || off > (double) n) Rf_error("offset out of range");
  uint64_t len = (uint64_t) (n - (R_xlen_t) off);
  return mangoro_ipc_read_in(x, RAW(x) + (R_xlen_t) off, len, Rf_asLogical(int64) == TRUE);
}
