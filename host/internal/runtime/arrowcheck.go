package runtime

// This file checks a guest's Arrow IPC output before and after arrow-go decodes it.
//
// arrow-go v15 trusts the lengths in a stream: it allocates a message's metadata and body by the
// lengths in its prefix and its Message table (messageReader.Message), a slice per field, child
// and custom-metadata entry by the counts in the schema (schemaFromFB, fieldFromFB,
// metadataFromFB), and each buffer by its length or, when compressed, by the uncompressed length
// written in the body (ipcSource.buffer). It reads field nodes, buffers and variadic counts by
// index without comparing the index with the vector's length, and it decodes a field nested in
// itself until the stack runs out. A few hundred bytes of guest output can therefore ask for
// terabytes, and Go's "out of memory" and stack exhaustion are fatal, recover or not.
//
// arrowChecker sits between the output's pipe and ipc.NewReader. It reads one whole message at a
// time, growing its buffer only as bytes arrive, checks its metadata against hard bounds and
// against the bytes present, and only then lets arrow-go read it. checkedRecords then checks the
// values of each decoded batch that arrow-go v15 leaves unchecked (it has no ValidateFull), before
// the IO manager or a schema check touches them.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/ipc"
)

// Bounds on what one message of a guest's Arrow output may ask of the host.
const (
	// maxArrowMetadata caps a message's metadata (its flatbuffer), whatever the output limit.
	// A record batch needs 16 bytes per column node and per buffer, so 64 MiB is about a million
	// string columns.
	maxArrowMetadata = 64 << 20
	// maxArrowNesting is how deep fields may nest, counting a top-level field as 1. arrow-go
	// refuses to load arrays nested deeper than 64 (kMaxNestingDepth), so no usable schema is
	// refused; without a bound a field that is its own child recurses until the stack runs out.
	maxArrowNesting = 64
	// maxArrowRows caps the length of every array (field node) and batch. Lengths are then small
	// enough that no size computed from them overflows, and a batch of more rows should be split.
	maxArrowRows = math.MaxInt32
	// maxDecompressionRatio caps the bytes a compressed body may decompress to, as a multiple of
	// the body. It is LZ4's own maximum (255:1, rounded up); zstd can go further, and a body that
	// does should be written uncompressed (the IO manager stores it uncompressed anyway).
	maxDecompressionRatio = 256
)

// The metadata versions arrow-go writes and reads the same way: V4 (Arrow 0.15) and V5 (1.0).
const (
	arrowMetadataV4 = 3
	arrowMetadataV5 = 4
)

// The message header types (Message.header_type).
const (
	arrowSchemaMessage     = 1
	arrowDictionaryMessage = 2
	arrowRecordMessage     = 3
)

// invalidArrowError says why a message of an Arrow output is refused. Message counts from 1,
// the schema message first.
type invalidArrowError struct {
	Message int
	Problem string
}

func (e *invalidArrowError) Error() string {
	return fmt.Sprintf("message %d: %s", e.Message, e.Problem)
}

// arrowChecker is an io.Reader that passes an Arrow IPC stream on one whole, checked message at a
// time. It never reads past the end-of-stream marker, so bytes after it stay in the pipe and the
// guest's write fails as before.
type arrowChecker struct {
	r     io.Reader
	limit int64 // the step's output limit: no message may claim more

	n      int    // the index of the message read last (1 is the schema)
	buf    []byte // the message being read, reused for the next one
	out    []byte // the checked bytes arrow-go has not read yet
	err    error  // returned once out is empty
	schema *arrow.Schema
	dicts  map[int64]arrow.DataType // dictionary id -> value type, from the schema
}

func newArrowChecker(r io.Reader, limit int64) *arrowChecker {
	return &arrowChecker{r: r, limit: limit}
}

func (c *arrowChecker) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.err = c.next()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

func (c *arrowChecker) problem(format string, args ...any) error {
	return &invalidArrowError{Message: c.n, Problem: fmt.Sprintf(format, args...)}
}

// fill appends n bytes from the stream to c.buf. It grows the buffer only as the bytes arrive
// (doubling, from 64 KiB), so a length the stream claims costs memory only once it is backed by
// bytes the guest wrote. It returns how many bytes it appended.
func (c *arrowChecker) fill(n int64) (int64, error) {
	var got int64
	for got < n {
		if len(c.buf) == cap(c.buf) {
			c.buf = slices.Grow(c.buf, int(min(max(int64(cap(c.buf)), 64<<10), n-got)))
		}
		room := c.buf[len(c.buf):cap(c.buf)]
		if int64(len(room)) > n-got {
			room = room[:n-got]
		}
		k, err := c.r.Read(room)
		c.buf = c.buf[:len(c.buf)+k]
		got += int64(k)
		if err != nil && got < n {
			return got, err
		}
	}
	return got, nil
}

// short turns the end of the stream inside a message into a problem that names what was cut.
func (c *arrowChecker) short(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return c.problem(format, args...)
	}
	return err // the pipe was closed with an error: the step failed for another reason
}

// next reads, checks and returns the next message, or the end-of-stream marker with io.EOF.
func (c *arrowChecker) next() ([]byte, error) {
	c.n++
	c.buf = c.buf[:0]
	got, err := c.fill(4)
	switch {
	case got == 0 && errors.Is(err, io.EOF):
		return nil, io.EOF // the stream ends without a marker, which arrow-go accepts
	case err != nil:
		return nil, c.short(err, "the stream ends inside the message's length prefix")
	}
	metaLen := int32(binary.LittleEndian.Uint32(c.buf))
	switch uint32(metaLen) {
	case 0: // the end-of-stream marker before Arrow 0.15
		return c.buf, io.EOF
	case 0xffffffff: // the continuation marker; the length follows
		if _, err := c.fill(4); err != nil {
			return nil, c.short(err, "the stream ends inside the message's length prefix")
		}
		metaLen = int32(binary.LittleEndian.Uint32(c.buf[4:]))
		if metaLen == 0 {
			return c.buf, io.EOF
		}
	}
	switch bound := min(maxArrowMetadata, c.limit); {
	case metaLen < 0:
		return nil, c.problem("metadata length %d is negative", metaLen)
	case int64(metaLen) > bound:
		return nil, c.problem("metadata length %d exceeds the limit of %d bytes", metaLen, bound)
	}
	start := len(c.buf)
	if got, err := c.fill(int64(metaLen)); err != nil {
		return nil, c.short(err, "metadata length %d exceeds the %d bytes that follow it", metaLen, got)
	}
	msg, err := fb(c.buf[start:]).table(fb(c.buf[start:]).u32root())
	if err != nil {
		return nil, c.problem("Message: %v", err)
	}
	version, err1 := msg.i16(4)
	headerType, err2 := msg.u8(6)
	bodyLen, err3 := msg.i64(10)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, c.problem("Message: %v", err)
	}
	switch {
	case version < arrowMetadataV4 || version > arrowMetadataV5:
		return nil, c.problem("metadata version %d is not V4 or V5 (Arrow 0.15 and later)", version+1)
	case bodyLen < 0:
		return nil, c.problem("body length %d is negative", bodyLen)
	case bodyLen > c.limit:
		return nil, c.problem("body length %d exceeds the step's output limit of %d bytes", bodyLen, c.limit)
	}
	if got, err := c.fill(bodyLen); err != nil {
		return nil, c.short(err, "body length %d exceeds the %d bytes that follow it", bodyLen, got)
	}
	meta, body := fb(c.buf[start:start+int(metaLen)]), c.buf[start+int(metaLen):]
	msg, _ = meta.table(meta.u32root()) // the same table, in the buffer as it is now
	header, err := msg.table(8)
	if err != nil {
		return nil, c.problem("Message header: %v", err)
	}
	switch {
	case headerType == arrowSchemaMessage && c.n == 1:
		err = c.checkSchema(meta, header)
	case c.n == 1:
		return nil, c.problem("the stream starts with a %s, not a schema", messageTypeName(headerType))
	case headerType == arrowRecordMessage:
		err = c.checkBatch(meta, header, body, version, "record batch", c.schema.Fields())
	case headerType == arrowDictionaryMessage:
		err = c.checkDictionary(meta, header, body)
	default:
		return nil, c.problem("a %s is not allowed here", messageTypeName(headerType))
	}
	if err != nil {
		return nil, err
	}
	return c.buf, nil
}

func messageTypeName(t uint8) string {
	switch t {
	case arrowSchemaMessage:
		return "schema message"
	case arrowDictionaryMessage:
		return "dictionary batch"
	case arrowRecordMessage:
		return "record batch"
	case 4:
		return "tensor message"
	case 5:
		return "sparse tensor message"
	}
	return fmt.Sprintf("message of header type %d", t)
}

// ---- schema ----

// schemaCheck walks a Schema table. budget is the number of metadata bytes the schema may still
// refer to: each field, metadata entry and string is charged (at most) the bytes it takes, each
// time it is reached. A writer stores each of them once, so an honest schema stays within its
// metadata; one that refers to the same field or string many times (flatbuffers allow it, and
// arrow-go would copy it each time) runs out.
type schemaCheck struct {
	m      fb
	budget int64
	dicts  []dictField
	within map[uint64]bool // the field tables being checked: the current one and its parents
}

// dictField is a dictionary-encoded field: its id and its position (child indices from the top).
type dictField struct {
	id   int64
	path []int
}

func (s *schemaCheck) charge(n int64, what string) error {
	s.budget -= n
	if s.budget < 0 {
		return fmt.Errorf("%s: the schema refers to more fields, names and metadata than its %d bytes of metadata hold (is one referred to many times?)", what, len(s.m))
	}
	return nil
}

func (c *arrowChecker) checkSchema(meta fb, schema fbTable) error {
	s := &schemaCheck{m: meta, budget: int64(len(meta)), within: map[uint64]bool{}}
	if endianness, err := schema.i16(4); err != nil {
		return c.problem("schema: %v", err)
	} else if endianness != 0 {
		return c.problem("schema: the stream is big-endian; write it little-endian, as WebAssembly is")
	}
	if err := s.keyValues(schema, 8, "schema custom metadata"); err != nil {
		return c.problem("%v", err)
	}
	n, err := schema.vectorLen(6, 4)
	if err != nil {
		return c.problem("schema fields: %v", err)
	}
	for i := range n {
		if err := s.field(schema, 6, i, []int{i}); err != nil {
			return c.problem("%v", err)
		}
	}
	// Everything arrow-go will allocate for the schema is now backed by metadata bytes: let it
	// decode the message on its own, to learn the types the batches are checked against.
	rdr, err := ipc.NewReader(bytes.NewReader(c.buf))
	if err != nil {
		return c.problem("schema: %v", err)
	}
	c.schema = rdr.Schema()
	rdr.Release()
	c.dicts = map[int64]arrow.DataType{}
	for _, d := range s.dicts {
		if dt := dictValueType(c.schema, d.path); dt != nil {
			c.dicts[d.id] = dt
		}
	}
	return nil
}

// field checks element i of the vector of fields at slot vt of table t, and its children. path
// is the field's position: its index in the schema, then its index among its parent's children
// at each level down, which errors give as "schema field 0.2.1".
func (s *schemaCheck) field(t fbTable, vt uint16, i int, path []int) error {
	if len(path) > maxArrowNesting {
		return fmt.Errorf("schema field %d: fields are nested more than %d deep (is a field its own child?)", path[0], maxArrowNesting)
	}
	what := "schema field " + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(path)), "."), "[]")
	f, err := t.vectorTable(vt, i)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if s.within[f.pos] {
		return fmt.Errorf("%s: the field contains itself", what)
	}
	s.within[f.pos] = true
	defer delete(s.within, f.pos)
	if err := s.charge(8, what); err != nil {
		return err
	}
	name, err := f.str(4)
	if err == nil {
		err = s.charge(4+int64(len(name)), what)
		what = fmt.Sprintf("%s (%q)", what, clip(name))
	}
	if err != nil {
		return fmt.Errorf("%s name: %v", what, err)
	}
	if _, err := f.u8(6); err != nil {
		return fmt.Errorf("%s nullable: %v", what, err)
	}
	if err := s.keyValues(f, 16, what+" custom metadata"); err != nil {
		return err
	}
	typeType, err := f.u8(8)
	if err != nil {
		return fmt.Errorf("%s type: %v", what, err)
	}
	if typeType == 0 || typeType > arrowLastType {
		return fmt.Errorf("%s: unknown type %d", what, typeType)
	}
	typ, err := f.table(10)
	if err == nil {
		err = s.typeTable(typ, typeType)
	}
	if err != nil {
		return fmt.Errorf("%s type: %v", what, err)
	}
	if f.has(12) {
		enc, err := f.table(12)
		var id int64
		if err == nil {
			id, err = enc.i64(4)
		}
		if err == nil {
			_, err = enc.u8(8)
		}
		if err == nil {
			var idx fbTable
			if idx, err = enc.table(6); err == nil {
				err = s.typeTable(idx, arrowTypeInt)
			}
		}
		if err != nil {
			return fmt.Errorf("%s dictionary: %v", what, err)
		}
		s.dicts = append(s.dicts, dictField{id: id, path: path})
	}
	n, err := f.vectorLen(14, 4)
	if err != nil {
		return fmt.Errorf("%s children: %v", what, err)
	}
	if err := s.charge(4, what); err != nil {
		return err
	}
	for j := range n {
		if err := s.field(f, 14, j, append(slices.Clip(path), j)); err != nil {
			return err
		}
	}
	return nil
}

// The flatbuffers Type union (Schema.fbs) as far as arrow-go v15 knows it.
const (
	arrowTypeInt           = 2
	arrowTypeFloatingPoint = 3
	arrowTypeDecimal       = 7
	arrowTypeDate          = 8
	arrowTypeTime          = 9
	arrowTypeTimestamp     = 10
	arrowTypeInterval      = 11
	arrowTypeUnion         = 14
	arrowTypeFixedSize     = 15 // FixedSizeBinary
	arrowTypeFixedSizeList = 16
	arrowTypeMap           = 17
	arrowTypeDuration      = 18
	arrowLastType          = 26 // LargeListView
)

// typeTable checks the slots arrow-go reads from a type's table.
func (s *schemaCheck) typeTable(t fbTable, typeType uint8) error {
	scalars := map[uint8][]struct {
		vt   uint16
		size int
	}{
		arrowTypeInt:           {{4, 4}, {6, 1}},
		arrowTypeFloatingPoint: {{4, 2}},
		arrowTypeDecimal:       {{4, 4}, {6, 4}, {8, 4}},
		arrowTypeDate:          {{4, 2}},
		arrowTypeTime:          {{4, 2}, {6, 4}},
		arrowTypeTimestamp:     {{4, 2}},
		arrowTypeInterval:      {{4, 2}},
		arrowTypeUnion:         {{4, 2}},
		arrowTypeFixedSize:     {{4, 4}},
		arrowTypeFixedSizeList: {{4, 4}},
		arrowTypeMap:           {{4, 1}},
		arrowTypeDuration:      {{4, 2}},
	}[typeType]
	for _, f := range scalars {
		if _, err := t.scalar(f.vt, f.size); err != nil {
			return err
		}
	}
	switch typeType {
	case arrowTypeTimestamp:
		tz, err := t.str(6)
		if err == nil {
			err = s.charge(4+int64(len(tz)), "timestamp time zone")
		}
		return err
	case arrowTypeUnion:
		n, err := t.vectorLen(6, 4)
		if err == nil {
			err = s.charge(4+4*int64(n), "union type ids")
		}
		return err
	}
	return nil
}

// keyValues checks a vector of KeyValue tables (custom metadata) at slot vt.
func (s *schemaCheck) keyValues(t fbTable, vt uint16, what string) error {
	n, err := t.vectorLen(vt, 4)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	for i := range n {
		kv, err := t.vectorTable(vt, i)
		if err == nil {
			err = s.charge(8, what)
		}
		for _, slot := range []uint16{4, 6} {
			if err != nil {
				break
			}
			var v []byte
			if v, err = kv.str(slot); err == nil {
				err = s.charge(4+int64(len(v)), what)
			}
		}
		if err != nil {
			return fmt.Errorf("%s entry %d: %v", what, i, err)
		}
	}
	return nil
}

// dictValueType returns the value type of the dictionary-encoded field at path in a decoded
// schema, where arrow-go put it.
func dictValueType(s *arrow.Schema, path []int) arrow.DataType {
	if path[0] >= s.NumFields() {
		return nil
	}
	dt := s.Field(path[0]).Type
	for _, i := range path[1:] {
		if d, ok := dt.(*arrow.DictionaryType); ok {
			dt = d.ValueType
		}
		if e, ok := dt.(arrow.ExtensionType); ok {
			dt = e.StorageType()
		}
		n, ok := dt.(arrow.NestedType)
		if !ok || i >= len(n.Fields()) {
			return nil
		}
		dt = n.Fields()[i].Type
	}
	if e, ok := dt.(arrow.ExtensionType); ok {
		dt = e.StorageType()
	}
	if d, ok := dt.(*arrow.DictionaryType); ok {
		return d.ValueType
	}
	return nil
}

// clip shortens a guest-chosen name for an error message.
func clip(s []byte) string {
	if len(s) > 64 {
		return string(s[:64]) + "..."
	}
	return string(s)
}

// ---- record and dictionary batches ----

func (c *arrowChecker) checkDictionary(meta fb, dict fbTable, body []byte) error {
	id, err := dict.i64(4)
	if err == nil {
		_, err = dict.u8(8)
	}
	var data fbTable
	if err == nil {
		data, err = dict.table(6)
	}
	if err != nil {
		return c.problem("dictionary batch: %v", err)
	}
	dt, ok := c.dicts[id]
	if !ok {
		return c.problem("dictionary batch: the schema has no dictionary with id %d", id)
	}
	// arrow-go loads a dictionary with metadata version 0 whatever the message says
	// (readDictionary), so a union's validity bitmap is read as before V5.
	where := fmt.Sprintf("dictionary batch (id %d)", id)
	return c.checkBatch(meta, data, body, 0, where, []arrow.Field{{Name: "values", Type: dt}})
}

// batchCheck follows arrow-go's loader (arrayLoaderContext.loadArray) through a RecordBatch
// table: it takes field nodes, buffers and variadic counts in the same order, so every index
// arrow-go will read is known to be inside its vector.
type batchCheck struct {
	c                 *arrowChecker
	rb                fbTable
	version           int16
	where             string
	nodes, buffers    int
	variadic          int
	inode, ibuf, ivar int
}

// arrowNode is a FieldNode: the length and null count of one array.
type arrowNode struct{ length, nulls int64 }

func (c *arrowChecker) checkBatch(meta fb, rb fbTable, body []byte, version int16, where string, fields []arrow.Field) error {
	length, err := rb.i64(4)
	if err != nil {
		return c.problem("%s length: %v", where, err)
	}
	if length < 0 || length > maxArrowRows {
		return c.problem("%s length %d is outside 0..%d", where, length, maxArrowRows)
	}
	b := &batchCheck{c: c, rb: rb, version: version, where: where}
	if b.nodes, err = rb.vectorLen(6, 16); err != nil {
		return c.problem("%s nodes: %v", where, err)
	}
	if b.buffers, err = rb.vectorLen(8, 16); err != nil {
		return c.problem("%s buffers: %v", where, err)
	}
	if b.variadic, err = rb.vectorLen(12, 8); err != nil {
		return c.problem("%s variadic buffer counts: %v", where, err)
	}
	compressed := rb.has(10)
	if compressed {
		comp, err := rb.table(10)
		var codec, method uint8
		if err == nil {
			codec, err = comp.u8(4)
		}
		if err == nil {
			method, err = comp.u8(6)
		}
		switch {
		case err != nil:
			return c.problem("%s compression: %v", where, err)
		case codec > 1:
			return c.problem("%s compression: unknown codec %d (LZ4_FRAME is 0, ZSTD is 1)", where, codec)
		case method != 0:
			return c.problem("%s compression: unknown method %d (only BUFFER, 0)", where, method)
		}
	}
	// Every buffer must lie inside the body. Compressed, each starts with its uncompressed length
	// (or -1: stored as is), which arrow-go allocates before it decompresses.
	var decompressed int64
	bound := min(c.limit, maxDecompressionRatio*int64(len(body)))
	for i := range b.buffers {
		at, _ := rb.vectorElem(8, i, 16)
		offset := int64(binary.LittleEndian.Uint64(meta[at:]))
		size := int64(binary.LittleEndian.Uint64(meta[at+8:]))
		switch {
		case offset < 0 || offset > int64(len(body)):
			return c.problem("%s buffer %d: offset %d is outside the %d-byte body", where, i, offset, len(body))
		case size < 0 || size > int64(len(body))-offset:
			return c.problem("%s buffer %d: length %d at offset %d runs past the end of the %d-byte body", where, i, size, offset, len(body))
		case !compressed || size == 0:
			continue
		case size < 8:
			return c.problem("%s buffer %d: a compressed buffer of %d bytes has no room for its 8-byte uncompressed length", where, i, size)
		}
		u := int64(binary.LittleEndian.Uint64(body[offset:]))
		switch {
		case u == -1:
			continue
		case u < 0:
			return c.problem("%s buffer %d: uncompressed length %d is negative", where, i, u)
		case u > bound-decompressed:
			return c.problem("%s buffer %d: uncompressed length %d exceeds what is left of %d bytes (%d times the %d-byte body, at most the step's output limit)", where, i, u, bound, maxDecompressionRatio, len(body))
		}
		decompressed += u
	}
	for _, f := range fields {
		n, err := b.array(f.Type, 1, f.Name)
		if err != nil {
			return err
		}
		if n.length != length {
			return c.problem("%s: column %q has %d rows, the batch %d", where, f.Name, n.length, length)
		}
	}
	return nil
}

func (b *batchCheck) problem(column, format string, args ...any) error {
	return b.c.problem("%s: column %q: %s", b.where, column, fmt.Sprintf(format, args...))
}

func (b *batchCheck) node(column string) (arrowNode, error) {
	if b.inode >= b.nodes {
		return arrowNode{}, b.problem(column, "the batch has %d field nodes, and its schema needs more", b.nodes)
	}
	at, _ := b.rb.vectorElem(6, b.inode, 16)
	b.inode++
	n := arrowNode{length: int64(binary.LittleEndian.Uint64(b.rb.b[at:])), nulls: int64(binary.LittleEndian.Uint64(b.rb.b[at+8:]))}
	switch {
	case n.length < 0 || n.length > maxArrowRows:
		return n, b.problem(column, "length %d is outside 0..%d", n.length, maxArrowRows)
	case n.nulls < 0 || n.nulls > n.length:
		return n, b.problem(column, "null count %d is outside 0..%d (its length)", n.nulls, n.length)
	}
	return n, nil
}

func (b *batchCheck) buffer(column string) error {
	if b.ibuf >= b.buffers {
		return b.problem(column, "the batch has %d buffers, and its schema needs more", b.buffers)
	}
	b.ibuf++
	return nil
}

// common takes an array's node and, if its type has one, its validity bitmap, which arrow-go
// skips without reading when the null count is 0 (loadCommon).
func (b *batchCheck) common(id arrow.Type, column string) (arrowNode, bool, error) {
	n, err := b.node(column)
	if err != nil {
		return n, false, err
	}
	if !hasValidityBitmap(id, b.version) {
		return n, false, nil
	}
	if n.nulls == 0 {
		b.ibuf++
		return n, false, nil
	}
	return n, true, b.buffer(column)
}

// hasValidityBitmap is arrow-go's internal.HasValidityBitmap.
func hasValidityBitmap(id arrow.Type, version int16) bool {
	if version < arrowMetadataV5 {
		return id != arrow.NULL
	}
	switch id {
	case arrow.NULL, arrow.DENSE_UNION, arrow.SPARSE_UNION, arrow.RUN_END_ENCODED:
		return false
	}
	return true
}

func (b *batchCheck) buffers_(n int, column string) error {
	for range n {
		if err := b.buffer(column); err != nil {
			return err
		}
	}
	return nil
}

// array mirrors arrayLoaderContext.loadArray for one array of type dt and its children.
func (b *batchCheck) array(dt arrow.DataType, depth int, column string) (arrowNode, error) {
	if depth > maxArrowNesting {
		return arrowNode{}, b.problem(column, "arrays are nested more than %d deep", maxArrowNesting)
	}
	children := func(fields []arrow.Field) error {
		for _, f := range fields {
			if _, err := b.array(f.Type, depth+1, column+"."+f.Name); err != nil {
				return err
			}
		}
		return nil
	}
	switch dt := dt.(type) {
	case *arrow.NullType:
		return b.node(column)

	case *arrow.DictionaryType:
		return b.array(dt.IndexType, depth, column)

	case *arrow.BooleanType,
		*arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.Decimal128Type, *arrow.Decimal256Type,
		*arrow.Time32Type, *arrow.Time64Type,
		*arrow.TimestampType,
		*arrow.Date32Type, *arrow.Date64Type,
		*arrow.MonthIntervalType, *arrow.DayTimeIntervalType, *arrow.MonthDayNanoIntervalType,
		*arrow.DurationType:
		n, _, err := b.common(dt.ID(), column)
		if err != nil {
			return n, err
		}
		if n.length == 0 {
			b.ibuf++
			return n, nil
		}
		return n, b.buffer(column)

	case *arrow.BinaryType, *arrow.StringType, *arrow.LargeStringType, *arrow.LargeBinaryType:
		n, _, err := b.common(dt.ID(), column)
		if err != nil {
			return n, err
		}
		return n, b.buffers_(2, column)

	case arrow.BinaryViewDataType:
		if b.ivar >= b.variadic {
			return arrowNode{}, b.problem(column, "the batch has %d variadic buffer counts, and its schema needs more", b.variadic)
		}
		at, _ := b.rb.vectorElem(12, b.ivar, 8)
		b.ivar++
		count := int64(binary.LittleEndian.Uint64(b.rb.b[at:]))
		if count < 0 || count > int64(b.buffers) {
			return arrowNode{}, b.problem(column, "variadic buffer count %d is outside 0..%d (the buffers in the batch)", count, b.buffers)
		}
		n, _, err := b.common(dt.ID(), column)
		if err != nil {
			return n, err
		}
		return n, b.buffers_(1+int(count), column)

	case *arrow.FixedSizeBinaryType:
		n, _, err := b.common(dt.ID(), column)
		if err != nil {
			return n, err
		}
		return n, b.buffer(column)

	case *arrow.ListType, *arrow.LargeListType, *arrow.MapType:
		n, _, err := b.common(dt.ID(), column)
		if err == nil {
			err = b.buffer(column)
		}
		if err == nil {
			err = children(dt.(arrow.NestedType).Fields())
		}
		return n, err

	case *arrow.ListViewType, *arrow.LargeListViewType:
		n, _, err := b.common(dt.ID(), column)
		if err == nil {
			err = b.buffers_(2, column)
		}
		if err == nil {
			err = children(dt.(arrow.NestedType).Fields())
		}
		return n, err

	case *arrow.FixedSizeListType, *arrow.StructType:
		n, _, err := b.common(dt.ID(), column)
		if err == nil {
			err = children(dt.(arrow.NestedType).Fields())
		}
		return n, err

	case arrow.ExtensionType:
		return b.array(dt.StorageType(), depth, column)

	case *arrow.RunEndEncodedType:
		n, _, err := b.common(dt.ID(), column)
		if err == nil {
			err = children(dt.Fields())
		}
		return n, err

	case arrow.UnionType:
		n, bitmap, err := b.common(dt.ID(), column)
		if err != nil {
			return n, err
		}
		if bitmap {
			return n, b.problem(column, "a union with a validity bitmap (before Arrow 1.0) cannot be read")
		}
		bufs := 1
		if dt.Mode() == arrow.DenseMode {
			bufs = 2
		}
		if n.length == 0 {
			b.ibuf += bufs
		} else if err := b.buffers_(bufs, column); err != nil {
			return n, err
		}
		return n, children(dt.Fields())
	}
	return arrowNode{}, b.problem(column, "arrow-go cannot read arrays of type %s", dt)
}

// ---- decoded values ----

// checkedRecords checks the values of each batch arrow-go decodes, as Arrow's ValidateFull would,
// before anything reads them: arrow-go v15 checks only some sizes (and, of offsets, only the
// last), and a bad offset in the middle of a column makes a reader of its values panic or read
// another row's bytes later, in the IO manager's writer or in a downstream step.
//
// The check runs on the decoded arrays rather than on the message body because a compressed body
// is only readable after arrow-go decompresses it; the arrays are what is stored, whichever way
// they arrived. It is safe to run them through arrow-go first: arrowChecker has bounded what the
// decoding allocates, and arrow-go's reader recovers its own panics.
type checkedRecords struct {
	array.RecordReader
	chk   *arrowChecker
	err   error
	dicts map[arrow.ArrayData]bool // dictionaries already checked
}

func newCheckedRecords(rr array.RecordReader, chk *arrowChecker) *checkedRecords {
	return &checkedRecords{RecordReader: rr, chk: chk, dicts: map[arrow.ArrayData]bool{}}
}

func (r *checkedRecords) Next() bool {
	if r.err != nil || !r.RecordReader.Next() {
		return false
	}
	rec := r.RecordReader.Record()
	for i, col := range rec.Columns() {
		f := rec.Schema().Field(i)
		if p := r.check(f.Type, col.Data(), 1); p != "" {
			// arrow-go returns a batch as soon as it has read its message, so the message read
			// last is the batch's.
			r.err = &invalidArrowError{Message: r.chk.n, Problem: fmt.Sprintf("record batch: column %q%s", f.Name, p)}
			return false
		}
	}
	return true
}

func (r *checkedRecords) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.RecordReader.Err()
}

func bufferBytes(d arrow.ArrayData, i int) []byte {
	if bufs := d.Buffers(); i < len(bufs) && bufs[i] != nil {
		return bufs[i].Bytes()
	}
	return nil
}

// check returns "" if the array is sound, or ": problem" (or ".child: problem").
func (r *checkedRecords) check(dt arrow.DataType, d arrow.ArrayData, depth int) string {
	if depth > maxArrowNesting+1 {
		return fmt.Sprintf(": arrays are nested more than %d deep", maxArrowNesting)
	}
	off, n := d.Offset(), d.Len()
	if off < 0 || n < 0 || n > maxArrowRows {
		return fmt.Sprintf(": offset %d, length %d", off, n)
	}
	end := off + n
	nulls := d.NullN()
	if nulls < 0 || nulls > n {
		return fmt.Sprintf(": null count %d is outside 0..%d", nulls, n)
	}
	if hasValidityBitmap(dt.ID(), arrowMetadataV5) && nulls > 0 {
		bitmap := bufferBytes(d, 0)
		if int64(len(bitmap))*8 < int64(end) {
			return fmt.Sprintf(": the validity bitmap has %d bytes, %d rows need %d", len(bitmap), end, bitutil.BytesForBits(int64(end)))
		}
		if valid := bitutil.CountSetBits(bitmap, off, n); n-valid != nulls {
			return fmt.Sprintf(": null count %d, but the validity bitmap has %d nulls", nulls, n-valid)
		}
	}
	bitmap := bufferBytes(d, 0)
	valid := func(i int) bool { return nulls == 0 || bitutil.BitIsSet(bitmap, i) }
	childCheck := func(fields []arrow.Field, kids []arrow.ArrayData, need int) string {
		if len(kids) != len(fields) {
			return fmt.Sprintf(": %d child arrays for %d child fields", len(kids), len(fields))
		}
		for i, f := range fields {
			if need >= 0 && kids[i].Len() < need {
				return fmt.Sprintf(".%s: %d rows, the parent needs %d", f.Name, kids[i].Len(), need)
			}
			if p := r.check(f.Type, kids[i], depth+1); p != "" {
				return "." + f.Name + p
			}
		}
		return ""
	}

	switch dt := dt.(type) {
	case *arrow.NullType:
		return ""

	case *arrow.DictionaryType:
		if p := fixedWidth(d, dt.IndexType.(arrow.FixedWidthDataType).BitWidth(), end); p != "" {
			return p
		}
		dict := d.Dictionary()
		if dict == nil {
			return ": the dictionary is missing"
		}
		if !r.dicts[dict] {
			if p := r.check(dt.ValueType, dict, depth+1); p != "" {
				return ": dictionary" + p
			}
			if len(r.dicts) > 64 {
				clear(r.dicts)
			}
			r.dicts[dict] = true
		}
		return dictionaryIndices(dt.IndexType, bufferBytes(d, 1), off, end, dict.Len(), valid)

	case arrow.ExtensionType:
		return r.check(dt.StorageType(), d, depth)

	case *arrow.FixedSizeBinaryType:
		if dt.ByteWidth < 0 {
			return fmt.Sprintf(": byte width %d is negative", dt.ByteWidth)
		}
		return fixedWidth(d, dt.BitWidth(), end)

	case arrow.FixedWidthDataType:
		return fixedWidth(d, dt.BitWidth(), end)

	case *arrow.StringType, *arrow.BinaryType:
		return checkOffsets(arrow.Int32Traits.CastFromBytes(bufferBytes(d, 1)), off, n, int64(len(bufferBytes(d, 2))), "the data buffer", "bytes")

	case *arrow.LargeStringType, *arrow.LargeBinaryType:
		return checkOffsets(arrow.Int64Traits.CastFromBytes(bufferBytes(d, 1)), off, n, int64(len(bufferBytes(d, 2))), "the data buffer", "bytes")

	case arrow.BinaryViewDataType:
		return checkViews(d, off, end, valid)

	case *arrow.ListType, *arrow.MapType:
		kids := d.Children()
		if len(kids) != 1 {
			return fmt.Sprintf(": %d child arrays, want 1", len(kids))
		}
		if p := checkOffsets(arrow.Int32Traits.CastFromBytes(bufferBytes(d, 1)), off, n, int64(kids[0].Len()), "the child array", "rows"); p != "" {
			return p
		}
		return childCheck(dt.(arrow.NestedType).Fields(), kids, -1)

	case *arrow.LargeListType:
		kids := d.Children()
		if len(kids) != 1 {
			return fmt.Sprintf(": %d child arrays, want 1", len(kids))
		}
		if p := checkOffsets(arrow.Int64Traits.CastFromBytes(bufferBytes(d, 1)), off, n, int64(kids[0].Len()), "the child array", "rows"); p != "" {
			return p
		}
		return childCheck(dt.Fields(), kids, -1)

	case *arrow.ListViewType, *arrow.LargeListViewType:
		kids := d.Children()
		if len(kids) != 1 {
			return fmt.Sprintf(": %d child arrays, want 1", len(kids))
		}
		var p string
		if _, large := dt.(*arrow.LargeListViewType); large {
			p = checkListViews(arrow.Int64Traits.CastFromBytes(bufferBytes(d, 1)), arrow.Int64Traits.CastFromBytes(bufferBytes(d, 2)), off, end, int64(kids[0].Len()), valid)
		} else {
			p = checkListViews(arrow.Int32Traits.CastFromBytes(bufferBytes(d, 1)), arrow.Int32Traits.CastFromBytes(bufferBytes(d, 2)), off, end, int64(kids[0].Len()), valid)
		}
		if p != "" {
			return p
		}
		return childCheck(dt.(arrow.NestedType).Fields(), kids, -1)

	case *arrow.FixedSizeListType:
		if dt.Len() < 0 {
			return fmt.Sprintf(": list size %d is negative", dt.Len())
		}
		return childCheck(dt.Fields(), d.Children(), end*int(dt.Len()))

	case *arrow.StructType:
		return childCheck(dt.Fields(), d.Children(), end)

	case *arrow.RunEndEncodedType:
		if nulls != 0 {
			return fmt.Sprintf(": null count %d, but a run-end encoded array has no nulls of its own", nulls)
		}
		kids := d.Children()
		if p := childCheck(dt.Fields(), kids, -1); p != "" {
			return p
		}
		return checkRunEnds(kids[0], kids[1].Len(), end)

	case arrow.UnionType:
		kids := d.Children()
		need := -1
		if dt.Mode() == arrow.SparseMode {
			need = end
		}
		if p := childCheck(dt.Fields(), kids, need); p != "" {
			return p
		}
		return checkUnion(dt, d, kids, off, end)
	}
	return fmt.Sprintf(": arrays of type %s are not checked, so they are refused", dt)
}

func fixedWidth(d arrow.ArrayData, bits, end int) string {
	need := (int64(end)*int64(bits) + 7) / 8
	if have := int64(len(bufferBytes(d, 1))); end > 0 && have < need {
		return fmt.Sprintf(": the values buffer has %d bytes, %d rows need %d", have, end, need)
	}
	return ""
}

// checkOffsets checks that offsets[off..off+n] exist, start at or above 0, never decrease and end
// within limit (the data buffer's bytes, or the child's rows).
func checkOffsets[T int32 | int64](offsets []T, off, n int, limit int64, target, unit string) string {
	if n == 0 {
		return ""
	}
	if len(offsets) < off+n+1 {
		return fmt.Sprintf(": the offsets buffer has %d offsets, %d rows need %d", len(offsets), off+n, off+n+1)
	}
	if offsets[off] < 0 {
		return fmt.Sprintf(": offset %d is %d, negative", off, offsets[off])
	}
	for i := off; i < off+n; i++ {
		if offsets[i+1] < offsets[i] {
			return fmt.Sprintf(": offset %d is %d, less than offset %d (%d)", i+1, offsets[i+1], i, offsets[i])
		}
	}
	if last := int64(offsets[off+n]); last > limit {
		return fmt.Sprintf(": offset %d is %d, beyond the %d %s of %s", off+n, last, limit, unit, target)
	}
	return ""
}

func checkListViews[T int32 | int64](offsets, sizes []T, off, end int, limit int64, valid func(int) bool) string {
	if end > 0 && (len(offsets) < end || len(sizes) < end) {
		return fmt.Sprintf(": %d offsets and %d sizes, %d rows need %d of each", len(offsets), len(sizes), end, end)
	}
	for i := off; i < end; i++ {
		if !valid(i) {
			continue
		}
		if o, s := int64(offsets[i]), int64(sizes[i]); o < 0 || s < 0 || o > limit || s > limit-o {
			return fmt.Sprintf(": row %d: offset %d and size %d are not within the %d rows of the child array", i, o, s, limit)
		}
	}
	return ""
}

// checkViews checks the 16-byte views of a string or binary view array: each non-inline view must
// lie within the variadic buffer it names.
func checkViews(d arrow.ArrayData, off, end int, valid func(int) bool) string {
	views := bufferBytes(d, 1)
	if len(views) < 16*end {
		return fmt.Sprintf(": the views buffer has %d bytes, %d rows need %d", len(views), end, 16*end)
	}
	data := d.Buffers()[min(2, len(d.Buffers())):]
	for i := off; i < end; i++ {
		if !valid(i) {
			continue
		}
		v := views[16*i:]
		size := int64(int32(binary.LittleEndian.Uint32(v)))
		if size < 0 {
			return fmt.Sprintf(": row %d: view size %d is negative", i, size)
		}
		if size <= 12 {
			continue
		}
		idx, at := int32(binary.LittleEndian.Uint32(v[8:])), int64(int32(binary.LittleEndian.Uint32(v[12:])))
		if idx < 0 || int(idx) >= len(data) || data[idx] == nil {
			return fmt.Sprintf(": row %d: the view names buffer %d of %d", i, idx, len(data))
		}
		if at < 0 || at+size > int64(data[idx].Len()) {
			return fmt.Sprintf(": row %d: bytes %d..%d are outside the %d bytes of buffer %d", i, at, at+size, data[idx].Len(), idx)
		}
	}
	return ""
}

func dictionaryIndices(indexType arrow.DataType, buf []byte, off, end, dictLen int, valid func(int) bool) string {
	bits := indexType.(arrow.FixedWidthDataType).BitWidth()
	signed := strings.HasPrefix(indexType.Name(), "int")
	for i := off; i < end; i++ {
		if !valid(i) {
			continue
		}
		var v int64
		switch bits {
		case 8:
			v = int64(buf[i])
			if signed {
				v = int64(int8(buf[i]))
			}
		case 16:
			v = int64(binary.LittleEndian.Uint16(buf[2*i:]))
			if signed {
				v = int64(int16(v))
			}
		case 32:
			v = int64(binary.LittleEndian.Uint32(buf[4*i:]))
			if signed {
				v = int64(int32(v))
			}
		default:
			v = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
		if v < 0 || v >= int64(dictLen) {
			return fmt.Sprintf(": row %d: dictionary index %d is outside the %d values of the dictionary", i, v, dictLen)
		}
	}
	return ""
}

// checkRunEnds checks a run-end encoded array: its run ends are positive, strictly increasing,
// without nulls, and cover the array; there are as many values as runs.
func checkRunEnds(runEnds arrow.ArrayData, values, end int) string {
	if runEnds.NullN() != 0 {
		return ".run_ends: run ends cannot be null"
	}
	n := runEnds.Len()
	if values < n {
		return fmt.Sprintf(".values: %d values for %d runs", values, n)
	}
	if end > 0 && n == 0 {
		return fmt.Sprintf(": %d rows but no runs", end)
	}
	buf := bufferBytes(runEnds, 1)
	width := runEnds.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	prev := int64(0)
	for i := runEnds.Offset(); i < runEnds.Offset()+n; i++ {
		var v int64
		switch width {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(buf[2*i:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(buf[4*i:])))
		default:
			v = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
		if v <= prev {
			return fmt.Sprintf(".run_ends: run end %d (%d) is not above the one before (%d)", i, v, prev)
		}
		prev = v
	}
	if n > 0 && prev < int64(end) {
		return fmt.Sprintf(".run_ends: the last run ends at %d, before the array's %d rows", prev, end)
	}
	return ""
}

// checkUnion checks that every type code names a child and, for a dense union, that every offset
// is a row of that child.
func checkUnion(dt arrow.UnionType, d arrow.ArrayData, kids []arrow.ArrayData, off, end int) string {
	codes := bufferBytes(d, 1)
	if len(codes) < end {
		return fmt.Sprintf(": the type codes buffer has %d bytes, %d rows need %d", len(codes), end, end)
	}
	ids := dt.ChildIDs()
	var offsets []int32
	if dt.Mode() == arrow.DenseMode {
		offsets = arrow.Int32Traits.CastFromBytes(bufferBytes(d, 2))
		if len(offsets) < end {
			return fmt.Sprintf(": the offsets buffer has %d offsets, %d rows need %d", len(offsets), end, end)
		}
	}
	for i := off; i < end; i++ {
		code := int8(codes[i])
		if code < 0 || int(code) >= len(ids) || ids[code] == arrow.InvalidUnionChildID {
			return fmt.Sprintf(": row %d: type code %d is not one of the union's", i, code)
		}
		if offsets != nil {
			if o, kid := offsets[i], kids[ids[code]]; o < 0 || int(o) >= kid.Len() {
				return fmt.Sprintf(": row %d: offset %d is outside the %d rows of child %d", i, o, kid.Len(), ids[code])
			}
		}
	}
	return ""
}

// ---- flatbuffers ----

// fb is one message's metadata, a flatbuffer, read exactly the way the Go flatbuffers runtime
// that arrow-go uses reads it (little-endian, uint32 offsets relative to where they are stored,
// wrapping around 2^32 as the runtime's do, so an offset can point backwards), except that every
// position is checked against the buffer before it is read. arrow-go's own accessors are in an
// internal package, and they panic, or read other bytes, where these return an error.
type fb []byte

// fbTable is a table at pos with its vtable at vt, vtLen bytes long.
type fbTable struct {
	b     fb
	pos   uint64
	vt    uint64
	vtLen uint16
}

func (b fb) u32root() uint64 {
	if len(b) < 4 {
		return uint64(len(b)) // refused by table
	}
	return uint64(binary.LittleEndian.Uint32(b))
}

func (b fb) table(pos uint64) (fbTable, error) {
	if pos+4 > uint64(len(b)) {
		return fbTable{}, fmt.Errorf("a table at %d is outside the %d-byte metadata", pos, len(b))
	}
	vt := uint64(uint32(int32(pos) - int32(binary.LittleEndian.Uint32(b[pos:]))))
	if vt+2 > uint64(len(b)) {
		return fbTable{}, fmt.Errorf("the vtable of the table at %d is at %d, outside the %d-byte metadata", pos, vt, len(b))
	}
	return fbTable{b: b, pos: pos, vt: vt, vtLen: binary.LittleEndian.Uint16(b[vt:])}, nil
}

// slot returns where field vt (4 + 2*index) of the table is stored, or 0 if it is absent.
func (t fbTable) slot(vt uint16) (uint64, error) {
	if vt >= t.vtLen {
		return 0, nil
	}
	if t.vt+uint64(vt)+2 > uint64(len(t.b)) {
		return 0, fmt.Errorf("the vtable at %d runs past the end of the %d-byte metadata", t.vt, len(t.b))
	}
	o := binary.LittleEndian.Uint16(t.b[t.vt+uint64(vt):])
	if o == 0 {
		return 0, nil
	}
	return t.pos + uint64(o), nil
}

func (t fbTable) has(vt uint16) bool {
	at, err := t.slot(vt)
	return err != nil || at != 0
}

// scalar returns the size-byte field vt, or 0 if absent.
func (t fbTable) scalar(vt uint16, size int) (uint64, error) {
	at, err := t.slot(vt)
	if err != nil || at == 0 {
		return 0, err
	}
	if at+uint64(size) > uint64(len(t.b)) {
		return 0, fmt.Errorf("a field at %d runs past the end of the %d-byte metadata", at, len(t.b))
	}
	switch size {
	case 1:
		return uint64(t.b[at]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(t.b[at:])), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(t.b[at:])), nil
	}
	return binary.LittleEndian.Uint64(t.b[at:]), nil
}

func (t fbTable) u8(vt uint16) (uint8, error) {
	v, err := t.scalar(vt, 1)
	return uint8(v), err
}

func (t fbTable) i16(vt uint16) (int16, error) {
	v, err := t.scalar(vt, 2)
	return int16(v), err
}

func (t fbTable) i64(vt uint16) (int64, error) {
	v, err := t.scalar(vt, 8)
	return int64(v), err
}

// ref follows the offset stored in field vt (a table, vector, string or union); ok is false if the
// field is absent.
func (t fbTable) ref(vt uint16) (target uint64, ok bool, err error) {
	at, err := t.slot(vt)
	if err != nil || at == 0 {
		return 0, false, err
	}
	if at+4 > uint64(len(t.b)) {
		return 0, false, fmt.Errorf("an offset at %d runs past the end of the %d-byte metadata", at, len(t.b))
	}
	return uint64(uint32(at) + binary.LittleEndian.Uint32(t.b[at:])), true, nil
}

// table returns the table field vt refers to, which must be present.
func (t fbTable) table(vt uint16) (fbTable, error) {
	at, ok, err := t.ref(vt)
	switch {
	case err != nil:
		return fbTable{}, err
	case !ok:
		return fbTable{}, errors.New("missing")
	}
	return t.b.table(at)
}

// vector returns the start and length of the vector field vt refers to (empty if absent),
// checking that its elements of size bytes lie within the metadata.
func (t fbTable) vector(vt uint16, size int) (start uint64, n int, err error) {
	at, ok, err := t.ref(vt)
	if err != nil || !ok {
		return 0, 0, err
	}
	if at+4 > uint64(len(t.b)) {
		return 0, 0, fmt.Errorf("a vector at %d is outside the %d-byte metadata", at, len(t.b))
	}
	count := uint64(binary.LittleEndian.Uint32(t.b[at:]))
	if count*uint64(size) > uint64(len(t.b))-at-4 {
		return 0, 0, fmt.Errorf("count %d does not fit in the %d-byte metadata (%d entries of %d bytes at %d)", count, len(t.b), count, size, at+4)
	}
	return at + 4, int(count), nil
}

func (t fbTable) vectorLen(vt uint16, size int) (int, error) {
	_, n, err := t.vector(vt, size)
	return n, err
}

// vectorElem returns where element i of the vector field vt is stored; the caller has checked i.
func (t fbTable) vectorElem(vt uint16, i, size int) (uint64, error) {
	start, _, err := t.vector(vt, size)
	return start + uint64(i*size), err
}

// vectorTable returns the table element i of the vector of tables field vt refers to.
func (t fbTable) vectorTable(vt uint16, i int) (fbTable, error) {
	at, err := t.vectorElem(vt, i, 4)
	if err != nil {
		return fbTable{}, err
	}
	return t.b.table(uint64(uint32(at) + binary.LittleEndian.Uint32(t.b[at:])))
}

// str returns the string (or byte vector) field vt refers to; nil if absent.
func (t fbTable) str(vt uint16) ([]byte, error) {
	start, n, err := t.vector(vt, 1)
	if err != nil || n == 0 {
		return nil, err
	}
	return t.b[start : start+uint64(n)], nil
}
