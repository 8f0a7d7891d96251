package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// setUpForWatching sets the Go runtime up for a command that watches a process for long (watch,
// check) and returns the collector's pacer, to update after every snapshot.
//
// It runs the command on one processor unless GOMAXPROCS says otherwise. A watch does one thing
// at a time, a snapshot now and then and a sample of the threads many times a second, and a
// second processor only adds work: every sample readies a goroutine, and the scheduler then
// wakes an idle processor's thread to look for more work, which it does not find. On one
// processor a watch also never takes more than one core from the machine it watches.
func setUpForWatching() *gcPacer {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	return newGCPacer()
}

// gcPacer sets the collector's target for a command that watches a process for long (watch,
// check): a heap that may grow by gcHeadroom beyond what is live between collections, but by no
// less than the live heap itself (GOGC 100) and no more than four times it (GOGC 400). A
// snapshot of thousands of tasks is megabytes of garbage a second; with the default target
// the collector would run after every snapshot or two, for a live heap of a few megabytes. The
// target follows the live heap, so memory stays flat over a long watch, and a large live heap
// (a target of hundreds of thousands of tasks) gets no more than the default's overhead.
type gcPacer struct {
	sample  []metrics.Sample
	percent int
}

// gcHeadroom is the growth of the heap between collections the pacer aims at.
const gcHeadroom = 64 << 20

func newGCPacer() *gcPacer {
	p := &gcPacer{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.set(400)
	return p
}

// update sets the target for the live heap of the latest collection; call it now and then (after
// every snapshot).
func (p *gcPacer) update() {
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := p.sample[0].Value.Uint64()
	percent := 400
	if live > 0 {
		percent = int(min(max(gcHeadroom*100/live, 100), 400))
	}
	// Small changes are not worth a change of target.
	if percent < p.percent*9/10 || percent > p.percent*11/10 {
		p.set(percent)
	}
}

func (p *gcPacer) set(percent int) {
	debug.SetGCPercent(percent)
	p.percent = percent
}
