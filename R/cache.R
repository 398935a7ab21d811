# Where the Go build cache lives. Go keeps it small itself: every build trims
# entries unused for five days (at most once a day), so mangoro adds no prune.

#' mangoro's Go build cache
#'
#' `mangoro_cache_info()` reports the Go build cache that [mangoro_go_build()]
#' uses when called without `gocache`: the option `mangoro.gocache` or the
#' environment variable `MANGORO_GOCACHE` when set, else the persistent
#' cache under [tools::R_user_dir()] (interactive sessions, or once it
#' exists), else a temporary one. `mangoro_cache_clear()` deletes that
#' cache. Go itself removes entries unused for five days whenever it builds.
#'
#' @return `mangoro_cache_info()`: a one-row data frame with `path`,
#'   `source` (`"option"`, `"MANGORO_GOCACHE"`, `"persistent"` or
#'   `"temporary"`), `exists`, `files` and `size` (bytes).
#'   `mangoro_cache_clear()`: the number of bytes freed, invisibly.
#' @seealso The 'Build cache' section of [mangoro_go_build()].
#' @export
#' @examples
#' mangoro_cache_info()
mangoro_cache_info <- function() {
  choice <- gocache_choice()
  path <- choice$path
  files <- if (dir.exists(path)) list.files(path, recursive = TRUE, full.names = TRUE, all.files = TRUE) else character()
  data.frame(path = path, source = choice$source, exists = dir.exists(path),
             files = length(files), size = sum(file.size(files), na.rm = TRUE),
             stringsAsFactors = FALSE)
}

#' @rdname mangoro_cache_info
#' @export
mangoro_cache_clear <- function() {
  info <- mangoro_cache_info()
  if (info$exists) unlink(info$path, recursive = TRUE, force = TRUE)
  invisible(info$size)
}

mangoro_cache_dir <- function() {
  file.path(tools::R_user_dir("mangoro", "cache"), "go-build")
}

# See the 'Build cache' section of ?mangoro_go_build for the order.
resolve_gocache <- function(gocache = NULL) {
  if (!is.null(gocache)) {
    if (!is.character(gocache) || length(gocache) != 1L || is.na(gocache) || !nzchar(gocache)) {
      mangoro_abort("`gocache` must be one directory path, or NULL.", "mangoro_input_error")
    }
    return(normalizePath(gocache, mustWork = FALSE))
  }
  gocache_choice()$path
}

# The default cache and where the choice came from (mangoro_cache_info()).
gocache_choice <- function() {
  from <- function(path, source) list(path = path, source = source)
  opt <- getOption("mangoro.gocache", "")
  if (nzchar(opt)) return(from(normalizePath(opt, mustWork = FALSE), "option"))
  env <- Sys.getenv("MANGORO_GOCACHE")
  if (nzchar(env)) return(from(normalizePath(env, mustWork = FALSE), "MANGORO_GOCACHE"))
  persistent <- mangoro_cache_dir()
  if (!checking_or_testing() && (interactive() || dir.exists(persistent))) {
    return(from(persistent, "persistent"))
  }
  from(file.path(tempdir(), "mangoro-gocache"), "temporary")
}

checking_or_testing <- function() {
  nzchar(Sys.getenv("_R_CHECK_PACKAGE_NAME_")) || identical(Sys.getenv("TESTTHAT"), "true") ||
    identical(Sys.getenv("NOT_CRAN"), "false")
}

# A cache that has built mangoro's heavy dependencies once is warm.
cache_is_cold <- function(gocache) !file.exists(file.path(gocache, "mangoro-warm"))

mark_cache_warm <- function(gocache) {
  if (cache_is_cold(gocache) && dir.exists(gocache)) {
    writeLines(format(Sys.time()), file.path(gocache, "mangoro-warm"))
  }
}
