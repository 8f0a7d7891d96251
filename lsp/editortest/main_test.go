package editortest

import (
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestMain(m *testing.M) { testtarget.Main(m) }
