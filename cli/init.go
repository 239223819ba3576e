package cli

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
)

//go:embed all:templates
var templates embed.FS

// SDKRootEnv names the environment variable that points `wasmorch init` at the wasmorch source
// tree whose SDKs new projects use.
const SDKRootEnv = "WASMORCH_SDK_ROOT"

type scaffold struct {
	Name      string // project, module and crate name
	Asset     string // the asset key of the one asset
	Func      string // its function name
	FuncTitle string
	SDKRoot   string // absolute path of the wasmorch source tree
}

func (a *app) initCmd() *cobra.Command {
	var lang, name, sdkRoot string
	cmd := &cobra.Command{
		Use:   "init --lang go|rust|c DIR",
		Short: "Create a module project with one asset, a unit test, a build command and a wasmorch.yaml",
		Long: `Create a module project in DIR (which must not exist or be empty) for the given language:
one asset, a unit test in that language, a Makefile with build and test targets, and a
wasmorch.yaml listing the module. Then: cd DIR && make build && wasmorch asset materialize --select '*'.

The project uses the SDK from the wasmorch source tree: --sdk-root, $` + SDKRootEnv + `, or the tree this
binary was built in.`,
		Example: "  wasmorch init --lang rust ./word_counts",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			langs := availableLangs()
			if !contains(langs, lang) {
				return fmt.Errorf("--lang %q is not supported (choose one of: %s)", lang, strings.Join(langs, ", "))
			}
			if name == "" {
				name = projectName(filepath.Base(filepath.Clean(dir)))
			}
			if !projectNameRE.MatchString(name) {
				return fmt.Errorf("project name %q is invalid: use lower-case letters, digits and '_', starting with a letter (set --name)", name)
			}
			root, err := findSDKRoot(sdkRoot, lang)
			if err != nil {
				return err
			}
			if err := checkEmptyDir(dir); err != nil {
				return err
			}
			s := scaffold{Name: name, Asset: "words", Func: "words", FuncTitle: "Words", SDKRoot: filepath.ToSlash(root)}
			files, err := writeScaffold(dir, lang, s)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created a %s module project in %s:\n", lang, dir)
			for _, f := range files {
				fmt.Fprintf(a.stdout, "  %s\n", f)
			}
			fmt.Fprintf(a.stdout, "Next:\n  cd %s\n  make test && make build\n  wasmorch asset materialize --select '*'\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&lang, "lang", "l", "", "language of the module: "+strings.Join(availableLangs(), ", ")+" (required)")
	cmd.Flags().StringVar(&name, "name", "", "project name (default: the directory's name)")
	cmd.Flags().StringVar(&sdkRoot, "sdk-root", "", "wasmorch source tree holding the SDKs (default: $"+SDKRootEnv+" or the tree of this binary)")
	cmd.MarkFlagRequired("lang")
	return cmd
}

var (
	projectNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	nonNameRE     = regexp.MustCompile(`[^a-z0-9_]+`)
)

// projectName turns a directory name into a project name: "Word-Counts" becomes "word_counts".
func projectName(base string) string {
	n := strings.Trim(nonNameRE.ReplaceAllString(strings.ToLower(base), "_"), "_")
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "module_" + n
	}
	return n
}

func availableLangs() []string {
	entries, _ := templates.ReadDir("templates")
	var langs []string
	for _, e := range entries {
		langs = append(langs, e.Name())
	}
	sort.Strings(langs)
	return langs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sdkMarkers are files that identify a language's SDK inside a wasmorch source tree.
var sdkMarkers = map[string]string{"go": "sdk-go/go.mod", "rust": "sdk-rust/Cargo.toml", "c": "sdk-c/wasmorch.h"}

// findSDKRoot locates the wasmorch source tree: the flag, then $WASMORCH_SDK_ROOT, then the
// directories above this executable and above the working directory.
func findSDKRoot(flag, lang string) (string, error) {
	marker := sdkMarkers[lang]
	check := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, marker))
		return err == nil
	}
	for _, explicit := range []string{flag, os.Getenv(SDKRootEnv)} {
		if explicit == "" {
			continue
		}
		abs, err := filepath.Abs(explicit)
		if err != nil {
			return "", err
		}
		if !check(abs) {
			return "", fmt.Errorf("%s is not a wasmorch source tree: %s is missing", abs, marker)
		}
		return abs, nil
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(real))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, start := range starts {
		for d := start; ; d = filepath.Dir(d) {
			if check(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("cannot find the wasmorch SDK for %s (%s): pass --sdk-root or set $%s to the wasmorch source tree", lang, marker, SDKRootEnv)
}

func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s already exists and is not empty; choose a new directory", dir)
	}
	return nil
}

// writeScaffold renders templates/<lang>/ into dir and returns the files written.
func writeScaffold(dir, lang string, s scaffold) ([]string, error) {
	base := path.Join("templates", lang)
	var written []string
	err := fs.WalkDir(templates, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, base+"/"), ".tmpl")
		rel = strings.ReplaceAll(rel, "NAME", s.Name)
		if path.Base(rel) == "gitignore" {
			rel = path.Join(path.Dir(rel), ".gitignore")
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(rel).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		var out bytes.Buffer
		if err := t.Execute(&out, s); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, out.Bytes(), 0o644); err != nil {
			return err
		}
		written = append(written, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(written)
	return written, err
}
