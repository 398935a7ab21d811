# Run in a child R process by test-fuzz.R and tools/fuzz-r.R, so that a crash
# of the decoder is a failed run, not a lost one.
# Usage: Rscript fuzz-child.R <payloads.rds> <mutations> <seed> <gctorture: 0/1>
# With gctorture, each unmutated payload is first decoded under gctorture and
# compared with a normal decoding: line "torture identical=<n>/<m>".
# Prints one line "fuzz ok=<n> protocol=<n> other=<n> cases=<n>", and for
# each unexpected R error "other <case> <message>". Case k is reproducible:
# set.seed(seed + k) then the mutation below.
args <- commandArgs(trailingOnly = TRUE)
payloads <- readRDS(args[[1L]])
n <- as.integer(args[[2L]])
seed <- as.integer(args[[3L]])
torture <- identical(args[[4L]], "1")
suppressPackageStartupMessages(library(mangoro))

# Interesting 32-bit values for a length, offset or count.
edges <- list(c(0, 0, 0, 0), c(255, 255, 255, 255), c(255, 255, 255, 127), c(0, 0, 0, 128), c(1, 0, 0, 0))

mutate <- function(b) {
  len <- length(b)
  switch(sample.int(4L, 1L),
    { at <- sample.int(len, sample(1:4, 1L)); b[at] <- as.raw(sample.int(256L, length(at), TRUE) - 1L) },
    { at <- sample.int(len, 1L); b[at] <- xor(b[at], as.raw(bitwShiftL(1L, sample.int(8L, 1L) - 1L))) },
    { at <- sample.int(max(1L, len - 3L), 1L); b[at + 0:3] <- as.raw(edges[[sample.int(length(edges), 1L)]]) },
    { b <- b[seq_len(sample.int(len, 1L))] }
  )
  b[seq_len(min(length(b), len))]
}

if (torture) {
  same <- vapply(payloads, function(b) {
    want <- mangoro_ipc_read(b)
    gctorture(TRUE)
    got <- .Call(mangoro:::mangoro_c_ipc_read, b, 0, TRUE)
    gctorture(FALSE)
    identical(got, want)
  }, TRUE)
  cat(sprintf("torture identical=%d/%d\n", sum(same), length(same)))
}

counts <- c(ok = 0, protocol = 0, other = 0)
for (k in seq_len(n)) {
  set.seed(seed + k)
  b <- mutate(payloads[[(k - 1L) %% length(payloads) + 1L]])
  if (torture) {
    # Only the C decoder runs under gctorture (R's condition code is slow there).
    gctorture(TRUE)
    res <- .Call(mangoro:::mangoro_c_ipc_read, b, 0, TRUE)
    gctorture(FALSE)
    counts[[if (is.character(res)) "protocol" else "ok"]] <- counts[[if (is.character(res)) "protocol" else "ok"]] + 1
    next
  }
  res <- tryCatch({
    mangoro_ipc_read(b)
    "ok"
  }, mangoro_protocol_error = function(e) "protocol", warning = function(w) "ok",
  error = function(e) paste("other", k, conditionMessage(e)))
  if (startsWith(res, "other")) {
    cat(gsub("\n", " ", res), "\n", sep = "")
    res <- "other"
  }
  counts[[res]] <- counts[[res]] + 1
}
cat(sprintf("fuzz ok=%d protocol=%d other=%d cases=%d\n", counts[["ok"]], counts[["protocol"]], counts[["other"]], n))
