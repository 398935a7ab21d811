#' @useDynLib mangoro, .registration = TRUE
NULL
