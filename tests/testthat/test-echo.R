# The two flows that prove the foundation: a Go program built with
# mangoro_go_build() answers R over NNG, first with text, then with Arrow data.

test_that("raw echo: R sends text, Go echoes it back", {
  bin <- test_program("echo")
  url <- create_ipc_path("echo")
  local_go_process(bin, c(url, "text"))
  s <- nanonext::socket("req", dial = url)
  on.exit(close(s))
  ans <- nanonext::request(nanonext::context(s), "hello from R", send_mode = "raw",
                           recv_mode = "string", timeout = 5000)
  expect_identical(nanonext::call_aio(ans)$data, "hello from R [echoed by Go]")
})

arrow_echo <- function(s, stream_raw) {
  ans <- nanonext::request(nanonext::context(s), stream_raw, send_mode = "raw",
                           recv_mode = "raw", timeout = 10000)
  out <- nanonext::call_aio(ans)$data
  expect_type(out, "raw")
  as.data.frame(nanoarrow::read_nanoarrow(out))
}

test_that("Arrow echo: Go reads R's IPC stream with arrow-go and writes it back", {
  bin <- test_program("echo")
  url <- create_ipc_path("arrow")
  local_go_process(bin, c(url, "arrow"))
  s <- nanonext::socket("req", dial = url)
  on.exit(close(s))

  sent <- nanoarrow::example_ipc_stream()
  back <- arrow_echo(s, sent)
  expect_identical(back, as.data.frame(nanoarrow::read_nanoarrow(sent)))

  df <- data.frame(
    x = c(1.5, NA, -3, 1e300), n = c(1L, NA, 3L, 4L), s = c("a", NA, "\u00e7", ""),
    b = c(TRUE, NA, FALSE, TRUE),
    d = as.Date(c("2024-01-01", NA, "1970-01-01", "2030-12-31")),
    stringsAsFactors = FALSE
  )
  con <- rawConnection(raw(0), "wb")
  nanoarrow::write_nanoarrow(df, con)
  bytes <- rawConnectionValue(con)
  close(con)
  back <- arrow_echo(s, bytes)
  expect_identical(back, df)
  expect_identical(back$s[3], "\u00e7")
})
