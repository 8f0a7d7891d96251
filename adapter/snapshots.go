package adapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// Taking snapshots of the target, showing them as stops, and publishing them as events.

// takeSnapshot reads the target and maps the result.
func (s *session) takeSnapshot() (*view, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	target, w := s.target, s.watch
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
	// Grouping is done here, without the session's lock: the tracker and the view need it.
	gs := groups.Of(snap)
	waits, loops := w.observe(snap, gs)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := newView(snap, &s.alloc)
	v.groups, v.waits, v.loops = gs, waits, loops
	return v, nil
}

// stopReport is how a stop is reported: on which thread, and whether the client is to keep what
// the user looks at.
type stopReport struct {
	threadID int
	// preserve: a stop while stopped (a new snapshot replacing the one shown) on the thread the
	// user looks at, whose frame ids stay valid (see frameRefs): the client keeps its focus.
	preserve bool
	// invalidate: the client's variables, which it does not fetch again on a stop that keeps
	// its focus, are to be fetched again.
	invalidate bool
}

// showStop makes v the snapshot requests are answered from, as a stop, and says how to report
// it; ok is false when the stop is not to be reported (the session has ended). The first stop
// shows the task that says most about the program (tellingThread); later ones the task the user
// looks at, while it exists.
func (s *session) showStop(v *view) (r stopReport, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.state.phase
	if _, err := s.transitionLocked(stopShown); err != nil {
		return r, false
	}
	s.install(v)
	r.threadID = v.tellingThread()
	if _, known := v.byID[s.selected]; known && s.stops > 0 {
		r.threadID = s.selected
		r.preserve = was == stopped
	}
	r.invalidate = was == stopped && s.clientInvalidates
	s.stops++
	return r, true
}

// install makes v the view requests are answered from. Callers hold s.mu.
func (s *session) install(v *view) {
	s.view = v
	s.frames.forget(func(threadID int) bool {
		_, ok := v.byID[threadID]
		return ok || threadID == s.moreID
	})
}

// replace makes v, a snapshot taken while the session is not stopped, the view requests are
// answered from, unless a newer one is shown already, and returns the thread events that tell the
// client which listed threads have gone and which are new. Callers hold s.mu.
func (s *session) replace(v *view) []dap.ThreadEventBody {
	if s.view != nil && v.snap.CapturedAt.Before(s.view.snap.CapturedAt) {
		return nil
	}
	s.install(v)
	if s.shown == nil {
		return nil // the client has not asked for the threads yet
	}
	now := s.listedIDs(v)
	var events []dap.ThreadEventBody
	var gone []int
	for id := range s.shown {
		if _, ok := now[id]; !ok {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		events = append(events, dap.ThreadEventBody{Reason: "exited", ThreadId: id})
	}
	var started []int
	for id := range now {
		if _, ok := s.shown[id]; !ok {
			started = append(started, id)
		}
	}
	slices.Sort(started)
	for _, id := range started {
		events = append(events, dap.ThreadEventBody{Reason: "started", ThreadId: id})
	}
	s.shown = now
	return events
}

// listedIDs is the ids of the threads the client would be given for v. Callers hold s.mu.
func (s *session) listedIDs(v *view) map[int]struct{} {
	telling := v.tellingThread()
	keep := s.selected
	if _, ok := v.byID[keep]; !ok {
		keep = telling
	}
	list, left := v.threadList(s.args.MaxThreads, keep, telling)
	ids := make(map[int]struct{}, len(list)+1)
	for _, e := range list {
		ids[e.id] = struct{}{}
	}
	if left.tasks > 0 {
		ids[s.moreRowID()] = struct{}{}
	}
	return ids
}

// sendThreadEvents sends the events replace returned.
func (s *session) sendThreadEvents(events []dap.ThreadEventBody) {
	for _, e := range events {
		s.conn.event("thread", e)
	}
}

// reportStop publishes v and sends the stopped event for it.
func (s *session) reportStop(v *view, r stopReport) {
	s.reportStopGraph(v, s.encodeGraph(v, nil), r)
}

// reportStopGraph is reportStop with the awaitGraph body of v already encoded.
func (s *session) reportStopGraph(v *view, graph []byte, r stopReport) {
	s.publish(v, graph)
	n := len(v.snap.Tasks)
	at := v.snap.CapturedAt.Local()
	s.conn.event("stopped", dap.StoppedEventBody{
		// Not "pause": VS Code labels the threads a stop named before "Paused on <reason>",
		// and what stopped is a snapshot.
		Reason: "snapshot",
		// Clients show the description beside the thread: short, so that the thread's name
		// stays readable.
		Description: "snapshot " + at.Format("15:04:05"),
		Text: fmt.Sprintf("Snapshot of %s %s at %s; the process keeps running", thousands(n),
			plural(n, "task", "tasks"), at.Format("15:04:05.000")),
		ThreadId:          r.threadID,
		PreserveFocusHint: r.preserve,
		AllThreadsStopped: true,
	})
	if r.invalidate {
		s.conn.event("invalidated", dap.InvalidatedEventBody{Areas: []dap.InvalidatedAreas{"variables"}})
	}
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
