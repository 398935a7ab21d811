#' mangoro: call Go from R over NNG with Arrow data
#'
#' mangoro compiles Go programs offline against a vendored module tree
#' (mangos v3, arrow-go v18, golang.org/x/mod and the package's own `rgoipc`
#' library), starts them as child processes and talks to them over NNG with
#' nanonext, exchanging data frames as Arrow IPC streams.
#'
#' Start with [mangoro_go_build()] and the vignettes.
#'
#' @keywords internal
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  # The knitr engine: now if knitr is loaded, else when it is.
  setHook(packageEvent("knitr", "onLoad"), register_knitr_engine)
  if (isNamespaceLoaded("knitr")) register_knitr_engine()
}
