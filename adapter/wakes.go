package adapter

import (
	"math"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
)

// When sleeping tasks wake: read from the process when asked — for one task in its Task scope,
// for the few an Await Tree shows with aioscope/wakes — and never for every task of every
// snapshot, which would read the variables of every frame.

// readWake reads when a task of a snapshot is due to wake by itself, as it is now: the earliest
// deadline its frames wait for (the timer of the asyncio.sleep it is in, an asyncio.timeout or
// asyncio.wait_for around what it awaits), with In counted from the moment of the read. A task
// that waits for no deadline has none (Known is false); one whose innermost frame has moved on
// since the snapshot gives the error that says so.
func readWake(vr ValueReader, task *snapshot.Task) (snapshot.Wake, error) {
	var soonest snapshot.Wake
	for i := range task.Frames {
		err := vr.InTaskFrame(task, i, func(r *values.Reader, frame uint64) error {
			_, d, err := r.FrameWithDeadline(frame, nil)
			if err != nil || d.Kind == "" {
				return err
			}
			now, err := r.LoopTime()
			if err != nil {
				return err
			}
			if in := d.When - now; !soonest.Known || in < soonest.In {
				soonest = snapshot.Wake{Known: true, In: in, By: wakeBy(d.Kind)}
			}
			return nil
		})
		if err != nil && i == 0 {
			// Where the task waits is not where the snapshot saw it: what it waits for now is
			// not what the views show.
			return snapshot.Wake{}, err
		}
	}
	return soonest, nil
}

// wakeBy names a values.Deadline's kind as snapshot.Wake does.
func wakeBy(kind string) string {
	switch kind {
	case values.DeadlineSleep:
		return snapshot.WakeSleep
	case values.DeadlineWaitFor:
		return snapshot.WakeWaitFor
	default:
		return snapshot.WakeTimeout
	}
}

// wakeText says when a task wakes: "3,412 s (asyncio.sleep)", "12 s (asyncio.timeout: it is
// cancelled then)", "overdue by 1.5 s (asyncio.sleep): its event loop is late".
func wakeText(w snapshot.Wake) string {
	by := w.By
	if w.By != snapshot.WakeSleep {
		by += ": it is cancelled then"
	}
	if w.In < 0 {
		return "overdue by " + waittext.Seconds(-w.In) + " (" + w.By + "): its event loop is late"
	}
	return waittext.Seconds(w.In) + " (" + by + ")"
}

// wakeVariable reads when task ti of v wakes, for its Task scope: "wakes in". It is called with
// s.mu held and returns with it held; the target is read without it. ok is false when there is
// nothing to show: the task waits for no deadline, runs, or has moved on.
func (s *session) wakeVariable(v *view, ti int) (dap.Variable, bool) {
	vr, ok := s.valueSource()
	if !ok {
		return dap.Variable{}, false
	}
	task := &v.snap.Tasks[ti]
	if _, running := v.running[task.ID]; running || len(task.Frames) == 0 {
		return dap.Variable{}, false
	}
	s.mu.Unlock()
	w, err := readWake(vr, task)
	s.mu.Lock()
	if err != nil || !w.Known {
		return dap.Variable{}, false
	}
	return dap.Variable{Name: "wakes in", Value: wakeText(w), Type: "str"}, true
}

// waitVariable is how long task ti of v has waited where it is, for its Task scope: "waiting".
func waitVariable(v *view, ti int, stuckAfter string) (dap.Variable, bool) {
	w := v.waitOf(ti)
	text := waittext.Wait(w.age, w.atLeast)
	if _, running := v.running[v.snap.Tasks[ti].ID]; running || text == "" {
		return dap.Variable{}, false
	}
	switch {
	case w.stuck:
		text += " — stuck: it awaits no other task and has not moved for " + stuckAfter + " or more"
	case w.atLeast:
		text += " (it was waiting there before the session could tell when it began)"
	}
	return dap.Variable{Name: "waiting", Value: text, Type: "str"}, true
}

// wakesBody is the response to aioscope/wakes: when the tasks asked about wake, as read now;
// see schema/wakes.schema.json.
type wakesBody struct {
	CapturedAt string      `json:"capturedAt"`
	Wakes      []taskWakes `json:"wakes"`
}

type taskWakes struct {
	ThreadID int `json:"threadId"`
	// Seconds is the time left until the deadline at the moment of the read, negative when it
	// has passed; null when the task waits for no deadline or could not be read.
	Seconds *float64 `json:"seconds"`
	By      string   `json:"by,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// maxWakes bounds the tasks one aioscope/wakes request reads.
const maxWakes = 500

// onWakes answers aioscope/wakes: {"threadIds": [...]}, tasks of the snapshot last published as
// an awaitGraph.
func (s *session) onWakes(req request) (any, error) {
	var args struct {
		ThreadIDs []int `json:"threadIds"`
	}
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	if len(args.ThreadIDs) > maxWakes {
		return nil, userErrorf("aioscope/wakes reads at most %d tasks at a time, not %d", maxWakes, len(args.ThreadIDs))
	}
	s.mu.Lock()
	v, vr, err := s.publishedValues()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	body := wakesBody{CapturedAt: formatCapturedAt(v), Wakes: make([]taskWakes, 0, len(args.ThreadIDs))}
	for _, id := range args.ThreadIDs {
		tw := taskWakes{ThreadID: id}
		i, ok := v.byID[id]
		switch {
		case !ok || v.entries[i].kind != taskEntry:
			tw.Error = "not a task of this snapshot"
		default:
			w, err := readWake(vr, &v.snap.Tasks[v.entries[i].index])
			switch {
			case err != nil:
				tw.Error = explain(err)
			case w.Known && !math.IsNaN(w.In) && !math.IsInf(w.In, 0):
				tw.Seconds, tw.By = &w.In, w.By
			}
		}
		body.Wakes = append(body.Wakes, tw)
	}
	return body, nil
}
