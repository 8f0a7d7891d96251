package live_test

import (
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// TestSampleAdaptively samples health.py, whose loop is idle but for one 400 ms block: the samples
// come at the idle interval before the block and at the busy one during it, and the sampling ends
// when asked.
func TestSampleAdaptively(t *testing.T) {
	tg := testtarget.Start(t, "3.14", "health.py", "60", "400", "1")
	p, err := inspector.Attach(tg.PID, inspector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var times []time.Time
	go func() {
		time.Sleep(2500 * time.Millisecond)
		close(done)
	}()
	began := time.Now()
	err = live.SampleAdaptively(done, p, func(at time.Time, threads []tracking.ThreadSample) { times = append(times, at) })
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("sampling ended %v after it began, asked to end after 2.5 s", took)
	}
	block := testtarget.Printed(t, tg.Stdout(), "BLOCK")
	if len(block) != 1 {
		t.Fatalf("the target printed %v", block)
	}
	start, end := testtarget.UnixTime(block[0][0]), testtarget.UnixTime(block[0][1])
	var before, during int
	for _, at := range times {
		switch {
		case at.After(began.Add(200*time.Millisecond)) && at.Before(start.Add(-100*time.Millisecond)):
			before++
		case at.After(start.Add(60*time.Millisecond)) && at.Before(end):
			during++
		}
	}
	idle := start.Add(-100 * time.Millisecond).Sub(began.Add(200 * time.Millisecond))
	// Idle: one sample per IdleSampleInterval, and a few more after samples that catch the
	// target's short tasks running, but well under the busy rate. Busy: one per
	// BusySampleInterval, at least a third of that rate on a machine that keeps the test waiting
	// for a CPU.
	if maxIdle := int(idle / live.BusySampleInterval / 2); before > maxIdle {
		t.Errorf("%d samples in %v of an idle loop, want at most %d", before, idle, maxIdle)
	}
	busy := end.Sub(start.Add(60 * time.Millisecond))
	if minBusy := int(busy / live.BusySampleInterval / 3); during < minBusy {
		t.Errorf("%d samples in %v of a blocked loop, want at least %d", during, busy, minBusy)
	}
	t.Logf("%d samples: %d in %v idle, %d in %v blocked", len(times), before, idle, during, busy)
}
