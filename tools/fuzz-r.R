# The long R-side fuzz run (make fuzz): mutated replies of every type mangoro
# reads (flat, factor, list, struct, binary, nested; written by mangoro and by
# arrow-go through the rpc-example echo function) fed to the C decoder in
# child R processes, so a crash is reported with the seed that reproduces it.
# Usage (from the source tree, the package installed in the library path):
#   Rscript tools/fuzz-r.R [mutations = 100000] [chunks = 10]
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.integer(args[[1L]]) else 100000L
chunks <- if (length(args) >= 2L) as.integer(args[[2L]]) else 10L
suppressPackageStartupMessages(library(mangoro))
source("tests/testthat/helper-fuzz.R")
child <- "tests/testthat/fuzz/fuzz-child.R"

payloads <- fuzz_payloads()
if (mangoro_go_available()) {
  bin <- mangoro_go_build(system.file("go", "cmd", "rpc-example", package = "mangoro"), quiet = TRUE)
  srv <- mangoro_server_start(bin)
  go <- fuzz_go_payloads(srv)
  close(srv)
  names(go) <- paste0("go-", names(go))
  payloads <- c(payloads, go)
}
rds <- tempfile(fileext = ".rds")
saveRDS(payloads, rds)
cat(sprintf("fuzzing %d payloads (%s) with %d mutations in %d child processes\n",
            length(payloads), paste(names(payloads), collapse = ", "), n, chunks))

per <- ceiling(n / chunks)
totals <- c(ok = 0, protocol = 0, other = 0, cases = 0)
crashed <- character()
started <- Sys.time()
for (c in seq_len(chunks)) {
  seed <- (c - 1L) * per
  res <- processx::run(file.path(R.home("bin"), "Rscript"), c(child, rds, per, seed, 0),
                       error_on_status = FALSE)
  line <- grep("^fuzz ", strsplit(res$stdout, "\n")[[1L]], value = TRUE)
  if (res$status != 0L || length(line) != 1L) {
    crashed <- c(crashed, sprintf("chunk %d (seeds %d..%d): status %s\n%s", c, seed + 1L, seed + per,
                                  res$status, res$stderr))
    next
  }
  others <- grep("^other ", strsplit(res$stdout, "\n")[[1L]], value = TRUE)
  if (length(others)) cat(others, sep = "\n")
  vals <- as.numeric(regmatches(line, gregexpr("[0-9]+", line))[[1L]])
  totals <- totals + vals
}
secs <- as.double(difftime(Sys.time(), started, units = "secs"))
cat(sprintf("total: %d mutations, %d decoded, %d protocol errors, %d other errors, %d crashed chunks, %.0f s\n",
            as.integer(totals[["cases"]]), as.integer(totals[["ok"]]), as.integer(totals[["protocol"]]),
            as.integer(totals[["other"]]), length(crashed), secs))
if (length(crashed)) cat(crashed, sep = "\n")
if (length(crashed) || totals[["other"]] > 0) quit(status = 1L)
