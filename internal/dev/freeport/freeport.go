// Package freeport finds a free loopback TCP address for a program that
// must be told where to listen (moto_server, the Lambda Runtime Interface
// Emulator) rather than handed a listener.
package freeport

import (
	"fmt"
	"net"
)

// Addr asks the kernel for a free loopback address ("127.0.0.1:port").
// The port is free when Addr returns; another program may take it before
// the caller's program binds it, so use a listener on port 0 instead
// wherever this process listens itself.
func Addr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
