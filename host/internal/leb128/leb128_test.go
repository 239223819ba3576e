package leb128

import (
	"bytes"
	"testing"
)

func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want []byte
	}{{0, []byte{0}}, {127, []byte{0x7f}}, {128, []byte{0x80, 1}}, {624485, []byte{0xe5, 0x8e, 0x26}}, {1<<64 - 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}}} {
		if got := AppendUint(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("AppendUint(%d) = %x, want %x", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    int64
		want []byte
	}{{0, []byte{0}}, {63, []byte{0x3f}}, {64, []byte{0xc0, 0}}, {-1, []byte{0x7f}}, {-64, []byte{0x40}}, {-65, []byte{0xbf, 0x7f}}, {-123456, []byte{0xc0, 0xbb, 0x78}}} {
		if got := AppendInt(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("AppendInt(%d) = %x, want %x", c.v, got, c.want)
		}
	}
	if got := AppendUint([]byte{9}, 1); !bytes.Equal(got, []byte{9, 1}) {
		t.Errorf("AppendUint does not append: %x", got)
	}
}
