package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Signed links use the cookies' signature (value|expiry|mac, the mac covering a purpose name), so
// a link made for one purpose never works for another, nor as a cookie. The senders, which run
// without an HTTP server, make their links with the exported functions here; the handlers read
// them with the unexported ones.
const (
	linkUnsubscribe     = "link_unsubscribe"
	linkMailUnsubscribe = "link_mail_unsubscribe"
	linkNewsletter      = "link_newsletter"
	linkManage          = "link_manage"

	// The actions a /manage link can carry, signed into its token: each link of an e-mail has its
	// own token, spent on its own. actionRecover opens the billing portal on the payment-method
	// flow (a failed renewal).
	actionManage  = "manage"
	actionCancel  = "cancel"
	actionRecover = "recover"

	// unsubscribeTTL is how long a reminder's unsubscribe link works: long past the one reminder.
	unsubscribeTTL = 90 * 24 * time.Hour
	// mailUnsubscribeTTL is how long a supporter e-mail's unsubscribe link works.
	mailUnsubscribeTTL = 365 * 24 * time.Hour
	// newsletterEmailTTL is how long the thank-you e-mail's newsletter link works.
	newsletterEmailTTL = 30 * 24 * time.Hour
	// manageTTL is how long a /manage link asked for at /manage works.
	manageTTL = time.Hour
)

// signedURL returns base's page path with a token signed for purpose, carrying value until exp,
// in its query (token=).
func signedURL(base string, secret []byte, path, purpose, value string, exp time.Time) string {
	s := &Server{cfg: Config{Secret: secret}}
	return strings.TrimRight(base, "/") + path + "?token=" + url.QueryEscape(s.sign(purpose, value, exp))
}

// UnsubscribeURL returns the full unsubscribe link of deferral id, valid for 90 days from now.
func UnsubscribeURL(base string, secret []byte, id int64, now time.Time) string {
	return signedURL(base, secret, "/reminders/unsubscribe", linkUnsubscribe, strconv.FormatInt(id, 10), now.Add(unsubscribeTTL))
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

// MailUnsubscribeURL returns the one-click unsubscribe link of one kind of supporter e-mail,
// valid for a year from now.
func MailUnsubscribeURL(base string, secret []byte, supporterID int64, kind pledge.MailKind, now time.Time) string {
	return signedURL(base, secret, "/mail/unsubscribe", linkMailUnsubscribe, string(kind)+"."+strconv.FormatInt(supporterID, 10),
		now.Add(mailUnsubscribeTTL))
}

// mailUnsubscribeToken verifies an unsubscribe token and returns its supporter and kind.
func (s *Server) mailUnsubscribeToken(token string) (int64, pledge.MailKind, bool) {
	v, ok := s.verify(linkMailUnsubscribe, token, time.Now())
	if !ok {
		return 0, "", false
	}
	k, id, ok := strings.Cut(v, ".")
	kind, err := pledge.ParseMailKind(k)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || err2 != nil || !kind.Unsubscribable() {
		return 0, "", false
	}
	return n, kind, true
}

// NewsletterLink returns the signed link to the newsletter opt-in page for a supporter, for the
// thank-you e-mail (valid 30 days from now).
func NewsletterLink(base string, secret []byte, supporterID int64, now time.Time) string {
	return signedURL(base, secret, "/newsletter", linkNewsletter, "s"+strconv.FormatInt(supporterID, 10), now.Add(newsletterEmailTTL))
}

// newsletterSubject verifies a token and returns whom it names.
func (s *Server) newsletterSubject(token string) (checkoutID string, supporterID int64, ok bool) {
	v, ok := s.verify(linkNewsletter, token, time.Now())
	if !ok || len(v) < 2 {
		return "", 0, false
	}
	switch v[0] {
	case 'c':
		return v[1:], 0, true
	case 's':
		id, err := strconv.ParseInt(v[1:], 10, 64)
		return "", id, err == nil && id > 0
	}
	return "", 0, false
}

// ManageLink returns a signed single-use /manage link for a supporter e-mail: action is manage,
// cancel or recover, and the link's id names the e-mail (mailID), so that using it is recorded
// against the e-mail and staff see whether the supporter used it.
func ManageLink(base string, secret []byte, mailID, supporterID int64, action string, exp time.Time) string {
	s := &Server{cfg: Config{Secret: secret}}
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return s.manageLink(strings.TrimRight(base, "/"), fmt.Sprintf("m%d-%s", mailID, hex.EncodeToString(b)), supporterID, action, exp)
}

// manageURL returns a signed, single-use link to do action (actionManage or actionCancel) for a
// supporter, valid for manageTTL. Each call makes a new token id, so each link is spent on its
// own.
func (s *Server) manageURL(supporterID int64, action string, now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return s.manageLink(s.cfg.BaseURL.String(), hex.EncodeToString(b), supporterID, action, now.Add(manageTTL))
}

// manageLink returns base's /manage link whose token, signed until exp, carries its id (for
// single use), the supporter and the action. The token is base64url, so it is one clean path
// segment.
func (s *Server) manageLink(base, id string, supporterID int64, action string, exp time.Time) string {
	signed := s.sign(linkManage, id+"."+strconv.FormatInt(supporterID, 10)+"."+action, exp)
	return base + "/manage/" + base64.RawURLEncoding.EncodeToString([]byte(signed))
}

// manageToken is a verified /manage token.
type manageToken struct {
	id          string // for single use
	supporterID int64
	action      string
	expires     time.Time
}

// parseManageToken verifies a /manage token: its id, supporter, action and expiry.
func (s *Server) parseManageToken(token string, now time.Time) (manageToken, bool) {
	var t manageToken
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return t, false
	}
	v, ok := s.verify(linkManage, string(raw), now)
	if !ok {
		return t, false
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] == "" || (parts[2] != actionManage && parts[2] != actionCancel && parts[2] != actionRecover) {
		return t, false
	}
	if t.supporterID, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return t, false
	}
	t.id, t.action = parts[0], parts[2]
	t.expires, _ = signedExpiry(string(raw))
	return t, true
}

// mailOfToken returns the e-mail a /manage token's id names, 0 for links asked for at /manage.
func mailOfToken(id string) int64 {
	rest, ok := strings.CutPrefix(id, "m")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, "-")
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0
	}
	return v
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
