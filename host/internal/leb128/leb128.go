// Package leb128 encodes the variable-length integers of the WebAssembly binary format: unsigned
// and signed LEB128, always in their shortest form, so equal values give equal bytes. The host's
// module rewrites (wasmopt, interrupt) and its test encoders share it.
package leb128

// AppendUint appends v as unsigned LEB128.
func AppendUint(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendInt appends v as signed LEB128.
func AppendInt(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
