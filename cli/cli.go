// Package cli is the wasmorch command line, built only on the public host API so that anything
// it does an embedding Go program can do too. cmd/wasmorch is a thin main around Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

// Version is the wasmorch version, set at build time with -ldflags "-X ...cli.Version=...".
var Version = "0.1.0-dev"

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the CLI with args (without the program name) and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}

type app struct {
	stdout, stderr io.Writer
	workspace      string
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "wasmorch",
		Short:         "A data orchestrator whose assets are sandboxed WebAssembly modules",
		Long:          "wasmorch materializes software-defined assets written in any language that compiles to WebAssembly.\nRun state lives in the instance directory (.wasmorch/ beside wasmorch.yaml, or $WASMORCH_HOME).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().StringVarP(&a.workspace, "workspace", "w", "", "workspace file (default: wasmorch.yaml in this directory or a parent)")

	asset := &cobra.Command{Use: "asset", Short: "Materialize and inspect assets"}
	asset.AddCommand(a.materializeCmd(), a.assetListCmd(), a.assetShowCmd(), a.assetChecksCmd())
	run := &cobra.Command{Use: "run", Short: "Inspect and re-execute runs"}
	run.AddCommand(a.runListCmd(), a.runShowCmd(), a.runReexecuteCmd())
	root.AddCommand(asset, run, a.jobCmd(), a.partitionsCmd(), a.backfillCmd(), a.initCmd(), a.runWorkerCmd())
	return root
}

// workspacePath resolves -w or finds wasmorch.yaml upwards from the working directory.
func (a *app) workspacePath() (string, error) {
	if a.workspace != "" {
		return a.workspace, nil
	}
	return host.FindWorkspace(".")
}

// withInstance wraps a command body so that it runs with the instance open and closes it after.
func (a *app) withInstance(needWorkspace bool, body func(ctx context.Context, inst *host.Instance, wsPath string, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		inst, wsPath, err := a.openInstance(ctx, needWorkspace)
		if err != nil {
			return err
		}
		defer inst.Close()
		return body(ctx, inst, wsPath, args)
	}
}

// withWorkspace is withInstance for a command that needs the workspace loaded.
func (a *app) withWorkspace(body func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error) func(*cobra.Command, []string) error {
	return a.withInstance(true, func(ctx context.Context, inst *host.Instance, wsPath string, args []string) error {
		ws, err := inst.LoadWorkspace(ctx, wsPath)
		if err != nil {
			return err
		}
		return body(ctx, inst, ws, args)
	})
}

// openInstance opens the instance of the workspace (or $WASMORCH_HOME).
func (a *app) openInstance(ctx context.Context, needWorkspace bool) (*host.Instance, string, error) {
	wsPath, err := a.workspacePath()
	if err != nil && (needWorkspace || os.Getenv(host.HomeEnv) == "") {
		return nil, "", err
	}
	home := os.Getenv(host.HomeEnv)
	if home == "" {
		home = host.DefaultHome(wsPath)
	}
	inst, err := host.Open(ctx, home)
	if err != nil {
		return nil, "", err
	}
	return inst, wsPath, nil
}

func statusWord(s store.RunStatus) string {
	switch s {
	case store.RunSuccess:
		return "SUCCESS"
	case store.RunFailure:
		return "FAILURE"
	case store.RunCanceled:
		return "CANCELED"
	}
	return string(s)
}
