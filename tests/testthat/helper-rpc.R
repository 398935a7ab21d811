# Milliseconds on a monotonic clock, for asserting elapsed time.
mclock_ms <- function() as.double(nanonext::mclock())
