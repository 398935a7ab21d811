# The HTTP(S) file server of inst/go/cmd/http-server, driven from R and
# checked with real HTTP clients: base R (url(), download.file(),
# curlGetHeaders()), the curl package and, when installed, the curl program.

# Starts the http-server controller for the calling test; closing it ends
# the HTTP servers it runs.
local_http_controller <- function(.local_envir = parent.frame()) {
  local_mangoro_server(test_program("http-server"), .local_envir = .local_envir)
}

# A served directory and, next to it, one that must never be served:
#   site/hello.txt, data.csv, app.wasm, sub/file.json, page/index.html,
#   site/.secret, site/link-in -> hello.txt, site/link-out -> ../outside/secret.txt,
#   site/dir-out -> ../outside; outside/secret.txt.
local_site <- function(.local_envir = parent.frame()) {
  base <- withr::local_tempdir("http-", .local_envir = .local_envir)
  site <- file.path(base, "site")
  dir.create(file.path(site, "sub"), recursive = TRUE)
  dir.create(file.path(site, "page"))
  dir.create(file.path(base, "outside"))
  writeLines("hello world", file.path(site, "hello.txt"))
  writeLines(c("x,y", "1,2"), file.path(site, "data.csv"))
  writeBin(as.raw(c(0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0)), file.path(site, "app.wasm"))
  writeLines('{"a":1}', file.path(site, "sub", "file.json"))
  writeLines("<p>page</p>", file.path(site, "page", "index.html"))
  writeLines("TOP SECRET", file.path(site, ".secret"))
  writeLines("TOP SECRET", file.path(base, "outside", "secret.txt"))
  # Windows may not allow symbolic links; the symlink checks then drop out.
  links <- suppressWarnings(c(
    file.symlink("hello.txt", file.path(site, "link-in")),
    file.symlink(file.path("..", "outside", "secret.txt"), file.path(site, "link-out")),
    file.symlink(file.path("..", "outside"), file.path(site, "dir-out"))
  ))
  if (.Platform$OS.type == "unix" && !all(links)) stop("could not create symbolic links in ", base)
  structure(site, symlinks = all(links))
}

has_symlinks <- function(site) isTRUE(attr(site, "symlinks"))
on_unix <- .Platform$OS.type == "unix"

# One request with the curl package; path_as_is keeps "../" as written.
fetch <- function(url, ..., handle = curl::new_handle()) {
  curl::handle_setopt(handle, ...)
  res <- curl::curl_fetch_memory(url, handle = handle)
  res$text <- rawToChar(res$content)
  res$headers <- curl::parse_headers_list(res$headers)
  res
}

test_that("start binds at once, reports the real port, and serves files to real clients", {
  ctl <- local_http_controller()
  site <- local_site()
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, silent = FALSE)

  expect_s3_class(srv, "data.frame")
  expect_identical(nrow(srv), 1L)
  expect_identical(srv$status, "ok")
  expect_match(srv$addr, "^127\\.0\\.0\\.1:[0-9]+$")
  expect_false(endsWith(srv$addr, ":0"))
  expect_identical(srv$url, paste0("http://", srv$addr, "/"))
  expect_identical(srv$dir, normalizePath(site))
  expect_false(srv$tls)
  expect_identical(srv$message, paste("HTTP server started on", srv$addr))

  # No waiting: the listener was bound before the reply.
  con <- url(paste0(srv$url, "hello.txt"))
  expect_identical(readLines(con, warn = FALSE), "hello world")
  close(con)
  dest <- withr::local_tempfile()
  expect_identical(utils::download.file(paste0(srv$url, "data.csv"), dest, quiet = TRUE), 0L)
  expect_identical(readLines(dest), c("x,y", "1,2"))
  hdr <- curlGetHeaders(paste0(srv$url, "app.wasm"))
  expect_identical(attr(hdr, "status"), 200L)
  expect_true(any(grepl("^Content-Type: application/wasm", hdr, ignore.case = TRUE)))

  res <- fetch(paste0(srv$url, "sub/file.json"))
  expect_identical(res$status_code, 200L)
  expect_identical(res$text, '{"a":1}\n')
  expect_identical(res$headers[["content-type"]], "application/json")
  expect_identical(res$headers[["x-content-type-options"]], "nosniff")
  expect_null(res$headers[["access-control-allow-origin"]])
  expect_identical(fetch(paste0(srv$url, "data.csv"))$headers[["content-type"]], "text/csv; charset=utf-8")
  expect_identical(fetch(paste0(srv$url, "page/"))$text, "<p>page</p>\n")
  if (has_symlinks(site)) expect_identical(fetch(paste0(srv$url, "link-in"))$text, "hello world\n")

  head <- fetch(paste0(srv$url, "hello.txt"), nobody = TRUE)
  expect_identical(head$status_code, 200L)
  expect_identical(head$headers[["content-length"]], "12")
  expect_length(head$content, 0L)

  # Directory without index.html: listed, as the address is a loopback one.
  listing <- fetch(paste0(srv$url, "sub/"))
  expect_identical(listing$status_code, 200L)
  expect_match(listing$text, '<a href="file.json">file.json</a>', fixed = TRUE)
  # A directory without its slash is redirected.
  redir <- fetch(paste0(srv$url, "sub"), followlocation = FALSE)
  expect_identical(redir$status_code, 301L)
  expect_identical(redir$headers[["location"]], "/sub/")
  expect_identical(fetch(paste0(srv$url, "nope.txt"))$status_code, 404L)
  expect_identical(fetch(paste0(srv$url, "hello.txt"), customrequest = "DELETE")$status_code, 405L)

  st <- mangoro_http_status(ctl)
  expect_identical(st$status, "running")
  expect_identical(st$message, paste("running at", srv$addr))
  expect_identical(st$url, srv$url)
  # Each request was logged: method, path, status, size, duration, client.
  log <- mangoro_server_log(ctl, 100L)
  expect_true(any(grepl('GET "/sub/file.json" 200 8B [0-9.]+ms 127\\.0\\.0\\.1:[0-9]+$', log)))
  expect_true(any(grepl('HEAD "/hello.txt" 200 0B', log, fixed = TRUE)))
})

test_that("range requests answer 206 with Content-Range, or 416", {
  ctl <- local_http_controller()
  srv <- mangoro_http_start(ctl, addr = "0", dir = local_site(), silent = TRUE)
  u <- paste0(srv$url, "hello.txt")

  res <- fetch(u, range = "0-4")
  expect_identical(res$status_code, 206L)
  expect_identical(res$text, "hello")
  expect_identical(res$headers[["content-range"]], "bytes 0-4/12")
  expect_identical(res$headers[["accept-ranges"]], "bytes")

  res <- fetch(u, range = "6-")
  expect_identical(res$status_code, 206L)
  expect_identical(res$text, "world\n")
  expect_identical(res$headers[["content-range"]], "bytes 6-11/12")

  res <- fetch(u, range = "100-200")
  expect_identical(res$status_code, 416L)
  expect_identical(res$headers[["content-range"]], "bytes */12")
})

test_that("cors and coop send the cross-origin headers, and preflight is answered", {
  ctl <- local_http_controller()
  site <- local_site()
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, cors = TRUE, coop = TRUE, silent = TRUE)

  res <- fetch(paste0(srv$url, "hello.txt"), range = "0-1",
               httpheader = "Origin: https://elsewhere.example")
  expect_identical(res$status_code, 206L)
  h <- res$headers
  expect_identical(h[["access-control-allow-origin"]], "*")
  exposed <- trimws(strsplit(h[["access-control-expose-headers"]], ",")[[1]])
  expect_true(all(c("Content-Range", "Content-Length", "Accept-Ranges") %in% exposed))
  expect_identical(h[["cross-origin-opener-policy"]], "same-origin")
  expect_identical(h[["cross-origin-embedder-policy"]], "require-corp")
  expect_identical(h[["cross-origin-resource-policy"]], "cross-origin")

  pre <- fetch(paste0(srv$url, "hello.txt"), customrequest = "OPTIONS",
               httpheader = c("Origin: https://elsewhere.example",
                              "Access-Control-Request-Method: GET",
                              "Access-Control-Request-Headers: range"))
  expect_identical(pre$status_code, 204L)
  expect_identical(pre$headers[["access-control-allow-origin"]], "*")
  expect_match(pre$headers[["access-control-allow-methods"]], "GET")
  expect_match(pre$headers[["access-control-allow-headers"]], "\\bRange\\b")
  # Error responses carry the headers too, so a page can read the status.
  expect_identical(fetch(paste0(srv$url, "nope"))$headers[["access-control-allow-origin"]], "*")

  # Without the options, none of these headers.
  plain <- mangoro_http_start(ctl, addr = 0, dir = site, silent = TRUE)
  h <- fetch(paste0(plain$url, "hello.txt"))$headers
  expect_null(h[["access-control-allow-origin"]])
  expect_null(h[["cross-origin-opener-policy"]])
  expect_null(h[["cross-origin-embedder-policy"]])
})

test_that("nothing outside dir is served: traversal, encodings, symlinks and dotfiles answer 4xx", {
  ctl <- local_http_controller()
  site <- local_site()
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, prefix = "/files/", listing = TRUE,
                            dotfiles = FALSE, silent = TRUE)
  base <- paste0("http://", srv$addr)
  expect_identical(srv$url, paste0(base, "/files/"))

  attempts <- c(
    "/files/../outside/secret.txt" = 400L,
    "/files/sub/../../outside/secret.txt" = 400L,
    "/files/%2e%2e/outside/secret.txt" = 400L,
    "/files/%2E%2E/outside/secret.txt" = 400L,
    "/files/.%2e/outside/secret.txt" = 400L,
    "/files/..%2foutside%2fsecret.txt" = 400L,
    "/files/sub%2F..%2F..%2Foutside%2Fsecret.txt" = 400L,
    "/files/..%5coutside%5csecret.txt" = 400L,
    "/files/..\\outside\\secret.txt" = 400L,
    "/files//etc/passwd" = 400L,
    "//etc/passwd" = 400L,
    "/files/hello.txt%00.csv" = 400L,
    "/files/./hello.txt" = 400L,
    "/files/.." = 400L,
    "/files/.secret" = 404L,
    "/files/%2esecret" = 404L,
    "/outside/secret.txt" = 404L,
    "/hello.txt" = 404L
  )
  if (has_symlinks(site)) {
    attempts <- c(attempts, "/files/link-out" = 403L, "/files/dir-out/secret.txt" = 403L,
                  "/files/dir-out/" = 403L)
  }
  for (path in names(attempts)) {
    res <- fetch(paste0(base, path), path_as_is = TRUE)
    expect_identical(res$status_code, attempts[[path]], label = path)
    expect_false(grepl("TOP SECRET", res$text), label = path)
  }
  # The listing shows neither dotfiles nor anything outside.
  listing <- fetch(srv$url)$text
  expect_match(listing, 'href="hello.txt"', fixed = TRUE)
  expect_false(grepl(".secret", listing, fixed = TRUE))
  expect_identical(fetch(paste0(srv$url, "hello.txt"))$text, "hello world\n")

  # The curl program, when there is one, sends the raw paths too.
  curl_bin <- Sys.which("curl")
  if (nzchar(curl_bin)) {
    body <- withr::local_tempfile()
    for (path in c("/files/../outside/secret.txt", "/files/%2e%2e/outside/secret.txt", "/files/.secret")) {
      out <- processx::run(curl_bin, c("-s", "--path-as-is", "-o", body, "-w", "%{http_code}",
                                       paste0(base, path)))
      expect_identical(out$stdout, as.character(attempts[[path]]), label = path)
      expect_false(any(grepl("TOP SECRET", readLines(body, warn = FALSE))), label = path)
    }
  }
})

test_that("HTTPS works with a self-signed pair, verified against its CA", {
  ctl <- local_http_controller()
  site <- local_site()
  # One key pair for the file: RSA key generation takes seconds.
  dir <- file.path(withr::local_tempdir(), "tls")
  pair <- mangoro_http_selfsigned("127.0.0.1", dir = dir)
  expect_identical(names(pair), c("cert", "key", "ca"))
  expect_identical(pair$ca, pair$cert)
  expect_identical(dirname(pair$key), normalizePath(dir))
  if (on_unix) {
    expect_identical(format(file.info(dir)$mode), "700")
    expect_identical(format(file.info(pair$key)$mode), "600")
  }
  expect_match(readLines(pair$cert, n = 1L), "BEGIN CERTIFICATE")
  expect_match(readLines(pair$key, n = 1L), "PRIVATE KEY")

  srv <- mangoro_http_start(ctl, addr = 0, dir = site, tls = TRUE, cert = pair$cert, key = pair$key,
                            silent = TRUE)
  expect_true(srv$tls)
  expect_match(srv$url, "^https://127\\.0\\.0\\.1:[0-9]+/$")

  res <- fetch(paste0(srv$url, "hello.txt"), cainfo = pair$ca, range = "0-4")
  expect_identical(res$status_code, 206L)
  expect_identical(res$text, "hello")
  # Without trusting the CA (system store only), verification fails.
  expect_error(fetch(paste0(srv$url, "hello.txt")), "certificate|SSL")
  curl_bin <- Sys.which("curl")
  if (nzchar(curl_bin)) {
    out <- processx::run(curl_bin, c("-s", "--cacert", pair$ca, paste0(srv$url, "hello.txt")))
    expect_identical(out$stdout, "hello world\n")
  }
})

test_that("stop is graceful, then status says stopped", {
  ctl <- local_http_controller()
  site <- local_site()
  size <- 32L * 1048576L # more than the socket buffers hold, so it is in flight
  writeBin(as.raw(rep_len(0:255, size)), file.path(site, "big.bin"))
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, silent = TRUE)

  con <- curl::curl(paste0(srv$url, "big.bin"), open = "rb")
  on.exit(close(con), add = TRUE)
  first <- readBin(con, "raw", 65536L)
  expect_length(first, 65536L)
  stopping <- mangoro_rpc_call_aio(ctl, "stopServer", list(addr = "", grace = 30000))
  got <- length(first)
  repeat {
    chunk <- readBin(con, "raw", 1048576L)
    if (!length(chunk)) break
    got <- got + length(chunk)
  }
  expect_identical(got, size) # the download finished during the stop
  stopped <- mangoro_aio_result(stopping)
  expect_identical(stopped$status, "ok")
  expect_identical(stopped$message, "HTTP server stopped")
  expect_identical(stopped$url, srv$url)

  st <- mangoro_http_status(ctl)
  expect_identical(st$status, "stopped")
  expect_identical(st$message, "stopped")
  expect_true(is.na(st$addr))
  expect_error(curl::curl_fetch_memory(paste0(srv$url, "hello.txt")))
  # Stopping again without an address is fine.
  expect_identical(mangoro_http_stop(ctl)$message, "no HTTP server was running")
})

test_that("a stop whose grace period ends closes downloads still going", {
  ctl <- local_http_controller()
  site <- local_site()
  size <- 32L * 1048576L
  writeBin(as.raw(rep_len(0:255, size)), file.path(site, "big.bin"))
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, silent = TRUE)
  con <- curl::curl(paste0(srv$url, "big.bin"), open = "rb")
  on.exit(close(con), add = TRUE)
  expect_length(readBin(con, "raw", 65536L), 65536L)
  stopped <- mangoro_http_stop(ctl, grace = 0)
  expect_match(stopped$message, "open connections were closed")
  got <- tryCatch({
    n <- 65536
    repeat {
      chunk <- readBin(con, "raw", 1048576L)
      if (!length(chunk)) break
      n <- n + length(chunk)
    }
    n
  }, error = function(e) NA)
  expect_true(is.na(got) || got < size)
})

test_that("several servers run at once, addressed by addr", {
  ctl <- local_http_controller()
  site <- local_site()
  a <- mangoro_http_start(ctl, addr = "127.0.0.1:0", dir = site, silent = TRUE)
  b <- mangoro_http_start(ctl, addr = ":0", dir = file.path(site, "sub"), prefix = "json", silent = TRUE)
  expect_identical(fetch(paste0(b$url, "file.json"))$text, '{"a":1}\n')
  expect_match(b$url, "/json/$")

  all <- mangoro_http_status(ctl)
  expect_identical(nrow(all), 2L)
  expect_setequal(all$addr, c(a$addr, b$addr))
  expect_identical(mangoro_http_status(ctl, addr = b$addr)$url, b$url)
  port <- as.integer(sub(".*:", "", a$addr))
  expect_identical(mangoro_http_status(ctl, addr = port)$addr, a$addr) # a bare port means 127.0.0.1

  one <- mangoro_http_stop(ctl, addr = a$addr)
  expect_identical(one$addr, a$addr)
  expect_identical(mangoro_http_status(ctl)$addr, b$addr)
  err <- expect_error(mangoro_http_stop(ctl, addr = a$addr), class = "mangoro_http_error")
  expect_identical(err$reason, "not_running")
  expect_match(conditionMessage(err), b$addr, fixed = TRUE)
  expect_identical(mangoro_http_status(ctl, addr = a$addr)$status, "stopped")
})

test_that("refusals are classed errors that say what is wrong", {
  ctl <- local_http_controller()
  site <- local_site()
  srv <- mangoro_http_start(ctl, addr = 0, dir = site, silent = TRUE)

  err <- expect_error(mangoro_http_start(ctl, addr = srv$addr, dir = site), class = "mangoro_http_error")
  expect_s3_class(err, "mangoro_remote_error")
  expect_s3_class(err, "mangoro_error")
  expect_identical(err$reason, "already_running")
  expect_match(conditionMessage(err), paste("already running at", srv$url), fixed = TRUE)

  # The same port held by another program (here another controller).
  other <- local_http_controller()
  err <- expect_error(mangoro_http_start(other, addr = srv$addr, dir = site), class = "mangoro_http_error")
  expect_identical(err$reason, "addr_in_use")
  expect_match(conditionMessage(err), paste("address", srv$addr, "is already in use"), fixed = TRUE)

  err <- expect_error(mangoro_http_start(ctl, addr = 0, dir = file.path(site, "nope")),
                      class = "mangoro_http_error")
  expect_identical(err$reason, "dir")
  expect_match(conditionMessage(err), "does not exist")
  err <- expect_error(mangoro_http_start(ctl, addr = 0, dir = file.path(site, "hello.txt")),
                      class = "mangoro_http_error")
  expect_match(conditionMessage(err), "is not a directory")

  missing_cert <- file.path(site, "missing.pem")
  err <- expect_error(mangoro_http_start(ctl, addr = 0, dir = site, tls = TRUE, cert = missing_cert,
                                         key = missing_cert), class = "mangoro_http_error")
  expect_identical(err$reason, "tls")
  expect_match(conditionMessage(err), "cert file .* does not exist")
  err <- expect_error(mangoro_http_start(ctl, addr = 0, dir = site, tls = TRUE,
                                         cert = file.path(site, "hello.txt"), key = file.path(site, "hello.txt")),
                      class = "mangoro_http_error")
  expect_match(conditionMessage(err), "cannot load the TLS certificate")
  err <- expect_error(mangoro_http_start(ctl, addr = "nohost:x:y", dir = site), class = "mangoro_http_error")
  expect_identical(err$reason, "addr")
  err <- expect_error(mangoro_http_start(ctl, addr = 0, dir = site, prefix = "/a/../b"),
                      class = "mangoro_http_error")
  expect_match(conditionMessage(err), "prefix")

  # Checked in R before anything is sent.
  expect_error(mangoro_http_start(ctl, dir = site), class = "mangoro_input_error")
  expect_error(mangoro_http_start(ctl, addr = "", dir = site), class = "mangoro_input_error")
  expect_error(mangoro_http_start(ctl, addr = 0, dir = site, tls = TRUE), "needs both",
               class = "mangoro_input_error")
  expect_error(mangoro_http_start(ctl, addr = 0, dir = site, cert = missing_cert, key = missing_cert),
               "only used with", class = "mangoro_input_error")
  expect_error(mangoro_http_start(ctl, addr = 0, dir = site, cors = NA), class = "mangoro_input_error")
  expect_error(mangoro_http_start(ctl, addr = 0, dir = c(site, site)), class = "mangoro_input_error")
  expect_error(mangoro_http_stop(ctl, grace = -1), class = "mangoro_input_error")

  # None of this disturbed the running server.
  expect_identical(mangoro_http_status(ctl)$url, srv$url)
  expect_identical(fetch(paste0(srv$url, "hello.txt"))$status_code, 200L)
})

test_that("the controller accepts a nanonext socket as well as the server object", {
  ctl <- local_http_controller()
  sock <- nanonext::socket("req", dial = ctl$url)
  on.exit(close(sock), add = TRUE)
  srv <- mangoro_http_start(sock, addr = 0, dir = local_site(), silent = TRUE)
  expect_identical(mangoro_http_status(ctl)$addr, srv$addr)
  expect_identical(mangoro_http_stop(sock)$status, "ok")
})

test_that("listing and dotfiles default on for a loopback address, off for any other", {
  ctl <- local_http_controller()
  site <- local_site()
  get <- function(srv, path) fetch(paste0(srv$url, path))$status_code
  # What each server answers for a directory without index.html, a dotfile
  # and (where there are symlinks) a link leaving dir.
  answers <- function(srv) {
    c(listing = get(srv, "sub/"), dotfile = get(srv, ".secret"),
      link_out = if (has_symlinks(site)) get(srv, "link-out") else 403L)
  }
  loop <- mangoro_http_start(ctl, addr = "127.0.0.1:0", dir = site, silent = TRUE)
  expect_identical(answers(loop), c(listing = 200L, dotfile = 200L, link_out = 403L))
  off <- mangoro_http_start(ctl, addr = 0, dir = site, listing = FALSE, dotfiles = FALSE, silent = TRUE)
  expect_identical(answers(off), c(listing = 403L, dotfile = 404L, link_out = 403L))

  # Bound to every interface, but reached only through 127.0.0.1.
  any_if <- mangoro_http_start(ctl, addr = "0.0.0.0:0", dir = site, silent = TRUE)
  expect_match(any_if$url, "^http://127\\.0\\.0\\.1:[0-9]+/$")
  expect_identical(answers(any_if), c(listing = 403L, dotfile = 404L, link_out = 403L))
  on <- mangoro_http_start(ctl, addr = "0.0.0.0:0", dir = site, listing = TRUE, dotfiles = TRUE,
                           silent = TRUE)
  expect_identical(answers(on), c(listing = 200L, dotfile = 200L, link_out = 403L))
  expect_identical(nrow(mangoro_http_stop(ctl)), 4L)
  expect_error(mangoro_http_start(ctl, addr = 0, dir = site, listing = NA), class = "mangoro_input_error")
})

test_that("mangoro_http_selfsigned() checks its input", {
  expect_error(mangoro_http_selfsigned(NA_character_), class = "mangoro_input_error")
  expect_error(mangoro_http_selfsigned(""), class = "mangoro_input_error")
  expect_error(mangoro_http_selfsigned(1), class = "mangoro_input_error")
})

test_that("the dotfile rule holds for what a link leads to, and the listing shows only what is served", {
  skip_if_not(on_unix, "symbolic links and FIFOs need a Unix file system")
  ctl <- local_http_controller()
  site <- local_site()
  expect_true(file.symlink(".secret", file.path(site, "env")))
  fifo <- file.path(site, "pipe")
  status <- system2("mkfifo", shQuote(fifo))
  skip_if(status != 0L || !file.exists(fifo), "mkfifo failed")
  for (dotfiles in c(FALSE, TRUE)) {
    srv <- mangoro_http_start(ctl, addr = 0, dir = site, listing = TRUE, dotfiles = dotfiles, silent = TRUE)
    env <- fetch(paste0(srv$url, "env"))
    expect_identical(env$status_code, if (dotfiles) 200L else 404L, label = paste("env, dotfiles", dotfiles))
    expect_identical(grepl("TOP SECRET", env$text), dotfiles)
    expect_identical(fetch(paste0(srv$url, "pipe"))$status_code, 403L)
    listing <- fetch(srv$url)$text
    expect_match(listing, 'href="link-in"', fixed = TRUE)
    expect_match(listing, 'href="sub/"', fixed = TRUE)
    for (hidden in c("link-out", "dir-out", "pipe")) {
      expect_false(grepl(hidden, listing, fixed = TRUE), label = paste(hidden, "listed, dotfiles", dotfiles))
    }
    expect_identical(grepl('href="env"', listing, fixed = TRUE), dotfiles)
    expect_identical(grepl('href=".secret"', listing, fixed = TRUE), dotfiles)
    mangoro_http_stop(ctl, srv$addr)
  }
})
