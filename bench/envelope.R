# Envelope build/parse: C (src/envelope.c) against the pure-R reference, on
# 1 KB, 1 MB and 100 MB payloads. Run with `make bench` or
#   Rscript bench/envelope.R
# (uses the installed mangoro; pkgload::load_all() works too).

suppressPackageStartupMessages({
  library(mangoro)
  library(bench)
})
ns <- asNamespace("mangoro")
# The pure-R reference lives with the tests (run from the checkout's root, or
# from bench/run.R, whose `ctx` knows where bench/ is).
root <- if (exists("ctx")) dirname(ctx$bench_dir) else "."
sys.source(file.path(root, "tests", "testthat", "helper-envelope.R"), envir = environment())

sizes <- c("1 KB" = 1024, "1 MB" = 1024^2, "100 MB" = 100 * 1024^2)
results <- list()
for (label in names(sizes)) {
  payload <- as.raw(rep_len(0:255, sizes[[label]]))
  msg <- ns$envelope_pack(2L, "transposeMatrix", "", payload)
  stopifnot(identical(msg, envelope_pack_r(2L, "transposeMatrix", "", payload)))
  iterations <- if (sizes[[label]] > 1e7) 10 else 200
  pack <- bench::mark(
    C = ns$envelope_pack(2L, "transposeMatrix", "", payload),
    R = envelope_pack_r(2L, "transposeMatrix", "", payload),
    iterations = iterations, check = TRUE, filter_gc = FALSE
  )
  parse <- bench::mark(
    C = mangoro_rpc_parse_response(msg),
    C_nocopy = .Call(ns$mangoro_c_envelope_parse, msg, FALSE),
    R = envelope_parse_r(msg),
    iterations = iterations, check = FALSE, filter_gc = FALSE
  )
  results[[label]] <- rbind(
    data.frame(payload = label, op = "pack", impl = as.character(pack$expression),
               median = format(pack$median), mem_alloc = format(pack$mem_alloc),
               median_s = as.numeric(pack$median), mem_bytes = as.numeric(pack$mem_alloc)),
    data.frame(payload = label, op = "parse", impl = as.character(parse$expression),
               median = format(parse$median), mem_alloc = format(parse$mem_alloc),
               median_s = as.numeric(parse$median), mem_bytes = as.numeric(parse$mem_alloc))
  )
}
out <- do.call(rbind, results)
rownames(out) <- NULL
# bench/run.R reads `out` (numeric columns median_s, mem_bytes) for its report.
print(out[c("payload", "op", "impl", "median", "mem_alloc")], right = FALSE)
