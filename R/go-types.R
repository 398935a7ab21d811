# R-side halves of the type mapping of rgoipc's Func (see ?mangoro_source,
# 'Types'): what a manifest entry says about its arguments and result
# decides small conversions the wire format leaves to R.

# One converter (or NULL) per declared argument, chosen once per function.
arg_converters <- function(entry) {
  lapply(entry$Args, function(a) {
    type <- a$Type$Type
    if (identical(type, "string")) return(function(x) if (is.factor(x)) as.character(x) else x)
    if (identical(type, "binary")) return(function(x) if (is.raw(x)) list(x) else x)
    # int32/int64: rgoipc converts R integers and whole doubles itself and
    # names an element that is not whole (as.integer64(2.5) would truncate).
    if (identical(type, "struct")) {
      cols <- vapply(a$Type$StructDef, function(f) f$Name, "")
      return(function(x) frame_columns(x, cols, a$Name))
    }
    NULL
  })
}

# A data.frame argument for a Go []struct: its columns in the struct's order.
frame_columns <- function(x, cols, name) {
  if (!is.data.frame(x)) return(x)
  missing <- setdiff(cols, names(x))
  if (length(missing)) {
    mangoro_abort(
      c(sprintf("Data frame argument `%s` lacks column(s) %s.", name, paste(missing, collapse = ", ")),
        sprintf("The Go struct has fields %s.", paste(cols, collapse = ", "))),
      "mangoro_input_error"
    )
  }
  x <- x[cols]
  x[] <- lapply(x, function(col) if (is.factor(col)) as.character(col) else col)
  x
}

convert_args <- function(args, converters, arg_names) {
  for (i in which(!vapply(converters, is.null, NA))) {
    n <- arg_names[[i]]
    if (!is.null(args[[n]])) args[[n]] <- converters[[i]](args[[n]])
  }
  args
}

# The result as R users expect it: one raw vector for a Go []byte, a
# data.frame for a []struct, a named list for several results of unequal
# length, else (simplify) one column as a vector.
shape_result <- function(result, entry, simplify) {
  shape <- entry$Metadata$result_shape
  if (!is.null(shape)) {
    if (identical(shape, "raw")) return(result[[1L]][[1L]])
    if (identical(shape, "frame")) return(result)
    if (identical(shape, "columns")) {
      marker <- ".mangoro_named_list"
      if (marker %in% names(result)) {
        result <- result[setdiff(names(result), marker)]
        return(lapply(unclass(result), function(col) col[[1L]]))
      }
      return(result)
    }
  }
  if (simplify && ncol(result) == 1L) result[[1L]] else result
}
