package host_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// childEnv names the role the test binary takes when a test starts it as a child process.
const childEnv = "WASMORCH_TEST_CHILD"

// childMains are the roles the test binary can take as a child process of a test: a process a
// crash test kills, or a run worker. Test files add theirs in init; a test starts os.Args[0] with
// childEnv set to the role's name, and the role's return value is the exit code.
var childMains = map[string]func() int{}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		main, ok := childMains[name]
		if !ok {
			roles := make([]string, 0, len(childMains))
			for r := range childMains {
				roles = append(roles, r)
			}
			sort.Strings(roles)
			fmt.Fprintf(os.Stderr, "%s=%q: no such child role (roles: %s)\n", childEnv, name, strings.Join(roles, ", "))
			os.Exit(2)
		}
		os.Exit(main())
	}
	os.Exit(m.Run())
}
