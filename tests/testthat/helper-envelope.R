# A plain-R twin of the C envelope code (src/envelope.c), kept only as the
# reference the tests compare the C code against; the golden files written by
# the Go tests cross-check both.

envelope_pack_r <- function(type, name = "", error = "", payload = NULL) {
  nm <- charToRaw(enc2utf8(if (is.null(name) || is.na(name)) "" else name))
  er <- charToRaw(enc2utf8(if (is.null(error) || is.na(error)) "" else error))
  c(as.raw(type), mangoro_pack_int32(length(nm)), nm,
    mangoro_pack_int32(length(er)), er, payload)
}

# Same checks and results as mangoro_rpc_parse_response().
envelope_parse_r <- function(x) {
  abort <- function(status, at) stop(mangoro:::envelope_error(status, at, n))
  n <- length(x)
  if (n < 9) abort(1L, n)
  type <- as.integer(x[1L])
  if (type > 4L) abort(5L, 0)
  nlen <- mangoro_unpack_int32(x[2:5])
  if (nlen > n - 9) abort(2L, 1)
  epos <- 5 + nlen
  elen <- mangoro_unpack_int32(x[(epos + 1):(epos + 4)])
  if (elen > n - epos - 4) abort(3L, epos)
  name <- x[seq_len(nlen) + 5]
  err <- x[seq_len(elen) + epos + 4]
  if (any(name == as.raw(0)) || any(err == as.raw(0))) abort(4L, 5)
  ppos <- epos + 4 + elen
  utf8 <- function(r) { s <- rawToChar(r); Encoding(s) <- "UTF-8"; s }
  list(type = type, name = utf8(name), error = utf8(err),
       payload = if (ppos < n) x[(ppos + 1):n] else raw(0))
}
