# Go side: `go test -bench` for rgoipc (envelope encode/decode, handler and
# round-trip benchmarks), with the same offline environment as builds.

scenario_go <- function(ctx) {
  module <- normalizePath(file.path(ctx$bench_dir, "..", "inst", "go"), mustWork = FALSE)
  if (!file.exists(file.path(module, "go.mod"))) module <- system.file("go", package = "mangoro")
  env <- asNamespace("mangoro")$go_env(ctx$gocache)
  res <- processx::run(mangoro_go_binary(),
                       c("test", "-run", "^$", "-bench", ".", "-benchmem",
                         "-benchtime", if (quick) "50ms" else "300ms", "./pkg/rgoipc/"),
                       wd = module, env = env, error_on_status = FALSE, stderr_to_stdout = TRUE)
  ctx$go_output <- res$stdout
  ctx$go_status <- res$status
  lines <- grep("^Benchmark", strsplit(res$stdout, "\n")[[1]], value = TRUE)
  rows <- lapply(lines, function(l) {
    f <- strsplit(trimws(l), "\\s+")[[1]]
    ns <- as.numeric(f[which(f == "ns/op") - 1L])
    row("Go: go test -bench", sub("-[0-9]+$", "", f[1]), ns / 1000, "us",
        note = paste(f[-(1:2)], collapse = " "))
  })
  do.call(rbind, rows)
}
