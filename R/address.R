# Unique ipc:// addresses in a directory only this user can enter. Unix socket
# paths are limited to about 104 bytes (macOS) or 108 (Linux), so a long
# tempdir() falls back to a short private directory under /tmp.

ipc_state <- new.env(parent = emptyenv())

#' Create a unique IPC address
#'
#' Returns an `ipc://` URL for a Unix domain socket inside a directory that
#' only the current user can enter (mode 0700), short enough for the Unix
#' socket path limit. On Windows it is a named pipe (`ipc://` followed by a
#' unique name). Nothing is created at the address itself: the process that
#' listens on it does that.
#'
#' @param prefix Character string, default `"mangoro"`: the start of the
#'   socket's file name; letters, digits, `.`, `_` and `-`, at most 32 bytes.
#' @return A character string such as
#'   `"ipc:///tmp/RtmpAbc123/mangoro-ipc/mangoro-4821-9f3ac2d1.sock"`.
#' @export
#' @examples
#' create_ipc_path()
#' create_ipc_path("rpc")
create_ipc_path <- function(prefix = "mangoro") {
  if (!is.character(prefix) || length(prefix) != 1L || is.na(prefix) ||
      !grepl("^[A-Za-z0-9._-]{1,32}$", prefix)) {
    mangoro_abort(
      "`prefix` must be one string of 1 to 32 letters, digits, '.', '_' or '-'.",
      "mangoro_input_error"
    )
  }
  name <- sprintf("%s-%d-%s", prefix, Sys.getpid(), nanonext::random(4L))
  if (.Platform$OS.type == "windows") return(paste0("ipc://", name))
  paste0("ipc://", file.path(ipc_dir(), paste0(name, ".sock")))
}

# The longest socket path we hand out; sun_path is 104 bytes on macOS/BSD
# including the terminating NUL, 108 on Linux.
ipc_max_path <- 100L

ipc_dir <- function() {
  dir <- ipc_state$dir
  if (!is.null(dir) && dir.exists(dir)) return(dir)
  dir <- file.path(tempdir(), "mangoro-ipc")
  # room for "/<prefix up to 32>-<pid>-<8 hex>.sock"
  if (nchar(dir, "bytes") + 60L > ipc_max_path) {
    dir <- file.path("/tmp", paste0("mangoro-", nanonext::random(6L)))
    reg.finalizer(ipc_state, function(e) unlink(e$dir, recursive = TRUE), onexit = TRUE)
  }
  private_dir(dir)
  ipc_state$dir <- dir
  dir
}

# Creates `dir` readable only by this user; fails if it cannot be made private.
private_dir <- function(dir) {
  if (!dir.exists(dir)) dir.create(dir, recursive = TRUE, mode = "0700")
  Sys.chmod(dir, "0700", use_umask = FALSE)
  mode <- file.info(dir)$mode
  if (is.na(mode) || (as.integer(mode) %% 64L) != 0L) {
    mangoro_abort(sprintf("Could not make %s private (mode 0700).", dir), "mangoro_ipc_error")
  }
  invisible(dir)
}
