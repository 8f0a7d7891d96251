package editortest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// nvimResult is what testdata/neovim.lua saw.
type nvimResult struct {
	Errors     []string `json:"errors"`
	ServerName string   `json:"server_name"`
	Lenses     []struct {
		Line  int    `json:"line"`
		Title string `json:"title"`
	} `json:"lenses"`
	Drawn []struct {
		Line int    `json:"line"`
		Text string `json:"text"`
	} `json:"drawn"`
	Hovers []struct {
		Line  int    `json:"line"`
		Value string `json:"value"`
	} `json:"hovers"`
	Diagnostics []struct {
		Line     int    `json:"line"`
		Severity int    `json:"severity"`
		Message  string `json:"message"`
	} `json:"diagnostics"`
	EmptyHover any  `json:"empty_hover"`
	Stopped    bool `json:"stopped"`
}

// TestNeovimLensesAndHover starts Neovim's built-in LSP client, headless, on tree.py while a
// real CPython runs it, and checks the code lenses Neovim draws and the hovers it gets.
func TestNeovimLensesAndHover(t *testing.T) {
	nvim := neovim(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "tree.py")
			res := runNeovim(t, nvim, bin, tg.PID, testtarget.ScenarioPath("tree.py"), 5, nil)
			if res.ServerName != "aioscope" {
				t.Errorf("server name %q", res.ServerName)
			}
			// tree.py: every leaf waits in deep() (line 7), through c1() (line 10) for those
			// started by c2() and gather_part(); the TaskGroups wait at their async with.
			want := map[int]string{
				6:  "⏸ 9 tasks · tâche-ünïcode, emoji-😀, Task-2, …",
				9:  "⏸ 6 tasks · A-leaf-1, A-leaf-2, B-leaf-1, …",
				12: "⏸ 2 tasks · Task-A, Task-B",
				17: "⏸ 1 task · gatherer",
				20: "⏸ 1 task · Task-1",
			}
			got := map[int]string{}
			for _, l := range res.Lenses {
				got[l.Line] = waitless(l.Title)
			}
			drawn := map[int]string{}
			for _, d := range res.Drawn {
				drawn[d.Line] = waitless(d.Text)
			}
			for line, title := range want {
				if got[line] != title {
					t.Errorf("lens on line %d: %q, want %q", line+1, got[line], title)
				}
				if drawn[line] != title {
					t.Errorf("Neovim drew %q on line %d, want %q", drawn[line], line+1, title)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d lenses, want %d: %v", len(got), len(want), got)
			}
			hovers := map[int]string{}
			for _, h := range res.Hovers {
				hovers[h.Line] = h.Value
			}
			for line, parts := range map[int][]string{
				6:  {"9 tasks are suspended here", "in `deep`", "`A-leaf-1` — waits in `sleep` — awaited by Task-A", "`Task-3` — waits in `sleep` — awaited by gatherer"},
				12: {"2 tasks are suspended here", "`Task-A` `c2(tg_name='A')` — waits in `TaskGroup._aexit` — awaited by Task-1"},
				20: {"1 task is suspended here", "in `main`", "`Task-1` — waits in `TaskGroup._aexit`"},
			} {
				for _, p := range parts {
					if !strings.Contains(hovers[line], p) {
						t.Errorf("hover on line %d lacks %q:\n%s", line+1, p, hovers[line])
					}
				}
			}
			if res.EmptyHover != nil {
				t.Errorf("hover on line 1, where nothing waits: %v", res.EmptyHover)
			}
			if !res.Stopped {
				t.Error("the client did not stop")
			}
		})
	}
}

// TestNeovimWarnings runs Neovim's client on health.py: the stuck task and the blocked event loop
// are warnings on their lines, and the lenses say how long the tasks have waited.
func TestNeovimWarnings(t *testing.T) {
	nvim := neovim(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "0.2", strings.Repeat("300,", 20), "1")
			waits := testtarget.WatchRunDelay(t, tg.PID)
			res := runNeovim(t, nvim, bin, tg.PID, testtarget.ScenarioPath("health.py"), 4,
				[]string{"AIOSCOPE_STUCK=1000", "AIOSCOPE_DIAGNOSTICS=stuck: task stuck-forever|event loop blocked here"})
			// health.py: stuck-forever waits on line 24, the loop blocks on line 46.
			lines := map[string]int{"stuck: task stuck-forever has waited here for": 23, blockedPrefix: 45}
			for prefix, line := range lines {
				found := false
				for _, d := range res.Diagnostics {
					if !strings.HasPrefix(d.Message, prefix) {
						continue
					}
					switch {
					case d.Line == line && d.Severity == 2:
						found = true
					case d.Severity == 2 && prefix == blockedPrefix && starvedLoop(waits):
						t.Logf("%q on line %d: the target waited for a CPU", d.Message, d.Line+1)
					default:
						t.Errorf("%q on line %d with severity %d, want a warning on line %d", d.Message, d.Line+1, d.Severity, line+1)
					}
				}
				if !found {
					t.Errorf("no warning %q… on line %d: %+v", prefix, line+1, res.Diagnostics)
				}
			}
			titles := map[int]string{}
			for _, l := range res.Lenses {
				titles[l.Line] = l.Title
			}
			if !regexp.MustCompile(`^⏸ 1 task · sleeper · waiting \d+ s$`).MatchString(titles[28]) {
				t.Errorf("lens on the sleeper's line: %q", titles[28])
			}
		})
	}
}

// blockedPrefix starts the message of a blocked event loop's warning.
const blockedPrefix = "event loop blocked here"

// starvedLoop reports whether the target's thread waited for a CPU, since it started, for as
// long as a block takes (the 100 ms threshold): on a machine that busy, the callback running when
// the loop was not given a CPU is reported blocked too, wherever it is.
func starvedLoop(waits *testtarget.RunDelays) bool {
	return waits.During(time.Time{}, time.Now()) >= 100*time.Millisecond
}

// waitless drops the waiting time from a lens title: it depends on when the lens was asked for.
func waitless(title string) string {
	if i := strings.Index(title, " · waiting"); i >= 0 {
		return title[:i]
	}
	return title
}

// runNeovim runs testdata/neovim.lua and returns what it saw; errors it met fail the test.
// env adds to the script's environment (AIOSCOPE_STUCK, AIOSCOPE_DIAGNOSTICS).
func runNeovim(t *testing.T, nvim, bin string, pid int, file string, wantLenses int, env []string) nvimResult {
	t.Helper()
	var res nvimResult
	editorScript{
		argv:    []string{nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", "luafile " + testdataScript(t, "neovim.lua")},
		timeout: 2 * time.Minute,
		bin:     bin, pid: pid, file: file,
		env: append([]string{"AIOSCOPE_WANT=" + strconv.Itoa(wantLenses)}, env...),
	}.run(t, &res)
	return res
}

// neovim finds nvim, which `make tools` installs when missing (Debian's neovim package).
func neovim(t *testing.T) string {
	t.Helper()
	return testtarget.Program(t, "nvim", "to test the language server in Neovim: run make tools (apt-get install neovim)")
}
