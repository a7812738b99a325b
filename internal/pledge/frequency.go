package pledge

// Frequency is how often a reader gives.
type Frequency string

// The three frequencies a reader can choose.
const (
	Once    Frequency = "once"
	Monthly Frequency = "monthly"
	Annual  Frequency = "annual"
)

// Frequencies lists them in the order the prompt shows them.
var Frequencies = []Frequency{Once, Monthly, Annual}

// ParseFrequency returns the frequency named by s, or an EINVALID error.
func ParseFrequency(s string) (Frequency, error) {
	switch f := Frequency(s); f {
	case Once, Monthly, Annual:
		return f, nil
	}
	return "", FieldErrorf("frequency", "Choose once, monthly or annually.").Keyed("error.frequency")
}

// Recurring reports whether f is a subscription.
func (f Frequency) Recurring() bool { return f == Monthly || f == Annual }

// Interval is Stripe's recurring interval for f ("month" or "year"), "" for Once.
func (f Frequency) Interval() string {
	switch f {
	case Monthly:
		return "month"
	case Annual:
		return "year"
	}
	return ""
}

// FrequencyFromInterval maps Stripe's recurring interval back to a Frequency.
func FrequencyFromInterval(interval string) Frequency {
	switch interval {
	case "month":
		return Monthly
	case "year":
		return Annual
	}
	return Once
}

// Label is how the prompt names f.
func (f Frequency) Label() string {
	switch f {
	case Monthly:
		return "Monthly"
	case Annual:
		return "Annual"
	}
	return "Once"
}

// Adverb is how a sentence names f ("You give $5 monthly").
func (f Frequency) Adverb() string {
	switch f {
	case Monthly:
		return "monthly"
	case Annual:
		return "annual"
	}
	return "one-off"
}
