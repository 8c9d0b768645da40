// Command bench prints the cold-start, size and memory figures of
// `make bench` (the Go benchmarks run before it), then what one janitor
// run costs over tables of growing size. Run it from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docproc/webhooks/internal/bench"
	"github.com/docproc/webhooks/internal/local/emulator"
)

func main() {
	o := bench.Options{Root: "."}
	flag.IntVar(&o.ColdStarts, "cold-starts", 30, "cold starts of each bootstrap")
	flag.IntVar(&o.Invocations, "invocations", 1000, "warm creates for the memory figure")
	sizes := flag.String("janitor-webhooks", "1000,10000,100000", "table sizes (webhooks) of the janitor runs, comma-separated")
	checks := flag.Int("janitor-checks", 20, "due secret checks in each janitor run")
	only := flag.String("only", "", `"janitor" to measure only the janitor runs`)
	flag.Parse()
	if err := run(o, *sizes, *checks, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o bench.Options, sizes string, checks int, only string) error {
	ctx := context.Background()
	if only != "janitor" {
		if _, err := bench.Run(ctx, o, os.Stdout); err != nil {
			return err
		}
	}
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return fmt.Errorf("-janitor-webhooks: %q is not a size", s)
		}
		ns = append(ns, n)
	}
	emu, err := emulator.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer emu.Close(ctx)
	_, err = bench.JanitorCost(ctx, emu.URL, "template.yaml", ns, checks, os.Stdout)
	return err
}
