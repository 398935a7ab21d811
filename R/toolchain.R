# Finding a Go toolchain: candidates in a documented order, each asked for its
# version, the first new enough wins. The answer is cached for the session.

toolchain_cache <- new.env(parent = emptyenv())

#' Where mangoro looks for Go
#'
#' Lists the Go binaries mangoro would try, in order: the option
#' `mangoro.go_path`, the environment variable `MANGORO_GO`, `GOROOT/bin`, the
#' `PATH`, then the usual install locations of the platform (Linux:
#' `/usr/local/go`, Debian's `/usr/lib/go-1.*`, snap; macOS: `/usr/local/go`,
#' Homebrew, MacPorts; Windows: `C:/Program Files/Go`, `C:/Go`). The option and
#' `MANGORO_GO` may name the `go` binary itself or a Go root directory. The
#' option `mangoro.go_default_locations` (a character vector) replaces the
#' platform's list; `character()` searches only the places named before it.
#'
#' @return A named character vector of existing files, without duplicates; the
#'   names say where each came from (`"option"`, `"MANGORO_GO"`, `"GOROOT"`,
#'   `"PATH"`, `"default"`).
#' @seealso [mangoro_go_binary()] which picks one, [mangoro_min_go_version()].
#' @export
#' @examples
#' go_binary_candidates()
go_binary_candidates <- function() {
  exe <- if (.Platform$OS.type == "windows") "go.exe" else "go"
  as_go <- function(p) {
    p <- p[!is.na(p) & nzchar(p)]
    p <- path.expand(p)
    ifelse(dir.exists(p), file.path(p, "bin", exe), p)
  }
  found <- c(
    option = as_go(getOption("mangoro.go_path", "")),
    MANGORO_GO = as_go(Sys.getenv("MANGORO_GO")),
    GOROOT = as_go(Sys.getenv("GOROOT")),
    PATH = path_search(exe)
  )
  defaults <- getOption("mangoro.go_default_locations", default_go_locations(exe))
  found <- c(found, stats::setNames(defaults, rep("default", length(defaults))))
  found <- found[nzchar(found) & file.exists(found) & !dir.exists(found)]
  found[!duplicated(normalizePath(found, mustWork = FALSE))]
}

# The first `exe` on PATH, or "": what Sys.which() finds, without the shell
# it starts (about 2 ms; this runs on every build, even an unchanged one).
path_search <- function(exe) {
  dirs <- strsplit(Sys.getenv("PATH"), .Platform$path.sep, fixed = TRUE)[[1L]]
  hits <- file.path(dirs[nzchar(dirs)], exe)
  hits <- hits[file.exists(hits) & !dir.exists(hits) & file.access(hits, 1L) == 0L]
  if (length(hits)) hits[[1L]] else ""
}

default_go_locations <- function(exe) {
  sysname <- Sys.info()[["sysname"]]
  if (.Platform$OS.type == "windows") {
    pf <- Sys.getenv(c("ProgramFiles", "ProgramW6432"), unset = "C:/Program Files")
    return(c(file.path(pf, "Go", "bin", exe), "C:/Go/bin/go.exe"))
  }
  if (identical(sysname, "Darwin")) {
    return(c("/usr/local/go/bin/go", "/opt/homebrew/bin/go", "/usr/local/bin/go",
             "/opt/local/bin/go"))
  }
  # Debian and Ubuntu install versioned toolchains side by side; newest first.
  debian <- Sys.glob("/usr/lib/go-1.*/bin/go")
  debian <- debian[order(numeric_version(sub("^.*/go-([0-9.]+)/bin/go$", "\\1", debian),
                                         strict = FALSE), decreasing = TRUE)]
  c("/usr/local/go/bin/go", debian, "/usr/lib/go/bin/go", "/snap/bin/go")
}

#' The oldest Go that mangoro supports
#'
#' Read from the `go` directive of the vendored module's `go.mod`, so it always
#' matches what the vendored packages need.
#'
#' @return A character string such as `"1.23.0"`.
#' @export
#' @examples
#' mangoro_min_go_version()
mangoro_min_go_version <- function() {
  gomod <- file.path(mangoro_go_module(), "go.mod")
  line <- grep("^go [0-9]", readLines(gomod, warn = FALSE), value = TRUE)[1]
  if (is.na(line)) {
    mangoro_abort(c("The vendored go.mod has no `go` directive: ", gomod),
                  "mangoro_install_error")
  }
  sub("^go ", "", trimws(line))
}

#' Find a suitable Go toolchain
#'
#' Runs `go version` on each of [go_binary_candidates()] and returns the first
#' that is at least [mangoro_min_go_version()]. The result is remembered for the
#' session; `refresh = TRUE` looks again (after installing Go, say).
#'
#' @param refresh Logical, default `FALSE`: ignore the remembered answer.
#' @return The path to the `go` binary, with attribute `version` (e.g.
#'   `"1.23.5"`).
#' @section Errors:
#' When no candidate is suitable, an error of class `mangoro_go_not_found`
#' lists every candidate with its version, the version required, and how to
#' point mangoro at a Go (`options(mangoro.go_path = )` or `MANGORO_GO`).
#' @export
#' @examplesIf mangoro_go_available()
#' mangoro_go_binary()
mangoro_go_binary <- function(refresh = FALSE) {
  candidates <- go_binary_candidates()
  key <- paste(candidates, collapse = "\n")
  if (!refresh && identical(toolchain_cache$key, key)) return(toolchain_cache$go)
  need <- mangoro_min_go_version()
  seen <- character()
  for (path in candidates) {
    v <- go_version(path)
    seen <- c(seen, sprintf("  %s (%s): %s", path, names(candidates)[candidates == path][1],
                            if (is.na(v)) "`go version` failed" else paste("go", v)))
    if (!is.na(v) && numeric_version(v) >= numeric_version(need)) {
      go <- structure(unname(path), version = v)
      toolchain_cache$key <- key
      toolchain_cache$go <- go
      return(go)
    }
  }
  mangoro_abort(
    c(sprintf("No suitable Go found: mangoro needs Go >= %s.", need),
      if (length(seen)) c("Found:", seen) else "Found: no `go` binary anywhere mangoro looks.",
      "Install Go from https://go.dev/dl/ (on Debian: apt-get install golang-1.23-go from backports),",
      "or point mangoro at one: options(mangoro.go_path = \"/path/to/go\") or the MANGORO_GO environment variable."),
    "mangoro_go_not_found", candidates = candidates, required = need
  )
}

#' Is a suitable Go available?
#'
#' @return `TRUE` if [mangoro_go_binary()] finds a Go toolchain, else `FALSE`.
#'   Useful in `@examplesIf`, vignettes and `skip_if_not()`.
#' @export
#' @examples
#' mangoro_go_available()
mangoro_go_available <- function() {
  tryCatch({ mangoro_go_binary(); TRUE }, mangoro_go_not_found = function(e) FALSE)
}

# `go version` prints e.g. "go version go1.23.5 linux/amd64"; development
# builds print "devel go1.24-abcdef ..."; NA when it cannot be run or parsed.
go_version <- function(path) {
  res <- tryCatch(
    processx::run(path, "version", env = go_env(), timeout = 30, error_on_status = FALSE),
    error = function(e) NULL
  )
  if (is.null(res) || res$status != 0) return(NA_character_)
  m <- regmatches(res$stdout, regexpr("go[0-9]+(\\.[0-9]+)+", res$stdout))
  if (!length(m)) return(NA_character_)
  sub("^go", "", m)
}

# The environment every go command runs with: offline, vendored, cgo-free,
# and with HOME and the config directories in a session scratch directory so
# Go (telemetry counters, go env file) writes nothing under the user's home.
go_env <- function(gocache = NULL, gomaxprocs = NULL) {
  home <- go_sandbox()
  env <- c(
    "current",
    GOFLAGS = "-mod=vendor", GOPROXY = "off", GOSUMDB = "off", GOTOOLCHAIN = "local",
    GOWORK = "off", GOTELEMETRY = "off", GOENV = "off", CGO_ENABLED = "0",
    HOME = home, XDG_CONFIG_HOME = file.path(home, "config"),
    XDG_CACHE_HOME = file.path(home, "cache"), GOPATH = file.path(home, "gopath"),
    APPDATA = file.path(home, "config"), LOCALAPPDATA = file.path(home, "cache"),
    USERPROFILE = home
  )
  env["GOCACHE"] <- if (is.null(gocache)) file.path(home, "cache", "go-build") else gocache
  if (!is.null(gomaxprocs)) env["GOMAXPROCS"] <- as.character(gomaxprocs)
  env
}

go_sandbox <- function() {
  home <- file.path(tempdir(), "mangoro-go-home")
  mode_file <- file.path(home, "config", "go", "telemetry", "mode")
  if (!file.exists(mode_file)) {
    # Go >= 1.23 keeps local telemetry unless this file says "off".
    dir.create(dirname(mode_file), recursive = TRUE, showWarnings = FALSE, mode = "0700")
    writeLines("off", mode_file)
  }
  home
}

# The installed Go module (inst/go): go.mod, vendor/, pkg/, internal/, cmd/.
mangoro_go_module <- function() {
  dir <- system.file("go", package = "mangoro")
  if (!nzchar(dir)) {
    mangoro_abort("mangoro's Go module (inst/go) is missing from the installation; reinstall mangoro.",
                  "mangoro_install_error")
  }
  dir
}
