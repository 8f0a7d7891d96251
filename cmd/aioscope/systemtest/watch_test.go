package systemtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

// System tests of aioscope watch and aioscope check against real CPython 3.14 and 3.15 targets
// whose own output says what happened and when: testdata/scenarios/health.py prints when its
// task gets stuck, when its sleeper began and when each block of its loop started and ended.

func parseStamp(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}

type checkDoc struct {
	PID      int               `json:"pid"`
	Healthy  bool              `json:"healthy"`
	Samples  int               `json:"samples"`
	Findings []json.RawMessage `json:"findings"`
}

type findingDoc struct {
	Kind         string  `json:"kind"`
	Seconds      float64 `json:"seconds"`
	Since        string  `json:"since"`
	AtLeast      bool    `json:"at_least"`
	Milliseconds float64 `json:"milliseconds"`
	PrecisionMS  float64 `json:"precision_ms"`
	StartedAt    string  `json:"started_at"`
	Count        int     `json:"count"`
	Ongoing      bool    `json:"ongoing"`
	Task         *struct {
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"task"`
	Site *struct {
		Function string `json:"function"`
	} `json:"site"`
	Frames []struct {
		Function string `json:"function"`
	} `json:"frames"`
}

// TestCheckFindings runs check against health.py: it must flag exactly the task stuck on an
// Event (not main, which awaits the TaskGroup; not the sleeper; never a churning task) with its
// stuck time within one interval of the truth, and exactly the blocking function with the
// longest of its blocks; text and JSON agree; the JSON matches its schema.
func TestCheckFindings(t *testing.T) {
	bin := testtarget.Binary(t)
	schemas := loadSchemas(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "1", "300,200", "1.5")
			pid := strconv.Itoa(tg.PID)
			waits := testtarget.WatchRunDelay(t, tg.PID)
			started := time.Now()
			stdout, stderr, code := runBounded(t, bin, "check", "--for", "5s", "--stuck", "2s", "--json", pid)
			ended := time.Now()
			if code != exitError || len(stderr) != 0 {
				t.Fatalf("exit %d, want 1 (findings)\nstderr: %s\nstdout: %s", code, stderr, stdout)
			}
			if err := schemas.Validate(schema.Check, stdout); err != nil {
				t.Errorf("%v\n%s", err, stdout)
			}
			var doc checkDoc
			if err := json.Unmarshal(stdout, &doc); err != nil {
				t.Fatal(err)
			}
			out := tg.Stdout()
			stuckAt, blocks := testtarget.Printed(t, out, "STUCK"), testtarget.Printed(t, out, "BLOCK")
			if len(stuckAt) != 1 || len(blocks) != 2 {
				t.Fatalf("the target printed STUCK %v, BLOCK %v", stuckAt, blocks)
			}
			var kinds []string
			for _, raw := range doc.Findings {
				var f findingDoc
				if err := json.Unmarshal(raw, &f); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, f.Kind)
				switch f.Kind {
				case "stuck":
					if f.Task == nil || f.Task.Name == nil || *f.Task.Name != "stuck-forever" || f.AtLeast {
						t.Errorf("stuck: %s", raw)
						continue
					}
					// The first snapshot that saw it there is at most one interval after it began.
					since := parseStamp(t, f.Since)
					if d := since.Sub(testtarget.UnixTime(stuckAt[0][0])); d < 0 || d > time.Second+50*time.Millisecond {
						t.Errorf("stuck since %v, but it began at %v", since, testtarget.UnixTime(stuckAt[0][0]))
					}
					truth := ended.Sub(testtarget.UnixTime(stuckAt[0][0])).Seconds()
					if f.Seconds > truth || f.Seconds < truth-2.5 {
						t.Errorf("stuck for %.3f s, truth at most %.3f s", f.Seconds, truth)
					}
				case "loop_blocked":
					longest := 0.0
					for _, b := range blocks {
						longest = max(longest, (b[1]-b[0])*1000)
					}
					// The block goes on while the callback, its sleep over, waits for a CPU to
					// finish on (a busy machine): that time, as the kernel counts it, is allowed.
					start := parseStamp(t, f.StartedAt)
					starved := waits.During(start, start.Add(time.Duration(f.Milliseconds*float64(time.Millisecond))))
					if f.Site == nil || f.Site.Function != "blocking_call" || f.Task != nil || f.Count != 2 ||
						math.Abs(f.Milliseconds-longest) > f.PrecisionMS+20+float64(starved.Milliseconds()) {
						t.Errorf("loop_blocked: %s; blocks printed %v, the longest %.1f ms; the thread waited %v for a CPU meanwhile", raw, blocks, longest, starved)
					}
				default:
					t.Errorf("unexpected finding %s", raw)
				}
			}
			if strings.Join(kinds, ",") != "stuck,loop_blocked" || doc.Healthy || doc.PID != tg.PID {
				t.Errorf("findings %v, healthy %v", kinds, doc.Healthy)
			}
			t.Logf("%d samples in %v", doc.Samples, ended.Sub(started))
			if doc.Samples < 100 {
				t.Errorf("only %d samples in %v", doc.Samples, ended.Sub(started))
			}

			// The same findings as text, one line each, from a target of its own.
			tg = testtarget.Start(t, version, "health.py", "0.2", "300", "0.8")
			stdout, _, code = runBounded(t, bin, "check", "--for", "4s", "--stuck", "2s", strconv.Itoa(tg.PID))
			lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
			if code != exitError || len(lines) < 2 ||
				!strings.HasPrefix(lines[0], "task stuck-forever (0x") || !strings.Contains(lines[0], " at wait_forever ") ||
				!strings.HasPrefix(lines[1], fmt.Sprintf("event loop of thread %d blocked ", tg.PID)) || !strings.Contains(lines[1], " in blocking_call ") {
				t.Errorf("text findings (exit %d):\n%s", code, stdout)
			}
		})
	}
}

// TestCheckHealthy watches a loop that is busy but healthy: almost never in its selector, one
// task that sample after sample finds at the same line (each time in another step), many short
// callbacks. No block may be reported but those of the process itself waiting for a CPU (a busy
// test machine): stalls the target sees in its own work and prints, or time its thread spent
// waiting to run, read from the kernel. The same target with a callback that blocks it for 250 ms
// now and then must have every one of those reported, by check and by watch: a block is reported
// when two samples of it are 100 ms apart, so 150 ms to spare lets the sampler fall behind by that
// much; only a sampler starved far below its rate may miss some.
func TestCheckHealthy(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "busy.py")
			waits := testtarget.WatchRunDelay(t, tg.PID)
			blocks, _ := watchBlocks(t, bin, tg, "20s")
			stalls := testtarget.Printed(t, tg.Stdout(), "STALL")
			starved := 0
			for _, b := range blocks {
				switch {
				case overlaps(b, stalls):
				case waitedForCPU(waits, b):
					starved++
				default:
					t.Errorf("a healthy loop reported blocked: %+v (its thread waited %v for a CPU meanwhile; the process saw stalls %v)",
						b, waits.During(b.start, b.end), stalls)
				}
			}
			t.Logf("20 s: %d blocks reported, %d stalls of the target itself, %d more blocks while it waited for a CPU", len(blocks), len(stalls), starved)

			tg = testtarget.Start(t, version, "busy.py", "250", "1.5")
			waits = testtarget.WatchRunDelay(t, tg.PID)
			blocks, lines := watchBlocks(t, bin, tg, "6s")
			truth, stalls := testtarget.Printed(t, tg.Stdout(), "BLOCK"), testtarget.Printed(t, tg.Stdout(), "STALL")
			found := 0
			for _, b := range blocks {
				switch {
				case b.site == "blocking_call" && overlaps(b, truth):
					found++
				case !overlaps(b, stalls) && !waitedForCPU(waits, b):
					t.Errorf("reported blocked: %+v (blocks %v, stalls %v)", b, truth, stalls)
				}
			}
			rate := sampleRate(t, lines, 6*time.Second)
			switch {
			case len(truth) < 3:
				t.Errorf("the target blocked only %d times", len(truth))
			case found == len(truth):
			case rate < 40 && found > 0:
				t.Logf("%d of %d blocks reported by a sampler starved to %.0f samples a second", found, len(truth), rate)
			default:
				t.Errorf("%d of %d blocks reported (%.0f samples a second)", found, len(truth), rate)
			}
			stdout, stderr, code := runBounded(t, bin, "check", "--for", "3s", strconv.Itoa(tg.PID))
			if code != exitError || !strings.Contains(string(stdout), " in blocking_call ") {
				t.Errorf("check: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// waitedForCPU reports whether the target's thread spent at least a third of a reported block
// waiting for a CPU: a block of a busy machine, not of the program.
func waitedForCPU(waits *testtarget.RunDelays, b reportedBlock) bool {
	return waits.During(b.start, b.end) >= b.end.Sub(b.start)/3
}

// sampleRate is the samples a second that watch's lines say it took over d.
func sampleRate(t *testing.T, lines []string, d time.Duration) float64 {
	t.Helper()
	samples := 0
	for _, line := range lines {
		var l struct {
			Event string `json:"event"`
			Reads struct {
				Samples int `json:"samples"`
			} `json:"reads"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if l.Event == "snapshot" {
			samples = l.Reads.Samples
		}
	}
	return float64(samples) / d.Seconds()
}

// reportedBlock is a loop_blocked line of watch.
type reportedBlock struct {
	start, end time.Time
	site       string
}

// overlaps reports whether the block overlaps one of the intervals a target printed.
func overlaps(b reportedBlock, intervals [][]float64) bool {
	for _, iv := range intervals {
		if b.start.Before(testtarget.UnixTime(iv[1]).Add(20*time.Millisecond)) && testtarget.UnixTime(iv[0]).Before(b.end.Add(20*time.Millisecond)) {
			return true
		}
	}
	return false
}

// watchBlocks runs watch --json for a while and returns the blocks it reported and its lines.
func watchBlocks(t *testing.T, bin string, tg *testtarget.Target, d string) ([]reportedBlock, []string) {
	t.Helper()
	stdout, stderr, code := runBounded(t, bin, "watch", "--json", "--for", d, strconv.Itoa(tg.PID))
	if code != exitOK {
		t.Fatalf("watch: exit %d: %s", code, stderr)
	}
	var blocks []reportedBlock
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	for _, line := range lines {
		var l struct {
			Event        string  `json:"event"`
			StartedAt    string  `json:"started_at"`
			Milliseconds float64 `json:"milliseconds"`
			Site         *struct {
				Function string `json:"function"`
			} `json:"site"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if l.Event != "loop_blocked" {
			continue
		}
		b := reportedBlock{start: parseStamp(t, l.StartedAt)}
		b.end = b.start.Add(time.Duration(l.Milliseconds * float64(time.Millisecond)))
		if l.Site != nil {
			b.site = l.Site.Function
		}
		blocks = append(blocks, b)
	}
	return blocks, lines
}

type watchLine struct {
	Event        string  `json:"event"`
	At           string  `json:"at"`
	Milliseconds float64 `json:"milliseconds"`
	PrecisionMS  float64 `json:"precision_ms"`
	Task         *struct {
		Name *string `json:"name"`
	} `json:"task"`
	Site *struct {
		Function string `json:"function"`
	} `json:"site"`
	Longest []struct {
		Task struct {
			Name string `json:"name"`
		} `json:"task"`
		Since string `json:"since"`
		Exact bool   `json:"exact"`
	} `json:"longest"`
}

// TestWatchLines runs watch with stdout on a pipe: it writes JSON Lines, every line valid
// against the schema; each block of the loop is reported once, soon after it ended, with its
// duration; the stuck task once; the sleeper's wait began exactly when it printed.
func TestWatchLines(t *testing.T) {
	bin := testtarget.Binary(t)
	schemas := loadSchemas(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "1", "300,150", "1.5")
			cmd := exec.Command(bin, "watch", "--for", "5s", "--stuck", "2s", strconv.Itoa(tg.PID))
			pipe, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			type received struct {
				line []byte
				at   time.Time
			}
			var lines []received
			sc := bufio.NewScanner(pipe)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				lines = append(lines, received{append([]byte(nil), sc.Bytes()...), time.Now()})
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("watch: %v\n%s", err, stderr.String())
			}
			out := tg.Stdout()
			blocks, slept := testtarget.Printed(t, out, "BLOCK"), testtarget.Printed(t, out, "SLEEPING")
			var events []string
			nb := 0
			for _, r := range lines {
				if err := schemas.Validate(schema.WatchLine, r.line); err != nil {
					t.Errorf("%v\n%s", err, r.line)
				}
				var l watchLine
				if err := json.Unmarshal(r.line, &l); err != nil {
					t.Fatal(err)
				}
				events = append(events, l.Event)
				switch l.Event {
				case "loop_blocked":
					if nb >= len(blocks) {
						t.Errorf("more blocks than the target had: %s", r.line)
						continue
					}
					b := blocks[nb]
					nb++
					truth := (b[1] - b[0]) * 1000
					if math.Abs(l.Milliseconds-truth) > l.PrecisionMS+20 || l.Site == nil || l.Site.Function != "blocking_call" || l.Task != nil {
						t.Errorf("block of %.1f ms reported as %s", truth, r.line)
					}
					// Reported soon after it ended (the bound here is loose; the benchmark
					// measures it).
					if late := r.at.Sub(testtarget.UnixTime(b[1])); late > time.Second {
						t.Errorf("a block was reported %v after it ended", late)
					}
				case "snapshot":
					for _, w := range l.Longest {
						if w.Task.Name == "sleeper" && w.Exact {
							if d := parseStamp(t, w.Since).Sub(testtarget.UnixTime(slept[0][0])); d.Abs() > 20*time.Millisecond {
								t.Errorf("sleeper since %s, began at %v", w.Since, testtarget.UnixTime(slept[0][0]))
							}
						}
					}
				}
			}
			joined := strings.Join(events, " ")
			if nb != len(blocks) || strings.Count(joined, "stuck") != 1 || strings.Count(joined, "snapshot") < 5 || events[0] != "snapshot" {
				t.Errorf("events: %v; the target blocked %d times", events, len(blocks))
			}
		})
	}
}

// screen is a terminal emulator fed by a pseudo-terminal.
type screen struct {
	mu  sync.Mutex
	emu *vt.Emulator
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.Write(p)
}

func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.String()
}

// waitFor waits until the screen shows every one of want, and returns it.
func (s *screen) waitFor(t *testing.T, what string, want ...string) string {
	t.Helper()
	txt, ok := s.waitWithin(15*time.Second, want...)
	if !ok {
		t.Fatalf("%s: the screen never showed %q:\n%s", what, want, txt)
	}
	return txt
}

// waitWithin waits up to d until the screen shows every one of want; it returns the screen and
// whether it did.
func (s *screen) waitWithin(d time.Duration, want ...string) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		txt := s.text()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(txt, w)
		}
		if ok || time.Now().After(deadline) {
			return txt, ok
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchTerminal runs watch in a pseudo-terminal and reads its screen with a terminal
// emulator: it draws the header, the places tasks wait, the longest waits and the blocks, and
// reacts to pause, filter, sort, expand and quit.
func TestWatchTerminal(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "0.5", "300", "1")
			cmd := exec.Command(bin, "watch", "--stuck", "1s", strconv.Itoa(tg.PID))
			cmd.Env = append(cmd.Environ(), "TERM=xterm-256color")
			ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 140})
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			scr := &screen{emu: vt.NewEmulator(140, 40)}
			go func() { _, _ = io.Copy(scr, ptmx) }()
			go func() { _, _ = io.Copy(ptmx, scr.emu) }() // the terminal's answers to queries
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			key := func(s string) {
				if _, err := ptmx.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}

			header := fmt.Sprintf("aioscope watch %d · Python %s", tg.PID, version)
			scr.waitFor(t, "first draw", header, "WHERE TASKS WAIT", "LONGEST WAITING", "BLOCKED EVENT LOOP",
				"stuck-forever", "sleeper", "wait_forever health.py")
			scr.waitFor(t, "a block", "blocked-loop alert", "blocking_call health.py")
			key("p")
			scr.waitFor(t, "pause", "PAUSED")
			key("p")
			key("/")
			key("stuck")
			key("\r")
			txt := scr.waitFor(t, "filter", `filter: "stuck"`)
			if strings.Contains(txt, "  sleeper  ") || strings.Contains(txt, "churn-") {
				t.Errorf("the filter left other tasks:\n%s", txt)
			}
			key("s")
			scr.waitFor(t, "sort", "sort: trend")
			// A key can reach the view together with the terminal's late answer to one of its
			// queries, and be lost with it; a key the view did not act on within seconds is
			// pressed again, and the view must still react.
			expanded := false
			for try := 0; try < 3 && !expanded; try++ {
				key("\r")
				_, expanded = scr.waitWithin(5*time.Second, "awaited by task Task-1", "(0x")
			}
			if !expanded {
				scr.waitFor(t, "expand", "awaited by task Task-1", "(0x")
			}
			key("q")
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("watch ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("watch did not quit on q")
			}
		})
	}
}

// TestWatchCheckBadInput: the commands fail as ps does for processes they cannot read, and with
// status 2 and a usage line for bad arguments.
func TestWatchCheckBadInput(t *testing.T) {
	bin := testtarget.Binary(t)
	sleeper := startRaw(t, "sleep", "300")
	for _, cmd := range []string{"watch", "check"} {
		for _, pid := range []string{"999999999", strconv.Itoa(sleeper)} {
			_, psErr, _ := runBounded(t, bin, "ps", pid)
			got := expectError(t, bin, exitError, nil, cmd, "--for", "1s", pid)
			if got != strings.TrimSpace(string(psErr)) {
				t.Errorf("aioscope %s %s: %q, ps says %q", cmd, pid, got, psErr)
			}
		}
		expectError(t, bin, exitUsage, []string{"expected one PID"}, cmd)
		expectError(t, bin, exitUsage, []string{"invalid PID"}, cmd, "abc")
		expectError(t, bin, exitUsage, []string{"--interval"}, cmd, "--interval", "0s", "42")
		expectError(t, bin, exitUsage, []string{"invalid value"}, cmd, "--stuck", "soon", "42")
	}
	expectError(t, bin, exitUsage, []string{"--stuck 30s cannot be reached in --for 5s"}, "check", "--for", "5s", "--stuck", "30s", "42")
	expectError(t, bin, exitUsage, []string{"--filter"}, "check", "--filter", "(", "42")
}

// TestReadOnlyStraceWatchCheck runs watch and check under strace, as TestReadOnlyStrace does ps.
func TestReadOnlyStraceWatchCheck(t *testing.T) {
	strace := straceBinary(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "0.5", "200", "0.5")
			for _, args := range [][]string{{"watch", "--for", "2s"}, {"check", "--for", "2s"}} {
				cmdline, out := underStrace(t, strace, slices.Concat([]string{bin}, args, []string{strconv.Itoa(tg.PID)})...)
				stdout, stderr, code := runBounded(t, cmdline[0], cmdline[1:]...)
				if code == exitUsage || len(stdout) == 0 || len(stderr) != 0 {
					t.Fatalf("strace aioscope %v: exit %d\nstderr: %s", args, code, stderr)
				}
				checkReadOnlyTrace(t, out, tg.PID, strings.Join(args, " "))
			}
		})
	}
}
