# The shared memory pieces measured directly (round one: not yet wired into
# mangoro_rpc_call). shm-peer (tests/testthat/go/shm-peer) is a bare mangos
# rep socket with ops on float64 payloads, so these figures hold no Arrow
# encoding on either path: they compare moving the bytes, not the codecs.

start_shm_peer <- function(ctx) {
  bin <- mangoro_go_build(file.path(dirname(ctx$bench_dir), "tests", "testthat", "go", "shm-peer"),
                          out = file.path(ctx$bin_dir, "shm-peer"), gocache = ctx$gocache, quiet = TRUE)
  url <- create_ipc_path("shm-peer")
  proc <- processx::process$new(bin, url, stdin = "|", stdout = "|",
                                stderr = tempfile("shm-peer-", fileext = ".log"), cleanup = TRUE)
  if (proc$poll_io(10000)[["output"]] != "ready") stop("shm-peer did not start")
  proc$read_output_lines()
  sock <- nanonext::socket("req", dial = url)
  list(proc = proc, sock = sock, ctx = nanonext::context(sock))
}

close_shm_peer <- function(peer) {
  try(close(peer$sock), silent = TRUE)
  close(peer$proc$get_input_connection())
  peer$proc$wait(5000)
  if (peer$proc$is_alive()) peer$proc$kill()
}

shm_ask <- function(peer, op, arg) {
  r <- nanonext::collect_aio(nanonext::request(peer$ctx, c(charToRaw(op), arg), send_mode = "raw",
                                               recv_mode = "raw", timeout = 60000))
  if (!is.raw(r) || !identical(rawToChar(r[1:2]), "ok")) stop("shm-peer: ", rawToChar(r))
  r[-(1:2)]
}

shm <- asNamespace("mangoro")

# R writes x and y into a fresh segment, sends the handle, Go maps it and
# replies with the sum of the doubles.
shm_sum_call <- function(peer, x, y) {
  seg <- shm$shm_create(8 * (length(x) + length(y)))
  shm$shm_write(seg, 0, x)
  shm$shm_write(seg, 8 * length(x), y)
  readBin(shm_ask(peer, "s", attr(seg, "handle")), "double", 1L)
}

# The socket path of the same work: the bytes in the message.
socket_sum_call <- function(peer, x, y) {
  readBin(shm_ask(peer, "b", c(writeBin(x, raw()), writeBin(y, raw()))), "double", 1L)
}

# The shared memory add prototype: x and y out in one segment, x + y back in
# another, mapped by R as an ALTREP double vector (no copy).
shm_add_call <- function(peer, x, y) {
  seg <- shm$shm_create(16 * length(x))
  shm$shm_write(seg, 0, x)
  shm$shm_write(seg, 8 * length(x), y)
  h <- shm_ask(peer, "a", attr(seg, "handle"))
  shm$shm_view(shm$shm_open(h), "double", 0, length(x))
}

scenario_shm_direct <- function(ctx, n = 1e7) {
  peer <- start_shm_peer(ctx)
  on.exit(close_shm_peer(peer), add = TRUE)
  x <- seq_len(n) + 0.5
  y <- rep_len(c(1.25, 2.5), n)
  stopifnot(all.equal(shm_sum_call(peer, x, y), sum(x) + sum(y)),
            all.equal(socket_sum_call(peer, x, y), sum(x) + sum(y)),
            identical(shm_add_call(peer, x, y), x + y),
            identical(mangoro_rpc_call(ctx$srv, "add", data.frame(x = x, y = y), timeout = 60000)$result, x + y))
  warm <- shm$shm_create(16 * n)
  it <- if (quick) 3 else 10
  bm <- bench::mark(
    shm_sum = shm_sum_call(peer, x, y),
    socket_sum = socket_sum_call(peer, x, y),
    shm_add = shm_add_call(peer, x, y),
    socket_add_mangoro = mangoro_rpc_call(ctx$srv, "add", data.frame(x = x, y = y), timeout = 60000),
    segment_create_write = { s <- shm$shm_create(16 * n); shm$shm_write(s, 0, x); shm$shm_write(s, 8 * n, y); shm$shm_unlink(attr(s, "name")) },
    memcpy_warm = { shm$shm_write(warm, 0, x); shm$shm_write(warm, 8 * n, y) },
    local_add = x + y,
    iterations = it, check = FALSE, filter_gc = FALSE, memory = TRUE
  )
  shm$shm_unlink(attr(warm, "name"))
  data.frame(
    what = as.character(bm$expression),
    median_ms = vapply(bm$time, function(t) stats::median(as.numeric(t)) * 1e3, 0),
    mem_alloc_mb = as.numeric(bm$mem_alloc) / 1e6,
    n = n, stringsAsFactors = FALSE
  )
}
