package adapter

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

func TestAwaitGraphEncoding(t *testing.T) {
	weird := []string{"nul\x00name", "bad\xffutf8", "quote\"back\\slash", "line\u2028sep", "tab\tnl\n", "下载任务", "emoji-😀", ""}
	var tasks []snapshot.Task
	for i, name := range weird {
		tasks = append(tasks, task(uint64(0x1000+i*16), name, []snapshot.Frame{fr("f\"n", "/srv/"+name+".py", i, 0)}))
	}
	tasks[1].AwaitedBy = []snapshot.Awaiter{awaiter(0x1000, true), awaiter(0xdead, false)}
	tasks[0].AwaitedBy = []snapshot.Awaiter{awaiter(0x1010, true)} // a cycle
	snap := fakeSnapshot(tasks...)
	v := newView(snap, &idAllocator{})
	body := appendAwaitGraph(nil, v, newSourceResolver(os.Getpid()))
	if !json.Valid(body) {
		t.Fatalf("invalid JSON: %s", body)
	}
	var g awaitGraph
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	for i, task := range g.Tasks {
		want := strings.ToValidUTF8(weird[i], "\uFFFD")
		if task.Name != want {
			t.Errorf("task %d name %q, want %q", i, task.Name, want)
		}
	}
	if len(g.Tasks[1].AwaitedBy) != 1 || g.Tasks[1].AwaitedBy[0] != g.Tasks[0].ThreadID {
		t.Errorf("awaitedBy %v: want only the task (the future has no thread)", g.Tasks[1].AwaitedBy)
	}
	if len(g.Cycles) != 1 || len(g.Cycles[0]) != 3 {
		t.Errorf("cycles %v", g.Cycles)
	}
	cyc := appendCycles(nil, v)
	if !json.Valid(cyc) {
		t.Errorf("invalid cycles JSON: %s", cyc)
	}
}
