package wasmorch

import (
	"errors"
	"fmt"
	"time"
)

// Backoff and Jitter values of a RetryPolicy (ABI.md section 7.1).
const (
	BackoffNone        = "none"
	BackoffLinear      = "linear"
	BackoffExponential = "exponential"
	JitterNone         = "none"
	JitterFull         = "full"
	JitterPlusMinus    = "plus_minus"
)

// RetryPolicy says how often the host runs a failed step again and how long it waits first.
// Every attempt is recorded in the run's event log; Context.Attempt tells a step which one it is.
type RetryPolicy struct {
	MaxRetries int
	// Delay is the wait before the first retry; Backoff grows it for later ones.
	Delay   time.Duration
	Backoff string // BackoffNone (default), BackoffLinear or BackoffExponential
	Jitter  string // JitterNone (default), JitterFull or JitterPlusMinus
}

// Retry gives the asset a retry policy.
func Retry(p RetryPolicy) AssetOption {
	return func(a *assetDef) {
		a.problems = append(a.problems, p.problems("Retry")...)
		a.retry = &p
	}
}

// problems checks the policy for Retry and OpRetry; option names the option in messages.
func (p RetryPolicy) problems(option string) []string {
	var out []string
	if p.MaxRetries < 0 || p.MaxRetries > 100 {
		out = append(out, fmt.Sprintf("%s: MaxRetries %d is out of range (0..100)", option, p.MaxRetries))
	}
	if p.Delay < 0 {
		out = append(out, option+": Delay must not be negative")
	}
	switch p.Backoff {
	case "", BackoffNone, BackoffLinear, BackoffExponential:
	default:
		out = append(out, fmt.Sprintf("%s: Backoff %q is not %q, %q or %q", option, p.Backoff, BackoffNone, BackoffLinear, BackoffExponential))
	}
	switch p.Jitter {
	case "", JitterNone, JitterFull, JitterPlusMinus:
	default:
		out = append(out, fmt.Sprintf("%s: Jitter %q is not %q, %q or %q", option, p.Jitter, JitterNone, JitterFull, JitterPlusMinus))
	}
	return out
}

type retryJSON struct {
	MaxRetries   int     `json:"max_retries,omitempty"`
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	Backoff      string  `json:"backoff,omitempty"`
	Jitter       string  `json:"jitter,omitempty"`
}

func (p *RetryPolicy) manifest() *retryJSON {
	if p == nil {
		return nil
	}
	return &retryJSON{MaxRetries: p.MaxRetries, DelaySeconds: p.Delay.Seconds(), Backoff: p.Backoff, Jitter: p.Jitter}
}

// retryRequested marks an error with which the step asks to be retried.
type retryRequested struct{ err error }

func (r retryRequested) Error() string { return r.err.Error() }
func (r retryRequested) Unwrap() error { return r.err }

// RetryLater wraps err so that the step fails asking to be retried (wasmorch_run status 2): for
// failures that are worth another attempt, such as a busy upstream service. The host retries only
// steps that have a retry policy.
func RetryLater(err error) error {
	if err == nil {
		err = errors.New("the step asked to be retried")
	}
	return retryRequested{err}
}
