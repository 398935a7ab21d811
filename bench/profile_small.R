# Where a small call's time goes (issue 13, bench/PROFILE.md): `add` on a
# 1-row frame through mangoro_rpc_call(), through the leanest R code that
# makes the same call (its two native calls and the nanonext request alone),
# against rawecho answering with the same reply's bytes (the R client and the
# transport, no server work) and rawecho echoing the request (the transport
# floor). Calls are interleaved, N rounds (env N, default 20000).
#
#   Rscript bench/profile_small.R        (from the repository root)
# Go side: cd inst/go && go test -run '^$' -bench 'HandleMessage/add_2rows$'
#   -cpuprofile /tmp/go.prof ./pkg/rgoipc && go tool pprof -top -cum /tmp/go.prof
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))
ns <- asNamespace("mangoro")
bin_dir <- tempfile("profile-small-")
dir.create(bin_dir)
example <- mangoro_go_build(system.file("go", "cmd", "rpc-example", package = "mangoro"),
                            out = file.path(bin_dir, "rpc-example"), quiet = TRUE)
rawecho <- mangoro_go_build(file.path(bench_dir, "go", "rawecho"), out = file.path(bin_dir, "rawecho"), quiet = TRUE)
srv <- mangoro_server_start(example)
df <- data.frame(x = 1.5, y = 2.5)
target <- ns$rpc_target(srv)
msg <- ns$call_message(target, "add", df, NULL)
attributes(msg) <- NULL
files <- file.path(bin_dir, c("reply", "info", "manifest"))
writeBin(ns$rpc_request(target, msg, NULL), files[1])
writeBin(ns$rpc_request(target, ns$message_encode_request("info"), NULL), files[2])
writeBin(ns$rpc_request(target, ns$message_encode_request("manifest"), NULL), files[3])
# On one P like the echo (bench/R/common.R) and like rpc-example while quiet.
canned <- mangoro_server_start(rawecho, args = files, env = c(GOMAXPROCS = "1"))
echo <- start_rawecho(rawecho)
lean <- function() {
  m <- .Call(ns$mangoro_c_call_encode, "add", df, NULL, TRUE, 10100, "", NULL, Inf)
  aio <- nanonext::request(target$ctx, m, send_mode = "raw", recv_mode = "raw", timeout = 10000L, cv = target$cv)
  nanonext::until_(target$cv, 10005L)
  .Call(ns$mangoro_c_message_decode, nanonext::collect_aio(aio), TRUE, TRUE)
}
calls <- list(
  mangoro = function() mangoro_rpc_call(srv, "add", df),
  lean_r = lean,
  canned_server = function() mangoro_rpc_call(canned, "add", df),
  raw_echo = function() raw_echo(echo, msg)
)
stopifnot(identical(calls$mangoro(), lean()), identical(calls$canned_server(), lean()))
tm <- interleaved_times(calls, as.integer(Sys.getenv("N", "20000")))
m <- apply(tm, 2, stats::median) * 1e6
print(round(rbind(median = m, p10 = apply(tm, 2, stats::quantile, 0.1) * 1e6)))
cat(sprintf(paste0("mangoro / raw echo %.2fx; server work (mangoro - canned server) %.0f us; ",
                   "R glue (mangoro - lean R) %.0f us; R client + transport over the echo %.0f us\n"),
            m[["mangoro"]] / m[["raw_echo"]], m[["mangoro"]] - m[["canned_server"]],
            m[["mangoro"]] - m[["lean_r"]], m[["canned_server"]] - m[["raw_echo"]]))
close(srv)
close(canned)
close_rawecho(echo)
