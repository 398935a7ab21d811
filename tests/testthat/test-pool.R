# Pools of real Go workers: local processes, joined servers, and mirai
# daemons in network namespaces (see helper-netns.R).

local_pool <- function(..., .local_envir = parent.frame()) {
  pool <- mangoro_pool(test_program("rpc-example"), ...)
  withr::defer(close(pool), envir = .local_envir)
  pool
}

pid_running <- function(pid) isTRUE(tools::pskill(pid, 0L))

test_that("a local pool answers calls, prints its workers and closes without leftovers", {
  pool <- mangoro_pool(test_program("rpc-example"), n = 2, gomaxprocs = 1)
  on.exit(close(pool), add = TRUE)
  expect_s3_class(pool, "mangoro_pool")
  pids <- mangoro_pool_pids(pool)
  expect_length(pids, 2L)
  expect_true(all(vapply(pids, pid_running, NA)))
  expect_match(mangoro_pool_urls(pool), "^ipc://")
  out <- format(pool)
  expect_match(out[1], "^<mangoro_pool> rpc-example, 2 workers \\(2 up\\) on 1 host, 0 calls in flight")
  expect_match(out[2], sprintf("local\\s+up\\s+pid %d", pids[1]))
  expect_match(out[4], "functions: .*spin")

  expect_identical(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 2))$result, 3)
  aio <- mangoro_rpc_call_aio(pool, "sleep", data.frame(ms = 50))
  expect_match(format(pool)[1], "1 calls in flight")
  expect_identical(mangoro_aio_result(aio)$result, 50)
  expect_match(format(pool)[1], "0 calls in flight")
  go <- mangoro_functions(pool)
  expect_identical(go$add(c(1.5, 2.5), 1), c(2.5, 3.5))
  expect_error(mangoro_rpc_call(pool, "fail", data.frame(message = "no")), class = "mangoro_remote_error")
  # Sequential calls spread over both workers (fewest calls first on ties).
  expect_true(all(mangoro_pool_workers(pool)$calls >= 1))

  close(pool)
  expect_false(any(vapply(pids, pid_running, NA)))
  expect_match(format(pool), "closed")
  expect_silent(close(pool))
  expect_error(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 2)), class = "mangoro_server_gone")
})

test_that("a map of 8 spin chunks on 2 workers equals the map on 1 worker, in order", {
  two <- local_pool(n = 2, gomaxprocs = 1)
  one <- local_pool(n = 1, gomaxprocs = 1)
  data <- data.frame(n = c(2e6, 1, 3e5, 1e6, 10, 5e5, 2e5, 7))
  r2 <- mangoro_map(two, "spin", data, chunk_size = 1)
  r1 <- mangoro_map(one, "spin", data, chunk_size = 1)
  expect_identical(r2, r1)
  expect_length(r2, 8L)
  expect_identical(r2[c(2, 5)], c(mangoro_rpc_call(one, "spin", data.frame(n = 1))$result,
                                  mangoro_rpc_call(one, "spin", data.frame(n = 10))$result))
  ws <- mangoro_pool_workers(two)
  expect_true(all(ws$calls >= 2))
  expect_identical(ws$busy, c(0L, 0L))
})

test_that("mangoro_map() chunks, binds, recycles constants and accepts a server", {
  pool <- local_pool(n = 2, gomaxprocs = 1)
  x <- seq(0.5, 100, by = 1)
  expect_identical(mangoro_map(pool, "add", data.frame(x = x), y = 1), x + 1)
  expect_identical(mangoro_map(pool, "add", list(x = x, y = x), chunk_size = 7), 2 * x)
  df <- mangoro_map(pool, "add", data.frame(x = x, y = 1), chunk_size = 9, simplify = FALSE)
  expect_s3_class(df, "data.frame")
  expect_identical(df$result, x + 1)
  expect_identical(nrow(df), length(x))
  seen <- integer()
  mangoro_map(pool, "add", data.frame(x = x, y = 0), chunk_size = 25,
              progress = function(done, total) seen <<- c(seen, done * 10L + total))
  expect_identical(seen, c(14L, 24L, 34L, 44L))
  srv <- rpc_server()
  expect_identical(mangoro_map(srv, "add", data.frame(x = x, y = 2), chunk_size = 30), x + 2)
  expect_true(srv$process$is_alive())
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))$result, 2)
})

test_that("a Go error fails the map at once, naming the chunk, with nothing left in flight", {
  pool <- local_pool(n = 2, gomaxprocs = 1)
  data <- data.frame(message = c("a", "b", "c", "d"))
  e <- expect_error(mangoro_map(pool, "fail", data, chunk_size = 1), class = "mangoro_remote_error")
  expect_match(conditionMessage(e), "In chunk [0-9] of 4")
  expect_true(e$chunk %in% 1:4)
  expect_identical(sum(mangoro_pool_workers(pool)$busy), 0L)
  e <- expect_error(mangoro_map(pool, "sleep", data.frame(ms = c(1, 2000)), chunk_size = 1,
                                timeout = 200),
                    class = "mangoro_timeout_error")
  expect_identical(sum(mangoro_pool_workers(pool)$busy), 0L)
  expect_identical(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 1))$result, 2)
})

test_that("a worker killed mid-map loses no chunk: its chunks run again elsewhere", {
  pool <- local_pool(n = 2, gomaxprocs = 1)
  pids <- mangoro_pool_pids(pool)
  # Chunks 1-4 go to workers 1, 2, 1, 2 (two in flight each); when two short
  # chunks are done, worker 1 is still running the long chunk 3.
  ms <- c(10, 11, 500, 501, 12:19)
  killed <- FALSE
  kill_one <- function(done, total) {
    if (done == 2L && !killed) {
      expect_gt(mangoro_pool_workers(pool)$busy[1], 0L)
      tools::pskill(pids[1], tools::SIGKILL)
      killed <<- TRUE
    }
  }
  res <- NULL
  expect_warning(res <- mangoro_map(pool, "sleep", data.frame(ms = ms), chunk_size = 1,
                                    progress = kill_one),
                 "Lost worker 1", class = "mangoro_worker_lost")
  expect_true(killed)
  expect_identical(res, ms)
  ws <- mangoro_pool_workers(pool)
  expect_identical(ws$state, c("exited", "up"))
  expect_match(format(pool)[1], "2 workers \\(1 up\\)")
  expect_identical(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 1))$result, 2)
  expect_identical(mangoro_map(pool, "add", data.frame(x = c(1, 2), y = 1)), c(2, 3))
})

test_that("a call on a worker that dies fails within a second with mangoro_server_gone naming it", {
  pool <- mangoro_pool(test_program("pool-worker"), n = 2, gomaxprocs = 1)
  withr::defer(close(pool))
  aio <- mangoro_rpc_call_aio(pool, "wait", data.frame(ms = 5000))
  id <- aio$.mangoro_worker
  tools::pskill(mangoro_pool_pids(pool)[id], tools::SIGKILL)
  t0 <- mclock_ms()
  e <- expect_error(mangoro_aio_result(aio), class = "mangoro_server_gone")
  expect_lt(mclock_ms() - t0, 1000)
  expect_identical(e$worker, id)
  expect_match(conditionMessage(e), sprintf("Worker %d of the pool", id))
  # The other worker takes the next calls.
  expect_identical(mangoro_rpc_call(pool, "wait", data.frame(ms = 1))$result, 1)
  # The connection drops before the kernel reports the exit: wait for it.
  pool$workers[[id]]$server$process$wait(5000)
  expect_identical(mangoro_pool_workers(pool)$state[id], "exited")
})

test_that("a call of an idempotent function is sent once more to another worker when its worker dies", {
  pool <- mangoro_pool(test_program("pool-worker"), n = 3, gomaxprocs = 1)
  withr::defer(close(pool))
  expect_identical(pool$manifest$waitAgain$Metadata$idempotent, "true")
  expect_null(pool$manifest$wait$Metadata$idempotent)
  pids <- mangoro_pool_pids(pool)
  # Synchronous call: the first worker is killed while the call runs there.
  aio <- mangoro_rpc_call_aio(pool, "waitAgain", data.frame(ms = 300))
  first <- aio$.mangoro_worker
  tools::pskill(pids[first], tools::SIGKILL)
  res <- NULL
  expect_warning(res <- mangoro_aio_result(aio), sprintf("Lost worker %d", first),
                 class = "mangoro_worker_lost")
  expect_identical(res$result, 300)
  second <- aio$.mangoro_worker
  expect_false(second == first)
  # Once only: when the two workers left die too, the call fails (it is not
  # sent a third time), naming the last worker it was on.
  aio <- mangoro_rpc_call_aio(pool, "waitAgain", data.frame(ms = 5000))
  left <- setdiff(seq_along(pids), first)
  tools::pskill(pids[left], tools::SIGKILL)
  lost <- 0L
  e <- withCallingHandlers(
    expect_error(mangoro_aio_result(aio), class = "mangoro_server_gone"),
    mangoro_worker_lost = function(w) {
      lost <<- lost + 1L
      invokeRestart("muffleWarning")
    }
  )
  expect_lte(lost, 1L)
  expect_true(e$worker %in% left)
  expect_identical(e$worker, aio$.mangoro_worker)
  expect_identical(mangoro_pool_workers(pool)$busy, c(0L, 0L, 0L))
})

test_that("retry = FALSE fails the map; a map whose every worker is gone keeps its results", {
  pool <- local_pool(n = 2, gomaxprocs = 1)
  pids <- mangoro_pool_pids(pool)
  kill_at <- function(at, which) {
    function(done, total) if (done == at) tools::pskill(pids[which], tools::SIGKILL)
  }
  # Chunk 1 (short) and 3 (long) go to worker 1: killed after chunk 1, it
  # loses chunk 3.
  expect_error(mangoro_map(pool, "sleep", data.frame(ms = c(10, rep(500, 7))), chunk_size = 1,
                           retry = FALSE, progress = kill_at(1L, 1L)),
               class = "mangoro_server_gone")
  e <- expect_error(suppressWarnings(
    mangoro_map(pool, "sleep", data.frame(ms = c(50, 50, rep(500, 6))), chunk_size = 1,
                progress = kill_at(2L, 2L))),
    class = "mangoro_server_gone")
  expect_match(conditionMessage(e), "No worker of the pool")
  expect_match(conditionMessage(e), "completed 2 of 8 chunks")
  expect_identical(sum(!vapply(e$results, is.null, NA)), 2L)
  expect_identical(unlist(e$results[!vapply(e$results, is.null, NA)]), c(result = 50, result = 50))
  expect_error(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 1)), class = "mangoro_server_gone")
})

test_that("a pool joins running workers and leaves them running", {
  # On the loopback, tcp:// is what a joined worker started by hand may use
  # (the server's warning about it is not what this test is about).
  srv <- withCallingHandlers(rpc_server(url = "tcp://127.0.0.1:0"),
                             mangoro_insecure_warning = function(w) invokeRestart("muffleWarning"))
  pool <- mangoro_pool(urls = srv$url)
  expect_identical(mangoro_pool_urls(pool), srv$url)
  expect_length(mangoro_pool_pids(pool), 0L)
  expect_identical(mangoro_map(pool, "add", data.frame(x = 1:4 + 0.5, y = 1)), 1:4 + 1.5)
  close(pool)
  expect_true(srv$process$is_alive())
  expect_error(mangoro_pool(urls = "ipc:///nonexistent/worker.sock", timeout = 1000),
               class = "mangoro_start_error")
})

test_that("bad arguments are classed input errors", {
  bin <- test_program("rpc-example")
  expect_error(mangoro_pool(file.path(tempdir(), "no-such-binary")), class = "mangoro_input_error")
  expect_error(mangoro_pool(bin, n = 0), class = "mangoro_input_error")
  expect_error(mangoro_pool(bin, gomaxprocs = 1.5), class = "mangoro_input_error")
  expect_error(mangoro_pool(bin, remote = list(a = 1), insecure = TRUE), class = "mangoro_input_error")
  # Secure pools (the default) talk to their daemons over tls+tcp:// only.
  expect_error(mangoro_pool(bin, remote = mirai::remote_config("true"), host = "ws://127.0.0.1:0"),
               "tls+tcp", fixed = TRUE, class = "mangoro_input_error")
  expect_error(mangoro_pool(urls = "tcp://192.0.2.10:5555"), "insecure = TRUE",
               class = "mangoro_input_error")
  expect_error(mangoro_pool(urls = "tls+tcp://127.0.0.1:5555"), class = "mangoro_input_error")
  expect_error(mangoro_pool(bin, remote = mirai::ssh_config("ssh://h", tunnel = TRUE), insecure = TRUE),
               "Tunnelled", class = "mangoro_input_error")
  pool <- local_pool(n = 1)
  expect_error(mangoro_map(pool, "add", 1:3), class = "mangoro_input_error")
  expect_error(mangoro_map(pool, "add", list(x = 1:3, y = 1:2)), class = "mangoro_input_error")
  expect_error(mangoro_map(pool, "add", data.frame(x = 1), NULL, 2), class = "mangoro_input_error")
  expect_error(mangoro_map(pool, "add", data.frame(x = 1), chunk_size = 0), class = "mangoro_input_error")
  expect_error(mangoro_map(pool, "add", data.frame(x = 1), progress = "yes"), class = "mangoro_input_error")
  expect_error(mangoro_map("pool", "add", data.frame(x = 1)), class = "mangoro_input_error")
  expect_error(mangoro_pool_workers(1), class = "mangoro_input_error")
})

test_that("mangoro_worker_command() prints the command and how to join", {
  out <- capture.output(cmd <- mangoro_worker_command("./rpc-example", "tcp://0.0.0.0:7000", gomaxprocs = 4))
  expect_identical(cmd, "GOMAXPROCS=4 ./rpc-example tcp://0.0.0.0:7000")
  expect_true(cmd %in% out)
  expect_match(out, "mangoro_pool\\(urls = \"tcp://<host>:7000\", insecure = TRUE\\)", all = FALSE)
  expect_error(mangoro_worker_command("./x", "ipc:///tmp/x"), class = "mangoro_input_error")
})

test_that("mangoro_go_build() cross-compiles: a linux/arm64 ELF, named and keyed by platform", {
  skip_if_no_go()
  src <- withr::local_tempfile(fileext = ".go")
  writeLines(c("package main", "", "func main() {}"), src)
  out <- mangoro_go_build(src, goos = "linux", goarch = "arm64", quiet = TRUE)
  expect_match(out, "-linux-arm64$")
  head <- readBin(out, "raw", 20L)
  expect_identical(head[1:4], as.raw(c(0x7f, 0x45, 0x4c, 0x46))) # ELF
  expect_identical(head[5], as.raw(2L))                           # 64-bit
  machine <- as.integer(head[19]) + 256L * as.integer(head[20])   # e_machine, little-endian
  expect_identical(machine, 183L)                                  # EM_AARCH64
  # Same output path, other platform: the key differs, so it is rebuilt.
  expect_message(mangoro_go_build(src, out, goos = "linux", goarch = "arm64"), "up to date")
  amd <- mangoro_go_build(src, out, goos = "linux", goarch = "amd64", quiet = TRUE)
  expect_identical(as.integer(readBin(amd, "raw", 20L)[19]), 62L) # EM_X86_64
  expect_error(mangoro_go_build(src, goos = "linux"), class = "mangoro_input_error")
  expect_error(mangoro_go_build(src, goos = "Linux", goarch = "arm64"), class = "mangoro_input_error")
})

test_that("a pool launched by mirai into two network namespaces works over TLS with its token, survives a kill, and leaves nothing", {
  skip_if_no_go()
  skip_if(identical(Sys.getenv("MANGORO_OUTSIDE_CHECK"), "netns"),
          "run by tools/test.sh after R CMD check: mirai daemons do not start inside the check's test environment")
  hosts <- local_netns_hosts(2L)
  bin <- test_program("rpc-example")
  pool <- mangoro_pool(bin, remote = netns_configs(hosts), host = hosts$host,
                       gomaxprocs = 1, timeout = 60000)
  withr::defer(close(pool))
  ws <- mangoro_pool_workers(pool)
  expect_identical(ws$kind, c("remote", "remote"))
  expect_setequal(ws$host, hosts$addresses)
  expect_true(all(startsWith(mangoro_pool_urls(pool), paste0("tls+tcp://", netns_subnet, "."))))

  # The token is on no command line and in no log of the workers or daemons.
  token <- jsonlite::parse_json(pool$header)$token
  expect_match(token, "^[0-9a-f]{32}$")
  in_ns <- unlist(lapply(hosts$names, netns_pids))
  args <- processx::run("ps", c("-o", "args=", "-p", paste(in_ns, collapse = ",")))$stdout
  expect_match(args, basename(bin), fixed = TRUE)
  expect_false(grepl(token, args, fixed = TRUE))
  logs <- vapply(pool$workers, function(w) w$log, "")
  expect_true(all(file.exists(logs)))
  expect_false(any(grepl(token, unlist(lapply(logs, readLines, warn = FALSE)), fixed = TRUE)))

  # A call without the token, over TLS with the worker's own certificate,
  # gets an `unauthorized` error reply and nothing else.
  bare <- nanonext::socket("req", dial = ws$url[1], autostart = NA,
                           tls = nanonext::tls_config(client = pool$workers[[1]]$cert))
  withr::defer(close(bare))
  for (msg in list(mangoro_rpc_call_message("add", data.frame(x = 1, y = 2)),
                   mangoro_rpc_manifest_request())) {
    reply <- nanonext::request(nanonext::context(bare), msg, send_mode = "raw", recv_mode = "raw",
                               timeout = 10000)
    env <- mangoro_rpc_parse_response(nanonext::collect_aio(reply))
    expect_identical(env$type, 3L)
    expect_identical(env$name, "")
    expect_identical(env$error, "rgoipc: unauthorized")
    expect_identical(if (env$type == 3L) remote_error_code(env$payload), "unauthorized")
  }
  # The certificate pins the worker: another one (a stranger's) does not connect.
  other <- nanonext::write_cert(cn = ws$host[1])
  expect_error(nanonext::socket("req", dial = ws$url[1], autostart = NA,
                                tls = nanonext::tls_config(client = other$client)),
               "Cryptographic error")
  expect_match(format(pool)[1], "2 workers \\(2 up\\) on 2 hosts")
  # The workers run inside the namespaces.
  expect_true(all(ws$pid %in% in_ns))

  data <- data.frame(n = c(1e5, 2e5, 3e5, 4e5, 5e5, 6e5, 7e5, 8e5))
  local <- local_pool(n = 1, gomaxprocs = 1)
  expected <- mangoro_map(local, "spin", data, chunk_size = 1)
  expect_identical(mangoro_map(pool, "spin", data, chunk_size = 1), expected)
  expect_true(all(mangoro_pool_workers(pool)$calls >= 1))

  # Kill the first remote worker mid-map (running chunk 3): no chunk is lost.
  ms <- c(10, 11, 500, 501, 12:19)
  killed <- FALSE
  res <- NULL
  expect_warning(res <- mangoro_map(pool, "sleep", data.frame(ms = ms), chunk_size = 1,
                                    progress = function(done, total) {
    if (done == 2L && !killed) {
      tools::pskill(ws$pid[1], tools::SIGKILL)
      killed <<- TRUE
    }
  }), class = "mangoro_worker_lost")
  expect_identical(res, ms)
  expect_identical(mangoro_pool_workers(pool)$state, c("down", "up"))

  # Kill the second worker's daemon, not the worker: the worker follows it.
  ns2 <- hosts$names[match(ws$host[2], hosts$addresses)]
  daemon <- setdiff(netns_pids(ns2), ws$pid[2])
  expect_length(daemon, 1L)
  tools::pskill(daemon, tools::SIGKILL)
  expect_identical(wait_pids_exit(ws$pid[2], 10000), integer())
  expect_error(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 1)), class = "mangoro_server_gone")
  expect_identical(mangoro_pool_workers(pool)$state, c("down", "down"))

  before <- unlist(lapply(hosts$names, netns_pids))
  expect_gt(length(before), 0L)
  close(pool)
  expect_identical(wait_pids_exit(before, 10000), integer())
  expect_identical(unlist(lapply(hosts$names, netns_pids)), integer())
})

test_that("a pool that is garbage-collected stops its workers", {
  pids <- local({
    pool <- mangoro_pool(test_program("rpc-example"), n = 2, gomaxprocs = 1)
    mangoro_pool_pids(pool)
  })
  expect_true(all(vapply(pids, pid_running, NA)))
  gc()
  expect_false(any(vapply(pids, pid_running, NA)))
})

test_that("remote daemons that never report give a start error within the timeout", {
  skip_if_not_installed("mirai")
  t0 <- mclock_ms()
  # `true` runs instead of the daemon: nothing ever connects or reports.
  e <- expect_error(
    mangoro_pool(test_program("rpc-example"), remote = mirai::remote_config("true", args = "."),
                 host = "127.0.0.1", insecure = TRUE, timeout = 1500),
    class = "mangoro_start_error"
  )
  expect_lt(mclock_ms() - t0, 6000)
  expect_match(conditionMessage(e), "Only 0 of 1 remote workers started before the timeout")
})

test_that("an interrupted map cancels its calls in flight at once", {
  skip_on_os("windows")
  pool <- local_pool(n = 2, gomaxprocs = 1)
  t0 <- mclock_ms()
  res <- tryCatch(
    mangoro_map(pool, "sleep", data.frame(ms = c(10, 10, rep(5000, 6))), chunk_size = 1,
                progress = function(done, total) {
                  if (done == 2L) tools::pskill(Sys.getpid(), tools::SIGINT)
                }),
    interrupt = function(e) "interrupted"
  )
  expect_identical(res, "interrupted")
  expect_lt(mclock_ms() - t0, 4000)
  expect_identical(mangoro_pool_workers(pool)$busy, c(0L, 0L))
  expect_identical(mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 1))$result, 2)
})
