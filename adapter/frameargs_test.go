package adapter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aioscope/aioscope/schema"
)

// TestFrameArgumentsFixture: the body of aioscope/frameArguments as the adapter's types write
// it, against its schema and the VS Code extension's fixture of it (which its unit tests parse).
func TestFrameArgumentsFixture(t *testing.T) {
	body := frameArgumentsBody{ThreadID: 12, CapturedAt: "2026-11-21T14:09:55.858777451Z", Frames: []frameArguments{
		{Arguments: []argumentValue{{Name: "delay", Value: "10000", Type: "int"}, {Name: "result", Value: "None", Type: "NoneType"}}},
		{Arguments: []argumentValue{{Name: "url", Value: "'https://example.com/a'", Type: "str"},
			{Name: "attempt", Value: "2", Type: "int"}, {Name: "timeout", Value: "2.5", Type: "float"}}},
		{Arguments: []argumentValue{}, Error: "task fetch-a has left main (line 21) since the snapshot; take a new snapshot"},
	}}
	encoded, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	schemas := loadSchemas(t)
	if err := schemas.Validate(schema.FrameArguments, encoded); err != nil {
		t.Error(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, encoded, "", " "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	file := filepath.Join(extensionFixtures, "adapter-frameargs.json")
	if *updateFixtures {
		if err := os.WriteFile(file, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, indented.Bytes()) {
		t.Errorf("%s is not what the adapter writes now; go test ./adapter -run TestFrameArgumentsFixture -update-fixtures rewrites it", file)
	}
}
