#' Writing Go functions for mangoro
#'
#' How to write the Go side: a `package main` that registers functions with
#' the `rgoipc` library and serves them. Build it with [mangoro_go_build()],
#' start it with [mangoro_server_start()] and call it with
#' [mangoro_functions()] or [mangoro_rpc_call()]. `vignette("mangoro")`
#' walks through the same in its section "Writing your own Go functions";
#' `vignette("go-functions")` covers Go code written in R strings and
#' chunks (`mangoro_source()`, `mangoro_go_function()`); the Go
#' documentation is in the package's `go/pkg/rgoipc/doc.go`.
#'
#' @section A program:
#' \preformatted{
#' package main
#'
#' import (
#'     "log"
#'
#'     "mangoro/pkg/rgoipc"
#' )
#'
#' func main() {
#'     reg := rgoipc.NewRegistry()
#'     err := reg.Func("add", func(x, y []float64) []float64 {
#'         out := make([]float64, len(x))
#'         for i := range x {
#'             out[i] = x[i] + y[i]
#'         }
#'         return out
#'     }, rgoipc.ArgNames("x", "y"), rgoipc.Describe("x + y"))
#'     if err != nil {
#'         log.Fatal(err)
#'     }
#'     rgoipc.Main(reg)
#' }
#' }
#' Always check the error of `reg.Func()`: it is how an unsupported type
#' is reported. (A registration error you ignore still stops the server:
#' `Main` exits with it, and [mangoro_server_start()] raises a
#' `mangoro_start_error` quoting it.) `ArgNames` is required, since Go
#' cannot see parameter names; `Describe` is what R prints with the
#' function. `rgoipc.Main` serves on the URL R passes and exits when R goes.
#'
#' @section Types `Func` accepts:
#' Each parameter is one argument (one column of the call's data frame);
#' each row of the data frame is one element.
#'
#' | Go parameter or result | R side |
#' |---|---|
#' | `[]float64` | double vector (R integers are accepted too) |
#' | `[]int32`, `[]int` | integer vector (whole-number doubles are accepted; `2.5` is an error naming the element) |
#' | `[]int64` | `bit64::integer64` (integers and whole doubles accepted) |
#' | `[]string`, `[]bool` | character, logical |
#' | `[][]byte` | list of raw vectors (`nil` = `NULL`/NA) |
#' | `float64`, `int32`, `int`, `int64`, `string`, `bool` | one value (a scalar) |
#' | `[]*float64`, `[]*int32`, `[]*string`, ... | a vector with NA as `nil` |
#'
#' A leading `context.Context` parameter is cancelled when the server shuts
#' down; a final `error` result becomes a `mangoro_remote_error`. A final
#' variadic parameter (`cols ...[]float64`) takes any number of further
#' columns: in R, the function's `...`, or an unnamed matrix or data frame
#' whose columns it spreads. `Func` also maps
#' dates (`rgoipc.Date`, `time.Time`), list columns (`[][]T`), slices of
#' structs (a data frame: one column per field) and several results, named
#' with `rgoipc.ResultNames` (a data frame); the registration error for an
#' unsupported type lists every type it accepts.
#'
#' A bare `NA` (a logical NA) is accepted for any type and arrives as NA.
#'
#' @section Scalars:
#' A non-slice parameter (`ms float64`) takes one value: R prints it as
#' `ms float64 (scalar)`. A vector of several different values for it is a
#' `mangoro_remote_error` with code `bad_arguments` (a length-one R
#' argument recycled beside longer ones is still one value). A scalar
#' refuses NA and zero-length input.
#'
#' @section NA:
#' In a plain slice (`[]float64`) an NA arrives as the zero value, and when
#' the result is a plain slice as long as the input, every row where a
#' plain-slice argument was NA is NA in the result, as in R arithmetic.
#' To see NA, or to return NA of your own, use pointer slices: `[]*float64`
#' in (`nil` is NA) and `[]*float64` out.
#'
#' @section Several result columns, other types: `HandleFunc` and `ResultBuilder`:
#' `Func` returns one column named `result` (R's function form returns it as
#' a vector). For several columns, types `Func` does not map (structs, any
#' type, dictionaries), or to avoid every copy, write a handler against the
#' Arrow arrays:
#' \preformatted{
#' err = reg.HandleFunc("stats", rgoipc.Signature{
#'     Args:    []rgoipc.Arg{{Name: "x", Type: rgoipc.Float64()}},
#'     Returns: rgoipc.Struct(
#'         rgoipc.Field{Name: "mean", Type: rgoipc.Float64()},
#'         rgoipc.Field{Name: "n", Type: rgoipc.Int32()}),
#' }, func(ctx context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
#'     x := args.Column("x").(*array.Float64)
#'     sum := 0.0
#'     for _, v := range x.Float64Values() {
#'         sum += v
#'     }
#'     n := x.Len()
#'     return rgoipc.NewResult(args.Mem()).
#'         Float64("mean", []float64{sum / float64(n)}, nil).
#'         Int32("n", []int32{int32(n)}, nil).
#'         Record()
#' })
#' if err != nil {
#'     log.Fatal(err)
#' }
#' }
#' The `Signature` declares argument types (checked before the handler
#' runs, with the same conversions as `Func`), `Optional` arguments with a
#' `Default`, a `Variadic` type, and the `Returns` type R shows. A
#' `ResultBuilder` (`rgoipc.NewResult`) adds named columns (`Float64`,
#' `Int32`, `Int64`, `Bool`, `String`, each with an optional validity
#' slice for NA, or any Arrow array with `Column`); R gets a data frame
#' with those columns.
#'
#' @section Errors and their codes:
#' Every error reply carries a code, in `e$code` of the
#' `mangoro_remote_error`: `bad_arguments` (names, count, types or values do
#' not fit the signature), `unknown_function`, `panic` (the handler
#' panicked; the server keeps serving), `handler` (your function returned
#' an error), `too_large`, `malformed`, `bad_name`, `unknown_type`. Give an
#' error a code of your own with `rgoipc.Coded("not_found", err)`; R code can
#' then branch on `e$code` rather than on the message.
#'
#' @name mangoro_go_guide
#' @family entry points
#' @examplesIf mangoro::mangoro_go_available()
#' # The example program of the package registers functions both ways.
#' src <- system.file("go/cmd/rpc-example", package = "mangoro")
#' srv <- mangoro_server_start(mangoro_go_build(src))
#' go <- mangoro_functions(srv)
#' go$sleep            # a scalar parameter
#' go$scaleInt64(c(1, 2, NA), 10)
#' go$echoStruct       # a handler with a struct signature
#' tryCatch(go$sleep(c(1, 2)), mangoro_remote_error = function(e) e$code)
#' close(srv)
NULL
