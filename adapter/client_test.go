package adapter

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
)

// msgTimeout bounds every wait for the adapter: a hung adapter fails the test instead of hanging
// it.
const msgTimeout = daptest.DefaultTimeout

// client is the DAP client of the tests (see daptest), with what is particular to aioscope's
// adapter: its custom events, and the end of an in-process session.
type client struct {
	*daptest.Client
	served chan error // Serve's result, for in-process sessions
}

func newClient(t testing.TB, conn io.ReadWriteCloser) *client {
	return &client{Client: daptest.New(t, conn)}
}

// startSession serves one in-process session with srv and returns a client connected to it.
func startSession(t testing.TB, srv *Server) *client {
	t.Helper()
	a, b := net.Pipe()
	c := newClient(t, b)
	c.served = make(chan error, 1)
	go func() {
		err := srv.Serve(context.Background(), a)
		a.Close()
		c.served <- err
	}()
	return c
}

// waitServed waits for an in-process session to end and returns Serve's error.
func (c *client) waitServed() error {
	c.T().Helper()
	select {
	case err := <-c.served:
		return err
	case <-time.After(msgTimeout):
		c.T().Fatalf("the session did not end within %v", msgTimeout)
		return nil
	}
}

// attachAndStop runs the usual start of a session: initialize, attach, configurationDone, and
// returns the stopped event's body together with the awaitGraph sent with it.
func (c *client) attachAndStop(args map[string]any) (dap.StoppedEventBody, awaitGraph) {
	c.T().Helper()
	c.Initialize()
	c.OK("attach", args, nil)
	c.Event("initialized")
	c.OK("configurationDone", nil, nil)
	g := c.awaitGraphEvent()
	var stopped dap.StoppedEventBody
	daptest.Decode(c.T(), c.Event("stopped").Body, &stopped)
	return stopped, g
}

func (c *client) awaitGraphEvent() awaitGraph {
	c.T().Helper()
	var g awaitGraph
	daptest.Decode(c.T(), c.Event("aioscope/awaitGraph").Body, &g)
	return g
}

// awaitGraph is the body of the aioscope/awaitGraph event and the aioscope/snapshot response.
type awaitGraph struct {
	PID           int    `json:"pid"`
	PythonVersion string `json:"pythonVersion"`
	CapturedAt    string `json:"capturedAt"`
	Tasks         []struct {
		ThreadID  int    `json:"threadId"`
		TaskID    string `json:"taskId"`
		Name      string `json:"name"`
		TID       uint64 `json:"tid"`
		AwaitedBy []int  `json:"awaitedBy"`
		Group     *int   `json:"group"`
		WaitedMs  *int64 `json:"waitedMs"`
		AtLeast   bool   `json:"waitAtLeast"`
		Stuck     bool   `json:"stuck"`
		Frames    []struct {
			Name string `json:"name"`
			Path string `json:"path"`
			Line int    `json:"line"`
		} `json:"frames"`
	} `json:"tasks"`
	Cycles  [][]int `json:"cycles"`
	Threads []struct {
		ThreadID        int    `json:"threadId"`
		TID             uint64 `json:"tid"`
		Name            string `json:"name"`
		Main            bool   `json:"main"`
		RunningThreadID int    `json:"runningThreadId"`
	} `json:"threads"`
	Loops []struct {
		TID         uint64      `json:"tid"`
		ThreadID    int         `json:"threadId"`
		State       string      `json:"state"`
		LagMs       int64       `json:"lagMs"`
		BlockedMs   *int64      `json:"blockedMs"`
		BlockedSite *graphFrame `json:"blockedSite"`
	} `json:"loops"`
}

// graphFrame is a frame as the awaitGraph and aioscope/loopBlocked show it.
type graphFrame struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Internal bool   `json:"internal"`
}
