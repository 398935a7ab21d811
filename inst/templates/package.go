// Go functions of the {{package}} package, served to R by mangoro. Each
// function marked //mangoro:export becomes an R function; see
// ?mangoro::mangoro_source for the Go types you can use.
package main

import "strings"

// greet says hello to each name (NA stays NA).
//
//mangoro:export
func greet(name []*string) []*string {
	out := make([]*string, len(name))
	for i, n := range name {
		if n != nil {
			s := "Hello, " + strings.TrimSpace(*n) + "!"
			out[i] = &s
		}
	}
	return out
}
