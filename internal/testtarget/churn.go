package testtarget

import (
	"regexp"
	"strings"
)

// ChurnLoad is a setting of testdata/scenarios/churn.py, the program that never holds still.
type ChurnLoad struct {
	Name  string // for the subtest
	Pause string // churn.py's argument: seconds each worker rests between waves
	// MinSuccess is the share of snapshots that must succeed with the default retries; 0 where
	// the share is only reported.
	MinSuccess float64
}

// ChurnMinSuccess is what the robustness tests demand at about ten thousand tasks a second.
const ChurnMinSuccess = 0.95

// ChurnLoads are the settings the churn tests use: about ten thousand tasks a second, where at
// least ChurnMinSuccess of the snapshots must succeed, and as many as the interpreter can create
// (tens of thousands), where the share is only reported.
var ChurnLoads = []ChurnLoad{
	{"10k", "0.02", ChurnMinSuccess},
	{"max", "0", 0},
}

// ChurnTaskName matches every name churn.py gives its tasks (Task-N for those gather() and the
// event loop name). A name read from memory that changed under the read would not match.
var ChurnTaskName = regexp.MustCompile(`^(Task-\d+|hub-\d+|hub-keeper|worker-\d+|leaf-\d+-\d+|waiter-\d+-\d+|gather-\d+)$`)

// ChurnRate summarises the RATE lines churn.py prints once a second.
func ChurnRate(stdout string) string {
	var rates []string
	for _, line := range strings.Split(stdout, "\n") {
		if r, ok := strings.CutPrefix(line, "RATE "); ok {
			rates = append(rates, r)
		}
	}
	if len(rates) == 0 {
		return "rate unknown"
	}
	return "created " + strings.Join(rates, ", ") + " tasks/s"
}
