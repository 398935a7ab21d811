# The README of mangoro's prototype is what its users have in their scripts.
# Each test runs one of its chunks: its Go programs as text, its R calls as
# written there, and asserts what the README printed. Only its waits differ,
# because tests never sleep:
# * it starts programs with processx and sleeps until they listen; here the
#   req socket's dial (asynchronous, retried by NNG) or a request with a
#   timeout waits for the server instead;
# * its retry loops around send() and recv() sleep a second between tries;
#   here a retry waits (`block =`) for the event itself, the connection or
#   the reply, and the first, non-blocking, try is as written;
# * its HTTP servers use the fixed ports 8080 and 8443; here a free port
#   (`free_port()`), as another program may hold those;
# * its `x |> normalizePath()` is written `normalizePath(x)`: the package
#   supports R 4.0, which cannot parse `|>`.
# Its library() calls attach packages for one test only (withr).

# A TCP port that was free a moment ago (the OS picked it for port 0).
free_port <- function() {
  s <- nanonext::socket("rep", listen = "tcp://127.0.0.1:0")
  on.exit(close(s))
  nanonext::opt(s$listener[[1L]], "tcp-bound-port")
}

test_that("README: on-the-fly Go compilation and echo", {
  skip_if_no_go()
  withr::local_package("nanonext")
  withr::local_package("processx")
  withr::local_package("nanoarrow")

  # vendored mangos version
  expect_match(get_mangos_version(), "^v3\\.")
  go_echo_code <- paste(
    'package main',
    'import (',
    '  "os"',
    '  "go.nanomsg.org/mangos/v3/protocol/rep"',
    '  _ "go.nanomsg.org/mangos/v3/transport/ipc"',
    ')',
    'func main() {',
    '  url := os.Args[1]',
    '  sock, _ := rep.NewSocket()',
    '  sock.Listen(url)',
    '  for {',
    '    msg, _ := sock.Recv()',
    '    newMsg := append(msg, []byte(" [echoed by Go]")...)',
    '    sock.Send(newMsg)',
    '  }',
    '}',
    sep = "\n"
  )

  tmp_go <- tempfile(fileext = ".go")
  writeLines(go_echo_code, tmp_go)

  tmp_bin <- tempfile()
  expect_identical(suppressMessages(mangoro_go_build(tmp_go, tmp_bin)), normalizePath(tmp_bin))

  ipc_url <- create_ipc_path()
  echo_proc <- processx::process$new(tmp_bin, args = ipc_url)
  withr::defer(echo_proc$kill())
  expect_true(echo_proc$is_alive())
  sock <- nanonext::socket("req", dial = ipc_url)
  msg <- charToRaw("hello from R")

  max_attempts <- 20
  send_result <- nanonext::send(sock, msg, mode = "raw")
  attempt <- 1
  while (nanonext::is_error_value(send_result) && attempt < max_attempts) {
    send_result <- nanonext::send(sock, msg, mode = "raw", block = 10000) # the README sleeps a second, then sends again
    attempt <- attempt + 1
  }

  response <- nanonext::recv(sock, mode = "raw")
  attempt <- 1
  while (nanonext::is_error_value(response) && attempt < max_attempts) {
    response <- nanonext::recv(sock, mode = "raw", block = 10000) # the README sleeps a second, then receives again
    attempt <- attempt + 1
  }

  expect_identical(rawToChar(response), "hello from R [echoed by Go]")
  close(sock)
  expect_true(echo_proc$kill())
})

test_that("README: Arrow IPC with nanoarrow for serialization (old arrow import path)", {
  skip_if_no_go()
  withr::local_package("nanoarrow")
  cfg <- nanonext::serial_config(
    "ArrowTabular",
    nanoarrow::write_nanoarrow,
    nanoarrow::read_nanoarrow
  )
  ipc_url <- create_ipc_path()
  go_code <- '
package main
import (
  "os"
  "bytes"
  "fmt"
  "go.nanomsg.org/mangos/v3/protocol/rep"
  _ "go.nanomsg.org/mangos/v3/transport/ipc"
  "github.com/apache/arrow/go/v18/arrow/ipc"
  "github.com/apache/arrow/go/v18/arrow/memory"
)
func main() {
  url := os.Args[1]
  sock, _ := rep.NewSocket()
  sock.Listen(url)
  for {
    msg, _ := sock.Recv()
    reader, err := ipc.NewReader(bytes.NewReader(msg), ipc.WithAllocator(memory.DefaultAllocator))
    if err != nil {
      fmt.Println("Arrow IPC error:", err)
      continue
    }
    var buf bytes.Buffer
    writer := ipc.NewWriter(&buf, ipc.WithSchema(reader.Schema()))
    for reader.Next() {
      rec := reader.Record()
      fmt.Println(rec)
      if err := writer.Write(rec); err != nil {
        fmt.Println("Arrow IPC write error:", err)
      }
      rec.Release()
    }
    if err := writer.Close(); err != nil {
      fmt.Println("Arrow IPC writer close error:", err)
    }
    reader.Release()
    sock.Send(buf.Bytes())
  }
}
'
  tmp_go <- tempfile(fileext = ".go")
  writeLines(go_code, tmp_go)
  tmp_bin <- tempfile()
  before <- tools::md5sum(tmp_go)
  msgs <- capture_messages(built <- mangoro_go_build(tmp_go, tmp_bin))
  expect_identical(built, normalizePath(tmp_bin))
  expect_length(grep("old path github.com/apache/arrow/go/v18", msgs, fixed = TRUE), 1L)
  expect_identical(tools::md5sum(tmp_go), before) # the user's file is untouched

  echo_proc <- processx::process$new(tmp_bin, args = ipc_url, stdout = "|", stderr = "|"  )
  withr::defer(echo_proc$kill())

  expect_true(echo_proc$is_alive())
  sock <- nanonext::socket("req", dial = ipc_url)
  nanonext::opt(sock, "serial") <- cfg

  example_stream <- nanoarrow::example_ipc_stream()
  max_attempts <- 20
  send_result <- nanonext::send(sock, example_stream, mode = "raw")
  attempt <- 1
  while (nanonext::is_error_value(send_result) && attempt < max_attempts) {
    send_result <- nanonext::send(sock, example_stream, mode = "raw", block = 10000) # the README sleeps a second, then sends again
    attempt <- attempt + 1
  }
  expect_equal(send_result, 0)
  expect_true(echo_proc$is_alive())
  # The bytes are Arrow, not R serialization: nanonext warns and returns
  # them raw, as the README showed.
  expect_warning({
    received <- nanonext::recv(sock, mode = "serial")
    attempt <- 1
    while (nanonext::is_error_value(received) && attempt < max_attempts) {
      received <- nanonext::recv(sock, mode = "serial", block = 10000) # the README sleeps a second, then receives again
      attempt <- attempt + 1
    }
  }, "could not be unserialized")
  sent_df <- as.data.frame(read_nanoarrow(example_stream))
  received_df <- as.data.frame(read_nanoarrow(received))
  expect_identical(sent_df, data.frame(some_col = 0:2))
  expect_identical(received_df, data.frame(some_col = 0:2))
  expect_true(identical(sent_df, received_df))
  close(sock)
  expect_true(echo_proc$kill())
})

test_that("README: simple RPC with function registration", {
  skip_if_no_go()
  rpc_server_path <- file.path(system.file("go", package = "mangoro"), "cmd", "rpc-example", "main.go")
  rpc_bin <- tempfile()
  expect_identical(suppressMessages(mangoro_go_build(rpc_server_path, rpc_bin)), normalizePath(rpc_bin))

  ipc_url <- create_ipc_path()
  rpc_proc <- processx::process$new(rpc_bin, args = ipc_url, stdout = "|", stderr = "|")
  withr::defer(rpc_proc$kill())
  expect_true(rpc_proc$is_alive())

  # Request the manifest of registered functions
  sock <- nanonext::socket("req", dial = ipc_url)
  manifest <- mangoro_rpc_get_manifest(sock)
  expect_true(all(c("add", "echoString", "echoStruct", "transposeMatrix") %in% names(manifest)))
  expect_s3_class(manifest$add$Args, "data.frame")
  expect_identical(manifest$add$Args$Name, c("x", "y"))
  expect_identical(names(manifest$add$Args), c("Name", "Type", "Optional", "Default"))
  expect_identical(names(manifest$add$Args$Type), c("Type", "Nullable", "StructDef", "ListSchema"))
  expect_identical(manifest$add$Args$Type$Type, c("float64", "float64"))
  expect_identical(manifest$add$Args$Type$Nullable, c(TRUE, TRUE))
  expect_identical(manifest$add$Args$Optional, c(FALSE, FALSE))
  expect_identical(manifest$add$ReturnType$Type, "float64")
  expect_true(manifest$add$ReturnType$Nullable)
  expect_null(manifest$add$ReturnType$StructDef)
  expect_true(manifest$add$Vectorized)
  expect_type(manifest$add$Metadata$description, "character")
  expect_identical(manifest$echoString$Args$Name, "s")
  expect_identical(manifest$echoString$Args$Type$Type, "string")
  expect_identical(manifest$echoString$ReturnType$Type, "string")
  expect_identical(manifest$echoStruct$Args$Name, "person")
  expect_identical(manifest$echoStruct$Args$Type$Type, "struct")
  expect_identical(manifest$echoStruct$ReturnType$Type, "struct")
  expect_identical(manifest$transposeMatrix$Args, list())
  close(sock)

  # Call the add function with Arrow IPC data
  sock <- nanonext::socket("req", dial = ipc_url)
  input_df <- data.frame(x = c(1.5, 2.5, 3.5, NA), y = c(0.5, 1.5, 2.5, 4.5))
  result <- mangoro_rpc_call(sock, "add", input_df)
  result_df <- as.data.frame(result)
  expect_identical(result_df, data.frame(result = c(2, 4, 6, NA)))
  expect_identical(result_df$result, input_df$x + input_df$y)
  close(sock)

  # Call the echoString function to test string handling
  sock <- nanonext::socket("req", dial = ipc_url)
  input_df <- data.frame(s = c("hello", "world", NA, "mangoro"))
  result <- mangoro_rpc_call(sock, "echoString", input_df)
  result_df <- as.data.frame(result)
  expect_identical(names(result_df), "result")
  expect_true(identical(input_df$s, result_df$result))
  close(sock)

  # Call the transposeMatrix function
  sock <- nanonext::socket("req", dial = ipc_url)
  mat <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), nrow = 3, ncol = 4)
  input_df <- as.data.frame(mat)
  colnames(input_df) <- paste0("V", 1:ncol(mat))
  result <- mangoro_rpc_call(sock, "transposeMatrix", input_df)
  result_df <- as.data.frame(result)
  expect_true(isTRUE(all.equal(as.matrix(result_df), t(mat), check.attributes = FALSE)))
  close(sock)

  # Call the echoStruct function: nested/struct column handling
  sock <- nanonext::socket("req", dial = ipc_url)
  person_df <- data.frame(
      name = c("Alice", "Bob", "Charlie"),
      age = c(30L, 25L, 35L),
      stringsAsFactors = FALSE
  )
  input_df <- data.frame(person = I(person_df))
  result <- mangoro_rpc_call(sock, "echoStruct", input_df)
  result_df <- as.data.frame(result)
  expect_identical(names(result_df), "person")
  expect_s3_class(result_df$person, "data.frame")
  expect_identical(result_df$person, person_df)
  expect_true(isTRUE(all.equal(input_df$person, result_df$person, check.attributes = FALSE)))
  close(sock)
  expect_true(rpc_proc$kill())
})

test_that("README: HTTP(S) file server with RPC control", {
  skip_if_no_go()
  # The README serves its package directory and downloads .Rbuildignore
  # from it; a directory with the same files stands in for it.
  site <- withr::local_tempdir("readme-site-")
  writeLines(c("^LICENSE$", "^\\.certs_test/.*$", "^misc/.*$"), file.path(site, ".Rbuildignore"))
  dir.create(file.path(site, ".certs_test"))
  pem <- nanonext::write_cert(cn = "127.0.0.1")$server
  writeLines(pem[[1L]], file.path(site, ".certs_test", "cert.pem"))
  writeLines(pem[[2L]], file.path(site, ".certs_test", "key.pem"))
  withr::local_dir(site)

  # Build the HTTP server controller
  http_server_path <- file.path(system.file("go", package = "mangoro"), "cmd", "http-server", "main.go")
  http_bin <- tempfile()
  expect_identical(suppressMessages(mangoro_go_build(http_server_path, http_bin, gomaxprocs = 4)),
                   normalizePath(http_bin))

  # Start the RPC controller (not the HTTP server itself yet)
  ipc_url <- create_ipc_path()
  http_ctl_proc <- processx::process$new(http_bin, args = ipc_url, stdout = "|", stderr = "|")
  withr::defer(http_ctl_proc$kill())
  expect_true(http_ctl_proc$is_alive())

  # Control the HTTP server via RPC
  sock <- nanonext::socket("req", dial = ipc_url)

  # Get server status (should be stopped initially)
  status <- mangoro_http_status(sock)
  expect_identical(status$message, "stopped")

  # Start HTTP server serving current directory (port 8080 in the README)
  addr <- paste0("127.0.0.1:", free_port())
  result <- mangoro_http_start(sock, addr, dir = ".", cors = TRUE)
  expect_identical(result$status, "ok")
  expect_identical(result$message, paste("HTTP server started on", addr))

  # Check status again
  status <- mangoro_http_status(sock)
  expect_identical(status$message, paste("running at", addr))

  # Test accessing the HTTP server
  expect_identical(
    readLines(paste0("http://", addr, "/"), n = 3, warn = FALSE),
    c("<!doctype html>", "<meta name=\"viewport\" content=\"width=device-width\">", "<pre>")
  )
  listing <- readLines(paste0("http://", addr, "/"), warn = FALSE)
  expect_true(all(c("<a href=\".Rbuildignore\">.Rbuildignore</a>",
                    "<a href=\".certs_test/\">.certs_test/</a>") %in% listing))

  # Stop the server
  result <- mangoro_http_stop(sock)
  expect_identical(result$status, "ok")
  expect_identical(result$message, "HTTP server stopped")

  # Verify it stopped
  status <- mangoro_http_status(sock)
  expect_identical(status$message, "stopped")

  # HTTPS/TLS support (port 8443 in the README)
  addr <- paste0("127.0.0.1:", free_port())
  result <- mangoro_http_start(
    sock,
    addr = addr,
    dir = ".",
    tls = TRUE,
    cert = normalizePath(".certs_test/cert.pem"),
    key = normalizePath(".certs_test/key.pem"),
    cors = TRUE
  )
  expect_identical(result$status, "ok")
  expect_identical(result$message, paste("HTTP server started on", addr))

  status <- mangoro_http_status(sock)
  expect_identical(status$message, paste("running at", addr))

  # Download a file from HTTPS server using R's download.file
  skip_if(!nzchar(Sys.which("curl")), "the curl program is not installed (download.file(method = \"curl\"))")
  temp_file <- tempfile()
  download.file(paste0("https://", addr, "/.Rbuildignore"),
                destfile = temp_file,
                method = "curl",
                extra = "-k",
                quiet = TRUE)
  expect_identical(readLines(temp_file, n = 3), c("^LICENSE$", "^\\.certs_test/.*$", "^misc/.*$"))
  # Stop the HTTPS server
  result <- mangoro_http_stop(sock)
  expect_identical(result$status, "ok")
  expect_identical(result$message, "HTTP server stopped")
  close(sock)
  expect_true(http_ctl_proc$kill())
})
