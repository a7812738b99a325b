package server

import (
	"os"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestMain hashes staff passwords cheaply (testkit.CheapPasswords: the tests sign in over and
// over) and runs the package's tests through testkit.Run, which stops the stripe-mock they share
// after the last.
func TestMain(m *testing.M) {
	testkit.CheapPasswords()
	os.Exit(testkit.Run(m))
}
