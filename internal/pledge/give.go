package pledge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// GiftChoice is what a reader submitted on the prompt or the donation page, as typed.
type GiftChoice struct {
	Frequency string
	Currency  string
	Amount    string // a preset, in major units ("10")
	Other     string // "Other amount" as typed; wins over Amount when not blank
	CoverFees bool
	Article   string
	Campaign  string
	Nonce     string
	ReaderID  string
	Source    string
	// Locale is the language Checkout opens in (Stripe's codes: "en", "ru", "auto").
	Locale string
	// Arm is the reader's experiment arm, from the signed view cookie (the server sets it).
	Arm Arm
	// Lang is the code of the catalogue the form was rendered in ("en", "ru"), kept on the
	// checkout so that the supporter's e-mails speak it.
	Lang string
}

// Giving turns a reader's choice into a checkout and a hosted payment page.
type Giving struct {
	Settings  Settings
	Checkouts CheckoutService
	Payments  PaymentService
	// BaseURL is the service's public URL, for Stripe's return addresses.
	BaseURL string
	// ArticleOrigins are the origins an article may have; another article is recorded as "".
	ArticleOrigins []string
	// TrustLocal makes Completed believe only the stored checkout's state, never the provider's
	// session: for the demo, whose stripe-mock answers every session with the same fixture.
	TrustLocal bool
	// StatementSuffix is what a one-off gift's card statement shows after the account's
	// descriptor prefix ("" for the account's default).
	StatementSuffix string
}

// Validate reads a choice against the catalogue and returns the checkout it asks for (not yet
// stored). Every problem is an EINVALID error naming its field.
func (g *Giving) Validate(ch GiftChoice) (*Checkout, error) {
	f, err := ParseFrequency(ch.Frequency)
	if err != nil {
		return nil, err
	}
	cur := Currency(strings.ToLower(strings.TrimSpace(ch.Currency)))
	if !g.Settings.Catalogue.Offers(cur) {
		return nil, FieldErrorf("currency", "Please choose one of the currencies offered.").Keyed("error.currency")
	}
	typed, field := ch.Amount, "amount"
	if strings.TrimSpace(ch.Other) != "" {
		typed, field = ch.Other, "other_amount"
	}
	amount, err := ParseAmount(typed, cur)
	if err == nil {
		err = g.Settings.Catalogue.Check(f, Money{Amount: amount, Currency: cur})
	}
	if err != nil {
		if ErrorField(err) == "amount" {
			var e *Error
			errors.As(err, &e)
			return nil, FieldErrorf(field, "%s", e.Message).Keyed(e.Key, e.Args...)
		}
		return nil, err
	}
	if !validNonce(ch.Nonce) {
		return nil, FieldErrorf("nonce", "This form has expired. Please reload the page and try again.").Keyed("error.nonce")
	}
	co := &Checkout{
		Frequency: f,
		Amount:    Money{Amount: amount, Currency: cur},
		Article:   ArticleFromOrigins(ch.Article, g.ArticleOrigins),
		Campaign:  CleanCampaign(ch.Campaign),
		Source:    CleanSource(ch.Source),
		ReaderID:  ch.ReaderID,
		Arm:       ch.Arm,
		Lang:      cleanLang(ch.Lang),
	}
	if ch.CoverFees {
		co.CoverFees = g.Settings.Fees.Cover(co.Amount)
		co.Amount.Amount += co.CoverFees
		// The charge, fee cover included, must stay within the maximum.
		if max := g.Settings.Catalogue.Tiers[cur][f].Max; co.Amount.Amount > max {
			return nil, FieldErrorf(field, "With the transaction costs covered this comes to %s, above the maximum %s amount of %s. Please choose a smaller amount, or do not cover the costs.",
				co.Amount.Grouped(), f.Adverb(), Money{Amount: max, Currency: cur}.Grouped()).
				Keyed("error.amount.fees", "total", co.Amount, "frequency", f, "amount", Money{Amount: max, Currency: cur})
		}
	}
	co.Nonce = choiceKey(ch.Nonce, co)
	return co, nil
}

// Begin validates a choice, creates its hosted payment page and stores its checkout (once per
// form nonce), in that order: the reader's path has one durable commit, the checkout as it
// leaves for the payment page. Nothing is lost before that commit: the session carries the
// checkout's ID and choices as metadata, and a session without its checkout never reaches a
// reader. A second submit of the same form returns the first checkout and its page. When the
// provider fails, the checkout is stored pending (the attempt is kept, as a click that did not
// reach the payment page) and the error is returned.
func (g *Giving) Begin(ctx context.Context, ch GiftChoice) (*Checkout, error) {
	co, err := g.Validate(ch)
	if err != nil {
		return nil, err
	}
	stored, err := g.Checkouts.FindCheckoutByNonce(ctx, co.Nonce)
	switch {
	case err == nil && stored.StripeURL != "":
		return stored, nil
	case err == nil: // an earlier submit of this form found the provider down
		co = stored
	case ErrorCode(err) != ENOTFOUND:
		return nil, err
	default:
		co.ID = checkoutID(co.Nonce)
	}
	sess, err := g.Payments.CreateCheckoutSession(ctx, co, SessionRequest{
		ProductName:     fmt.Sprintf("%s support for %s", co.Frequency.Label(), g.Settings.Org),
		SuccessURL:      g.BaseURL + "/donate/thanks?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:       g.BaseURL + "/donate/cancelled?checkout=" + url.QueryEscape(co.ID),
		IdempotencyKey:  "pledge-checkout-" + co.Nonce,
		Locale:          ch.Locale,
		StatementSuffix: g.StatementSuffix,
	})
	if err != nil {
		if stored == nil {
			if _, serr := g.Checkouts.CreateCheckout(ctx, co); serr != nil {
				return nil, errors.Join(err, serr)
			}
		}
		return co, err
	}
	if stored == nil {
		co.StripeSessionID, co.StripeURL = sess.ID, sess.URL
		if stored, err = g.Checkouts.CreateCheckout(ctx, co); err != nil {
			return nil, err
		}
		if stored.StripeURL != "" { // this one, or a twin submit's that was stored first
			return stored, nil
		}
		co = stored // the twin found the provider down
	}
	if err := g.Checkouts.OpenCheckout(ctx, co.ID, sess.ID, sess.URL); err != nil {
		return co, err
	}
	co.StripeSessionID, co.StripeURL, co.Status = sess.ID, sess.URL, CheckoutOpen
	return co, nil
}

// checkoutID is the ID of the checkout of a form's choice (Checkout.Nonce). It is derived, not
// drawn, so that two submits of one form racing to Stripe send the same metadata with the same
// idempotency key, and so get one session.
func checkoutID(nonce string) string {
	sum := sha256.Sum256([]byte("pledge checkout id|" + nonce))
	return "co_" + hex.EncodeToString(sum[:12])
}

// Completion is what the return from a hosted payment page shows about the payment.
type Completion int

// The completions: only Paid earns a thank-you (and the supporter cookie).
const (
	// NotPaid: the page is still open, expired, or its state is unknown; nothing to thank for.
	NotPaid Completion = iota
	// Processing: the reader finished the page, but the money has not arrived yet (a bank debit).
	Processing
	// Paid: the money arrived (or nothing was due).
	Paid
)

// Completed returns the checkout behind a hosted payment page the reader came back from, and
// whether it was paid. It looks our checkout up by the session id first, so a made-up id costs
// no provider call (ENOTFOUND). A checkout the webhook already marked paid is Paid; otherwise the
// session is fetched and must be complete and paid (or need no payment). With TrustLocal (the
// demo, whose stripe-mock sessions are fixed fixtures) only the local state counts.
func (g *Giving) Completed(ctx context.Context, sessionID string) (*Checkout, Completion, error) {
	if !strings.HasPrefix(sessionID, "cs_") || len(sessionID) > 255 {
		return nil, NotPaid, Errorf(ENOTFOUND, "We could not find that payment.")
	}
	co, err := g.Checkouts.FindCheckoutBySession(ctx, sessionID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, NotPaid, Errorf(ENOTFOUND, "We could not find that payment.")
	}
	if err != nil {
		return nil, NotPaid, err
	}
	if co.Status == CheckoutPaid {
		return co, Paid, nil
	}
	if g.TrustLocal {
		return co, NotPaid, nil
	}
	sess, err := g.Payments.CheckoutSession(ctx, sessionID)
	if err != nil {
		return nil, NotPaid, err
	}
	switch {
	case sess.Status != "complete":
		return co, NotPaid, nil
	case sess.PaymentStatus == "paid" || sess.PaymentStatus == "no_payment_required":
		return co, Paid, nil
	case sess.PaymentStatus == "unpaid":
		return co, Processing, nil
	}
	return co, NotPaid, nil
}

// choiceKey ties a checkout to the rendered form and to what was chosen on it: the same form
// submitted twice makes one checkout (and one Stripe session), while a reader who goes back and
// changes the amount on the same form gets a new one rather than the old amount.
func choiceKey(nonce string, co *Checkout) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%d|%s|%d|%s|%s", nonce, co.Frequency, co.Amount.Amount, co.Amount.Currency,
		co.CoverFees, co.Article, co.Campaign)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// validNonce accepts the 32 hex digits the form renders.
func validNonce(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// MaxArticle is the longest article URL Pledge records: Stripe refuses metadata values over 500
// characters, and the article travels as metadata.
const MaxArticle = 500

// CleanArticle returns the article URL as Pledge records it: an absolute http(s) URL without its
// query string (tracking tails such as utm_*) and fragment, at most MaxArticle bytes; "" for
// anything else.
func CleanArticle(s string) string {
	if s == "" || len(s) > 8192 {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	if a := u.String(); len(a) <= MaxArticle {
		return a
	}
	return ""
}

// ArticleFromOrigins returns CleanArticle(s) when its origin (scheme://host) is one of origins
// (the newsroom's article sites, PLEDGE_EMBED_ORIGINS), else "". Pledge shows the article back as
// a link (the cancelled and thank-you pages, the reminder e-mail), so it must lead to the
// newsroom's own site: anyone can post any URL as the article.
func ArticleFromOrigins(s string, origins []string) string {
	return CleanArticleFromOrigins(CleanArticle(s), origins)
}

// CleanArticleFromOrigins is ArticleFromOrigins for an article CleanArticle has already
// returned: the prompt cleans its article once and counts its view under it, on every page view.
func CleanArticleFromOrigins(a string, origins []string) string {
	if a == "" {
		return ""
	}
	// CleanArticle's URL is scheme://host, then the path (which starts with "/") or nothing:
	// its query, fragment and user are gone.
	_, rest, ok := strings.Cut(a, "://")
	if !ok {
		return ""
	}
	origin := a
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		origin = a[:len(a)-len(rest)+i]
	}
	for _, o := range origins {
		if strings.EqualFold(o, origin) {
			return a
		}
	}
	return ""
}

// CleanCampaign returns a campaign or source tag as Pledge records it: up to 64 letters, digits,
// '-', '_' or '.'; "" for anything else.
func CleanCampaign(s string) string {
	if len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return s
}

// cleanLang keeps a language code as a catalogue names it ("en", "pt-BR"): at most 35 characters
// of letters, digits and hyphens; anything else is dropped ("").
func cleanLang(s string) string {
	if len(s) > 35 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return ""
		}
	}
	return s
}
