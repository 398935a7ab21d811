# Builds the buffers of an Arrow utf8 (or large_utf8) array for a character
# vector, in one raw vector: offsets, then data, then the validity bitmap
# (each 8-byte aligned). Returns the raw vector and the byte offsets.
arrow_utf8_buffers <- function(x, large = FALSE) {
  valid <- !is.na(x)
  s <- x
  s[!valid] <- ""
  s <- enc2utf8(s)
  ends <- cumsum(as.double(nchar(s, type = "bytes")))
  offs <- c(0, ends)
  offsets <- if (large) {
    writeBin(as.integer(rbind(offs, 0)), raw(), size = 4L, endian = "little")
  } else {
    writeBin(as.integer(offs), raw(), size = 4L, endian = "little")
  }
  pad <- function(b) c(b, raw((8L - length(b) %% 8L) %% 8L))
  data <- if (length(s)) unlist(lapply(s, charToRaw), use.names = FALSE) else raw()
  if (is.null(data)) data <- raw()
  bits <- c(valid, logical((8L - length(valid) %% 8L) %% 8L))
  validity <- if (length(bits)) packBits(bits, "raw") else raw()
  offsets <- pad(offsets)
  data_p <- pad(data)
  list(
    bytes = c(offsets, data_p, validity),
    offsets = 0, data = length(offsets), data_len = length(data),
    validity = length(offsets) + length(data_p), n = length(x), large = large
  )
}

lazy_from <- function(b, holder = b$bytes, validity = TRUE) {
  mangoro:::lazy_utf8(holder, b$offsets, b$data, b$data_len, b$n,
                      validity = if (validity) b$validity, large = b$large)
}
