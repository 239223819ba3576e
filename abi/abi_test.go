package abi

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// sigLine matches a host function signature as ABI.md writes it inside code blocks:
// name(a: i32, b: i32) -> i32
var sigLine = regexp.MustCompile(`(?m)^([a-z_]+)\(([^)]*)\) -> (i32|i64)`)

// TestSpecMatchesTable fails when ABI.md and the Imports table disagree on a name or signature,
// so the normative text and the code the host registers cannot drift apart.
func TestSpecMatchesTable(t *testing.T) {
	doc, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]string{}
	for _, m := range sigLine.FindAllStringSubmatch(string(doc), -1) {
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			if p = strings.TrimSpace(p); p != "" {
				_, typ, ok := strings.Cut(p, ":")
				if !ok {
					t.Fatalf("ABI.md: parameter %q of %s has no type", p, m[1])
				}
				params = append(params, strings.TrimSpace(typ))
			}
		}
		spec[m[1]] = "(" + strings.Join(params, ",") + ")->" + m[3]
	}
	for _, f := range Imports {
		var params []string
		for _, p := range f.Params {
			params = append(params, p.String())
		}
		want := "(" + strings.Join(params, ",") + ")->" + f.Results[0].String()
		got, ok := spec[f.Name]
		if !ok {
			t.Errorf("ABI.md does not document host function %s%s", f.Name, want)
			continue
		}
		if got != want {
			t.Errorf("%s: ABI.md says %s, abi.go says %s", f.Name, got, want)
		}
		delete(spec, f.Name)
	}
	for name, s := range spec {
		t.Errorf("ABI.md documents %s%s, which abi.Imports lacks", name, s)
	}
}

func TestStatusNamesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	for code := int32(0); code >= -8; code-- {
		name := StatusName(code)
		if name == "UNKNOWN_STATUS" {
			t.Fatalf("status %d has no name", code)
		}
		if !strings.Contains(string(doc), "| "+itoa(code)+" | `"+name+"` |") {
			t.Errorf("ABI.md status table lacks %d %s", code, name)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatArrow, FormatJSON, FormatBytes} {
		if g, ok := ParseFormat(f.String()); !ok || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), g, ok)
		}
	}
	if _, ok := ParseFormat("parquet"); ok {
		t.Error("ParseFormat accepted an unknown format")
	}
}

func itoa(i int32) string {
	if i == 0 {
		return "0"
	}
	return "-" + string(rune('0'-i))
}
