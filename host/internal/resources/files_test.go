package resources

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// filesFixture builds
//
//	base/
//	  secret.txt             outside the root
//	  outside/               outside the root
//	  root/                  the granted directory
//	    a.csv                "id,amount\n1,10\n"
//	    empty.txt
//	    data/b.json
//	    data/sub/
//	    emptydir/
//	    inner_link -> a.csv             stays inside
//	    data_link -> data               stays inside
//	    passwd_link -> /etc/passwd      absolute, file
//	    secret_link -> ../secret.txt    relative, file
//	    etc_link -> /etc                absolute, directory
//	    outside_link -> ../outside      relative, directory
//	    up_link -> ..                   relative, directory
//	    dangling -> nowhere
func filesFixture(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	mk := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(base, "secret.txt"), "top secret")
	mk(filepath.Join(base, "outside", "x.txt"), "outside")
	mk(filepath.Join(root, "a.csv"), "id,amount\n1,10\n")
	mk(filepath.Join(root, "empty.txt"), "")
	mk(filepath.Join(root, "data", "b.json"), `{"b":1}`)
	for _, d := range []string{"data/sub", "emptydir"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"inner_link":   "a.csv",
		"data_link":    "data",
		"passwd_link":  "/etc/passwd",
		"secret_link":  "../secret.txt",
		"etc_link":     "/etc",
		"outside_link": "../outside",
		"up_link":      "..",
		"dangling":     "nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Skipf("symlinks not supported: %v", err)
		}
	}
	return base, root
}

func newFiles(t *testing.T, root, mode string) *Files {
	t.Helper()
	f, err := NewFiles(FilesConfig{Root: root, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFilesConfig(t *testing.T) {
	base, root := filesFixture(t)
	for _, tc := range []struct {
		name  string
		cfg   FilesConfig
		field string
		msg   string
	}{
		{"ok read", FilesConfig{Root: root}, "", ""},
		{"ok read-write", FilesConfig{Root: root, Mode: "read-write"}, "", ""},
		{"no root", FilesConfig{}, "root", "is required"},
		{"relative root", FilesConfig{Root: "data"}, "root", "must be an absolute path"},
		{"missing root", FilesConfig{Root: filepath.Join(base, "nope")}, "root", "does not exist"},
		{"file root", FilesConfig{Root: filepath.Join(base, "secret.txt")}, "root", "is not a directory"},
		{"bad mode", FilesConfig{Root: root, Mode: "rw"}, "mode", `"rw" is not a mode (want read or read-write)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFiles(tc.cfg)
			checkConfigErr(t, err, tc.field, tc.msg)
			if f != nil {
				f.Close()
			}
		})
	}
}

// TestFilesDenied covers every way out of the root, for every op that takes a path.
func TestFilesDenied(t *testing.T) {
	base, root := filesFixture(t)
	f := newFiles(t, root, ModeReadWrite)
	escapes := []struct{ name, path, msg string }{
		{"dotdot", "../secret.txt", "leaves the granted directory"},
		{"dotdot deep", "data/../../secret.txt", "leaves the granted directory"},
		{"dotdot only", "..", "leaves the granted directory"},
		{"dotdot dir", "../outside/x.txt", "leaves the granted directory"},
		{"absolute", "/etc/passwd", "absolute paths are not allowed"},
		{"absolute inside", filepath.Join(root, "a.csv"), "absolute paths are not allowed"},
		{"symlink file absolute", "passwd_link", "symlink"},
		{"symlink file relative", "secret_link", "symlink"},
		{"symlink dir absolute", "etc_link/passwd", "symlink"},
		{"symlink dir relative", "outside_link/x.txt", "symlink"},
		{"symlink to parent", "up_link/secret.txt", "symlink"},
	}
	for _, e := range escapes {
		for _, op := range []string{"read", "stat", "write", "write-append"} {
			t.Run(e.name+"/"+op, func(t *testing.T) {
				var req string
				switch op {
				case "write":
					req = mustJSON(map[string]any{"op": "write", "path": e.path, "data_base64": b64("pwned")})
				case "write-append":
					req = mustJSON(map[string]any{"op": "write", "path": e.path, "data_base64": b64("pwned"), "append": true})
				default:
					req = mustJSON(map[string]any{"op": op, "path": e.path})
				}
				_, err := call(t, f, req)
				check(t, err, fails(ErrDenied, e.path, e.msg))
			})
		}
	}
	for _, p := range []string{"etc_link", "outside_link", "up_link", "..", "/", "/etc"} {
		t.Run("list "+p, func(t *testing.T) {
			_, err := call(t, f, mustJSON(map[string]any{"op": "list", "path": p}))
			check(t, err, fails(ErrDenied, p))
		})
	}
	for _, p := range []string{"../secret.txt", "etc_link/passwd", "outside_link/x.txt", "/etc/passwd"} {
		t.Run("delete "+p, func(t *testing.T) {
			_, err := call(t, f, mustJSON(map[string]any{"op": "delete", "path": p}))
			check(t, err, fails(ErrDenied, p))
		})
	}
	// Nothing outside the root changed.
	if b, err := os.ReadFile(filepath.Join(base, "secret.txt")); err != nil || string(b) != "top secret" {
		t.Fatalf("secret.txt = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(base, "outside", "x.txt")); err != nil || string(b) != "outside" {
		t.Fatalf("outside/x.txt = %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(base, "outside")); len(ents) != 1 {
		t.Fatalf("outside/ has %d entries; want 1", len(ents))
	}
	if _, err := os.Lstat(filepath.Join(root, "passwd_link")); err != nil {
		t.Fatalf("passwd_link was replaced: %v", err)
	}
}

func TestFilesReadOnly(t *testing.T) {
	_, root := filesFixture(t)
	f := newFiles(t, root, "") // default mode is read
	for _, req := range []string{
		`{"op":"write","path":"new.txt","data_base64":""}`,
		`{"op":"write","path":"a.csv","data_base64":"eA==","append":true}`,
		`{"op":"delete","path":"a.csv"}`,
	} {
		_, err := call(t, f, req)
		check(t, err, fails(ErrDenied, "read-only (mode: read)", "needs mode: read-write"))
	}
	if _, err := os.Stat(filepath.Join(root, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("new.txt exists: %v", err)
	}
	if _, err := call(t, f, `{"op":"read","path":"a.csv"}`); err != nil {
		t.Fatal(err)
	}
}

func TestFilesRead(t *testing.T) {
	_, root := filesFixture(t)
	f := newFiles(t, root, ModeRead)
	const csv = "id,amount\n1,10\n"
	for _, tc := range []struct {
		name string
		req  string
		data string
		eof  bool
		want want
	}{
		{"whole", `{"op":"read","path":"a.csv"}`, csv, true, ok()},
		{"first bytes", `{"op":"read","path":"a.csv","length":3}`, "id,", false, ok()},
		{"middle", `{"op":"read","path":"a.csv","offset":3,"length":6}`, "amount", false, ok()},
		{"up to end", `{"op":"read","path":"a.csv","offset":10,"length":5}`, csv[10:], true, ok()},
		{"past end", `{"op":"read","path":"a.csv","offset":100}`, "", true, ok()},
		{"empty file", `{"op":"read","path":"empty.txt"}`, "", true, ok()},
		{"nested", `{"op":"read","path":"data/b.json"}`, `{"b":1}`, true, ok()},
		{"dotdot inside", `{"op":"read","path":"data/../a.csv"}`, csv, true, ok()},
		{"dot slash", `{"op":"read","path":"./data//b.json"}`, `{"b":1}`, true, ok()},
		{"symlink inside", `{"op":"read","path":"inner_link"}`, csv, true, ok()},
		{"dir symlink inside", `{"op":"read","path":"data_link/b.json"}`, `{"b":1}`, true, ok()},
		{"missing", `{"op":"read","path":"nope.csv"}`, "", false, fails(ErrNotFound, `read "nope.csv": no such file`)},
		{"dangling", `{"op":"read","path":"dangling"}`, "", false, fails(ErrNotFound, `"dangling"`)},
		{"under a file", `{"op":"read","path":"a.csv/x"}`, "", false, fails(ErrNotFound, "not a directory")},
		{"directory", `{"op":"read","path":"data"}`, "", false, fails(ErrInvalidRequest, "is a directory (use op list)")},
		{"root", `{"op":"read","path":"."}`, "", false, fails(ErrInvalidRequest, "names the granted directory itself")},
		{"no path", `{"op":"read"}`, "", false, fails(ErrInvalidRequest, `field "path" is required`)},
		{"negative offset", `{"op":"read","path":"a.csv","offset":-1}`, "", false, fails(ErrInvalidRequest, `"offset" must not be negative`)},
		{"negative length", `{"op":"read","path":"a.csv","length":-1}`, "", false, fails(ErrInvalidRequest, `"length" must not be negative`)},
		{"offset string", `{"op":"read","path":"a.csv","offset":"0"}`, "", false, fails(ErrInvalidRequest, `field "offset" must be an integer, not a JSON string`)},
		{"offset fraction", `{"op":"read","path":"a.csv","offset":1.5}`, "", false, fails(ErrInvalidRequest, `field "offset" must be an integer`)},
		{"nul", "{\"op\":\"read\",\"path\":\"a\\u0000b\"}", "", false, fails(ErrInvalidRequest, "NUL byte")},
		{"field of write", `{"op":"read","path":"a.csv","append":true}`, "", false, fails(ErrInvalidRequest, `field "append" is not used by op "read" (it takes: path, offset, length)`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(t, f, tc.req)
			check(t, err, tc.want)
			if err != nil {
				return
			}
			if got := unb64(t, resp["data_base64"]); got != tc.data || resp["eof"] != tc.eof {
				t.Fatalf("read %q eof=%v; want %q eof=%v", got, resp["eof"], tc.data, tc.eof)
			}
		})
	}
}

// TestFilesReadChunks reads a file bigger than MaxReadChunk in pieces.
func TestFilesReadChunks(t *testing.T) {
	root := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), MaxReadChunk/16+100)
	if err := os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFiles(t, root, ModeRead)
	var got []byte
	for i := 0; ; i++ {
		resp, err := call(t, f, mustJSON(map[string]any{"op": "read", "path": "big.bin", "offset": len(got), "length": 1 << 30}))
		if err != nil {
			t.Fatal(err)
		}
		chunk := unb64(t, resp["data_base64"])
		if len(chunk) > MaxReadChunk {
			t.Fatalf("chunk of %d bytes; the cap is %d", len(chunk), MaxReadChunk)
		}
		got = append(got, chunk...)
		if resp["eof"] == true {
			if i != 1 {
				t.Fatalf("eof after %d reads; want 2", i+1)
			}
			break
		}
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("read %d bytes; want the %d written", len(got), len(big))
	}
}

func TestFilesWrite(t *testing.T) {
	_, root := filesFixture(t)
	f := newFiles(t, root, ModeReadWrite)
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(p, data string, appendMode bool) (map[string]any, error) {
		return call(t, f, mustJSON(map[string]any{"op": "write", "path": p, "data_base64": b64(data), "append": appendMode}))
	}

	resp, err := write("out/2025/new.txt", "hello", false)
	if err != nil || resp["written"] != float64(5) {
		t.Fatalf("write: %v, %v", resp, err)
	}
	if got := read("out/2025/new.txt"); got != "hello" {
		t.Fatalf("new.txt = %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(root, "out", "2025")); !fi.IsDir() {
		t.Fatal("parent directories were not created")
	}

	// Overwrite keeps the file's mode.
	if err := os.Chmod(filepath.Join(root, "a.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := write("a.csv", "replaced", false); err != nil {
		t.Fatal(err)
	}
	if got := read("a.csv"); got != "replaced" {
		t.Fatalf("a.csv = %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(root, "a.csv")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("a.csv mode %v; want 0600", fi.Mode().Perm())
	}

	// Append, to an existing file and to a new one.
	if _, err := write("a.csv", "+more", true); err != nil {
		t.Fatal(err)
	}
	if got := read("a.csv"); got != "replaced+more" {
		t.Fatalf("a.csv = %q", got)
	}
	if _, err := write("log/appended.txt", "x", true); err != nil {
		t.Fatal(err)
	}
	if got := read("log/appended.txt"); got != "x" {
		t.Fatalf("appended.txt = %q", got)
	}

	// Empty data makes an empty file.
	if _, err := write("zero.bin", "", false); err != nil {
		t.Fatal(err)
	}
	if got := read("zero.bin"); got != "" {
		t.Fatalf("zero.bin = %q", got)
	}

	// Writing through an inside symlink replaces the link with a file; the target is untouched.
	if _, err := write("inner_link", "via link", false); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(filepath.Join(root, "inner_link")); fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("inner_link is still a symlink")
	}

	for _, tc := range []struct {
		name string
		req  string
		want want
	}{
		{"onto a directory", `{"op":"write","path":"data","data_base64":""}`, fails(ErrInvalidRequest, "is a directory")},
		{"root", `{"op":"write","path":".","data_base64":""}`, fails(ErrInvalidRequest, "names the granted directory itself")},
		{"under a file", `{"op":"write","path":"zero.bin/x","data_base64":""}`, fails(ErrNotFound, "not a directory")},
		{"bad base64", `{"op":"write","path":"x","data_base64":"!!"}`, fails(ErrInvalidRequest, `field "data_base64" is not valid base64`)},
		{"append not bool", `{"op":"write","path":"x","data_base64":"","append":"yes"}`, fails(ErrInvalidRequest, `field "append" must be a boolean`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, f, tc.req)
			check(t, err, tc.want)
		})
	}

	// No temporary files are left behind.
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if strings.HasSuffix(p, ".wasmorch-tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestFilesListStatDelete(t *testing.T) {
	_, root := filesFixture(t)
	f := newFiles(t, root, ModeReadWrite)
	names := func(resp map[string]any) []string {
		var out []string
		for _, e := range resp["entries"].([]any) {
			m := e.(map[string]any)
			s := m["name"].(string)
			if m["is_dir"] == true {
				s += "/"
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		req       string
		entries   []string
		truncated bool
		want      want
	}{
		// Links that dangle or leave the root are left out; links inside are resolved.
		{"root", `{"op":"list"}`, []string{"a.csv", "data/", "data_link/", "empty.txt", "emptydir/", "inner_link"}, false, ok()},
		{"root dot", `{"op":"list","path":"."}`, []string{"a.csv", "data/", "data_link/", "empty.txt", "emptydir/", "inner_link"}, false, ok()},
		{"subdir", `{"op":"list","path":"data"}`, []string{"b.json", "sub/"}, false, ok()},
		{"via link", `{"op":"list","path":"data_link"}`, []string{"b.json", "sub/"}, false, ok()},
		{"empty dir", `{"op":"list","path":"emptydir"}`, nil, false, ok()},
		{"limit", `{"op":"list","limit":2}`, []string{"a.csv", "data/"}, true, ok()},
		{"after", `{"op":"list","after":"data","limit":2}`, []string{"data_link/", "empty.txt"}, true, ok()},
		{"after last", `{"op":"list","after":"emptydir"}`, []string{"inner_link"}, false, ok()},
		{"file", `{"op":"list","path":"a.csv"}`, nil, false, fails(ErrInvalidRequest, "not a directory (use op stat)")},
		{"missing", `{"op":"list","path":"nope"}`, nil, false, fails(ErrNotFound, `list "nope"`)},
		{"negative limit", `{"op":"list","limit":-1}`, nil, false, fails(ErrInvalidRequest, `"limit" must not be negative`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(t, f, tc.req)
			check(t, err, tc.want)
			if err != nil {
				return
			}
			if got := names(resp); !reflect.DeepEqual(got, tc.entries) || resp["truncated"] != tc.truncated {
				t.Fatalf("entries %v truncated=%v; want %v truncated=%v", got, resp["truncated"], tc.entries, tc.truncated)
			}
		})
	}

	resp, err := call(t, f, `{"op":"list","path":"data"}`)
	if err != nil {
		t.Fatal(err)
	}
	first := resp["entries"].([]any)[0].(map[string]any)
	if first["size"] != float64(7) || first["is_dir"] != false || first["mod_time"] == "" {
		t.Fatalf("entry %v", first)
	}

	for _, tc := range []struct {
		name string
		req  string
		resp map[string]any
		want want
	}{
		{"file", `{"op":"stat","path":"data/b.json"}`, map[string]any{"name": "b.json", "size": float64(7), "is_dir": false}, ok()},
		{"dir", `{"op":"stat","path":"data/sub"}`, map[string]any{"name": "sub", "size": float64(0), "is_dir": true}, ok()},
		{"root", `{"op":"stat","path":""}`, map[string]any{"name": ".", "size": float64(0), "is_dir": true}, ok()},
		{"link", `{"op":"stat","path":"inner_link"}`, map[string]any{"name": "inner_link", "size": float64(15), "is_dir": false}, ok()},
		{"missing", `{"op":"stat","path":"data/nope"}`, nil, fails(ErrNotFound, `stat "data/nope": no such file or directory`)},
	} {
		t.Run("stat "+tc.name, func(t *testing.T) {
			resp, err := call(t, f, tc.req)
			check(t, err, tc.want)
			if err != nil {
				return
			}
			if _, ok := resp["mod_time"].(string); !ok {
				t.Fatalf("no mod_time in %v", resp)
			}
			delete(resp, "mod_time")
			if !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("stat %v; want %v", resp, tc.resp)
			}
		})
	}

	for _, tc := range []struct {
		name string
		path string
		want want
	}{
		{"file", "a.csv", ok()},
		{"again", "a.csv", fails(ErrNotFound, `delete "a.csv": no such file`)},
		{"empty dir", "emptydir", ok()},
		{"non-empty dir", "data", fails(ErrInvalidRequest, "directory is not empty")},
		{"root", ".", fails(ErrInvalidRequest, "names the granted directory itself")},
		{"escaping link itself", "passwd_link", ok()}, // removes the link, not /etc/passwd
	} {
		t.Run("delete "+tc.name, func(t *testing.T) {
			_, err := call(t, f, mustJSON(map[string]any{"op": "delete", "path": tc.path}))
			check(t, err, tc.want)
		})
	}
	if _, err := os.Stat("/etc/passwd"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "b.json")); err != nil {
		t.Fatal(err)
	}
}

func TestFilesClosed(t *testing.T) {
	_, root := filesFixture(t)
	f, err := NewFiles(FilesConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = call(t, f, `{"op":"read","path":"a.csv"}`)
	check(t, err, fails(ErrIO, "read"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f2 := newFiles(t, root, ModeRead)
	_, err = f2.Call(ctx, []byte(`{"op":"stat","path":"a.csv"}`))
	check(t, err, fails(ErrIO, "context canceled"))
}

// TestFilesErrorsHideHostPath checks that no message gives the guest the host's directory.
func TestFilesErrorsHideHostPath(t *testing.T) {
	_, root := filesFixture(t)
	f := newFiles(t, root, ModeReadWrite)
	for _, req := range []string{
		`{"op":"read","path":"nope"}`, `{"op":"read","path":"../secret.txt"}`,
		`{"op":"read","path":"etc_link/passwd"}`, `{"op":"delete","path":"data"}`,
		`{"op":"list","path":"a.csv"}`, `{"op":"write","path":"a.csv/x","data_base64":""}`,
	} {
		_, err := call(t, f, req)
		if err == nil || strings.Contains(err.Error(), root) {
			t.Fatalf("%s: error %v names the host directory", req, err)
		}
	}
}
