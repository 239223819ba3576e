package iomanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/internal/crashpoint"
)

// FileSystem stores each output as a file under a root directory:
//
//	ROOT/<asset key path>/<run id>.arrow   tables, Arrow IPC file format (readable by pyarrow, DuckDB, polars)
//	ROOT/<asset key path>/<run id>.json    JSON values
//	ROOT/<asset key path>/<run id>.bin     raw bytes
//
// Partitioned outputs add a directory level named after the partition key. Files are written to
// a temporary name in the same directory, synced and renamed, so a crash never leaves a partial
// file under a final name.
type FileSystem struct {
	root string
	mem  memory.Allocator
}

// NewFileSystem returns a filesystem IO manager rooted at dir, creating it if needed.
func NewFileSystem(dir string) (*FileSystem, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs io manager: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("fs io manager: create storage directory: %w", err)
	}
	return &FileSystem{root: abs, mem: memory.DefaultAllocator}, nil
}

// Root returns the storage directory.
func (f *FileSystem) Root() string { return f.root }

// RemoveTemporaryFiles deletes the temporary files of the given runs' writes that never
// finished: a process killed between creating one (".RUN_ID.EXT.*.tmp", beside the final file)
// and renaming it into place leaves it behind, and nothing would ever read or remove it. It
// returns how many it removed. Call it only for runs that can no longer write: the host does for
// runs it found interrupted when it opened the instance, and for a run whose worker died.
func (f *FileSystem) RemoveTemporaryFiles(runIDs ...string) (int, error) {
	if len(runIDs) == 0 {
		return 0, nil
	}
	removed := 0
	err := filepath.WalkDir(f.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !isTempName(d.Name()) {
			return nil
		}
		for _, id := range runIDs {
			if strings.HasPrefix(d.Name(), "."+id+".") {
				if err := os.Remove(path); err != nil {
					return err
				}
				removed++
				break
			}
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("fs io manager: remove temporary files: %w", err)
	}
	return removed, nil
}

// isTempName reports whether name is one of HandleOutput's temporary files.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") && strings.Count(name, ".") >= 3
}

func extension(format abi.Format) string {
	switch format {
	case abi.FormatArrow:
		return ".arrow"
	case abi.FormatJSON:
		return ".json"
	}
	return ".bin"
}

// pathFor maps an output to its final path. Asset keys and partition keys are validated
// elsewhere; the checks here are a second line so a bad key can never write outside root.
func (f *FileSystem) pathFor(out OutputContext) (string, error) {
	parts := []string{f.root}
	if out.AssetKey == "" {
		// An op's output: runs/RUN_ID/STEP_KEY/OUTPUT, each run in a directory of its own.
		for _, c := range []string{out.RunID, out.StepKey, out.OutputName} {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `/\`+"\x00") {
				return "", fmt.Errorf("fs io manager: %s cannot be a storage path", out.Describe())
			}
		}
		return filepath.Join(f.root, "runs", out.RunID, out.StepKey, out.OutputName+extension(out.Format)), nil
	}
	for _, c := range strings.Split(out.AssetKey, "/") {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `\`+"\x00") {
			return "", fmt.Errorf("fs io manager: asset key %q cannot be a storage path", out.AssetKey)
		}
		parts = append(parts, c)
	}
	if out.PartitionKey != "" {
		if strings.ContainsAny(out.PartitionKey, `/\`+"\x00") || out.PartitionKey == "." || out.PartitionKey == ".." {
			return "", fmt.Errorf("fs io manager: partition key %q of asset %q cannot be a storage path", out.PartitionKey, out.AssetKey)
		}
		parts = append(parts, out.PartitionKey)
	}
	if out.RunID == "" || strings.ContainsAny(out.RunID, `/\.`+"\x00") {
		return "", fmt.Errorf("fs io manager: run id %q cannot be a file name", out.RunID)
	}
	parts = append(parts, out.RunID+extension(out.Format))
	return filepath.Join(parts...), nil
}

// HandleOutput implements IOManager.
func (f *FileSystem) HandleOutput(ctx context.Context, out OutputContext, v Value) (string, error) {
	if v.Format != out.Format {
		return "", fmt.Errorf("fs io manager: %s: value is %s but the output is declared %s", out.Describe(), v.Format, out.Format)
	}
	final, err := f.pathFor(out)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("fs io manager: %s: %w", out.Describe(), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("fs io manager: %s: %w", out.Describe(), err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	dst := crashpoint.WriteSeeker(tmp, crashpoint.OutputMidWrite)
	switch v.Format {
	case abi.FormatArrow:
		err = writeArrowFile(ctx, dst, v.Records, f.mem)
	default:
		if v.Data == nil {
			err = errors.New("value has no data")
		} else {
			_, err = io.Copy(dst, contextReader{ctx, v.Data})
		}
	}
	if err != nil {
		return "", fmt.Errorf("fs io manager: %s: %w", out.Describe(), err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("fs io manager: %s: sync: %w", out.Describe(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("fs io manager: %s: %w", out.Describe(), err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("fs io manager: %s: %w", out.Describe(), err)
	}
	committed = true
	syncDir(filepath.Dir(final))
	return final, nil
}

// syncDir makes a rename durable; failure only weakens durability, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func writeArrowFile(ctx context.Context, w io.WriteSeeker, rr array.RecordReader, mem memory.Allocator) error {
	if rr == nil {
		return errors.New("table value has no records")
	}
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(rr.Schema()), ipc.WithAllocator(mem))
	if err != nil {
		return err
	}
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fw.Write(rr.Record()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return fw.Close()
}

// LoadInput implements IOManager.
func (f *FileSystem) LoadInput(ctx context.Context, in InputContext) (Value, error) {
	path := filepath.Clean(in.Location)
	if rel, err := filepath.Rel(f.root, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return Value{}, fmt.Errorf("fs io manager: asset %q: location %q is outside the storage directory %q", in.AssetKey, in.Location, f.root)
	}
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Value{}, fmt.Errorf("fs io manager: asset %q: %w at %s (was the storage directory cleaned?)", in.AssetKey, ErrNotFound, path)
	}
	if err != nil {
		return Value{}, fmt.Errorf("fs io manager: asset %q: %w", in.AssetKey, err)
	}
	if in.Format != abi.FormatArrow {
		return Value{Format: in.Format, Data: file}, nil
	}
	fr, err := ipc.NewFileReader(file, ipc.WithAllocator(f.mem))
	if err != nil {
		file.Close()
		return Value{}, fmt.Errorf("fs io manager: asset %q: %s is not a valid Arrow IPC file: %w", in.AssetKey, path, err)
	}
	return Value{Format: abi.FormatArrow, Records: &fileRecords{fr: fr, f: file}}, nil
}

// fileRecords adapts an Arrow IPC file reader to a RecordReader that reads one batch at a time.
type fileRecords struct {
	fr   *ipc.FileReader
	f    *os.File
	i    int
	cur  arrow.Record
	err  error
	refs int64
}

func (r *fileRecords) Retain()               { r.refs++ }
func (r *fileRecords) Schema() *arrow.Schema { return r.fr.Schema() }
func (r *fileRecords) Record() arrow.Record  { return r.cur }
func (r *fileRecords) Err() error            { return r.err }
func (r *fileRecords) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || r.i >= r.fr.NumRecords() {
		return false
	}
	rec, err := r.fr.RecordAt(r.i)
	if err != nil {
		r.err = fmt.Errorf("read batch %d of %s: %w", r.i, r.f.Name(), err)
		return false
	}
	r.i++
	r.cur = rec
	return true
}

func (r *fileRecords) Release() {
	if r.refs > 0 {
		r.refs--
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.fr != nil {
		r.fr.Close()
		r.f.Close()
		r.fr = nil
	}
}

type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ReadAllBytes reads a JSON or bytes value whole, for callers that need it in memory.
func ReadAllBytes(v Value) ([]byte, error) {
	if v.Data == nil {
		return nil, errors.New("value has no data")
	}
	var b bytes.Buffer
	_, err := io.Copy(&b, v.Data)
	return b.Bytes(), err
}
