# mangoro_source() speed (issue 11): run with `Rscript bench/source.R` from the
# source tree, with mangoro installed (R_LIBS) and a warm Go cache
# (MANGORO_GOCACHE, or the user cache). Prints three measurements:
#   1. a new R session, warm cache: mangoro_source() to the first answered call
#      (target <= 1 s), and the whole Rscript process for reference;
#   2. re-sourcing unchanged code in the same session (target <= 100 ms);
#   3. call overhead of a generated function vs mangoro_rpc_call() on the same
#      Go function (target: within 10 %).

suppressPackageStartupMessages(library(mangoro))
if (!mangoro_go_available()) stop("bench/source.R needs Go")

code <- '
// scale multiplies x by k.
//mangoro:export
func scale(x []float64, k float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * k
	}
	return out
}
'
code_file <- tempfile(fileext = ".txt")
writeLines(code, code_file)
rscript <- file.path(R.home("bin"), "Rscript")
ms <- function(expr) {
  t0 <- nanonext::mclock()
  force(expr)
  as.double(nanonext::mclock() - t0)
}

# Warm the cache: build the generator and the program once, in a child (the
# same cache rules as the sessions measured below).
child <- function(expr) {
  res <- processx::run(rscript, c("-e", expr), error_on_status = TRUE)
  res$stdout
}
invisible(child(sprintf("mangoro::mangoro_source(code = readLines('%s'), quiet = TRUE)", code_file)))

# 1. New sessions.
runs <- 7
first <- replicate(runs, {
  wall <- ms(out <- child(sprintf(paste0(
    "suppressPackageStartupMessages(library(mangoro)); t0 <- nanonext::mclock(); ",
    "f <- mangoro_source(code = readLines('%s'), quiet = TRUE); stopifnot(f$scale(2, 3) == 6); ",
    "cat(as.double(nanonext::mclock() - t0))"), code_file)))
  c(in_session = as.numeric(out), process = wall)
})

# 2. Re-sourcing unchanged code (the first call builds or reuses the binary).
fns <- mangoro_source(code = code, quiet = TRUE)
resource <- replicate(50, ms(mangoro_source(code = code, quiet = TRUE)))

# 3. Call overhead, same function, same server.
srv <- environment(fns$scale)$server
x <- 1.5
stopifnot(fns$scale(x, 2) == mangoro_rpc_call(srv, "scale", list(x = x, k = 2))[[1]])
# Interleaved blocks, so that load from other processes hits both alike.
block <- function(f, n = 200) ms(for (i in seq_len(n)) f()) / n * 1000
gen_f <- function() fns$scale(x, 2)
rpc_f <- function() mangoro_rpc_call(srv, "scale", list(x = x, k = 2))
for (i in 1:3) { gen_f(); rpc_f() }
rounds <- replicate(40, c(generated = block(gen_f), rpc_call = block(rpc_f)))
gen_med <- stats::median(rounds["generated", ])
rpc_med <- stats::median(rounds["rpc_call", ])
ratio_med <- stats::median(rounds["generated", ] / rounds["rpc_call", ])

cat(sprintf("go: %s; cache: %s\n", attr(mangoro_go_binary(), "version"),
            if (nzchar(Sys.getenv("MANGORO_GOCACHE"))) "MANGORO_GOCACHE" else "default"))
cat(sprintf("1. new session, mangoro_source() to first answer: median %.0f ms (max %.0f; target <= 1000)\n",
            stats::median(first["in_session", ]), max(first["in_session", ])))
cat(sprintf("   whole Rscript process (R start, library(mangoro), source, call, exit): median %.0f ms\n",
            stats::median(first["process", ])))
cat(sprintf("2. re-source unchanged code: median %.2f ms (max %.2f; target <= 100)\n",
            stats::median(resource), max(resource)))
cat(sprintf(paste("3. call (median of 40 interleaved blocks of 200): generated %.1f us,",
                  "mangoro_rpc_call() %.1f us; median ratio %.3f (target <= 1.10)\n"),
            gen_med, rpc_med, ratio_med))
