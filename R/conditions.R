# Every error mangoro raises is a classed condition under `mangoro_error`, so
# callers can catch a family (`mangoro_error`) or one case (`mangoro_build_error`).
# Fields passed in `...` travel with the condition (e.g. `output`, `stderr`).

#' Signal a mangoro error
#'
#' @param message Character; the message, already formatted (may have several lines).
#' @param class Character; the specific classes, most specific first.
#' @param ... Named fields stored in the condition object.
#' @param call The call to report; `NULL` by default because the message says
#'   what went wrong better than an internal call would.
#' @noRd
mangoro_abort <- function(message, class = NULL, ..., call = NULL) {
  cnd <- structure(
    class = c(class, "mangoro_error", "error", "condition"),
    list(message = paste(message, collapse = "\n"), call = call, ...)
  )
  stop(cnd)
}
