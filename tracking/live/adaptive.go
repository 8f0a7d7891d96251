package live

import (
	"errors"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/tracking"
)

// The intervals of SampleAdaptively. Samples come every IdleSampleInterval while the event loops
// wait in their selectors, and every BusySampleInterval from a sample that finds one running a
// callback (or its own work) until one finds them all idle again: a run is followed closely once
// seen, and an idle program costs little. A run is first seen up to IdleSampleInterval after it
// began, so a run up to that much longer than the blocked threshold may go unreported; its start
// is known within half of it. (A sample costs far more at a rate of a hundred a second than in a
// tight loop: each one wakes the process and copies cold pages; PERFORMANCE.md has the figures.)
const (
	IdleSampleInterval = 50 * time.Millisecond
	BusySampleInterval = 10 * time.Millisecond
)

// SampleAdaptively samples p's threads (Sample) until done is closed, handing every sample to
// got, at the intervals above, for a server that follows a process beside its other work; the
// Monitor samples at one rate instead. A sample that meets a target changing too fast is skipped.
// It returns nil once done is closed, or the error that stopped the sampling for good.
func SampleAdaptively(done <-chan struct{}, p ThreadSampler, got func(at time.Time, threads []tracking.ThreadSample)) error {
	timer := time.NewTimer(IdleSampleInterval)
	defer timer.Stop()
	var buf []tracking.ThreadSample
	for {
		select {
		case <-done:
			return nil
		case <-timer.C:
		}
		start := time.Now()
		at, threads, err := Sample(p, buf[:0])
		buf = threads
		next := IdleSampleInterval
		var changed *inspector.TargetChangedError
		switch {
		case err == nil:
			got(at, threads)
			if anyLoopBusy(threads) {
				next = BusySampleInterval
			}
		case errors.As(err, &changed):
			// A sample missed: the gap around it widens.
		default:
			return err
		}
		// The interval counts from the start of a sample, as a ticker's would.
		timer.Reset(max(next-time.Since(start), time.Millisecond))
	}
}

// anyLoopBusy reports whether a sample found an event loop outside its selector.
func anyLoopBusy(threads []tracking.ThreadSample) bool {
	for i := range threads {
		if threads[i].HasLoop {
			if st := tracking.ReadLoopStack(threads[i].Frames).State; st == tracking.InCallback || st == tracking.InLoop {
				return true
			}
		}
	}
	return false
}
