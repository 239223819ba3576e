package runtime

import (
	"bytes"
	"context"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

func TestMappedMemoryGrowsInPlace(t *testing.T) {
	if !mappedMemorySupported {
		t.Skip("no mmap on this platform")
	}
	m, err := reserveMemory(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Reallocate(64 << 10)
	if len(b) != 64<<10 {
		t.Fatalf("Reallocate(64 KiB) gave %d bytes", len(b))
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d of new memory is %d, want 0", i, c)
		}
	}
	b[0], b[len(b)-1] = 1, 2
	grown := m.Reallocate(5 << 20)
	if len(grown) != 5<<20 || &grown[0] != &b[0] {
		t.Fatalf("grow moved or resized wrongly: %d bytes, moved %v", len(grown), &grown[0] != &b[0])
	}
	if grown[0] != 1 || grown[64<<10-1] != 2 || grown[5<<20-1] != 0 {
		t.Fatal("grow lost the contents or did not zero the new pages")
	}
	grown[5<<20-1] = 3 // the new pages are writable
	if cap(grown) != len(grown) {
		t.Fatalf("cap %d beyond len %d lets an append reach inaccessible pages", cap(grown), len(grown))
	}
	if m.Reallocate(8<<20+1) != nil {
		t.Fatal("Reallocate past the reservation succeeded")
	}
	before := liveMappings.Load()
	liveMappings.Add(1) // as if memoryAllocator had made it
	m.enter()
	m.Free()
	grown[1] = 4 // still mapped: a call is in flight
	if liveMappings.Load() != before+1 {
		t.Fatal("Free unmapped under a call in flight")
	}
	m.leave()
	if liveMappings.Load() != before {
		t.Fatal("the last call's end did not unmap a freed memory")
	}
	m.Free() // twice is harmless
}

// TestClosingRuntimeUnderRunningGuest closes the runtime while a guest is writing to its memory:
// the memory must stay mapped until the call returns (else the host process faults), and be
// unmapped after.
func TestClosingRuntimeUnderRunningGuest(t *testing.T) {
	if !mappedMemorySupported {
		t.Skip("no mmap on this platform")
	}
	ctx := context.Background()
	rt, err := New(ctx, Config{CacheDir: guesttest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.LoadFile(ctx, "scribble", guesttest.Path(t, "guests/wat/scribble.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	live := liveMappings.Load()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	mem := iomanager.NewInMemory()
	go func() {
		step := trivialStep(mem, "r1")
		step.Invocation.Name, step.Invocation.StepKey = "scribble", "scribble"
		_, err := m.Run(runCtx, step)
		done <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for liveMappings.Load() == live {
		if time.Now().After(deadline) {
			t.Fatal("the step never instantiated")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the guest is in its loop
	rt.Close(ctx)
	time.Sleep(100 * time.Millisecond) // and keeps writing
	select {
	case err := <-done:
		t.Fatalf("the step ended before it was cancelled: %v", err)
	default:
	}
	if liveMappings.Load() == live {
		t.Fatal("the memory was unmapped under the running guest")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cancel") {
			t.Fatalf("cancelled step: %v, want an error naming the cancellation", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cancelled step did not end")
	}
	if n := liveMappings.Load(); n != live {
		t.Fatalf("%d mapped memories left after the step ended, want %d", n, live)
	}
}

// TestDataImageIsCopyOnWrite starts two memories from one image: each sees the image, a write to
// one is not seen by the other, and the image itself never changes.
func TestDataImageIsCopyOnWrite(t *testing.T) {
	data := make([]byte, minImageBytes+12345)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	img := newDataImage(bytes.Clone(data))
	defer img.close()
	if goruntime.GOOS == "linux" && img.file.size == 0 {
		t.Fatal("no memfd for the image on Linux")
	}
	alloc, _, _ := memoryAllocator(img)
	const size = 2 << 20
	a := alloc.Allocate(0, 4<<20)
	b := alloc.Allocate(0, 4<<20)
	defer a.Free()
	defer b.Free()
	ma, mb := a.Reallocate(size), b.Reallocate(size)
	if !bytes.Equal(ma[:len(data)], data) || !bytes.Equal(mb[:len(data)], data) {
		t.Fatal("a memory does not start with the image")
	}
	for i := len(data); i < size; i += 4096 {
		if ma[i] != 0 {
			t.Fatalf("byte %d past the image is %d, want 0", i, ma[i])
		}
	}
	ma[0], ma[len(data)-1], ma[len(data)] = 0xAA, 0xBB, 0xCC
	if mb[0] != data[0] || mb[len(data)-1] != data[len(data)-1] || mb[len(data)] != 0 {
		t.Fatal("a write to one instance's memory reached another's")
	}
	if !bytes.Equal(img.data, data) {
		t.Fatal("a write to an instance's memory changed the image")
	}
	c := alloc.Allocate(0, 4<<20)
	defer c.Free()
	if mc := c.Reallocate(size); mc[0] != data[0] {
		t.Fatal("a later instance sees an earlier one's write")
	}
}
