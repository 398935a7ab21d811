test_that("create_ipc_path gives unique ipc:// URLs in a private directory", {
  a <- create_ipc_path()
  b <- create_ipc_path("rpc")
  expect_match(a, "^ipc://")
  expect_false(identical(a, b))
  expect_match(basename(b), "^rpc-[0-9]+-[0-9a-f]{8}")
  skip_on_os("windows")
  path <- sub("^ipc://", "", a)
  expect_lte(nchar(path, "bytes"), 100L)
  expect_true(dir.exists(dirname(path)))
  expect_equal(as.character(file.info(dirname(path))$mode), "700")
  expect_false(file.exists(path))
})

test_that("a bad prefix is a classed error", {
  expect_error(create_ipc_path("a/b"), class = "mangoro_input_error")
  expect_error(create_ipc_path(c("a", "b")), class = "mangoro_input_error")
  expect_error(create_ipc_path(strrep("x", 40)), class = "mangoro_input_error")
})

test_that("a real listener can bind the path", {
  url <- create_ipc_path("bind")
  s <- nanonext::socket("rep", listen = url)
  on.exit(close(s))
  expect_true(file.exists(sub("^ipc://", "", url)))
})
