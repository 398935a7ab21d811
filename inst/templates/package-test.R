test_that("the Go functions work", {
  skip_if_not(mangoro::mangoro_go_available(), "Go (>= 1.23) is not available")
  expect_identical(greet(c("R", NA)), c("Hello, R!", NA))
})
