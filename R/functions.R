# Go functions as R functions: a manifest entry becomes a closure with the
# Go function's argument names as formals, so calling Go reads like calling R.

#' Use a Go function as an R function
#'
#' Returns an R function that calls the Go function `name` on `server`. Its
#' arguments are the Go function's, by name and in order, as the manifest
#' declares them; optional Go arguments default to `NULL`, which leaves them
#' out so Go uses its own default. A function with variadic arguments (e.g.
#' `transposeMatrix`) takes `...` instead. Arguments of length one are
#' recycled to the length of the longest, as R's arithmetic does. When the
#' result has a single column, the function returns that column as a vector;
#' otherwise a data frame.
#'
#' `mangoro_functions()` does the same for every function of the server and
#' returns them in a named list.
#'
#' @param server A `mangoro_server` from [mangoro_server_start()].
#' @param name Character scalar: the Go function's name in the manifest.
#' @param simplify Logical, default `TRUE`: return a one-column result as a
#'   vector.
#' @param timeout Numeric or `NULL` (default): milliseconds for each call; see
#'   [mangoro_rpc_call()].
#' @return `mangoro_function()`: a function of class `mangoro_function` (it
#'   prints the Go signature and description). `mangoro_functions()`: a named
#'   list of them.
#' @section Errors:
#' An unknown `name` is a `mangoro_input_error` listing the functions the
#' server offers; a closed server is a `mangoro_server_gone` error at once.
#' A scalar Go parameter (marked `(scalar)` when the function prints) takes
#' one value: a longer vector is a `mangoro_remote_error` (code
#' `bad_arguments`), as is a double that is not a whole number where Go
#' declares an integer. Calls raise the errors documented in [mangoro_rpc_call()].
#' @family entry points
#' @export
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' add <- mangoro_function(srv, "add")
#' add
#' add(c(1.5, 2.5, NA), 1)
#' go <- mangoro_functions(srv)
#' go$echoString(c("a", NA))
#' close(srv)
mangoro_function <- function(server, name, simplify = TRUE, timeout = NULL) {
  if (!inherits(server, c("mangoro_server", "mangoro_pool"))) { # pool hook (R/pool.R)
    mangoro_abort(c("`server` must be a mangoro_server from mangoro_server_start().",
                    sprintf("Got: %s.", format_value(server))), "mangoro_input_error")
  }
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    mangoro_abort("`name` must be one function name.", "mangoro_input_error")
  }
  if (inherits(server, "mangoro_server") && (isTRUE(server$closed) || is.null(server$sock))) {
    stop(server_closed_error(server))
  }
  entry <- server$manifest[[name]]
  if (is.null(entry)) {
    mangoro_abort(
      c(sprintf("The server has no Go function %s.", encodeString(name, quote = "\"")),
        sprintf("Available: %s.", paste(names(server$manifest), collapse = ", "))),
      "mangoro_input_error"
    )
  }
  go_function(server, name, entry, isTRUE(simplify), timeout)
}

#' @rdname mangoro_function
#' @export
mangoro_functions <- function(server, simplify = TRUE, timeout = NULL) {
  if (!inherits(server, c("mangoro_server", "mangoro_pool"))) { # pool hook (R/pool.R)
    mangoro_abort("`server` must be a mangoro_server from mangoro_server_start().",
                  "mangoro_input_error")
  }
  fns <- names(server$manifest)
  stats::setNames(lapply(fns, mangoro_function, server = server, simplify = simplify,
                         timeout = timeout), fns)
}

go_function <- function(server, name, entry, simplify, timeout) {
  arg_names <- vapply(entry$Args, function(a) a$Name, "")
  optional <- vapply(entry$Args, function(a) isTRUE(a$Optional), NA)
  variadic <- !is.null(entry$Metadata$variadic)
  # Required arguments have no default (R reports a missing one by name);
  # optional ones default to NULL, meaning "let Go use its default".
  fmls <- rep(list(quote(expr = )), length(arg_names))
  fmls[optional] <- list(NULL)
  names(fmls) <- arg_names
  if (variadic) fmls <- c(fmls, alist(... = ))
  converters <- arg_converters(entry)

  # The body names only dotted variables: Go parameter names (the formals)
  # cannot start with a dot, so a parameter called `name` or `server` cannot
  # shadow what the body needs.
  .go <- list(server = server, name = name, entry = entry, simplify = simplify,
              timeout = timeout, arg_names = arg_names, variadic = variadic,
              converters = if (any(!vapply(converters, is.null, NA))) converters,
              frames = any(vapply(entry$Args, function(a) identical(a$Type$Type, "struct"), NA)),
              shape = entry$Metadata$result_shape, optional = any(optional))
  .collect <- NULL # a placeholder, replaced in the body below (and seen by code checks)
  # Defined with `...` so code checks see it; formals() below sets the real ones.
  fn <- function(...) {
    # `list(x = x, ...)` of the formals, written into the body below: R
    # reports a missing required argument by name.
    .args <- .collect
    if (.go$variadic) .args <- c(.args, list(...))
    if (.go$optional) .args <- .args[!vapply(.args, is.null, NA)]
    if (!is.null(.go$converters)) .args <- convert_args(.args, .go$converters, .go$arg_names)
    # Recycling is needed only when lengths differ (or rows of a data frame count).
    .lens <- lengths(.args)
    if (.go$frames || any(.lens != .lens[1L])) .args <- recycle_args(.args, .go$name)
    .result <- mangoro_rpc_call(.go$server, .go$name, .args, timeout = .go$timeout)
    if (is.null(.go$shape)) {
      if (.go$simplify && length(.result) == 1L) .subset2(.result, 1L) else .result
    } else {
      shape_result(.result, .go$entry, .go$simplify)
    }
  }
  collect <- as.call(c(as.name("list"), lapply(stats::setNames(nm = arg_names), as.name)))
  body(fn) <- do.call(substitute, list(body(fn), list(.collect = collect)))
  formals(fn) <- fmls
  structure(fn, class = c("mangoro_function", "function"), go_name = name, go_entry = entry)
}

# Length-one arguments stretch to the longest, as in R arithmetic; other
# length mismatches are an error here rather than a confusing one from Go.
recycle_args <- function(args, name) {
  if (!length(args)) return(args)
  lens <- vapply(args, function(a) if (is.data.frame(a)) nrow(a) else length(a), 0L)
  n <- max(lens)
  bad <- lens != n & lens != 1L
  if (any(bad)) {
    mangoro_abort(
      c(sprintf("Arguments of %s() must have the same length, or length one.", name),
        sprintf("Lengths: %s.", paste(sprintf("%s = %d", names(args), lens), collapse = ", "))),
      "mangoro_input_error"
    )
  }
  args[lens == 1L & n != 1L] <- lapply(args[lens == 1L & n != 1L], function(a) {
    if (is.data.frame(a)) a[rep_len(1L, n), , drop = FALSE] else rep_len(a, n)
  })
  args
}

#' @export
format.mangoro_function <- function(x, ...) {
  entry <- attr(x, "go_entry")
  args <- vapply(entry$Args, function(a) {
    sprintf("%s %s%s%s", a$Name, format_go_type(a$Type), if (isTRUE(a$Scalar)) " (scalar)" else "",
            if (isTRUE(a$Optional)) " (optional)" else "")
  }, "")
  if (!is.null(entry$Metadata$variadic)) args <- c(args, sprintf("... %s", entry$Metadata$variadic))
  returns <- if (is.null(entry$ReturnType$Type)) "?" else format_go_type(entry$ReturnType)
  c(sprintf("<Go function> %s(%s) -> %s", attr(x, "go_name"), paste(args, collapse = ", "), returns),
    if (!is.null(entry$Metadata$go_signature)) paste0("  ", entry$Metadata$go_signature),
    if (!is.null(entry$Metadata$description)) paste0("  ", entry$Metadata$description))
}

#' @export
print.mangoro_function <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

# A manifest type object as it reads in a signature: a struct lists its
# fields, a list its element type.
format_go_type <- function(t) {
  kind <- t$Type
  if (identical(kind, "struct") && length(t$StructDef)) {
    fields <- vapply(t$StructDef, function(f) paste(f$Name, format_go_type(f$Type)), "")
    return(sprintf("struct{%s}", paste(fields, collapse = ", ")))
  }
  if (identical(kind, "list") && !is.null(t$ListSchema$Type)) {
    return(sprintf("list<%s>", format_go_type(t$ListSchema$Type)))
  }
  if (is.null(kind)) "?" else kind
}
