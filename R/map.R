# mangoro_map(): rows of a data frame in chunks over every worker of a pool,
# a bounded number in flight per worker, results in input order. The loop
# waits on the pool's condition variable, which replies, timeouts and pipe
# events all signal; it never sleeps.

#' Map a Go function over the rows of a data frame, on every worker
#'
#' Splits `data` by rows into chunks, sends each chunk as one call of
#' `func_name` to the least busy worker of `target`, keeps every worker busy
#' with up to `inflight` calls, and returns the results in input order, bound
#' into one data frame (or, for a one-column result, one vector, as
#' [mangoro_function()] simplifies).
#'
#' @section Failure: A worker that dies mid-call (killed, crashed, host gone)
#'   is noticed at once through its connection, and its chunks in flight are
#'   sent again, once each, to another worker, with a warning of class
#'   `mangoro_worker_lost`. Map chunks are retried by default because a map
#'   applies a function to rows, which is expected to have no other effect;
#'   pass `retry = FALSE` for functions that must not run twice. A chunk lost
#'   twice, or lost with `retry = FALSE`, fails the map with
#'   `mangoro_server_gone` naming the worker. When no worker is left the map
#'   fails with `mangoro_server_gone` whose fields `results` (a list, `NULL`
#'   for chunks not done) and `rows` (the row indices of each chunk) keep
#'   the work done. An error from Go (`mangoro_remote_error`) or a timeout
#'   fails the map at once with fields `chunk` and `rows` added. In every
#'   case, and when interrupted, the calls still in flight are cancelled
#'   (their replies are dropped; a Go handler that is running finishes).
#' @param target A `mangoro_pool` from [mangoro_pool()], or a
#'   `mangoro_server` (a pool of one).
#' @param func_name Character scalar: the Go function.
#' @param data A data.frame, or a named list of equal-length vectors: one
#'   column per argument, one row per element.
#' @param chunk_size Integer or `NULL` (default): rows per call. Default:
#'   about four chunks per worker.
#' @param ... Further arguments of the function, named, each of length one:
#'   sent with every chunk (recycled to its rows).
#' @param simplify Logical, default `TRUE`: return a one-column result as a
#'   vector.
#' @param inflight Integer or `NULL` (default): calls in flight per worker.
#'   Default: the worker's cores (its `GOMAXPROCS`) plus one, so it never
#'   waits for the next chunk.
#' @param retry Logical, default `TRUE`: send a lost worker's chunks to
#'   another worker (once).
#' @param timeout Numeric or `NULL` (default): milliseconds for each chunk;
#'   see [mangoro_rpc_call()].
#' @param progress `TRUE` (default) for a cli progress bar (shown when the map
#'   takes more than a couple of seconds), `FALSE` for none, or a function
#'   `function(done, total)` called after each chunk completes.
#' @return A data.frame with the chunks' results in input order, or a vector
#'   when the result has one column and `simplify` is `TRUE`.
#' @section Errors: `mangoro_input_error` for bad arguments; otherwise see
#'   'Failure'.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' pool <- mangoro_pool(bin, n = 2, gomaxprocs = 1)
#' mangoro_map(pool, "add", data.frame(x = 1:10 + 0.5), y = 100)
#' close(pool)
#' @export
mangoro_map <- function(target, func_name, data, chunk_size = NULL, ..., simplify = TRUE,
                        inflight = NULL, retry = TRUE, timeout = NULL, progress = TRUE) {
  if (inherits(target, "mangoro_server")) {
    pool <- mangoro_pool(urls = target$url, insecure = TRUE)
    pool$name <- target$name
    on.exit(close(pool), add = TRUE)
    target <- pool
  }
  check_pool(target)
  pool_check_open(target)
  check_func_name(func_name)
  check_flag(simplify, "simplify")
  check_flag(retry, "retry")
  if (!is.null(inflight)) inflight <- check_count(inflight, "inflight")
  if (!is.null(chunk_size)) chunk_size <- check_count(chunk_size, "chunk_size")
  if (!isTRUE(progress) && !isFALSE(progress) && !is.function(progress)) {
    mangoro_abort("`progress` must be TRUE, FALSE or a function(done, total).",
                  class = "mangoro_input_error")
  }
  nrows <- map_nrow(data)
  consts <- map_constants(list(...))
  if (is.null(chunk_size)) {
    pool_refresh(target)
    up <- max(1L, sum(vapply(target$workers, function(w) w$up, NA)))
    chunk_size <- max(1L, ceiling(nrows / (4L * up)))
  }
  starts <- if (nrows == 0L) 1L else seq.int(1L, nrows, by = chunk_size)
  rows <- lapply(starts, function(s) seq.int(s, length.out = min(chunk_size, max(0L, nrows - s + 1L))))
  results <- map_run(target, func_name, data, rows, consts, inflight, retry,
                     as_timeout(timeout), progress)
  map_bind(results, simplify)
}

map_nrow <- function(data) {
  if (is.data.frame(data)) return(nrow(data))
  ok <- is.list(data) && length(data) && !is.null(names(data)) && all(nzchar(names(data))) &&
    all(vapply(data, is.atomic, NA))
  lens <- if (ok) vapply(data, length, 0L) else 0L
  if (!ok || any(lens != lens[[1L]])) {
    mangoro_abort(
      c("`data` must be a data.frame or a named list of vectors of one length.",
        sprintf("Got: %s.", format_value(data))),
      class = "mangoro_input_error"
    )
  }
  lens[[1L]]
}

map_constants <- function(consts) {
  if (!length(consts)) return(consts)
  if (is.null(names(consts)) || any(!nzchar(names(consts))) ||
      any(vapply(consts, length, 0L) != 1L)) {
    mangoro_abort("Arguments in `...` must be named and of length one (they go with every chunk).",
                  class = "mangoro_input_error")
  }
  consts
}

map_chunk <- function(data, idx, consts) {
  # Column by column: `[.data.frame` costs more than the call itself for
  # small chunks; data frame columns (structs) need it.
  nested <- is.data.frame(data) && any(vapply(data, is.data.frame, NA))
  chunk <- if (nested) data[idx, , drop = FALSE] else lapply(data, `[`, idx)
  if (length(consts)) {
    chunk <- c(as.list(chunk), lapply(consts, rep_len, length(idx)))
  }
  chunk
}

# The dispatch loop. Returns the list of chunk results.
map_run <- function(pool, func_name, data, rows, consts, inflight, retry, t, progress) {
  total <- length(rows)
  results <- vector("list", total)
  attempts <- integer(total)
  failed_on <- vector("list", total) # worker ids a chunk was lost on
  pending <- seq_len(total)
  fl_chunk <- integer()
  fl_worker <- list()
  fl_aio <- list()
  done <- 0L
  lost <- character()
  slots <- if (is.null(inflight)) function(w) w$cores + 1L else inflight
  finished <- FALSE
  cancel <- function() {
    for (i in seq_along(fl_aio)) {
      nanonext::stop_aio(fl_aio[[i]])
      fl_worker[[i]]$busy <- fl_worker[[i]]$busy - 1L
    }
  }
  on.exit(if (!finished) cancel(), add = TRUE)
  fail <- function(cnd, k = NULL) {
    if (!is.null(k)) {
      cnd$chunk <- k
      cnd$rows <- range(rows[[k]])
      cnd$message <- paste0(cnd$message, sprintf("\n(In chunk %d of %d, rows %d to %d.)", k, total,
                                                 min(rows[[k]]), max(rows[[k]])))
    }
    cnd$results <- results
    cnd$chunks <- rows
    stop(cnd)
  }
  bar <- if (isTRUE(progress)) {
    cli::cli_progress_bar(sprintf("mangoro_map %s()", func_name), total = total, clear = TRUE)
  }
  nanonext::cv_reset(pool$cv)
  repeat {
    # Fill every worker up to its slots, least busy first.
    while (length(pending)) {
      k <- pending[[1L]]
      w <- pool_pick(pool, slots, avoid = failed_on[[k]])
      if (is.null(w)) break
      msg <- pool_message(pool, func_name, map_chunk(data, rows[[k]], consts))
      pending <- pending[-1L]
      fl_chunk <- c(fl_chunk, k)
      fl_worker[[length(fl_worker) + 1L]] <- w
      fl_aio[[length(fl_aio) + 1L]] <- pool_send(w, msg, t, pool$cv)
    }
    if (done == total) break
    if (!length(fl_aio)) {
      # Nothing in flight and nothing could be sent: no worker can take it.
      cnd <- pool_none_up(pool)
      cnd$message <- paste0(cnd$message, sprintf("\nmangoro_map() completed %d of %d chunks.",
                                                 done, total))
      fail(cnd)
    }
    # Woken by a reply, a timeout or a lost connection (error 19), or after a
    # second: then a request sent just as its worker's connection closed,
    # which would wait for a pipe that never returns, is found by the
    # worker's state (kept current by pipe events) and counted as lost.
    nanonext::until_(pool$cv, 1000L)
    nanonext::cv_reset(pool$cv)
    pool_refresh(pool)
    resolved <- !vapply(fl_aio, unresolved, NA)
    stranded <- !resolved & !vapply(fl_worker, function(w) w$up, NA)
    ready <- which(resolved | stranded)
    for (i in ready) {
      k <- fl_chunk[[i]]
      w <- fl_worker[[i]]
      w$busy <- w$busy - 1L
      value <- if (stranded[[i]]) {
        nanonext::stop_aio(fl_aio[[i]])
        pool_gone_condition(pool, w, sprintf("the call to %s()", func_name))
      } else {
        pool_reply(pool, w, fl_aio[[i]]$data, func_name)
      }
      if (!inherits(value, "condition")) {
        results[[k]] <- value
        done <- done + 1L
        if (is.function(progress)) progress(done, total)
        next
      }
      if (!inherits(value, "mangoro_server_gone")) {
        fl_chunk <- fl_chunk[-i]
        fl_worker <- fl_worker[-i]
        fl_aio <- fl_aio[-i]
        fail(value, k)
      }
      lost <- union(lost, sprintf("worker %d (%s)", w$id, w$url))
      attempts[[k]] <- attempts[[k]] + 1L
      failed_on[[k]] <- c(failed_on[[k]], w$id)
      if (!retry || attempts[[k]] > 1L) {
        fl_chunk <- fl_chunk[-i]
        fl_worker <- fl_worker[-i]
        fl_aio <- fl_aio[-i]
        value$message <- paste0(value$message, if (retry) "\nThe chunk was lost twice: it may be what stops the workers.")
        fail(value, k)
      }
      pending <- c(k, pending)
    }
    if (length(ready)) {
      fl_chunk <- fl_chunk[-ready]
      fl_worker <- fl_worker[-ready]
      fl_aio <- fl_aio[-ready]
    }
    if (!is.null(bar)) cli::cli_progress_update(id = bar, set = done)
  }
  finished <- TRUE
  if (length(lost)) {
    warning(worker_lost_warning(lost, "mangoro_map() did its chunks again on other workers"))
  }
  results
}

# Bind chunk results column by column (c() keeps classes such as Date).
map_bind <- function(results, simplify) {
  first <- results[[1L]]
  if (length(results) == 1L) {
    out <- first
  } else {
    cols <- lapply(stats::setNames(nm = names(first)), function(nm) {
      do.call(c, unname(lapply(results, `[[`, nm)))
    })
    n <- sum(vapply(results, nrow, 0L))
    out <- structure(cols, class = "data.frame", row.names = .set_row_names(n))
  }
  if (simplify && ncol(out) == 1L) out[[1L]] else out
}
