echo_src <- function() system.file("go", "cmd", "echo", package = "mangoro")

test_that("a directory with package main builds into a working binary", {
  skip_if_no_go()
  out <- file.path(withr::local_tempdir(), "echo")
  expect_message(res <- mangoro_go_build(echo_src(), out, rebuild = TRUE), "go build -trimpath -overlay .* -o ")
  expect_identical(res, normalizePath(out))
  expect_true(file.exists(out))
  expect_equal(processx::run(out, error_on_status = FALSE)$status, 2L)  # usage error
})

test_that("single and multiple .go files build, importing vendored and own packages", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  writeLines(c(
    "package main", "",
    "import (", "\t\"fmt\"",
    "\t\"golang.org/x/mod/semver\"",
    "\t\"github.com/apache/arrow-go/v18/arrow\"",
    ")", "",
    "func main() { fmt.Println(semver.Compare(\"v1.2.0\", \"v1.10.0\"), arrow.PrimitiveTypes.Float64, helper()) }"
  ), file.path(dir, "main.go"))
  writeLines(c("package main", "", "func helper() string { return \"two files\" }"),
             file.path(dir, "helper.go"))
  out <- mangoro_go_build(file.path(dir, c("main.go", "helper.go")), file.path(dir, "prog"), quiet = TRUE)
  expect_equal(processx::run(out)$stdout, "-1 float64 two files\n")
})

test_that("a compile error is a mangoro_build_error naming the user's file and line", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  src <- file.path(dir, "broken.go")
  writeLines(c("package main", "", "func main() {", "\tx := ", "}"), src)
  err <- expect_error(mangoro_go_build(src, file.path(dir, "b"), quiet = TRUE),
                      class = "mangoro_build_error")
  expect_s3_class(err, "mangoro_error")
  expect_match(conditionMessage(err), paste0(normalizePath(src), ":5:"), fixed = TRUE)
  expect_match(err$output, "syntax error")
  expect_equal(err$status, 1L)
  expect_false(file.exists(file.path(dir, "b")))
  expect_false(grepl("_mangoro", conditionMessage(err)))
})

test_that("type errors also point at the user's file", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  src <- file.path(dir, "typo.go")
  writeLines(c("package main", "", "func main() {", "\tvar n int = \"x\"", "\t_ = n", "}"), src)
  err <- expect_error(mangoro_go_build(src, file.path(dir, "t"), quiet = TRUE),
                      class = "mangoro_build_error")
  expect_match(conditionMessage(err), paste0(normalizePath(src), ":4:"), fixed = TRUE)
})

test_that("bad src is an input error", {
  dir <- withr::local_tempdir()
  expect_error(mangoro_go_build(file.path(dir, "nope.go")), class = "mangoro_input_error")
  expect_error(mangoro_go_build(dir), class = "mangoro_input_error")
  lib <- file.path(dir, "lib.go")
  writeLines("package lib", lib)
  expect_error(mangoro_go_build(lib), "package lib", class = "mangoro_input_error")
  expect_error(mangoro_go_build(lib, ouut = "x"), "ouut", class = "mangoro_input_error")
})

test_that("an unchanged build does not run the compiler; a change or rebuild does", {
  skip_if_no_go()
  real <- mangoro_go_binary()
  dir <- withr::local_tempdir()
  # A wrapper records every go invocation, then runs the real go.
  calls <- file.path(dir, "calls.log")
  wrapper <- file.path(dir, "go")
  writeLines(c("#!/bin/sh", sprintf("echo \"$1\" >> '%s'", calls), sprintf("exec '%s' \"$@\"", real)),
             wrapper)
  Sys.chmod(wrapper, "0755")
  withr::local_options(mangoro.go_path = wrapper)
  src <- file.path(dir, "main.go")
  writeLines(c("package main", "", "func main() { println(1) }"), src)
  out <- file.path(dir, "prog")

  mangoro_go_build(src, out, quiet = TRUE)
  expect_equal(sum(readLines(calls) == "build"), 1L)
  expect_message(mangoro_go_build(src, out), "up to date")
  expect_equal(sum(readLines(calls) == "build"), 1L)

  mangoro_go_build(src, out, quiet = TRUE, rebuild = TRUE)
  expect_equal(sum(readLines(calls) == "build"), 2L)

  writeLines(c("package main", "", "func main() { println(2) }"), src)
  mangoro_go_build(src, out, quiet = TRUE)
  expect_equal(sum(readLines(calls) == "build"), 3L)
  expect_match(processx::run(out)$stderr, "2")
})

test_that("the build key follows mangoro's own Go sources: edits, new and removed files", {
  module <- withr::local_tempdir()
  dir.create(file.path(module, "pkg", "a"), recursive = TRUE)
  dir.create(file.path(module, "internal"))
  dir.create(file.path(module, "vendor"))
  writeLines("module mangoro", file.path(module, "go.mod"))
  writeLines("# none", file.path(module, "vendor", "modules.txt"))
  a <- file.path(module, "pkg", "a", "a.go")
  writeLines("package a // 1", a)
  user <- file.path(module, "main.go")
  writeLines("package main", user)
  go <- structure("/go", version = "1.23.0")
  key <- function() build_key(user, "/out/prog", character(), go, module)

  k1 <- key()
  expect_identical(key(), k1)
  writeLines("package a // 2", a) # same size, and likely the same clock tick
  k2 <- key()
  expect_false(k2 == k1)
  b <- file.path(module, "internal", "b", "b.go")
  dir.create(dirname(b))
  writeLines("package b", b)
  k3 <- key()
  expect_false(k3 %in% c(k1, k2))
  writeLines("package b", file.path(module, "internal", "b", "b_test.go")) # tests do not count
  expect_identical(key(), k3)
  unlink(b)
  unlink(file.path(module, "internal", "b", "b_test.go"))
  expect_identical(key(), k2)
  writeLines("package main // 2", user)
  expect_false(key() == k2)
})

test_that("remembered hashes and listings are dropped when a file or directory changes", {
  dir <- withr::local_tempdir()
  old <- Sys.time() - 3600
  f <- file.path(dir, "x.go")
  writeLines("package x // 1", f)
  Sys.setFileTime(c(f, dir), old)
  # settle = -Inf remembers even what just changed, so each answer below
  # comes from noticing the change, not from rereading everything.
  expect_identical(file_md5(f, settle = -Inf), unname(tools::md5sum(f)))
  expect_identical(go_sources_under(dir, settle = -Inf), f)
  expect_true(f %in% names(stat_memo$md5))
  expect_true(dir %in% names(stat_memo$listing))

  writeLines("package x // 2", f) # same size: the new mtime tells
  expect_identical(file_md5(f, settle = -Inf), unname(tools::md5sum(f)))
  g <- file.path(dir, "sub", "y.go")
  dir.create(dirname(g))
  writeLines("package y", g)
  expect_setequal(go_sources_under(dir, settle = -Inf), c(f, g))
  Sys.setFileTime(dirname(g), old)
  expect_setequal(go_sources_under(dir, settle = -Inf), c(f, g))
  unlink(g)
  expect_identical(go_sources_under(dir, settle = -Inf), f)

  # By default, what changed in the last seconds is read again each time.
  h <- file.path(dir, "h.go")
  writeLines("package h", h)
  expect_identical(file_md5(h), unname(tools::md5sum(h)))
  expect_false(h %in% names(stat_memo$md5))
  expect_identical(file_md5(file.path(dir, "none.go")), NA_character_)
})

test_that("a build writes nothing under HOME", {
  skip_if_no_go()
  home <- local_fresh_home()
  before <- list.files(home, all.files = TRUE, recursive = TRUE, include.dirs = TRUE, no.. = TRUE)
  out <- file.path(tempdir(), "home-test", "echo")
  mangoro_go_build(echo_src(), out, quiet = TRUE, rebuild = TRUE)
  expect_true(file.exists(out))
  after <- list.files(home, all.files = TRUE, recursive = TRUE, include.dirs = TRUE, no.. = TRUE)
  expect_identical(after, before)
  expect_length(after, 0L)
})

test_that("the Go environment is offline, vendored and sandboxed", {
  env <- go_env("/some/cache", 2L)
  expect_equal(env[["GOFLAGS"]], "-mod=vendor")
  expect_equal(env[["GOPROXY"]], "off")
  expect_equal(env[["GOTOOLCHAIN"]], "local")
  expect_equal(env[["GOWORK"]], "off")
  expect_equal(env[["GOCACHE"]], "/some/cache")
  expect_equal(env[["GOMAXPROCS"]], "2")
  expect_true(startsWith(env[["HOME"]], tempdir()))
  expect_true(startsWith(env[["XDG_CONFIG_HOME"]], tempdir()))
  expect_equal(readLines(file.path(env[["XDG_CONFIG_HOME"]], "go", "telemetry", "mode")), "off")
})

test_that("the go build cache is never the user cache during tests", {
  withr::local_options(mangoro.gocache = NULL)
  withr::local_envvar(MANGORO_GOCACHE = NA, TESTTHAT = "true")
  expect_true(startsWith(resolve_gocache(), tempdir()))
  expect_equal(resolve_gocache("/x/y"), normalizePath("/x/y", mustWork = FALSE))
  withr::local_envvar(MANGORO_GOCACHE = "/from/env")
  expect_equal(resolve_gocache(), normalizePath("/from/env", mustWork = FALSE))
})

test_that("cache info and clear manage the cache in use", {
  withr::local_options(mangoro.gocache = file.path(withr::local_tempdir(), "go-build"))
  info <- mangoro_cache_info()
  expect_false(info$exists)
  dir.create(file.path(info$path, "ab"), recursive = TRUE)
  writeBin(raw(1000), file.path(info$path, "ab", "old-d"))
  writeBin(raw(10), file.path(info$path, "ab", "new-d"))
  Sys.setFileTime(file.path(info$path, "ab", "old-d"), Sys.time() - 40 * 86400)
  expect_equal(mangoro_cache_info()$size, 1010)
  expect_gt(mangoro_cache_clear(), 0)
  expect_false(mangoro_cache_info()$exists)
})

test_that("arrow's old v18 import path builds against the vendored arrow-go, with one message", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  src <- file.path(dir, "old.go")
  writeLines(c(
    "package main", "",
    "import (",
    "\t\"fmt\"",
    "\t\"github.com/apache/arrow/go/v18/arrow\"",
    "\t`github.com/apache/arrow/go/v18/arrow/memory`",
    ")", "",
    "// Comments naming github.com/apache/arrow/go/v18 stay as they are.",
    "func main() { fmt.Println(arrow.PrimitiveTypes.Int32, memory.DefaultAllocator != nil) }"
  ), src)
  before <- tools::md5sum(src)
  module <- mangoro:::mangoro_go_module()
  msgs <- capture_messages(out <- mangoro_go_build(src, file.path(dir, "old"), rebuild = TRUE))
  hits <- grep("old path github.com/apache/arrow/go/v18", msgs, fixed = TRUE)
  expect_length(hits, 1L)
  expect_match(msgs[hits], normalizePath(src), fixed = TRUE)
  expect_match(msgs[hits], "change the imports to github.com/apache/arrow-go/v18/...", fixed = TRUE)
  expect_identical(processx::run(out)$stdout, "int32 true\n")
  expect_identical(tools::md5sum(src), before)
  expect_false(dir.exists(file.path(module, "cmd", "_mangoro")))
  # quiet = TRUE silences it with the rest.
  expect_silent(mangoro_go_build(src, file.path(dir, "old"), rebuild = TRUE, quiet = TRUE))
  # An unchanged build still says so, without compiling.
  msgs <- capture_messages(mangoro_go_build(src, file.path(dir, "old")))
  expect_length(grep("old path github.com/apache/arrow/go/v18", msgs, fixed = TRUE), 1L)
  expect_length(grep("up to date", msgs, fixed = TRUE), 1L)
})

test_that("compile errors in a file with the old arrow path point at the user's file and line", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  src <- file.path(dir, "oldbroken.go")
  writeLines(c(
    "package main", "",
    "import \"github.com/apache/arrow/go/v18/arrow\"", "",
    "func main() {",
    "\tvar n int = arrow.PrimitiveTypes.Int32",
    "\t_ = n",
    "}"
  ), src)
  err <- expect_error(mangoro_go_build(src, file.path(dir, "b"), quiet = TRUE),
                      class = "mangoro_build_error")
  expect_match(conditionMessage(err), paste0(normalizePath(src), ":6:14:"), fixed = TRUE)
  expect_false(grepl("mangoro-src-", conditionMessage(err), fixed = TRUE))
})

test_that("other old arrow paths are build errors naming the supported path", {
  dir <- withr::local_tempdir()
  for (path in c("github.com/apache/arrow/go/v17/arrow", "github.com/apache/arrow/go/v16/arrow/ipc",
                 "github.com/apache/arrow/go/v180/arrow", "github.com/apache/arrow/go/arrow",
                 "github.com/apache/arrow/go/arrow/memory")) {
    src <- file.path(dir, "main.go")
    writeLines(c("package main", "", "import (", "\t\"github.com/apache/arrow/go/v18/arrow\"",
                 sprintf("\t_ \"%s\"", path), ")", "", "func main() { _ = arrow.Null }"), src)
    err <- expect_error(mangoro_go_build(src, file.path(dir, "x"), quiet = TRUE),
                        class = "mangoro_build_error", label = path)
    expect_match(conditionMessage(err), sprintf("%s:5 imports %s,", normalizePath(src), path),
                 fixed = TRUE, label = path)
    expect_match(conditionMessage(err), "import github.com/apache/arrow-go/v18/...", fixed = TRUE,
                 label = path)
  }
})

test_that("the overlay is JSON that keeps quotes, backslashes and non-ASCII in paths", {
  skip_if_no_go()
  base <- withr::local_tempdir()
  dir <- file.path(base, "a \"quoted\" \\ back\\slash d\u00e9j\u00e0")
  dir.create(dir)
  src <- file.path(dir, "main.go")
  writeLines(c("package main", "", "import \"fmt\"", "", "func main() { fmt.Println(\"odd path\") }"), src)
  module <- mangoro:::mangoro_go_module()
  overlay <- mangoro:::write_overlay(normalizePath(src), module, "cmd/_mangoro/test")
  on.exit(unlink(overlay), add = TRUE)
  replace <- jsonlite::fromJSON(overlay)$Replace
  expect_identical(replace[[file.path(module, "cmd/_mangoro/test", "main.go")]], normalizePath(src))
  out <- mangoro_go_build(src, file.path(base, "odd"), quiet = TRUE)
  expect_identical(processx::run(out)$stdout, "odd path\n")
})

test_that("mangoro_go_build() returns the binary's path visibly", {
  skip_if_no_go()
  out <- file.path(withr::local_tempdir(), "echo")
  expect_visible(mangoro_go_build(echo_src(), out, quiet = TRUE))
  expect_visible(mangoro_go_build(echo_src(), out, quiet = TRUE)) # up to date
})

test_that("Go code given as src points at the inline-Go functions", {
  e <- expect_error(mangoro_go_build("package main\nfunc main() {}"), class = "mangoro_build_error")
  expect_s3_class(e, "mangoro_input_error")
  expect_match(conditionMessage(e), "looks like Go code, not a path", fixed = TRUE)
  expect_match(conditionMessage(e), "mangoro_source()", fixed = TRUE)
  expect_match(conditionMessage(e), "mangoro_go_function()", fixed = TRUE)
})
