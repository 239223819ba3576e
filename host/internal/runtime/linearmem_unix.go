//go:build linux || darwin || freebsd

package runtime

import "syscall"

const mappedMemorySupported = true

// reserveMemory maps max bytes of inaccessible address space (at least one page).
func reserveMemory(max uint64) (*mappedMemory, error) {
	n := int(max)
	if n <= 0 {
		n = syscall.Getpagesize()
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, err
	}
	return &mappedMemory{mapping: b, reserved: b[:max:max]}, nil
}

// commitPages makes b readable and writable; b starts at a page boundary.
func commitPages(b []byte) error {
	return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE)
}

func releaseMemory(b []byte) {
	if b != nil {
		syscall.Munmap(b)
	}
}
