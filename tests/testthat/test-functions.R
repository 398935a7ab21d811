test_that("a Go function becomes an R function with the Go argument names", {
  srv <- rpc_server()
  add <- mangoro_function(srv, "add")
  expect_s3_class(add, "mangoro_function")
  expect_identical(names(formals(add)), c("x", "y"))
  expect_identical(add(c(1.5, 2.5, NA), c(0.5, 1.5, 1)), c(2, 4, NA))
  expect_identical(add(y = 1, x = 1:3), c(2, 3, 4))          # by name, length one recycled
  expect_error(add(1), "\"y\" is missing", class = "error")  # R's own missing-argument error
  expect_error(add(1:3, 1:2), "same length", class = "mangoro_input_error")
  expect_output(print(add), "<Go function> add\\(x float64, y float64\\) -> float64")
  expect_output(print(add), "Element-wise")
})

test_that("optional arguments default to Go's default; Go errors stay classed", {
  srv <- rpc_server()
  fail <- mangoro_function(srv, "fail")
  expect_null(formals(fail)$message)
  err <- expect_error(fail(), class = "mangoro_remote_error")
  expect_match(err$remote_message, "requested failure")
  err <- expect_error(fail("from R"), class = "mangoro_remote_error")
  expect_match(err$remote_message, "from R")
})

test_that("variadic functions take ..., multi-column results stay data frames", {
  srv <- rpc_server()
  tr <- mangoro_function(srv, "transposeMatrix")
  expect_identical(names(formals(tr)), "...")
  out <- tr(a = c(1, 2), b = c(3, 4), c = c(5, 6))
  expect_s3_class(out, "data.frame")
  expect_equal(unname(as.matrix(out)), t(cbind(c(1, 2), c(3, 4), c(5, 6))))
  expect_output(print(tr), "\\.\\.\\. float64")
})

test_that("mangoro_functions() wraps every function; bad names are input errors", {
  srv <- rpc_server()
  go <- mangoro_functions(srv)
  expect_setequal(names(go), names(srv$manifest))
  expect_identical(go$echoString(c("a", NA, "b")), c("a", NA, "b"))
  expect_identical(mangoro_function(srv, "add", simplify = FALSE)(1, 2), data.frame(result = 3))
  err <- expect_error(mangoro_function(srv, "nope"), class = "mangoro_input_error")
  expect_match(conditionMessage(err), "Available: add")
  expect_error(mangoro_function("not a server", "add"), class = "mangoro_input_error")
})
