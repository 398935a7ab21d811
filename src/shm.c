// Shared memory segments for same-host calls, and ALTREP vectors over them.
//
// Why: over the socket path every byte of a bulk call is copied at each hop
// (R vector -> message -> socket -> Go buffer, and back). Here the sender
// writes its Arrow IPC bytes once into a POSIX shared memory segment, the
// message carries only a handle (name + length), and the receiver maps the
// segment; R's result columns are ALTREP vectors whose data pointer points
// into the mapping. The design (naming, header, handle, the unlink handshake,
// cleanup after crashes) is in /work/notes/SHM.md, later the wire spec.
//
// Untrusted input: a handle comes from the peer. It is decoded strictly and the
// segment it names is refused unless it follows the naming scheme, belongs to
// this user, has mode 0600, and its size and header match the handle.
//
// Linux only for now; elsewhere every entry point fails cleanly and the
// message layer keeps the socket path (see SHM.md for macOS/Windows).

#include "shm.h"
#include <string.h>
#include <errno.h>
#include <R_ext/Altrep.h>

static const unsigned char handle_magic[4] = {'M', 'G', 'S', 'H'};

static void put_le(unsigned char *p, uint64_t v, int w) {
  for (int i = 0; i < w; i++) { p[i] = (unsigned char) (v & 0xff); v >>= 8; }
}

size_t mangoro_shm_handle(const mangoro_shm_seg *seg, unsigned char *out) {
  size_t nl = strlen(seg->name);
  memcpy(out, handle_magic, 4);
  out[4] = MANGORO_SHM_VERSION;
  out[5] = (unsigned char) nl;
  out[6] = out[7] = 0;
  put_le(out + 8, seg->payload_len, 8);
  memcpy(out + MANGORO_SHM_HANDLE_FIXED, seg->name, nl);
  return MANGORO_SHM_HANDLE_FIXED + nl;
}

#if defined(__linux__)

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <dirent.h>
#include <sys/random.h>
#include <stdio.h>

static const unsigned char seg_magic[8] = {'M', 'A', 'N', 'G', 'O', 'S', 'H', 'M'};

// POSIX shared memory objects live in /dev/shm on Linux; opening the file
// directly is what glibc's shm_open does, needs no -lrt on older glibc, and
// is what the Go side does too.
static int shm_path(const char *name, char *out, size_t n) {
  return snprintf(out, n, "/dev/shm%s", name) < (int) n ? 0 : -1;
}

static int seg_open(const char *name, int flags, mode_t mode) {
  char path[MANGORO_SHM_NAME_MAX + 16];
  if (shm_path(name, path, sizeof(path)) != 0) { errno = ENAMETOOLONG; return -1; }
  return open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

static int seg_unlink(const char *name) {
  char path[MANGORO_SHM_NAME_MAX + 16];
  if (shm_path(name, path, sizeof(path)) != 0) { errno = ENAMETOOLONG; return -1; }
  return unlink(path);
}

static uint64_t get_le(const unsigned char *p, int w) {
  uint64_t v = 0;
  for (int i = w - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// Is `name` "/mangoro-<pid>-<16 lowercase hex>" with a pid of 1..10 digits
// (no leading zero)? On success *pid and the 8 token bytes are filled in.
static int parse_name(const char *name, size_t len, uint64_t *pid, unsigned char *token) {
  static const char prefix[] = "/mangoro-";
  size_t np = sizeof(prefix) - 1;
  if (len < np + 1 + 1 + 16 || memcmp(name, prefix, np) != 0) return 0;
  size_t i = np, start = i;
  uint64_t v = 0;
  while (i < len && name[i] >= '0' && name[i] <= '9') { v = v * 10 + (uint64_t) (name[i] - '0'); i++; }
  size_t digits = i - start;
  if (digits < 1 || digits > 10 || name[start] == '0' || v > 0xffffffffu) return 0;
  if (i >= len || name[i] != '-' || len - i - 1 != 16) return 0;
  i++;
  for (int k = 0; k < 8; k++) {
    unsigned int b = 0;
    for (int h = 0; h < 2; h++) {
      char c = name[i++];
      unsigned int d;
      if (c >= '0' && c <= '9') d = (unsigned int) (c - '0');
      else if (c >= 'a' && c <= 'f') d = (unsigned int) (c - 'a' + 10);
      else return 0;
      b = (b << 4) | d;
    }
    if (token) token[k] = (unsigned char) b;
  }
  if (pid) *pid = v;
  return 1;
}

int mangoro_shm_create(uint64_t payload_len, mangoro_shm_seg *seg, const char **why) {
  memset(seg, 0, sizeof(*seg));
  if (payload_len > (uint64_t) 1 << 46) { *why = "the payload is too large for a segment"; return -1; }
  unsigned char token[8];
  size_t size = MANGORO_SHM_HEADER + (size_t) payload_len;
  int fd = -1;
  for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
    if (getentropy(token, sizeof(token)) != 0) { *why = "no randomness for a segment name"; return -1; }
    snprintf(seg->name, sizeof(seg->name), "/mangoro-%ld-%02x%02x%02x%02x%02x%02x%02x%02x",
             (long) getpid(), token[0], token[1], token[2], token[3], token[4], token[5],
             token[6], token[7]);
    fd = seg_open(seg->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno != EEXIST) { *why = strerror(errno); return -1; }
  }
  if (fd < 0) { *why = "could not find a free segment name"; return -1; }
  // The umask may have removed bits; the mode must be exactly 0600.
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t) size) != 0) {
    *why = strerror(errno);
    close(fd);
    seg_unlink(seg->name);
    return -1;
  }
  // MAP_POPULATE: fault every page in one go (the writer touches all of them).
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) { *why = strerror(errno); seg_unlink(seg->name); return -1; }
  unsigned char *h = p;
  memset(h, 0, MANGORO_SHM_HEADER);
  memcpy(h, seg_magic, 8);
  put_le(h + 8, MANGORO_SHM_VERSION, 4);
  put_le(h + 12, MANGORO_SHM_HEADER, 4);
  put_le(h + 16, payload_len, 8);
  put_le(h + 24, size, 8);
  put_le(h + 32, (uint64_t) getpid(), 4);
  memcpy(h + 40, token, 8);
  seg->addr = h;
  seg->size = size;
  seg->payload_len = payload_len;
  return 0;
}

int mangoro_shm_open(const unsigned char *handle, size_t len, uint64_t max_payload,
                     mangoro_shm_seg *seg, const char **why) {
  memset(seg, 0, sizeof(*seg));
  if (len < MANGORO_SHM_HANDLE_FIXED || memcmp(handle, handle_magic, 4) != 0) {
    *why = "not a shared memory handle"; return -1;
  }
  if (handle[4] != MANGORO_SHM_VERSION) { *why = "unsupported shared memory handle version"; return -1; }
  size_t nl = handle[5];
  if (handle[6] != 0 || handle[7] != 0 || nl > MANGORO_SHM_NAME_MAX ||
      len != MANGORO_SHM_HANDLE_FIXED + nl) {
    *why = "malformed shared memory handle"; return -1;
  }
  uint64_t plen = get_le(handle + 8, 8);
  memcpy(seg->name, handle + MANGORO_SHM_HANDLE_FIXED, nl);
  seg->name[nl] = '\0';
  unsigned char token[8];
  if (!parse_name(seg->name, nl, NULL, token)) { *why = "the segment name is not a mangoro segment name"; return -1; }
  if (plen > max_payload || plen > ((uint64_t) 1 << 46)) { *why = "the segment is larger than allowed"; return -1; }
  size_t size = MANGORO_SHM_HEADER + (size_t) plen;
  int fd = seg_open(seg->name, O_RDONLY, 0);
  if (fd < 0) { *why = errno == ENOENT ? "the segment does not exist (expired or already taken)" : strerror(errno); return -1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { *why = strerror(errno); close(fd); return -1; }
  if (!S_ISREG(st.st_mode)) { *why = "the segment is not a regular shared memory object"; close(fd); return -1; }
  if (st.st_uid != getuid()) { *why = "the segment belongs to another user"; close(fd); return -1; }
  if ((st.st_mode & 07777) != 0600) { *why = "the segment's mode is not 0600"; close(fd); return -1; }
  if ((uint64_t) st.st_size != (uint64_t) size) { *why = "the segment's size does not match its handle"; close(fd); return -1; }
  // Private mapping: pages are shared until R writes to one (copy-on-write).
  // Not MAP_POPULATE: on a writable private mapping it would copy every page,
  // and lazy read faults (with the kernel's fault-around) measured cheaper
  // than populating read-only, besides costing only what is read.
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) { *why = strerror(errno); return -1; }
  const unsigned char *h = p;
  if (memcmp(h, seg_magic, 8) != 0 || get_le(h + 8, 4) != MANGORO_SHM_VERSION ||
      get_le(h + 12, 4) != MANGORO_SHM_HEADER || get_le(h + 16, 8) != plen ||
      get_le(h + 24, 8) != size || memcmp(h + 40, token, 8) != 0) {
    munmap(p, size);
    *why = "the segment's header does not match its handle";
    return -1;
  }
  // Both sides have it now: the name has done its job.
  seg_unlink(seg->name);
  seg->addr = p;
  seg->size = size;
  seg->payload_len = plen;
  return 0;
}

int mangoro_shm_unlink(const char *name) {
  if (seg_unlink(name) == 0 || errno == ENOENT) return 0;
  return -1;
}

void mangoro_shm_unmap(mangoro_shm_seg *seg) {
  if (seg->addr) munmap(seg->addr, seg->size);
  seg->addr = NULL;
}

// Removes this user's segments whose creator process is gone (after a crash
// between creating a segment and the peer taking it). `only_pid` > 0
// restricts the sweep to that creator (and then removes them even when the
// pid is alive: the caller knows the peer is gone). Returns the count removed.
static int sweep(long only_pid) {
  DIR *d = opendir("/dev/shm");
  if (!d) return 0;
  int removed = 0;
  struct dirent *e;
  char path[MANGORO_SHM_NAME_MAX + 2];
  while ((e = readdir(d)) != NULL) {
    size_t nl = strlen(e->d_name);
    if (nl + 1 > MANGORO_SHM_NAME_MAX) continue;
    path[0] = '/';
    memcpy(path + 1, e->d_name, nl + 1);
    uint64_t pid;
    if (!parse_name(path, nl + 1, &pid, NULL)) continue;
    if (only_pid > 0 && (long) pid != only_pid) continue;
    if (only_pid <= 0 && (pid == (uint64_t) getpid() || kill((pid_t) pid, 0) == 0 || errno != ESRCH)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != getuid()) continue;
    if (seg_unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

static int shm_supported = 1;
static long getpid_or_0(void) { return (long) getpid(); }

#else // not Linux: the socket path only

int mangoro_shm_create(uint64_t payload_len, mangoro_shm_seg *seg, const char **why) {
  (void) payload_len; memset(seg, 0, sizeof(*seg));
  *why = "shared memory is not supported on this platform"; return -1;
}
int mangoro_shm_open(const unsigned char *handle, size_t len, uint64_t max_payload,
                     mangoro_shm_seg *seg, const char **why) {
  (void) handle; (void) len; (void) max_payload; memset(seg, 0, sizeof(*seg));
  *why = "shared memory is not supported on this platform"; return -1;
}
int mangoro_shm_unlink(const char *name) { (void) name; return 0; }
void mangoro_shm_unmap(mangoro_shm_seg *seg) { seg->addr = NULL; }
static int sweep(long only_pid) { (void) only_pid; return 0; }
static int shm_supported = 0;
static long getpid_or_0(void) { return 0; }

#endif

// --- mappings as R external pointers ------------------------------------------

static SEXP mapping_tag = NULL;
static int live_mappings = 0;

static void mapping_finalize(SEXP x) {
  mangoro_shm_seg *seg = R_ExternalPtrAddr(x);
  if (!seg) return;
  mangoro_shm_unmap(seg);
  free(seg);
  live_mappings--;
  R_ClearExternalPtr(x);
}

SEXP mangoro_shm_mapping(const mangoro_shm_seg *src) {
  if (!mapping_tag) mapping_tag = Rf_install("mangoro_shm_mapping");
  mangoro_shm_seg *seg = malloc(sizeof(*seg));
  if (!seg) {
    mangoro_shm_seg tmp = *src;
    mangoro_shm_unmap(&tmp);
    Rf_error("out of memory");
  }
  *seg = *src;
  live_mappings++;
  SEXP x = PROTECT(R_MakeExternalPtr(seg, mapping_tag, R_NilValue));
  R_RegisterCFinalizerEx(x, mapping_finalize, TRUE);
  UNPROTECT(1);
  return x;
}

static mangoro_shm_seg *mapping_seg(SEXP x) {
  if (TYPEOF(x) != EXTPTRSXP || R_ExternalPtrTag(x) != mapping_tag || mapping_tag == NULL) return NULL;
  return R_ExternalPtrAddr(x);
}

unsigned char *mangoro_shm_mapping_addr(SEXP x, size_t *len) {
  mangoro_shm_seg *seg = mapping_seg(x);
  if (!seg || !seg->addr) { *len = 0; return NULL; }
  *len = seg->size;
  return seg->addr;
}

const unsigned char *mangoro_holder_bytes(SEXP holder, size_t *len) {
  if (TYPEOF(holder) == RAWSXP) { *len = (size_t) XLENGTH(holder); return RAW(holder); }
  return mangoro_shm_mapping_addr(holder, len);
}

// --- ALTREP numeric vectors over a holder -------------------------------------
//
// data1: the holder (mapping external pointer, raw vector, or after a
// materialization an ordinary vector of the same type); data2: c(offset, n).

static R_altrep_class_t view_real, view_int, view_lgl;

static size_t elt_size(int type) { return type == REALSXP ? sizeof(double) : sizeof(int); }

static void *view_ptr(SEXP x) {
  SEXP holder = R_altrep_data1(x);
  if (TYPEOF(holder) == TYPEOF(x)) return DATAPTR(holder);
  size_t len;
  unsigned char *base = (unsigned char *) mangoro_holder_bytes(holder, &len);
  if (!base) Rf_error("mangoro: the memory behind this vector was released");
  return base + (size_t) REAL(R_altrep_data2(x))[0];
}

static R_xlen_t view_length(SEXP x) { return (R_xlen_t) REAL(R_altrep_data2(x))[1]; }

// A plain copy of the view.
static SEXP view_copy(SEXP x) {
  R_xlen_t n = view_length(x);
  SEXP out = PROTECT(Rf_allocVector(TYPEOF(x), n));
  if (n) memcpy(DATAPTR(out), view_ptr(x), (size_t) n * elt_size(TYPEOF(x)));
  UNPROTECT(1);
  return out;
}

static void *view_dataptr(SEXP x, Rboolean writeable) {
  // A raw-vector holder may be shared by other views: writes get a copy.
  // A mapping is private to this process (MAP_PRIVATE) and each view owns
  // its region, so R may write into it.
  if (writeable && TYPEOF(R_altrep_data1(x)) == RAWSXP) {
    R_set_altrep_data1(x, view_copy(x));
    REAL(R_altrep_data2(x))[0] = 0;
  }
  return view_ptr(x);
}

static const void *view_dataptr_or_null(SEXP x) { return view_ptr(x); }

static SEXP view_duplicate(SEXP x, Rboolean deep) { (void) deep; return view_copy(x); }

static double view_real_elt(SEXP x, R_xlen_t i) { return ((double *) view_ptr(x))[i]; }
static int view_int_elt(SEXP x, R_xlen_t i) { return ((int *) view_ptr(x))[i]; }

static R_xlen_t view_region(SEXP x, R_xlen_t i, R_xlen_t n, void *buf, size_t w) {
  R_xlen_t len = view_length(x);
  R_xlen_t k = i >= len ? 0 : (len - i < n ? len - i : n);
  if (k > 0) memcpy(buf, (unsigned char *) view_ptr(x) + (size_t) i * w, (size_t) k * w);
  return k;
}
static R_xlen_t view_real_region(SEXP x, R_xlen_t i, R_xlen_t n, double *buf) {
  return view_region(x, i, n, buf, sizeof(double));
}
static R_xlen_t view_int_region(SEXP x, R_xlen_t i, R_xlen_t n, int *buf) {
  return view_region(x, i, n, buf, sizeof(int));
}

static Rboolean view_inspect(SEXP x, int pre, int deep, int pvec,
                             void (*inspect_subtree)(SEXP, int, int, int)) {
  (void) pre; (void) deep; (void) pvec; (void) inspect_subtree;
  SEXP holder = R_altrep_data1(x);
  Rprintf(" mangoro view of %.0f elements (%s)\n", (double) view_length(x),
          TYPEOF(holder) == EXTPTRSXP ? "shared memory" :
          TYPEOF(holder) == RAWSXP ? "raw vector" : "materialized");
  return TRUE;
}

static void view_methods(R_altrep_class_t cls) {
  R_set_altrep_Length_method(cls, view_length);
  R_set_altrep_Duplicate_method(cls, view_duplicate);
  R_set_altrep_Inspect_method(cls, view_inspect);
  R_set_altvec_Dataptr_method(cls, view_dataptr);
  R_set_altvec_Dataptr_or_null_method(cls, view_dataptr_or_null);
}

// At exit, R removes the names of the segments it made that no peer took
// (a call abandoned by an exiting session). Not on kill -9: see SHM.md.
static void sweep_own(SEXP x) { (void) x; sweep((long) getpid_or_0()); }

void mangoro_init_altrep_shm(DllInfo *dll) {
  SEXP sentinel = R_MakeExternalPtr(NULL, R_NilValue, R_NilValue);
  R_PreserveObject(sentinel);
  R_RegisterCFinalizerEx(sentinel, sweep_own, TRUE);
  view_real = R_make_altreal_class("mangoro_view_real", "mangoro", dll);
  view_methods(view_real);
  R_set_altreal_Elt_method(view_real, view_real_elt);
  R_set_altreal_Get_region_method(view_real, view_real_region);
  view_int = R_make_altinteger_class("mangoro_view_int", "mangoro", dll);
  view_methods(view_int);
  R_set_altinteger_Elt_method(view_int, view_int_elt);
  R_set_altinteger_Get_region_method(view_int, view_int_region);
  view_lgl = R_make_altlogical_class("mangoro_view_lgl", "mangoro", dll);
  view_methods(view_lgl);
  R_set_altlogical_Elt_method(view_lgl, view_int_elt);
  R_set_altlogical_Get_region_method(view_lgl, view_int_region);
}

SEXP mangoro_altvec_view(SEXP holder, int type, uint64_t offset, R_xlen_t n) {
  size_t len;
  const unsigned char *base = mangoro_holder_bytes(holder, &len);
  if (!base) Rf_error("mangoro: a vector view needs a raw vector or a live mapping");
  size_t w = elt_size(type);
  if (n < 0 || offset > len || (uint64_t) n > (len - offset) / w) Rf_error("mangoro: a vector view is out of bounds");
  if (((uintptr_t) (base + offset)) % w != 0) Rf_error("mangoro: a vector view is misaligned");
  R_altrep_class_t cls = type == REALSXP ? view_real : type == INTSXP ? view_int : view_lgl;
  SEXP meta = PROTECT(Rf_allocVector(REALSXP, 2));
  REAL(meta)[0] = (double) offset;
  REAL(meta)[1] = (double) n;
  SEXP out = R_new_altrep(cls, holder, meta);
  UNPROTECT(1);
  return out;
}

// --- .Call entries (tests, benchmarks; the message layer uses the C API) -----

static double num1(SEXP x, const char *what) {
  if (!Rf_isNumeric(x) || XLENGTH(x) != 1) Rf_error("mangoro: %s must be one number", what);
  double v = Rf_asReal(x);
  if (!(v >= 0) || v > 9007199254740992.0) Rf_error("mangoro: %s must be a non-negative number", what);
  return v;
}

// A fresh segment for `size` payload bytes: the writer's mapping (shared),
// with attributes name and handle.
SEXP mangoro_c_shm_create(SEXP size) {
  mangoro_shm_seg seg;
  const char *why = NULL;
  if (mangoro_shm_create((uint64_t) num1(size, "size"), &seg, &why) != 0) Rf_error("mangoro: %s", why);
  SEXP x = PROTECT(mangoro_shm_mapping(&seg));
  unsigned char h[MANGORO_SHM_HANDLE_MAX];
  size_t hl = mangoro_shm_handle(&seg, h);
  SEXP handle = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) hl));
  memcpy(RAW(handle), h, hl);
  Rf_setAttrib(x, Rf_install("handle"), handle);
  Rf_setAttrib(x, Rf_install("name"), Rf_mkString(seg.name));
  UNPROTECT(2);
  return x;
}

// Copies a double, integer, logical or raw vector into a mapping's payload at
// byte `offset`.
SEXP mangoro_c_shm_write(SEXP mapping, SEXP offset, SEXP x) {
  mangoro_shm_seg *seg = mapping_seg(mapping);
  if (!seg || !seg->addr) Rf_error("mangoro: not a live shared memory mapping");
  size_t w;
  switch (TYPEOF(x)) {
  case REALSXP: w = sizeof(double); break;
  case INTSXP: case LGLSXP: w = sizeof(int); break;
  case RAWSXP: w = 1; break;
  default: Rf_error("mangoro: can write only double, integer, logical or raw vectors");
  }
  uint64_t off = (uint64_t) num1(offset, "offset"), bytes = (uint64_t) XLENGTH(x) * w;
  if (off > seg->payload_len || bytes > seg->payload_len - off) Rf_error("mangoro: the write does not fit the segment");
  if (bytes) memcpy(seg->addr + MANGORO_SHM_HEADER + off, DATAPTR_RO(x), (size_t) bytes);
  return R_NilValue;
}

// Maps the segment a handle names (verified, then unlinked): a mapping with
// attribute name; an R error of class mangoro_shm_refused_error otherwise.
SEXP mangoro_c_shm_open(SEXP handle, SEXP max_payload) {
  if (TYPEOF(handle) != RAWSXP) Rf_error("mangoro: a handle is a raw vector");
  mangoro_shm_seg seg;
  const char *why = NULL;
  if (mangoro_shm_open(RAW(handle), (size_t) XLENGTH(handle), (uint64_t) num1(max_payload, "max_payload"),
                       &seg, &why) != 0) {
    return Rf_mkString(why);
  }
  SEXP x = PROTECT(mangoro_shm_mapping(&seg));
  Rf_setAttrib(x, Rf_install("name"), Rf_mkString(seg.name));
  UNPROTECT(1);
  return x;
}

// An ALTREP view of `n` elements of `type` ("double", "integer", "logical")
// at payload byte `offset` of a mapping (or byte `offset` of a raw vector).
SEXP mangoro_c_shm_view(SEXP holder, SEXP type, SEXP offset, SEXP n) {
  const char *t = CHAR(STRING_ELT(type, 0));
  int ty = strcmp(t, "double") == 0 ? REALSXP : strcmp(t, "integer") == 0 ? INTSXP :
           strcmp(t, "logical") == 0 ? LGLSXP : 0;
  if (!ty) Rf_error("mangoro: type must be \"double\", \"integer\" or \"logical\"");
  uint64_t off = (uint64_t) num1(offset, "offset");
  if (TYPEOF(holder) == EXTPTRSXP) off += MANGORO_SHM_HEADER;
  return mangoro_altvec_view(holder, ty, off, (R_xlen_t) num1(n, "n"));
}

SEXP mangoro_c_shm_unlink(SEXP name) {
  if (!Rf_isString(name) || XLENGTH(name) != 1) Rf_error("mangoro: name must be a string");
  return Rf_ScalarLogical(mangoro_shm_unlink(CHAR(STRING_ELT(name, 0))) == 0);
}

SEXP mangoro_c_shm_sweep(SEXP pid) {
  return Rf_ScalarInteger(sweep((long) Rf_asInteger(pid)));
}

// Live mappings held by R objects (tests check the finalizers), and whether
// this platform has the shared memory path at all.
SEXP mangoro_c_shm_status(void) {
  SEXP out = PROTECT(Rf_allocVector(INTSXP, 2));
  INTEGER(out)[0] = live_mappings;
  INTEGER(out)[1] = shm_supported;
  UNPROTECT(1);
  return out;
}

// The payload of a call on the shared memory path (message type 6, see
// inst/WIRE.md): offset u64, length u64, reply minimum u64 (little-endian;
// results of at least that many stream bytes come back in shared memory, 0:
// never), then the arena's handle. `arena` is a mapping from
// mangoro_c_shm_create.
SEXP mangoro_c_shm_call_payload(SEXP arena, SEXP offset, SEXP length, SEXP reply_min) {
  mangoro_shm_seg *seg = mapping_seg(arena);
  if (!seg || !seg->addr) Rf_error("mangoro: not a live shared memory mapping");
  uint64_t off = (uint64_t) num1(offset, "offset"), len = (uint64_t) num1(length, "length");
  double rm = Rf_asReal(reply_min);
  uint64_t rmin = !(rm >= 1) ? 0 : rm >= 9007199254740992.0 ? 0 : (uint64_t) rm;
  if (off > seg->payload_len || len > seg->payload_len - off) Rf_error("mangoro: the call does not fit the arena");
  unsigned char h[MANGORO_SHM_HANDLE_MAX];
  size_t hl = mangoro_shm_handle(seg, h);
  SEXP out = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) (24 + hl)));
  unsigned char *p = RAW(out);
  for (int i = 0; i < 8; i++) {
    p[i] = (unsigned char) (off >> (8 * i));
    p[8 + i] = (unsigned char) (len >> (8 * i));
    p[16 + i] = (unsigned char) (rmin >> (8 * i));
  }
  memcpy(p + 24, h, hl);
  UNPROTECT(1);
  return out;
}
