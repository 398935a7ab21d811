# Where a small call's time goes on the R side (issue 13, bench/PROFILE.md):
# each step of mangoro_rpc_call() timed alone, then CPU per call of the R
# process's threads and of the Go server, from /proc, over N calls.
#
#   Rscript bench/profile_small.R          (env N: calls for the CPU part, 20000)
# Go side: cd inst/go && go test -run '^$' -bench 'HandleMessage/add_2rows$'
#   -cpuprofile /tmp/go.prof ./pkg/rgoipc && go tool pprof -top -cum /tmp/go.prof
# Both processes: perf record -e cpu-clock -g -- Rscript bench/profile_small.R
suppressPackageStartupMessages({library(mangoro); library(bench)})
ns <- asNamespace("mangoro")
bin <- mangoro_go_build(system.file("go","cmd","rpc-example",package="mangoro"), file.path(tempdir(),"ex"), quiet=TRUE)
srv <- mangoro_server_start(bin)
df <- data.frame(x = 1.5, y = 2.5)
msg <- mangoro_rpc_call_message("add", df)
target <- ns$rpc_target(srv)
reply <- ns$rpc_request(target, msg, NULL)
sock <- nanonext::socket("req", dial = srv$url); ctx <- nanonext::context(sock)
bm <- bench::mark(
  full_call = mangoro_rpc_call(srv, "add", df),
  rpc_target = ns$rpc_target(srv),
  encode_call = ns$message_encode_call("add", df),
  check_func_name = ns$check_func_name("add"),
  check_size = ns$check_message_size(msg, target),
  rpc_request = ns$rpc_request(target, msg, NULL),
  raw_request_collect = nanonext::collect_aio(nanonext::request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = 5000)),
  as_timeout = ns$as_timeout(NULL),
  check_alive = ns$check_server_alive(target),
  message_result = ns$message_result(reply, "add"),
  message_decode = ns$message_decode(reply),
  min_time = 2, check = FALSE, filter_gc = FALSE)
print(bm[, c("expression", "min", "median", "itr/sec", "mem_alloc", "n_itr")])

# CPU per call of each thread (clock ticks from /proc/<pid>/task/*/stat).
gopid <- srv$process$get_pid()
ticks <- function(pid) {
  tasks <- list.files(sprintf("/proc/%d/task", pid), full.names = TRUE)
  v <- vapply(tasks, function(t) {
    f <- strsplit(sub("^.*\\) ", "", readLines(file.path(t, "stat"), warn = FALSE)), " ")[[1]]
    as.numeric(f[12]) + as.numeric(f[13])
  }, 0)
  names(v) <- basename(tasks)
  v
}
tick_us <- 1e6 / 100 # USER_HZ
N <- as.integer(Sys.getenv("N", "20000"))
measure <- function(label, f) {
  r0 <- ticks(Sys.getpid()); g0 <- sum(ticks(gopid)); t0 <- as.double(nanonext::mclock())
  for (i in seq_len(N)) f()
  wall <- (as.double(nanonext::mclock()) - t0) * 1000 / N
  r1 <- ticks(Sys.getpid())[names(r0)]; g1 <- sum(ticks(gopid))
  d <- (r1 - r0) * tick_us / N
  main <- d[[as.character(Sys.getpid())]]
  cat(sprintf("%-24s wall %6.1f us/call | R main thread %5.1f us, other R threads (NNG) %5.1f us | Go %5.1f us\n",
              label, wall, main, sum(d) - main, (g1 - g0) * tick_us / N))
}
measure("mangoro_rpc_call add", function() mangoro_rpc_call(srv, "add", df))
measure("raw request, same bytes", function() {
  nanonext::collect_aio(nanonext::request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = 5000))
})
close(sock)
close(srv)
