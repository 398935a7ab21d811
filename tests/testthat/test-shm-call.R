# The shared memory call path (R/shm.R, rgoipc shmcall.go): arguments in a
# warm arena, message type 6, negotiated through the info reply.

shm_used <- function(srv) isTRUE(mangoro:::rpc_target(srv)$shm$accepted)

test_that("every type, NA and zero rows round-trip through echo on the shm path", {
  skip_if_no_shm()
  srv <- rpc_server()
  expect_true("shm" %in% unlist(srv$info$features))
  withr::local_options(mangoro.shm_threshold = 0)
  frames <- fuzz_frames()
  frames$zero <- frames$flat[0, ]
  for (nm in names(frames)) {
    df <- frames[[nm]]
    got <- mangoro_rpc_call(srv, "echo", df)
    withr::with_options(list(mangoro.shm_threshold = Inf), want <- mangoro_rpc_call(srv, "echo", df))
    expect_identical(got, want, label = nm)
    expect_identical(nrow(got), nrow(df), label = nm)
  }
  expect_true(shm_used(srv))
  expect_identical(shm_names(Sys.getpid()), character())
})

test_that("large calls reuse one arena, grow it when needed, and leave nothing in /dev/shm", {
  skip_if_no_shm()
  srv <- rpc_server()
  withr::local_options(mangoro.shm_threshold = 1e5)
  x <- seq_len(1e5) + 0.5
  r <- mangoro_rpc_call(srv, "add", data.frame(x = x, y = 1))$result
  expect_identical(r, x + 1)
  st <- mangoro:::rpc_target(srv)$shm
  arena <- st$arena
  expect_false(is.null(arena))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = x, y = 2))$result, x + 2)
  expect_identical(st$arena, arena) # reused
  big <- seq_len(2e6) + 0.25        # 32 MB: over the 16 MiB first arena
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = big, y = big))$result, 2 * big)
  expect_false(identical(st$arena, arena))
  # Small calls stay on the socket.
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2))$result, 3)
  expect_identical(shm_names(Sys.getpid()), character())
})

test_that("a server with MANGORO_SHM=0 does not advertise shm and calls use the socket", {
  skip_if_no_shm()
  srv <- rpc_server(env = c(MANGORO_SHM = "0"))
  expect_false("shm" %in% unlist(srv$info$features))
  expect_null(mangoro:::rpc_target(srv)$shm)
  withr::local_options(mangoro.shm_threshold = 0)
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1.5, y = 1))$result, 2.5)
})

# A type 6 message by hand: payload = offset, length, reply minimum (u64
# LE; 0: result on the socket), handle.
shm_call_message <- function(func, offset, length, handle) {
  u64 <- function(v) as.raw((v %/% 256^(0:7)) %% 256)
  mangoro:::envelope_pack(6L, func, "", c(u64(offset), u64(length), u64(0), handle))
}

ask <- function(sock, msg) {
  reply <- nanonext::request(nanonext::context(sock), msg, send_mode = "raw", recv_mode = "raw",
                             timeout = 10000)[]
  env <- mangoro_rpc_parse_response(reply)
  env$code <- if (env$type == 3L) jsonlite::parse_json(rawToChar(env$payload))$code else NA
  env
}

test_that("the server refuses forged and bad handles without running the handler", {
  skip_if_no_shm()
  srv <- rpc_server()
  sock <- nanonext::socket("req", dial = srv$url)
  on.exit(close(sock), add = TRUE)
  stream <- mangoro_ipc_write(data.frame(x = 1.5, y = 2))
  good <- mangoro:::shm_create(4096)
  on.exit(mangoro:::shm_unlink(attr(good, "name")), add = TRUE)
  mangoro:::shm_write(good, 0, stream)
  h <- attr(good, "handle")
  refused <- function(msg, label) {
    env <- ask(sock, msg)
    expect_identical(env$type, 3L, label = label)
    expect_identical(env$code, "shm_refused", label = label)
  }
  # A handle whose name is one byte off, random bytes, a truncated handle.
  forged <- h
  forged[length(forged)] <- as.raw(bitwXor(as.integer(forged[length(forged)]), 1L))
  refused(shm_call_message("add", 0, length(stream), forged), "forged name")
  refused(shm_call_message("add", 0, length(stream), as.raw(sample(0:255, length(h), TRUE))), "random bytes")
  refused(shm_call_message("add", 0, length(stream), h[-length(h)]), "truncated")
  refused(mangoro:::envelope_pack(6L, "add", "", as.raw(1:10)), "short payload")
  # Mode 0644 is refused, and the name is left for its creator.
  name <- attr(good, "name")
  Sys.chmod(file.path("/dev/shm", sub("^/", "", name)), "644", use_umask = FALSE)
  refused(shm_call_message("add", 0, length(stream), h), "mode 0644")
  expect_true(file.exists(file.path("/dev/shm", sub("^/", "", name))))
  Sys.chmod(file.path("/dev/shm", sub("^/", "", name)), "600", use_umask = FALSE)
  # Bytes outside the arena.
  refused(shm_call_message("add", 4000, 200, h), "outside the arena")
  # The real handle works (and the server took the name).
  env <- ask(sock, shm_call_message("add", 0, length(stream), h))
  expect_identical(env$type, 2L)
  if (env$type == 2L) expect_identical(mangoro:::arrow_decode(env$payload)$result, 3.5)
  expect_false(file.exists(file.path("/dev/shm", sub("^/", "", name))))
  # An arena the server already holds, with another length in the handle.
  h2 <- h
  h2[10] <- as.raw(0x20) # payload length (u64 LE at byte 8) 4096 -> 8192
  refused(shm_call_message("add", 0, length(stream), h2), "length mismatch")
})

test_that("a timed-out shm call drops its arena and leaves nothing in /dev/shm", {
  skip_if_no_shm()
  srv <- rpc_server()
  withr::local_options(mangoro.shm_threshold = 0)
  expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 3000), timeout = 200),
               class = "mangoro_timeout_error")
  expect_null(mangoro:::rpc_target(srv)$shm$arena)
  expect_identical(shm_names(Sys.getpid()), character())
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))$result, 2)
})

test_that("kill -9 of the server during a shm call leaves nothing in /dev/shm", {
  skip_if_no_shm()
  srv <- rpc_server()
  withr::local_options(mangoro.shm_threshold = 0)
  killer <- processx::process$new("sh", c("-c", sprintf("sleep 0.3; kill -9 %d", srv$process$get_pid())))
  on.exit(killer$kill(), add = TRUE)
  expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 5000), timeout = 10000),
               class = "mangoro_server_gone")
  expect_identical(shm_names(Sys.getpid()), character())
  expect_identical(shm_names(srv$process$get_pid()), character())
})

test_that("kill -9 of an R session with an arena leaves nothing after the sweep", {
  skip_if_no_shm()
  srv <- rpc_server()
  code <- sprintf(paste(
    "options(mangoro.shm_threshold = 0)",
    "invisible(mangoro::mangoro_rpc_call(%s, 'add', data.frame(x = 1, y = 2)))",
    "a <- mangoro:::shm_new_arena(1)", # an arena no server has taken yet
    "cat('ready\\n'); invisible(readLines(file('stdin'), n = 1))", # blocks until killed
    sep = "; "), deparse(srv$url))
  child <- processx::process$new(file.path(R.home("bin"), "Rscript"), c("-e", code), stdin = "|", stdout = "|",
                                 env = c("current", R_LIBS = paste(.libPaths(), collapse = ":")))
  on.exit(child$kill(), add = TRUE)
  out <- character()
  while (!any(out == "ready") && child$poll_io(30000)[["output"]] == "ready") {
    out <- c(out, child$read_output_lines())
  }
  expect_true(any(out == "ready"))
  pid <- child$get_pid()
  expect_length(shm_names(pid), 1L) # the untaken arena (the first was taken by the server)
  child$kill() # SIGKILL
  child$wait(5000)
  mangoro:::shm_sweep(0L)
  expect_identical(shm_names(pid), character())
})

test_that("a 1 GB call goes through the shm path (MANGORO_TEST_BIG=1)", {
  skip_if_no_shm()
  skip_if_not(identical(Sys.getenv("MANGORO_TEST_BIG"), "1"), "set MANGORO_TEST_BIG=1 for the 1 GB case")
  srv <- rpc_server()
  n <- 6.25e7 # 2 x 6.25e7 doubles = 1 GB of arguments
  x <- seq_len(n) + 0.5
  r <- mangoro_rpc_call(srv, "add", data.frame(x = x, y = x), timeout = 600000)$result
  expect_true(shm_used(srv))
  expect_identical(length(r), length(x))
  expect_identical(r[c(1, n)], 2 * x[c(1, n)])
  rm(r)
  expect_identical(shm_names(Sys.getpid()), character())
})

test_that("large results come back in shared memory as views, allocating little in R", {
  skip_if_no_shm()
  srv <- rpc_server()
  withr::local_options(mangoro.shm_threshold = 1e5)
  x <- seq_len(1e6) + 0.5
  df <- data.frame(x = x, y = x)
  r <- mangoro_rpc_call(srv, "add", df)$result
  expect_match(capture.output(.Internal(inspect(r)))[[1]], "mangoro view")
  expect_identical(r, 2 * x)
  expect_lt(as.numeric(bench::bench_memory(mangoro_rpc_call(srv, "add", df))$mem_alloc), 1e5)
  r[1] <- 0 # private: a write changes R's copy only
  expect_identical(r[1:2], c(0, 2 * x[2]))
  # Strings, NA and integers in a large echo: lazy strings and views.
  s <- data.frame(i = seq_len(5e4), s = sprintf("v%d", seq_len(5e4)), d = c(NA, x[1:49999]))
  back <- mangoro_rpc_call(srv, "echo", s)
  expect_identical(back, s)
  expect_match(capture.output(.Internal(inspect(back$i)))[[1]], "mangoro view")
  expect_match(capture.output(.Internal(inspect(back$s)))[[1]], "lazy utf8")
  expect_identical(shm_names(Sys.getpid()), character())
  expect_identical(shm_names(srv$process$get_pid()), character())
})

test_that("a result handle R cannot verify is a mangoro_shm_refused_error", {
  skip_if_no_shm()
  seg <- mangoro:::shm_create(64)
  on.exit(mangoro:::shm_unlink(attr(seg, "name")), add = TRUE)
  h <- attr(seg, "handle")
  h[length(h)] <- as.raw(bitwXor(as.integer(h[length(h)]), 1L))
  reply <- mangoro:::envelope_pack(7L, "add", "", h)
  expect_error(mangoro:::message_result(reply, "add"), class = "mangoro_shm_refused_error")
  expect_error(mangoro:::message_result(mangoro:::envelope_pack(7L, "add", "", as.raw(1:5)), "add"),
               class = "mangoro_protocol_error")
})
