package resources

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// File access modes.
const (
	ModeRead      = "read"
	ModeReadWrite = "read-write"
)

// Limits of the files kind.
const (
	// MaxReadChunk is the most bytes one read request returns; read big files in pieces.
	MaxReadChunk = 4 << 20
	// MaxListEntries is the most entries one list request returns, and the default limit.
	MaxListEntries = 10000
)

// FilesConfig is a files grant: a host directory.
//
//	resources:
//	  landing: {kind: files, root: ./data/landing, mode: read}
type FilesConfig struct {
	// Root is the directory (wasmorch.yaml: root). It must be an absolute path to an existing
	// directory; the workspace resolves a relative root against its own directory first.
	Root string
	// Mode is ModeRead (the default when empty) or ModeReadWrite (wasmorch.yaml: mode).
	Mode string
}

// Files is a files resource: a directory jailed with os.Root. Every operation goes through the
// Root, so a path that leaves the directory — an absolute path, ".." above the root, or a
// symlink (file or directory, absolute or relative) pointing outside it — fails with
// ErrDenied; the kernel resolves each component relative to the root's descriptor. Paths in
// requests are relative, use "/" separators, and may contain ".." that stays inside the root.
//
// os.Root does not stop hard links, bind mounts or device files an operator puts inside the
// root; the guest itself cannot create links. Reads only open regular files.
//
// Requests (read-write only: write, delete):
//
//	{"op":"read","path":"a/b.csv","offset":0,"length":1048576}
//	    -> {"data_base64":"...","eof":false}
//	{"op":"write","path":"out/c.json","data_base64":"...","append":false}
//	    -> {"written":123}
//	{"op":"list","path":"a","after":"","limit":100}
//	    -> {"entries":[{"name":"b.csv","size":10,"is_dir":false,"mod_time":"..."}],"truncated":false}
//	{"op":"stat","path":"a/b.csv"}
//	    -> {"name":"b.csv","size":10,"is_dir":false,"mod_time":"2025-01-02T03:04:05.123Z"}
//	{"op":"delete","path":"a/b.csv"}
//	    -> {}
type Files struct {
	root     *os.Root
	dir      string
	writable bool
}

// NewFiles opens the root directory. Close it when the workspace is done with it.
func NewFiles(cfg FilesConfig) (*Files, error) {
	var errs []error
	switch cfg.Mode {
	case "", ModeRead, ModeReadWrite:
	default:
		errs = append(errs, configErr(KindFiles, "mode", "%q is not a mode (want read or read-write)", cfg.Mode))
	}
	switch {
	case cfg.Root == "":
		errs = append(errs, configErr(KindFiles, "root", "is required: the directory to grant"))
	case !filepath.IsAbs(cfg.Root):
		errs = append(errs, configErr(KindFiles, "root", "%q must be an absolute path (the workspace resolves relative roots against its directory)", cfg.Root))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	fi, err := os.Stat(cfg.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &ConfigError{Kind: KindFiles, Field: "root", Msg: fmt.Sprintf("directory %s does not exist", cfg.Root), Err: err}
	case err != nil:
		return nil, &ConfigError{Kind: KindFiles, Field: "root", Msg: err.Error(), Err: err}
	case !fi.IsDir():
		return nil, configErr(KindFiles, "root", "%s is not a directory", cfg.Root)
	}
	r, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, &ConfigError{Kind: KindFiles, Field: "root", Msg: err.Error(), Err: err}
	}
	return &Files{root: r, dir: cfg.Root, writable: cfg.Mode == ModeReadWrite}, nil
}

// Kind returns KindFiles.
func (*Files) Kind() Kind { return KindFiles }

// Close closes the root. Calls after Close fail with ErrIO.
func (f *Files) Close() error { return f.root.Close() }

var filesOps = opFields{
	"read":   {"path", "offset", "length"},
	"write":  {"path", "data_base64", "append"},
	"list":   {"path", "after", "limit"},
	"stat":   {"path"},
	"delete": {"path"},
}

type filesRequest struct {
	Path       string `json:"path"`
	Offset     int64  `json:"offset"`
	Length     int64  `json:"length"`
	DataBase64 string `json:"data_base64"`
	Append     bool   `json:"append"`
	After      string `json:"after"`
	Limit      int    `json:"limit"`
}

type fileInfo struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	IsDir   bool   `json:"is_dir"`
	ModTime string `json:"mod_time"`
}

func toInfo(name string, fi fs.FileInfo) fileInfo {
	size := fi.Size()
	if fi.IsDir() {
		size = 0
	}
	return fileInfo{Name: name, Size: size, IsDir: fi.IsDir(), ModTime: fi.ModTime().UTC().Format(time.RFC3339Nano)}
}

// Call serves one request.
func (f *Files) Call(ctx context.Context, req []byte) ([]byte, error) {
	var r filesRequest
	op, err := decodeRequest(KindFiles, req, filesOps, &r)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(KindFiles, ErrIO, err, "%s: %v", op, err)
	}
	if (op == "write" || op == "delete") && !f.writable {
		return nil, newErr(KindFiles, ErrDenied, "%s %q: the directory is granted read-only (mode: read); %s needs mode: read-write", op, r.Path, op)
	}
	p, err := f.cleanPath(op, r.Path, op == "list" || op == "stat")
	if err != nil {
		return nil, err
	}
	switch op {
	case "read":
		return f.read(p, r)
	case "write":
		return f.write(p, r)
	case "list":
		return f.list(p, r)
	case "stat":
		fi, err := f.root.Stat(p)
		if err != nil {
			return nil, f.osErr(op, r.Path, err)
		}
		return encodeResponse(KindFiles, toInfo(path.Base(p), fi))
	default: // delete
		if err := f.root.Remove(p); err != nil {
			if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
				return nil, wrapErr(KindFiles, ErrInvalidRequest, err, "delete %q: the directory is not empty", r.Path)
			}
			return nil, f.osErr(op, r.Path, err)
		}
		return []byte("{}"), nil
	}
}

// cleanPath checks a request path lexically and returns it cleaned. The check gives clear
// messages; it is not what keeps the guest inside the root (os.Root is).
func (f *Files) cleanPath(op, p string, rootOK bool) (string, error) {
	switch {
	case strings.ContainsRune(p, 0):
		return "", newErr(KindFiles, ErrInvalidRequest, "%s %q: the path contains a NUL byte", op, p)
	case !utf8.ValidString(p):
		return "", newErr(KindFiles, ErrInvalidRequest, "%s: the path is not valid UTF-8", op)
	case p == "" && !rootOK:
		return "", newErr(KindFiles, ErrInvalidRequest, `%s: field "path" is required`, op)
	case p == "":
		return ".", nil
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "":
		return "", newErr(KindFiles, ErrDenied, "%s %q: absolute paths are not allowed; paths are relative to the granted directory", op, p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", newErr(KindFiles, ErrDenied, "%s %q: the path leaves the granted directory", op, p)
	}
	if c == "." && !rootOK {
		return "", newErr(KindFiles, ErrInvalidRequest, "%s %q: the path names the granted directory itself", op, p)
	}
	return c, nil
}

// osErr classifies an error from the Root.
func (f *Files) osErr(op, p string, err error) error {
	switch {
	case escapes(err):
		return wrapErr(KindFiles, ErrDenied, err, "%s %q: the path leaves the granted directory (through .. or a symlink that points outside it)", op, p)
	case errors.Is(err, fs.ErrNotExist):
		return wrapErr(KindFiles, ErrNotFound, err, "%s %q: no such file or directory", op, p)
	case errors.Is(err, syscall.ENOTDIR):
		return wrapErr(KindFiles, ErrNotFound, err, "%s %q: a component of the path is not a directory", op, p)
	case errors.Is(err, fs.ErrPermission):
		return wrapErr(KindFiles, ErrDenied, err, "%s %q: the host's file permissions do not allow it", op, p)
	case errors.Is(err, syscall.ELOOP):
		return wrapErr(KindFiles, ErrInvalidRequest, err, "%s %q: too many levels of symbolic links", op, p)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return wrapErr(KindFiles, ErrInvalidRequest, err, "%s %q: the path is too long", op, p)
	default:
		return wrapErr(KindFiles, ErrIO, err, "%s %q: %v", op, p, stripPathErr(err))
	}
}

// escapes reports whether err is os.Root refusing a path that leaves the root. os does not
// export that error ("path escapes from parent"), so it is matched by message; the symlink and
// ".." tests in this package fail if the message ever changes.
func escapes(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "path escapes from parent" {
			return true
		}
	}
	return false
}

// stripPathErr drops the host path from an error so the guest does not learn it.
func stripPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func (f *Files) read(p string, r filesRequest) ([]byte, error) {
	if r.Offset < 0 {
		return nil, newErr(KindFiles, ErrInvalidRequest, `read %q: field "offset" must not be negative`, r.Path)
	}
	if r.Length < 0 {
		return nil, newErr(KindFiles, ErrInvalidRequest, `read %q: field "length" must not be negative`, r.Path)
	}
	// Stat before opening, so that a FIFO or device is never opened (opening a FIFO blocks).
	fi, err := f.root.Stat(p)
	if err != nil {
		return nil, f.osErr("read", r.Path, err)
	}
	if err := regular("read", r.Path, fi); err != nil {
		return nil, err
	}
	fh, err := f.root.Open(p)
	if err != nil {
		return nil, f.osErr("read", r.Path, err)
	}
	defer fh.Close()
	if fi, err = fh.Stat(); err != nil {
		return nil, f.osErr("read", r.Path, err)
	}
	if err := regular("read", r.Path, fi); err != nil {
		return nil, err
	}
	n := r.Length
	if n == 0 || n > MaxReadChunk {
		n = MaxReadChunk
	}
	if rest := fi.Size() - r.Offset; rest < n {
		n = max(rest, 0)
	}
	buf := make([]byte, n)
	k, err := fh.ReadAt(buf, r.Offset)
	eof := r.Offset+int64(k) >= fi.Size()
	if err == io.EOF {
		eof, err = true, nil
	}
	if err != nil {
		return nil, f.osErr("read", r.Path, err)
	}
	return encodeResponse(KindFiles, struct {
		Data string `json:"data_base64"`
		EOF  bool   `json:"eof"`
	}{base64.StdEncoding.EncodeToString(buf[:k]), eof})
}

func regular(op, p string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return newErr(KindFiles, ErrInvalidRequest, "%s %q: is a directory (use op list)", op, p)
	}
	if !fi.Mode().IsRegular() {
		return newErr(KindFiles, ErrInvalidRequest, "%s %q: not a regular file", op, p)
	}
	return nil
}

func (f *Files) write(p string, r filesRequest) ([]byte, error) {
	data, err := decodeBase64(KindFiles, "data_base64", r.DataBase64)
	if err != nil {
		return nil, err
	}
	perm, exists := fs.FileMode(0o644), false
	switch fi, err := f.root.Stat(p); {
	case err == nil:
		if err := regular("write", r.Path, fi); err != nil {
			return nil, err
		}
		perm, exists = fi.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, f.osErr("write", r.Path, err)
	}
	if dir := path.Dir(p); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return nil, f.osErr("write", r.Path, err)
		}
	}
	if r.Append {
		fh, err := f.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, perm)
		if err != nil {
			return nil, f.osErr("write", r.Path, err)
		}
		_, werr := fh.Write(data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, f.osErr("write", r.Path, werr)
		}
	} else if err := f.writeAtomic(p, data, perm, exists); err != nil {
		return nil, f.osErr("write", r.Path, err)
	}
	return encodeResponse(KindFiles, struct {
		Written int `json:"written"`
	}{len(data)})
}

// writeAtomic writes data to a temporary file next to p (through the Root), syncs it and
// renames it over p, so readers see the old content or the new, never a mix.
// A replaced file keeps its permission bits; a new one gets 0644 less the umask.
func (f *Files) writeAtomic(p string, data []byte, perm fs.FileMode, keepMode bool) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	base := path.Base(p)
	if len(base) > 100 {
		base = base[:100]
	}
	tmp := path.Join(path.Dir(p), "."+base+"."+hex.EncodeToString(rnd[:])+".wasmorch-tmp")
	fh, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	err = writeSyncClose(fh, data, perm, keepMode)
	if err == nil {
		err = f.root.Rename(tmp, p)
	}
	if err != nil {
		_ = f.root.Remove(tmp)
	}
	return err
}

func writeSyncClose(fh *os.File, data []byte, perm fs.FileMode, chmod bool) error {
	_, err := fh.Write(data)
	if err == nil && chmod {
		err = fh.Chmod(perm) // OpenFile's perm is subject to the umask
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *Files) list(p string, r filesRequest) ([]byte, error) {
	limit := r.Limit
	if limit < 0 {
		return nil, newErr(KindFiles, ErrInvalidRequest, `list %q: field "limit" must not be negative`, r.Path)
	}
	if limit == 0 || limit > MaxListEntries {
		limit = MaxListEntries
	}
	fi, err := f.root.Stat(p)
	if err != nil {
		return nil, f.osErr("list", r.Path, err)
	}
	if !fi.IsDir() {
		return nil, newErr(KindFiles, ErrInvalidRequest, "list %q: not a directory (use op stat)", r.Path)
	}
	dh, err := f.root.Open(p)
	if err != nil {
		return nil, f.osErr("list", r.Path, err)
	}
	defer dh.Close()
	des, err := dh.ReadDir(-1)
	if err != nil {
		return nil, f.osErr("list", r.Path, err)
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	entries := []fileInfo{}
	truncated := false
	for _, de := range des {
		name := de.Name()
		if name <= r.After && r.After != "" {
			continue
		}
		var info fs.FileInfo
		if de.Type()&fs.ModeSymlink != 0 {
			// Report what the link resolves to inside the root; leave out links that dangle or
			// point outside it.
			if info, err = f.root.Stat(path.Join(p, name)); err != nil {
				continue
			}
		} else if info, err = de.Info(); err != nil {
			continue // removed since ReadDir
		}
		if len(entries) == limit {
			truncated = true
			break
		}
		entries = append(entries, toInfo(name, info))
	}
	return encodeResponse(KindFiles, struct {
		Entries   []fileInfo `json:"entries"`
		Truncated bool       `json:"truncated"`
	}{entries, truncated})
}
