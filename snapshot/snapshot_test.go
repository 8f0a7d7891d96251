package snapshot

import (
	"reflect"
	"testing"
)

func TestAwaiterIndex(t *testing.T) {
	aw := func(ids ...uint64) []Awaiter {
		var a []Awaiter
		for _, id := range ids {
			a = append(a, Awaiter{ID: id})
		}
		return a
	}
	tasks := []Task{
		{ID: 1, AwaitedBy: aw(3)},
		{ID: 2, AwaitedBy: aw(3, 9)},
		{ID: 3, Name: "", AwaitedBy: aw(1)}, // an empty name is still a task's
		{ID: 4, AwaitedBy: aw(3)},
	}
	want := map[uint64]int{3: 2, 9: -1, 1: 0}
	if got := AwaiterIndex(tasks); !reflect.DeepEqual(got, want) {
		t.Fatalf("AwaiterIndex = %v, want %v", got, want)
	}
}

func TestKeyOf(t *testing.T) {
	chain := []Frame{{Function: "sleep"}, {Function: "work"}, {Function: "main"}}
	shared := chain
	copied := append([]Frame(nil), chain...)
	if KeyOf(shared) != KeyOf(chain) {
		t.Error("one shared slice has two keys")
	}
	for _, other := range [][]Frame{copied, chain[:2], chain[1:]} {
		if KeyOf(other) == KeyOf(chain) {
			t.Errorf("%v has the key of %v", other, chain)
		}
	}
	if KeyOf(nil) != (FramesKey{}) || KeyOf(chain[:0]) != (FramesKey{}) {
		t.Error("an empty list has a non-zero key")
	}
}
