package editortest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// editorScript is one run of an editor on its test script (testdata/eglot.el,
// testdata/neovim.lua), which connects the editor's client to `aioscope lsp` and writes what it
// saw as JSON to the file named by AIOSCOPE_OUT.
type editorScript struct {
	argv    []string      // the editor's command line, which loads the script
	timeout time.Duration // how long the editor may take
	bin     string        // the aioscope binary (AIOSCOPE_BIN)
	pid     int           // the process the server reads (AIOSCOPE_PID)
	file    string        // the source file the editor opens (AIOSCOPE_FILE)
	env     []string      // what else the script is told (AIOSCOPE_STUCK, AIOSCOPE_DIAGNOSTICS, …)
}

// run runs the editor in a home of its own, so that no user configuration plays a part, and
// decodes what the script saw into res. The editor failing, writing no result, or the script
// reporting errors fails the test.
func (s editorScript) run(t *testing.T, res any) {
	t.Helper()
	name := filepath.Base(s.argv[0])
	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Env = append(os.Environ(),
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_STATE_HOME="+dir, "XDG_CACHE_HOME="+dir,
		"AIOSCOPE_BIN="+s.bin, "AIOSCOPE_PID="+strconv.Itoa(s.pid), "AIOSCOPE_FILE="+s.file, "AIOSCOPE_OUT="+out)
	cmd.Env = append(cmd.Env, s.env...)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, output)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s wrote no result: %v\n%s", name, err, output)
	}
	var errs struct {
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(data, &errs); err != nil {
		t.Fatalf("result %s: %v", data, err)
	}
	for _, e := range errs.Errors {
		t.Errorf("%s: %s", name, e)
	}
	if t.Failed() {
		t.FailNow()
	}
	if err := json.Unmarshal(data, res); err != nil {
		t.Fatalf("result %s: %v", data, err)
	}
}

// testdataScript returns the absolute path of a script in testdata.
func testdataScript(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
