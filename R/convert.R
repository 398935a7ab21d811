# R data <-> Arrow: argument normalisation, the R -> Arrow type mapping for
# the nanoarrow path, and that path itself. R/message.R decides which path a
# message takes: the C codec (src/ipc_write.c, src/ipc_read.c) for the types
# it covers, nanoarrow here for the rest.
#
# One type mapping: the C writer's column classifier, asked through
# arrow_kind(), names the Arrow type of every column kind it covers; the
# nanoarrow path asks the same function, so a column of a covered kind is
# written as the same Arrow type whichever path carries its frame (factors
# excepted: nanoarrow 0.9 cannot write dictionaries, so they go as utf8).

# Normalise `data` to a data.frame-like list of columns (no copies of the
# column vectors: data.frame() and as.data.frame() are avoided on purpose).
as_arg_columns <- function(data) {
  if (inherits(data, "data.frame")) {
    cols <- unclass(data)
    attr(cols, "row.names") <- NULL
    return(new_columns(cols, nrow(data)))
  }
  if (is.matrix(data)) {
    if (!is.numeric(data) && !is.logical(data) && !is.character(data)) {
      mangoro_abort(
        c(sprintf("Can't send a %s matrix.", typeof(data)),
          "Use a numeric, integer, logical or character matrix."),
        class = "mangoro_input_error"
      )
    }
    nms <- colnames(data)
    if (is.null(nms)) nms <- paste0("V", seq_len(ncol(data)))
    nms[is.na(nms) | !nzchar(nms)] <- paste0("V", which(is.na(nms) | !nzchar(nms)))
    cols <- lapply(seq_len(ncol(data)), function(j) data[, j])
    names(cols) <- nms
    return(new_columns(cols, nrow(data)))
  }
  if (is.list(data) && !is.object(data)) {
    data <- splice_unnamed_tables(data)
    nms <- names(data)
    if (length(data) > 0L && (is.null(nms) || anyNA(nms) || any(!nzchar(nms)))) {
      mangoro_abort(
        c("Every element of a list of arguments must be named.",
          "Name them after the Go function's arguments, e.g. list(x = 1, y = 2)."),
        class = "mangoro_input_error"
      )
    }
    check_no_matrix_columns(data)
    lens <- vapply(data, NROW, 1L)
    if (length(unique(lens)) > 1L) {
      mangoro_abort(
        c("All arguments must have the same length (one row per element).",
          sprintf("Got lengths: %s.", paste(sprintf("%s = %d", nms, lens), collapse = ", "))),
        class = "mangoro_input_error"
      )
    }
    return(new_columns(data, if (length(lens)) lens[[1L]] else 0L))
  }
  mangoro_abort(
    c(sprintf("Can't send an object of class <%s> as function arguments.",
              paste(class(data), collapse = "/")),
      "Use a data.frame, a named list of vectors, a matrix or a nanoarrow array stream."),
    class = "mangoro_input_error"
  )
}

# An unnamed matrix or data.frame in a list of arguments stands for its
# columns, as when it is the whole argument: list(m) sends m's columns
# (so a variadic Go function called as f(m) gets them, as mangoro_rpc_call()
# does). Named ones stay one argument each.
splice_unnamed_tables <- function(data) {
  nms <- names(data)
  unnamed <- if (is.null(nms)) rep(TRUE, length(data)) else is.na(nms) | !nzchar(nms)
  table <- vapply(data, function(x) is.matrix(x) || is.data.frame(x), NA)
  if (!any(unnamed & table)) return(data)
  parts <- lapply(seq_along(data), function(i) {
    if (unnamed[[i]] && table[[i]]) return(as.list(as_arg_columns(data[[i]])))
    stats::setNames(data[i], if (is.null(nms)) "" else nms[[i]])
  })
  do.call(c, unname(parts))
}

# A matrix where one column is expected: say so, rather than report its
# row count as its length.
check_no_matrix_columns <- function(data) {
  mat <- vapply(data, is.matrix, NA)
  if (!any(mat)) return(invisible())
  i <- which(mat)[[1L]]
  d <- dim(data[[i]])
  mangoro_abort(
    c(sprintf("Argument `%s` is a %d x %d matrix; a Go argument is one column (a vector).",
              names(data)[[i]], d[[1L]], d[[2L]]),
      "Pass as.vector() of it; a Go function that takes columns (...) gets the matrix's columns when it is passed unnamed."),
    class = "mangoro_input_error"
  )
}

new_columns <- function(cols, n) {
  structure(cols, class = "data.frame", row.names = .set_row_names(n))
}

# The Arrow type the C writer gives column `x` ("" when it is not one of its
# kinds); a timestamp carries the zone it is sent in as attribute "tz".
arrow_kind <- function(x) .Call(mangoro_c_arrow_kind, x)

# Prepare one column for nanoarrow's writer: covered kinds follow
# arrow_kind(); the rest (lists, structs, binary) are converted here.
prepare_column <- function(x, name) {
  if (inherits(x, "AsIs")) class(x) <- setdiff(class(x), "AsIs")
  kind <- arrow_kind(x)
  switch(kind,
    "dictionary<int32, utf8>" = return(as.character(x)),
    "timestamp[us]" = {
      attr(x, "tzone") <- attr(kind, "tz")
      return(x)
    },
    "duration[us]" = return(duration_array(x, attr(kind, "units"))),
    "float64" = return(if (anyNA(x) && any(is.nan(x))) double_with_nan(x) else x),
    "bool" = , "int32" = , "utf8" = , "date32" = , "int64" = return(x)
  )
  if (inherits(x, "difftime")) {
    units <- attr(x, "units")
    shown <- if (is.character(units) && length(units) == 1L) dQuote(units, FALSE) else format_value(units)
    mangoro_abort(
      c(sprintf("Argument `%s` is a difftime in units %s, which mangoro can't send.", name, shown),
        "Use units \"secs\", \"mins\", \"hours\", \"days\" or \"weeks\" (see `units<-`)."),
      class = "mangoro_input_error"
    )
  }
  if (inherits(x, "data.frame")) {
    return(assemble_columns(Map(prepare_column, unclass(x), names(x)), nrow(x)))
  }
  if (is.list(x) && !is.object(x)) return(list_column_array(x, name))
  if (is.object(x) && !inherits(x, c("Date", "integer64", "difftime", "blob",
                                      "vctrs_list_of", "hms", "POSIXct"))) {
    mangoro_abort(
      c(sprintf("Argument `%s` has class <%s>, which mangoro can't send.",
                name, paste(class(x), collapse = "/")),
        "Convert it to a plain vector, factor, Date, POSIXct or data.frame first."),
      class = "mangoro_input_error"
    )
  }
  if (!is.object(x) && !typeof(x) %in% c("logical", "integer", "double", "character", "raw")) {
    mangoro_abort(
      c(sprintf("Argument `%s` is of type %s, which has no Arrow equivalent.", name, typeof(x)),
        "Send logical, integer, double, character, Date, POSIXct, factor, list or data.frame columns."),
      class = "mangoro_input_error"
    )
  }
  x
}

# A difftime as the C writer sends it: duration(us) with its units in the
# field metadata (Arrow durations have no minutes, hours or days).
duration_array <- function(x, units) {
  arr <- nanoarrow::as_nanoarrow_array(x, schema = nanoarrow::na_duration("us"))
  schema <- nanoarrow::nanoarrow_schema_modify(
    nanoarrow::infer_nanoarrow_schema(arr), list(metadata = list(mangoro.units = units))
  )
  nanoarrow::nanoarrow_array_set_schema(arr, schema)
  arr
}

# R's NA_real_ is a NaN payload, and nanoarrow maps every NaN to null. Keep
# NaN as a value: build the validity bitmap from is.na() & !is.nan().
double_with_nan <- function(x) {
  valid <- !is.na(x) | is.nan(x)
  nanoarrow::nanoarrow_array_modify(
    nanoarrow::as_nanoarrow_array(x),
    list(null_count = sum(!valid),
         buffers = list(nanoarrow::as_nanoarrow_array(valid)$buffers[[2L]],
                        nanoarrow::as_nanoarrow_buffer(x)))
  )
}

# A plain list column: list of raw => binary; otherwise a list<element> whose
# element type comes from the first non-NULL element.
list_column_array <- function(x, name) {
  idx <- which(lengths(x) > 0L)[1L]
  if (is.na(idx)) idx <- which(!vapply(x, is.null, TRUE))[1L]
  first <- if (is.na(idx)) NULL else x[[idx]]
  if (is.null(first)) {
    return(nanoarrow::as_nanoarrow_array(x, schema = nanoarrow::na_list(nanoarrow::na_na())))
  }
  if (is.raw(first)) {
    return(nanoarrow::as_nanoarrow_array(x, schema = nanoarrow::na_binary()))
  }
  if (check_list_element_types(x, name) == "numeric") first <- as.double(first)
  elem <- tryCatch(nanoarrow::infer_nanoarrow_schema(first), error = function(e) NULL)
  if (is.null(elem)) {
    mangoro_abort(
      c(sprintf("List argument `%s` holds <%s> elements, which have no Arrow type.",
                name, paste(class(first), collapse = "/")),
        "List columns may hold atomic vectors (all of one type) or raw vectors."),
      class = "mangoro_input_error"
    )
  }
  tryCatch(
    nanoarrow::as_nanoarrow_array(x, schema = nanoarrow::na_list(elem)),
    error = function(e) mangoro_abort(
      c(sprintf("List argument `%s` could not be converted: %s", name, conditionMessage(e)),
        "All non-NULL elements of a list column must have the same type."),
      class = "mangoro_input_error"
    )
  )
}

# Every non-NULL element of a list column must have one type: name the
# first two that differ (nanoarrow's own message points at package arrow).
# Integers and doubles mix as doubles (returns "numeric" then).
check_list_element_types <- function(x, name) {
  kinds <- vapply(x, function(e) {
    if (is.null(e)) NA_character_ else if (is.object(e)) paste(class(e), collapse = "/") else typeof(e)
  }, "")
  seen <- which(!is.na(kinds))
  same <- kinds[seen]
  same[same == "integer"] <- "double"
  other <- seen[same != same[[1L]]]
  if (!length(other)) {
    return(if (all(c("integer", "double") %in% kinds[seen])) "numeric" else "")
  }
  i <- seen[[1L]]
  j <- other[[1L]]
  mangoro_abort(
    c(sprintf("List argument `%s` mixes element types: element %d is %s, element %d is %s.",
              name, i, kinds[[i]], j, kinds[[j]]),
      "Every non-NULL element of a list column must have the same type (convert them, e.g. with as.character())."),
    class = "mangoro_input_error"
  )
}

# R data -> nanoarrow array stream.
as_arg_stream <- function(data) {
  if (inherits(data, "nanoarrow_array_stream")) return(data)
  if (inherits(data, "nanoarrow_array")) {
    return(nanoarrow::basic_array_stream(list(data), validate = FALSE))
  }
  cols <- as_arg_columns(data)
  prepared <- assemble_columns(Map(prepare_column, unclass(cols), names(cols)), nrow(cols))
  if (inherits(prepared, "nanoarrow_array")) {
    return(nanoarrow::basic_array_stream(list(prepared), validate = FALSE))
  }
  nanoarrow::as_nanoarrow_array_stream(prepared)
}

# Prepared columns -> a data.frame nanoarrow converts itself, or, when some
# columns are already Arrow arrays, a struct array assembled by hand.
assemble_columns <- function(prepared, n) {
  is_array <- vapply(prepared, inherits, TRUE, "nanoarrow_array")
  if (!any(is_array)) return(new_columns(prepared, n))
  arrays <- lapply(prepared, function(x) {
    if (inherits(x, "nanoarrow_array")) x else nanoarrow::as_nanoarrow_array(x)
  })
  schema <- nanoarrow::na_struct(lapply(arrays, nanoarrow::infer_nanoarrow_schema))
  nanoarrow::nanoarrow_array_modify(
    nanoarrow::nanoarrow_array_init(schema),
    list(length = n, null_count = 0, children = arrays)
  )
}

# `header` followed by the IPC stream of `data` written by nanoarrow, as one
# raw vector (R/message.R calls this when the C writer does not cover `data`).
arrow_encode_nanoarrow <- function(data, header = raw(0)) {
  stream <- as_arg_stream(data)
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  if (length(header)) writeBin(header, con)
  tryCatch(
    nanoarrow::write_nanoarrow(stream, con),
    error = function(e) mangoro_abort(
      c("Could not write the arguments as an Arrow IPC stream.", conditionMessage(e)),
      class = "mangoro_input_error", parent = e
    )
  )
  rawConnectionValue(con)
}

# A tibble in gives a tibble out: the same data frame with tibble's classes
# (a tibble is a data.frame with compact row names, which results have).
like_input <- function(result, data) {
  if (inherits(data, "tbl_df") && is.data.frame(result) && !inherits(result, "tbl_df")) {
    class(result) <- c("tbl_df", "tbl", "data.frame")
  }
  result
}

#' Convert R data to and from Arrow IPC stream bytes
#'
#' `mangoro_ipc_write()` turns function arguments into the bytes mangoro
#' sends; `mangoro_ipc_read()` turns a result payload into a data.frame.
#'
#' @details Type mapping (R -> Arrow -> R): logical <-> bool, integer <->
#'   int32, double <-> float64 (`NA` is null, `NaN` stays a value), character
#'   <-> utf8, Date <-> date32, POSIXct <-> timestamp(us) with its time zone (a
#'   POSIXct without a zone is sent in `TZ`, or UTC), data.frame column <->
#'   struct, list of raw <-> binary, list of atomic vectors <-> list,
#'   `bit64::integer64` <-> int64, difftime <-> duration(us) with its units
#'   (`"secs"`, `"mins"`, `"hours"`, `"days"` or `"weeks"`) in the field
#'   metadata key `mangoro.units`, so it comes back in the units it was sent
#'   in (a duration without that key, e.g. made in Go, comes back in
#'   seconds), factor <-> dictionary<int32, utf8> (NA
#'   is a null index; levels, unused ones included, travel in a dictionary
#'   batch; an ordered factor sets the dictionary's `isOrdered` and comes
#'   back ordered). Factors inside struct (data.frame) columns, or in a
#'   frame that also has list or binary columns, are sent as strings:
#'   nanoarrow 0.9's writer, used for those frames, cannot write
#'   dictionaries.
#'   int64 results become `bit64::integer64` when bit64 is installed (option
#'   `mangoro.int64 = "integer64"`, the default), else doubles, with a warning
#'   when a value is beyond 2^53 and may have lost precision.
#'   Results (read by mangoro's own checked decoder) may also hold int8,
#'   int16, uint8 and uint16 (integer), uint32, uint64 and float32 (double),
#'   large_utf8, large_binary, large_list and the null type (logical `NA`),
#'   nested to any depth. A stream that is malformed or holds another Arrow
#'   type (decimal, map, union, ...) is a `mangoro_protocol_error`.
#' @param data A data.frame, named list of equal-length vectors, matrix
#'   (unnamed columns become `V1..Vn`) or nanoarrow array stream.
#' @param raw Raw vector; one Arrow IPC stream.
#' @return `mangoro_ipc_write()`: a raw vector. `mangoro_ipc_read()`: a data.frame.
#' @examples
#' bytes <- mangoro_ipc_write(data.frame(x = c(1.5, NaN, NA)))
#' mangoro_ipc_read(bytes)
#' @family wire-level helpers
#' @export
mangoro_ipc_write <- function(data) {
  arrow_encode(data)
}

#' @rdname mangoro_ipc_write
#' @export
mangoro_ipc_read <- function(raw) {
  if (!is.raw(raw)) {
    mangoro_abort(c("`raw` must be a raw vector holding an Arrow IPC stream.",
                    sprintf("Got: %s.", format_value(raw))), class = "mangoro_input_error")
  }
  arrow_decode(raw, 0)
}
