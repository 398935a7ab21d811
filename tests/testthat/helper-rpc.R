# Milliseconds on a monotonic clock, for asserting elapsed time.
mclock_ms <- function() as.double(nanonext::mclock())

# A running rpc-example server, closed when the calling test ends.
rpc_server <- function(..., .local_envir = parent.frame()) {
  local_mangoro_server(test_program("rpc-example"), ..., .local_envir = .local_envir)
}
