# Fake `go` scripts stand in for toolchains of chosen versions, so discovery
# order and the "none suitable" error are tested without several real Gos.
fake_go <- function(dir, version) {
  dir.create(file.path(dir, "bin"), recursive = TRUE, showWarnings = FALSE)
  path <- file.path(dir, "bin", "go")
  writeLines(c("#!/bin/sh", sprintf("echo 'go version go%s linux/amd64'", version)), path)
  Sys.chmod(path, "0755")
  path
}

local_no_real_go <- function(.local_envir = parent.frame()) {
  withr::local_envvar(PATH = "", GOROOT = NA, MANGORO_GO = NA, .local_envir = .local_envir)
  withr::local_options(mangoro.go_path = NULL, mangoro.go_default_locations = character(),
                       .local_envir = .local_envir)
}

test_that("candidates come in the documented order: option, MANGORO_GO, GOROOT, PATH", {
  skip_on_os("windows")
  root <- withr::local_tempdir()
  by_option <- fake_go(file.path(root, "opt"), "1.23.1")
  by_env <- fake_go(file.path(root, "env"), "1.23.2")
  by_goroot <- fake_go(file.path(root, "goroot"), "1.23.3")
  by_path <- fake_go(file.path(root, "path"), "1.23.4")
  local_no_real_go()
  withr::local_envvar(MANGORO_GO = by_env, GOROOT = file.path(root, "goroot"),
                      PATH = dirname(by_path))
  withr::local_options(mangoro.go_path = file.path(root, "opt"))  # a Go root works too

  cands <- go_binary_candidates()
  expect_equal(unname(cands[1:4]), normalizePath(c(by_option, by_env, by_goroot, by_path)))
  expect_equal(names(cands)[1:4], c("option", "MANGORO_GO", "GOROOT", "PATH"))

  go <- mangoro_go_binary(refresh = TRUE)
  expect_equal(unname(as.character(go)), normalizePath(by_option))
  expect_equal(attr(go, "version"), "1.23.1")
})

test_that("the PATH search takes the first executable file named go, as the shell would", {
  skip_on_os("windows")
  root <- withr::local_tempdir()
  dir.create(file.path(root, "a", "go"), recursive = TRUE)   # a directory named go
  dir.create(file.path(root, "b"))
  writeLines("#!/bin/sh", file.path(root, "b", "go"))          # not executable
  real <- fake_go(file.path(root, "c"), "1.23.5")
  later <- fake_go(file.path(root, "d"), "1.23.6")
  local_no_real_go()
  withr::local_envvar(PATH = paste(c(file.path(root, c("a", "", "b")), dirname(real), dirname(later)),
                                   collapse = .Platform$path.sep))
  cands <- go_binary_candidates()
  expect_equal(unname(cands[names(cands) == "PATH"]), normalizePath(real))
})

test_that("too-old candidates are passed over for the first new-enough one", {
  skip_on_os("windows")
  root <- withr::local_tempdir()
  old <- fake_go(file.path(root, "old"), "1.21.9")
  new <- fake_go(file.path(root, "new"), "1.24.0")
  local_no_real_go()
  withr::local_options(mangoro.go_path = old)
  withr::local_envvar(MANGORO_GO = new)
  go <- mangoro_go_binary(refresh = TRUE)
  expect_equal(unname(as.character(go)), normalizePath(new))
  expect_equal(attr(go, "version"), "1.24.0")
})

test_that("no suitable Go gives one error listing what was found and how to fix it", {
  skip_on_os("windows")
  root <- withr::local_tempdir()
  old <- fake_go(file.path(root, "old"), "1.20.3")
  broken <- file.path(root, "broken", "go")
  dir.create(dirname(broken))
  writeLines(c("#!/bin/sh", "exit 3"), broken)
  Sys.chmod(broken, "0755")
  local_no_real_go()
  withr::local_options(mangoro.go_path = old)
  withr::local_envvar(MANGORO_GO = broken)
  err <- expect_error(mangoro_go_binary(refresh = TRUE), class = "mangoro_go_not_found")
  expect_match(conditionMessage(err), "needs Go >= 1.23.0", fixed = TRUE)
  expect_match(conditionMessage(err), "go 1.20.3", fixed = TRUE)
  expect_match(conditionMessage(err), "`go version` failed", fixed = TRUE)
  expect_match(conditionMessage(err), "mangoro.go_path", fixed = TRUE)
  expect_match(conditionMessage(err), "MANGORO_GO", fixed = TRUE)
  expect_s3_class(err, "mangoro_error")
  expect_false(mangoro_go_available())
})

test_that("the error without any Go at all says so", {
  skip_on_os("windows")
  local_no_real_go()
  expect_length(go_binary_candidates(), 0L)
  err <- expect_error(mangoro_go_binary(refresh = TRUE), class = "mangoro_go_not_found")
  expect_match(conditionMessage(err), "no `go` binary anywhere", fixed = TRUE)
})

test_that("the minimum Go version is read from the vendored go.mod", {
  expect_equal(mangoro_min_go_version(), "1.23.0")
  gomod <- readLines(system.file("go", "go.mod", package = "mangoro"))
  expect_true(paste("go", mangoro_min_go_version()) %in% gomod)
})

test_that("the real toolchain is found and is new enough", {
  skip_if_no_go()
  go <- mangoro_go_binary(refresh = TRUE)
  expect_true(file.exists(go))
  expect_true(numeric_version(attr(go, "version")) >= numeric_version(mangoro_min_go_version()))
})
