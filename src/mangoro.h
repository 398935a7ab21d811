// What the C files share: the entry points registered in init.c, and the
// envelope header writer that the Arrow writer uses to put the header and the
// stream into one allocation. The wire format is specified in inst/WIRE.md:
// envelope.c implements its envelope, ipc_write.c and ipc_read.c its Arrow
// IPC payload.
//
// Errors: no entry point raises an R error for bad input. Each returns its
// result, or a character scalar saying what was wrong (an "error string");
// R/message.R turns that into the classed condition (R/conditions.R).

#ifndef MANGORO_H
#define MANGORO_H

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stddef.h>

#define ENV_HEADER 9 /* type byte + two length words */

// A symbol, installed the first time only (Rf_install hashes its name each
// time; symbols are never collected). slot: a static SEXP, NULL at first.
static inline SEXP mangoro_sym(SEXP *slot, const char *name) {
  if (*slot == NULL) *slot = Rf_install(name);
  return *slot;
}

// Scratch for a native call's tables: the caller's buffer `p` (cap bytes,
// usually on its stack) while it lasts, then R_alloc, which R frees when
// the .Call returns. A small call's tables then cost no R allocation. Not
// zeroed; 16-byte aligned within p.
typedef struct {
  unsigned char *p;
  size_t cap, used;
} mangoro_scratch;

static inline void *mangoro_take(mangoro_scratch *s, size_t n, size_t size) {
  if (n == 0) n = 1;
  size_t at = (s->used + 15) & ~(size_t) 15;
  if (s->p && at <= s->cap && n <= (s->cap - at) / size) {
    s->used = at + n * size;
    return s->p + at;
  }
  return R_alloc(n, size);
}

// The UTF-8 bytes of a string argument; NULL/NA/"" all mean "empty".
const char *mangoro_utf8_or_empty(SEXP x, size_t *len);
// Writes the 9 + nlen + elen header bytes at p.
void mangoro_envelope_header_put(unsigned char *p, int type, const char *name, size_t nlen,
                                 const char *error, size_t elen);

SEXP mangoro_c_envelope_pack(SEXP type, SEXP name, SEXP error, SEXP payload);
SEXP mangoro_c_envelope_parse(SEXP x, SEXP copy);
SEXP mangoro_c_message_decode(SEXP x, SEXP int64, SEXP frame);
SEXP mangoro_c_message_encode(SEXP type, SEXP name, SEXP cols, SEXP nrow);
SEXP mangoro_c_ipc_write(SEXP prefix, SEXP cols, SEXP nrow);
SEXP mangoro_c_arrow_kind(SEXP x);
// Defined in ipc_read.c: a data.frame or an
// error string.
SEXP mangoro_c_ipc_read(SEXP x, SEXP offset, SEXP int64);

#endif
