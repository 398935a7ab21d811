// Shared memory segments for same-host calls (see /work/notes/SHM.md, later
// the wire spec): the C API the message layer uses, and the .Call entries.
#ifndef MANGORO_SHM_H
#define MANGORO_SHM_H

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdint.h>
#include <stddef.h>

// Segment header: 64 bytes, little-endian, then the payload.
#define MANGORO_SHM_HEADER 64
#define MANGORO_SHM_VERSION 1
// Handle: 16 fixed bytes then the name.
#define MANGORO_SHM_HANDLE_FIXED 16
#define MANGORO_SHM_NAME_MAX 48
#define MANGORO_SHM_HANDLE_MAX (MANGORO_SHM_HANDLE_FIXED + MANGORO_SHM_NAME_MAX)

typedef struct {
  char name[MANGORO_SHM_NAME_MAX + 1]; // "/mangoro-<pid>-<16 hex>"
  unsigned char *addr;                 // start of the mapping (the header)
  size_t size;                         // mapping bytes = header + payload
  uint64_t payload_len;
} mangoro_shm_seg;

// Creates, sizes and maps (shared, read-write) a new segment for `payload_len`
// bytes and writes its header. The name stays linked until the peer (or
// mangoro_shm_unlink) removes it. Returns 0, or -1 with *why set.
int mangoro_shm_create(uint64_t payload_len, mangoro_shm_seg *seg, const char **why);

// Decodes a handle, opens the segment it names, verifies it (naming scheme,
// owner, mode 0600, size == header + length <= max_payload, header fields),
// maps it privately (copy-on-write: R may write into its vectors without the
// peer seeing it) and unlinks the name. Returns 0, or -1 with *why set.
int mangoro_shm_open(const unsigned char *handle, size_t len, uint64_t max_payload,
                     mangoro_shm_seg *seg, const char **why);

// Writes the handle of `seg` into out (MANGORO_SHM_HANDLE_MAX bytes);
// returns its length.
size_t mangoro_shm_handle(const mangoro_shm_seg *seg, unsigned char *out);

// Removes a segment's name (ENOENT is success: the peer got there first).
int mangoro_shm_unlink(const char *name);

void mangoro_shm_unmap(mangoro_shm_seg *seg);

// An external pointer that owns the mapping of `seg` (munmap in its
// finalizer, which also runs at exit). The struct is copied.
SEXP mangoro_shm_mapping(const mangoro_shm_seg *seg);

// Base address and length of a mapping external pointer, or NULL/0 when it
// is not one (or was released).
unsigned char *mangoro_shm_mapping_addr(SEXP mapping, size_t *len);

// An ALTREP vector of `n` elements of `type` (REALSXP, INTSXP, LGLSXP) whose
// data lie at `offset` bytes into a holder: a mapping external pointer or a
// raw vector. The bytes must stay valid and unchanged while the holder lives;
// the vector keeps the holder alive. Errors (R error) when out of bounds or
// misaligned.
SEXP mangoro_altvec_view(SEXP holder, int type, uint64_t offset, R_xlen_t n);

// Base and length of a holder (raw vector or mapping); NULL when neither.
const unsigned char *mangoro_holder_bytes(SEXP holder, size_t *len);

// A lazy character vector over an Arrow utf8 (int32 offsets) or large_utf8
// (`large`) array whose buffers lie at byte offsets of `holder` (raw vector
// or mapping; offsets from the start of the mapping); validity < 0: no
// bitmap. Checks the offsets (R error when bad). See altrep_string.c.
SEXP mangoro_lazy_utf8(SEXP holder, uint64_t offsets, uint64_t data, uint64_t data_len,
                       int64_t validity, R_xlen_t n, int large);

// ipc_read.c: the Arrow stream of `len` bytes at p inside holder (a raw
// vector or a mapping): a data.frame (lazy strings, and for a mapping views
// of null-free float64/int32 columns) or a reason string. as_integer64:
// int64 columns as bit64::integer64 (1) or double (0); -1: R says, at the
// first int64 column.
SEXP mangoro_ipc_read_in(SEXP holder, const unsigned char *p, uint64_t len, int as_integer64);

void mangoro_init_altrep_shm(DllInfo *dll);
void mangoro_init_altrep_string(DllInfo *dll);

#endif
