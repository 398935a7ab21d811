# Shared memory segments for same-host calls: the R face of src/shm.c and
# src/altrep_string.c. Internal for now; the message layer (R/message.R) will
# use these to send large payloads as a handle instead of bytes. The design is
# in the wire spec (shared memory section).

# Does this platform have the shared memory path? (Linux only for now.)
shm_supported <- function() .Call(mangoro_c_shm_status)[[2L]] == 1L

# Mappings held by R objects right now (their finalizers unmap them).
shm_live_mappings <- function() .Call(mangoro_c_shm_status)[[1L]]

# A new segment for `size` payload bytes, mapped for writing. Attributes:
# `name` (its shm name) and `handle` (the raw bytes the message carries).
shm_create <- function(size) .Call(mangoro_c_shm_create, size)

# Copies a double, integer, logical or raw vector into a segment's payload at
# byte `offset`.
shm_write <- function(segment, offset, x) invisible(.Call(mangoro_c_shm_write, segment, offset, x))

# Maps the segment a peer's handle names, after verifying it; the name is
# unlinked. A mangoro_shm_refused_error says why a handle was refused.
shm_open <- function(handle, max_size = 2^46) {
  res <- .Call(mangoro_c_shm_open, handle, max_size)
  if (is.character(res)) {
    mangoro_abort(paste0("Refused a shared memory segment from the peer: ", res, "."),
                  class = c("mangoro_shm_refused_error", "mangoro_protocol_error"), reason = res)
  }
  res
}

# An R vector (ALTREP, no copy) of `n` elements of `type` at payload byte
# `offset` of a mapping, or byte `offset` of a raw vector. The vector keeps
# its mapping alive.
shm_view <- function(holder, type = c("double", "integer", "logical"), offset, n) {
  .Call(mangoro_c_shm_view, holder, match.arg(type), offset, n)
}

# A lazy character vector over Arrow utf8 buffers inside `holder` (raw vector
# or mapping): byte offsets of the offsets (n + 1 int32, int64 if `large`),
# the data (`data_len` bytes) and the validity bitmap (NULL for none).
lazy_utf8 <- function(holder, offsets, data, data_len, n, validity = NULL, large = FALSE) {
  .Call(mangoro_c_lazy_utf8, holder, offsets, data, data_len, validity, n, large)
}

# Removes a segment's name; TRUE also when it was already gone.
shm_unlink <- function(name) .Call(mangoro_c_shm_unlink, name)

# Removes this user's segments left by a process that is gone: those of `pid`
# (a peer known to have exited), or with pid = 0 of every creator that no
# longer runs. Returns how many were removed.
shm_sweep <- function(pid = 0L) .Call(mangoro_c_shm_sweep, as.integer(pid))
