# Frames of every type mangoro reads, the bytes they travel as, and a
# reference reader, shared by test-fuzz.R, test-hardening.R, test-convert.R
# and tools/fuzz-r.R.

# One small frame per family of types: flat, factor, list, struct, binary,
# nested (list of struct, struct of list, list of list).
fuzz_frames <- function() {
  flat <- data.frame(
    i = c(1L, NA, 3L), d = c(1.5, NA, NaN), s = c("a", NA, "\u00e9t\u00e9"), b = c(TRUE, NA, FALSE),
    dt = as.Date("2020-01-01") + c(0, NA, 2), t = as.POSIXct(c(1, NA, 3), origin = "1970-01-01", tz = "UTC"),
    dur = as.difftime(c(1.5, NA, -2), units = "mins")
  )
  if (requireNamespace("bit64", quietly = TRUE)) flat$i64 <- bit64::as.integer64(c("9007199254740993", NA, "-5"))
  fct <- data.frame(f = factor(c("x", NA, "y"), levels = c("y", "x", "z")),
                    o = factor(c("lo", "hi", NA), levels = c("lo", "hi"), ordered = TRUE), n = 1:3)
  lst <- data.frame(id = 1:3)
  lst$l <- list(c(1.5, 2), NULL, numeric())
  lst$ls <- list(c("a", NA), character(), NULL)
  lst$bin <- list(as.raw(1:3), NULL, raw(0))
  lst$dur <- as.difftime(c(NA, 36, 0.5), units = "hours")
  st <- data.frame(id = 1:3)
  st$p <- data.frame(name = c("ann", NA, "bo"), age = c(30L, 41L, NA))
  st$p$inner <- data.frame(ok = c(TRUE, FALSE, NA))
  list(flat = flat, factor = fct, list = lst, struct = st)
}

# Types R does not send but Go may return (list of list, list of struct,
# struct holding a list), built as nanoarrow arrays by hand: the IPC bytes
# and the data.frame mangoro must read from them.
nested_case <- function() {
  na <- asNamespace("nanoarrow")
  list_of <- function(child, offsets, valid) {
    na$nanoarrow_array_modify(
      na$nanoarrow_array_init(na$na_list(na$infer_nanoarrow_schema(child))),
      list(length = length(valid), null_count = sum(!valid),
           buffers = list(na$as_nanoarrow_array(valid)$buffers[[2L]], na$as_nanoarrow_buffer(as.integer(offsets))),
           children = list(child))
    )
  }
  inner <- na$as_nanoarrow_array(list(1:2, NULL, 3L), schema = na$na_list(na$na_int32()))
  ll <- list_of(inner, c(0, 2, 2, 3), c(TRUE, FALSE, TRUE))
  pts <- data.frame(a = c(1.5, NA, 4), b = c("u", "v", NA))
  lp <- list_of(na$as_nanoarrow_array(pts), c(0, 2, 2, 3), c(TRUE, FALSE, TRUE))
  xs <- na$as_nanoarrow_array(list(c(TRUE, NA), logical(), NULL), schema = na$na_list(na$na_bool()))
  sl_kids <- list(v = na$as_nanoarrow_array(1:3), xs = xs)
  sl <- na$nanoarrow_array_modify(na$nanoarrow_array_init(na$na_struct(lapply(sl_kids, na$infer_nanoarrow_schema))),
                                  list(length = 3, null_count = 0, children = sl_kids))
  cols <- list(id = na$as_nanoarrow_array(1:3), ll = ll, lp = lp, sl = sl)
  top <- na$nanoarrow_array_modify(
    na$nanoarrow_array_init(na$na_struct(lapply(cols, na$infer_nanoarrow_schema))),
    list(length = 3, null_count = 0, children = cols)
  )
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  na$write_nanoarrow(top, con)
  want <- data.frame(id = 1:3)
  want$ll <- list(list(1:2, NULL), NULL, list(3L))
  want$lp <- list(pts[1:2, ], NULL, `row.names<-`(pts[3, ], NULL))
  want$sl <- data.frame(v = 1:3)
  want$sl$xs <- list(c(TRUE, NA), logical(), NULL)
  list(bytes = rawConnectionValue(con), want = want)
}

# The IPC payloads of the fuzz frames as mangoro writes them, the nested and
# the typed case.
fuzz_payloads <- function() {
  out <- c(lapply(fuzz_frames(), mangoro_ipc_write), list(nested = nested_case()$bytes))
  if (requireNamespace("bit64", quietly = TRUE)) out$typed <- typed_case()$bytes
  out
}

# The same frames as arrow-go writes them: result payloads from the echo
# function of a running rpc-example server `srv`.
fuzz_go_payloads <- function(srv) {
  s <- nanonext::socket("req", dial = srv$url)
  on.exit(close(s))
  lapply(fuzz_frames(), function(df) {
    r <- nanonext::request(nanonext::context(s), mangoro_rpc_call_message("echo", df),
                           send_mode = "raw", recv_mode = "raw", timeout = 10000)[]
    mangoro_rpc_parse_response(r)$payload
  })
}

# A reference decoding through nanoarrow's reader (trusts its input: use on
# valid bytes only), with the R types mangoro gives.
read_via_nanoarrow <- function(bytes) {
  stream <- nanoarrow::read_nanoarrow(bytes)
  schema <- stream$get_schema()
  ptype <- function(sc) {
    if (identical(sc$format, "+s")) {
      return(structure(lapply(sc$children, ptype), class = "data.frame", row.names = integer()))
    }
    if (!is.null(sc$dictionary)) return(factor())
    units <- sc$metadata[["mangoro.units"]]
    if (startsWith(sc$format, "tD") && !is.null(units)) return(as.difftime(numeric(), units = units))
    if (identical(sc$format, "l") && requireNamespace("bit64", quietly = TRUE)) return(bit64::integer64())
    nanoarrow::infer_nanoarrow_ptype(sc)
  }
  plain <- function(df) {
    for (j in seq_along(df)) {
      col <- df[[j]]
      if (is.data.frame(col)) df[[j]] <- plain(col)
      else if (inherits(col, c("vctrs_list_of", "blob"))) df[[j]] <- `attr<-`(unclass(col), "ptype", NULL)
    }
    df
  }
  plain(nanoarrow::convert_array_stream(stream, to = ptype(schema)))
}

# Arrow types Go may return that R never sends (every integer width, float32,
# large strings, binary and lists, timestamps in ms, the null type), three
# rows each, built from raw buffers: the IPC bytes and the frame to expect.
typed_case <- function() {
  na <- asNamespace("nanoarrow")
  i64 <- function(x) writeBin(unclass(bit64::as.integer64(x)), raw()) # int64 bits
  col <- function(schema, data, valid = NULL, len = 3) {
    bufs <- list(if (is.null(valid)) NULL else na$as_nanoarrow_array(valid)$buffers[[2L]],
                 na$as_nanoarrow_buffer(data))
    na$nanoarrow_array_modify(na$nanoarrow_array_init(schema),
                              list(length = len, null_count = if (is.null(valid)) 0 else sum(!valid), buffers = bufs))
  }
  bytes3 <- as.raw(c(1, 0xff, 0x80))
  cols <- list(
    i8 = col(na$na_int8(), bytes3),
    u8 = col(na$na_uint8(), bytes3),
    i16 = col(na$na_int16(), writeBin(c(1L, -2L, 300L), raw(), size = 2L)),
    u16 = col(na$na_uint16(), writeBin(c(1L, 65535L, 3L), raw(), size = 2L)),
    u32 = col(na$na_uint32(), writeBin(c(1L, -1L, 5L), raw(), size = 4L), c(TRUE, TRUE, FALSE)),
    u64 = col(na$na_uint64(), c(i64(c(1, 2)), as.raw(rep(0xff, 8)))),
    f32 = col(na$na_float(), writeBin(c(1.5, -2.25, 3), raw(), size = 4L), c(TRUE, TRUE, FALSE)),
    ms = col(na$na_timestamp("ms", timezone = "Asia/Tokyo"), i64(c(1500, -1000, 0)), c(TRUE, TRUE, FALSE)),
    nul = na$nanoarrow_array_modify(na$nanoarrow_array_init(na$na_na()), list(length = 3, null_count = 3)),
    ls = na$as_nanoarrow_array(c("a", NA, "\u00e9"), schema = na$na_large_string()),
    lb = na$as_nanoarrow_array(list(as.raw(1:2), NULL, raw(0)), schema = na$na_large_binary())
  )
  ints <- na$as_nanoarrow_array(c(7L, 8L, 9L))
  cols$ll <- na$nanoarrow_array_modify(
    na$nanoarrow_array_init(na$na_large_list(na$na_int32())),
    list(length = 3, null_count = 1,
         buffers = list(na$as_nanoarrow_array(c(TRUE, FALSE, TRUE))$buffers[[2L]],
                        na$as_nanoarrow_buffer(i64(c(0, 2, 2, 3)))),
         children = list(ints))
  )
  top <- na$nanoarrow_array_modify(
    na$nanoarrow_array_init(na$na_struct(lapply(cols, na$infer_nanoarrow_schema))),
    list(length = 3, null_count = 0, children = cols)
  )
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  na$write_nanoarrow(top, con)
  want <- data.frame(
    i8 = c(1L, -1L, -128L), u8 = c(1L, 255L, 128L), i16 = c(1L, -2L, 300L), u16 = c(1L, 65535L, 3L),
    u32 = c(1, 4294967295, NA), u64 = c(1, 2, 2^64), f32 = c(1.5, -2.25, NA),
    ms = as.POSIXct(c(1.5, -1, NA), origin = "1970-01-01", tz = "Asia/Tokyo"),
    nul = NA, ls = c("a", NA, "\u00e9")
  )
  want$lb <- list(as.raw(1:2), NULL, raw(0))
  want$ll <- list(7:8, NULL, 9L)
  list(bytes = rawConnectionValue(con), want = want)
}
