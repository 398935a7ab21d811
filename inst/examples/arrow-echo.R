# Build the echo example, start it, send it a data frame as an Arrow IPC
# stream and print what came back from Go.
library(mangoro)

src <- system.file("go", "cmd", "echo", package = "mangoro")
bin <- mangoro_go_build(src)

url <- create_ipc_path("echo")
go <- processx::process$new(bin, c(url, "arrow"), stdin = "|", stdout = "|", stderr = "",
                            env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin"),
                            cleanup = TRUE)
# Wait for the program to say it listens (or to exit), not for a fixed time.
if (go$poll_io(10000)[["output"]] != "ready" || !length(go$read_output_lines(1L))) {
  stop("the echo program did not start")
}

sock <- nanonext::socket("req", dial = url)
df <- data.frame(
  x = c(1.5, 2.5, NA), label = c("a", "b", NA), flag = c(TRUE, NA, FALSE),
  day = as.Date("2026-11-21") + 0:2, stringsAsFactors = FALSE
)
con <- rawConnection(raw(0), "wb")
nanoarrow::write_nanoarrow(df, con)
request <- rawConnectionValue(con)
close(con)

reply <- nanonext::call_aio(nanonext::request(nanonext::context(sock), request,
                                              send_mode = "raw", recv_mode = "raw",
                                              timeout = 10000))$data
back <- as.data.frame(nanoarrow::read_nanoarrow(reply))
cat("Data frame that came back from Go (mangos ", get_mangos_version(),
    ", arrow-go ", get_arrow_go_version(), "):\n", sep = "")
print(back)
stopifnot(identical(back, df))

close(sock)
invisible(go$kill())
