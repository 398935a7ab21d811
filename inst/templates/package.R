# Go functions from inst/go/, built on first use by mangoro (into a temporary
# directory during R CMD check and tests, the user cache otherwise; never at
# install time).
go_functions <- function() mangoro::mangoro_package_functions("{{package}}")

#' Say hello (in Go)
#'
#' @param name Character vector of names.
#' @return A character vector of greetings, `NA` where `name` is `NA`.
#' @examplesIf mangoro::mangoro_go_available()
#' greet(c("R", NA))
#' @export
greet <- function(name) go_functions()$greet(name)
