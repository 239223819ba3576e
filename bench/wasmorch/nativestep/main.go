// Command nativestep is the process-per-step baseline of bench/wasmorch: one step of a
// benchmark pipeline as a native program, the way polyglot steps are often run today. It reads
// its inputs as decimal integers from its arguments, writes the result to stdout, and exits.
//
//	nativestep fib UPSTREAM     prints UPSTREAM + fibonacci(10)
//	nativestep max [INPUT ...]  prints 1 + the largest input (1 with no inputs)
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/wasmorch/wasmorch/bench/wasmorch/steps"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nativestep fib UPSTREAM | nativestep max [INPUT ...]")
		os.Exit(2)
	}
	ins := make([]int64, 0, len(os.Args)-2)
	for _, a := range os.Args[2:] {
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "nativestep: input %q is not an integer\n", a)
			os.Exit(2)
		}
		ins = append(ins, v)
	}
	switch os.Args[1] {
	case "fib":
		if len(ins) != 1 {
			fmt.Fprintln(os.Stderr, "nativestep fib: want one input")
			os.Exit(2)
		}
		fmt.Println(steps.Fib(ins[0]))
	case "max":
		fmt.Println(steps.Max(ins))
	default:
		fmt.Fprintf(os.Stderr, "nativestep: unknown step %q\n", os.Args[1])
		os.Exit(2)
	}
}
