package adapter

import (
	"context"
	"time"

	"github.com/google/go-dap"
)

// While a session is continued with a refreshInterval, a loop beside the requests takes a
// snapshot every interval and publishes it as events, without stopped events.

// startRefresh starts publishing a snapshot every interval, unless that is already happening or
// the session is no longer continued.
func (s *session) startRefresh(interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshDone != nil || s.state.phase != running {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.refreshStop, s.refreshDone = cancel, done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		// The event loops are sampled while the refresh runs, and only then.
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			s.guard("sampling the event loops", func() { s.sampleLoop(ctx.Done()) })
		}()
		s.refreshLoop(ctx, interval)
		cancel()
		<-sampled
	}()
}

// stopRefresh stops the refresh loop and waits until it has published its last snapshot, so that
// nothing it sends comes after what the caller sends next.
func (s *session) stopRefresh() {
	s.mu.Lock()
	stop, done := s.refreshStop, s.refreshDone
	s.refreshStop, s.refreshDone = nil, nil
	s.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-done
}

func (s *session) refreshLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	r := refresher{s: s, ctx: ctx}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stop := false
		s.guard("refreshing", func() { stop = r.once() })
		if stop {
			return
		}
	}
}

// refresher is what the refresh loop keeps from one snapshot to the next.
type refresher struct {
	s       *session
	ctx     context.Context
	lastErr string // the last failure reported, reported again only when it changes
	// graph is the buffer the awaitGraph bodies are encoded in, reused: for a large target they
	// are megabytes, encoded on every refresh.
	graph []byte
}

// once takes and publishes one refresh snapshot; it reports whether refreshing is over.
func (r *refresher) once() bool {
	s := r.s
	v, err := s.takeSnapshot()
	if r.ctx.Err() != nil {
		return true
	}
	if err != nil {
		if isGone(err) {
			s.targetExited(0)
			return true
		}
		// A target that changes too fast now and then is not worth a message per tick.
		if msg := explain(err); msg != r.lastErr {
			s.conn.output("stderr", "aioscope: "+msg+"\n")
			r.lastErr = msg
		}
		return false
	}
	r.lastErr = ""
	var events []dap.ThreadEventBody
	s.mu.Lock()
	if s.state.phase == running {
		events = s.replace(v)
	}
	s.mu.Unlock()
	r.graph = s.encodeGraph(v, r.graph[:0])
	s.publish(v, r.graph)
	s.sendThreadEvents(events)
	return false
}
