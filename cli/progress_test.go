package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/store"
)

// TestLiveProgress: on a terminal, finished steps print as lines above a status line that is
// redrawn in place (carriage return + erase line) with done/total and the running steps.
func TestLiveProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true)
	p.total = 2
	now := time.Now()
	p.event(store.Event{Type: store.EventStepStart, StepKey: "a", Time: now})
	p.event(store.Event{Type: store.EventStepStart, StepKey: "b", Time: now})
	time.Sleep(250 * time.Millisecond) // let the ticker redraw
	p.event(store.Event{Type: store.EventStepSuccess, StepKey: "a", Time: now, Message: "finished in 1ms"})
	p.event(store.Event{Type: store.EventStepFailure, StepKey: "b", Time: now, Error: "boom"})
	p.finish()
	out := buf.String()
	for _, want := range []string{"\r\033[K", "[0/2] running a, b", "OK       a  finished in 1ms", "FAILED   b  boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("the status line was not cleared at the end: %q", out[max(0, len(out)-40):])
	}
}

func TestPlainProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false)
	p.total = 1
	p.event(store.Event{Type: store.EventStepStart, StepKey: "a", Time: time.Now()})
	p.finish()
	if out := buf.String(); strings.Contains(out, "\r") || !strings.Contains(out, "START    a") {
		t.Errorf("plain output %q", out)
	}
}

func TestRenderTypedMetadata(t *testing.T) {
	for v, want := range map[string]string{
		`{"type":"markdown","value":"**bold**\nline"}`:                                       "**bold**\n    line",
		`{"type":"url","value":"https://e.com"}`:                                             "https://e.com (url)",
		`{"type":"table","value":{"columns":["region","revenue"],"rows":[["west",274.15]]}}`: "\n    region  revenue\n    west    274.15",
		`3`:       "3",
		`{"a":1}`: `{"a":1}`,
	} {
		var x any
		json.Unmarshal([]byte(v), &x)
		if got := renderMetadata(x); got != want {
			t.Errorf("%s: %q, want %q", v, got, want)
		}
	}
}
