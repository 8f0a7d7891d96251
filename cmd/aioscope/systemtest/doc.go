// Package systemtest holds the system tests of the aioscope binary: built as `make build` builds
// it, run against live CPython 3.14 and 3.15 processes and against everything it must refuse.
//
//   - differential_test.go: aioscope ps|pstree against CPython's own python -m asyncio ps|pstree
//     on the same targets, byte for byte;
//   - churn_test.go: the CLI and a DAP session against a target that never holds still;
//   - badinput_test.go: usage errors and processes that cannot be read, each one clear line;
//   - readonly_test.go: proof under strace, and by watching the target's state, that aioscope
//     only reads;
//   - shape_test.go: ps and pstree's --group, --filter and --depth, against CPython's own tree
//     merged and cut independently;
//   - dapclient_test.go: the minimal DAP client the tests of `aioscope dap` drive it with.
//
// The tests start real interpreters (see internal/testtarget) and take minutes.
package systemtest
