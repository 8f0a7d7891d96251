// Package faketarget is a made-up serve.Target for the unit tests of the protocol servers: it
// serves the snapshots a test makes up, and the failures the test asks for, without a process to
// read. Tests of reading a real process start one with internal/testtarget.
package faketarget

import (
	"os"
	"sync"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/serve"
	"github.com/aioscope/aioscope/snapshot"
)

// PythonVersion is the version every Target says it runs.
const PythonVersion = "3.15.2"

// Target serves snapshots made up by a test. Its PID is the test process's own, which is alive
// for as long as the test runs.
type Target struct {
	mu    sync.Mutex
	snaps []*snapshot.Snapshot // served in order; the last one over and over
	err   error                // returned instead of a snapshot when set
	panic any                  // Snapshot panics with it when set
	block chan struct{}        // when set, Snapshot waits for it to be closed
	calls int
}

// New returns a Target that serves snaps in order, and then the last one over and over.
func New(snaps ...*snapshot.Snapshot) *Target { return &Target{snaps: snaps} }

// Attach opens f whatever the PID: it is a serve.AttachFunc for the server's configuration.
func (f *Target) Attach(int, inspector.Options) (serve.Target, error) { return f, nil }

func (f *Target) PID() int              { return os.Getpid() }
func (f *Target) PythonVersion() string { return PythonVersion }

// Snapshot returns the next snapshot, as a copy captured now: a server ages what it shows from
// the capture time. It fails with the error Set gives, panics with what Panic gives, and waits
// while Block's channel is open.
func (f *Target) Snapshot() (*snapshot.Snapshot, error) {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.panic != nil {
		f.calls++
		panic(f.panic)
	}
	s := *f.snaps[min(f.calls, len(f.snaps)-1)]
	s.CapturedAt = time.Now()
	f.calls++
	return &s, nil
}

// Set makes Snapshot fail with err (none when nil) and, when snaps are given, serve them from
// the start.
func (f *Target) Set(err error, snaps ...*snapshot.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	if len(snaps) > 0 {
		f.snaps, f.calls = snaps, 0
	}
}

// Panic makes Snapshot panic with v, as a reader with a bug would; nil stops it.
func (f *Target) Panic(v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panic = v
}

// Block makes Snapshot wait until ch is closed.
func (f *Target) Block(ch chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.block = ch
}
