package inspector

import (
	"time"

	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/snapshot"
)

// ThreadsSample is what a thread sample found: the interpreter's threads with their current
// frames and the task each one runs, without the tasks themselves.
type ThreadsSample struct {
	At      time.Time // when the read started
	Threads []snapshot.Thread
}

// SampleThreads reads only the interpreter's threads and their current frames: a few reads, cheap
// enough to repeat many times a second, for watching what the threads do between snapshots (an
// event loop stuck in one callback). Each thread's stack is whole, as in a snapshot; a thread's
// running task is the task object's address, which may be one that finished during the read.
func (p *Process) SampleThreads() (*ThreadsSample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureAsyncio(); err != nil {
		return nil, err
	}
	var last error
	for i := 0; i <= max(p.opts.Retries, 0); i++ {
		s, err := p.sampleThreads()
		if err == nil || !retryable(err) {
			return s, err
		}
		last = err
	}
	if p.proc.exiting() {
		return nil, &ProcessGoneError{PID: p.pid}
	}
	return nil, &TargetChangedError{PID: p.pid, Attempts: max(p.opts.Retries, 0) + 1, Last: last}
}

func (p *Process) sampleThreads() (*ThreadsSample, error) {
	// One light cache serves every sample: fresh memory and block reads are what a few small
	// reads would cost most.
	if p.sampler == nil {
		p.sampler = snapmem.NewLight(p.mem)
	} else {
		// The pages the last sample read, copied at once: a thread's state and its frames
		// mostly stay where they were, so one vectored read serves most of the sample.
		footprint := p.sampler.Footprint()
		p.sampler.Reset()
		if err := p.sampler.Load(footprint); err != nil {
			return nil, err
		}
	}
	mem := p.sampler
	w := &walker{p: p, mem: mem, any: mem.Reader(), o: p.offsets, a: p.asyncio, l: p.layout, trustCodes: true}
	s := &ThreadsSample{At: time.Now()}
	interp, err := w.interp()
	if err != nil {
		return nil, err
	}
	gen, err := w.any.Uint64(interp + w.o.InterpreterState.CodeObjectGeneration)
	if err != nil {
		return nil, err
	}
	p.codes.reset(gen)
	threads, err := w.threads(interp)
	if err != nil {
		return nil, err
	}
	s.Threads = make([]snapshot.Thread, len(threads))
	for i := range threads {
		s.Threads[i] = threads[i].Thread
	}
	return s, nil
}
