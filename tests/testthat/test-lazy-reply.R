# Lazy string columns on the real reply path: src/ipc_read.c makes the
# top-level utf8 columns of a result lazy ALTREP vectors over the reply bytes.

is_lazy <- function(x) grepl("mangoro lazy utf8", capture.output(.Internal(inspect(x)))[[1]])
is_materialized <- function(x) grepl("materialized", capture.output(.Internal(inspect(x)))[[1]])

test_that("a large string result comes back lazy and equal, NA and UTF-8 included", {
  srv <- rpc_server()
  x <- sprintf("s%05d-\u00e9\U0001F600", 1:5000)
  x[c(1, 77, 5000)] <- NA
  x[2] <- ""
  out <- mangoro_rpc_call(srv, "echoString", data.frame(s = x))$result
  expect_true(is_lazy(out))
  expect_false(is_materialized(out))
  expect_identical(out[c(2, 3, 77)], x[c(2, 3, 77)])
  expect_false(is_materialized(out))
  expect_identical(Encoding(out[[3]]), "UTF-8")
  expect_identical(out, x)
  # Duplication and serialization give ordinary vectors.
  expect_identical(unserialize(serialize(out, NULL)), x)
  y <- out
  y[1] <- "changed"
  expect_identical(y[[1]], "changed")
  expect_identical(out[[1]], NA_character_)
})

test_that("small results and option mangoro.lazy_strings = FALSE stay ordinary", {
  srv <- rpc_server()
  small <- mangoro_rpc_call(srv, "echoString", data.frame(s = c("a", NA)))$result
  expect_false(is_lazy(small))
  expect_identical(small, c("a", NA))
  x <- sprintf("v%d", 1:3000)
  withr::local_options(mangoro.lazy_strings = FALSE)
  expect_false(is_lazy(mangoro_rpc_call(srv, "echoString", data.frame(s = x))$result))
  withr::local_options(mangoro.lazy_strings = 2)
  out <- mangoro_rpc_call(srv, "echoString", data.frame(s = c("a", "b")))$result
  expect_true(is_lazy(out))
  expect_identical(out, c("a", "b"))
})

test_that("a lazy column of an aio result and of mangoro_ipc_read() works too", {
  srv <- rpc_server()
  x <- sprintf("w%d", 1:2000)
  aio <- mangoro_rpc_call_aio(srv, "echoString", data.frame(s = x))
  out <- mangoro_aio_result(aio)$result
  expect_true(is_lazy(out))
  expect_identical(out, x)
  df <- mangoro_ipc_read(mangoro_ipc_write(data.frame(a = x, b = seq_along(x))))
  expect_true(is_lazy(df$a))
  expect_identical(df, data.frame(a = x, b = seq_along(x)))
})

test_that("a reply string that is not valid UTF-8 errors when it is used", {
  x <- sprintf("u%d", 1:2000)
  bytes <- mangoro_ipc_write(data.frame(s = x))
  at <- grepRaw("u1999", bytes, fixed = TRUE)
  bytes[at + 1L] <- as.raw(0xff)
  df <- mangoro_ipc_read(bytes)
  expect_identical(df$s[[1]], "u1")
  expect_error(df$s[[1999]], "not valid UTF-8")
})
