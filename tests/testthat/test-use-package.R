# mangoro_use_package() scaffolds a package; the slow test builds and checks
# it with R CMD check (set MANGORO_TEST_SLOW=true to run it).

local_package <- function(name = "gopkg", .local_envir = parent.frame()) {
  dir <- file.path(withr::local_tempdir(.local_envir = .local_envir), name)
  dir.create(dir)
  writeLines(c(
    paste("Package:", name), "Title: Go Functions for a Test", "Version: 0.1.0",
    "Authors@R: person(\"A\", \"Tester\", email = \"a@example.org\", role = c(\"aut\", \"cre\"))",
    "Description: Calls Go functions through mangoro, for a test.", "License: MIT + file LICENSE",
    "Encoding: UTF-8", "Suggests: knitr"
  ), file.path(dir, "DESCRIPTION"))
  writeLines(c("YEAR: 2026", "COPYRIGHT HOLDER: A Tester"), file.path(dir, "LICENSE"))
  dir
}

test_that("mangoro_use_package() writes the files and DESCRIPTION fields", {
  pkg <- local_package()
  written <- mangoro_use_package(pkg, quiet = TRUE)
  expect_setequal(sub(paste0(pkg, "/"), "", written, fixed = TRUE),
                  c("inst/go/functions.go", "R/mangoro.R", "tests/testthat/test-mangoro.R",
                    "tests/testthat.R", "DESCRIPTION"))
  desc <- read.dcf(file.path(pkg, "DESCRIPTION"))
  expect_identical(unname(desc[1, "Imports"]), "mangoro")
  expect_match(desc[1, "Suggests"], "knitr,\\s+testthat")
  expect_identical(unname(desc[1, "SystemRequirements"]), "Go (>= 1.23)")
  expect_identical(unname(desc[1, "Config/testthat/edition"]), "3")
  expect_match(readLines(file.path(pkg, "R", "mangoro.R")), "mangoro_package_functions(\"gopkg\")",
               fixed = TRUE, all = FALSE)
  expect_match(readLines(file.path(pkg, "tests", "testthat.R")), "library(gopkg)", fixed = TRUE, all = FALSE)

  # A second run leaves files alone and adds nothing twice.
  go_file <- file.path(pkg, "inst", "go", "functions.go")
  writeLines("// mine", go_file)
  expect_message(mangoro_use_package(pkg), "exists; left as it is")
  expect_identical(readLines(go_file), "// mine")
  desc2 <- read.dcf(file.path(pkg, "DESCRIPTION"))
  expect_identical(desc2[1, "Imports"], desc[1, "Imports"])
})

test_that("mangoro_use_package() and mangoro_package_functions() refuse bad input", {
  expect_error(mangoro_use_package(withr::local_tempdir()), "no DESCRIPTION", class = "mangoro_input_error")
  expect_error(mangoro_use_package(local_package(), name = "a.go"), class = "mangoro_input_error")
  expect_error(mangoro_package_functions("stats"), "no Go files", class = "mangoro_input_error")
  expect_error(mangoro_package_functions(NA_character_), class = "mangoro_input_error")
})

test_that("a scaffolded package passes R CMD check", {
  skip_if_not(identical(Sys.getenv("MANGORO_TEST_SLOW"), "true"),
              "slow (R CMD build + check); set MANGORO_TEST_SLOW=true")
  skip_if_no_go()
  skip_if_not_installed("roxygen2")
  pkg <- local_package()
  mangoro_use_package(pkg, quiet = TRUE)
  roxygen2::roxygenise(pkg, roclets = c("rd", "namespace"))
  expect_true(file.exists(file.path(pkg, "man", "greet.Rd")))
  r <- file.path(R.home("bin"), "R")
  # The child R sessions find this mangoro where this session found it. Inside
  # an outer R CMD check (CI) the settings it made for its own tests are not
  # the inner check's: its startup file, its narrowed site library, and the
  # Rd cross-reference check (which then looks for base R's recommended
  # packages where they are not), none of which this test is about.
  withr::local_envvar(R_TESTS = NA, R_LIBS_SITE = NA, R_LIBS_USER = NA)
  env <- c("current", R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep),
           `_R_CHECK_RD_XREFS_` = "false")
  build <- processx::run(r, c("CMD", "build", "--no-manual", basename(pkg)), wd = dirname(pkg),
                         env = env, error_on_status = FALSE, stderr_to_stdout = TRUE)
  expect_identical(build$status, 0L, info = build$stdout)
  tarball <- list.files(dirname(pkg), "^gopkg_.*\\.tar\\.gz$")
  check <- processx::run(r, c("CMD", "check", "--no-manual", tarball), wd = dirname(pkg),
                         env = env, error_on_status = FALSE, stderr_to_stdout = TRUE)
  expect_identical(check$status, 0L, info = check$stdout)
  expect_match(check$stdout, "Status: OK", fixed = TRUE, info = check$stdout)
})
