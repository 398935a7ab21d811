# Compiling users' Go programs inside the installed, vendored module. The
# user's files are never copied into the package: `go build -overlay` shows
# them to the go command as if they lived in cmd/_mangoro/<key>/ of the module,
# and the same overlay restores the vendored files that were shipped under
# short names (see tools/vendor.sh).

#' Compile a Go program against mangoro's vendored modules
#'
#' Builds `src` offline inside mangoro's Go module, so it can import mangos v3
#' (`go.nanomsg.org/mangos/v3/...`), arrow-go v18
#' (`github.com/apache/arrow-go/v18/...`), `golang.org/x/mod/...` and mangoro's
#' own Go library (`mangoro/pkg/rgoipc`).
#'
#' @section Arrow's old import path:
#' Before arrow-go moved to its own repository, its packages were imported
#' as `github.com/apache/arrow/go/v18/...`. A program that still does so is
#' built against the vendored `github.com/apache/arrow-go/v18/...` (the same
#' code and API): the build compiles a copy of your file with the import
#' paths rewritten (quoted paths only, same lines and columns, so compile
#' errors still point at your file), and says so in a message (unless
#' `quiet = TRUE`) with the fix: change the imports to
#' `github.com/apache/arrow-go/v18/...`. Your file is never modified. Older
#' major versions (`github.com/apache/arrow/go/v17/...`, v16, ..., and the
#' unversioned `github.com/apache/arrow/go/arrow/...`) have other APIs and
#' are not vendored: they are a `mangoro_build_error` naming the supported
#' path.
#'
#' The go command runs with an environment built for this call: `-mod=vendor`,
#' `GOPROXY=off`, `GOTOOLCHAIN=local`, `GOWORK=off`, `CGO_ENABLED=0`, telemetry
#' off, and `HOME`, `XDG_CONFIG_HOME` and `GOENV` pointed into the session's
#' temporary directory, so nothing is written under your home directory.
#'
#' An unchanged build (same sources, mangoro Go library, vendored tree, Go
#' version, flags and output path) returns the existing binary without running
#' the compiler; `rebuild = TRUE` forces a build.
#'
#' @section Build cache:
#' Compiling the vendored arrow-go takes about 40 s on two cores; with a warm
#' Go build cache a program builds in about a second. Where the cache lives:
#' * `gocache` when given;
#' * else the option `mangoro.gocache` or the environment variable
#'   `MANGORO_GOCACHE`;
#' * else, during `R CMD check` or tests, a directory in [tempdir()];
#' * else, in interactive sessions (and in scripts once it exists), the user
#'   cache directory `tools::R_user_dir("mangoro", "cache")`;
#' * else a directory in [tempdir()].
#'
#' The CRAN policy allows packages to keep "user-specific data, configuration
#' and cache files" in the directories given by [tools::R_user_dir()],
#' "provided that by default sizes are kept as small as possible and the
#' contents are actively managed (including removing outdated material)".
#' mangoro keeps only Go's build cache there; Go itself drops entries unused
#' for five days each time it builds, and [mangoro_cache_info()] and
#' [mangoro_cache_clear()] show and remove it. It is never used during
#' `R CMD check` or tests.
#'
#' @param src Character: a `.go` file, several `.go` files of one `package
#'   main`, or a directory holding a `package main` (its `_test.go` files are
#'   left out).
#' @param out Character or `NULL` (default): the binary to write. `NULL` puts
#'   it in [tempdir()], named after `src`.
#' @param gomaxprocs Integer or `NULL` (default): `GOMAXPROCS` for the go
#'   command, which bounds how many cores the build uses.
#' @param gocache Character or `NULL` (default): the Go build cache directory;
#'   see 'Build cache'.
#' @param ... Further arguments for `go build`, as unnamed character strings
#'   (e.g. `"-race"`, `"-tags=foo"`).
#' @param goos,goarch Character scalars or `NULL` (default: this platform):
#'   the target of a cross-compilation, as Go names them (`go tool dist
#'   list`), e.g. `goos = "linux", goarch = "arm64"`. Both or neither. A
#'   default `out` is then named `<name>-<goos>-<goarch>`.
#' @param rebuild Logical, default `FALSE`: compile even if nothing changed.
#' @param quiet Logical, default `FALSE`: suppress the messages that show the
#'   command and progress, and the one about arrow's old import path.
#' @return `out`, the path of the binary.
#' @section Errors:
#' A compile error raises a `mangoro_build_error` whose message shows Go's
#' diagnostics with your own file paths and line numbers; the condition
#' carries the full `output`, the exit `status` and the `command`. Without a
#' suitable Go, `mangoro_go_not_found`.
#' @family entry points
#' @export
#' @examplesIf mangoro_go_available()
#' src <- system.file("go", "cmd", "echo", "main.go", package = "mangoro")
#' bin <- mangoro_go_build(src)
#' file.exists(bin)
mangoro_go_build <- function(src, out = NULL, gomaxprocs = NULL, gocache = NULL, ...,
                             goos = NULL, goarch = NULL, rebuild = FALSE, quiet = FALSE) {
  extra <- build_flags(...)
  sources <- build_sources(src)
  files <- names(sources)
  old <- old_arrow_imports(sources, quiet)
  platform <- go_platform(goos, goarch) # cross-compiling (R/cross.R)
  out <- if (is.null(out)) platform_output(build_output(NULL, src), platform) else build_output(out, src)
  go <- mangoro_go_binary()
  gocache <- resolve_gocache(gocache)
  module <- mangoro_go_module()

  key <- build_key(files, out, c(extra, platform_key(platform)), go, module)
  stamp <- build_stamp_path(out)
  if (!isTRUE(rebuild) && build_is_current(stamp, key, out)) {
    if (!quiet) message("mangoro: ", out, " is up to date (rebuild = TRUE forces a build)")
    return(out)
  }

  rewritten <- rewrite_old_arrow(sources[old])
  on.exit(unlink(rewritten), add = TRUE)
  pkgdir <- paste0("cmd/_mangoro/", substr(key, 1L, 12L))
  overlay <- write_overlay(files, module, pkgdir, rewritten)
  on.exit(unlink(overlay), add = TRUE)
  # -trimpath keeps absolute paths out of the binary and, as important, out
  # of Go's cache keys: a reinstalled mangoro (or R CMD check's copy) at
  # another path still finds arrow-go compiled.
  args <- c("build", "-trimpath", "-overlay", overlay, "-o", out, extra, paste0("./", pkgdir))

  if (!quiet) {
    message("mangoro: ", shell_words(c(go, args)))
    if (cache_is_cold(gocache)) {
      message("mangoro: first build with this Go cache: compiling arrow-go and mangos ",
              "takes about a minute; later builds take about a second.")
    }
  }
  dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
  started <- Sys.time()
  res <- processx::run(go, args, wd = module, env = c(go_env(gocache, gomaxprocs), platform),
                       error_on_status = FALSE, stderr_to_stdout = TRUE)
  if (res$status != 0L) {
    output <- user_paths(res$stdout, files, module, pkgdir, rewritten)
    mangoro_abort(
      c(sprintf("Go build of %s failed (exit status %d):", describe_src(src), res$status),
        trimws(output, "right")),
      "mangoro_build_error",
      output = output, status = res$status, command = c(go, args)
    )
  }
  mark_cache_warm(gocache)
  writeLines(c(key, stamp_fingerprint(out)), stamp)
  if (!quiet) {
    message(sprintf("mangoro: built %s in %.1f s", out,
                    as.numeric(difftime(Sys.time(), started, units = "secs"))))
  }
  out
}

build_flags <- function(...) {
  extra <- list(...)
  if (!length(extra)) return(character())
  if (!is.null(names(extra)) && any(nzchar(names(extra)))) {
    mangoro_abort(
      c(sprintf("Unknown argument(s) to mangoro_go_build(): %s.",
                paste(names(extra)[nzchar(names(extra))], collapse = ", ")),
        "Extra `go build` flags go in `...` unnamed, e.g. mangoro_go_build(src, out, \"-race\")."),
      "mangoro_input_error"
    )
  }
  extra <- unlist(extra, use.names = FALSE)
  if (!is.character(extra) || anyNA(extra)) {
    mangoro_abort("Extra `go build` flags must be character strings such as \"-race\".",
                  "mangoro_input_error")
  }
  extra
}

# The lines of each .go file of `src`, named by its absolute path, checked to
# be one package main. Read once: the old-arrow scan and rewrite reuse them.
build_sources <- function(src) {
  bad <- function(...) mangoro_abort(paste0(...), c("mangoro_input_error", "mangoro_build_error"))
  if (!is.character(src) || !length(src) || anyNA(src)) {
    bad("`src` must be the path of a .go file, several .go files, or a directory.")
  }
  missing <- src[!file.exists(src)]
  if (length(missing) && any(grepl("\n|^\\s*package\\s", missing))) {
    mangoro_abort(
      c("`src` looks like Go code, not a path: mangoro_go_build() builds files and directories.",
        "Build and start Go code given as a string with mangoro_source(), or wrap one function with mangoro_go_function()."),
      c("mangoro_input_error", "mangoro_build_error")
    )
  }
  if (length(missing)) bad("`src` does not exist: ", paste(missing, collapse = ", "))
  if (length(src) == 1L && dir.exists(src)) {
    files <- list.files(src, pattern = "\\.go$", full.names = TRUE)
    files <- files[!grepl("_test\\.go$", files)]
    if (!length(files)) bad("Directory ", src, " holds no .go files.")
  } else {
    if (any(dir.exists(src))) bad("`src` must be one directory, or .go files only.")
    files <- src
    if (!all(grepl("\\.go$", files))) bad("Every file in `src` must end in .go.")
  }
  files <- normalizePath(files, mustWork = TRUE)
  if (anyDuplicated(basename(files))) {
    bad("Two files in `src` have the same name; a package's files must have distinct names.")
  }
  lines <- lapply(files, readLines, warn = FALSE, encoding = "UTF-8")
  names(lines) <- files
  pkgs <- vapply(lines, go_package_name, "")
  if (!all(pkgs == "main")) {
    bad("`src` must be a `package main` program; ",
        paste(sprintf("%s is package %s", basename(files), pkgs)[pkgs != "main"], collapse = ", "), ".")
  }
  lines
}

# The package clause, skipping comments; "" when there is none.
go_package_name <- function(lines) {
  clause <- grep("^\\s*package\\s+[A-Za-z_][A-Za-z0-9_]*", lines, value = TRUE)[1]
  if (is.na(clause)) "" else sub("^\\s*package\\s+([A-Za-z_][A-Za-z0-9_]*).*$", "\\1", clause)
}

build_output <- function(out, src) {
  exe <- if (.Platform$OS.type == "windows") ".exe" else ""
  if (is.null(out)) {
    name <- basename(src[1])
    if (!dir.exists(src[1])) name <- sub("\\.go$", "", name)
    if (name %in% c("main", "")) name <- basename(dirname(normalizePath(src[1])))
    out <- file.path(tempdir(), "mangoro-bin", paste0(name, exe))
  }
  if (!is.character(out) || length(out) != 1L || is.na(out) || !nzchar(out)) {
    mangoro_abort("`out` must be one file path, or NULL.", "mangoro_input_error")
  }
  if (nzchar(exe) && !grepl("\\.exe$", out)) out <- paste0(out, exe)
  normalizePath(out, mustWork = FALSE)
}

# For messages: quote only the words a shell would split or expand.
shell_words <- function(x) {
  plain <- grepl("^[A-Za-z0-9_./=:@+-]+$", x)
  x[!plain] <- shQuote(x[!plain])
  paste(x, collapse = " ")
}

describe_src <- function(src) {
  if (length(src) == 1L) src else sprintf("%s (and %d more)", src[1], length(src) - 1L)
}

# The overlay maps each user file (or its rewritten copy, see
# old_arrow_imports()) into a directory of the module that does not exist on
# disk, and puts back vendored files shipped under short names.
write_overlay <- function(files, module, pkgdir, rewritten = character()) {
  targets <- file.path(module, pkgdir, basename(files))
  sources <- files
  swap <- match(names(rewritten), files)
  sources[swap] <- unname(rewritten)
  replace <- c(stats::setNames(as.list(sources), targets), longpath_overlay(module))
  json <- jsonlite::toJSON(list(Replace = replace), auto_unbox = TRUE)
  path <- tempfile("mangoro-overlay-", fileext = ".json")
  writeLines(enc2utf8(as.character(json)), path, useBytes = TRUE)
  path
}

# arrow-go was the module github.com/apache/arrow/go/vNN inside apache/arrow
# up to v17; v18 moved to github.com/apache/arrow-go/v18 with the same API.
# Only v18 is mapped: older majors differ in API and are not vendored.
arrow_old_re <- "[\"`]github\\.com/apache/arrow/go(/[^\"`[:space:]]*)?[\"`]"
arrow_v18_re <- "([\"`])github\\.com/apache/arrow/go/v18([/\"`])"
arrow_new <- "github.com/apache/arrow-go/v18"

# The files (names of `sources`, see build_sources()) that import arrow's v18
# package under its old path; older majors are an error. Most files never
# name arrow's old repository: a fixed-string test skips them (and the lines
# that do not) before any regular expression runs, so an unchanged build pays
# almost nothing here.
old_arrow_imports <- function(sources, quiet) {
  old <- character()
  for (f in names(sources)) {
    lines <- sources[[f]]
    near <- which(grepl("github.com/apache/arrow/go", lines, fixed = TRUE, useBytes = TRUE))
    if (!length(near)) next
    found <- regmatches(lines[near], gregexpr(arrow_old_re, lines[near], useBytes = TRUE))
    if (!any(lengths(found))) next
    paths <- gsub("^.|.$", "", unlist(found), useBytes = TRUE)
    line_of <- rep(near, lengths(found))
    other <- !grepl("^github\\.com/apache/arrow/go/v18(/|$)", paths, useBytes = TRUE)
    if (any(other)) {
      mangoro_abort(
        c(sprintf("%s:%d imports %s, an old arrow-go path that mangoro does not vendor.",
                  f, line_of[other][1L], paths[other][1L]),
          sprintf("mangoro vendors arrow-go v18 only: import %s/... (e.g. %s/arrow/ipc).",
                  arrow_new, arrow_new)),
        "mangoro_build_error"
      )
    }
    old <- c(old, f)
  }
  if (length(old) && !quiet) {
    message("mangoro: ", paste(old, collapse = " and "), if (length(old) == 1L) " imports" else " import",
            " arrow-go under its old path ",
            "github.com/apache/arrow/go/v18/...; building against the vendored ", arrow_new,
            " (the same API). To silence this message, change the imports to ", arrow_new, "/...")
  }
  old
}

# For each file of `sources` (as for old_arrow_imports()), a temporary copy
# with the old paths rewritten, named by the user's file. The two paths have
# the same length, so lines and columns stay where they were. Only a build
# that runs the compiler writes them.
rewrite_old_arrow <- function(sources) {
  rewritten <- character()
  for (f in names(sources)) {
    copy <- tempfile("mangoro-src-", fileext = ".go")
    writeLines(gsub(arrow_v18_re, paste0("\\1", arrow_new, "\\2"), sources[[f]], useBytes = TRUE),
               copy, useBytes = TRUE)
    rewritten[f] <- copy
  }
  rewritten
}

longpath_overlay <- function(module) {
  map <- file.path(module, "_longpaths", "MAP")
  if (!file.exists(map)) return(list())
  rows <- strsplit(readLines(map, warn = FALSE), " ", fixed = TRUE)
  short <- vapply(rows, `[`, "", 1L)
  long <- file.path(module, vapply(rows, `[`, "", 2L))
  keep <- !file.exists(long)          # a source checkout has the originals
  stats::setNames(as.list(file.path(module, "_longpaths", short[keep])), long[keep])
}

# Go reports files relative to its working directory (the module), or by
# the overlay's source (a rewritten copy); show the user's own paths instead.
user_paths <- function(output, files, module, pkgdir, rewritten = character()) {
  lines <- strsplit(output, "\n", fixed = TRUE)[[1]]
  # "# mangoro/cmd/_mangoro/<key>" names the virtual package; name the files.
  lines <- sub(paste0("^# mangoro/", pkgdir, "$"), paste("#", describe_src(files)), lines)
  pat <- "^(\\s*)([^:[:space:]]+\\.go)(:[0-9]+)"
  hit <- grepl(pat, lines)
  if (any(hit)) {
    paths <- sub(paste0(pat, ".*$"), "\\2", lines[hit])
    abs <- ifelse(grepl("^(/|[A-Za-z]:)", paths), paths, file.path(module, paths))
    abs <- normalizePath(abs, mustWork = FALSE)
    virtual <- normalizePath(file.path(module, pkgdir, basename(files)), mustWork = FALSE)
    real <- files[match(abs, virtual)]
    real[is.na(real)] <- files[match(abs, files)][is.na(real)]
    if (length(rewritten)) {
      copies <- normalizePath(unname(rewritten), mustWork = FALSE)
      real[is.na(real)] <- names(rewritten)[match(abs, copies)][is.na(real)]
    }
    fixed <- !is.na(real)
    lines[hit][fixed] <- mapply(function(l, p, r) sub(p, r, l, fixed = TRUE),
                                lines[hit][fixed], paths[fixed], real[fixed], USE.NAMES = FALSE)
  }
  paste(lines, collapse = "\n")
}

# What decides whether a build would produce the same binary: the user's
# sources, mangoro's Go sources outside vendor, the vendored module list, the
# Go version and platform, the flags and the output path.
build_key <- function(files, out, extra, go, module) {
  ours <- go_sources_under(file.path(module, c("pkg", "internal")))
  sums <- file_md5(c(files, ours, file.path(module, c("go.mod", "vendor/modules.txt"))))
  text <- c(paste(basename(files), sums[seq_along(files)]), sums[-seq_along(files)],
            attr(go, "version"), unname(go), R.version$platform, extra, out,
            unname(getNamespaceVersion("mangoro")))
  path <- tempfile("mangoro-key-")
  on.exit(unlink(path))
  writeLines(text, path, useBytes = TRUE)
  unname(tools::md5sum(path))
}

# An unchanged build must not reread mangoro's own Go sources each time, so
# file hashes and directory listings are remembered for the session, each
# with its file's (or directory's) size, mtime and ctime, and trusted while
# those stay the same. Any write changes mtime and ctime; the one that could
# hide is a write in the same tick of a coarse file-system clock (1-2 s on
# some), so, as git does with "racily clean" files, what changed less than
# `settle_secs` before it was read is not remembered.
stat_memo <- new.env(parent = emptyenv())
stat_memo$md5 <- character()
stat_memo$md5_stat <- character()
stat_memo$listing <- list()
settle_secs <- 2

file_stats <- function(paths, before, settle = settle_secs) {
  info <- file.info(paths, extra_cols = FALSE)
  mtime <- as.numeric(info$mtime)
  ctime <- as.numeric(info$ctime)
  list(stat = sprintf("%.0f %a %a", info$size, mtime, ctime), # %a: exact
       settled = !is.na(mtime) & !is.na(ctime) &
         pmax(mtime, ctime) < as.numeric(before) - settle)
}

# tools::md5sum() of `paths`, unnamed; NA for a missing file.
file_md5 <- function(paths, settle = settle_secs) {
  before <- Sys.time()
  now <- file_stats(paths, before, settle)
  known <- unname(stat_memo$md5[paths])
  fresh <- is.na(known) | unname(stat_memo$md5_stat[paths]) != now$stat
  if (any(fresh)) {
    known[fresh] <- unname(tools::md5sum(paths[fresh]))
    keep <- fresh & now$settled & !is.na(known)
    stat_memo$md5[paths[keep]] <- known[keep]
    stat_memo$md5_stat[paths[keep]] <- now$stat[keep]
  }
  known
}

# The non-test .go files anywhere under `roots`. A directory's mtime and
# ctime change when an entry is added, removed or renamed in it.
go_sources_under <- function(roots, settle = settle_secs) {
  id <- paste(roots, collapse = "\n")
  memo <- stat_memo$listing[[id]]
  if (!is.null(memo) && identical(file_stats(memo$dirs, Sys.time())$stat, memo$stat)) {
    return(memo$files)
  }
  before <- Sys.time()
  files <- list.files(roots, pattern = "\\.go$", recursive = TRUE, full.names = TRUE)
  files <- files[!grepl("_test\\.go$", files)]
  dirs <- unique(c(roots, list.dirs(roots, full.names = TRUE, recursive = TRUE)))
  now <- file_stats(dirs, before, settle)
  if (all(now$settled)) {
    stat_memo$listing[[id]] <- list(dirs = dirs, stat = now$stat, files = files)
  }
  files
}

# The stamp sits next to the binary (hidden), so an unchanged build is
# recognised in a new session whatever cache is in use.
build_stamp_path <- function(out) {
  file.path(dirname(out), paste0(".", basename(out), ".mangoro-build"))
}

stamp_fingerprint <- function(out) {
  info <- file.info(out)
  paste(info$size, format(as.numeric(info$mtime), digits = 15))
}

build_is_current <- function(stamp, key, out) {
  if (!file.exists(stamp) || !file.exists(out)) return(FALSE)
  lines <- readLines(stamp, warn = FALSE)
  length(lines) == 2L && identical(lines[1], key) && identical(lines[2], stamp_fingerprint(out))
}
