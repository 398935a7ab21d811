# bench/versus.R's parent side: the 0.1.0 release installed from git, the
# child R processes that measure one version each (bench/R/versus_child.R),
# and the report that pools their rounds.

# 0.1.0 has no tag: it is this commit (the one its bench/README.md was made at).
versus_release <- "907d317"

# The full hash of `rev` in the checkout at `root`, or a reason why not.
versus_commit <- function(root, rev) {
  git <- Sys.which("git")
  if (!nzchar(git)) return(list(reason = "git is not on the PATH"))
  res <- processx::run(git, c("-C", root, "rev-parse", "--verify", "--quiet", paste0(rev, "^{commit}")),
                       error_on_status = FALSE)
  if (res$status != 0) {
    return(list(reason = sprintf("%s has no git history holding commit %s (a tarball?)", root, rev)))
  }
  list(commit = trimws(res$stdout))
}

# A library holding mangoro as of `commit`, installed once into .cache/ of the
# checkout and reused while the commit and the R version stay the same. The
# install goes to a staging directory first, so a broken run leaves no cache.
versus_release_library <- function(root, commit) {
  dir <- file.path(root, ".cache", "versus", sprintf("%s-R%s", substr(commit, 1L, 12L), getRversion()))
  lib <- file.path(dir, "lib")
  if (file.exists(file.path(lib, "mangoro", "DESCRIPTION"))) {
    step("0.1.0 (", substr(commit, 1L, 7L), ") already installed in ", lib)
    return(lib)
  }
  step("installing 0.1.0 (", substr(commit, 1L, 7L), ") into ", lib)
  tmp <- tempfile("versus-src-")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE), add = TRUE)
  tar <- file.path(tmp, "mangoro.tar")
  processx::run(Sys.which("git"), c("-C", root, "archive", "--format=tar", "-o", tar, commit))
  src <- file.path(tmp, "mangoro")
  utils::untar(tar, exdir = src)
  staging <- file.path(dir, "lib.partial")
  unlink(staging, recursive = TRUE)
  dir.create(staging, recursive = TRUE)
  res <- processx::run(file.path(R.home("bin"), "R"), c("CMD", "INSTALL", "--no-test-load", "-l", staging, src),
                       error_on_status = FALSE, stderr_to_stdout = TRUE)
  if (res$status != 0) {
    stop("R CMD INSTALL of ", commit, " failed:\n",
         paste(utils::tail(strsplit(res$stdout, "\n")[[1L]], 20L), collapse = "\n"))
  }
  unlink(lib, recursive = TRUE)
  if (!file.rename(staging, lib)) stop("could not move ", staging, " to ", lib)
  lib
}

# One round for one version: a new Rscript whose R_LIBS puts `libs` first
# runs versus_round() and saves its samples; its progress lines are passed on.
versus_child <- function(label, libs, quick) {
  out <- tempfile("versus-", fileext = ".rds")
  on.exit(unlink(out), add = TRUE)
  code <- sprintf(paste(
    "bench_dir <- %s",
    "source(file.path(bench_dir, 'R', 'common.R'))",
    "bench_source('bulk.R', 'versus_child.R')",
    "saveRDS(versus_round(%s), %s)", sep = "; "),
    deparse(bench_dir), deparse(quick), deparse(out))
  res <- processx::run(
    file.path(R.home("bin"), "Rscript"), c("-e", code),
    env = c("current", R_LIBS = paste(libs, collapse = .Platform$path.sep)),
    stderr_line_callback = function(line, proc) message("    [", label, "] ", line),
    error_on_status = FALSE
  )
  if (res$status != 0 || !file.exists(out)) {
    stop("the ", label, " child failed (status ", res$status, "); its output:\n", res$stdout)
  }
  readRDS(out)
}

# Each figure: the samples it is made of (names from versus_round()), the
# statistic over the pooled rounds, its unit and scale, and whether it is one
# of 0.1.0's figures (target current / 0.1.0 <= 1.05) or shown for context.
versus_figures <- function() {
  f <- function(key, figure, stat, unit, scale, target = 1.05) {
    data.frame(key = key, figure = figure, stat = stat, unit = unit, scale = scale,
               target = target, stringsAsFactors = FALSE)
  }
  rbind(
    f("small", "small call (add, 1 row): median", "median", "us", 1e6),
    f("small", "small call (add, 1 row): p95", "p95", "us", 1e6),
    f("add_1e6_time", "add, 2 x 1e6 doubles: median time", "median", "ms", 1e3),
    f("add_1e6_mem", "add, 2 x 1e6 doubles: R memory (mem_alloc)", "median", "bytes", 1),
    f("add_1e7_time", "add, 2 x 1e7 doubles: median time", "median", "ms", 1e3),
    f("add_1e7_mem", "add, 2 x 1e7 doubles: R memory (mem_alloc)", "median", "bytes", 1),
    f("echo_used", "echoString, 1e6 strings: call + every string used", "median", "ms", 1e3),
    f("echo_call", "echoString, 1e6 strings: the call alone", "median", "ms", 1e3, NA),
    f("sleep16", "concurrency: 16 x sleep(100 ms) in flight, wall time", "median", "ms", 1e3),
    f("startup", "start-up: spawn to first answer", "median", "ms", 1e3),
    f("build_warm", "build: warm rebuild, new R session", "median", "s", 1),
    f("build_warm_process", "build: the warm rebuild's whole Rscript process", "median", "s", 1, NA),
    f("build_unchanged", "build: unchanged-source build", "median", "ms", 1e3)
  )
}

versus_stat <- function(x, stat) {
  if (stat == "p95") unname(stats::quantile(x, 0.95)) else stats::median(x)
}

# Pool each figure's samples over the rounds of each version; the ratio per
# round (each round's current against the same round's 0.1.0) shows the noise.
versus_summary <- function(rounds) {
  figs <- versus_figures()
  pooled <- function(version, key) unlist(lapply(rounds, function(r) r[[version]]$samples[[key]]))
  for (i in seq_len(nrow(figs))) {
    key <- figs$key[i]
    stat <- figs$stat[i]
    figs$old[i] <- versus_stat(pooled("old", key), stat) * figs$scale[i]
    figs$new[i] <- versus_stat(pooled("new", key), stat) * figs$scale[i]
    per_round <- vapply(rounds, function(r) {
      versus_stat(r$new$samples[[key]], stat) / versus_stat(r$old$samples[[key]], stat)
    }, 0)
    figs$round_min[i] <- min(per_round)
    figs$round_max[i] <- max(per_round)
    figs$n_old[i] <- length(pooled("old", key))
    figs$n_new[i] <- length(pooled("new", key))
  }
  figs$ratio <- figs$new / figs$old
  figs$pass <- ifelse(is.na(figs$target), NA, figs$ratio <= figs$target)
  figs
}

# Three significant digits: 1.12, 0.966, 0.000164.
fmt_x <- function(r) formatC(r, digits = 3, format = "fg", flag = "#")

versus_report <- function(figs, info) {
  targets <- figs[!is.na(figs$target), ]
  misses <- targets$figure[!targets$pass]
  c(
    "# mangoro: the current checkout against 0.1.0", "",
    sprintf("Generated by `%s` on %s in %.0f s.", info$command,
            format(Sys.time(), "%Y-%m-%d %H:%M UTC", tz = "UTC"), info$elapsed),
    sprintf("Load average (1, 5, 15 min) before: %s; after: %s. A shared %d-core VM: read the per-round range next to each ratio.",
            info$load_before, info$load_after, parallel::detectCores()), "",
    sprintf("Goal (issue 13): no 0.1.0 figure more than 5%% slower, i.e. current / 0.1.0 <= 1.05. %d of %d met%s.",
            sum(targets$pass), nrow(targets),
            if (length(misses)) paste0("; missed: ", paste(misses, collapse = "; ")) else ""), "",
    md_table(data.frame(
      Figure = figs$figure,
      `0.1.0` = fmt_num(figs$old, figs$unit),
      current = fmt_num(figs$new, figs$unit),
      `current / 0.1.0` = paste0(fmt_x(figs$ratio), "x"),
      `per round` = sprintf("%s-%sx", fmt_x(figs$round_min), fmt_x(figs$round_max)),
      Target = ifelse(is.na(figs$target), "(context)", sprintf("<= %.2fx", figs$target)),
      Result = ifelse(is.na(figs$pass), "", ifelse(figs$pass, "PASS", "MISS")),
      check.names = FALSE
    )), "",
    "## How it is measured", "",
    sprintf("* **Versions.** 0.1.0 = commit %s (`git archive` of the checkout, installed with `R CMD INSTALL --no-test-load` into %s, reused while the commit and R stay the same). current = the installed mangoro in %s (checkout HEAD %s).",
            info$commit, info$old_lib, info$new_lib, info$head),
    "* **Fairness.** Each version runs in its own child `Rscript` with `R_LIBS` putting its library first, and builds `rpc-example` from its own installed `inst/go`, so each runs its own rgoipc. Only API 0.1.0 exports is used. Same data, same calls.",
    sprintf("* **Rounds.** %d rounds, the order alternating 0.1.0-current, current-0.1.0, ... (%s). Every figure pools its samples over all rounds; \"per round\" is the lowest and highest ratio of one round's current to the same round's 0.1.0.",
            info$rounds, paste(info$order, collapse = ", ")),
    sprintf("* **Small call**: `mangoro_rpc_call(srv, \"add\", data.frame(x = 1.5, y = 2.5))` after 100 warm-up calls, `bench::mark()` of %d iterations per round, every iteration kept (`filter_gc = FALSE`); median and p95 of the pooled %d.",
            figs$n_old[1] / info$rounds, figs$n_old[1]),
    "* **Bulk**: `add` on `x = seq_len(n) + 0.5`, `y = rep_len(c(1.25, 2.5), n)`, each version's default path (the current one uses shared memory above its threshold), time and bench's `mem_alloc` (R allocations during the call).",
    "  `echoString` on 1e6 strings `sprintf(\"s%07d-%s\", i, alpha|beta|gamma)`: the figure is the call **with every string used** (`sum(nchar(result, type = \"bytes\"))`, which makes each lazy ALTREP string of the current version for real); the call alone is shown for context.",
    "* **Concurrency**: 16 `mangoro_rpc_call_aio(srv, \"sleep\", data.frame(ms = 100))` then `mangoro_aio_result()`; wall time.",
    "* **Start-up**: `mangoro_server_start()` to the first answered `add`, after one warm-up start.",
    "* **Build**: warm = a new `Rscript` that loads the version and times `mangoro_go_build(rebuild = TRUE)` with the warm Go cache (the whole process time shown for context); unchanged = `mangoro_go_build()` on unchanged sources (the binary's mtime is checked: Go must not run).",
    ""
  )
}
