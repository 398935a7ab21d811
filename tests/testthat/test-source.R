# mangoro_source() / mangoro_go_function(): real generator, real builds, real
# servers.

bar_code <- '
import (
	"strings"
	"time"
)

// Person is one row of people().
type Person struct {
	Name string `r:"name"`
	Age  int    `r:"age"`
}

// shout upper-cases s, keeping NA.
//mangoro:export
func shout(s []*string) []*string {
	out := make([]*string, len(s))
	for i, p := range s {
		if p != nil {
			u := strings.ToUpper(*p) + "!"
			out[i] = &u
		}
	}
	return out
}

// scale multiplies x by k.
//mangoro:export
func scale(x []float64, k float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * k
	}
	return out
}

//mangoro:export
func people(n int) []Person {
	out := make([]Person, n)
	for i := range out {
		out[i] = Person{Name: letter(i), Age: 20 + i}
	}
	return out
}

// later adds hours to t, keeping NA and the time zone.
//mangoro:export
func later(t []*time.Time, hours float64) []*time.Time {
	out := make([]*time.Time, len(t))
	for i, p := range t {
		if p != nil {
			v := p.Add(time.Duration(hours * float64(time.Hour)))
			out[i] = &v
		}
	}
	return out
}

func letter(i int) string { return string(rune(65 + i)) }
'

test_that("one code string defines four R functions and leaves the helper out", {
  skip_if_no_go()
  env <- new.env()
  fns <- mangoro_source(code = bar_code, env = env, quiet = TRUE)
  expect_setequal(names(fns), c("shout", "scale", "people", "later"))
  expect_setequal(ls(env), c("shout", "scale", "people", "later"))
  expect_false(exists("letter", envir = env, inherits = FALSE))

  expect_identical(env$shout(c("a", NA, "b")), c("A!", NA, "B!"))
  expect_identical(env$shout(factor(c("x", "y"))), c("X!", "Y!"))
  expect_equal(env$scale(c(1, 2.5, NA), 10), c(10, 25, NA))
  expect_equal(env$scale(k = 2, x = 1:3), c(2, 4, 6))
  expect_identical(names(formals(env$scale)), c("x", "k"))
  expect_error(env$scale(1), "\"k\"", class = "error")

  expect_identical(env$people(3), data.frame(name = c("A", "B", "C"), age = 20:22))

  t <- as.POSIXct(c("2024-03-10 01:30:00", NA), tz = "America/New_York")
  out <- env$later(t, 1.5)
  expect_s3_class(out, "POSIXct")
  expect_identical(attr(out, "tzone"), "America/New_York")
  expect_equal(as.numeric(out[1]) - as.numeric(t[1]), 5400)
  expect_true(is.na(out[2]))

  # The print method shows the Go signature and the doc comment.
  shown <- format(env$later)
  expect_match(shown, "func later(t []*time.Time, hours float64) []*time.Time", fixed = TRUE, all = FALSE)
  expect_match(shown, "later adds hours to t", fixed = TRUE, all = FALSE)
})

test_that("unchanged code is not rebuilt and keeps its server; changed code replaces it", {
  skip_if_no_go()
  env <- new.env()
  code <- "//mangoro:export\nfunc answer(x int) int { return 42 + x }\n"
  first <- mangoro_source(code = code, env = env, quiet = TRUE)
  srv <- environment(first$answer)$server
  started <- mclock_ms()
  again <- mangoro_source(code = code, env = env, quiet = TRUE)
  expect_lt(mclock_ms() - started, 300)
  expect_identical(environment(again$answer)$server, srv)
  expect_identical(env$answer(0L), 42L)

  changed <- mangoro_source(code = sub("42", "43", code), env = env, quiet = TRUE)
  expect_identical(env$answer(0L), 43L)
  new_srv <- environment(changed$answer)$server
  expect_false(identical(new_srv, srv))
  # The old server was stopped.
  expect_false(srv$process$is_alive())
  expect_null(srv$sock)
})

test_that("mangoro_go_function() gives a working fib", {
  skip_if_no_go()
  fib <- mangoro_go_function("func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}", quiet = TRUE)
  expect_s3_class(fib, "mangoro_function")
  expect_identical(fib(20), 6765L)
  expect_identical(fib(n = 10L), 55L)
  expect_match(format(fib), "func fib(n int) int", fixed = TRUE, all = FALSE)
})

test_that("a compile error names line 3 of the code string and no generated file", {
  skip_if_no_go()
  code <- "func f(x int) int {\n\ty := x\n\treturn y + z\n}"
  err <- expect_error(mangoro_go_function(code, quiet = TRUE), class = "mangoro_build_error")
  expect_match(conditionMessage(err), "code:3:", fixed = TRUE)
  expect_identical(err$file, "code")
  expect_identical(err$line, 3L)
  expect_no_match(conditionMessage(err), "zz_mangoro_main|user1_|mangoro-source-")
})

test_that("a compile error in a file names the file and line", {
  skip_if_no_go()
  dir <- withr::local_tempdir()
  path <- file.path(dir, "broken.go")
  writeLines(c("package main", "", "//mangoro:export", "func f(x int) int { return x + \"s\" }"), path)
  err <- expect_error(mangoro_source(path, quiet = TRUE), class = "mangoro_build_error")
  expect_match(conditionMessage(err), "broken.go:4:", fixed = TRUE)
  expect_identical(err$line, 4L)
  expect_identical(list.files(dir), "broken.go") # nothing written next to it
})

test_that("an unmappable type is a build error naming function, parameter and supported types", {
  skip_if_no_go()
  code <- "//mangoro:export\nfunc count(m map[string]int) int { return len(m) }\n"
  err <- expect_error(mangoro_source(code = code, env = NULL, quiet = TRUE), class = "mangoro_build_error")
  expect_match(conditionMessage(err), "code:2:12: mangoro: func count: parameter m has type map[string]int",
               fixed = TRUE)
  expect_match(conditionMessage(err), "supported: float64", fixed = TRUE)
})

test_that("a panic and a returned error are remote errors naming the function", {
  skip_if_no_go()
  fns <- mangoro_source(code = '
import "errors"

//mangoro:export
func boom(i int) int {
	var a []int
	return a[i]
}

//mangoro:export
func check(x float64) (float64, error) {
	if x < 0 {
		return 0, errors.New("x must not be negative")
	}
	return x, nil
}
', env = NULL, quiet = TRUE)
  err <- expect_error(fns$boom(3L), class = "mangoro_remote_error")
  expect_match(conditionMessage(err), "boom: panic: runtime error: index out of range", fixed = TRUE)
  expect_error(fns$check(-1), "check: x must not be negative", class = "mangoro_remote_error")
  expect_identical(fns$check(2), 2)
})

test_that("Go types map both ways: dates, integer64, raw, lists, frames, several results", {
  skip_if_no_go()
  fns <- mangoro_source(code = '
import "mangoro/pkg/rgoipc"

type Item struct {
	Label string   `r:"label"`
	Price *float64 `r:"price"`
	Day   rgoipc.Date
}

//mangoro:export
func nextDay(d []*rgoipc.Date) []*rgoipc.Date {
	for _, p := range d {
		if p != nil {
			*p++
		}
	}
	return d
}

//mangoro:export
func big(x []int64) []int64 {
	for i := range x {
		x[i] *= 1000000000
	}
	return x
}

//mangoro:export
func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}

//mangoro:export
func lengths(x [][]float64) []int {
	out := make([]int, len(x))
	for i, v := range x {
		out[i] = len(v)
	}
	return out
}

//mangoro:export
func discount(items []Item, by float64) []Item {
	for i := range items {
		if items[i].Price != nil {
			p := *items[i].Price * (1 - by)
			items[i].Price = &p
		}
	}
	return items
}

//mangoro:export
func summary(x []float64) (mean float64, n int) {
	for _, v := range x {
		mean += v
	}
	return mean / float64(len(x)), len(x)
}

//mangoro:export
func split(x []float64) (small, large []float64) {
	for _, v := range x {
		if v < 10 {
			small = append(small, v)
		} else {
			large = append(large, v)
		}
	}
	return small, large
}
', env = NULL, quiet = TRUE)
  d <- as.Date(c("2024-02-28", NA))
  expect_identical(fns$nextDay(d), as.Date(c("2024-02-29", NA)))
  skip_if_not_installed("bit64")
  expect_identical(as.character(fns$big(bit64::as.integer64(c(3, 5)))), c("3000000000", "5000000000"))
  expect_identical(fns$reverse(as.raw(1:3)), as.raw(3:1))
  expect_identical(fns$lengths(list(c(1, 2), numeric(), 3)), c(2L, 0L, 1L))
  items <- data.frame(Day = as.Date("2024-01-01") + 0:1, price = c(10, NA), label = c("a", "b"))
  expect_equal(fns$discount(items, 0.5),
               data.frame(label = c("a", "b"), price = c(5, NA), Day = as.Date("2024-01-01") + 0:1))
  expect_identical(fns$summary(c(1, 2, 6)), data.frame(mean = 3, n = 3L))
  expect_identical(fns$split(c(1, 20, 3)), list(small = c(1, 3), large = 20))
})

test_that("bad arguments are input errors", {
  expect_error(mangoro_source(), class = "mangoro_input_error")
  expect_error(mangoro_source(file = "x.go", code = "x"), class = "mangoro_input_error")
  expect_error(mangoro_source(file = "no-such-file.go"), class = "mangoro_input_error")
  expect_error(mangoro_source(code = 1), class = "mangoro_input_error")
  expect_error(mangoro_go_function("x := 1"), "no Go function", class = "mangoro_input_error")
  expect_error(mangoro_source(code = "x", env = "global"), class = "mangoro_input_error")
})

test_that("Go parameters may have the names the R wrapper uses internally", {
  skip_if_no_go()
  f <- mangoro_go_function(
    "func clash(name string, server int, args []float64, result bool) string {
	return name + string(rune(48+server))
}", quiet = TRUE)
  expect_identical(f("go", 1L, 2, TRUE), "go1")
  expect_identical(f(server = 2, name = "x", args = 0, result = FALSE), "x2")
})

test_that("mangoro_go_function() refuses unknown arguments", {
  expect_error(mangoro_go_function("func f(x int) int { return x }", envir = globalenv()),
               "Unknown: envir", class = "mangoro_input_error")
})
