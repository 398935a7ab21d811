# The help a newcomer reads: the Go guide, the package page that leads to it,
# the two families of pages, and examples on every page.

rd_db <- function() tools::Rd_db("mangoro")
rd_text <- function(db, topic) paste(as.character(db[[paste0(topic, ".Rd")]]), collapse = "")

test_that("?mangoro names the usual path and leads to the Go guide", {
  db <- rd_db()
  pkg <- rd_text(db, "mangoro-package")
  for (name in c("mangoro_go_guide", "mangoro_go_build", "mangoro_server_start", "mangoro_functions",
                 "mangoro_source()", "mangoro_go_function()", "entry points", "wire-level helpers")) {
    expect_match(pkg, name, fixed = TRUE)
  }
  guide <- rd_text(db, "mangoro_go_guide")
  for (topic in c("HandleFunc", "ResultBuilder", "[]*float64", "bad_arguments", "rgoipc.Coded", "(scalar)")) {
    expect_match(guide, topic, fixed = TRUE)
  }
})

test_that("entry points and wire-level helpers link their families", {
  db <- rd_db()
  expect_match(rd_text(db, "mangoro_server_start"), "Other entry points", fixed = TRUE)
  expect_match(rd_text(db, "mangoro_rpc_send"), "Other wire-level helpers", fixed = TRUE)
  expect_no_match(rd_text(db, "mangoro_rpc_send"), "Other entry points", fixed = TRUE)
})

test_that("the pages issue 15 found without examples have them", {
  db <- rd_db()
  pages <- c("close.mangoro_server", "mangoro_aio_result", "mangoro_rpc_get_manifest", "mangoro_rpc_send",
             "mangoro_server_log", "mangoro-package", "mangoro_go_guide")
  has_examples <- vapply(db[paste0(pages, ".Rd")], function(rd) {
    any(vapply(rd, function(s) identical(attr(s, "Rd_tag"), "\\examples"), NA))
  }, NA)
  expect_identical(names(which(!has_examples)), character())
})
