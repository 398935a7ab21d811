# A knitr engine: a ```{mangoro} chunk holds Go source with //mangoro:export
# functions, which become R functions in the document's environment.

#' The `mangoro` knitr engine
#'
#' When knitr is loaded, mangoro registers the chunk engine `mangoro`. A chunk
#'
#' ````
#' ```{mangoro}
#' //mangoro:export
#' func twice(x []float64) []float64 { ... }
#' ```
#' ````
#'
#' runs [mangoro_source()] on its code: each exported function becomes an R
#' function in the document's environment (the chunk option `envir`, by
#' default [knitr::knit_global()]), usable by the R chunks that follow. The
#' chunk shows its Go code (`echo`) and, as its output, the R functions it
#' defined. A build error is shown in the document when the chunk option
#' `error` is `TRUE` and stops the rendering otherwise (`rmarkdown::render()`
#' sets `error = FALSE`). `eval = FALSE` shows the code only.
#'
#' @param options The chunk options, from knitr.
#' @return The chunk's output, from [knitr::engine_output()].
#' @keywords internal
#' @export
mangoro_knitr_engine <- function(options) {
  code <- paste(options$code, collapse = "\n")
  if (!isTRUE(options$eval)) return(knitr::engine_output(options, code, character()))
  env <- if (is.environment(options$envir)) options$envir else knitr::knit_global()
  out <- tryCatch({
    fns <- mangoro_source(code = code, env = env, quiet = TRUE)
    unlist(lapply(fns, function(f) format(f)[1L]), use.names = FALSE)
  }, mangoro_error = function(e) {
    if (!isTRUE(options$error)) stop(e)
    paste("Error:", conditionMessage(e))
  })
  options$engine <- "go" # highlight the source as Go
  knitr::engine_output(options, code, out)
}

register_knitr_engine <- function(...) {
  knitr::knit_engines$set(mangoro = mangoro_knitr_engine)
  invisible()
}
