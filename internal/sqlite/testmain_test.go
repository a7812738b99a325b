package sqlite

import (
	"os"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestMain runs the package's tests through testkit.Run with staff passwords hashed cheaply
// (testkit.CheapPasswords: the tests sign in over and over).
func TestMain(m *testing.M) { os.Exit(testkit.Run(m, testkit.CheapPasswords)) }
