package httpserve_test

import (
	"fmt"

	"mangoro/internal/httpserve"
)

func ExampleNormalizeAddr() {
	for _, a := range []string{"8080", ":0", "0.0.0.0:8080"} {
		addr, _ := httpserve.NormalizeAddr(a)
		fmt.Println(addr)
	}
	// Output:
	// 127.0.0.1:8080
	// 127.0.0.1:0
	// 0.0.0.0:8080
}

func ExampleContentType() {
	fmt.Println(httpserve.ContentType("app.wasm"))
	fmt.Println(httpserve.ContentType("table.parquet"))
	// Output:
	// application/wasm
	// application/vnd.apache.parquet
}
