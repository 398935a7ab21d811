# Versions of the vendored Go modules, read from vendor/modules.txt so they
# are known without a Go toolchain.

#' Locate the vendored Go module tree
#'
#' @return The path of `inst/go/vendor` in the installed package.
#' @export
#' @examples
#' find_mangoro_vendor()
find_mangoro_vendor <- function() {
  dir <- file.path(mangoro_go_module(), "vendor")
  if (!file.exists(file.path(dir, "modules.txt"))) {
    mangoro_abort(c("The vendored Go tree is missing or incomplete: ", dir,
                    "\nReinstall mangoro."), "mangoro_install_error")
  }
  dir
}

#' Versions of the vendored Go modules
#'
#' `get_mangos_version()` and `get_arrow_go_version()` return the versions of
#' mangos v3 and arrow-go v18 that user programs are compiled against;
#' `mangoro_vendored_modules()` lists every vendored module. They read
#' `vendor/modules.txt` and do not need Go.
#'
#' @return `get_mangos_version()` and `get_arrow_go_version()`: a string such
#'   as `"v3.4.2"`. `mangoro_vendored_modules()`: a data frame with columns
#'   `module` and `version`.
#' @export
#' @examples
#' get_mangos_version()
#' get_arrow_go_version()
#' mangoro_vendored_modules()
get_mangos_version <- function() vendored_version("go.nanomsg.org/mangos/v3")

#' @rdname get_mangos_version
#' @export
get_arrow_go_version <- function() vendored_version("github.com/apache/arrow-go/v18")

#' @rdname get_mangos_version
#' @export
mangoro_vendored_modules <- function() {
  lines <- readLines(file.path(find_mangoro_vendor(), "modules.txt"), warn = FALSE)
  # "# module version" heads each module; "# module version => replacement"
  # would name a replacement, which the vendored tree does not use.
  heads <- strsplit(sub("^# ", "", grep("^# [^ ]+ v", lines, value = TRUE)), " ", fixed = TRUE)
  data.frame(
    module = vapply(heads, `[`, "", 1L),
    version = vapply(heads, `[`, "", 2L),
    stringsAsFactors = FALSE
  )
}

vendored_version <- function(module) {
  mods <- mangoro_vendored_modules()
  v <- mods$version[mods$module == module]
  if (!length(v)) {
    mangoro_abort(sprintf("%s is not in the vendored Go tree (%s).", module,
                          find_mangoro_vendor()), "mangoro_install_error")
  }
  v
}
