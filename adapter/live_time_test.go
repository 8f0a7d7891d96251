package adapter

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

// loadSchemas loads the JSON Schemas of the adapter's bodies.
func loadSchemas(t testing.TB) *schema.Set {
	t.Helper()
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}

// followRefreshing starts scenario with args (then calls started, if not nil, with its PID),
// attaches to it with attach (and its processId), continues, and returns what the session sent in d of refreshing, with the first stop's
// awaitGraph.
func followRefreshing(t *testing.T, version, scenario string, attach map[string]any, d time.Duration, started func(pid int), args ...string) (*testtarget.Target, *client, awaitGraph, []*daptest.Message) {
	t.Helper()
	tg, c := liveSession(t, version, scenario, args...)
	if started != nil {
		started(tg.PID)
	}
	attach["processId"] = tg.PID
	_, first := c.attachAndStop(attach)
	c.Threads()
	c.OK("continue", nil, nil)
	return tg, c, first, c.Drain(d)
}

// loopBlocked is the body of the aioscope/loopBlocked event.
type loopBlocked struct {
	TID          uint64 `json:"tid"`
	ThreadID     int    `json:"threadId"`
	Milliseconds int64  `json:"milliseconds"`
	PrecisionMs  int64  `json:"precisionMs"`
	StartedAt    string `json:"startedAt"`
	Ongoing      bool   `json:"ongoing"`
	Task         *struct {
		ThreadID int    `json:"threadId"`
		Name     string `json:"name"`
	} `json:"task"`
	Site   *graphFrame  `json:"site"`
	Frames []graphFrame `json:"frames"`
}

// TestLiveTime follows health.py while refreshing: how long each task has waited (against the
// times the target printed), the task stuck on an Event that is never set — and only it —
// flagged stuck in the awaitGraph and its row, the loop's blocks reported as aioscope/loopBlocked
// events in exactly the function that blocks, with their durations, one of them while it still
// goes on, the loop's lag, and after a pause, when the sleeper wakes (its Task scope and
// aioscope/wakes), within a tolerance.
func TestLiveTime(t *testing.T) {
	schemas := loadSchemas(t)
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			// Stuck after 1 s; blocks of 300 and 1,300 ms, 1.5 s apart.
			const refresh, stuckAfter = 500 * time.Millisecond, 2 * time.Second
			tg, c, first, msgs := followRefreshing(t, version, "health.py",
				map[string]any{"refreshInterval": refresh.Milliseconds(), "stuckThreshold": stuckAfter.Milliseconds()},
				5500*time.Millisecond, nil, "1", "300,1300", "1.5")
			out := tg.Stdout()
			stuckAt, sleeping, blocks := testtarget.Printed(t, out, "STUCK"), testtarget.Printed(t, out, "SLEEPING"), testtarget.Printed(t, out, "BLOCK")
			if len(stuckAt) != 1 || len(sleeping) != 1 || len(blocks) != 2 {
				t.Fatalf("the target printed STUCK %v, SLEEPING %v, BLOCK %v", stuckAt, sleeping, blocks)
			}

			graphs, events := timeEvents(t, schemas, msgs)
			if len(graphs) < 8 {
				t.Fatalf("%d awaitGraph events in 5.5 s of refreshing every %v", len(graphs), refresh)
			}
			checkWaits(t, graphs, capturedAt(t, first), testtarget.UnixTime(stuckAt[0][0]), stuckAfter, refresh)
			checkBlocks(t, events, graphs, blocks, tg.PID)

			// Paused: the rows say how long tasks have waited, the stuck one marked.
			c.OK("pause", nil, nil)
			// The graph published with the stop: the last before the stopped event (refreshes
			// may have published others after the drain).
			var g awaitGraph
			c.WaitFor("the stop", func(m *daptest.Message) bool {
				if m.IsEvent("aioscope/awaitGraph") {
					g = awaitGraph{}
					daptest.Decode(t, m.Body, &g)
				}
				return m.IsEvent("stopped")
			})
			if g.Loops != nil {
				t.Errorf("the paused snapshot has loops, though nothing samples them: %+v", g.Loops)
			}
			ids := map[string]int{}
			waited := map[string]int64{}
			for _, task := range g.Tasks {
				ids[task.Name] = task.ThreadID
				if task.WaitedMs != nil {
					waited[task.Name] = *task.WaitedMs
				}
			}
			rows := map[int]string{}
			for _, th := range c.Threads() {
				rows[th.Id] = th.Name
			}
			stuckRow := regexp.MustCompile(`^⏳ stuck-forever · wait_forever health\.py:[0-9]+ · stuck (≥ )?([0-9]+) s$`)
			if m := stuckRow.FindStringSubmatch(rows[ids["stuck-forever"]]); m == nil || m[2] != strconv.FormatInt(waited["stuck-forever"]/1000, 10) {
				t.Errorf("stuck-forever's row is %q (waited %d ms)", rows[ids["stuck-forever"]], waited["stuck-forever"])
			}
			sleeperRow := regexp.MustCompile(`^sleeper · sleeper health\.py:[0-9]+ · waiting ≥ [0-9]+ s$`)
			if !sleeperRow.MatchString(rows[ids["sleeper"]]) {
				t.Errorf("sleeper's row is %q", rows[ids["sleeper"]])
			}
			for id, row := range rows {
				if strings.HasPrefix(row, stuckMark) && id != ids["stuck-forever"] {
					t.Errorf("row %q is marked stuck", row)
				}
			}

			// The Task scopes: how long, and when the sleeper wakes, read now.
			taskScope := func(name string) map[string]dap.Variable {
				frames := c.StackTrace(ids[name], 0, 1).StackFrames
				return varsByName(c.Variables(scopeNamed(t, c.Scopes(frames[0].Id), "Task").VariablesReference))
			}
			stuckVars := taskScope("stuck-forever")
			if w := stuckVars["waiting"].Value; !strings.Contains(w, "stuck: it awaits no other task and has not moved for 2 s or more") {
				t.Errorf("stuck-forever's Task scope says waiting %q", w)
			}
			if _, ok := stuckVars["wakes in"]; ok {
				t.Errorf("stuck-forever, waiting on an Event, wakes in %q", stuckVars["wakes in"].Value)
			}
			wakeAt := testtarget.UnixTime(sleeping[0][0]).Add(time.Duration(sleeping[0][1] * float64(time.Second)))
			wakes := taskScope("sleeper")["wakes in"].Value
			want := time.Until(wakeAt).Seconds()
			m := regexp.MustCompile(`^([0-9,]+) s \(asyncio\.sleep\)$`).FindStringSubmatch(wakes)
			if m == nil {
				t.Fatalf("the sleeper wakes in %q", wakes)
			}
			if got, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", "")); math.Abs(float64(got)-want) > 1.5 {
				t.Errorf("the sleeper wakes in %q, want about %.1f s", wakes, want)
			}

			// aioscope/wakes, for the Await Tree.
			var body struct {
				CapturedAt string `json:"capturedAt"`
				Wakes      []struct {
					ThreadID int      `json:"threadId"`
					Seconds  *float64 `json:"seconds"`
					By       string   `json:"by"`
					Error    string   `json:"error"`
				} `json:"wakes"`
			}
			// The read happens between the request and its response: the time left then lies
			// between what is left at either end, however long the answer took to arrive.
			asked := time.Now()
			resp := c.OK("aioscope/wakes", map[string]any{"threadIds": []int{ids["sleeper"], ids["stuck-forever"], 1 << 30}}, &body)
			answered := time.Now()
			most, least := wakeAt.Sub(asked).Seconds(), wakeAt.Sub(answered).Seconds()
			if err := schemas.Validate(schema.Wakes, resp.Body); err != nil {
				t.Error(err)
			}
			if len(body.Wakes) != 3 || body.CapturedAt != g.CapturedAt {
				t.Fatalf("aioscope/wakes: %s", resp.Body)
			}
			if w := body.Wakes[0]; w.Seconds == nil || *w.Seconds > most+0.25 || *w.Seconds < least-0.25 || w.By != "asyncio.sleep" {
				t.Errorf("aioscope/wakes for the sleeper: %s, want %.2f–%.2f s (within 0.25 s)", resp.Body, least, most)
			}
			if w := body.Wakes[1]; w.Seconds != nil || w.Error != "" {
				t.Errorf("aioscope/wakes for stuck-forever: %s", resp.Body)
			}
			if w := body.Wakes[2]; w.Seconds != nil || w.Error == "" {
				t.Errorf("aioscope/wakes for no task: %s", resp.Body)
			}
			c.OK("disconnect", nil, nil)
		})
	}
}

// checkWaits checks the waits of health.py's tasks in the awaitGraphs of a refresh: stuck-forever
// began waiting at began, and is stuck from stuckAfter on; no other task is ever stuck. The
// session's first snapshot, at attached, saw it begin (and its wait is exact) if it came before
// began; else the wait is a lower bound (a busy machine can make the attach that slow).
func checkWaits(t *testing.T, graphs []awaitGraph, attached, began time.Time, stuckAfter, refresh time.Duration) {
	t.Helper()
	seenBeginning := attached.Before(began)
	sawStuck := false
	for _, g := range graphs {
		at := capturedAt(t, g)
		for _, task := range g.Tasks {
			if task.WaitedMs == nil {
				t.Errorf("%s: no wait for %s", g.CapturedAt, task.Name)
				continue
			}
			waited := time.Duration(*task.WaitedMs) * time.Millisecond
			switch {
			case task.Name == "stuck-forever" && at.After(began):
				// The first snapshot that saw it there came within one refresh of when it
				// began; the wait counts from that snapshot.
				truth := at.Sub(began)
				if !seenBeginning {
					truth = at.Sub(attached)
				}
				if waited > truth+5*time.Millisecond || waited < truth-refresh-100*time.Millisecond {
					t.Errorf("%s: stuck-forever waited %v, truth %v", g.CapturedAt, waited, truth)
				}
				if task.AtLeast == seenBeginning {
					t.Errorf("%s: stuck-forever's wait is a lower bound: %v, though the first snapshot came at %v, it began waiting at %v",
						g.CapturedAt, task.AtLeast, attached, began)
				}
				if task.Stuck != (waited >= stuckAfter) {
					t.Errorf("%s: stuck-forever waited %v, stuck %v", g.CapturedAt, waited, task.Stuck)
				}
				sawStuck = sawStuck || task.Stuck
			case task.Stuck:
				t.Errorf("%s: %s (waited %v) is stuck", g.CapturedAt, task.Name, waited)
			case task.Name == "sleeper" && !task.AtLeast:
				t.Errorf("%s: the sleeper's wait, begun before the session, is not a lower bound", g.CapturedAt)
			}
		}
	}
	if !sawStuck {
		t.Error("stuck-forever was never stuck")
	}
}

// checkBlocks checks the aioscope/loopBlocked events and the loops of the awaitGraphs against
// the blocks the target printed: a 300 ms block reported once when it ended, a 1,300 ms one also
// while it went on, both in blocking_call and in no task.
func checkBlocks(t *testing.T, events []loopBlocked, graphs []awaitGraph, truth [][]float64, pid int) {
	t.Helper()
	if len(events) != 3 {
		t.Fatalf("%d loopBlocked events, want 3: %+v", len(events), events)
	}
	if !events[1].Ongoing || events[0].Ongoing || events[2].Ongoing || events[1].StartedAt != events[2].StartedAt {
		t.Errorf("events: %+v", events)
	}
	final := []loopBlocked{events[0], events[2]}
	for i, b := range events {
		if b.Site == nil || b.Site.Name != "blocking_call" || !strings.HasSuffix(b.Site.Path, "/health.py") || b.Task != nil ||
			b.TID != uint64(pid) || b.ThreadID == 0 || len(b.Frames) == 0 || b.Frames[0].Name != "blocking_call" {
			t.Errorf("event %d: %+v", i, b)
		}
	}
	// A block goes on while its callback, the sleep over, waits for a CPU (a busy machine): the
	// time the target's thread waited for one, as the kernel counts it, is allowed on top.
	starved := testtarget.RunDelayTotal(t, pid)
	for i, b := range final {
		want := testtarget.UnixTime(truth[i][1]).Sub(testtarget.UnixTime(truth[i][0]))
		got := time.Duration(b.Milliseconds) * time.Millisecond
		if d := got - want; d.Abs() > time.Duration(b.PrecisionMs)*time.Millisecond+25*time.Millisecond+starved {
			t.Errorf("block %d: %v ± %d ms, truth %v; the target waited %v for a CPU", i, got, b.PrecisionMs, want, starved)
		}
	}
	if got := time.Duration(events[1].Milliseconds) * time.Millisecond; got < ongoingReport || got > 1300*time.Millisecond {
		t.Errorf("the ongoing block was reported after %v", got)
	}
	lagged, blocked := false, false
	for _, g := range graphs[1:] { // the first was taken as sampling began
		if len(g.Loops) != 1 || g.Loops[0].TID != uint64(pid) {
			t.Errorf("%s: loops %+v", g.CapturedAt, g.Loops)
			continue
		}
		l := g.Loops[0]
		lagged = lagged || l.LagMs >= 250
		if l.BlockedMs != nil {
			blocked = true
			if *l.BlockedMs < 100 || l.BlockedSite == nil || l.BlockedSite.Name != "blocking_call" {
				t.Errorf("%s: loop %s", g.CapturedAt, fmt.Sprint(l))
			}
		}
	}
	if !lagged || !blocked {
		enc, _ := json.Marshal(graphs[len(graphs)-1].Loops)
		t.Errorf("no snapshot showed the loop's lag (%v) or its block (%v); the last: %s", lagged, blocked, enc)
	}
}

// TestLiveBusyLoopNotBlocked refreshes busy.py, whose loop is almost never idle but runs no long
// callback: no aioscope/loopBlocked event, while the awaitGraphs show the loop being sampled. A
// process that waits for a CPU (a busy machine) does block its loop: the kernel counts that
// wait (schedstat), and a block is accepted only if, without the waits within it, it would have
// been shorter than the blocked threshold.
func TestLiveBusyLoopNotBlocked(t *testing.T) {
	schemas := loadSchemas(t)
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			var delays *runDelays
			tg, c, _, msgs := followRefreshing(t, version, "busy.py", map[string]any{"refreshInterval": 500}, 3*time.Second,
				func(pid int) { delays = watchRunDelay(t, pid) })
			c.OK("disconnect", nil, nil)
			delays.stop()
			graphs, events := timeEvents(t, schemas, msgs)
			sampled := 0
			for _, g := range graphs {
				if len(g.Loops) == 1 && g.Loops[0].TID == uint64(tg.PID) {
					sampled++
				}
			}
			for _, b := range events {
				start, err := time.Parse(time.RFC3339Nano, b.StartedAt)
				if err != nil {
					t.Fatal(err)
				}
				d := time.Duration(b.Milliseconds) * time.Millisecond
				slack := time.Duration(b.PrecisionMs) * time.Millisecond
				waited := delays.during(start.Add(-slack), start.Add(d+slack))
				if own := d - waited; own >= DefaultBlockedThreshold {
					t.Errorf("a busy but healthy loop reported blocked for %v, %v of it not waiting for a CPU: %+v", d, own, b)
				} else {
					t.Logf("blocked while the process waited %v for a CPU: %+v", waited, b)
				}
			}
			if sampled < 3 {
				t.Errorf("%d awaitGraphs with the loop sampled in 3 s of refreshing every 500 ms", sampled)
			}
		})
	}
}

// runDelays follows how long a process's main thread has waited for a CPU (the run_delay of
// /proc/PID/schedstat), every few milliseconds.
type runDelays struct {
	mu      sync.Mutex
	samples []runDelay
	done    chan struct{}
	stopped chan struct{}
}

type runDelay struct {
	at    time.Time
	delay time.Duration
}

func watchRunDelay(t *testing.T, pid int) *runDelays {
	t.Helper()
	file := fmt.Sprintf("/proc/%d/schedstat", pid)
	read := func() (time.Duration, bool) {
		data, err := os.ReadFile(file)
		f := strings.Fields(string(data))
		if err != nil || len(f) < 2 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		return time.Duration(ns), err == nil
	}
	if _, ok := read(); !ok {
		t.Fatalf("%s cannot be read: how long the target waits for a CPU is unknown", file)
	}
	r := &runDelays{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if d, ok := read(); ok {
				r.mu.Lock()
				r.samples = append(r.samples, runDelay{time.Now(), d})
				r.mu.Unlock()
			}
			select {
			case <-r.done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *runDelays) stop() {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	<-r.stopped
}

// during is how long the thread waited for a CPU from the last sample at or before from to the
// first at or after to: at least its waits within [from, to].
func (r *runDelays) during(from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first, last time.Duration
	haveFirst := false
	for _, s := range r.samples {
		if !s.at.After(from) || !haveFirst {
			first, haveFirst = s.delay, true
		}
		last = s.delay
		if !s.at.Before(to) {
			break
		}
	}
	return last - first
}

// timeEvents decodes the awaitGraph and aioscope/loopBlocked events among msgs, in order,
// validating them against their schemas.
func timeEvents(t *testing.T, schemas *schema.Set, msgs []*daptest.Message) ([]awaitGraph, []loopBlocked) {
	t.Helper()
	var graphs []awaitGraph
	var events []loopBlocked
	for _, m := range msgs {
		switch {
		case m.IsEvent("aioscope/awaitGraph"):
			var g awaitGraph
			daptest.Decode(t, m.Body, &g)
			graphs = append(graphs, g)
			if err := schemas.Validate(schema.AwaitGraph, m.Body); err != nil {
				t.Error(err)
			}
		case m.IsEvent("aioscope/loopBlocked"):
			var b loopBlocked
			daptest.Decode(t, m.Body, &b)
			events = append(events, b)
			if err := schemas.Validate(schema.LoopBlocked, m.Body); err != nil {
				t.Error(err)
			}
		}
	}
	return graphs, events
}
