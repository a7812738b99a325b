package testkit

import (
	"os"
	"testing"
)

// TestMain runs the package's tests through Run, which stops the stripe-mock they share
// after the last.
func TestMain(m *testing.M) { os.Exit(Run(m)) }
