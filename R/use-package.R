# Go in R packages: a package ships Go source under inst/go/ and gets its
# functions with mangoro_package_functions(), which builds on first use (never
# at install time) into the cache mangoro_go_build() would use.

#' Go functions of an R package
#'
#' For packages that ship Go source: reads the `.go` files in the installed
#' package's `dir` (from the package's `inst/go/`, by default), builds and
#' serves them with [mangoro_source()] on the first call of the session and
#' returns the R functions. Later calls return the same functions without
#' building.
#'
#' The build happens on first use, never at install time, and goes where
#' [mangoro_go_build()] puts builds (see its 'Build cache' section): a
#' temporary directory during `R CMD check` and tests, the user cache
#' directory [tools::R_user_dir()] otherwise, nothing under `HOME` elsewhere.
#' [mangoro_use_package()] sets a package up this way.
#'
#' @param package Character scalar: the package's name.
#' @param dir Character scalar, default `"go"`: the directory of the installed
#'   package holding the Go files.
#' @return A named list of R functions (class `mangoro_function`).
#' @section Errors: without a suitable Go toolchain, a `mangoro_go_not_found`
#'   error saying that the package needs Go and how to get it; a package without
#'   Go files is a `mangoro_input_error`; build errors as in [mangoro_source()].
#' @export
#' @examplesIf mangoro::mangoro_go_available()
#' # In a package's R code:
#' # twice <- function(x) mangoro::mangoro_package_functions("mypkg")$twice(x)
mangoro_package_functions <- function(package, dir = "go") {
  if (!is.character(package) || length(package) != 1L || is.na(package) || !nzchar(package)) {
    mangoro_abort("`package` must be one package name.", "mangoro_input_error")
  }
  loaded <- source_state$packages[[package]]
  if (!is.null(loaded) && all(vapply(loaded, function(f) server_running(environment(f)$server), NA))) {
    return(loaded)
  }
  path <- system.file(dir, package = package)
  files <- if (nzchar(path)) list.files(path, pattern = "\\.go$", full.names = TRUE) else character()
  files <- files[!grepl("_test\\.go$", files)]
  if (!length(files)) {
    mangoro_abort(sprintf("Package %s has no Go files in its %s/ directory (inst/%s/ in its source).",
                          package, dir, dir), "mangoro_input_error")
  }
  if (!mangoro_go_available()) {
    mangoro_abort(
      c(sprintf("Package %s needs Go (>= %s) to build its Go functions on first use.",
                package, mangoro_min_go_version()),
        "Install Go from https://go.dev/dl/ (or your system's package manager), or set",
        "the environment variable MANGORO_GO to the go binary."),
      "mangoro_go_not_found"
    )
  }
  fns <- mangoro_source(file = files, env = NULL, quiet = TRUE)
  source_state$packages[[package]] <- fns
  fns
}

#' Set up an R package to call Go through mangoro
#'
#' Like `usethis` helpers: writes into the package at `path` an example Go
#' file `inst/go/<name>.go` with one `//mangoro:export` function, an R file
#' `R/mangoro.R` with a helper that loads the Go functions
#' ([mangoro_package_functions()]) and an exported, documented R wrapper, a
#' test `tests/testthat/test-mangoro.R` that skips without Go, and the
#' DESCRIPTION fields: `Imports: mangoro`, `Suggests: testthat`,
#' `SystemRequirements: Go (>= 1.23)` and the testthat edition. Existing files
#' are left alone (and reported). Run `roxygen2::roxygenise()` afterwards to
#' write the wrapper's documentation.
#'
#' @param path Character scalar, default `"."`: the package's root directory.
#' @param name Character scalar, default `"functions"`: the Go file's name
#'   (without `.go`).
#' @param quiet Logical, default `FALSE`: suppress the list of written files.
#' @return The paths written, invisibly.
#' @export
#' @examples
#' pkg <- file.path(tempdir(), "gopkg")
#' dir.create(pkg)
#' writeLines(c("Package: gopkg", "Title: Go Functions", "Version: 0.1.0",
#'              "Description: Go functions.", "License: MIT"), file.path(pkg, "DESCRIPTION"))
#' mangoro_use_package(pkg)
#' unlink(pkg, recursive = TRUE)
mangoro_use_package <- function(path = ".", name = "functions", quiet = FALSE) {
  desc_path <- file.path(path, "DESCRIPTION")
  if (!file.exists(desc_path)) {
    mangoro_abort(sprintf("%s is not an R package: it has no DESCRIPTION file.", path),
                  "mangoro_input_error")
  }
  if (!is.character(name) || length(name) != 1L || !grepl("^[A-Za-z][A-Za-z0-9_]*$", name)) {
    mangoro_abort("`name` must be a file name of letters, digits and _ (no .go).", "mangoro_input_error")
  }
  desc <- read.dcf(desc_path, keep.white = names(read.dcf(desc_path)[1L, ]))
  package <- desc[1L, "Package"]
  templates <- list(
    c(file.path("inst", "go", paste0(name, ".go")), "package.go"),
    c(file.path("R", "mangoro.R"), "package.R"),
    c(file.path("tests", "testthat", "test-mangoro.R"), "package-test.R"),
    c(file.path("tests", "testthat.R"), "package-testthat.R")
  )
  written <- character()
  for (t in templates) {
    target <- file.path(path, t[[1L]])
    if (file.exists(target)) {
      if (!quiet) message("mangoro: ", t[[1L]], " exists; left as it is")
      next
    }
    text <- readLines(system.file("templates", t[[2L]], package = "mangoro"))
    text <- gsub("{{package}}", package, text, fixed = TRUE)
    dir.create(dirname(target), recursive = TRUE, showWarnings = FALSE)
    writeLines(text, target)
    written <- c(written, target)
  }
  desc <- add_dependency(desc, "Imports", "mangoro")
  desc <- add_dependency(desc, "Suggests", "testthat (>= 3.0.0)")
  if (!"SystemRequirements" %in% colnames(desc) || is.na(desc[1L, "SystemRequirements"])) {
    desc <- set_field(desc, "SystemRequirements", "Go (>= 1.23)")
  } else if (!grepl("\\bGo\\b", desc[1L, "SystemRequirements"])) {
    desc <- set_field(desc, "SystemRequirements", paste0(desc[1L, "SystemRequirements"], ", Go (>= 1.23)"))
  }
  if (!"Config/testthat/edition" %in% colnames(desc)) desc <- set_field(desc, "Config/testthat/edition", "3")
  write.dcf(desc, desc_path, keep.white = colnames(desc))
  written <- c(written, desc_path)
  if (!quiet) {
    message("mangoro: wrote ", paste(written, collapse = ", "))
    message("mangoro: run roxygen2::roxygenise() to document and export the R wrapper")
  }
  invisible(written)
}

set_field <- function(desc, field, value) {
  if (!field %in% colnames(desc)) {
    desc <- cbind(desc, matrix(NA_character_, 1L, 1L, dimnames = list(NULL, field)))
  }
  desc[1L, field] <- value
  desc
}

# Add `entry` to a comma-separated dependency field unless the package is there.
add_dependency <- function(desc, field, entry) {
  pkg <- sub("\\s*\\(.*$", "", entry)
  current <- if (field %in% colnames(desc)) desc[1L, field] else NA_character_
  if (is.na(current) || !nzchar(trimws(current))) return(set_field(desc, field, entry))
  have <- trimws(sub("\\(.*$", "", strsplit(current, ",")[[1L]]))
  if (pkg %in% have) return(desc)
  set_field(desc, field, paste0(trimws(current), ",\n    ", entry))
}
