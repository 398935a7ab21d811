# The mangoro knitr engine, through a real knitr::knit() (and
# rmarkdown::render() when pandoc is there).

knit_rmd <- function(lines, envir = new.env()) {
  dir <- withr::local_tempdir(.local_envir = parent.frame())
  input <- file.path(dir, "doc.Rmd")
  writeLines(lines, input)
  output <- knitr::knit(input, file.path(dir, "doc.md"), envir = envir, quiet = TRUE)
  readLines(output)
}

rmd_lines <- c(
  "---", "title: go", "---", "",
  "```{r setup}", "library(mangoro)", "```", "",
  "```{mangoro}",
  "// twice doubles x.",
  "//mangoro:export",
  "func twice(x []float64) []float64 {",
  "\tout := make([]float64, len(x))",
  "\tfor i, v := range x {",
  "\t\tout[i] = 2 * v",
  "\t}",
  "\treturn out",
  "}",
  "```", "",
  "```{r use}", "cat('answer:', twice(c(1.5, 20)), '\\n')", "```"
)

test_that("the engine is registered with knitr", {
  skip_if_not_installed("knitr")
  expect_identical(knitr::knit_engines$get("mangoro"), mangoro_knitr_engine)
})

test_that("an R chunk calls a function from a mangoro chunk", {
  skip_if_not_installed("knitr")
  skip_if_no_go()
  env <- new.env()
  md <- knit_rmd(rmd_lines, env)
  expect_true(any(grepl("answer: 3 40", md, fixed = TRUE)))
  expect_true(any(grepl("func twice(x []float64) []float64 {", md, fixed = TRUE))) # echoed Go
  expect_true(any(grepl("<Go function> twice(x float64) -> float64", md, fixed = TRUE)))
  expect_s3_class(env$twice, "mangoro_function")
})

test_that("a compile error is shown with error = TRUE and stops the document otherwise", {
  skip_if_not_installed("knitr")
  skip_if_no_go()
  bad <- c("```{mangoro, error = TRUE}", "//mangoro:export", "func f(x int) int { return y }", "```")
  md <- knit_rmd(bad)
  expect_true(any(grepl("Error: Go build of `code` failed:", md, fixed = TRUE)))
  expect_true(any(grepl("code:2:", md, fixed = TRUE)))
  bad[1] <- "```{mangoro, error = FALSE}"
  expect_error(knit_rmd(bad), class = "mangoro_build_error")
})

test_that("rmarkdown::render() of the document works", {
  skip_if_not_installed("rmarkdown")
  skip_if_no_go()
  skip_if_not(rmarkdown::pandoc_available(), "pandoc is not available")
  dir <- withr::local_tempdir()
  input <- file.path(dir, "doc.Rmd")
  writeLines(rmd_lines, input)
  # In a child R session: render() changes session state that later tests in
  # this process trip over (a later server test hung after an in-process render).
  env <- c("current", R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep))
  res <- processx::run(file.path(R.home("bin"), "Rscript"),
                       c("-e", sprintf("rmarkdown::render(%s, rmarkdown::md_document(), quiet = TRUE)",
                                       deparse(input))),
                       env = env, error_on_status = FALSE, stderr_to_stdout = TRUE, timeout = 300)
  expect_identical(res$status, 0L, info = res$stdout)
  expect_true(any(grepl("answer: 3 40", readLines(file.path(dir, "doc.md")), fixed = TRUE)))
})
