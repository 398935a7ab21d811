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

test_that("integer Go parameters take whole doubles, R integers and a bare NA", {
  skip_if_not_installed("bit64")
  srv <- rpc_server()
  scale <- mangoro_function(srv, "scaleInt64")
  expect_identical(as.character(scale(c(1, 2, NA), 3)), c("3", "6", NA))
  expect_identical(as.character(scale(1:2, 2L)), c("2", "4"))
  expect_identical(as.character(scale(NA, 2)), NA_character_)
  e <- expect_error(scale(c(1, 2.5), 3), class = "mangoro_remote_error")
  expect_identical(e$code, "bad_arguments")
  expect_match(conditionMessage(e), 'argument "x": element 2 is 2.5, not a whole number', fixed = TRUE)
  expect_match(conditionMessage(expect_error(scale(1, 2.5), class = "mangoro_remote_error")),
               'argument "k": element 1 is 2.5', fixed = TRUE)
  # A bare NA fits a double parameter too.
  expect_identical(mangoro_function(srv, "add")(NA, 1), NA_real_)
})

test_that("a scalar Go parameter takes one value; the signature marks it", {
  srv <- rpc_server()
  sleep <- mangoro_function(srv, "sleep")
  expect_identical(sleep(1), 1)
  e <- expect_error(sleep(c(1, 2)), class = "mangoro_remote_error")
  expect_identical(e$code, "bad_arguments")
  expect_match(conditionMessage(e), "takes one value", fixed = TRUE)
  # Recycled beside a column, one value is still one value.
  expect_identical(as.character(mangoro_function(srv, "scaleInt64")(c(1, 2, 3), 2)), c("2", "4", "6"))
  expect_output(print(sleep), "sleep(ms float64 (scalar)) -> float64", fixed = TRUE)
  expect_output(print(mangoro_function(srv, "add")), "add(x float64, y float64) -> float64", fixed = TRUE)
})

test_that("a struct result's signature lists its fields", {
  srv <- rpc_server()
  expect_output(print(mangoro_function(srv, "echoStruct")),
                "echoStruct(person struct{name string, age any}) -> struct{name string, age any}",
                fixed = TRUE)
})

test_that("a matrix is one argument per column for variadic functions, an error elsewhere", {
  srv <- rpc_server()
  go <- mangoro_functions(srv)
  m <- matrix(1:6, 2)
  expect_identical(go$transposeMatrix(m), mangoro_rpc_call(srv, "transposeMatrix", m))
  e <- expect_error(go$add(matrix(1:4, 2), 1), class = "mangoro_input_error")
  expect_match(conditionMessage(e), "Argument `x` is a 2 x 2 matrix", fixed = TRUE)
  expect_no_match(conditionMessage(e), "lengths", fixed = TRUE)
})

test_that("mangoro_function() on a closed server fails at once", {
  srv <- mangoro_server_start(test_program("rpc-example"))
  close(srv)
  expect_error(mangoro_function(srv, "add"), "has been closed", class = "mangoro_server_gone")
})

test_that("a handler panic reads with one 'panic:' prefix", {
  srv <- rpc_server()
  e <- expect_error(mangoro_function(srv, "crash")(), class = "mangoro_remote_error")
  expect_identical(e$code, "panic")
  expect_match(conditionMessage(e), "crash: panic: requested panic", fixed = TRUE)
  expect_no_match(conditionMessage(e), "panic: panic", fixed = TRUE)
})
