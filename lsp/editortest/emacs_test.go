package editortest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// eglotResult is what testdata/eglot.el saw.
type eglotResult struct {
	Errors      []string `json:"errors"`
	Server      string   `json:"server"`
	Diagnostics []struct {
		Line int    `json:"line"`
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"diagnostics"`
	Lenses []struct {
		Line  int    `json:"line"`
		Title string `json:"title"`
	} `json:"lenses"`
	Hover   string   `json:"hover"`
	Symbols []string `json:"symbols"`
}

// TestEmacsEglot connects Emacs's eglot, with the configuration README.md gives, to `aioscope lsp`
// on health.py while a real CPython runs it: flymake gets the stuck task and the blocked loop as
// warnings on their lines, the hover (eldoc) says how long the stuck task has waited, and
// workspace/symbol (xref-find-apropos) lists the tasks.
func TestEmacsEglot(t *testing.T) {
	emacs := emacsWithEglot(t)
	bin := testtarget.Binary(t)
	script := testdataScript(t, "eglot.el")
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "0.2", strings.Repeat("300,", 20), "1")
			waits := testtarget.WatchRunDelay(t, tg.PID)
			var res eglotResult
			editorScript{
				argv:    []string{emacs, "--batch", "--no-init-file", "-l", script},
				timeout: time.Minute,
				bin:     bin, pid: tg.PID, file: testtarget.ScenarioPath("health.py"),
				env: []string{"AIOSCOPE_STUCK=1000", "AIOSCOPE_HOVER=24",
					"AIOSCOPE_DIAGNOSTICS=stuck: task stuck-forever|event loop blocked here"},
			}.run(t, &res)
			// health.py: stuck-forever waits on line 24, the loop blocks on line 46.
			for prefix, line := range map[string]int{"stuck: task stuck-forever has waited here for": 24, blockedPrefix: 46} {
				found := false
				for _, d := range res.Diagnostics {
					if !strings.Contains(d.Text, prefix) {
						continue
					}
					switch {
					case d.Line == line && d.Type == "eglot-warning":
						found = true
					case d.Type == "eglot-warning" && prefix == blockedPrefix && starvedLoop(waits):
						t.Logf("%q on line %d: the target waited for a CPU", d.Text, d.Line)
					default:
						t.Errorf("%q on line %d as %s, want a warning on line %d", d.Text, d.Line, d.Type, line)
					}
				}
				if !found {
					t.Errorf("flymake has no warning %q… on line %d: %+v", prefix, line, res.Diagnostics)
				}
			}
			titles := map[int]string{}
			for _, l := range res.Lenses {
				titles[l.Line] = l.Title
			}
			if !regexp.MustCompile(`^⏸ 1 task · stuck-forever · waiting (≥ )?\d+ s$`).MatchString(titles[24]) {
				t.Errorf("lens of line 24: %q (%+v)", titles[24], res.Lenses)
			}
			if !regexp.MustCompile(`stuck-forever wait_forever\(ev=<asyncio.locks.Event object at 0x[0-9a-f]+ \[unset, waiters:1\]>\) — waits in Event.wait — awaited by Task-1 — waiting (≥ )?\d+ s — stuck`).MatchString(res.Hover) {
				t.Errorf("hover of line 24:\n%s", res.Hover)
			}
			want := map[string]bool{"stuck-forever": false, "sleeper": false, "churner": false}
			for _, s := range res.Symbols {
				if _, ok := want[s]; ok {
					want[s] = true
				}
			}
			for name, found := range want {
				if !found {
					t.Errorf("workspace/symbol lacks %s: %v", name, res.Symbols)
				}
			}
		})
	}
}

// emacsWithEglot finds an Emacs that has eglot (built in from Emacs 29; Debian's elpa-eglot
// before), which `make tools` installs when missing.
func emacsWithEglot(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("emacs")
	if err == nil {
		err = exec.Command(path, "--batch", "--no-init-file", "--eval", "(require 'eglot)").Run()
	}
	if err != nil {
		testtarget.Unavailable(t, "emacs with eglot is needed to test the language server in Emacs: run make tools (apt-get install emacs-nox elpa-eglot)")
	}
	return path
}
