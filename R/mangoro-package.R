#' mangoro: call Go from R over NNG with Arrow data
#'
#' mangoro compiles Go programs offline against a vendored module tree
#' (mangos v3, arrow-go v18, golang.org/x/mod and the package's own `rgoipc`
#' library), starts them as child processes and talks to them over NNG with
#' nanonext, exchanging data frames as Arrow IPC streams.
#'
#' @section The usual path:
#' 1. Write a Go `package main` that registers functions with `rgoipc` and
#'    calls `rgoipc.Main` ([mangoro_go_guide] says how: the Go types
#'    accepted, NA, scalars, several result columns, error codes).
#' 2. Build it with [mangoro_go_build()] (offline, cached).
#' 3. Start it with [mangoro_server_start()] (or [local_mangoro_server()]).
#' 4. Call it: [mangoro_functions()] gives the Go functions as R functions;
#'    [mangoro_rpc_call()] calls one by name with a data frame.
#'
#' For Go code held in an R string or a chunk, the one-call path is
#' `mangoro_source()` (build, start and wrap every exported function) or
#' `mangoro_go_function()` (one function).
#'
#' Help pages are grouped in two families, linked at the bottom of each
#' page: "entry points" (the functions above) and "wire-level helpers"
#' (building, sending and reading raw messages and Arrow streams, for
#' talking to a Go program without a `mangoro_server`). Learn more in
#' `vignette("mangoro")` (getting started, and writing your own Go
#' functions), `vignette("go-functions")` (Go code inside R),
#' `vignette("protocols")` and `vignette("http-server")`.
#'
#' @examplesIf mangoro::mangoro_go_available()
#' src <- system.file("go/cmd/rpc-example", package = "mangoro")
#' srv <- mangoro_server_start(mangoro_go_build(src))
#' go <- mangoro_functions(srv)
#' go$add(1:3, 0.5)
#' close(srv)
#' @seealso [mangoro_go_guide] for the Go side.
#' @keywords internal
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  # The knitr engine: now if knitr is loaded, else when it is.
  setHook(packageEvent("knitr", "onLoad"), register_knitr_engine)
  if (isNamespaceLoaded("knitr")) register_knitr_engine()
}
