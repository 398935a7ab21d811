# Cross-compiling: GOOS/GOARCH for the go command, and the names they give a
# default output. Go needs no extra toolchain for this, and with CGO_ENABLED=0
# the binary is static, so it runs on a host without Go.

# NULL (build for this platform) or c(GOOS = , GOARCH = ), both given.
go_platform <- function(goos = NULL, goarch = NULL) {
  if (is.null(goos) && is.null(goarch)) return(NULL)
  ok <- function(x) is.character(x) && length(x) == 1L && !is.na(x) && grepl("^[a-z0-9]+$", x)
  if (!ok(goos) || !ok(goarch)) {
    mangoro_abort(
      c("`goos` and `goarch` must be given together, as Go names them,",
        "e.g. goos = \"linux\", goarch = \"arm64\" (see `go tool dist list`)."),
      "mangoro_input_error"
    )
  }
  c(GOOS = goos, GOARCH = goarch)
}

# The default output of a cross build is named after the platform, so it
# never overwrites (or is mistaken for) the native build.
platform_output <- function(out, platform) {
  if (is.null(platform)) return(out)
  out <- sub("\\.exe$", "", out)
  out <- paste0(out, "-", platform[["GOOS"]], "-", platform[["GOARCH"]])
  if (platform[["GOOS"]] == "windows") out <- paste0(out, ".exe")
  out
}

# What the build key adds for a platform.
platform_key <- function(platform) {
  if (is.null(platform)) character() else paste0(names(platform), "=", platform)
}
