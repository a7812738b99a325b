package pledge

import (
	"strings"
	"time"
)

// Subscription statuses Pledge names in code; the others are stored as Stripe writes them.
const (
	SubscriptionActive   = "active"
	SubscriptionPastDue  = "past_due"
	SubscriptionCanceled = "canceled"
)

// StateKey orders the states of one Stripe object so that applying events in any order ends in
// the same state: a state replaces the stored one only when its key is not smaller. Terminal
// states (a canceled subscription) outrank everything; then the event's time; then, for events of
// the same second, how far along the status is; then the remaining fields, so that equal keys
// mean equal states.
type StateKey struct {
	Terminal bool
	At       int64 // Unix seconds of the event
	Rank     int
	Extra    []int64
}

// Less reports whether k orders before o.
func (k StateKey) Less(o StateKey) bool {
	if k.Terminal != o.Terminal {
		return !k.Terminal
	}
	if k.At != o.At {
		return k.At < o.At
	}
	if k.Rank != o.Rank {
		return k.Rank < o.Rank
	}
	for i := 0; i < len(k.Extra) && i < len(o.Extra); i++ {
		if k.Extra[i] != o.Extra[i] {
			return k.Extra[i] < o.Extra[i]
		}
	}
	return len(k.Extra) < len(o.Extra)
}

// SubscriptionStatusKey is the key of a subscription status seen at a time.
func SubscriptionStatusKey(status string, at time.Time) StateKey {
	rank, terminal := subscriptionRank(status)
	return StateKey{Terminal: terminal, At: at.Unix(), Rank: rank}
}

// subscriptionRank says how far along a status is in a subscription's life, and whether nothing
// can follow it (Stripe never revives a canceled or expired subscription).
func subscriptionRank(status string) (rank int, terminal bool) {
	switch status {
	case "incomplete":
		return 0, false
	case "trialing":
		return 1, false
	case SubscriptionActive:
		return 2, false
	case SubscriptionPastDue:
		return 3, false
	case "unpaid", "paused":
		return 4, false
	case SubscriptionCanceled, "incomplete_expired":
		return 5, true
	}
	return 0, false
}

// Key is the key of the whole subscription object the event shows at time at: its status key
// with the remaining fields as tie-breakers.
func (s *SubscriptionChanged) Key(at time.Time) StateKey {
	k := SubscriptionStatusKey(s.Status, at)
	b := int64(0)
	if s.CancelAtPeriodEnd {
		b = 1
	}
	k.Extra = []int64{s.CurrentPeriodEnd.Unix(), b, s.CanceledAt.Unix(), s.Amount.Amount}
	return k
}

// CheckoutRank orders checkout statuses: a checkout only moves forward, and paid is final.
func CheckoutRank(s CheckoutStatus) int {
	switch s {
	case CheckoutOpen:
		return 1
	case CheckoutAbandoned:
		return 2
	case CheckoutFailed:
		return 3
	case CheckoutPaid:
		return 4
	}
	return 0
}

// DisputeRank orders dispute statuses: a closed dispute (won, lost, warning_closed) is final.
func DisputeRank(status string) int {
	switch status {
	case "":
		return 0
	case "won", "lost", "warning_closed":
		return 2
	}
	return 1
}

// Donation statuses, as the export shows them.
const (
	DonationSucceeded         = "succeeded"
	DonationPartiallyRefunded = "partially_refunded"
	DonationRefunded          = "refunded"
	DonationDisputed          = "disputed"
)

// DisputeWithdraws reports whether a dispute in status has taken the disputed funds: a formal
// dispute does from the moment it opens until it is won (or the funds are reinstated); an
// inquiry (warning_*) never moves money.
func DisputeWithdraws(status string, reinstated bool) bool {
	switch {
	case status == "", strings.HasPrefix(status, "warning_"), status == "won":
		return false
	case reinstated && status != "lost":
		return false
	}
	return true
}

// DonationStatus derives a donation's status from its amounts and dispute: a dispute that holds
// the funds shows as disputed; otherwise refunds decide.
func DonationStatus(amount, refunded int64, disputeWithdraws bool) string {
	switch {
	case disputeWithdraws:
		return DonationDisputed
	case refunded >= amount && refunded > 0:
		return DonationRefunded
	case refunded > 0:
		return DonationPartiallyRefunded
	}
	return DonationSucceeded
}
