package runtime

import (
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// imageFile is a memfd holding a data image, rounded up to whole pages; size 0 means none (the
// zero value: fd 0 is a valid descriptor when the process started without standard input).
type imageFile struct {
	fd   int
	size int
}

func openImageFile(data []byte) imageFile {
	if len(data) < minImageBytes {
		return imageFile{}
	}
	fd, err := unix.MemfdCreate("wasmorch-data-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return imageFile{}
	}
	size := roundUp(len(data), os.Getpagesize())
	err = unix.Ftruncate(fd, int64(size))
	for off := 0; err == nil && off < len(data); {
		var n int
		n, err = unix.Pwrite(fd, data[off:], int64(off))
		if n == 0 && err == nil {
			err = io.ErrShortWrite
		}
		off += n
	}
	if err == nil {
		// Sealed, the image cannot change under the instances that map it.
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	}
	if err != nil {
		unix.Close(fd)
		return imageFile{}
	}
	return imageFile{fd: fd, size: size}
}

func (f imageFile) close() {
	if f.size > 0 {
		unix.Close(f.fd)
	}
}

// mapInto maps the image copy-on-write over the start of b (a page-aligned reservation at least
// f.size long), readable and writable, and returns how many bytes it covers.
func (f imageFile) mapInto(b []byte) (int, bool) {
	if f.size == 0 || len(b) < f.size {
		return 0, false
	}
	_, err := unix.MmapPtr(f.fd, 0, unsafe.Pointer(&b[0]), uintptr(f.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	if err != nil {
		return 0, false
	}
	return f.size, true
}
