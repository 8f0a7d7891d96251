package lsp

import (
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestLiveProbe(t *testing.T) {
	tg := testtarget.Start(t, "3.14", "tree.py")
	c := startClient(t, NewServer(Config{}))
	c.initialize(map[string]any{"processId": tg.PID, "refreshInterval": 200}, nil)
	uri := c.open(testtarget.ScenarioPath("tree.py"))
	ls := c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) > 0 })
	for _, l := range ls {
		t.Logf("%+v %s", l.Range, l.Command.Title)
	}
	for _, l := range ls {
		t.Logf("%s", c.hover(uri, l.Range.Start.Line).Contents.Value)
	}
	var syms []SymbolInformation
	c.mustCall("workspace/symbol", map[string]any{"query": "leaf"}, &syms)
	t.Logf("%+v", syms)
	t.Logf("%v", c.noteMethods())
}
