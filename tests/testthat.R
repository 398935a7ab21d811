library(testthat)
library(mangoro)

test_check("mangoro")
