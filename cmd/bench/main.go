// Command bench prints the cold-start, size and memory figures of
// `make bench` (the Go benchmarks run before it). Run it from the
// repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/docproc/webhooks/internal/bench"
)

func main() {
	o := bench.Options{Root: "."}
	flag.IntVar(&o.ColdStarts, "cold-starts", 30, "cold starts of each bootstrap")
	flag.IntVar(&o.Invocations, "invocations", 1000, "warm creates for the memory figure")
	flag.Parse()
	if _, err := bench.Run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
