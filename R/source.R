# Go source with //mangoro:export functions -> R functions, in one call: the
# generator (inst/go/cmd/mangoro-gen, built once into the cache) writes the
# program, mangoro_go_build() compiles it (unchanged builds are skipped), one
# server per distinct source runs for the session, and mangoro_function()
# makes the closures.

source_state <- new.env(parent = emptyenv())
source_state$sources <- list() # identity -> list(key, server, fns)
source_state$gen <- NULL       # the generator binary, once checked this session
source_state$packages <- list() # package name -> its Go functions (mangoro_package_functions)

#' Define R functions from Go source
#'
#' Reads Go source holding functions marked with a `//mangoro:export` comment
#' line directly above them, builds a program that serves them, starts it, and
#' defines one R function per exported Go function in `env`. Each R function
#' takes the Go parameter names as arguments (by position or by name) and
#' prints its Go signature and doc comment. The conversions between R and Go
#' types are listed in 'Types' below.
#'
#' The source may import the standard library, the vendored modules (mangos,
#' arrow-go, `golang.org/x/...`) and `mangoro/pkg/rgoipc`. In `code` the
#' `package main` clause is optional; do not write a `main` function. Functions
#' without the marker (helpers) stay in Go. `//mangoro:export name` exports a
#' function under another R name.
#'
#' Nothing is written next to your files or into the installed package: the
#' generated program lives in [tempdir()], your files reach the compiler
#' through an overlay, and the binary is kept in the Go build cache directory
#' (see 'Build cache' in [mangoro_go_build()]) under `mangoro-source/`, so a
#' new session with unchanged source starts without compiling. In one session
#' the same source reuses its running server; when it changes, a new program is
#' built and the old server is stopped. The source's identity is the file
#' path(s), or, for `code`, the names of the exported functions.
#'
#' @section Types:
#' | R | Go parameter or result |
#' |---|---|
#' | double | `[]float64`; `float64` (length one); `[]*float64` (`nil` = `NA`) |
#' | integer | `[]int32`, `[]int`; `int32`, `int`; `[]*int32`, `[]*int` |
#' | `bit64::integer64` (or numbers) | `[]int64`, `int64`, `[]*int64` |
#' | logical | `[]bool`, `bool`, `[]*bool` |
#' | character, factor | `[]string`, `string`, `[]*string` (a factor arrives as its labels) |
#' | Date | `[]rgoipc.Date`, `rgoipc.Date`, `[]*rgoipc.Date` (days since 1970-01-01) |
#' | POSIXct | `[]time.Time`, `time.Time`, `[]*time.Time`; the time zone is kept both ways |
#' | raw | `[]byte` (one raw vector) |
#' | list of raw vectors | `[][]byte` (`NULL` = `NA`) |
#' | list of vectors | `[][]T` for a `T` above (`NULL` = `NA`) |
#' | data.frame | `[]S` for a struct `S`: exported fields are columns named by the tag `r:"name"` or the field name (`r:"-"` leaves a field out) |
#' | data.frame (result) | several results: one column each, named after Go's named results (`result1`, ... otherwise); a named list when their lengths differ |
#' | error | a final `error` result: a non-nil error is a `mangoro_remote_error` |
#' | (none) | a leading `context.Context` parameter, cancelled when the server shuts down |
#'
#' In a plain slice (`[]float64`) an `NA` reads as the zero value (`NaN` for
#' doubles), and a plain-slice result as long as the input is `NA` wherever an
#' argument was; use pointer slices to see and set `NA` yourself. A length-one
#' parameter (`float64`) rejects `NA`. Arguments of length one are recycled.
#' Any other Go type is a build error naming the function, the parameter and
#' the supported types.
#'
#' @param file Character or `NULL` (default): one or more `.go` files of one
#'   program.
#' @param code Character or `NULL` (default): Go source as a string (lines are
#'   joined with newlines). Give `file` or `code`.
#' @param env Environment, default the caller's: where the R functions are
#'   defined. `NULL` defines nothing (the functions are still returned).
#' @param rebuild Logical, default `FALSE`: compile and restart even if nothing
#'   changed.
#' @param quiet Logical, default `FALSE`: suppress build messages.
#' @return A named list of the R functions (class `mangoro_function`),
#'   invisibly.
#' @section Errors:
#' A compile error, or a marked function with a type mangoro cannot map, is a
#' `mangoro_build_error` whose message names your file (or `code`) and the
#' line; the condition has fields `file`, `line`, `output`. A Go panic or
#' returned error in a call is a `mangoro_remote_error` naming the function.
#' Without Go, `mangoro_go_not_found`.
#' @seealso [mangoro_go_function()] for a single function; the vignette "Go
#'   functions in R".
#' @export
#' @examplesIf mangoro::mangoro_go_available()
#' mangoro_source(code = '
#' import "strings"
#'
#' // shout upper-cases x.
#' //mangoro:export
#' func shout(x []string) []string {
#' 	out := make([]string, len(x))
#' 	for i, s := range x {
#' 		out[i] = strings.ToUpper(s) + "!"
#' 	}
#' 	return out
#' }
#' ')
#' shout
#' shout(c("hello", "go"))
mangoro_source <- function(file = NULL, code = NULL, env = parent.frame(), rebuild = FALSE,
                           quiet = FALSE) {
  source_functions(file, code, env, rebuild, quiet, also = character())
}

#' Define one R function from a Go function
#'
#' Like `Rcpp::cppFunction()`: `code` holds one Go function definition (and
#' any helpers it calls, types and imports); the first function in it becomes
#' an R function, with no `//mangoro:export` marker needed. See
#' [mangoro_source()] for the types, the build and the errors.
#'
#' @param code Character: Go source; lines are joined with newlines.
#' @param ... Passed to [mangoro_source()]: `env` (default `NULL`: define
#'   nothing, just return), `rebuild`, `quiet`.
#' @return The R function (class `mangoro_function`).
#' @export
#' @examplesIf mangoro::mangoro_go_available()
#' fib <- mangoro_go_function("func fib(n int) int {
#' 	if n < 2 {
#' 		return n
#' 	}
#' 	return fib(n-1) + fib(n-2)
#' }")
#' fib(20)
mangoro_go_function <- function(code, ...) {
  code <- check_code(code)
  # The first top-level func (not a method) is the one to export; marking it
  # through the generator keeps the line numbers of `code` as written.
  heads <- regmatches(code, regexpr("(^|\n)func[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*[[(]", code))
  if (!length(heads)) {
    mangoro_abort(c("`code` holds no Go function definition.",
                    "Write one, e.g. \"func twice(x []float64) []float64 { ... }\"."),
                  "mangoro_input_error")
  }
  name <- sub("^\n?func[ \t]+([A-Za-z_][A-Za-z0-9_]*).*$", "\\1", heads)
  args <- list(...)
  unknown <- setdiff(names(args), c("env", "rebuild", "quiet"))
  if (length(args) && (is.null(names(args)) || any(!nzchar(names(args))) || length(unknown))) {
    mangoro_abort(c("mangoro_go_function() takes `code` and, by name, `env`, `rebuild` and `quiet`.",
                    if (length(unknown)) sprintf("Unknown: %s.", paste(unknown, collapse = ", "))),
                  "mangoro_input_error")
  }
  fns <- source_functions(NULL, code, args$env, isTRUE(args$rebuild), isTRUE(args$quiet),
                          also = name)
  fns[[name]]
}

source_functions <- function(file, code, env, rebuild, quiet, also) {
  if (!is.null(env) && !is.environment(env)) {
    mangoro_abort("`env` must be an environment, or NULL.", "mangoro_input_error")
  }
  src <- source_inputs(file, code)
  if (!is.null(code)) on.exit(unlink(src$files), add = TRUE)
  identity <- if (is.null(file)) NULL else paste(src$files, collapse = "\n")
  key <- source_key(src, also)

  # Unchanged in this session: the same server, no compiler, no generator.
  if (!isTRUE(rebuild)) {
    for (s in source_state$sources) {
      if (identical(s$key, key) && server_running(s$server)) {
        return(define_functions(s$fns, env))
      }
    }
  }

  dir <- tempfile("mangoro-source-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  generated <- generate_program(src, also, file.path(dir, "gen"))
  out <- file.path(source_bin_root(), key, if (.Platform$OS.type == "windows") "mangoro-source.exe" else "mangoro-source")
  bin <- tryCatch(
    mangoro_go_build(generated$files, out = out, rebuild = rebuild, quiet = quiet),
    mangoro_build_error = function(e) source_build_abort(e, src, generated)
  )
  srv <- mangoro_server_start(bin)
  fns <- mangoro_functions(srv)
  if (is.null(identity)) identity <- paste(sort(names(fns)), collapse = "\n")
  old <- source_state$sources[[identity]]
  source_state$sources[[identity]] <- list(key = key, server = srv, fns = fns)
  if (!is.null(old) && !identical(old$server, srv)) close(old$server)
  define_functions(fns, env)
}

server_running <- function(srv) !is.null(srv$sock) && srv$process$is_alive()

define_functions <- function(fns, env) {
  if (!is.null(env)) for (n in names(fns)) assign(n, fns[[n]], envir = env)
  invisible(fns)
}

check_code <- function(code) {
  if (!is.character(code) || !length(code) || anyNA(code)) {
    mangoro_abort("`code` must be Go source as a character string.", "mangoro_input_error")
  }
  paste(code, collapse = "\n")
}

# The files to read and the label each has in messages: code goes to a file
# in the session's temporary directory, labelled "code".
source_inputs <- function(file, code) {
  if (is.null(file) == is.null(code)) {
    mangoro_abort("Give either `file` (Go files) or `code` (a string of Go source).",
                  "mangoro_input_error")
  }
  if (!is.null(code)) {
    code <- check_code(code)
    dir <- file.path(tempdir(), "mangoro-code")
    dir.create(dir, showWarnings = FALSE)
    path <- tempfile("code-", dir, fileext = ".go")
    writeLines(code, path, useBytes = TRUE)
    return(list(files = path, labels = "code"))
  }
  if (!is.character(file) || !length(file) || anyNA(file) || !all(grepl("\\.go$", file))) {
    mangoro_abort("`file` must be the paths of one or more .go files.", "mangoro_input_error")
  }
  missing <- file[!file.exists(file)]
  if (length(missing)) {
    mangoro_abort(sprintf("`file` does not exist: %s.", paste(missing, collapse = ", ")),
                  "mangoro_input_error")
  }
  files <- normalizePath(file, mustWork = TRUE)
  list(files = files, labels = files)
}

# What the program depends on besides mangoro's own Go tree (which
# mangoro_go_build() checks): the sources, their labels and the exports.
source_key <- function(src, also) {
  text <- c(src$labels, unname(tools::md5sum(src$files)), also,
            as.character(utils::packageVersion("mangoro")))
  path <- tempfile("mangoro-key-")
  on.exit(unlink(path))
  writeLines(text, path, useBytes = TRUE)
  substr(unname(tools::md5sum(path)), 1L, 16L)
}

# Binaries sit with the Go build cache, so they follow its policy (a
# temporary directory during checks and tests, the user cache otherwise).
source_bin_root <- function() file.path(resolve_gocache(), "mangoro-source")

generator_binary <- function() {
  if (!is.null(source_state$gen) && file.exists(source_state$gen)) return(source_state$gen)
  exe <- if (.Platform$OS.type == "windows") ".exe" else ""
  src <- file.path(mangoro_go_module(), "cmd", "mangoro-gen")
  bin <- mangoro_go_build(src, out = file.path(source_bin_root(), paste0("mangoro-gen", exe)),
                          quiet = TRUE)
  source_state$gen <- bin
  bin
}

# Run the generator; its complaints (positions in the user's files) are
# build errors.
generate_program <- function(src, also, dir) {
  args <- c("-out", dir, if (length(also)) as.vector(rbind("-export", also)),
            as.vector(rbind("-file", src$files, "-label", src$labels)))
  res <- processx::run(generator_binary(), args, error_on_status = FALSE)
  if (res$status != 0L) {
    output <- trimws(res$stderr, "right")
    mangoro_abort(
      c(sprintf("Go source in %s cannot be served:", describe_labels(src$labels)), output),
      "mangoro_build_error",
      output = output, status = res$status, file = first_position(output)$file,
      line = first_position(output)$line
    )
  }
  files <- list.files(dir, pattern = "\\.go$", full.names = TRUE)
  list(files = normalizePath(files), dir = normalizePath(dir))
}

describe_labels <- function(labels) {
  if (identical(labels, "code")) "`code`" else describe_src(labels)
}

# The first "<file>:<line>:" of compiler or generator output.
first_position <- function(output) {
  lines <- strsplit(output, "\n", fixed = TRUE)[[1]]
  hit <- regmatches(lines, regexec("^\\s*(.+?\\.go|code):([0-9]+)(:[0-9]+)?:", lines))
  hit <- Filter(length, hit)
  if (!length(hit)) return(list(file = NULL, line = NULL))
  list(file = hit[[1]][2], line = as.integer(hit[[1]][3]))
}

# Re-raise a compile error so it names the user's files only: the compiler
# already reports positions through the //line directives; what is left of
# the generated files (the package header, the main file) is renamed.
source_build_abort <- function(e, src, generated) {
  lines <- strsplit(e$output, "\n", fixed = TRUE)[[1]]
  lines <- lines[!grepl("^# ", lines)]
  main <- file.path(generated$dir, "zz_mangoro_main.go")
  lines <- gsub(main, "<generated main>", lines, fixed = TRUE)
  lines <- gsub(basename(main), "<generated main>", lines, fixed = TRUE)
  output <- paste(lines, collapse = "\n")
  pos <- first_position(output)
  mangoro_abort(
    c(sprintf("Go build of %s failed:", describe_labels(src$labels)), output),
    "mangoro_build_error",
    output = output, status = e$status, file = pos$file, line = pos$line
  )
}
