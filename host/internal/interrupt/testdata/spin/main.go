// Command spin is a wasip1 reactor used by the interrupt package's tests:
// spin never returns unless the host interrupts it, add is an ordinary export.
package main

var counter uint64

func main() {}

//go:wasmexport spin
func spin() {
	for {
		counter++
	}
}

//go:wasmexport add
func add(a, b int32) int32 { return a + b }
