// Package termquiet keeps aioscope from querying the terminal when it starts.
//
// Bubble Tea v1 asks Lip Gloss, in its package initialisation, whether the terminal has a dark
// background. On a terminal that writes a query (OSC 11, then a cursor-position report) and
// waits for the answer — up to five seconds when none comes — before main runs, for every
// command, `aioscope ps PID` included, though no style of aioscope's depends on the background.
// This package's initialisation gives Lip Gloss the answer first: Go initialises packages in the
// order of their import paths, each once its imports are, so this one, which imports Lip Gloss
// and sorts before github.com/charmbracelet/bubbletea, runs before Bubble Tea's. The command
// imports it for that alone; TestNoTerminalQuery checks the effect.
package termquiet

import "github.com/charmbracelet/lipgloss"

func init() {
	// Which answer does not matter while every style uses fixed colours; a style that adapts
	// to the background (lipgloss.AdaptiveColor) would need the terminal's real answer, asked
	// for by the command that draws it.
	lipgloss.SetHasDarkBackground(true)
}
