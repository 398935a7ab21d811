test_that("vendored versions are read from modules.txt, without Go", {
  withr::local_envvar(PATH = "", GOROOT = NA, MANGORO_GO = NA)
  withr::local_options(mangoro.go_path = "/nonexistent/go")
  expect_equal(get_mangos_version(), "v3.4.2")
  expect_equal(get_arrow_go_version(), "v18.4.1")
  mods <- mangoro_vendored_modules()
  expect_equal(mods$version[mods$module == "golang.org/x/mod"], "v0.27.0")
  expect_true(file.exists(file.path(find_mangoro_vendor(), "modules.txt")))
})

test_that("the vendored tree holds every package users may import", {
  vendor <- find_mangoro_vendor()
  mangos <- file.path(vendor, "go.nanomsg.org/mangos/v3")
  for (p in c("req", "rep", "pair", "pub", "sub", "push", "pull", "surveyor", "respondent", "bus", "star")) {
    expect_true(dir.exists(file.path(mangos, "protocol", p)), label = p)
  }
  for (t in c("inproc", "ipc", "tcp", "tlstcp", "ws", "wss")) {
    expect_true(dir.exists(file.path(mangos, "transport", t)), label = t)
  }
  arrow <- file.path(vendor, "github.com/apache/arrow-go/v18/arrow")
  for (p in c("", "array", "ipc", "memory")) expect_true(dir.exists(file.path(arrow, p)), label = p)
  for (p in c("modfile", "module", "semver")) {
    expect_true(dir.exists(file.path(vendor, "golang.org/x/mod", p)), label = p)
  }
})

test_that("inst/COPYRIGHTS lists every vendored module at its vendored version", {
  copyrights <- readLines(system.file("COPYRIGHTS", package = "mangoro"))
  mods <- mangoro_vendored_modules()
  for (i in seq_len(nrow(mods))) {
    pattern <- paste0("^", gsub(".", "\\.", mods$module[i], fixed = TRUE), "\\s+",
                      gsub("+", "\\+", gsub(".", "\\.", mods$version[i], fixed = TRUE), fixed = TRUE), "\\s")
    expect_true(any(grepl(pattern, copyrights)), label = paste(mods$module[i], mods$version[i]))
  }
})
