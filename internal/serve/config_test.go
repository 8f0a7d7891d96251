package serve

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/aioscope/aioscope/inspector"
)

func TestCommonFilled(t *testing.T) {
	errMine := errors.New("mine")
	mine := func(int, inspector.Options) (Target, error) { return nil, errMine }
	c := Common{}.Filled(mine, 42)
	if _, err := c.Attach(1, inspector.Options{}); !errors.Is(err, errMine) || c.Logger == nil || c.MaxMessageSize != 42 {
		t.Errorf("defaults: %+v", c)
	}
	log := slog.Default()
	c = Common{Attach: AttachProcess, Logger: log, MaxMessageSize: 7}.Filled(mine, 42)
	if c.Logger != log || c.MaxMessageSize != 7 {
		t.Errorf("set fields were replaced: %+v", c)
	}
	if _, err := c.Attach(1, inspector.Options{}); errors.Is(err, errMine) {
		t.Error("a set Attach was replaced")
	}
	if c := (Common{MaxMessageSize: -1}).Filled(mine, 42); c.MaxMessageSize != 42 {
		t.Errorf("negative size: %d", c.MaxMessageSize)
	}
	// A failed attach gives a nil interface, not an interface holding a nil *Process.
	if tg, err := AttachProcess(-1, inspector.Options{}); err == nil || tg != nil {
		t.Errorf("AttachProcess(-1) = %v, %v", tg, err)
	}
}
