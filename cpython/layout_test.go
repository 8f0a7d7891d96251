package cpython

import "testing"

func TestLayout(t *testing.T) {
	l14 := realOffsets(t, "3.14.10").Layout()
	l15 := realOffsets(t, "3.15.2").Layout()
	want14 := Layout{
		FrameStateSuspendedYieldFrom: -1, FrameStateCleared: 4, AwaitedSlot: 1, TagBits: 3,
		FrameOwnerGenerator: 1, FrameOwnerFrameObject: 2, FrameOwnerInterpreter: 3, FrameOwnerCStack: 4, MaxLinetableBytes: 4096,
		MaxTaskNameLen: 255, MaxStringLen: 1024, MaxSetMask: 1 << 20, MaxThreads: 8192, MaxLongDigits: 64,
		AsyncGenWrappedOffset: 16,
	}
	want15 := want14
	want15.FrameStateSuspendedYieldFrom, want15.FrameStateCleared, want15.AwaitedSlot = 2, 5, 2
	want15.FrameOwnerCStack, want15.HasBaseFrame, want15.MaxLinetableBytes = -1, true, 65536
	if l14 != want14 {
		t.Errorf("3.14 layout\n got %+v\nwant %+v", l14, want14)
	}
	if l15 != want15 {
		t.Errorf("3.15 layout\n got %+v\nwant %+v", l15, want15)
	}
	// A hand-built table gets a layout without panicking.
	var zero DebugOffsets
	if l := zero.Layout(); l.AsyncGenWrappedOffset != 0 || !l.HasBaseFrame {
		t.Errorf("zero table layout = %+v", l)
	}
	var none *DebugOffsets
	if l := none.Layout(); !l.HasBaseFrame || !l.IsFrameOwnerSkipped(3) ||
		none.UnicodeDataOffset(true) != 0 || none.Fields() != nil {
		t.Errorf("nil table layout = %+v", l)
	}
}

// TestStackComplete: where a whole thread stack ends, per version (the frames a live walk sees
// are checked against both interpreters by the inspector's stack tests).
func TestStackComplete(t *testing.T) {
	l14 := realOffsets(t, "3.14.10").Layout()
	l15 := realOffsets(t, "3.15.2").Layout()
	const base = 0x5000
	for _, tt := range []struct {
		layout    Layout
		last      uint64
		lastOwner int
		want      bool
		describe  string
	}{
		{l14, 0, -1, true, "3.14, no frames"},
		{l14, 0x7ffd0000, 3, true, "3.14, ends at the interpreter's entry frame"},
		{l14, 0x7f000000, 1, false, "3.14, ends at a suspended coroutine's frame"},
		{l14, 0x7f000000, 0, false, "3.14, ends at a thread frame"},
		{l14, 0x7f000000, 4, false, "3.14, ends at a C-stack frame"},
		{l15, 0, -1, true, "3.15, no frames"},
		{l15, base, 3, true, "3.15, ends at the base frame"},
		{l15, 0x7ffd0000, 3, false, "3.15, ends at an entry frame that is not the base frame"},
		{l15, 0x7f000000, 1, false, "3.15, ends at a suspended coroutine's frame"},
	} {
		if got := tt.layout.StackComplete(tt.last, tt.lastOwner, base); got != tt.want {
			t.Errorf("%s: StackComplete = %v", tt.describe, got)
		}
	}
}

func TestIsFrameOwnerSkipped(t *testing.T) {
	d14 := realOffsets(t, "3.14.10").Layout()
	d15 := realOffsets(t, "3.15.2").Layout()
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

func TestTypeFlags(t *testing.T) {
	if TPFlagsHeapType != 512 || TPFlagsLongSubclass != 1<<24 || TPFlagsUnicodeSubclass != 1<<28 {
		t.Error("type flag values changed")
	}
}
