package wasmopt

import "fmt"

const sectionMemory = 5

// PageSize is the WebAssembly memory page size.
const PageSize = 65536

// ExtractDataImage takes a module's active data segments out of it and returns them laid out as
// the initial contents of its memory: image[i] is the byte at address i after instantiation has
// applied every segment to the zeroed memory, up to the end of the last segment. The stripped
// module has no data section; instantiated over a memory that already holds image, it starts in
// exactly the state the original would.
//
// The host maps image copy-on-write into each new instance instead of letting the runtime copy
// every segment on every instantiation (4 MB for a Go guest; see host/internal/runtime).
//
// # Notes
//
//   - ok is false, and the module must be used as it is, unless: every segment is active, on
//     memory 0, with an i32.const offset; the module defines its one memory (flags 0 or 1, not
//     shared, not 64-bit); there is no DataCount section; and every segment ends within the
//     memory's minimum size, so no segment could trap at instantiation.
//   - Overlapping segments are applied in order, so later bytes win as they would.
//
// # Errors
//
// ErrMalformed (wrapped, with the byte offset) when the section structure, the memory section or
// the data section cannot be read.
func ExtractDataImage(wasm []byte) (stripped, image []byte, ok bool, err error) {
	secs, err := readSections(wasm)
	if err != nil {
		return nil, nil, false, err
	}
	if secs.memoryBody < 0 {
		return nil, nil, false, nil
	}
	pages, ok, err := readOneMemory(wasm[secs.memoryBody:secs.memoryEnd], secs.memoryBody)
	if err != nil || !ok || secs.dataCount || secs.dataStart < 0 {
		return nil, nil, false, err
	}
	minBytes := uint64(pages) * PageSize
	dataStart, dataBody, dataEnd := secs.dataStart, secs.dataBody, secs.dataEnd
	segs, ok, err := readActiveSegments(wasm[dataBody:dataEnd], dataBody)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	var end uint64
	for _, s := range segs {
		end = max(end, uint64(s.offset)+uint64(len(s.data)))
	}
	if end > minBytes {
		return nil, nil, false, nil // instantiation would trap; let it
	}
	image = make([]byte, end)
	for _, s := range segs {
		copy(image[s.offset:], s.data)
	}
	stripped = make([]byte, 0, len(wasm)-(dataEnd-dataStart))
	stripped = append(stripped, wasm[:dataStart]...)
	stripped = append(stripped, wasm[dataEnd:]...)
	return stripped, image, true, nil
}

// readOneMemory reads a memory section that defines exactly one plain 32-bit memory and returns
// its minimum in pages; ok is false for any other shape.
func readOneMemory(b []byte, base int) (minPages uint32, ok bool, err error) {
	count, n, err := readU32(b, 0)
	if err != nil {
		return 0, false, err
	}
	if count != 1 || n >= len(b) {
		return 0, false, nil
	}
	flags := b[n]
	if flags != 0 && flags != 1 {
		return 0, false, nil // shared or 64-bit
	}
	minPages, _, err = readU32(b, n+1)
	if err != nil {
		return 0, false, fmt.Errorf("memory section at offset %d: %w", base, err)
	}
	return minPages, true, nil
}
