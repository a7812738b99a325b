package main

import (
	"os"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestMain runs the package's tests through testkit.Run, which stops the stripe-mock they share
// after the last.
func TestMain(m *testing.M) { os.Exit(testkit.Run(m)) }
