package pledge

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// LoginLimit is how many failed logins for one account from one client IP (IPv6: its /64) are
// allowed within LoginWindow; the next attempt for that pair is refused with ERATELIMIT, while
// the account stays open from elsewhere and the IP for other accounts. LoginIPLimit is the
// higher limit over all accounts from one client IP, against password spraying.
const (
	LoginLimit   = 5
	LoginIPLimit = 20
	LoginWindow  = 15 * time.Minute
)

// LoginHashers is how many password hashes (argon2id, 64 MiB each) SignIn runs at once; a
// sign-in beyond that is told to try again in a moment.
const LoginHashers = 2

// SignInStore is what SignIn needs of the store: it reads and records staff, failed attempts and
// sessions, and decides nothing.
type SignInStore interface {
	// StaffCredentials returns the account whose address is email (case-insensitively) with its
	// password hash, or an ENOTFOUND error.
	StaffCredentials(ctx context.Context, email string) (*Staff, string, error)
	// LoginFailures counts the failures recorded after since: of email from ip, and from ip over
	// all addresses.
	LoginFailures(ctx context.Context, email, ip string, since time.Time) (pair, client int, err error)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
	// SignInTx runs fn in one write transaction, committed when fn returns nil.
	SignInTx(ctx context.Context, fn func(SignInTx) error) error
}

// SignInTx is SignInStore within the write transaction that ends a sign-in.
type SignInTx interface {
	// Logout ends a session.
	Logout(token string) error
	// LoginFailures is SignInStore.LoginFailures, counting what the transaction sees.
	LoginFailures(email, ip string, since time.Time) (pair, client int, err error)
	// ForgetLoginFailures deletes the failures recorded at or before before, whoever made them.
	ForgetLoginFailures(before time.Time) error
	// RecordLoginFailure records a failure of email from ip at at.
	RecordLoginFailure(email, ip string, at time.Time) error
	// ClearLoginFailures deletes the failures of email from ip.
	ClearLoginFailures(email, ip string) error
	// CreateSession starts a session for st (a new token) and deletes expired sessions.
	CreateSession(st Staff) (*StaffSession, error)
}

// SignIn signs staff in: it owns the lockout (LoginLimit per account and client, LoginIPLimit
// per client, within LoginWindow), the bound of LoginHashers password hashes at once, the
// password check and the messages. Failures are recorded in the store, so the limits hold across
// restarts. One SignIn serves a store, so its bound holds for the whole process.
type SignIn struct {
	store   SignInStore
	now     func() time.Time
	hashing chan struct{}
}

// NewSignIn returns the sign-in service over store, with now as its clock.
func NewSignIn(store SignInStore, now func() time.Time) *SignIn {
	return &SignIn{store: store, now: now, hashing: make(chan struct{}, LoginHashers)}
}

// lockedOut is the answer while the lockout holds.
func lockedOut() error {
	return Errorf(ERATELIMIT, "Too many failed sign-in attempts. Wait %s and try again, or ask an admin to check your account.",
		minutes(LoginWindow))
}

// minutes spells d in whole minutes: "15 minutes".
func minutes(d time.Duration) string {
	if m := int(d / time.Minute); m != 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "1 minute"
}

// dummyHash returns the hash checked against when an address is unknown, so that a wrong address
// takes as long as a wrong password and the timing does not tell which addresses exist. It matches
// no password, and Login makes it at PasswordCost, the cost of HashPassword's hashes: with the
// real cost it is m=65536,t=3,p=2; under testkit.CheapPasswords it is as cheap as the tests' own
// hashes, instead of a full-cost hash on every unknown address the tests try.
func dummyHash(c Argon2Cost) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$c2FsdHNhbHRzYWx0c2FsdA$Z6mB0bsk8pyF0W2S2Nr0Ds2Kq4mJ1Y6j8C+3s5f6G7k",
		c.MemoryKiB, c.Time, c.Threads)
}

// locked reports whether the failures counted lock the sign-in out. Counting the account and
// client pair, not the account alone, keeps anyone who knows an editor's address from locking
// them out; counting the client over all accounts stops password spraying.
func locked(pair, client int) bool { return pair >= LoginLimit || client >= LoginIPLimit }

// Login checks the password and starts a new session; the old session (a session id the browser
// had before signing in) is ended whatever the outcome. It answers ERATELIMIT when locked out or
// when LoginHashers hashes are already running (not recorded as a failure), and EUNAUTHORIZED for
// a wrong address or password. The slow hash runs outside any transaction, so sign-ins never hold
// the store's writer; one short write transaction then re-checks the lockout and records the
// failure or creates the session.
func (s *SignIn) Login(ctx context.Context, email, password, ip, oldToken string) (*StaffSession, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	pair, client, err := s.store.LoginFailures(ctx, email, ip, s.now().Add(-LoginWindow))
	if err != nil {
		return nil, err
	}
	if locked(pair, client) {
		if oldToken != "" {
			if err := s.store.Logout(ctx, oldToken); err != nil {
				return nil, err
			}
		}
		return nil, lockedOut()
	}
	st, hash, err := s.store.StaffCredentials(ctx, email)
	if ErrorCode(err) == ENOTFOUND {
		st, hash = nil, dummyHash(PasswordCost)
	} else if err != nil {
		return nil, err
	}
	select {
	case s.hashing <- struct{}{}:
	default:
		return nil, Errorf(ERATELIMIT, "Many people are signing in right now. Please try again in a moment.")
	}
	ok := CheckPassword(hash, password) && st != nil && st.DisabledAt.IsZero()
	<-s.hashing

	var sess *StaffSession
	var refused error
	err = s.store.SignInTx(ctx, func(tx SignInTx) error {
		if oldToken != "" {
			if err := tx.Logout(oldToken); err != nil {
				return err
			}
		}
		// Failures recorded while the hash ran count too.
		now := s.now()
		pair, client, err := tx.LoginFailures(email, ip, now.Add(-LoginWindow))
		if err != nil {
			return err
		}
		if locked(pair, client) {
			refused = lockedOut()
			return nil
		}
		if !ok {
			// Forget attempts past the window as we go, so the store keeps few.
			if err := tx.ForgetLoginFailures(now.Add(-LoginWindow)); err != nil {
				return err
			}
			refused = Errorf(EUNAUTHORIZED, "That e-mail address and password do not match an account.")
			return tx.RecordLoginFailure(email, ip, now)
		}
		// Only this pair's failures are forgiven: a sign-in must not wipe out what others tried
		// against the account from elsewhere, nor the client's failures against other accounts.
		if err := tx.ClearLoginFailures(email, ip); err != nil {
			return err
		}
		sess, err = tx.CreateSession(*st)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return sess, nil
}
