roundtrip <- function(df) mangoro_ipc_read(mangoro_ipc_write(df))

test_that("basic types round-trip with NA kept apart from NaN", {
  df <- data.frame(
    i = c(1L, NA, -3L), d = c(1.5, NA, NaN), s = c("a", NA, "\u00e9"),
    b = c(TRUE, NA, FALSE), dt = as.Date(c("2020-02-29", NA, "1969-12-31"))
  )
  out <- roundtrip(df)
  expect_identical(out, df)
  expect_identical(is.nan(out$d), c(FALSE, FALSE, TRUE))
  expect_identical(is.na(out$d), c(FALSE, TRUE, TRUE))
})

test_that("a lone NA is found wherever it sits, beside NaN and Inf", {
  # The writer tests doubles for NA in blocks (src/ipc_write.c): one NA at
  # each place around the block edges, in columns of lengths around them.
  for (n in c(1L, 31L, 32L, 33L, 64L, 97L)) {
    for (at in unique(c(1L, 2L, 31L, 32L, 33L, n)[c(1L, 2L, 31L, 32L, 33L, n) <= n])) {
      d <- seq_len(n) / 7
      d[at] <- NA
      bytes <- mangoro_ipc_write(data.frame(d = d))
      # the NA must be a null in Arrow, not only R's NA bits in the data
      batch <- nanoarrow::read_nanoarrow(bytes)$get_next()
      expect_identical(batch$children$d$null_count, 1L, info = paste(n, at))
      expect_identical(which(is.na(mangoro_ipc_read(bytes)$d)), at, info = paste(n, at))
    }
  }
  # blocks holding NaN and Inf are tested element by element: no NA made up
  d <- c(rep(1, 40), NaN, Inf, -Inf, rep(2, 30), NA, NaN)
  bytes <- mangoro_ipc_write(data.frame(d = d))
  expect_identical(nanoarrow::read_nanoarrow(bytes)$get_next()$children$d$null_count, 1L)
  expect_identical(mangoro_ipc_read(bytes)$d, d)
})

test_that("zero-row and one-million-row frames work", {
  z <- data.frame(x = double(), s = character(), i = integer())
  expect_identical(roundtrip(z), z)
  big <- data.frame(x = seq_len(1e6) / 3, i = seq_len(1e6), s = rep_len(c("a", NA, "ccc"), 1e6))
  expect_identical(roundtrip(big), big)
})

test_that("POSIXct keeps its instant and time zone under two session zones", {
  for (session_tz in c("UTC", "Asia/Tokyo")) {
    withr::local_timezone(session_tz)
    x <- as.POSIXct(c("2021-03-28 01:30:00", NA, "1999-12-31 23:59:59.5"), tz = "Europe/Berlin")
    out <- roundtrip(data.frame(t = x))
    expect_equal(as.double(out$t), as.double(x))
    expect_identical(attr(out$t, "tzone"), "Europe/Berlin")
    # a POSIXct without a zone is sent in the session zone
    local <- as.POSIXct("2020-06-01 12:00:00")
    out2 <- roundtrip(data.frame(t = local))
    expect_equal(as.double(out2$t), as.double(local))
    expect_identical(attr(out2$t, "tzone"), session_tz)
  }
})

test_that("struct, list and binary columns round-trip", {
  df <- data.frame(id = 1:3)
  df$person <- data.frame(name = c("ann", NA, "bo"), age = c(30L, 41L, NA))
  df$l <- list(c(1.5, 2), NULL, numeric())
  df$bin <- list(as.raw(1:3), NULL, raw(0))
  out <- roundtrip(df)
  expect_identical(out$person, df$person)
  expect_identical(out$l, df$l)
  expect_identical(out$bin, df$bin)
})

test_that("integer64 round-trips exactly with bit64", {
  skip_if_not_installed("bit64")
  x <- bit64::as.integer64(c("9007199254740993", NA, "-5"))
  out <- roundtrip(data.frame(x = x))
  expect_s3_class(out$x, "integer64")
  expect_identical(as.character(out$x), c("9007199254740993", NA, "-5"))
  withr::local_options(mangoro.int64 = "double")
  expect_warning(out2 <- roundtrip(data.frame(x = x)), class = "mangoro_precision_warning")
  expect_type(out2$x, "double")
  expect_silent(roundtrip(data.frame(x = bit64::as.integer64(1:3))))
})

test_that("a frame of many factors reads every dictionary (the reader grows its table)", {
  # Nine factor columns: more dictionaries than the reader first makes room for.
  df <- as.data.frame(lapply(stats::setNames(1:9, paste0("f", 1:9)), function(k) {
    factor(rep_len(c(letters[k], NA, LETTERS[k]), 5), levels = c(LETTERS[k], letters[k], "unused"))
  }))
  df$x <- 1:5
  expect_identical(roundtrip(df), df)
  srv <- rpc_server()
  expect_identical(mangoro_rpc_call(srv, "echo", df), df)
})

test_that("wide and deeply nested frames read past the reader's first scratch", {
  # 300 columns and a 60-field struct column: more tables than the reader
  # keeps on its stack (it then allocates the rest).
  wide <- as.data.frame(lapply(stats::setNames(1:300, paste0("c", 1:300)), function(k) {
    switch(k %% 3 + 1, c(k, NA, -k) + 0.5, c(k, -k, NA), c("a", NA, strrep("b", k)))
  }))
  inner <- as.data.frame(lapply(stats::setNames(1:60, paste0("i", 1:60)), function(k) c(k, k + 1L, NA)))
  wide$s <- inner
  expect_identical(roundtrip(wide), wide)
  bytes <- mangoro_ipc_write(wide)
  expect_identical(mangoro_ipc_read(bytes), read_via_nanoarrow(bytes))
  srv <- rpc_server()
  expect_identical(mangoro_rpc_call(srv, "echo", wide), wide)
})

test_that("factors round-trip as dictionaries: NA, unused levels, ordered, zero rows", {
  f <- factor(c("b", NA, "a", "b"), levels = c("z", "a", "b"))
  o <- factor(c("lo", "hi", NA, "lo"), levels = c("lo", "mid", "hi"), ordered = TRUE)
  df <- data.frame(f = f, o = o, x = 1:4)
  out <- roundtrip(df)
  expect_identical(out, df)
  expect_identical(levels(out$f), c("z", "a", "b"))
  expect_s3_class(out$o, c("ordered", "factor"), exact = TRUE)
  expect_identical(roundtrip(df[0, ]), df[0, ])
  expect_identical(levels(roundtrip(df[0, ])$o), c("lo", "mid", "hi"))
  none <- data.frame(f = factor(c(NA, NA), levels = character()))
  expect_identical(roundtrip(none), none)
  # an NA level (addNA) travels as a null dictionary entry
  na_level <- data.frame(f = addNA(factor(c("a", NA))))
  expect_identical(roundtrip(na_level), na_level)
})

test_that("a factor with codes outside its levels is an input error", {
  bad <- structure(c(1L, 5L), levels = c("a", "b"), class = "factor")
  expect_error(mangoro_ipc_write(data.frame(f = 1:2)[0, , drop = FALSE]), NA)
  expect_error(mangoro_ipc_write(list(f = bad)), "outside its levels", class = "mangoro_input_error")
})

test_that("one million factor rows round-trip", {
  n <- 1e6
  f <- factor(sample(c(letters, NA), n, TRUE), levels = rev(letters))
  out <- roundtrip(data.frame(f = f))
  expect_identical(out$f, f)
})

test_that("matrices, named lists and nanoarrow streams are accepted", {
  m <- matrix(as.double(1:12), 3)
  expect_identical(names(roundtrip(m)), c("V1", "V2", "V3", "V4"))
  expect_identical(unname(as.matrix(roundtrip(m))), m)
  colnames(m) <- c("a", "b", "", "d")
  expect_identical(names(roundtrip(m)), c("a", "b", "V3", "d"))
  expect_identical(roundtrip(list(x = 1:2, y = c("p", "q"))), data.frame(x = 1:2, y = c("p", "q")))
  s <- nanoarrow::as_nanoarrow_array_stream(data.frame(z = c(2.5, 3.5)))
  expect_identical(roundtrip(s), data.frame(z = c(2.5, 3.5)))
})

test_that("unsupported inputs are classed input errors", {
  expect_error(mangoro_ipc_write(list(1, 2)), "named", class = "mangoro_input_error")
  expect_error(mangoro_ipc_write(list(x = 1:2, y = 1:3)), "same length", class = "mangoro_input_error")
  expect_error(mangoro_ipc_write(data.frame(z = complex(real = 1, imaginary = 1))),
               "complex", class = "mangoro_input_error")
  expect_error(mangoro_ipc_write(environment()), class = "mangoro_input_error")
  expect_error(mangoro_ipc_write(data.frame(l = I(list(environment())))), class = "mangoro_input_error")
  expect_error(mangoro_ipc_read(as.raw(1:20)), class = "mangoro_protocol_error")
})

# The C writer alone: the message bytes, or NULL when nanoarrow must write them.
c_ipc_write <- function(cols) {
  .Call(mangoro:::mangoro_c_ipc_write, raw(0), cols, .row_names_info(cols, 2L))
}

test_that("the C encoder and nanoarrow's writer produce the same data", {
  via_nanoarrow <- function(df) {
    con <- rawConnection(raw(0), "wb")
    on.exit(close(con))
    nanoarrow::write_nanoarrow(mangoro:::as_arg_stream(df), con)
    mangoro_ipc_read(rawConnectionValue(con))
  }
  via_c <- function(df) {
    bytes <- c_ipc_write(mangoro:::as_arg_columns(df))
    expect_false(is.null(bytes))
    mangoro_ipc_read(bytes)
  }
  set.seed(1)
  n <- 1000
  df <- data.frame(
    l = sample(c(TRUE, FALSE, NA), n, TRUE),
    i = sample(c(-5:5, NA), n, TRUE),
    d = sample(c(runif(5), NA, NaN, Inf), n, TRUE),
    s = sample(c("a", "", NA, "\u00fc\u00f1\u00ee", strrep("z", 100)), n, TRUE),
    dt = as.Date("2000-01-01") + sample(c(-1e4:1e4, NA), n, TRUE),
    ts = as.POSIXct("2001-02-03 04:05:06", tz = "Australia/Sydney") + sample(c(-1e8:1e8, NA), n, TRUE)
  )
  expect_identical(via_c(df), df)
  expect_identical(via_c(df), via_nanoarrow(df))
  for (rows in list(integer(), 1L, 1:7, 1:8, 1:9)) {
    expect_identical(via_c(df[rows, ]), via_nanoarrow(df[rows, ]), info = length(rows))
  }
  # no columns at all
  empty <- mangoro:::new_columns(list(), 3L)
  expect_identical(nrow(via_c(empty)), 3L)
  # columns it does not handle fall back to nanoarrow
  expect_null(c_ipc_write(mangoro:::as_arg_columns(list(b = list(as.raw(1))))))
})

test_that("the C decoder and nanoarrow's reader agree", {
  set.seed(2)
  n <- 500
  df <- data.frame(
    l = sample(c(TRUE, FALSE, NA), n, TRUE),
    i = sample(c(-5:5, NA), n, TRUE),
    d = sample(c(runif(5), NA, NaN, -Inf), n, TRUE),
    s = sample(c("a", "", NA, "\u00fc\u00f1", strrep("z", 50)), n, TRUE),
    dt = as.Date("2000-01-01") + sample(c(-1e4:1e4, NA), n, TRUE),
    ts = as.POSIXct("2001-02-03 04:05:06", tz = "America/Chicago") + sample(c(-1e8:1e8, NA), n, TRUE),
    f = factor(sample(c("p", "q", NA), n, TRUE), levels = c("q", "p", "r"))
  )
  for (rows in list(integer(), 1L, 1:7, 1:8, 1:9, seq_len(n))) {
    bytes <- mangoro_ipc_write(df[rows, ])
    fast <- .Call(mangoro:::mangoro_c_ipc_read, bytes, 0, TRUE)
    expect_s3_class(fast, "data.frame")
    expect_equal(fast, read_via_nanoarrow(bytes), info = length(rows))
  }
  # decoding in place from an offset gives the same as from a copy
  msg <- mangoro_rpc_call_message("f", df)
  env <- mangoro:::message_decode(msg)
  expect_identical(mangoro:::arrow_decode(msg, env$offset), mangoro_ipc_read(mangoro_ipc_write(df)))
  # nested types too (lists, structs, binary, nested factors' frames)
  for (df in fuzz_frames()) {
    bytes <- mangoro_ipc_write(df)
    expect_identical(mangoro_ipc_read(bytes), df)
    if (!any(vapply(df, is.factor, TRUE))) expect_identical(mangoro_ipc_read(bytes), read_via_nanoarrow(bytes))
  }
  nested <- nested_case()
  expect_identical(mangoro_ipc_read(nested$bytes), nested$want)
})

test_that("truncated and corrupted streams give protocol errors, never a crash", {
  df <- data.frame(
    i = c(1L, NA, 3L), s = c("a", NA, "ccc"), f = factor(c("x", "y", NA)),
    d = c(1.5, NA, 2), b = c(TRUE, NA, FALSE), dt = as.Date("2020-01-01") + 0:2,
    t = as.POSIXct(1:3, origin = "1970-01-01", tz = "UTC")
  )
  bytes <- mangoro_ipc_write(df)
  outcome <- function(b) {
    tryCatch({
      res <- mangoro_ipc_read(b)
      if (is.data.frame(res)) "ok" else "bad-value"
    }, mangoro_protocol_error = function(e) "protocol", error = function(e) conditionMessage(e))
  }
  # Every truncation is an error, except those that end exactly between two
  # messages (the end-of-stream marker is optional): schema only, schema +
  # dictionary, the whole stream without its marker.
  cuts <- vapply(seq_len(length(bytes) - 1L), function(k) outcome(bytes[seq_len(k)]), "")
  expect_setequal(unique(cuts), c("ok", "protocol"))
  expect_length(which(cuts == "ok"), 3L)
  expect_identical(nrow(mangoro_ipc_read(bytes[seq_len(which(cuts == "ok")[1L])])), 0L)
  set.seed(42)
  seen <- character()
  for (k in 1:3000) {
    b <- bytes
    at <- sample.int(length(b), sample(1:4, 1L))
    b[at] <- as.raw(sample.int(256L, length(at), TRUE) - 1L)
    seen <- c(seen, outcome(b))
  }
  expect_setequal(unique(seen), c("ok", "protocol"))
})

test_that("encode and decode keep PROTECT discipline under gctorture", {
  df <- data.frame(s = c("a", NA), f = factor(c("u", NA)), t = as.POSIXct(1:2, origin = "1970-01-01", tz = "UTC"),
                   i = 1:2, d = c(NA, 2))
  gctorture(TRUE)
  bytes <- mangoro_ipc_write(df)
  out <- mangoro_ipc_read(bytes)
  gctorture(FALSE)
  expect_identical(out, df)
})

test_that("one R -> Arrow mapping: the C writer's, asked by the nanoarrow path too", {
  kind <- function(x) as.character(mangoro:::arrow_kind(x))
  expect_identical(kind(TRUE), "bool")
  expect_identical(kind(1L), "int32")
  expect_identical(kind(1.5), "float64")
  expect_identical(kind("a"), "utf8")
  expect_identical(kind(Sys.Date()), "date32")
  expect_identical(kind(factor("a")), "dictionary<int32, utf8>")
  expect_identical(kind(list(1)), "")
  # I() changes nothing: such columns stay on the C path
  expect_identical(kind(I(1:2)), "int32")
  expect_false(is.null(c_ipc_write(data.frame(x = I(1:2)))))
  ts <- as.POSIXct("2020-01-01", tz = "Asia/Tokyo")
  expect_identical(kind(ts), "timestamp[us]")
  expect_identical(attr(mangoro:::arrow_kind(ts), "tz"), "Asia/Tokyo")
  hours <- as.difftime(2, units = "hours")
  expect_identical(kind(hours), "duration[us]")
  expect_identical(attr(mangoro:::arrow_kind(hours), "units"), "hours")
  expect_false(is.null(c_ipc_write(data.frame(d = hours))))
  # units R does not know are an input error, not NA values
  years <- structure(1, class = "difftime", units = "years")
  expect_identical(kind(years), "")
  expect_error(mangoro_ipc_write(list(d = years)), "units \"years\"", class = "mangoro_input_error")
  # a covered column in a frame that nanoarrow writes keeps its Arrow type
  # (and a zone-less POSIXct the same zone as the C writer gives it)
  local_ts <- as.POSIXct("2020-01-01 12:00:00")
  attr(local_ts, "tzone") <- NULL
  withr::local_envvar(TZ = "Europe/Berlin")
  mixed <- data.frame(i = 1L, t = local_ts)
  mixed$l <- list(1:2)
  back <- mangoro_ipc_read(mangoro_ipc_write(mixed))
  flat <- mangoro_ipc_read(mangoro_ipc_write(mixed[c("i", "t")]))
  expect_identical(back[c("i", "t")], flat)
  expect_identical(attr(back$t, "tzone"), "Europe/Berlin")
})

test_that("a list column of mixed types says which element has which type", {
  e <- expect_error(mangoro_ipc_write(list(l = list(1, NULL, "a"))), class = "mangoro_input_error")
  expect_match(conditionMessage(e), "element 1 is double, element 3 is character", fixed = TRUE)
  expect_no_match(conditionMessage(e), "arrow'", fixed = TRUE)
  # Integers and doubles mix as doubles.
  expect_identical(mangoro_ipc_read(mangoro_ipc_write(list(l = list(1L, 2.5))))$l, list(1, 2.5))
})

test_that("a tibble in gives a tibble out", {
  skip_if_not_installed("tibble")
  srv <- rpc_server()
  out <- mangoro_rpc_call(srv, "echo", tibble::tibble(a = 1:2, b = c("x", "y")))
  expect_s3_class(out, "tbl_df")
  expect_identical(out, tibble::tibble(a = 1:2, b = c("x", "y")))
  expect_false(inherits(mangoro_rpc_call(srv, "echo", data.frame(a = 1)), "tbl_df"))
})

test_that("difftime travels as an Arrow duration and keeps its units", {
  units <- c("secs", "mins", "hours", "days", "weeks")
  for (u in units) {
    d <- as.difftime(c(1.5, NA, -2, 0), units = u)
    expect_identical(mangoro_ipc_read(mangoro_ipc_write(list(d = d)))$d, d)
    # the same through nanoarrow's writer (a frame with a list column)
    both <- mangoro_ipc_read(mangoro_ipc_write(list(d = d, l = list(1L, 2L, NULL, 3L))))
    expect_identical(both$d, d)
  }
  # integer storage is sent as its values, read back as double
  expect_identical(mangoro_ipc_read(mangoro_ipc_write(list(d = as.difftime(c(2L, NA), units = "hours"))))$d,
                   as.difftime(c(2, NA), units = "hours"))
  srv <- rpc_server()
  for (u in units) {
    d <- as.difftime(c(1.5, NA), units = u)
    expect_identical(mangoro_rpc_call(srv, "echo", data.frame(d = d))$d, d)
    expect_identical(mangoro_rpc_call(srv, "echo", list(d = d, l = list(1:2, NULL)))$d, d)
  }
})

test_that("a duration without mangoro.units metadata is read in seconds", {
  # nanoarrow writes a duration with no field metadata, as a Go program would
  d <- as.difftime(c(90, NA), units = "secs")
  con <- rawConnection(raw(0), "wb")
  nanoarrow::write_nanoarrow(data.frame(d = as.difftime(c(1.5, NA), units = "mins")), con)
  bytes <- rawConnectionValue(con)
  close(con)
  expect_identical(mangoro_ipc_read(bytes)$d, d)
})

test_that("a corrupted units metadata entry is data or a protocol error", {
  bytes <- mangoro_ipc_write(list(d = as.difftime(c(1.5, NA), units = "mins")))
  at <- grepRaw("mins", bytes, fixed = TRUE)
  # the string's length word, made to run past the message
  bad <- bytes
  bad[at - 4:1] <- as.raw(c(0xf0, 0xff, 0xff, 0x7f))
  expect_error(mangoro_ipc_read(bad), class = "mangoro_protocol_error")
  # every byte of the schema message set to 0xff or flipped
  schema_len <- 8 + readBin(bytes[5:8], "integer", size = 4L, endian = "little")
  seen <- character()
  for (i in seq_len(schema_len)) {
    for (v in list(as.raw(0xff), xor(bytes[i], as.raw(0xff)))) {
      b <- bytes
      b[i] <- v
      seen <- c(seen, tryCatch({
        mangoro_ipc_read(b)
        "ok"
      }, mangoro_protocol_error = function(e) "protocol"))
    }
  }
  expect_setequal(unique(seen), c("ok", "protocol"))
})

test_that("unknown units in mangoro.units metadata fall back to seconds", {
  arr <- nanoarrow::as_nanoarrow_array(as.difftime(c(3, NA), units = "secs"),
                                       schema = nanoarrow::na_duration("ms"))
  nanoarrow::nanoarrow_array_set_schema(arr, nanoarrow::nanoarrow_schema_modify(
    nanoarrow::infer_nanoarrow_schema(arr),
    list(metadata = list(other = "x", mangoro.units = "fortnights"))
  ))
  df <- nanoarrow::nanoarrow_array_modify(
    nanoarrow::nanoarrow_array_init(nanoarrow::na_struct(list(d = nanoarrow::infer_nanoarrow_schema(arr)))),
    list(length = 2, children = list(d = arr))
  )
  con <- rawConnection(raw(0), "wb")
  nanoarrow::write_nanoarrow(df, con)
  bytes <- rawConnectionValue(con)
  close(con)
  expect_identical(mangoro_ipc_read(bytes)$d, as.difftime(c(3, NA), units = "secs"))
})
