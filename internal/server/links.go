package server

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signed links use the cookies' signature (value|expiry|mac, the mac covering a purpose name), so
// a link made for one purpose never works for another, nor as a cookie.
const (
	linkUnsubscribe = "link_unsubscribe"

	// unsubscribeTTL is how long a reminder's unsubscribe link works: long past the one reminder.
	unsubscribeTTL = 90 * 24 * time.Hour
)

// UnsubscribeToken returns the signed token of a reminder's unsubscribe link for deferral id,
// valid until exp. The reminder sender (which runs without an HTTP server) makes its links with it.
func UnsubscribeToken(secret []byte, id int64, exp time.Time) string {
	s := &Server{cfg: Config{Secret: secret}}
	return s.sign(linkUnsubscribe, strconv.FormatInt(id, 10), exp)
}

// UnsubscribeURL returns the full unsubscribe link of deferral id, valid for 90 days from now.
func UnsubscribeURL(base string, secret []byte, id int64, now time.Time) string {
	return strings.TrimRight(base, "/") + "/reminders/unsubscribe?token=" +
		url.QueryEscape(UnsubscribeToken(secret, id, now.Add(unsubscribeTTL)))
}

// unsubscribeID verifies an unsubscribe token and returns its deferral id.
func (s *Server) unsubscribeID(token string) (int64, bool) {
	v, ok := s.verify(linkUnsubscribe, token, time.Now())
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

// signedExpiry returns the expiry written into a signed string (its MAC unchecked: call verify
// first).
func signedExpiry(signed string) (time.Time, bool) {
	parts := strings.Split(signed, "|")
	if len(parts) < 3 {
		return time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(exp, 0), true
}
