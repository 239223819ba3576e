//go:build !linux

package host

import "os/exec"

// dieWithParent: without Linux's parent-death signal, a worker notices its parent's death when
// the parent's pipe closes and stops then.
func dieWithParent(cmd *exec.Cmd) {}
