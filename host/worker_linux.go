package host

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the worker if the launching process dies, so that no
// worker outlives the process holding its run's store.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
