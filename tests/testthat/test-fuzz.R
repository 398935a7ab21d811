# The C decoder against mutated replies of every type mangoro reads, in a
# child R process: a crash fails the test instead of ending the run. The long
# run is tools/fuzz-r.R (make fuzz).

# Runs fuzz/fuzz-child.R on `payloads`; returns the child's result line and
# any unexpected-error lines, failing when the child dies.
run_fuzz_child <- function(payloads, n, seed, torture = FALSE, timeout = 120000) {
  rds <- withr::local_tempfile(fileext = ".rds")
  saveRDS(payloads, rds)
  p <- processx::process$new(
    file.path(R.home("bin"), "Rscript"),
    c(test_path("fuzz", "fuzz-child.R"), rds, n, seed, as.integer(torture)),
    stdout = "|", stderr = "2>&1", env = c("current", R_LIBS = paste(.libPaths(), collapse = ":"))
  )
  on.exit(if (p$is_alive()) p$kill(), add = TRUE)
  out <- character()
  deadline <- mclock_ms() + timeout
  while (p$is_alive() && mclock_ms() < deadline) {
    p$poll_io(1000)
    out <- c(out, p$read_output_lines())
  }
  p$wait(5000)
  out <- c(out, p$read_all_output_lines())
  list(status = p$get_exit_status(), lines = out)
}

expect_fuzz_clean <- function(res, n) {
  expect_identical(res$status, 0L, info = paste(tail(res$lines, 20), collapse = "\n"))
  summary <- grep("^fuzz ", res$lines, value = TRUE)
  expect_length(summary, 1L)
  expect_match(summary, sprintf("other=0 cases=%d$", n), info = paste(res$lines, collapse = "\n"))
  expect_match(summary, "protocol=[1-9]")
}

test_that("mutated replies of every type give data or a protocol error, never a crash", {
  payloads <- fuzz_payloads()
  res <- run_fuzz_child(payloads, 2000L, 1L)
  expect_fuzz_clean(res, 2000L)
})

test_that("mutated replies written by arrow-go also decode safely", {
  srv <- rpc_server()
  res <- run_fuzz_child(fuzz_go_payloads(srv), 500L, 7L)
  expect_fuzz_clean(res, 500L)
})

test_that("the decoder keeps PROTECT discipline under gctorture on mutated input", {
  payloads <- fuzz_payloads()
  res <- run_fuzz_child(payloads, 20L, 3L, torture = TRUE)
  expect_true(sprintf("torture identical=%d/%d", length(payloads), length(payloads)) %in% res$lines,
              info = paste(res$lines, collapse = "\n"))
  expect_fuzz_clean(res, 20L)
})

test_that("every Arrow type the decoder covers is read as mangoro documents", {
  skip_if_not_installed("bit64")
  typed <- typed_case()
  expect_identical(mangoro_ipc_read(typed$bytes), typed$want)
  res <- run_fuzz_child(list(typed = typed$bytes), 1000L, 11L)
  expect_fuzz_clean(res, 1000L)
})
