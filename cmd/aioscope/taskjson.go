package main

import (
	"io"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/taskjson"
	"github.com/aioscope/aioscope/snapshot"
)

// The JSON documents are written by package taskjson, which the language server shares.

func writePSJSON(w io.Writer, s *snapshot.Snapshot) error { return taskjson.WritePS(w, s) }

func writePSTreeJSON(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node) error {
	return taskjson.WritePSTree(w, s, roots)
}
