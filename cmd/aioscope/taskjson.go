package main

import (
	"io"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/taskjson"
	"github.com/aioscope/aioscope/snapshot"
)

// The JSON documents are written by package taskjson, which the language server shares.

// writePSJSON writes ps --json, with --locals when locals.
func writePSJSON(w io.Writer, s *snapshot.Snapshot, locals bool) error {
	if locals {
		return taskjson.WritePSLocals(w, s)
	}
	return taskjson.WritePS(w, s)
}

// writePSTreeJSON writes pstree --json, with --args when args.
func writePSTreeJSON(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node, args bool) error {
	if args {
		return taskjson.WritePSTreeArgs(w, s, roots)
	}
	return taskjson.WritePSTree(w, s, roots)
}
