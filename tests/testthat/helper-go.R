# Shared by every test file: skip without Go, build each test program once per
# run, and start child processes that are always cleaned up.

skip_if_no_go <- function() {
  if (!mangoro_go_available()) skip("no suitable Go toolchain (>= 1.23) found")
}

test_programs <- new.env(parent = emptyenv())

# Builds inst/go/cmd/<name> (or a directory/file under tests/testthat/go/) once
# per test run and returns the binary's path.
test_program <- function(name) {
  skip_if_no_go()
  if (!is.null(test_programs[[name]])) return(test_programs[[name]])
  src <- system.file("go", "cmd", name, package = "mangoro")
  if (!nzchar(src)) src <- test_path("go", name)
  out <- file.path(tempdir(), "mangoro-test-bin", name)
  bin <- mangoro_go_build(src, out, quiet = TRUE)
  test_programs[[name]] <- bin
  bin
}

# Builds one Go file (an example shipped in inst/) once per test run.
test_program_file <- function(path) {
  skip_if_no_go()
  name <- sub("\\.go$", "", basename(path))
  if (!is.null(test_programs[[path]])) return(test_programs[[path]])
  bin <- mangoro_go_build(path, file.path(tempdir(), "mangoro-test-bin", paste0("file-", name)), quiet = TRUE)
  test_programs[[path]] <- bin
  bin
}

# Starts `bin` with `args` the way mangoro starts servers (ready line on
# stdout, exit when stdin closes), waits for the ready line, and kills the
# process when the calling test ends.
local_go_process <- function(bin, args, timeout = 10000, env = NULL, .local_envir = parent.frame()) {
  p <- processx::process$new(
    bin, args, stdin = "|", stdout = "|", stderr = tempfile("go-", fileext = ".log"),
    env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin", env),
    cleanup = TRUE
  )
  withr::defer(if (p$is_alive()) { p$kill(); p$wait(5000) }, envir = .local_envir)
  ready <- p$poll_io(timeout)[["output"]]
  line <- if (ready == "ready") p$read_output_lines(1L) else character()
  if (!length(line) || !startsWith(line, "mangoro-ready ")) {
    p$wait(5000)
    stop("Go process did not become ready: ", paste(readLines(p$get_error_file()), collapse = "\n"))
  }
  p
}

# Runs `code` with HOME pointed at a fresh empty directory; returns that path.
local_fresh_home <- function(.local_envir = parent.frame()) {
  home <- withr::local_tempdir("home", .local_envir = .local_envir)
  withr::local_envvar(HOME = home, XDG_CONFIG_HOME = NA, XDG_CACHE_HOME = NA,
                      XDG_DATA_HOME = NA, R_USER_CACHE_DIR = NA, .local_envir = .local_envir)
  home
}

# Lines that load this mangoro in a child R script: the installed package (R
# CMD check, test_dir) or the source tree (test_local).
child_load_mangoro <- function() {
  pkg <- system.file(package = "mangoro")
  if (dir.exists(file.path(pkg, "Meta"))) {
    c(sprintf(".libPaths(c(%s, .libPaths()))", deparse(dirname(pkg))),
      "suppressMessages(library(mangoro))")
  } else {
    sprintf("suppressMessages(pkgload::load_all(%s, quiet = TRUE))", deparse(pkg))
  }
}
