# Where a small call's time goes: the raw-echo floor, the same bytes sent raw
# to the real rgoipc server, the full mangoro call, and the same two servers
# timed from a Go client (no R in the loop). bench/ANALYSIS.md cites it.
#
#   Rscript bench/breakdown.R      (from the repository root, mangoro installed)

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))

ctx <- bench_setup(bench_dir)
on.exit(bench_teardown(ctx), add = TRUE)
client <- mangoro_go_build(file.path(bench_dir, "go", "reqclient"),
                           file.path(ctx$bin_dir, "reqclient"), gocache = ctx$gocache, quiet = TRUE)

df <- data.frame(x = 1, y = 2)
msg <- mangoro_rpc_call_message("add", df)
direct <- nanonext::socket("req", dial = ctx$srv$url)
direct_ctx <- nanonext::context(direct)
send_recv <- function(ctx, msg) {
  nanonext::send(ctx, msg, mode = "raw", block = 5000)
  nanonext::recv(ctx, mode = "raw", block = 5000)
}
n <- if (quick) 500 else 3000
bm <- bench::mark(
  floor_echo = send_recv(ctx$echo$ctx, msg),
  raw_to_rgoipc = send_recv(direct_ctx, msg),
  mangoro_call = mangoro_rpc_call(ctx$srv, "add", df),
  check = FALSE, min_iterations = n, max_iterations = n
)
close(direct)

msg_file <- tempfile(fileext = ".bin")
writeBin(msg, msg_file)
go_client <- function(url) {
  out <- processx::run(client, c(url, msg_file, as.character(n)))$stdout
  as.numeric(regmatches(out, regexpr("(?<=median )[0-9.]+", out, perl = TRUE)))
}
rows <- data.frame(
  path = c("R send/recv to the raw echo (floor)", "R send/recv of the same bytes to rgoipc",
           "mangoro_rpc_call()", "Go req client to the raw echo", "Go req client to rgoipc"),
  median_us = round(c(as.numeric(bm$median) * 1e6, go_client(ctx$echo$url), go_client(ctx$srv$url)), 1)
)
rows$vs_floor <- round(rows$median_us / rows$median_us[1], 2)
print(rows, row.names = FALSE)
