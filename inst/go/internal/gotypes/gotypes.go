// Package gotypes holds what rgoipc.Registry.Func and the generator of
// inline Go functions (internal/gen) must say alike about the Go types
// mangoro maps to R.
package gotypes

// Supported lists the Go types Func maps, for error messages about a type
// that cannot be mapped.
const Supported = "float64, int32, int, int64, string, bool, time.Time, rgoipc.Date and []byte " +
	"(one value); slices of those ([]float64, ...) and of pointers to them ([]*float64, nil = NA); " +
	"[][]T and [][]byte (list columns); []S for a struct S with exported fields of the one-value " +
	"types or pointers to them (a data frame); a leading context.Context; a final error result"
