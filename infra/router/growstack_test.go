package router

import (
	"testing"
	"unsafe"
)

// TestGrowStackGrowsOnce: on a new goroutine growStack moves the stack (it
// grew), and a chain that then uses up to 12 KiB more does not move it again.
func TestGrowStackGrowsOnce(t *testing.T) {
	moved := make(chan [2]bool)
	go func() {
		var local int
		at := func() uintptr { return uintptr(unsafe.Pointer(&local)) }
		start := at()
		growStack()
		grown := at()
		useStack(12)
		moved <- [2]bool{grown != start, at() != grown}
	}()
	m := <-moved
	if !m[0] {
		t.Fatal("growStack did not grow the goroutine's stack")
	}
	if m[1] {
		t.Fatal("the stack moved again after growStack")
	}
}

// useStack uses about n KiB of stack.
//
//go:noinline
func useStack(n int) byte {
	var frame [1000]byte
	frame[n%len(frame)] = byte(n)
	if n > 1 {
		return useStack(n-1) + frame[0]
	}
	return frame[0]
}
