package pledge

import (
	"net/mail"
	"strings"
)

// NormalizeEmail checks that s is a bare e-mail address (no display name) and returns it with its
// domain in lower case, or an EINVALID error about the "email" field.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || len(s) > 254 || at < 1 || !strings.Contains(s[at:], ".") {
		return "", FieldErrorf("email", "Enter an e-mail address such as name@example.com.").Keyed("error.email")
	}
	return s[:at] + strings.ToLower(s[at:]), nil
}
