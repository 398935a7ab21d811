test_that("a server starts, prints, answers and closes (twice)", {
  bin <- test_program("rpc-example")
  srv <- mangoro_server_start(bin)
  on.exit(close(srv), add = TRUE)
  expect_s3_class(srv, "mangoro_server")
  pid <- srv$process$get_pid()
  out <- format(srv)
  expect_match(out[1], sprintf("^<mangoro_server> rpc-example, running, pid %d, ipc://", pid))
  expect_match(out[2], "functions: .*add")
  expect_output(print(srv), "rpc-example, running")
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2))[[1]], 3)
  sock_file <- sub("^ipc://", "", srv$url)
  expect_true(file.exists(sock_file))

  close(srv)
  expect_false(srv$process$is_alive())
  expect_false(file.exists(sock_file))
  expect_match(format(srv)[1], "closed")
  expect_silent(close(srv))
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2)), class = "mangoro_server_gone")
  expect_match(mangoro_server_log(srv), "^\\[rpc-example\\] ", all = FALSE)
})

test_that("a TCP server on port 0 is reached at the port it bound", {
  expect_warning(
    srv <- local_mangoro_server(test_program("rpc-example"), url = "tcp://127.0.0.1:0"),
    class = "mangoro_insecure_warning"
  )
  expect_match(srv$url, "^tcp://127\\.0\\.0\\.1:[0-9]+$")
  expect_false(grepl(":0$", srv$url))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2))$result, 3)
})

test_that("start-up failures are mangoro_start_error with status and stderr", {
  bin <- test_program("rpc-example")
  e <- expect_error(mangoro_server_start(bin, url = "bogus://nowhere"), class = "mangoro_start_error")
  expect_false(is.na(e$status))
  expect_true(e$status != 0)
  expect_gt(length(e$stderr), 0L)
  expect_match(conditionMessage(e), "exited during start-up")
  expect_error(mangoro_server_start(file.path(tempdir(), "no-such-binary")), class = "mangoro_input_error")
  expect_error(mangoro_server_start(bin, env = c("x")), class = "mangoro_input_error")
})

test_that("a registration error the program ignored fails the start, quoted", {
  skip_if_no_go()
  src <- withr::local_tempfile(fileext = ".go")
  writeLines(c(
    "package main",
    "",
    "import \"mangoro/pkg/rgoipc\"",
    "",
    "func main() {",
    "\treg := rgoipc.NewRegistry()",
    "\treg.Func(\"mod\", func(z []complex128) []float64 { return nil }, rgoipc.ArgNames(\"z\"))",
    "\trgoipc.Main(reg)",
    "}"
  ), src)
  bin <- mangoro_go_build(src, file.path(tempdir(), "mangoro-test-bin", "ignored-registration"), quiet = TRUE)
  e <- expect_error(mangoro_server_start(bin), class = "mangoro_start_error")
  expect_identical(e$status, 1L)
  expect_match(conditionMessage(e), "function registration failed", fixed = TRUE)
  expect_match(conditionMessage(e), 'register "mod"', fixed = TRUE)
  expect_match(conditionMessage(e), "complex128", fixed = TRUE)
})

test_that("scoped helpers close the server when the scope ends", {
  bin <- test_program("rpc-example")
  f <- function() {
    srv <- local_mangoro_server(bin)
    list(srv = srv, value = mangoro_rpc_call(srv, "add", data.frame(x = 2, y = 2))[[1]])
  }
  res <- f()
  expect_identical(res$value, 4)
  expect_false(res$srv$process$is_alive())

  kept <- NULL
  value <- with_mangoro_server(bin, {
    kept <<- srv
    mangoro_rpc_call(srv, "add", data.frame(x = 5, y = 5))[[1]]
  })
  expect_identical(value, 10)
  expect_false(kept$process$is_alive())
})

test_that("a garbage-collected server is stopped by its finalizer", {
  bin <- test_program("rpc-example")
  srv <- mangoro_server_start(bin)
  handle <- ps::ps_handle(srv$process$get_pid())
  expect_true(ps::ps_is_running(handle))
  rm(srv)
  gc()
  expect_false(ps::ps_is_running(handle))
})

test_that("an R session that called servers by URL and left them open exits cleanly", {
  # nanonext frees a cv before the socket whose pipe events it hears unless
  # the cv is the older object; closing the socket at exit then crashed R.
  bin <- test_program("rpc-example")
  script <- tempfile(fileext = ".R")
  writeLines(c(
    child_load_mangoro(),
    sprintf("srv <- mangoro_server_start(%s)", deparse(bin)),
    "r <- mangoro_rpc_call(srv$url, 'add', data.frame(x = 1.5, y = 2.5))",
    "cat('result', r$result, '\\n')"
  ), script)
  res <- processx::run(file.path(R.home("bin"), "Rscript"), script, error_on_status = FALSE,
                       timeout = 60)
  expect_equal(res$status, 0L, info = res$stderr)
  expect_match(res$stdout, "result 4")
  expect_no_match(res$stderr, "caught|irrecoverable")
})

test_that("the Go server exits when its R parent is killed with SIGKILL", {
  skip_on_os("windows")
  bin <- test_program("rpc-example")
  script <- tempfile(fileext = ".R")
  writeLines(c(
    child_load_mangoro(),
    sprintf("srv <- mangoro_server_start(%s)", deparse(bin)),
    "cat(srv$process$get_pid(), srv$url, '\\n')",
    "invisible(readLines(file('stdin'), n = 1))" # block until killed
  ), script)
  r <- processx::process$new(file.path(R.home("bin"), "Rscript"), script,
                             stdin = "|", stdout = "|", stderr = "|", cleanup = TRUE)
  on.exit(if (r$is_alive()) r$kill(), add = TRUE)
  # Read until a whole line came (the output may arrive in pieces); a child
  # that exits instead closes its stdout, which ends the wait.
  out <- character()
  while (!length(out) && r$poll_io(60000)[["output"]] == "ready") out <- r$read_output_lines(1)
  if (!length(out)) {
    r$kill()
    fail(paste(c("the R child printed nothing:", r$read_all_error_lines()), collapse = "\n"))
  }
  line <- strsplit(trimws(out), " ")[[1]]
  go_pid <- as.integer(line[1])
  handle <- ps::ps_handle(go_pid)
  on.exit(if (ps::ps_is_running(handle)) ps::ps_kill(handle), add = TRUE)
  # Watch the server's socket: its pipe closes when the server shuts down.
  cv <- nanonext::cv()
  s <- nanonext::socket("req")
  on.exit(close(s), add = TRUE)
  nanonext::pipe_notify(s, cv, add = TRUE, remove = TRUE) # before dialling: no missed event
  nanonext::dial(s, line[2])
  expect_true(nanonext::until(cv, 5000)) # connected

  r$signal(9L) # SIGKILL: no R cleanup runs; the child must notice stdin EOF
  r$wait(5000)
  expect_false(r$is_alive())
  expect_true(nanonext::until(cv, 10000)) # the server closed its socket
  # and the process itself exits: wait on its exit event with pidwait/tail
  waiter <- if (nzchar(Sys.which("pidwait"))) {
    pidfile <- tempfile(); writeLines(as.character(go_pid), pidfile)
    processx::process$new("pidwait", c("-F", pidfile))
  } else {
    processx::process$new("tail", c("--pid", go_pid, "-f", "/dev/null"))
  }
  waiter$wait(10000)
  status <- tryCatch(ps::ps_status(handle), error = function(e) "gone")
  expect_true(status %in% c("gone", "zombie"))
})

test_that("the README's add.go with an unsupported type fails the start, quoting why", {
  skip_if_no_go()
  go <- readLines(system.file("examples", "add.go", package = "mangoro"))
  # One more parameter, of a type R has no column for.
  changed <- sub("func(x, y []float64) []float64", "func(x, y []float64, z complex128) []float64", go, fixed = TRUE)
  expect_false(identical(changed, go))
  src <- withr::local_tempfile(fileext = ".go")
  writeLines(changed, src)
  bin <- mangoro_go_build(src, file.path(tempdir(), "mangoro-test-bin", "add-complex"), quiet = TRUE)
  e <- expect_error(mangoro_server_start(bin), class = "mangoro_start_error")
  expect_match(conditionMessage(e), 'rgoipc: register "add"', fixed = TRUE)
  expect_match(conditionMessage(e), "unsupported type complex128", fixed = TRUE)
})

test_that("the README shows add.go as shipped, error check included", {
  readme <- test_path("..", "..", "README.md")
  skip_if_not(file.exists(readme), "README.md is not beside the tests (installed tests)")
  md <- readLines(readme)
  start <- grep("^``` ?go$", md)[[1L]]
  end <- start + match(TRUE, startsWith(md[-seq_len(start)], "```"))
  shown <- md[(start + 1L):(end - 1L)]
  go <- gsub("\t", "    ", readLines(system.file("examples", "add.go", package = "mangoro"))[-(1:4)])
  expect_identical(shown, go)
  expect_true(any(grepl("if err != nil", shown, fixed = TRUE)))
})

test_that("a file that is not an executable is a start error pointing at mangoro_go_build()", {
  src <- withr::local_tempfile(fileext = ".go")
  writeLines("package main", src)
  e <- expect_error(mangoro_server_start(src), class = "mangoro_start_error")
  expect_match(conditionMessage(e), "is not an executable (it looks like Go source)", fixed = TRUE)
  expect_match(conditionMessage(e), "mangoro_go_build()", fixed = TRUE)
  expect_error(mangoro_server_start(withr::local_tempdir()), "not an executable", class = "mangoro_start_error")
})

test_that("a gone server's error shows what preceded the exit, not recovered panics", {
  srv <- rpc_server()
  expect_error(mangoro_rpc_call(srv, "crash", data.frame()), class = "mangoro_remote_error")
  expect_true(any(grepl("requested panic", mangoro_server_log(srv, 100L), fixed = TRUE)))
  # Closing stdin is the parent going away: the server logs it and exits.
  close(srv$process$get_input_connection())
  srv$process$wait(10000)
  expect_false(srv$process$is_alive())
  e <- expect_error(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1)), class = "mangoro_server_gone")
  expect_identical(e$status, srv$process$get_exit_status())
  expect_match(conditionMessage(e), sprintf("exit status %d", e$status), fixed = TRUE)
  expect_false(any(grepl("requested panic|goroutine|\t", e$stderr)))
  expect_match(e$stderr[[1L]], "left out: see mangoro_server_log()", fixed = TRUE)
  expect_true(any(grepl("shutting down", e$stderr, fixed = TRUE)))
})
