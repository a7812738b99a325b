package pledge

import (
	"testing"
	"time"
)

func TestDeferRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req       DeferRequest
		field     string // "" when valid
		wantEmail string
	}{
		{"week", DeferRequest{ReaderID: "r", Choice: "week"}, "", ""},
		{"address", DeferRequest{ReaderID: "r", Choice: "month", Email: " ann@Example.ORG ", Consent: true, MailEnabled: true}, "", "ann@example.org"},
		{"never drops the address", DeferRequest{ReaderID: "r", Choice: "never", Email: "ann@example.org", Consent: true, MailEnabled: true}, "", ""},
		{"no consent", DeferRequest{ReaderID: "r", Choice: "week", Email: "ann@example.org", MailEnabled: true}, "consent", ""},
		{"malformed", DeferRequest{ReaderID: "r", Choice: "week", Email: "ann@", Consent: true, MailEnabled: true}, "email", ""},
		{"no dot in domain", DeferRequest{ReaderID: "r", Choice: "week", Email: "ann@localhost", Consent: true, MailEnabled: true}, "email", ""},
		{"mail off", DeferRequest{ReaderID: "r", Choice: "week", Email: "ann@example.org", Consent: true}, "email", ""},
		{"bad choice", DeferRequest{ReaderID: "r", Choice: "soon"}, "choice", ""},
		{"bad frequency", DeferRequest{ReaderID: "r", Choice: "week", Frequency: "daily"}, "frequency", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.req.Validate()
			if got := ErrorField(err); got != tc.field {
				t.Fatalf("field %q (%v), want %q", got, err, tc.field)
			}
			if err == nil && d.Email != tc.wantEmail {
				t.Fatalf("email %q, want %q", d.Email, tc.wantEmail)
			}
		})
	}
}

func TestChoiceDurations(t *testing.T) {
	day := 24 * time.Hour
	for c, want := range map[DeferralChoice]time.Duration{ChoiceWeek: 7 * day, ChoiceMonth: 30 * day, ChoiceNever: 365 * day} {
		if got := c.Duration(); got != want {
			t.Errorf("%s: %s, want %s", c, got, want)
		}
	}
}

func TestCleanSource(t *testing.T) {
	for in, want := range map[string]string{"reminder": "reminder", " Reminder ": "reminder", "<script>": "", "": "", "news-letter_2": "news-letter_2"} {
		if got := CleanSource(in); got != want {
			t.Errorf("CleanSource(%q) = %q, want %q", in, got, want)
		}
	}
}
