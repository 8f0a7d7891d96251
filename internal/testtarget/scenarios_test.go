package testtarget

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// scenarioArgs gives the scenarios that need arguments a small instance.
var scenarioArgs = map[string][]string{
	"deep.py":    {"100"},
	"many.py":    {"300"},
	"service.py": {"200", "50"},
	// The value scenarios write what they hold to the file named by their argument.
	"values_asyncio.py": {"/dev/null"},
	"values_corpus.py":  {"/dev/null"},
	"values_frames.py":  {"/dev/null"},
	"values_tasks.py":   {"/dev/null"},
}

// changingScenarios keep changing on purpose (they exercise reads of a target that changes
// under the reader, or a task that moves on after READY) and are checked by their own tests.
var changingScenarios = map[string]bool{"churn.py": true, "pipeline.py": true, "locals.py": true, "health.py": true, "busy.py": true, "service.py": true}

// valueOnlyScenarios hold values for the value reader's tests and run no event loop: they only
// have to start.
var valueOnlyScenarios = map[string]bool{"values_corpus.py": true, "values_frames.py": true}

// TestScenarios checks the scenario programs themselves: each starts on every version, and
// CPython's tool gives the expected kind of result twice in a row with identical output, i.e.
// the task set has settled before READY and does not churn afterwards.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every scenario on every version")
	}
	files, err := filepath.Glob(ScenarioPath("*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			Python(t, version)
			for _, file := range files {
				name := filepath.Base(file)
				if changingScenarios[name] {
					continue
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					tg := Start(t, version, name, scenarioArgs[name]...)
					if valueOnlyScenarios[name] {
						return
					}
					for _, cmd := range []string{"ps", "pstree"} {
						out1, err1, code1 := tg.AsyncioTool(t, cmd)
						out2, err2, code2 := tg.AsyncioTool(t, cmd)
						if !bytes.Equal(out1, out2) || !bytes.Equal(err1, err2) || code1 != code2 {
							t.Errorf("%s: two consecutive runs differ:\n%s\n%s\n---\n%s\n%s", cmd, out1, err1, out2, err2)
						}
						checkScenarioResult(t, version, name, cmd, out1, err1, code1)
					}
				})
			}
		})
	}
}

func checkScenarioResult(t *testing.T, version, name, cmd string, stdout, stderr []byte, code int) {
	t.Helper()
	const header = "tid        task id"
	switch {
	case name == "longunicode.py" && version == "3.14":
		if code != 1 || !bytes.Contains(stderr, []byte("UnicodeDecodeError")) {
			t.Errorf("%s: CPython 3.14 was expected to fail with UnicodeDecodeError; exit %d\n%s", cmd, code, stderr)
		}
	case name == "noasyncio.py" && version == "3.14":
		if want := "Error retrieving tasks: AsyncioDebug section not available\n"; code != 1 || string(stdout) != want {
			t.Errorf("%s: exit %d, stdout %q, want exit 1, %q", cmd, code, stdout, want)
		}
	case name == "noasyncio.py":
		if code != 0 || (cmd == "ps" && strings.Count(string(stdout), "\n") != 2) || (cmd == "pstree" && len(stdout) != 0) {
			t.Errorf("%s: exit %d, stdout %q: want no tasks", cmd, code, stdout)
		}
	case strings.HasPrefix(name, "cycle") && cmd == "pstree":
		if code != 1 || !bytes.HasPrefix(stderr, []byte("ERROR: await-graph contains cycles - cannot print a tree!\n")) {
			t.Errorf("%s: exit %d, stderr %q: want a cycle report", cmd, code, stderr)
		}
	default:
		if code != 0 || len(stderr) != 0 {
			t.Errorf("%s: exit %d, stderr:\n%s", cmd, code, stderr)
		}
		if cmd == "ps" && !bytes.HasPrefix(stdout, []byte(header)) || cmd == "pstree" && !bytes.HasPrefix(stdout, []byte("└── (T) ")) {
			t.Errorf("%s: unexpected output:\n%s", cmd, stdout)
		}
	}
}
