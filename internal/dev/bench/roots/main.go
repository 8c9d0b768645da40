// Command roots times the loading of the system root certificates
// (x509.SystemCertPool) in a fresh process, and prints the time in
// nanoseconds. crypto/tls loads them once per process, in the first
// handshake that verifies a chain against them; `make bench` runs this
// beside the delivery function's first delivery to split that handshake.
// It is never deployed.
package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

func main() {
	start := time.Now()
	if _, err := x509.SystemCertPool(); err != nil {
		fmt.Fprintln(os.Stderr, "roots:", err)
		os.Exit(1)
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
