package adapter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestAttachArguments: what the attach request accepts, with defaults, and the one-line message
// for what it does not.
func TestAttachArguments(t *testing.T) {
	const noPID = "attach needs a processId: the PID of a running Python 3.14 or 3.15 process"
	// th sets the default thresholds of a, which every answer has unless the request sets them.
	th := func(a AttachArguments) AttachArguments {
		if a.StuckThreshold == 0 {
			a.StuckThreshold = DefaultStuckThreshold
		}
		if a.BlockedThreshold == 0 {
			a.BlockedThreshold = DefaultBlockedThreshold
		}
		return a
	}
	for _, tc := range []struct {
		in   string
		want AttachArguments
		err  string
	}{
		{in: `{"processId":4242}`, want: AttachArguments{ProcessID: 4242, Retries: 3, MaxThreads: 1000}},
		{in: `{"processId":4242,"stuckThreshold":5000,"blockedThreshold":250}`,
			want: AttachArguments{ProcessID: 4242, Retries: 3, MaxThreads: 1000, StuckThreshold: 5 * time.Second, BlockedThreshold: 250 * time.Millisecond}},
		{in: `{"processId":4242,"blockedThreshold":1}`, want: AttachArguments{ProcessID: 4242, Retries: 3, MaxThreads: 1000, BlockedThreshold: minBlockedThreshold}},
		{in: `{"processId":7,"stuckThreshold":0}`, err: `invalid stuckThreshold 0: expected milliseconds, more than 0`},
		{in: `{"processId":7,"blockedThreshold":"100"}`, err: `invalid blockedThreshold "100": expected milliseconds, more than 0`},
		{in: `{"processId":4242.0,"refreshInterval":250,"retries":0,"maxThreads":0,"mainThreadOnly":true,"type":"aioscope","__sessionId":"x"}`,
			want: AttachArguments{ProcessID: 4242, RefreshInterval: 250 * time.Millisecond, MaxThreads: 0, MainThreadOnly: true}},
		{in: `{"processId":1e3,"refreshInterval":1}`, want: AttachArguments{ProcessID: 1000, RefreshInterval: minRefreshInterval, Retries: 3, MaxThreads: 1000}},
		{in: `{"processId":7,"refreshInterval":null,"retries":null,"maxThreads":null,"mainThreadOnly":null}`, want: AttachArguments{ProcessID: 7, Retries: 3, MaxThreads: 1000}},
		{in: ``, err: noPID},
		{in: ` null `, err: noPID},
		{in: `{}`, err: noPID},
		{in: `{"processId":null}`, err: noPID},
		{in: `{"processId":7,"processId":null}`, err: noPID},
		{in: `"1234"`, err: `attach arguments must be a JSON object with a processId, not "1234"`},
		{in: `[1]`, err: `attach arguments must be a JSON object with a processId, not [1]`},
		{in: `{"processId":`, err: `attach arguments must be a JSON object with a processId, not {"processId":`},
		{in: `{"processId":"1234"}`, err: `invalid processId "1234": expected a positive integer PID`},
		{in: `{"processId":12.5}`, err: `invalid processId 12.5: expected a positive integer PID`},
		{in: `{"processId":0}`, err: `invalid processId 0: expected a positive integer PID`},
		{in: `{"processId":2147483648}`, err: `invalid processId 2147483648: expected a positive integer PID`},
		{in: `{"processId":true}`, err: `invalid processId true: expected a positive integer PID`},
		{in: `{"processId":{"pid":1}}`, err: `invalid processId {"pid":1}: expected a positive integer PID`},
		{in: `{"processId":7,"refreshInterval":-1}`, err: `invalid refreshInterval -1: expected milliseconds, 0 or more (0: no refresh)`},
		{in: `{"processId":7,"refreshInterval":"100"}`, err: `invalid refreshInterval "100": expected milliseconds, 0 or more (0: no refresh)`},
		{in: `{"processId":7,"refreshInterval":86400001}`, err: `invalid refreshInterval 86400001: expected milliseconds, 0 or more (0: no refresh)`},
		{in: `{"processId":7,"retries":1001}`, err: `invalid retries 1001: expected an integer from 0 to 1000`},
		{in: `{"processId":7,"maxThreads":"x"}`, err: `invalid maxThreads "x": expected an integer, 0 or more (0: no limit)`},
		{in: `{"processId":7,"mainThreadOnly":1}`, err: `invalid mainThreadOnly 1: expected true or false`},
		// Checked in a fixed order, whatever the order of the fields.
		{in: `{"retries":-1,"refreshInterval":-1,"processId":7}`, err: `invalid refreshInterval -1: expected milliseconds, 0 or more (0: no refresh)`},
		// A long argument is quoted shortened.
		{in: `{"processId":7,"retries":` + strings.Repeat("9", 100) + `}`, err: `invalid retries ` + strings.Repeat("9", 60) + `…: expected an integer from 0 to 1000`},
	} {
		got, err := parseAttachArguments(json.RawMessage(tc.in), DefaultMaxThreads)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: %+v, %v; want the error %q", tc.in, got, err, tc.err)
			}
		case err != nil || got != th(tc.want):
			t.Errorf("%s: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
