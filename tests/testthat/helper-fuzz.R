# Frames of every type mangoro reads, the bytes they travel as, and a
# reference reader, shared by test-fuzz.R, test-hardening.R, test-convert.R
# and tools/fuzz-r.R.

# One small frame per family of types: flat, factor, list, struct, binary,
# nested (list of struct, struct of list, list of list).
fuzz_frames <- function() {
  flat <- data.frame(
    i = c(1L, NA, 3L), d = c(1.5, NA, NaN), s = c("a", NA, "\u00e9t\u00e9"), b = c(TRUE, NA, FALSE),
    dt = as.Date("2020-01-01") + c(0, NA, 2), t = as.POSIXct(c(1, NA, 3), origin = "1970-01-01", tz = "UTC")
  )
  if (requireNamespace("bit64", quietly = TRUE)) flat$i64 <- bit64::as.integer64(c("9007199254740993", NA, "-5"))
  fct <- data.frame(f = factor(c("x", NA, "y"), levels = c("y", "x", "z")),
                    o = factor(c("lo", "hi", NA), levels = c("lo", "hi"), ordered = TRUE), n = 1:3)
  lst <- data.frame(id = 1:3)
  lst$l <- list(c(1.5, 2), NULL, numeric())
  lst$ls <- list(c("a", NA), character(), NULL)
  lst$bin <- list(as.raw(1:3), NULL, raw(0))
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

# The IPC payloads of the fuzz frames as mangoro writes them, and the nested case.
fuzz_payloads <- function() c(lapply(fuzz_frames(), mangoro_ipc_write), list(nested = nested_case()$bytes))

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
