package sqlite

import (
	"os"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestMain hashes staff passwords cheaply (testkit.CheapPasswords: the tests sign in over and
// over).
func TestMain(m *testing.M) {
	testkit.CheapPasswords()
	os.Exit(testkit.Run(m))
}
