package pledge

import (
	"testing"
	"time"
)

var tl0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func day(n int) time.Time { return tl0.AddDate(0, 0, n) }

func usd(n int64) Money { return Money{Amount: n, Currency: "usd"} }

func st(at time.Time, status string, amount int64) SubscriptionState {
	return SubscriptionState{At: at, EventID: "evt_" + at.Format("0102150405") + status, Status: status, Amount: usd(amount), Interval: "month"}
}

// spans renders segments compactly: start day index, end day index (-1 open), amount, flags.
type span struct {
	start, end int
	amount     int64
	scheduled  bool
	ends       bool
}

func spansOf(segs []Segment) []span {
	idx := func(t time.Time) int {
		if t.IsZero() {
			return -1
		}
		return int(t.Sub(tl0).Hours() / 24)
	}
	out := make([]span, len(segs))
	for i, s := range segs {
		out[i] = span{idx(s.Start), idx(s.End), s.Amount.Amount, s.Scheduled, s.Ends}
	}
	return out
}

func TestSubscriptionTimeline(t *testing.T) {
	fallback := SubscriptionState{Interval: "month", Amount: Money{Currency: "usd"}}
	paid := func(d int, amount int64) SubscriptionPayment {
		return SubscriptionPayment{At: day(d), Invoice: "in_" + day(d).Format("0102"), Amount: usd(amount)}
	}
	failed := func(d int) SubscriptionPayment {
		return SubscriptionPayment{At: day(d), Invoice: "in_f", Amount: usd(500), Failed: true}
	}
	cancelAtEnd := st(day(10), "active", 500)
	cancelAtEnd.CancelAtPeriodEnd, cancelAtEnd.CanceledAt = true, day(10)
	deleted := st(day(31), "canceled", 500)
	deleted.EndedAt, deleted.CanceledAt = day(30), day(10)
	paused := st(day(5), "active", 500)
	paused.Paused = true
	cases := []struct {
		name   string
		states []SubscriptionState
		pays   []SubscriptionPayment
		status string
		want   []span
	}{
		{"paid from its first invoice", []SubscriptionState{st(day(0), "incomplete", 500)}, []SubscriptionPayment{paid(0, 500)},
			"active", []span{{0, -1, 500, false, false}}},
		{"only invoices: the invoice's amount", nil, []SubscriptionPayment{paid(0, 700)}, "active", []span{{0, -1, 700, false, false}}},
		{"an upgrade changes MRR on its day", []SubscriptionState{st(day(0), "active", 500), st(day(12), "active", 1000)}, nil,
			"active", []span{{0, 12, 500, false, false}, {12, -1, 1000, false, false}}},
		{"cancel at period end counts until it ends", []SubscriptionState{st(day(0), "active", 500), cancelAtEnd, deleted}, nil,
			"canceled", []span{{0, 10, 500, false, false}, {10, 30, 500, true, true}}},
		{"a lapse ends the span at the event's time", []SubscriptionState{st(day(0), "active", 500), st(day(20), "unpaid", 500)}, nil,
			"unpaid", []span{{0, 20, 500, false, false}}},
		{"a failed renewal stays counted, and an invoice paid clears past_due",
			[]SubscriptionState{st(day(0), "active", 500)}, []SubscriptionPayment{failed(30), paid(33, 500)},
			"active", []span{{0, -1, 500, false, false}}},
		{"pause_collection leaves MRR while paused", []SubscriptionState{st(day(0), "active", 500), paused, st(day(9), "active", 500)}, nil,
			"active", []span{{0, 5, 500, false, false}, {9, -1, 500, false, false}}},
		{"a first payment that never succeeds never counts",
			[]SubscriptionState{st(day(0), "incomplete", 500), st(day(1), "incomplete_expired", 500)}, []SubscriptionPayment{failed(0)},
			"incomplete_expired", nil},
		{"trials do not count", []SubscriptionState{st(day(0), "trialing", 500)}, nil, "trialing", nil},
		{"nothing after the end counts", []SubscriptionState{st(day(0), "active", 500), deleted, st(day(40), "active", 900)}, nil,
			"canceled", []span{{0, 30, 500, false, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Any order of the facts gives the same life.
			for _, rev := range []bool{false, true} {
				states := append([]SubscriptionState(nil), c.states...)
				pays := append([]SubscriptionPayment(nil), c.pays...)
				if rev {
					for i, j := 0, len(states)-1; i < j; i, j = i+1, j-1 {
						states[i], states[j] = states[j], states[i]
					}
					for i, j := 0, len(pays)-1; i < j; i, j = i+1, j-1 {
						pays[i], pays[j] = pays[j], pays[i]
					}
				}
				life := SubscriptionTimeline(fallback, states, pays)
				if life.Status != c.status {
					t.Errorf("reversed=%v: status %s, want %s", rev, life.Status, c.status)
				}
				got := spansOf(life.Segments)
				if len(got) != len(c.want) {
					t.Fatalf("reversed=%v: spans %+v, want %+v", rev, got, c.want)
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Errorf("reversed=%v: span %d = %+v, want %+v", rev, i, got[i], c.want[i])
					}
				}
			}
		})
	}
}
