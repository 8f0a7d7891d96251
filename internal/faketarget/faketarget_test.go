package faketarget

import (
	"errors"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

func TestServesInOrderThenTheLast(t *testing.T) {
	a, b := &snapshot.Snapshot{PID: 1}, &snapshot.Snapshot{PID: 2}
	f := New(a, b)
	for i, want := range []int{1, 2, 2} {
		s, err := f.Snapshot()
		if err != nil || s.PID != want || s == a || s == b || s.CapturedAt.IsZero() {
			t.Errorf("snapshot %d: %+v, %v; want a fresh copy of PID %d", i, s, err, want)
		}
	}
	gone := errors.New("gone")
	f.Set(gone)
	if _, err := f.Snapshot(); err != gone {
		t.Errorf("after Set(err): %v", err)
	}
	f.Set(nil, a)
	if s, err := f.Snapshot(); err != nil || s.PID != 1 {
		t.Errorf("after Set(nil, a): %+v, %v", s, err)
	}
	f.Panic("bad table")
	func() {
		defer func() {
			if r := recover(); r != "bad table" {
				t.Errorf("recovered %v, want the panic asked for", r)
			}
		}()
		_, _ = f.Snapshot()
	}()
}
