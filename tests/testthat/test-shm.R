# Shared memory segments (src/shm.c, inst/go/internal/shm): R <-> Go in both
# directions, ALTREP views, refusal of forged handles, and cleanup after kill -9.

ns <- asNamespace("mangoro")

test_that("a segment round-trips doubles, integers and logicals as ALTREP views", {
  skip_if_no_shm()
  x <- c(1.5, NA, -Inf, 3)
  i <- c(1L, NA, -7L)
  l <- c(TRUE, NA, FALSE)
  seg <- ns$shm_create(32 + 12 + 12)
  name <- attr(seg, "name")
  expect_match(name, sprintf("^/mangoro-%d-[0-9a-f]{16}$", Sys.getpid()))
  info <- file.info(file.path("/dev/shm", substring(name, 2L)))
  expect_equal(as.character(info$mode), "600")
  expect_equal(info$size, 64 + 56)
  ns$shm_write(seg, 0, x)
  ns$shm_write(seg, 32, i)
  ns$shm_write(seg, 44, l)
  m <- ns$shm_open(attr(seg, "handle"))
  expect_false(file.exists(file.path("/dev/shm", substring(name, 2L)))) # unlinked on open
  expect_identical(ns$shm_view(m, "double", 0, 4), x)
  expect_identical(ns$shm_view(m, "integer", 32, 3), i)
  expect_identical(ns$shm_view(m, "logical", 44, 3), l)
  expect_identical(ns$shm_view(m, "double", 0, 0), double())
  expect_true(ns$shm_unlink(name)) # already gone is fine
})

test_that("views keep their mapping alive; the last reference going unmaps it", {
  skip_if_no_shm()
  gc()
  before <- ns$shm_live_mappings()
  seg <- ns$shm_create(8e3)
  ns$shm_write(seg, 0, as.double(1:1000))
  v <- ns$shm_view(ns$shm_open(attr(seg, "handle")), "double", 0, 1000)
  rm(seg)
  gc()
  expect_equal(ns$shm_live_mappings(), before + 1L) # only v's mapping is left
  expect_identical(sum(v), as.double(sum(1:1000)))
  rm(v)
  gc()
  expect_equal(ns$shm_live_mappings(), before)
})

test_that("duplicate, serialization and modification give ordinary vectors", {
  skip_if_no_shm()
  x <- c(0.25, 2, NA)
  seg <- ns$shm_create(24)
  ns$shm_write(seg, 0, x)
  m <- ns$shm_open(attr(seg, "handle"))
  v <- ns$shm_view(m, "double", 0, 3)
  expect_identical(serialize(v, NULL), serialize(x, NULL))
  expect_identical(unserialize(serialize(v, NULL)), x)
  w <- v
  w[1] <- 9
  expect_identical(v, x)
  expect_identical(w, c(9, 2, NA))
  # A view of a raw vector copies on write, so the raw vector never changes.
  r <- writeBin(1:4, raw())
  iv <- ns$shm_view(r, "integer", 0, 4)
  iv[2] <- 0L
  expect_identical(iv, c(1L, 0L, 3L, 4L))
  expect_identical(readBin(r, "integer", 4), 1:4)
})

test_that("views out of bounds or misaligned are errors", {
  skip_if_no_shm()
  r <- raw(16)
  expect_error(ns$shm_view(r, "double", 0, 3), "out of bounds")
  expect_error(ns$shm_view(r, "double", 4, 1), "misaligned")
  expect_error(ns$shm_view(r, "complex", 0, 1), "should be one of")
})

# A handle as the peer would send it, for forging.
forge_handle <- function(name, length) {
  c(charToRaw("MGSH"), as.raw(c(1L, nchar(name), 0L, 0L)), u64(length), charToRaw(name))
}

forge_segment <- function(name, length, mode = "600", env = parent.frame()) {
  path <- file.path("/dev/shm", substring(name, 2L))
  writeBin(c(charToRaw("MANGOSHM"), raw(56), raw(length)), path)
  Sys.chmod(path, mode, use_umask = FALSE)
  withr::defer(unlink(path), envir = env)
  path
}

test_that("R refuses handles that are not what it expects", {
  skip_if_no_shm()
  seg <- ns$shm_create(16)
  good <- attr(seg, "handle")
  name <- attr(seg, "name")
  withr::defer(ns$shm_unlink(name))
  bad_mode <- sprintf("/mangoro-%d-00000000000000aa", Sys.getpid())
  forge_segment(bad_mode, 16, mode = "644")
  no_header <- sprintf("/mangoro-%d-00000000000000bb", Sys.getpid())
  forge_segment(no_header, 16)
  cases <- list(
    "not a shared memory handle" = charToRaw("hello"),
    "not a mangoro segment name" = forge_handle("/etc/passwd", 16),
    "not a mangoro segment name" = forge_handle("/mangoro-1-../../../etc/pa", 16),
    "does not exist" = forge_handle("/mangoro-1-ffffffffffffffff", 16),
    "size does not match" = forge_handle(name, 8),
    "larger than allowed" = forge_handle(name, 2^50),
    "malformed" = c(good, as.raw(0)),
    "mode is not 0600" = forge_handle(bad_mode, 16),
    "header does not match" = forge_handle(no_header, 16)
  )
  for (i in seq_along(cases)) {
    err <- expect_error(ns$shm_open(cases[[i]]), class = "mangoro_shm_refused_error")
    expect_match(conditionMessage(err), names(cases)[[i]], fixed = TRUE)
  }
  # A refusal leaves the genuine segment in place for the genuine reader.
  expect_true(file.exists(file.path("/dev/shm", substring(name, 2L))))
  m <- ns$shm_open(good)
  expect_identical(typeof(m), "externalptr")
})

test_that("R writes a segment and Go sums it in place", {
  skip_if_no_shm()
  peer <- local_shm_peer()
  x <- seq_len(1e6) / 3
  seg <- ns$shm_create(8 * length(x))
  ns$shm_write(seg, 0, x)
  res <- shm_peer_ask(peer, "s", attr(seg, "handle"))
  expect_identical(res$status, "ok")
  expect_equal(f64(res$body), sum(x))
  expect_length(shm_names(Sys.getpid()), 0L) # Go unlinked it on open
})

test_that("Go writes a segment and R maps it as a vector, without a copy", {
  skip_if_no_shm()
  peer <- local_shm_peer()
  res <- shm_peer_ask(peer, "m", u64(1e5))
  expect_identical(res$status, "ok")
  m <- ns$shm_open(res$body)
  v <- ns$shm_view(m, "double", 0, 1e5)
  expect_identical(v, seq_len(1e5) - 0.5)
  expect_length(shm_names(peer$process$get_pid()), 0L)
  # R computes with the columns of a round trip through shm: x + y in Go.
  x <- as.double(1:1000)
  y <- x / 4
  seg <- ns$shm_create(16000)
  ns$shm_write(seg, 0, x)
  ns$shm_write(seg, 8000, y)
  res <- shm_peer_ask(peer, "a", attr(seg, "handle"))
  expect_identical(res$status, "ok")
  expect_identical(ns$shm_view(ns$shm_open(res$body), "double", 0, 1000), x + y)
})

test_that("the Go side refuses forged handles", {
  skip_if_no_shm()
  peer <- local_shm_peer()
  bad_mode <- sprintf("/mangoro-%d-00000000000000cc", Sys.getpid())
  forge_segment(bad_mode, 8, mode = "644")
  seg <- ns$shm_create(8)
  withr::defer(ns$shm_unlink(attr(seg, "name")))
  handles <- list(
    charToRaw("MGSH"),
    forge_handle("/dev/shm/../etc/passwd", 8),
    forge_handle("/mangoro-1-ffffffffffffffff", 8),
    forge_handle(bad_mode, 8),
    forge_handle(attr(seg, "name"), 16),
    forge_handle(attr(seg, "name"), 2^40)
  )
  if (identical(unname(Sys.info()[["user"]]), "root") && nzchar(Sys.which("chown"))) {
    other <- sprintf("/mangoro-%d-00000000000000dd", Sys.getpid())
    path <- forge_segment(other, 8)
    system2("chown", c("65534", path))
    handles <- c(handles, list(forge_handle(other, 8)))
  }
  for (h in handles) expect_identical(shm_peer_ask(peer, "s", h)$status, "refused")
  expect_true(file.exists(file.path("/dev/shm", substring(attr(seg, "name"), 2L))))
})

test_that("nothing stays in /dev/shm after kill -9 of the Go side", {
  skip_if_no_shm()
  peer <- local_shm_peer()
  res <- shm_peer_ask(peer, "m", u64(1000)) # made, never taken
  pid <- peer$process$get_pid()
  expect_length(shm_names(pid), 1L)
  peer$process$kill() # SIGKILL
  peer$process$wait(5000)
  expect_false(peer$process$is_alive())
  expect_equal(ns$shm_sweep(0L), 1L) # its creator is gone
  expect_length(shm_names(pid), 0L)
})

test_that("a Go peer that exits removes what it made and nobody took", {
  skip_if_no_shm()
  peer <- local_shm_peer()
  shm_peer_ask(peer, "m", u64(10))
  pid <- peer$process$get_pid()
  expect_length(shm_names(pid), 1L)
  close(peer$process$get_input_connection())
  peer$process$wait(10000)
  expect_false(peer$process$is_alive())
  expect_length(shm_names(pid), 0L)
})

test_that("nothing stays in /dev/shm after kill -9 of an R process that made a segment", {
  skip_if_no_shm()
  lib <- dirname(system.file(package = "mangoro"))
  child <- processx::process$new(
    file.path(R.home("bin"), "Rscript"),
    c("-e", "s <- mangoro:::shm_create(4096); cat(attr(s, 'name'), '\\n'); readLines('stdin', 1)"),
    stdin = "|", stdout = "|", env = c("current", R_LIBS = paste(c(lib, .libPaths()), collapse = ":")),
    cleanup = TRUE
  )
  withr::defer(if (child$is_alive()) child$kill())
  # Read until a whole line came (the output may arrive in pieces).
  out <- character()
  while (!length(out) && child$poll_io(30000)[["output"]] == "ready") out <- child$read_output_lines(1L)
  name <- trimws(out)
  expect_match(name, sprintf("^/mangoro-%d-", child$get_pid()))
  expect_identical(shm_names(child$get_pid()), name)
  child$kill()
  child$wait(5000)
  # The Go side sweeps a peer it knows has gone (here asked to, by pid).
  peer <- local_shm_peer()
  res <- shm_peer_ask(peer, "w", u64(child$get_pid()))
  expect_identical(res$status, "ok")
  expect_length(shm_names(child$get_pid()), 0L)
})

test_that("an R process that exits removes the segments it made and nobody took", {
  skip_if_no_shm()
  lib <- dirname(system.file(package = "mangoro"))
  res <- processx::run(
    file.path(R.home("bin"), "Rscript"),
    c("-e", "s <- mangoro:::shm_create(4096); cat(attr(s, 'name'), Sys.getpid())"),
    env = c("current", R_LIBS = paste(c(lib, .libPaths()), collapse = ":"))
  )
  out <- strsplit(trimws(res$stdout), " ")[[1L]]
  expect_match(out[[1L]], "^/mangoro-")
  expect_length(shm_names(as.integer(out[[2L]])), 0L)
})

test_that("sweeping leaves live processes' segments alone", {
  skip_if_no_shm()
  seg <- ns$shm_create(8)
  withr::defer(ns$shm_unlink(attr(seg, "name")))
  ns$shm_sweep(0L)
  expect_identical(shm_names(Sys.getpid()), attr(seg, "name"))
})

test_that("random and mutated handles are refused, never crash", {
  skip_if_no_shm()
  seg <- ns$shm_create(64)
  good <- attr(seg, "handle")
  withr::defer(ns$shm_unlink(attr(seg, "name")))
  set.seed(13)
  refused <- 0L
  for (i in 1:500) {
    h <- as.raw(sample.int(256L, sample.int(70L, 1L), replace = TRUE) - 1L)
    refused <- refused + inherits(tryCatch(ns$shm_open(h), mangoro_shm_refused_error = identity), "error")
  }
  expect_identical(refused, 500L)
  # Every single-byte change of a valid handle is refused (the name, the
  # length, the header fields), and the genuine segment stays in place.
  for (i in seq_along(good)) {
    h <- good
    h[i] <- xor(h[i], as.raw(0x01))
    expect_error(ns$shm_open(h), class = "mangoro_shm_refused_error")
  }
  expect_identical(shm_names(Sys.getpid()), attr(seg, "name"))
})
