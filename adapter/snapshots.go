package adapter

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
)

// Taking snapshots of the target, showing them as stops, and publishing them as events.

// takeSnapshot reads the target and maps the result.
func (s *session) takeSnapshot() (*view, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	target := s.target
	_, err := s.transitionLocked(snapshotDue)
	s.mu.Unlock()
	switch {
	case errors.Is(err, errNotAttached):
		return nil, err
	case err != nil:
		return nil, &inspector.ProcessGoneError{PID: target.PID()}
	}
	snap, err := target.Snapshot()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return newView(snap, &s.alloc), nil
}

// showStop makes v the snapshot requests are answered from, as a stop. It reports whether the
// stop is to be reported to the client: not once the session has ended.
func (s *session) showStop(v *view) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.transitionLocked(stopShown); err != nil {
		return false
	}
	s.view = v
	return true
}

// reportStop publishes v and sends the stopped event for it.
func (s *session) reportStop(v *view) {
	s.publish(v, s.encodeGraph(v, nil))
	s.conn.event("stopped", dap.StoppedEventBody{
		Reason: "pause",
		Description: fmt.Sprintf("Snapshot of %d tasks at %s — the process keeps running",
			len(v.snap.Tasks), v.snap.CapturedAt.Local().Format("15:04:05.000")),
		ThreadId:          v.defaultThread(),
		AllThreadsStopped: true,
	})
}

// encodeGraph appends the awaitGraph body of v to buf; a nil buf is allocated with the size of
// the last body, since for a large target they are megabytes and growing one costs about as much
// as encoding it.
func (s *session) encodeGraph(v *view, buf []byte) []byte {
	s.mu.Lock()
	src, hint := s.src, s.graphHint
	s.mu.Unlock()
	if buf == nil {
		buf = make([]byte, 0, max(hint, 4<<10))
	}
	buf = appendAwaitGraph(buf, v, src)
	s.mu.Lock()
	s.graphHint = len(buf)
	s.mu.Unlock()
	return buf
}

// publish sends graph, the encoded awaitGraph body of v, as the awaitGraph event, and the cycles
// event when v has cycles.
func (s *session) publish(v *view, graph []byte) {
	s.mu.Lock()
	s.published = v
	s.mu.Unlock()
	s.conn.event("aioscope/awaitGraph", json.RawMessage(graph))
	if len(v.snap.Cycles) > 0 {
		s.conn.event("aioscope/cycles", json.RawMessage(appendCycles(nil, v)))
	}
}
