# The current checkout against the 0.1.0 release, side by side in one run:
# each of 0.1.0's bench figures as current / 0.1.0, with issue 13's target of
# no slowdown over 5 % (<= 1.05x). Writes bench/VERSUS.md and prints it.
#
#   Rscript bench/versus.R          (from the repository root; `make bench`)
#
# current = the installed mangoro (R_LIBS as given); 0.1.0 = commit 907d317,
# installed from `git archive` into .cache/versus/ of the checkout once. In a
# checkout without git history it prints a SKIP line and exits 0.
# MANGORO_BENCH_QUICK=1 runs 2 short rounds instead of 5 (for trying changes
# out); MANGORO_GOCACHE is honoured for every build.

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))
bench_source("native.R", "report.R", "versus.R")

root <- dirname(bench_dir)
rel <- versus_commit(root, versus_release)
if (is.null(rel$commit)) {
  cat("SKIP bench/versus.R: ", rel$reason, "\n", sep = "")
  quit(status = 0)
}
if (!mangoro_go_available()) {
  cat("SKIP bench/versus.R: no Go toolchain found (see mangoro_go_binary())\n")
  quit(status = 0)
}

started <- Sys.time()
load_before <- readLines("/proc/loadavg")
old_lib <- versus_release_library(root, rel$commit)
new_lib <- dirname(find.package("mangoro"))
n_rounds <- if (quick) 2L else 5L
libs <- list(old = unique(c(old_lib, .libPaths())), new = .libPaths())
labels <- c(old = "0.1.0", new = "current")
rounds <- list()
for (i in seq_len(n_rounds)) {
  # Alternate who goes first, so a drift in the machine's load hits both.
  order <- if (i %% 2L == 1L) c("old", "new") else c("new", "old")
  rounds[[i]] <- list(order = order)
  for (v in order) {
    step(sprintf("round %d of %d: %s", i, n_rounds, labels[[v]]))
    res <- versus_child(labels[[v]], libs[[v]], quick)
    want <- normalizePath(if (v == "old") old_lib else new_lib)
    if (normalizePath(res$lib) != want) stop("the ", labels[[v]], " child loaded mangoro from ", res$lib)
    rounds[[i]][[v]] <- res
  }
}

figs <- versus_summary(rounds)
env_set <- c("MANGORO_BENCH_QUICK", "R_LIBS", "MANGORO_GOCACHE", "MANGORO_GO")
env_set <- env_set[nzchar(Sys.getenv(env_set))]
info <- list(
  command = paste(c(sprintf("%s=%s", env_set, Sys.getenv(env_set)), "Rscript bench/versus.R"), collapse = " "),
  elapsed = as.numeric(difftime(Sys.time(), started, units = "secs")),
  load_before = sub(" [0-9]+/.*", "", load_before),
  load_after = sub(" [0-9]+/.*", "", readLines("/proc/loadavg")),
  commit = substr(rel$commit, 1L, 7L), old_lib = sub(paste0("^", root, "/"), "", old_lib),
  new_lib = new_lib,
  head = tryCatch(trimws(processx::run("git", c("-C", root, "rev-parse", "--short", "HEAD"))$stdout),
                  error = function(e) "unknown"),
  rounds = n_rounds,
  order = vapply(rounds, function(r) paste(labels[r$order], collapse = "-"), "")
)
md <- versus_report(figs, info)
out <- file.path(bench_dir, "VERSUS.md")
writeLines(md, out)
cat(md, sep = "\n")
step("wrote ", out)
