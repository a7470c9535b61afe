//go:build amd64 || arm64

package router

// growStackFrame has a frame of stackNeed bytes (growstack_*.s) and returns.
func growStackFrame()
