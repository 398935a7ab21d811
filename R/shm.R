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
  if (is.character(res)) stop(shm_refused_error(res))
  res
}

# The condition for a segment from the peer that R refused (`why`: the reason).
shm_refused_error <- function(why) {
  mangoro_condition(paste0("Refused a shared memory segment from the peer: ", why, "."),
                    class = c("mangoro_shm_refused_error", "mangoro_protocol_error"), reason = why)
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

# --- the shared memory call path (inst/WIRE.md, "Shared memory") -------------
#
# A target that can use it (the server's info lists "shm", the URL is ipc://,
# this platform has segments) carries an environment `shm`: its warm arena, a
# segment R reuses for every large synchronous call, so its pages are faulted
# in once. R writes the Arrow stream straight into the arena
# (src/ipc_write.c) and sends a type 6 message with its handle; the server
# maps the bytes in place. The arena's name lives only until the server first
# opens it (it unlinks it); R unlinks it too when that call ends, however it
# ends. A call that does not end with a reply (timeout, interrupt, lost
# server) drops the arena, since the server may still be reading it: the next
# call makes a new one.

# The shm state of a new target, or NULL when it cannot use the path.
shm_target_state <- function(info, url) {
  if (!is.character(url) || !startsWith(url, "ipc://") || !"shm" %in% unlist(info$features) ||
      !shm_supported()) {
    return(NULL)
  }
  st <- new.env(parent = emptyenv())
  st$ok <- TRUE        # FALSE once the server refused a fresh arena
  st$arena <- NULL     # the mapping, attributes name and handle
  st$accepted <- FALSE # the server has read the current arena
  st
}

# Option mangoro.shm_threshold: the smallest Arrow stream, in bytes, sent
# through shared memory (bench/floors.R measures where it pays). Inf: never.
shm_threshold <- function() {
  thr <- getOption("mangoro.shm_threshold", 262144)
  if (!is.numeric(thr) || length(thr) != 1L || is.na(thr) || thr < 0) {
    mangoro_abort(c("Option `mangoro.shm_threshold` must be one non-negative number of bytes (or Inf).",
                    sprintf("Got: %s.", format_value(thr))), class = "mangoro_input_error")
  }
  thr
}

shm_swept <- local({
  done <- FALSE
  function() {
    if (!done) { done <<- TRUE; try(shm_sweep(0L), silent = TRUE) }
    invisible()
  }
})

# A new arena of at least `need` bytes: doubling from 16 MiB, so a growing
# workload makes few of them.
shm_new_arena <- function(need) {
  shm_swept() # segments of R sessions that died before their server took them
  size <- 16 * 2^20
  while (size < need) size <- size * 2
  shm_create(size)
}

# A synchronous call through `target` (which has a shm state) whose Arrow
# stream call_message() (R/client.R) found to be at least the threshold:
# `res` is the stream's length, written into the arena, or list(need) when
# the arena is too small for it.
shm_rpc_call <- function(target, func_name, data, timeout, res) {
  st <- target$shm
  if (is.list(res)) {
    max <- max_size(target$info)
    if (res$need > max) stop(message_too_large_error(res$need, max))
    st$arena <- shm_new_arena(res$need + 64) # + the segment header (src/shm.h)
    st$accepted <- FALSE
    res <- call_message(target, func_name, data, timeout)
    if (!is.double(res)) return(socket_rpc_call(target, func_name, data, timeout))
  }
  id <- attr(res, "id")
  header <- attr(res, "header")
  thr <- shm_threshold()
  arena <- st$arena
  # Results of at least the threshold come back in shared memory too (type 7;
  # message_decode() maps them and reads them in place).
  msg <- envelope_pack(envelope_type[["shm_call"]], func_name, header,
                       .Call(mangoro_c_shm_call_payload, arena, 0, res, max(thr, 1)))
  ended <- FALSE
  on.exit({
    shm_unlink(attr(arena, "name"))
    if (!ended && identical(st$arena, arena)) st$arena <- NULL
  }, add = TRUE)
  what <- sprintf("the call to %s()", func_name)
  reply <- rpc_request(target, msg, timeout, what, id)
  if (nanonext::is_error_value(reply)) stop(transport_error(reply, what, target$server))
  ended <- TRUE
  env <- message_decode(reply)
  if (env$type == envelope_type[["result"]]) {
    st$accepted <- TRUE
    return(like_input(env$data, data))
  }
  if (env$type != envelope_type[["error"]]) stop(unexpected_type_error(env$type, "result (2) or error (3)"))
  err <- remote_error(env, func_name)
  if (!identical(err$code, "shm_refused")) {
    st$accepted <- TRUE
    stop(err)
  }
  # Refused (the handler did not run): a server that cannot read a fresh
  # arena never will (e.g. another /dev/shm); an arena it read before was
  # dropped on its side, so the next large call makes a new one. This call
  # goes the socket way.
  if (!st$accepted) st$ok <- FALSE
  st$arena <- NULL
  socket_rpc_call(target, func_name, data, timeout)
}
