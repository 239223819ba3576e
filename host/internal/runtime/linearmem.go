package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// Guest linear memory outside the Go heap.
//
// By default wazero backs a linear memory with a Go slice and grows it by allocating a larger
// one and copying: every memory.grow of a guest that grows step by step to N bytes copies about N
// bytes again, all of it zeroed by the Go allocator first and later scanned for by the garbage
// collector's pacing. Profiles of short steps showed that copy (MemoryInstance.Grow) as a third
// of a Rust step's CPU, and it caps the Arrow pass-through rate (docs/BENCHMARKS.md).
//
// Where the platform has mmap, each instance instead reserves address space for its whole memory
// limit, inaccessible, and a grow makes the next pages readable and writable in place: no copy,
// the kernel hands out zeroed pages on first touch, and unmapping returns them at once. Only
// address space is reserved (a 1 GiB limit costs 1 GiB of the 128 TiB a 64-bit process has);
// memory is committed as the guest grows, so the limit behaves as before.

// mappedMemory is one instance's linear memory. It implements experimental.LinearMemory.
type mappedMemory struct {
	mapping   []byte // as mmap returned it, for munmap
	reserved  []byte // the first max bytes of mapping; only [:committed] is accessible
	committed int

	// The mapping must outlive every running call into the instance: compiled code addresses it
	// directly, so unmapping it under a running guest would fault the host process. Free defers
	// the unmap while calls are in flight (a Runtime closed under a running step does that).
	mu      sync.Mutex
	calls   int
	pending bool // Free was called while calls > 0
	freed   bool
}

// memoryAllocator returns the allocator an instance is created with, which starts its memory
// from img (nil: zeroed), and a function that reports the mapped memory it made (nil when it fell
// back to a Go slice). ok is false where mapped memory is not available and there is no image:
// wazero's default allocator is used then.
func memoryAllocator(img *dataImage) (alloc experimental.MemoryAllocator, last func() *mappedMemory, ok bool) {
	var m *mappedMemory
	last = func() *mappedMemory { return m }
	if !mappedMemorySupported && img == nil {
		return nil, last, false
	}
	alloc = experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		mm, err := reserveMemory(maxBytes)
		if err != nil {
			// No mmap, or reserving address space failed (a ulimit -v, say): a Go slice.
			sm := &sliceMemory{max: maxBytes}
			if img != nil && uint64(len(img.data)) <= maxBytes {
				copy(sm.Reallocate(uint64(len(img.data))), img.data)
			}
			return sm
		}
		liveMappings.Add(1)
		m = mm
		if img != nil {
			if n, mapped := img.file.mapInto(mm.reserved); mapped {
				mm.committed = n
			} else if b := mm.Reallocate(uint64(len(img.data))); b != nil {
				copy(b, img.data)
			}
		}
		return mm
	})
	return alloc, last, true
}

// Reallocate implements experimental.LinearMemory: it makes the first size bytes accessible.
// It returns nil, which fails the guest's memory.grow, past the reservation or when the kernel
// refuses the pages.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.reserved)) {
		return nil
	}
	if n := int(size); n > m.committed {
		to := min(roundUp(n, mappedMemoryGranule), len(m.reserved))
		if err := commitPages(m.reserved[m.committed:to]); err != nil {
			return nil
		}
		m.committed = to
	}
	return m.reserved[:size:size]
}

// Free implements experimental.LinearMemory: it unmaps the memory, or defers that to the end of
// the last call in flight.
func (m *mappedMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls > 0 {
		m.pending = true
		return
	}
	m.releaseLocked()
}

// enter and leave bracket a call into the instance; see Free.
func (m *mappedMemory) enter() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
}

func (m *mappedMemory) leave() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls--
	if m.calls == 0 && m.pending {
		m.releaseLocked()
	}
}

func (m *mappedMemory) releaseLocked() {
	if m.freed {
		return
	}
	m.freed = true
	releaseMemory(m.mapping)
	liveMappings.Add(-1)
	m.mapping, m.reserved = nil, nil
}

// liveMappings counts mapped memories not yet unmapped, for tests.
var liveMappings atomic.Int64

// mappedMemoryGranule is how much is committed at a time: guests grow by 64 KiB pages, often one
// at a time, and each commit is a system call.
const mappedMemoryGranule = 1 << 20

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// sliceMemory is the fallback: a Go slice grown by copying, as wazero does by default.
type sliceMemory struct {
	buf []byte
	max uint64
}

func (s *sliceMemory) Reallocate(size uint64) []byte {
	if size > s.max {
		return nil
	}
	if uint64(cap(s.buf)) < size {
		nb := make([]byte, size, max(size, min(s.max, uint64(cap(s.buf))*2)))
		copy(nb, s.buf)
		s.buf = nb
	}
	s.buf = s.buf[:size]
	return s.buf
}

func (s *sliceMemory) Free() { s.buf = nil }
