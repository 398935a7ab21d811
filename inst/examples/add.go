// The smallest rgoipc server: one Go function, callable from R as
//
//	srv <- mangoro_server_start(mangoro_go_build("add.go"))
//	mangoro_rpc_call(srv, "add", data.frame(x = 1:3, y = 0.5))
package main

import (
	"log"

	"mangoro/pkg/rgoipc"
)

func main() {
	reg := rgoipc.NewRegistry()
	err := reg.Func("add", func(x, y []float64) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] + y[i]
		}
		return out
	}, rgoipc.ArgNames("x", "y"), rgoipc.Describe("Element-wise x + y"))
	if err != nil {
		log.Fatal(err) // e.g. a Go type rgoipc cannot map to an R vector
	}
	rgoipc.Main(reg) // serves on the URL given as the first argument
}
