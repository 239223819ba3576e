package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkTrivialStep/native-2         	 2404135	       900 ns/op
BenchmarkTrivialStep/native-2         	 3615253	      1100 ns/op
BenchmarkTrivialStep/native-2         	 3079309	      1000 ns/op
BenchmarkTrivialStep/wasm-2           	     254	   8000000 ns/op
BenchmarkTrivialStep/wasm-2           	     332	  10000000 ns/op
BenchmarkTrivialStep/wasm-2           	     254	   9000000 ns/op
BenchmarkAppend/log-2   	  100	  18000 ns/op	  55000 events/s	 120 B/op
BenchmarkAppend/log-2   	  100	  19000 ns/op	  52000 events/s	 120 B/op
    bench_test.go:12: a log line of a benchmark
PASS
`

func TestRender(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "step.txt"), []byte(sample), 0o644)
	os.WriteFile(filepath.Join(dir, "d.jsonl"), []byte(`{"pipeline":"fib","mode":"in_process","reps":[1.5,1.2,2.0]}`+"\n"+`{"pipeline":"fib","mode":"wasm","reps":[0.01,0.012,0.011]}`+"\n"), 0o644)
	tmpl := filepath.Join(dir, "t.md")
	os.WriteFile(tmpl, []byte(`native {{time "step.txt" "TrivialStep/native"}}; wasm {{time "step.txt" "TrivialStep/wasm"}}; `+
		`ratio {{ratio "step.txt" "TrivialStep/wasm" "step.txt" "TrivialStep/native"}}; `+
		`rate {{value "step.txt" "Append/log" "events/s"}}; share {{share "step.txt" "TrivialStep/native" "step.txt" "TrivialStep/wasm"}}; `+
		`dagster {{jtime "d.jsonl" "pipeline=fib,mode=in_process"}}; faster {{jratio "d.jsonl" "pipeline=fib,mode=in_process" "d.jsonl" "pipeline=fib,mode=wasm"}}`), 0o644)
	out := filepath.Join(dir, "out.md")
	if err := render(dir, "", tmpl, out, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want := "native 1.00 µs [0.900–1.10]; wasm 9.00 ms [8.00–10.0]; ratio 9,000×; rate 53,500 [52,000–55,000]; share 0.0111%; " +
		"dagster 1.50 s [1.20–2.00]; faster 136×"
	if string(got) != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
}

func TestMissingFiguresAreErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "step.txt"), []byte(sample), 0o644)
	tmpl := filepath.Join(dir, "t.md")
	os.WriteFile(tmpl, []byte(`{{time "step.txt" "Nope"}} {{time "gone.txt" "X"}}`), 0o644)
	out := filepath.Join(dir, "out.md")
	err := render(dir, "", tmpl, out, false)
	if err == nil || !strings.Contains(err.Error(), `step.txt: no ns/op for benchmark "Nope" (it has: Append/log, TrivialStep/native, TrivialStep/wasm)`) ||
		!strings.Contains(err.Error(), "gone.txt: no such output") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a page with unmeasured figures was written")
	}
	if err := render(dir, "", tmpl, out, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "not measured not measured" {
		t.Errorf("with -allow-missing: %q", got)
	}
}

// TestBeforeFigures reads "before/FILE" from the before directory, so a page can set an earlier
// run's figures beside this run's.
func TestBeforeFigures(t *testing.T) {
	dir, before := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "step.txt"), []byte(sample), 0o644)
	os.WriteFile(filepath.Join(before, "step.txt"), []byte(strings.ReplaceAll(sample, "000000 ns/op", "0000000 ns/op")), 0o644)
	tmpl := filepath.Join(dir, "t.md")
	os.WriteFile(tmpl, []byte(`{{time "before/step.txt" "TrivialStep/wasm"}} -> {{time "step.txt" "TrivialStep/wasm"}}, `+
		`{{ratio "before/step.txt" "TrivialStep/wasm" "step.txt" "TrivialStep/wasm"}} faster; {{time "before/gone.txt" "X"}}`), 0o644)
	out := filepath.Join(dir, "out.md")
	err := render(dir, before, tmpl, out, false)
	if err == nil || !strings.Contains(err.Error(), "before/gone.txt: no such output") {
		t.Fatalf("a missing before file: %v", err)
	}
	if err := render(dir, before, tmpl, out, true); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if want := "90.0 ms [80.0–100] -> 9.00 ms [8.00–10.0], 10.0× faster; not measured"; string(got) != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
}

func TestVerdicts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "step.txt"), []byte(sample), 0o644)
	tmpl := filepath.Join(dir, "t.md")
	os.WriteFile(tmpl, []byte(`{{verdict (timev "step.txt" "TrivialStep/wasm") "<" 0.010}} `+
		`{{verdict (timev "step.txt" "TrivialStep/wasm") "<" 0.001}} `+
		`{{verdict (ratiov "step.txt" "TrivialStep/wasm" "step.txt" "TrivialStep/native") ">=" 9000}} `+
		`{{verdict (timev "step.txt" "Nope") "<" 1}}`), 0o644)
	out := filepath.Join(dir, "out.md")
	if err := render(dir, "", tmpl, out, true); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if want := "met **missed** met not measured"; string(got) != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
}
