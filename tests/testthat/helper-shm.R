# Shared memory tests: skip where the platform has no shm path, list what a
# test left in /dev/shm, and talk to the shm-peer Go program.

skip_if_no_shm <- function() {
  if (!mangoro:::shm_supported()) skip("no shared memory path on this platform (Linux only)")
}

# Segment names (as "/mangoro-...") in /dev/shm created by `pid`.
shm_names <- function(pid) {
  files <- list.files("/dev/shm", pattern = sprintf("^mangoro-%d-[0-9a-f]{16}$", pid))
  if (length(files)) paste0("/", files) else character()
}

# A running shm-peer on a fresh ipc address, with a req socket to it.
local_shm_peer <- function(.local_envir = parent.frame()) {
  url <- sprintf("ipc://%s", tempfile("shm-peer-", tmpdir = withr::local_tempdir(.local_envir = .local_envir)))
  p <- local_go_process(test_program("shm-peer"), url, .local_envir = .local_envir)
  sock <- nanonext::socket("req", dial = url)
  withr::defer(close(sock), envir = .local_envir)
  list(process = p, sock = sock)
}

# Sends op byte + argument, returns list(status, body) of the reply.
shm_peer_ask <- function(peer, op, arg = raw()) {
  reply <- nanonext::request(nanonext::context(peer$sock), c(charToRaw(op), arg),
                             send_mode = "raw", recv_mode = "raw", timeout = 10000)[]
  if (!is.raw(reply)) stop("shm-peer did not answer: ", format(reply))
  if (length(reply) >= 2L && identical(rawToChar(reply[1:2]), "ok")) {
    return(list(status = "ok", body = reply[-(1:2)]))
  }
  list(status = sub(":.*", "", rawToChar(reply)), body = rawToChar(reply))
}

u64 <- function(n) writeBin(c(as.integer(n %% 2^32 - (n %% 2^32 >= 2^31) * 2^32), as.integer(n %/% 2^32)), raw(), size = 4L, endian = "little")
f64 <- function(b) readBin(b, "double", n = 1L, size = 8L, endian = "little")
