package sqlite

import (
	"context"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestLoginBoundsConcurrentHashes: with both hashing slots taken, a sign-in is told to try again
// in a moment rather than queueing, and that is not recorded as a failed attempt.
func TestLoginBoundsConcurrentHashes(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := db.CreateStaff(ctx, "admin@news.example", "correct horse battery", pledge.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < loginHashers; i++ {
		db.hashers <- struct{}{}
	}
	_, err := db.Login(ctx, "admin@news.example", "correct horse battery", "192.0.2.1", "")
	if pledge.ErrorCode(err) != pledge.ERATELIMIT {
		t.Fatalf("login with every hashing slot busy: %v, want ERATELIMIT", err)
	}
	for i := 0; i < loginHashers; i++ {
		<-db.hashers
	}
	sess, err := db.Login(ctx, "admin@news.example", "correct horse battery", "192.0.2.1", "")
	if err != nil || sess.Token == "" {
		t.Fatalf("login once a slot is free: %v", err)
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM login_attempts`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a refused-for-load sign-in was recorded as a failure: %d rows, %v", n, err)
	}
}
