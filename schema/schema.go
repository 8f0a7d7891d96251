// Package schema holds the JSON Schemas of the documents aioscope writes — ps --json
// (ps.schema.json), pstree --json (pstree.schema.json), the debug adapter's awaitGraph
// (awaitgraph.schema.json) and cycles (cycles.schema.json) bodies and its aioscope/frameArguments
// response (frameargs.schema.json), the lines of watch --json (watch.schema.json) and check --json
// (check.schema.json), the adapter's aioscope/loopBlocked event (loopblocked.schema.json) and
// aioscope/wakes response (wakes.schema.json) — and checks documents
// against them. The schema files are where each document's shape is defined; the writers and
// the VS Code extension's types are tested against them.
package schema

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed *.schema.json
var files embed.FS

// The documents, by the name their schema file starts with.
const (
	PS         = "ps"
	PSTree     = "pstree"
	AwaitGraph = "awaitgraph"
	Cycles     = "cycles"
	WatchLine  = "watch"
	Check      = "check"
	// FrameArguments is the body of the debug adapter's aioscope/frameArguments response.
	FrameArguments = "frameargs"
	// LoopBlocked is the body of the debug adapter's aioscope/loopBlocked event.
	LoopBlocked = "loopblocked"
	// Wakes is the body of the debug adapter's aioscope/wakes response.
	Wakes = "wakes"
)

// Set is the compiled schemas.
type Set struct {
	schemas map[string]*jsonschema.Schema
}

// Load compiles every schema, asserting formats (date-time) as well as types and patterns.
func Load() (*Set, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	for _, e := range names {
		f, err := files.Open(e.Name())
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		// The schemas have no $id: references between them are relative to where the files
		// are, so that any validator given the directory resolves them.
		if err := c.AddResource(e.Name(), doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
	}
	s := &Set{schemas: map[string]*jsonschema.Schema{}}
	for _, name := range []string{PS, PSTree, AwaitGraph, Cycles, WatchLine, Check, FrameArguments, LoopBlocked, Wakes} {
		sch, err := c.Compile(name + ".schema.json")
		if err != nil {
			return nil, fmt.Errorf("compiling schema %s: %w", name, err)
		}
		s.schemas[name] = sch
	}
	return s, nil
}

// Validate checks that doc is UTF-8 text of one JSON value (white space around it allowed) that
// the schema of the named document accepts.
func (s *Set) Validate(name string, doc []byte) error {
	sch, ok := s.schemas[name]
	if !ok {
		return fmt.Errorf("no schema %q", name)
	}
	if !utf8.Valid(doc) {
		return fmt.Errorf("%s document: not UTF-8", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%s document: %w", name, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s document does not match %s: %w", name, path.Base(sch.Location), err)
	}
	return nil
}
