package systemtest

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestJSONSchemaLive: what `aioscope ps --json` and `pstree --json` print for live CPython 3.14
// and 3.15 targets matches the schemas.
func TestJSONSchemaLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	schemas := loadSchemas(t)
	bin := testtarget.Binary(t)
	cases := []struct {
		scenario string
		args     []string
		cycles   bool
		contains string // text ps --json must hold, so that the case shows what it is for
	}{
		{scenario: "tree.py"},
		{scenario: "threads.py", contains: `"main":false`},
		{scenario: "cycle.py", cycles: true},
		{scenario: "cycle2.py", cycles: true},
		{scenario: "edge.py"},
		{scenario: "sync.py"},
		{scenario: "agen.py"},
		{scenario: "eager.py"},
		{scenario: "timeouts.py"},
		{scenario: "queues.py"},
		{scenario: "unicode.py", contains: "zażółć"},
		{scenario: "longunicode.py"},
		{scenario: "names.py"},
		{scenario: "blocked.py"},
		{scenario: "deep.py", args: []string{"1534"}},
		{scenario: "many.py", args: []string{"3000"}},
	}
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			testtarget.Python(t, version)
			for _, c := range cases {
				t.Run(strings.Join(append([]string{c.scenario}, c.args...), "-"), func(t *testing.T) {
					t.Parallel()
					tg := testtarget.Start(t, version, c.scenario, c.args...)
					for _, cmd := range []string{"ps", "pstree"} {
						for _, flags := range [][]string{{"--json"}, {"--json", "--main-thread-only"}} {
							out, code := runJSON(t, bin, tg, cmd, flags...)
							wantCode := 0
							if cmd == "pstree" && c.cycles {
								wantCode = 1
							}
							if code != wantCode {
								t.Errorf("aioscope %s %v: exit %d, want %d", cmd, flags, code, wantCode)
							}
							if err := schemas.Validate(cmd, out); err != nil {
								t.Errorf("aioscope %s %v: %v", cmd, flags, err)
							}
							hasCycles := !bytes.Contains(out, []byte(`"cycles":[]}`))
							if hasCycles != c.cycles {
								t.Errorf("aioscope %s %v: cycles listed %v, want %v", cmd, flags, hasCycles, c.cycles)
							}
							if cmd == "ps" && len(flags) == 1 && !bytes.Contains(out, []byte(c.contains)) {
								t.Errorf("aioscope ps --json does not contain %q", c.contains)
							}
						}
					}
				})
			}
		})
	}
}

// runJSON runs `aioscope <cmd> [flags] PID` and returns its stdout and exit code.
func runJSON(t *testing.T, bin string, tg *testtarget.Target, cmd string, flags ...string) ([]byte, int) {
	t.Helper()
	if tg.Exited() {
		t.Fatalf("target %d has exited; stderr:\n%s", tg.PID, tg.Stderr())
	}
	stdout, _, code := runWithin(t, slowRunDeadline, bin, slices.Concat([]string{cmd}, flags, []string{strconv.Itoa(tg.PID)})...)
	return stdout, code
}
