package abi

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Go SDK checks itself against this package (sdk-go/abi_drift_test.go). The Rust and C SDKs
// are checked here from their sources, so that a renamed import, a changed signature or a
// missing export fails before any module is built. Every SDK declares every import (the linker
// drops unused ones), so the check is complete, not just over what a guest happens to call.

// wasm32 value types of the SDKs' parameter and result types.
var (
	rustTypes = map[string]ValueType{"i32": I32, "u32": I32, "usize": I32, "*const u8": I32, "*mut u8": I32, "i64": I64}
	cTypes    = map[string]ValueType{"int32_t": I32, "uint32_t": I32, "int64_t": I64}
)

func signature(f Func) string {
	var ps []string
	for _, p := range f.Params {
		ps = append(ps, p.String())
	}
	var rs []string
	for _, r := range f.Results {
		rs = append(rs, r.String())
	}
	return "(" + strings.Join(ps, ",") + ")->(" + strings.Join(rs, ",") + ")"
}

// compareImports checks found (name -> signature) against Imports, in both directions.
func compareImports(t *testing.T, sdk string, found map[string]string) {
	t.Helper()
	if len(found) == 0 {
		t.Fatalf("%s: found no import declarations; has the SDK's source layout changed?", sdk)
	}
	for _, f := range Imports {
		got, ok := found[f.Name]
		if !ok {
			t.Errorf("%s SDK does not declare host function %s%s", sdk, f.Name, signature(f))
			continue
		}
		if want := signature(f); got != want {
			t.Errorf("%s SDK declares %s as %s, abi.Imports says %s", sdk, f.Name, got, want)
		}
		delete(found, f.Name)
	}
	for name, sig := range found {
		t.Errorf("%s SDK imports %s%s, which is not a function of ABI version %d", sdk, name, sig, Version)
	}
}

func typesOf(t *testing.T, sdk, decl string, params []string, table map[string]ValueType) []string {
	var out []string
	for _, p := range params {
		p = strings.TrimSpace(p)
		if p == "" || p == "void" {
			continue
		}
		typ := p
		if sdk == "rust" {
			_, typ, _ = strings.Cut(p, ":")
		} else {
			typ = strings.TrimSpace(regexp.MustCompile(`\s*\**\s*\w+$`).ReplaceAllString(p, ""))
			if strings.Contains(p, "*") {
				typ = "ptr"
			}
		}
		typ = strings.TrimSpace(typ)
		if typ == "ptr" {
			out = append(out, I32.String())
			continue
		}
		v, ok := table[typ]
		if !ok {
			t.Fatalf("%s SDK: %s: no wasm32 type known for parameter type %q", sdk, decl, typ)
		}
		out = append(out, v.String())
	}
	return out
}

func TestRustSDKMatchesABI(t *testing.T) {
	src, err := os.ReadFile("../sdk-rust/src/host.rs")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`#\[link_name = "(\w+)"\]\s*(?:#\[[^\]]*\]\s*)*fn \w+\(([^)]*)\)(?:\s*->\s*(\w+))?;`)
	found := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		params := typesOf(t, "rust", m[1], strings.Split(m[2], ","), rustTypes)
		var results []string
		if m[3] != "" {
			results = append(results, rustTypes[m[3]].String())
		}
		found[m[1]] = "(" + strings.Join(params, ",") + ")->(" + strings.Join(results, ",") + ")"
	}
	compareImports(t, "rust", found)

	lib, err := os.ReadFile("../sdk-rust/src/lib.rs")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Exports {
		if !regexp.MustCompile(`pub extern "C" fn ` + f.Name + `\(\) -> i32`).Match(lib) {
			t.Errorf("rust SDK's module! does not export %s%s", f.Name, signature(f))
		}
	}
}

func TestCSDKMatchesABI(t *testing.T) {
	src, err := os.ReadFile("../sdk-c/wasmorch.c")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`WM_IMPORT\("(\w+)"\)\s+(\w+)\s+\w+\(([^)]*)\);`)
	found := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		params := typesOf(t, "c", m[1], strings.Split(m[3], ","), cTypes)
		res, ok := cTypes[m[2]]
		if !ok {
			t.Fatalf("c SDK: %s returns %s, which has no wasm32 type here", m[1], m[2])
		}
		found[m[1]] = "(" + strings.Join(params, ",") + ")->(" + res.String() + ")"
	}
	compareImports(t, "c", found)
	for _, f := range Exports {
		if !regexp.MustCompile(`WM_EXPORT\("` + f.Name + `"\) int32_t ` + f.Name + `\(void\)`).Match(src) {
			t.Errorf("c SDK does not export %s%s", f.Name, signature(f))
		}
	}
}
