package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/resources"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

// Invocation is the JSON document a step reads through invocation_read (ABI.md section 8).
type Invocation struct {
	ABIVersion      int               `json:"abi_version"`
	Kind            string            `json:"kind"`
	Name            string            `json:"name"`
	RunID           string            `json:"run_id"`
	StepKey         string            `json:"step_key"`
	Attempt         int               `json:"attempt"`
	PartitionKey    string            `json:"partition_key"`
	PartitionWindow any               `json:"partition_window"`
	Config          json.RawMessage   `json:"config"`
	Inputs          []InvocationValue `json:"inputs"`
	Outputs         []InvocationValue `json:"outputs"`
	Cursor          string            `json:"cursor"`
	MappingKey      string            `json:"mapping_key"`
}

// InvocationValue names one input or output in an invocation.
type InvocationValue struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Asset  string `json:"asset,omitempty"`
}

// Input is how a step's named input is loaded, on demand, when the guest opens it.
type Input struct {
	Format abi.Format
	Asset  string
	Load   func(ctx context.Context) (iomanager.Value, error)
	// Partitions, when set, are the upstream partitions the input reads, in partition order; Load
	// is not used then. The guest reads them as one value whose chunks carry their partition's key
	// (input_partition_key).
	Partitions []InputPartition
}

// Output is how a step's named output is stored. Store consumes the value completely and
// returns its location.
type Output struct {
	Format   abi.Format
	Optional bool
	// Schema, when set, is the declared Arrow schema every batch must match; a mismatch fails the
	// step with a *SchemaMismatchError naming the column, the declared and the actual type.
	Schema *arrow.Schema
	// ValidateJSON, when set, checks a JSON output's value against its declared JSON Schema
	// and returns every problem; any problem fails the step and nothing is stored.
	ValidateJSON func(value any) []string
	Store        func(ctx context.Context, v iomanager.Value) (location string, err error)
	// Dynamic marks a fan-out output (ABI.md 7.2): the guest opens it as NAME[KEY] once per
	// mapping key, and StoreMapped (not Store) stores each value with its key. Writing no key
	// at all is allowed.
	Dynamic     bool
	StoreMapped func(ctx context.Context, mappingKey string, v iomanager.Value) (location string, err error)
}

// MaxMappingKeys caps how many mapping keys one step may write to its dynamic outputs.
const MaxMappingKeys = 10000

// Step is one execution of one asset (or op, check, sensor) of a module.
type Step struct {
	Invocation Invocation
	Inputs     map[string]Input
	Outputs    map[string]Output
	// Log receives the guest's log lines and captured stdout/stderr, in order. It may be nil.
	Log func(level int32, msg string)
	// Resources answers resource_call; nil grants nothing. DeclaredResources are the keys the
	// step's manifest entry lists: a call to any other key is denied.
	Resources         *resources.Registry
	DeclaredResources []string
}

// StepResult is what a successful step produced.
type StepResult struct {
	Outputs map[string]OutputResult
	// Metadata is what the guest attached with metadata_add.
	Metadata map[string]any
	// Check is set when a check step reported with check_result.
	Check    *CheckResult
	Duration time.Duration
}

// OutputResult describes one stored output. A dynamic output's values are listed under
// "NAME[KEY]", each with its MappingKey.
type OutputResult struct {
	Location   string
	MappingKey string
	Format     abi.Format
	Rows       int64 // Arrow outputs only
	Bytes      int64 // bytes the guest wrote
	Schema     *arrow.Schema
	Metadata   map[string]any
}

// CheckResult is an asset check's verdict.
type CheckResult struct {
	Passed   bool
	Severity string
}

// FailureKind classifies a failed step.
type FailureKind string

// Failure kinds.
const (
	FailureGuest    FailureKind = "error"    // the guest returned a failure status
	FailureTrap     FailureKind = "trap"     // a WebAssembly trap
	FailureTimeout  FailureKind = "timeout"  // the step's wall-clock limit passed
	FailureCanceled FailureKind = "canceled" // the run was canceled
	FailureExit     FailureKind = "exit"     // the guest called proc_exit
	FailureLimit    FailureKind = "limit"    // an output or other limit was exceeded
	FailureHost     FailureKind = "host"     // a bad host call or a storage failure
	FailureSchema   FailureKind = "schema"   // an output does not match its declared schema
)

// StepError is a failed step. Message is what the user sees.
type StepError struct {
	Kind    FailureKind
	Message string
	// Retry is set when the guest asked to be retried (status 2).
	Retry bool
	// Stderr holds the last lines the guest wrote to stderr, which explain most exits and traps.
	Stderr []string
	// Reported is the guest runtime's own crash line from stderr, such as Go's
	// "fatal error: out of memory", if it wrote one.
	Reported string
}

func (e *StepError) Error() string { return e.Message }

// withStderr returns the error with the guest's last stderr lines appended to its message.
func (e *StepError) withStderr() *StepError {
	if len(e.Stderr) == 0 || e.Kind == FailureGuest || e.Kind == FailureTimeout {
		return e
	}
	c := *e
	if c.Reported != "" {
		first, rest, _ := strings.Cut(c.Message, "\n")
		c.Message = fmt.Sprintf("%s (the guest reported %q)", first, c.Reported)
		if rest != "" {
			c.Message += "\n" + rest
		}
	}
	c.Message += "\nlast lines on stderr:\n  " + strings.Join(e.Stderr, "\n  ")
	return &c
}

// withMemory notes, on a trap or an exit, that the guest's linear memory had (nearly) reached the
// memory limit: memory.grow then fails, and the guest's own abort is what the user sees (an
// unreachable trap, Go's exit 2), which does not name the limit. "Nearly" is an eighth of the
// limit, at most 4 MiB, because allocators grow in steps (Go's heap by 4 MiB arenas).
func (e *StepError) withMemory(size, limit uint64) *StepError {
	if e.Kind != FailureTrap && e.Kind != FailureExit {
		return e
	}
	if size+min(4<<20, limit/8) < limit {
		return e
	}
	c := *e
	c.Message += fmt.Sprintf(" (linear memory had grown to %d of the %d bytes the step's memory limit allows)", size, limit)
	return &c
}

// Run executes one step in a fresh instance of the module.
func (m *Module) Run(ctx context.Context, step Step) (*StepResult, error) {
	start := time.Now()
	timeout := m.rt.cfg.StepTimeout
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	step.Invocation.ABIVersion = abi.Version
	if len(step.Invocation.Config) == 0 {
		step.Invocation.Config = json.RawMessage("{}")
	}
	inv, err := json.Marshal(step.Invocation)
	if err != nil {
		return nil, &StepError{Kind: FailureHost, Message: fmt.Sprintf("encode invocation: %v", err)}
	}
	st := &callState{
		mode:       modeRun,
		step:       &step,
		invocation: inv,
		logs:       newLogSink(step.Log),
		maxOutput:  m.rt.cfg.MaxOutputBytes,
		ctx:        ctx,
	}
	defer st.releaseHandles()

	inst, err := m.rt.instantiate(ctx, m.compiled, m.image, st)
	if err != nil {
		st.logs.flush()
		st.abortOutputs()
		return nil, classify(parent, err, st, timeout).withStderr()
	}
	results, err := inst.call(ctx, abi.ExportRun)
	memBytes := uint64(inst.mod.Memory().Size())
	inst.close(context.Background())
	st.logs.flush()
	if err != nil {
		st.abortOutputs()
		return nil, classify(parent, err, st, timeout).withMemory(memBytes, m.rt.cfg.MemoryLimitBytes).withStderr()
	}
	if st.fatal != nil {
		st.abortOutputs()
		return nil, st.fatal
	}
	switch status := int32(results[0]); status {
	case abi.RunSuccess:
	case abi.RunFailure, abi.RunRetryLater:
		st.abortOutputs()
		msg := st.errMsg
		switch {
		case msg != "":
		case st.logs.lastError() != "":
			// No error_set: the guest's last ERROR log or stderr line says what went wrong.
			msg = st.logs.lastError()
		case st.lastErr != "":
			msg = "step failed without a message; its last failed host call said: " + st.lastErr
		default:
			msg = "step failed without a message"
		}
		return nil, &StepError{Kind: FailureGuest, Message: msg, Retry: status == abi.RunRetryLater}
	default:
		st.abortOutputs()
		return nil, &StepError{Kind: FailureGuest, Message: fmt.Sprintf("invalid status %d returned by %s", status, abi.ExportRun)}
	}
	res, err := st.finishOutputs()
	if err != nil {
		return nil, err
	}
	res.Metadata = st.metadata
	res.Check = st.check
	res.Duration = time.Since(start)
	return res, nil
}

// classify turns an error from calling into the guest into a StepError.
func classify(parent context.Context, err error, st *callState, timeout time.Duration) *StepError {
	e := describe(err, st, st.ctx, timeout)
	if e.Kind == FailureTimeout && parent.Err() != nil {
		e = &StepError{Kind: FailureCanceled, Message: "step was canceled: " + context.Cause(parent).Error()}
	}
	e.Stderr = st.logs.stderrLines()
	e.Reported = st.logs.stderrHeadline()
	if st.errMsg != "" && (e.Kind == FailureTrap || e.Kind == FailureExit) {
		// A panic hook's error_set before the abort is the guest's own account: put it first.
		e.Message = st.errMsg + "\n" + e.Message
	}
	return e
}

func describe(err error, st *callState, ctx context.Context, timeout time.Duration) *StepError {
	if st.fatal != nil {
		return st.fatal
	}
	if ctx != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &StepError{Kind: FailureTimeout, Message: fmt.Sprintf("step exceeded its time limit of %s", timeout)}
		}
		return &StepError{Kind: FailureCanceled, Message: "step was canceled"}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return &StepError{Kind: FailureExit, Message: fmt.Sprintf("module exited with code %d during a step", exit.ExitCode()), Stderr: st.logs.stderrLines()}
	}
	msg := err.Error()
	if msg == "stack overflow" {
		// wazero's compiler engine returns its stack-overflow error bare, without the
		// "wasm error: " of every other trap (wasmruntime.ErrRuntimeStackOverflow, internal).
		return &StepError{Kind: FailureTrap, Message: "wasm trap: stack overflow (the guest's calls nested deeper than wazero's call stack allows; unbounded recursion?)", Stderr: st.logs.stderrLines()}
	}
	if rest, ok := strings.CutPrefix(msg, "wasm error: "); ok {
		return &StepError{Kind: FailureTrap, Message: "wasm trap: " + printable(rest), Stderr: st.logs.stderrLines()}
	}
	return &StepError{Kind: FailureHost, Message: msg, Stderr: st.logs.stderrLines()}
}

// printable escapes what a terminal would interpret in a trap message: wazero's stack trace
// names functions as the module's name section says, and a module can put escape sequences
// there. Line breaks and tabs, which the trace uses, stay.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && r != '\t' && !unicode.IsPrint(r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
