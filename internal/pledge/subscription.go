package pledge

import (
	"sort"
	"time"
)

// SubscriptionState is one subscription object as an event showed it at At (the event's created
// time). EventID breaks ties between objects of the same second.
type SubscriptionState struct {
	At                 time.Time
	EventID            string
	Status             string
	Amount             Money // after the discount
	Interval           string
	CancelAtPeriodEnd  bool
	CancelAt           time.Time
	CanceledAt         time.Time
	EndedAt            time.Time
	CurrentPeriodEnd   time.Time
	StartedAt          time.Time
	Paused             bool
	CancellationReason string
}

// SubscriptionPayment is one payment of a subscription's invoice: paid (Amount is what it paid
// for the journalism) or failed (an attempt that failed).
type SubscriptionPayment struct {
	At      time.Time
	Invoice string
	Amount  Money
	Failed  bool
}

// Segment is a span [Start, End) in which a subscription counted as recurring revenue with one
// amount; End is zero while it still counts. Ends marks the span that ended with the subscription
// itself (a cancellation taking effect); Scheduled, a span in which it was set to end.
type Segment struct {
	Start, End time.Time
	Amount     Money
	Frequency  Frequency
	Scheduled  bool
	Ends       bool
}

// SubscriptionLife is what a subscription's history says: its state now and the spans in which
// it counted as recurring revenue.
type SubscriptionLife struct {
	Status   string
	Latest   SubscriptionState // the newest object seen (fields other than the status)
	HasState bool              // an event showed the object itself (not only its invoices)
	EndedAt  time.Time
	Segments []Segment
}

// Counts reports whether a subscription in status counts as recurring revenue: it is paying or
// being retried (past_due). Trials, first payments not yet made (incomplete), lapses (unpaid,
// paused) and the end (canceled, incomplete_expired) do not.
func Counts(status string) bool { return status == SubscriptionActive || status == SubscriptionPastDue }

// Key orders objects of the same second: how far along the status is, then the fields.
func (s *SubscriptionState) Key() StateKey {
	c := (&SubscriptionChanged{Status: s.Status, Amount: s.Amount, CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CurrentPeriodEnd: s.CurrentPeriodEnd, CanceledAt: s.CanceledAt}).Key(s.At)
	p := int64(0)
	if s.Paused {
		p = 1
	}
	c.Extra = append(c.Extra, p, s.CancelAt.Unix(), s.EndedAt.Unix())
	return c
}

// End returns when the subscription ended according to the states: the earliest ended_at of an
// object that shows it ended, else the time of the first object showing it canceled or expired.
func subscriptionEnd(states []SubscriptionState) time.Time {
	var end time.Time
	for _, s := range states {
		if !subscriptionTerminal(s.Status) {
			continue
		}
		t := s.EndedAt
		if t.IsZero() || t.After(s.At) {
			t = s.At
		}
		if end.IsZero() || t.Before(end) {
			end = t
		}
	}
	return end
}

func subscriptionTerminal(status string) bool {
	_, terminal := subscriptionRank(status)
	return terminal
}

// segmentValue is what a subscription counts for at one moment.
type segmentValue struct {
	counts    bool
	amount    Money
	frequency Frequency
	scheduled bool
}

func valueAt(status string, started bool, s, fallback SubscriptionState) segmentValue {
	if !started || !Counts(status) || s.Paused || s.Amount.Amount <= 0 {
		return segmentValue{}
	}
	f := FrequencyFromInterval(s.Interval)
	if !f.Recurring() {
		f = FrequencyFromInterval(fallback.Interval)
	}
	if !f.Recurring() {
		f = Monthly
	}
	return segmentValue{counts: true, amount: s.Amount, frequency: f, scheduled: s.CancelAtPeriodEnd || !s.CancelAt.IsZero()}
}

// SubscriptionTimeline derives a subscription's life from everything seen of it: the objects
// events showed (states), its paid invoices and failed attempts (payments), and fallback, what
// the checkout said (currency and interval) before any of those. It depends only on the set of
// facts, never on the order they arrived in or when: every time comes from Stripe. It is the one
// definition of when a recurring gift counts, for how much, and when it ended.
//
// Rules: facts are taken in time order. An object sets the status and the fields. A paid invoice
// clears past_due, unpaid and incomplete (Stripe's subscription.updated may come later or never);
// a failed attempt moves an active subscription to past_due. Paid invoices before any object set
// the amount. The subscription counts from the first moment it is active (or paid) until it ends
// (the earliest ended_at, else the time of the first object showing it canceled or expired) or
// lapses (unpaid, paused, pause_collection), while its amount is positive. A cancellation at
// period end keeps it counting, marked scheduled, until it ends. Nothing after the end counts.
func SubscriptionTimeline(fallback SubscriptionState, states []SubscriptionState, payments []SubscriptionPayment) SubscriptionLife {
	type point struct {
		at    time.Time
		order int // objects, then failures, then payments of the same second (a payment settles what an object of its second said)
		state *SubscriptionState
		pay   *SubscriptionPayment
	}
	pts := make([]point, 0, len(states)+len(payments))
	for i := range states {
		pts = append(pts, point{at: states[i].At, order: 0, state: &states[i]})
	}
	for i := range payments {
		o := 2
		if payments[i].Failed {
			o = 1
		}
		pts = append(pts, point{at: payments[i].At, order: o, pay: &payments[i]})
	}
	sort.SliceStable(pts, func(i, j int) bool {
		a, b := pts[i], pts[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.order != b.order {
			return a.order < b.order
		}
		if a.state != nil {
			ka, kb := a.state.Key(), b.state.Key()
			if ka.Less(kb) || kb.Less(ka) {
				return ka.Less(kb)
			}
			return a.state.EventID < b.state.EventID
		}
		if a.pay.Invoice != b.pay.Invoice {
			return a.pay.Invoice < b.pay.Invoice
		}
		return a.pay.Amount.Amount < b.pay.Amount.Amount
	})

	end := subscriptionEnd(states)
	life := SubscriptionLife{Status: "incomplete", Latest: fallback, EndedAt: end}
	cur := fallback
	cur.Amount.Amount = 0
	amountKnown, started := false, false
	var open *Segment
	var prev segmentValue
	for _, p := range pts {
		if !end.IsZero() && !p.at.Before(end) && !(p.state != nil && subscriptionTerminal(p.state.Status)) {
			continue // nothing after the end counts (but the object that shows the end is the latest)
		}
		if p.state != nil {
			cur, life.Latest, life.HasState, amountKnown = *p.state, *p.state, true, true
			if !subscriptionTerminal(life.Status) {
				life.Status = p.state.Status
			}
		} else if p.pay.Failed {
			if life.Status == SubscriptionActive {
				life.Status = SubscriptionPastDue
			}
		} else {
			if !amountKnown && p.pay.Amount.Amount > 0 {
				cur.Amount = p.pay.Amount
			}
			switch life.Status {
			case "incomplete", SubscriptionPastDue, "unpaid":
				life.Status = SubscriptionActive
			}
		}
		if life.Status == SubscriptionActive {
			started = true
		}
		if !end.IsZero() && !p.at.Before(end) {
			continue
		}
		v := valueAt(life.Status, started, cur, fallback)
		if v == prev {
			continue
		}
		if open != nil {
			if open.Start.Before(p.at) {
				open.End = p.at
				life.Segments = append(life.Segments, *open)
			}
			open = nil
		}
		if v.counts {
			open = &Segment{Start: p.at, Amount: v.amount, Frequency: v.frequency, Scheduled: v.scheduled}
		}
		prev = v
	}
	if open != nil {
		if !end.IsZero() {
			open.End, open.Ends = end, true
		}
		if open.End.IsZero() || open.Start.Before(open.End) {
			life.Segments = append(life.Segments, *open)
		}
	}
	return life
}
