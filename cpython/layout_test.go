package cpython

import "testing"

func TestLayout(t *testing.T) {
	l14 := realOffsets(t, "3.14.10").Layout()
	l15 := realOffsets(t, "3.15.2").Layout()
	want14 := Layout{
		FrameStateSuspendedYieldFrom: -1, FrameStateCleared: 4, AwaitedSlot: 1, TagBits: 3,
		FrameOwnerThread: 0, FrameOwnerGenerator: 1, FrameOwnerFrameObject: 2, FrameOwnerInterpreter: 3, FrameOwnerCStack: 4,
		MaxCoroutineFrames: 1024, MaxStackFrames: 1024, MaxLinetableBytes: 4096,
		MaxTaskNameLen: 255, MaxStringLen: 1024, MaxTaskListLen: 65536, MaxSetMask: 1 << 20, MaxThreads: 8192,
		MaxLongDigits: 64, MaxTaskWaiters: 16384, MaxStackChunks: 4096, MaxStackChunkSize: 16 << 20,
		AsyncGenWrappedOffset: 16, CPythonToolWalksAllThreads: false,
	}
	want15 := want14
	want15.FrameStateSuspendedYieldFrom, want15.FrameStateCleared, want15.AwaitedSlot = 2, 5, 2
	want15.FrameOwnerCStack = -1
	want15.MaxCoroutineFrames, want15.MaxStackFrames, want15.MaxLinetableBytes = 1536, 1536, 65536
	want15.CPythonToolWalksAllThreads = true
	if l14 != want14 {
		t.Errorf("3.14 layout\n got %+v\nwant %+v", l14, want14)
	}
	if l15 != want15 {
		t.Errorf("3.15 layout\n got %+v\nwant %+v", l15, want15)
	}
	// A hand-built table gets a layout without panicking.
	var zero DebugOffsets
	if l := zero.Layout(); l.AsyncGenWrappedOffset != 0 || l.MaxCoroutineFrames != 1536 {
		t.Errorf("zero table layout = %+v", l)
	}
	var none *DebugOffsets
	if l := none.Layout(); l.MaxCoroutineFrames != 1536 || !none.IsFrameOwnerSkipped(3) ||
		none.UnicodeDataOffset(true) != 0 || none.Fields() != nil {
		t.Errorf("nil table layout = %+v", l)
	}
}

func TestIsFrameOwnerSkipped(t *testing.T) {
	d14 := realOffsets(t, "3.14.10")
	d15 := realOffsets(t, "3.15.2")
	tests := []struct {
		owner    int
		skip14   bool
		skip15   bool
		describe string
	}{
		{0, false, false, "thread"},
		{1, false, false, "generator"},
		{2, false, false, "frame object (an error, not a skip)"},
		{3, true, true, "interpreter"},
		{4, true, false, "C stack (3.14 only)"},
		{5, false, false, "unknown"},
		{-1, false, false, "negative"},
	}
	for _, tt := range tests {
		if got := d14.IsFrameOwnerSkipped(tt.owner); got != tt.skip14 {
			t.Errorf("3.14 owner %d (%s): skipped=%v", tt.owner, tt.describe, got)
		}
		if got := d15.IsFrameOwnerSkipped(tt.owner); got != tt.skip15 {
			t.Errorf("3.15 owner %d (%s): skipped=%v", tt.owner, tt.describe, got)
		}
	}
}

func TestUntag(t *testing.T) {
	l := realOffsets(t, "3.15.2").Layout()
	for _, tt := range []struct{ in, want uint64 }{
		{0x7f0012345678, 0x7f0012345678},
		{0x7f0012345679, 0x7f0012345678},
		{0x7f001234567b, 0x7f0012345678},
		{3, 0},
	} {
		if got := l.Untag(tt.in); got != tt.want {
			t.Errorf("Untag(%#x) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

func TestTypeFlags(t *testing.T) {
	if TPFlagsHeapType != 512 || TPFlagsLongSubclass != 1<<24 || TPFlagsUnicodeSubclass != 1<<28 {
		t.Error("type flag values changed")
	}
}
