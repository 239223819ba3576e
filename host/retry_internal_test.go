package host

import (
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/internal/manifest"
)

func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		backoff string
		attempt int
		want    time.Duration
	}{
		{"", 1, time.Second}, {"none", 3, time.Second},
		{"linear", 1, time.Second}, {"linear", 3, 3 * time.Second},
		{"exponential", 1, time.Second}, {"exponential", 4, 8 * time.Second},
	} {
		if got := retryDelay(&manifest.RetryPolicy{DelaySeconds: 1, Backoff: c.backoff}, c.attempt); got != c.want {
			t.Errorf("%s attempt %d: %s, want %s", c.backoff, c.attempt, got, c.want)
		}
	}
	for i := 0; i < 200; i++ {
		if d := retryDelay(&manifest.RetryPolicy{DelaySeconds: 2, Jitter: "full"}, 1); d < 0 || d > 2*time.Second {
			t.Fatalf("full jitter gave %s, outside [0, 2s]", d)
		}
		if d := retryDelay(&manifest.RetryPolicy{DelaySeconds: 2, Jitter: "plus_minus"}, 1); d < time.Second || d > 3*time.Second {
			t.Fatalf("plus_minus jitter gave %s, outside [1s, 3s]", d)
		}
	}
}
