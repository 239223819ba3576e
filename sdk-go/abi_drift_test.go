package wasmorch

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The SDK is its own module and must not depend on the host's, so this test reads abi/abi.go as
// source: the file has no imports, so go/types can check it alone and evaluate its constants.
// Whatever the SDK spells in abi.go and abi_wasip1.go must agree with it.

const abiSource = "../abi/abi.go"

type abiPackage struct {
	pkg  *types.Package
	info *types.Info
	file *ast.File
}

func loadABI(t *testing.T) *abiPackage {
	t.Helper()
	if _, err := os.Stat(abiSource); err != nil {
		t.Skipf("%s not found (the SDK is outside the wasmorch repository): %v", abiSource, err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, abiSource, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	pkg, err := (&types.Config{}).Check("abi", fset, []*ast.File{f}, info)
	if err != nil {
		t.Fatalf("type-checking %s: %v", abiSource, err)
	}
	return &abiPackage{pkg: pkg, info: info, file: f}
}

func (a *abiPackage) constant(t *testing.T, name string) constant.Value {
	t.Helper()
	c, ok := a.pkg.Scope().Lookup(name).(*types.Const)
	if !ok {
		t.Fatalf("abi.%s is not a constant", name)
	}
	return c.Val()
}

func (a *abiPackage) int(t *testing.T, name string) int64 {
	v, ok := constant.Int64Val(a.constant(t, name))
	if !ok {
		t.Fatalf("abi.%s is not an integer", name)
	}
	return v
}

func (a *abiPackage) string(t *testing.T, name string) string {
	return constant.StringVal(a.constant(t, name))
}

// sigs reads a []Func variable built from sig(name, params, results...) calls.
func (a *abiPackage) sigs(t *testing.T, varName string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, decl := range a.file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Names) != 1 || vs.Names[0].Name != varName {
				continue
			}
			for _, elt := range vs.Values[0].(*ast.CompositeLit).Elts {
				call := elt.(*ast.CallExpr)
				name := constant.StringVal(a.info.Types[call.Args[0]].Value)
				var params []string
				if lit, ok := call.Args[1].(*ast.CompositeLit); ok {
					for _, p := range lit.Elts {
						params = append(params, a.valueType(t, p))
					}
				}
				var results []string
				for _, r := range call.Args[2:] {
					results = append(results, a.valueType(t, r))
				}
				out[name] = signature(params, results)
			}
			return out
		}
	}
	t.Fatalf("abi.%s not found", varName)
	return nil
}

func (a *abiPackage) valueType(t *testing.T, e ast.Expr) string {
	v, _ := constant.Int64Val(a.info.Types[e].Value)
	switch v {
	case 0x7f:
		return "i32"
	case 0x7e:
		return "i64"
	}
	t.Fatalf("unknown value type %#x", v)
	return ""
}

func signature(params, results []string) string {
	return "(" + strings.Join(params, ", ") + ") -> (" + strings.Join(results, ", ") + ")"
}

func TestABIConstantsMatch(t *testing.T) {
	a := loadABI(t)
	ints := []struct {
		abiName string
		sdk     int64
	}{
		{"Version", abiVersion},
		{"OK", int64(statusOK)},
		{"ErrBounds", int64(statusErrBounds)},
		{"ErrNotFound", int64(statusErrNotFound)},
		{"ErrInvalid", int64(statusErrInvalid)},
		{"ErrState", int64(statusErrState)},
		{"ErrLimit", int64(statusErrLimit)},
		{"ErrDenied", int64(statusErrDenied)},
		{"ErrIO", int64(statusErrIO)},
		{"ErrUnsupported", int64(statusErrUnsupported)},
		{"RunSuccess", int64(runSuccess)},
		{"RunFailure", int64(runFailure)},
		{"RunRetryLater", int64(runRetryLater)},
		{"FormatArrow", int64(formatArrow)},
		{"FormatJSON", int64(formatJSON)},
		{"FormatBytes", int64(formatBytes)},
		{"LevelDebug", int64(levelDebug)},
		{"LevelInfo", int64(levelInfo)},
		{"LevelWarn", int64(levelWarn)},
		{"LevelError", int64(levelError)},
		{"MaxLogMessage", maxLogMessage},
		{"MaxErrorMessage", maxErrorMessage},
		{"MaxManifest", maxManifest},
	}
	for _, c := range ints {
		if got := a.int(t, c.abiName); got != c.sdk {
			t.Errorf("abi.%s = %d, but the SDK uses %d", c.abiName, got, c.sdk)
		}
	}
	if got := a.string(t, "ImportModule"); got != importModule {
		t.Errorf("abi.ImportModule = %q, SDK %q", got, importModule)
	}
	if got := a.string(t, "OutputResult"); got != outputResult {
		t.Errorf("abi.OutputResult = %q, SDK %q", got, outputResult)
	}
	if got := a.string(t, "MappingKeyPattern"); got != mappingKeyPattern {
		t.Errorf("abi.MappingKeyPattern = %q, SDK %q", got, mappingKeyPattern)
	}

	// Status names: abi.ErrNotFound is "ERR_NOT_FOUND" by the ABI's naming rule.
	for _, name := range []string{"OK", "ErrBounds", "ErrNotFound", "ErrInvalid", "ErrState", "ErrLimit",
		"ErrDenied", "ErrIO", "ErrUnsupported"} {
		if got, want := statusName(int32(a.int(t, name))), upperSnake(name); got != want {
			t.Errorf("statusName(abi.%s) = %q, want %q", name, got, want)
		}
	}
	// Format names as manifests spell them.
	for name, want := range map[string]string{"FormatArrow": "arrow", "FormatJSON": "json", "FormatBytes": "bytes"} {
		if got := format(a.int(t, name)).String(); got != want {
			t.Errorf("format(abi.%s).String() = %q, want %q", name, got, want)
		}
	}
}

// upperSnake turns "ErrNotFound" into "ERR_NOT_FOUND" and "ErrIO" into "ERR_IO".
func upperSnake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// wasmDirectives reads the //go:wasmimport and //go:wasmexport functions of abi_wasip1.go with
// their wasm signatures.
func wasmDirectives(t *testing.T) (imports, exports map[string]string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "abi_wasip1.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	imports, exports = map[string]string{}, map[string]string{}
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Doc == nil {
			continue
		}
		for _, c := range fd.Doc.List {
			fields := strings.Fields(c.Text)
			switch {
			case len(fields) == 3 && fields[0] == "//go:wasmimport":
				if fields[1] != importModule {
					t.Errorf("%s imports from module %q, want %q", fd.Name.Name, fields[1], importModule)
				}
				imports[fields[2]] = goSignature(t, fd.Type)
			case len(fields) == 2 && fields[0] == "//go:wasmexport":
				exports[fields[1]] = goSignature(t, fd.Type)
			}
		}
	}
	return imports, exports
}

func goSignature(t *testing.T, ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) []string {
		var out []string
		if fl == nil {
			return nil
		}
		for _, f := range fl.List {
			n := max(len(f.Names), 1)
			for range n {
				out = append(out, wasmType(t, f.Type))
			}
		}
		return out
	}
	return signature(list(ft.Params), list(ft.Results))
}

func wasmType(t *testing.T, e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		switch e.Name {
		case "int32", "uint32":
			return "i32"
		case "int64", "uint64":
			return "i64"
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "unsafe" && e.Sel.Name == "Pointer" {
			return "i32" // wasm32 pointers
		}
	}
	t.Fatalf("no wasm type for Go type %#v", e)
	return ""
}

func TestWasmImportsMatchABI(t *testing.T) {
	a := loadABI(t)
	want := a.sigs(t, "Imports")
	got, _ := wasmDirectives(t)
	if !reflect.DeepEqual(got, want) {
		for name, sig := range want {
			if got[name] != sig {
				t.Errorf("import %s: SDK declares %q, abi.Imports has %q", name, got[name], sig)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("the SDK imports %s, which abi.Imports does not list", name)
			}
		}
	}
}

func TestWasmExportsMatchABI(t *testing.T) {
	a := loadABI(t)
	want := a.sigs(t, "Exports")
	_, got := wasmDirectives(t)
	for _, name := range []string{"ExportABIVersion", "ExportManifest", "ExportRun"} {
		if _, ok := got[a.string(t, name)]; !ok {
			t.Errorf("the SDK does not export abi.%s = %q", name, a.string(t, name))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exports: SDK %v, abi.Exports %v", got, want)
	}
}

var directiveRE = regexp.MustCompile(`(?m)^//go:wasm(import|export)\b.*$`)

// TestABISpelledInOnePlace keeps wasm directives out of every file but abi_wasip1.go, so the
// tests above see every one of them.
func TestABISpelledInOnePlace(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if name == "abi_wasip1.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := directiveRE.Find(src); m != nil {
			t.Errorf("%s has the directive %q; wasm directives belong in abi_wasip1.go", name, m)
		}
	}
}
