module github.com/aioscope/aioscope

go 1.26.8

require (
	github.com/google/go-dap v0.12.0
	golang.org/x/sys v0.49.0
)
