package router

// growStack grows the calling goroutine's stack in one step, while it is
// shallow, to what a message's chain needs (16 KiB): a goroutine starts
// with a few KiB, and letting JSON decoding and the chain outgrow them made
// the runtime double and copy the stack, every frame of it, several times
// per message. On amd64 and arm64 it is an assembly function whose frame is
// stackNeed bytes and that touches none of them (CockroachDB's growstack
// package does the same); elsewhere a Go function whose frame is zeroed.
func growStack() { growStackFrame() }

// stackNeed is the frame growStackFrame adds to the stack: the runtime
// gives the goroutine a stack of at least twice that.
const stackNeed = 8 << 10
