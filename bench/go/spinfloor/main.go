// Command spinfloor is the floor of the bench's `spin` scaling scenario: the
// same loop as rpc-example's spin, run once and then in two goroutines at
// once, in plain Go with no RPC. It prints the two wall times in ms:
//
//	spinfloor <n>   ->   "<one> <two>"
//
// The ratio shows how well this machine's cores scale the loop by
// themselves (GOMAXPROCS from the environment).
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"
)

func spin(n float64) float64 {
	acc := 0.0
	for i := 0; i < int(n); i++ {
		acc = acc*0.999999 + math.Sqrt(float64(i))
	}
	return acc
}

var sink float64

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: spinfloor <n>")
		os.Exit(2)
	}
	n, err := strconv.ParseFloat(os.Args[1], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t0 := time.Now()
	sink = spin(n)
	one := time.Since(t0)

	t0 = time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := spin(n)
			mu.Lock()
			sink += v
			mu.Unlock()
		}()
	}
	wg.Wait()
	two := time.Since(t0)
	fmt.Printf("%.3f %.3f\n", one.Seconds()*1e3, two.Seconds()*1e3)
}
