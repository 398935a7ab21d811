# A fake mangoro server for test-hardening.R: listens on <url> (nanonext rep)
# and answers the k-th request with the k-th reply in <replies.rds>,
# whatever was asked, then exits. Prints "fake-ready" once listening. An
# info request (type 4, which R sends once per bare socket) is answered with
# an empty error reply ("no info") and consumes no reply.
args <- commandArgs(trailingOnly = TRUE)
replies <- readRDS(args[[2L]])
s <- nanonext::socket("rep", listen = args[[1L]])
cat("fake-ready\n")
flush(stdout())
for (r in replies) {
  req <- nanonext::recv(s, mode = "raw", block = 30000)
  if (nanonext::is_error_value(req)) break
  while (length(req) && req[[1L]] == as.raw(4L)) {
    nanonext::send(s, as.raw(c(3L, rep(0L, 8L))), mode = "raw", block = 5000)
    req <- nanonext::recv(s, mode = "raw", block = 30000)
    if (nanonext::is_error_value(req)) break
  }
  if (nanonext::is_error_value(req)) break
  nanonext::send(s, r, mode = "raw", block = 5000)
}
close(s)
