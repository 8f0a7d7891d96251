package adapter

import (
	"fmt"
	"os"
	"testing"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/snapshot"
)

func TestThreadIDsAcrossSnapshots(t *testing.T) {
	a := task(0xa0, "a", nil)
	b := task(0xb0, "b", nil)
	c0 := task(0xc0, "c", nil)
	d := task(0xd0, "d", nil)
	snaps := []*snapshot.Snapshot{
		fakeSnapshot(a, b, c0), // attach's check
		fakeSnapshot(a, b, c0), // first stop
		fakeSnapshot(b, a, d),  // c finished, d is new, the order changed
		fakeSnapshot(a, c0, d), // c's address is used by a new task, b finished
		// d finished and a new task took its address at once, between two snapshots
		fakeSnapshot(a, c0, task(0xd0, "e", nil)),
	}
	c := startSession(t, fakeServer(faketarget.New(snaps...), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	first := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	second := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	third := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	fourth := threadsByName(t, c.Threads())

	main := fmt.Sprintf("Thread %d", os.Getpid())
	if first["a"] != second["a"] || second["a"] != third["a"] || first["b"] != second["b"] || first[main] != third[main] {
		t.Errorf("ids of tasks present throughout changed: %v %v %v", first, second, third)
	}
	maxID := 0
	for _, id := range first {
		maxID = max(maxID, id)
	}
	if second["d"] <= maxID {
		t.Errorf("new task d got id %d, want one never used before (the largest was %d)", second["d"], maxID)
	}
	if third["c"] == first["c"] || third["c"] <= second["d"] {
		t.Errorf("a new task at a finished task's address got id %d (the old one had %d): ids must not be reused", third["c"], first["c"])
	}
	if fourth["e"] == third["d"] || fourth["e"] <= third["c"] || fourth["a"] != first["a"] || fourth["c"] != third["c"] {
		t.Errorf("task e, at the address d had in the snapshot before, got id %d (d had %d): %v %v", fourth["e"], third["d"], third, fourth)
	}
	c.OK("disconnect", nil, nil)
}
