module github.com/aioscope/aioscope

go 1.26.8

require (
	github.com/google/go-dap v0.12.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/sourcegraph/jsonrpc2 v0.2.3
	golang.org/x/sys v0.49.0
)

require golang.org/x/text v0.14.0 // indirect
