package awaittree

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot/cycles"
)

// goldenCase is one input that CPython's Lib/test/test_asyncio/test_tools.py passes to the tools,
// with the results of the real tools (testdata/cpython_tools.py golden).
type goldenCase struct {
	Test   string     `json:"test"`
	Called string     `json:"called"`
	Skip   string     `json:"skip"`
	Tasks  []jsonTask `json:"tasks"`
	toolsResult
	TaskFlag    *string    `json:"task_flag"`
	CorFlag     *string    `json:"cor_flag"`
	FlaggedTree [][]string `json:"flagged_tree"`
}

// TestCPythonTestToolsData runs the inputs of CPython's own test_tools.py (3.14 and 3.15) through
// this package and compares with what the real tools returned and printed for them.
func TestCPythonTestToolsData(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			data, err := os.ReadFile("testdata/test_tools_" + version + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Python string       `json:"python"`
				Cases  []goldenCase `json:"cases"`
			}
			if err := json.Unmarshal(data, &golden); err != nil {
				t.Fatal(err)
			}
			if len(golden.Cases) < 25 {
				t.Fatalf("only %d cases in the golden data", len(golden.Cases))
			}
			seen := make(map[string]int)
			for _, c := range golden.Cases {
				seen[c.Test]++
				name := fmt.Sprintf("%s#%d", c.Test, seen[c.Test])
				if c.Skip != "" {
					t.Errorf("%s: not representable as snapshot tasks: %s", name, c.Skip)
					continue
				}
				tasks := tasksFromJSON(c.Tasks)
				compareWithTools(t, name, tasks, &c.toolsResult)
				if c.TaskFlag != nil {
					roots, err := Build(tasks)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					var want strings.Builder
					for _, tree := range c.FlaggedTree {
						want.WriteString(strings.Join(tree, "\n") + "\n")
					}
					var got strings.Builder
					if err := writeTree(&got, roots, *c.TaskFlag, *c.CorFlag); err != nil {
						t.Fatal(err)
					}
					if got.String() != want.String() {
						t.Errorf("%s: flagged tree\n got %q\nwant %q", name, got.String(), want.String())
					}
				}
			}
		})
	}
}

// TestCPythonTestToolsExpectations spells out a few of test_tools.py's expectations directly, so
// that a regenerated golden file cannot silently change them.
func TestCPythonTestToolsExpectations(t *testing.T) {
	data, err := os.ReadFile("testdata/test_tools_3.14.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	byTest := make(map[string]goldenCase)
	for _, c := range golden.Cases {
		if _, dup := byTest[c.Test]; !dup {
			byTest[c.Test] = c
		}
	}
	get := func(name string) goldenCase {
		c, ok := byTest[name]
		if !ok {
			t.Fatalf("no golden case %s", name)
		}
		return c
	}

	if got := cycles.Find(tasksFromJSON(get("TestAsyncioToolsBasic.test_cycle_detection").Tasks)); !equalJSON(got, [][]uint64{{3, 2, 3}}) {
		t.Errorf("test_cycle_detection: %v", got)
	}
	if got := cycles.Find(tasksFromJSON(get("TestAsyncioToolsEdgeCases.test_task_awaits_self").Tasks)); !equalJSON(got, [][]uint64{{1, 1}}) {
		t.Errorf("test_task_awaits_self: %v", got)
	}
	roots, err := Build(tasksFromJSON(get("TestAsyncioToolsEdgeCases.test_frames_without_location_tree").Tasks))
	if err != nil {
		t.Fatal(err)
	}
	want := "└── (T) Task-A\n" +
		"    └──  big big.py\n" +
		"        └──  <unknown function> app.py\n" +
		"            └──  <unreadable frame>\n"
	if got := Render(roots); got != want {
		t.Errorf("test_frames_without_location_tree:\n got %q\nwant %q", got, want)
	}
	rows := Table(tasksFromJSON(get("TestAsyncioToolsEdgeCases.test_frames_without_location_table").Tasks))
	wantRow := Row{"1", "0x1", "Task-A", "<unreadable frame>", "<unknown function>", "Unknown", "0x2"}
	if len(rows) != 1 || rows[0] != wantRow {
		t.Errorf("test_frames_without_location_table: %q", rows)
	}
}
