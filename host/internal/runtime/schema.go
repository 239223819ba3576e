package runtime

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/host/internal/manifest"
)

// SchemaMismatchError is an output that does not match the Arrow schema its asset declared.
type SchemaMismatchError struct {
	Output   string
	Problems []string
}

func (e *SchemaMismatchError) Error() string {
	return fmt.Sprintf("output %q does not match its declared schema: %s", e.Output, strings.Join(e.Problems, "; "))
}

// compareSchemas lists how actual differs from declared: missing, unexpected or reordered
// columns, and columns whose type differs. Nullability is checked on the data instead
// (nonNullChecker), since a writer may mark a column nullable that holds no nulls.
func compareSchemas(declared, actual *arrow.Schema) []string {
	var problems []string
	have := map[string]arrow.Field{}
	for _, f := range actual.Fields() {
		have[f.Name] = f
	}
	want := map[string]bool{}
	for _, f := range declared.Fields() {
		want[f.Name] = true
		got, ok := have[f.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("column %q (declared %s) is missing", f.Name, manifest.TypeName(f.Type)))
			continue
		}
		if !arrow.TypeEqual(f.Type, got.Type) {
			problems = append(problems, fmt.Sprintf("column %q: declared %s, got %s", f.Name, manifest.TypeName(f.Type), manifest.TypeName(got.Type)))
		}
	}
	for _, f := range actual.Fields() {
		if !want[f.Name] {
			problems = append(problems, fmt.Sprintf("column %q (%s) is not in the declared schema", f.Name, manifest.TypeName(f.Type)))
		}
	}
	if len(problems) == 0 && len(declared.Fields()) == len(actual.Fields()) {
		for i, f := range declared.Fields() {
			if actual.Field(i).Name != f.Name {
				problems = append(problems, fmt.Sprintf("columns are in a different order: declared %s, got %s", fieldNames(declared), fieldNames(actual)))
				break
			}
		}
	}
	return problems
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, len(s.Fields()))
	for i, f := range s.Fields() {
		names[i] = fmt.Sprintf("%q", f.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// nonNullChecker fails a stream when a column declared not null holds a null.
type nonNullChecker struct {
	array.RecordReader
	output  string
	columns map[int]string // index in the actual schema -> name
	batch   int
	err     error
}

func newNonNullChecker(rr array.RecordReader, output string, declared *arrow.Schema) array.RecordReader {
	cols := map[int]string{}
	for _, f := range declared.Fields() {
		if f.Nullable {
			continue
		}
		if idx := rr.Schema().FieldIndices(f.Name); len(idx) == 1 {
			cols[idx[0]] = f.Name
		}
	}
	if len(cols) == 0 {
		return rr
	}
	return &nonNullChecker{RecordReader: rr, output: output, columns: cols}
}

func (c *nonNullChecker) Next() bool {
	if c.err != nil || !c.RecordReader.Next() {
		return false
	}
	rec := c.RecordReader.Record()
	for i, name := range c.columns {
		if n := rec.Column(i).NullN(); n > 0 {
			c.err = &SchemaMismatchError{Output: c.output, Problems: []string{
				fmt.Sprintf("column %q is declared not null, but batch %d has %d null(s)", name, c.batch, n)}}
			return false
		}
	}
	c.batch++
	return true
}

func (c *nonNullChecker) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.RecordReader.Err()
}
