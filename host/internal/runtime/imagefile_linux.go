package runtime

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// imageFile is a memfd holding a data image, rounded up to whole pages; fd 0 means none.
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
	f := os.NewFile(uintptr(fd), "wasmorch-data-image")
	ok := f.Truncate(int64(size)) == nil
	if ok {
		_, err := f.WriteAt(data, 0)
		ok = err == nil
	}
	// Sealed, the image cannot change under the instances that map it.
	if ok {
		_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
		ok = err == nil
	}
	if !ok {
		f.Close()
		return imageFile{}
	}
	// Keep the descriptor, not the *os.File, whose finalizer would close it.
	dup, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return imageFile{}
	}
	unix.CloseOnExec(dup)
	return imageFile{fd: dup, size: size}
}

func (f imageFile) close() {
	if f.fd > 0 {
		unix.Close(f.fd)
	}
}

// mapInto maps the image copy-on-write over the start of b (a page-aligned reservation at least
// f.size long), readable and writable, and returns how many bytes it covers.
func (f imageFile) mapInto(b []byte) (int, bool) {
	if f.fd <= 0 || len(b) < f.size {
		return 0, false
	}
	_, err := unix.MmapPtr(f.fd, 0, unsafe.Pointer(&b[0]), uintptr(f.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	if err != nil {
		return 0, false
	}
	return f.size, true
}
