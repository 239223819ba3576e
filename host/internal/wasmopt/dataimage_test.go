package wasmopt

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/wasmorch/wasmorch/host/internal/leb128"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// withImage returns the first n bytes of an instance's memory of stripped, after image is
// written at address 0: what the host's allocator does.
func withImage(t *testing.T, stripped, image []byte, n uint32) []byte {
	t.Helper()
	mem := memoryAfterInstantiate(t, stripped, n)
	if c, _, _ := countSegments(t, stripped); c != 0 {
		t.Fatalf("stripped module still has %d data segments", c)
	}
	copy(mem, image)
	return mem
}

func TestExtractDataImageOfGoGuest(t *testing.T) {
	wasm, err := os.ReadFile(guesttest.Path(t, "guests/go/faults/faults.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := MergeDataSegments(wasm)
	if err != nil {
		t.Fatal(err)
	}
	stripped, image, ok, err := ExtractDataImage(merged)
	if err != nil || !ok {
		t.Fatalf("ExtractDataImage: ok %v, err %v", ok, err)
	}
	t.Logf("image %d bytes; module %d -> %d bytes", len(image), len(merged), len(stripped))
	if !bytes.Equal(memoryAfterInstantiate(t, wasm, 0), withImage(t, stripped, image, 0)) {
		t.Fatal("memory from the image differs from memory after instantiating the original")
	}
}

func TestExtractDataImageCases(t *testing.T) {
	dataCount := []byte{sectionDataCount, 1, 2}
	passive := append([]byte{1}, append(leb128.AppendUint(nil, 1), 'x')...)
	globalOffset := []byte{0, 0x23, 0, opEnd, 1, 'g'} // global.get 0
	shared := []byte("\x00asm\x01\x00\x00\x00\x05\x04\x01\x03\x01\x01")
	cases := []struct {
		name string
		wasm []byte
		ok   bool
	}{
		{"segments", module(1, segments(active(0, "ab"), active(100, "cd"))), true},
		{"overlap: later wins", module(1, segments(active(0, "aaaa"), active(2, "bb"), active(1, "c"))), true},
		{"last byte of the minimum", module(1, segments(active(PageSize-1, "z"))), true},
		{"past the minimum: would trap", module(1, segments(active(PageSize-1, "zz"))), false},
		{"negative offset", module(1, segments(active(-1, "z"))), false},
		{"passive segment", module(1, segments(active(0, "a"), passive)), false},
		{"global.get offset", module(1, segments(active(0, "a"), globalOffset)), false},
		{"data count section", module(1, segments(active(0, "a")), dataCount), false},
		{"no data section", module(1, nil), false},
		{"shared memory", append(shared, sectionData, 5, 1, 0, opI32Const, 0, opEnd), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stripped, image, ok, err := ExtractDataImage(c.wasm)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok {
				if a, b := memoryAfterInstantiate(t, c.wasm, 256), withImage(t, stripped, image, 256); !bytes.Equal(a, b) {
					t.Errorf("memory differs:\n%q\n%q", a, b)
				}
			}
		})
	}
}

func TestExtractDataImageMalformed(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"no header":          []byte("nope"),
		"section past end":   append(module(1, nil), sectionData, 50, 1),
		"segment past end":   module(1, append(leb128.AppendUint(nil, 1), 0, opI32Const, 0, opEnd, 90, 'x')),
		"truncated memory":   []byte("\x00asm\x01\x00\x00\x00\x05\x02\x01\x00"),
		"memory min too big": []byte("\x00asm\x01\x00\x00\x00\x05\x08\x01\x00\xff\xff\xff\xff\xff\x01"),
	} {
		if _, _, _, err := ExtractDataImage(wasm); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}
