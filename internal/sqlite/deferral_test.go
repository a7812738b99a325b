package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func TestDeferChoicesAndDates(t *testing.T) {
	for _, tc := range []struct {
		choice pledge.DeferralChoice
		want   time.Time
	}{
		{pledge.ChoiceWeek, t0.AddDate(0, 0, 7)},
		{pledge.ChoiceMonth, t0.AddDate(0, 0, 30)},
		{pledge.ChoiceNever, t0.AddDate(0, 0, 365)},
	} {
		t.Run(string(tc.choice), func(t *testing.T) {
			db := storetest.Open(t, testkit.NewClock(t0))
			d, err := db.Defer(context.Background(), &pledge.Deferral{ReaderID: "rd_1", Choice: tc.choice})
			if err != nil {
				t.Fatal(err)
			}
			if !d.RemindAt.Equal(tc.want) {
				t.Fatalf("remind_at = %s, want %s", d.RemindAt, tc.want)
			}
			if d.Status != pledge.ReminderNone || d.Email != "" {
				t.Fatalf("status %q email %q: want none without an address", d.Status, d.Email)
			}
		})
	}
}

// asStored checks that what Defer returned is the row as stored.
func asStored(t *testing.T, db *sqlite.DB, d *pledge.Deferral) {
	t.Helper()
	stored, err := db.FindDeferral(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *stored != *d {
		t.Errorf("Defer returned %+v,\nthe row is %+v", *d, *stored)
	}
}

func TestDeferRepeatUpdatesOneRow(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	first, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_1", Choice: pledge.ChoiceWeek, Email: "a@example.com", Article: "https://news.example/a"})
	if err != nil {
		t.Fatal(err)
	}
	asStored(t, db, first)
	clk.Add(time.Hour)
	second, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_1", Choice: pledge.ChoiceMonth, Article: "https://news.example/b"})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID {
		t.Fatalf("second click made row %d, want the same row %d", second.ID, first.ID)
	}
	asStored(t, db, second)
	if want := t0.Add(time.Hour).AddDate(0, 0, 30); !second.RemindAt.Equal(want) || second.Choice != pledge.ChoiceMonth {
		t.Fatalf("after repeat: %s %s, want month %s", second.Choice, second.RemindAt, want)
	}
	if second.Email != "" || second.Status != pledge.ReminderNone {
		t.Fatalf("repeat without address kept email %q status %q", second.Email, second.Status)
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM deferrals`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d (%v), want 1", n, err)
	}
}

func TestClaimOnlyDueReminders(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	mustDefer(t, db, "rd_week", pledge.ChoiceWeek, "w@example.com")
	mustDefer(t, db, "rd_month", pledge.ChoiceMonth, "m@example.com")
	mustDefer(t, db, "rd_anon", pledge.ChoiceWeek, "")
	clk.Add(7*24*time.Hour - time.Second)
	if got, _ := db.ClaimDueReminders(ctx, "tok0", 10); len(got) != 0 {
		t.Fatalf("claimed %d before due, want 0", len(got))
	}
	clk.Add(time.Second)
	got, err := db.ClaimDueReminders(ctx, "tok1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Email != "w@example.com" || got[0].Attempts != 1 || got[0].Token != "tok1" {
		t.Fatalf("claimed %+v, want the week reminder only", got)
	}
	if again, _ := db.ClaimDueReminders(ctx, "tok2", 10); len(again) != 0 {
		t.Fatalf("a claimed reminder was claimed again: %+v", again)
	}
}

// Two senders claiming at once never share a reminder: every due reminder goes to exactly one.
func TestClaimConcurrentSendersDisjoint(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	// A second handle on the same file, as a second process (`pledge reminders send` beside serve).
	other := storetest.OpenAt(t, db.Path, clk)
	const n = 40
	for i := range n {
		mustDefer(t, db, fmt.Sprintf("rd_%d", i), pledge.ChoiceWeek, fmt.Sprintf("r%d@example.com", i))
	}
	clk.Add(8 * 24 * time.Hour)
	seen := make(map[int64]string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for s, store := range []*sqlite.DB{db, other, db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := store.ClaimDueReminders(ctx, fmt.Sprintf("sender%d", s), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					if prev, dup := seen[r.DeferralID]; dup {
						t.Errorf("reminder %d claimed by %s and %s", r.DeferralID, prev, r.Token)
					}
					seen[r.DeferralID] = r.Token
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d reminders, want %d", len(seen), n)
	}
}

func TestReminderLifeErasesAddress(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	sent := mustDefer(t, db, "rd_sent", pledge.ChoiceWeek, "s@example.com")
	failing := mustDefer(t, db, "rd_fail", pledge.ChoiceWeek, "f@example.com")
	crashed := mustDefer(t, db, "rd_crash", pledge.ChoiceWeek, "c@example.com")
	unsub := mustDefer(t, db, "rd_unsub", pledge.ChoiceWeek, "u@example.com")
	if err := db.UnsubscribeReminder(ctx, unsub.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(8 * 24 * time.Hour)

	claimed, err := db.ClaimDueReminders(ctx, "tok", 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d (%v), want 3 (the unsubscribed one is not due)", len(claimed), err)
	}
	byID := map[int64]*pledge.Reminder{}
	for _, r := range claimed {
		byID[r.DeferralID] = r
	}
	if err := db.MarkReminderSent(ctx, byID[sent.ID]); err != nil {
		t.Fatal(err)
	}
	// A failed send is retried after the backoff, then given up at the last attempt.
	r := byID[failing.ID]
	for attempt := 1; ; attempt++ {
		gaveUp, err := db.MarkReminderFailed(ctx, r, time.Minute, 3)
		if err != nil {
			t.Fatal(err)
		}
		if gaveUp != (attempt == 3) {
			t.Fatalf("attempt %d: gave up = %v", attempt, gaveUp)
		}
		if gaveUp {
			break
		}
		if got, _ := db.ClaimDueReminders(ctx, "early", 10); len(got) != 0 {
			t.Fatalf("attempt %d: retried before its backoff", attempt)
		}
		clk.Add(time.Minute << (attempt - 1))
		got, err := db.ClaimDueReminders(ctx, fmt.Sprintf("retry%d", attempt), 10)
		if err != nil || len(got) != 1 || got[0].Attempts != attempt+1 {
			t.Fatalf("attempt %d: retry claimed %+v (%v)", attempt, got, err)
		}
		r = got[0]
	}
	// The crashed sender never reports; past the lease its claim is given up, not resent.
	if n, err := db.GiveUpStaleClaims(ctx, 10*time.Minute); err != nil || n != 0 {
		t.Fatalf("gave up %d (%v) fresh claims, want 0", n, err)
	}
	clk.Add(10 * time.Minute)
	if n, err := db.GiveUpStaleClaims(ctx, 10*time.Minute); err != nil || n != 1 {
		t.Fatalf("gave up %d (%v) stale claims, want 1", n, err)
	}
	if got, _ := db.ClaimDueReminders(ctx, "after", 10); len(got) != 0 {
		t.Fatalf("a crashed claim became claimable again: %+v", got)
	}
	// A late report from the crashed sender changes nothing.
	if err := db.MarkReminderSent(ctx, byID[crashed.ID]); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		id   int64
		want pledge.ReminderStatus
	}{{sent.ID, pledge.ReminderSent}, {failing.ID, pledge.ReminderGivenUp}, {crashed.ID, pledge.ReminderGivenUp}, {unsub.ID, pledge.ReminderUnsubscribed}} {
		d, err := db.FindDeferral(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != tc.want || d.Email != "" {
			t.Errorf("deferral %d: status %q email %q, want %q and no address", tc.id, d.Status, d.Email, tc.want)
		}
	}
	var left int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM deferrals WHERE email IS NOT NULL`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d addresses left (%v), want 0", left, err)
	}
}

func mustDefer(t *testing.T, db *sqlite.DB, reader string, choice pledge.DeferralChoice, email string) *pledge.Deferral {
	t.Helper()
	d, err := db.Defer(context.Background(), &pledge.Deferral{ReaderID: reader, Choice: choice, Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
