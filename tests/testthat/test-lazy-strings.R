# Lazy character vectors over Arrow utf8 buffers (src/altrep_string.c).

ns <- asNamespace("mangoro")

test_that("a lazy vector equals the strings, NA included, utf8 and large_utf8", {
  x <- c("a", NA, "", "h\u00e9llo", "\U0001F600 emoji", NA, "last")
  for (large in c(FALSE, TRUE)) {
    v <- lazy_from(arrow_utf8_buffers(x, large = large))
    expect_identical(length(v), length(x))
    expect_identical(v[[4]], x[[4]])
    expect_identical(Encoding(v[[4]]), "UTF-8")
    expect_true(is.na(v[[2]]))
    expect_identical(v, x)
  }
  expect_identical(lazy_from(arrow_utf8_buffers(character())), character())
  # Without a validity bitmap every element is valid.
  expect_identical(lazy_from(arrow_utf8_buffers(c("p", "q")), validity = FALSE), c("p", "q"))
})

test_that("only the strings used are made; DATAPTR materializes all", {
  x <- sprintf("s%05d", 1:20000)
  v <- lazy_from(arrow_utf8_buffers(x))
  out <- capture.output(.Internal(inspect(v)))
  expect_match(out[[1]], "lazy")
  expect_identical(v[c(5, 19999)], x[c(5, 19999)])
  expect_match(capture.output(.Internal(inspect(v)))[[1]], "lazy")
  .Call(ns$mangoro_c_lazy_materialize, v)
  expect_match(capture.output(.Internal(inspect(v)))[[1]], "materialized")
  expect_identical(v, x)
})

test_that("modification, duplication and serialization give plain strings", {
  x <- c("one", NA, "three")
  v <- lazy_from(arrow_utf8_buffers(x))
  w <- v
  w[2] <- "two"
  expect_identical(w, c("one", "two", "three"))
  expect_identical(v, x)
  expect_identical(unserialize(serialize(v, NULL)), x)
  expect_identical(serialize(lazy_from(arrow_utf8_buffers(x)), NULL), serialize(x, NULL))
  expect_identical(sort(lazy_from(arrow_utf8_buffers(c("b", "a")))), c("a", "b"))
  expect_identical(paste0(lazy_from(arrow_utf8_buffers(c("b", "a"))), "!"), c("b!", "a!"))
})

test_that("bad buffers are refused when made, bad strings when used", {
  b <- arrow_utf8_buffers(c("ab", "cd"))
  bytes <- b$bytes
  bytes[5] <- as.raw(9) # offsets[1] = 9 > offsets[2] = 4
  expect_error(lazy_from(b, holder = bytes), "offsets are malformed")
  expect_error(ns$lazy_utf8(b$bytes, 0, b$data, 3, 2), "past the data")
  expect_error(ns$lazy_utf8(b$bytes, 0, b$data, b$data_len, 1e6), "out of bounds")
  expect_error(ns$lazy_utf8(b$bytes, 0, b$data, b$data_len, 2, validity = 1e6), "bitmap is out of bounds")
  bytes <- b$bytes
  bytes[b$data + 3] <- as.raw(0xff) # second string "\xffd"
  v <- lazy_from(b, holder = bytes)
  expect_identical(v[[1]], "ab")
  expect_error(v[[2]], "not valid UTF-8")
  bytes[b$data + 3] <- as.raw(0)
  expect_error(lazy_from(b, holder = bytes)[[2]], "NUL byte")
})

test_that("an in-order scan reads ahead, but a bad string errors only when it is used", {
  x <- sprintf("s%05d", seq_len(9000))
  x[c(3, 100, 4097, 8999)] <- NA
  v <- lazy_from(arrow_utf8_buffers(x))
  got <- character(length(x))
  for (i in seq_along(x)) got[i] <- v[[i]] # runs of 8, 16, ... 4096 elements
  expect_identical(got, x)
  expect_identical(nchar(lazy_from(arrow_utf8_buffers(x))), nchar(x))
  # A bad string 20 elements into a run: everything before it reads, it errors.
  b <- arrow_utf8_buffers(sprintf("s%05d", 1:40))
  bytes <- b$bytes
  bytes[b$data + 6 * 19 + 2] <- as.raw(0xff) # string 20
  bad <- lazy_from(b, holder = bytes)
  for (i in 1:19) expect_identical(bad[[i]], sprintf("s%05d", i))
  expect_error(bad[[20]], "string 20 is not valid UTF-8")
  expect_identical(bad[[21]], "s00021")
  expect_error(nchar(lazy_from(b, holder = bytes)), "string 20 is not valid UTF-8")
})

test_that("long strings are checked at every byte, eight-byte words and tails alike", {
  s <- strrep("abcdefgh", 3) # 24 bytes: three words
  for (at in c(1, 7, 8, 9, 16, 17, 24)) {
    b <- arrow_utf8_buffers(c("ok", s))
    bytes <- b$bytes
    bytes[b$data + 2 + at] <- as.raw(0)
    expect_error(lazy_from(b, holder = bytes)[[2]], "NUL byte", info = at)
    bytes[b$data + 2 + at] <- as.raw(0xff)
    expect_error(lazy_from(b, holder = bytes)[[2]], "not valid UTF-8", info = at)
    # Valid non-ASCII at the same place reads back as it is.
    u <- paste0(substr(s, 1, at - 1), "\u00e9", substr(s, at + 1, 24))
    expect_identical(lazy_from(arrow_utf8_buffers(c("ok", u)))[[2]], u, info = at)
  }
  x <- c(s, paste0(s, "\u00e9"), NA, "")
  v <- lazy_from(arrow_utf8_buffers(x))
  expect_identical(.Call(ns$mangoro_c_lazy_materialize, v)[], x)
})

test_that("a lazy vector over a shared memory mapping keeps it alive", {
  skip_if_no_shm()
  x <- c("x", NA, "zz")
  b <- arrow_utf8_buffers(x)
  seg <- ns$shm_create(length(b$bytes))
  ns$shm_write(seg, 0, b$bytes)
  m <- ns$shm_open(attr(seg, "handle"))
  v <- lazy_from(b, holder = m)
  rm(seg, m)
  gc()
  expect_identical(v, x)
})
