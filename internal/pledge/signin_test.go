package pledge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeSignInStore is SignInStore in memory: staff by address, failed attempts and sessions.
// A transaction works on the same data and is undone when fn fails.
type fakeSignInStore struct {
	staff    map[string]*Staff // by lower-case address
	hashes   map[string]string
	failures []fakeAttempt
	sessions map[string]int64 // token -> staff id
	n        int
	// beforeHash, when set, runs as Login fetches the account (between the first lockout check
	// and the hash), as another request would.
	beforeHash func()
}

type fakeAttempt struct {
	email, ip string
	at        time.Time
}

func newFakeSignInStore() *fakeSignInStore {
	return &fakeSignInStore{staff: map[string]*Staff{}, hashes: map[string]string{}, sessions: map[string]int64{}}
}

func (f *fakeSignInStore) add(t *testing.T, email, password string) *Staff {
	t.Helper()
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	st := &Staff{ID: int64(len(f.staff) + 1), Email: email, Role: RoleAdmin}
	f.staff[email], f.hashes[email] = st, h
	return st
}

func (f *fakeSignInStore) StaffCredentials(_ context.Context, email string) (*Staff, string, error) {
	if f.beforeHash != nil {
		f.beforeHash()
	}
	st, ok := f.staff[strings.ToLower(email)]
	if !ok {
		return nil, "", Errorf(ENOTFOUND, "no such staff")
	}
	c := *st
	return &c, f.hashes[st.Email], nil
}

func (f *fakeSignInStore) LoginFailures(_ context.Context, email, ip string, since time.Time) (int, int, error) {
	return f.count(email, ip, since)
}

func (f *fakeSignInStore) count(email, ip string, since time.Time) (pair, client int, err error) {
	for _, a := range f.failures {
		if a.ip == ip && a.at.After(since) {
			client++
			if a.email == email {
				pair++
			}
		}
	}
	return pair, client, nil
}

func (f *fakeSignInStore) Logout(_ context.Context, token string) error {
	delete(f.sessions, token)
	return nil
}

func (f *fakeSignInStore) SignInTx(_ context.Context, fn func(SignInTx) error) error {
	failures := append([]fakeAttempt(nil), f.failures...)
	sessions := map[string]int64{}
	for k, v := range f.sessions {
		sessions[k] = v
	}
	if err := fn(fakeSignInTx{f}); err != nil {
		f.failures, f.sessions = failures, sessions
		return err
	}
	return nil
}

type fakeSignInTx struct{ f *fakeSignInStore }

func (t fakeSignInTx) Logout(token string) error { return t.f.Logout(context.Background(), token) }

func (t fakeSignInTx) LoginFailures(email, ip string, since time.Time) (int, int, error) {
	return t.f.count(email, ip, since)
}

func (t fakeSignInTx) ForgetLoginFailures(before time.Time) error {
	kept := t.f.failures[:0]
	for _, a := range t.f.failures {
		if a.at.After(before) {
			kept = append(kept, a)
		}
	}
	t.f.failures = kept
	return nil
}

func (t fakeSignInTx) RecordLoginFailure(email, ip string, at time.Time) error {
	t.f.failures = append(t.f.failures, fakeAttempt{email, ip, at})
	return nil
}

func (t fakeSignInTx) ClearLoginFailures(email, ip string) error {
	kept := t.f.failures[:0]
	for _, a := range t.f.failures {
		if a.email != email || a.ip != ip {
			kept = append(kept, a)
		}
	}
	t.f.failures = kept
	return nil
}

func (t fakeSignInTx) CreateSession(st Staff) (*StaffSession, error) {
	t.f.n++
	token := fmt.Sprintf("token%d", t.f.n)
	t.f.sessions[token] = st.ID
	return &StaffSession{Token: token, Staff: st, Expires: time.Now().Add(time.Hour)}, nil
}

// cheapPasswords hashes passwords at a small cost for the rest of the test, as
// testkit.CheapPasswords does for other packages (which pledge's tests cannot import).
func cheapPasswords(t *testing.T) {
	real := PasswordCost
	PasswordCost = Argon2Cost{Time: 1, MemoryKiB: 1024, Threads: 1}
	t.Cleanup(func() { PasswordCost = real })
}

// signInEnv is a SignIn over a fake store, with a clock the test moves.
type signInEnv struct {
	t     *testing.T
	store *fakeSignInStore
	clock time.Time
	svc   *SignIn
}

const signInPassword = "correct horse battery"

func newSignInEnv(t *testing.T, accounts ...string) *signInEnv {
	cheapPasswords(t)
	e := &signInEnv{t: t, store: newFakeSignInStore(), clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	for _, a := range accounts {
		e.store.add(t, a, signInPassword)
	}
	e.svc = NewSignIn(e.store, func() time.Time { return e.clock })
	return e
}

func (e *signInEnv) login(email, password, ip string) (*StaffSession, error) {
	return e.svc.Login(context.Background(), email, password, ip, "")
}

// fail signs in n times with a wrong password and wants EUNAUTHORIZED each time.
func (e *signInEnv) fail(n int, email, ip string) {
	e.t.Helper()
	for i := 0; i < n; i++ {
		if _, err := e.login(email, "wrong password!", ip); ErrorCode(err) != EUNAUTHORIZED {
			e.t.Fatalf("failure %d of %s from %s: %v, want EUNAUTHORIZED", i+1, email, ip, err)
		}
	}
}

func TestSignInLocksThePairAfterTheLimit(t *testing.T) {
	e := newSignInEnv(t, "admin@news.example", "viewer@news.example")
	e.fail(LoginLimit-1, "admin@news.example", "192.0.2.1")
	if _, err := e.login("admin@news.example", signInPassword, "192.0.2.1"); err != nil {
		t.Fatalf("one failure short of the limit, the right password: %v", err)
	}
	// The success forgave the pair's failures: the limit counts afresh.
	e.fail(LoginLimit, "ADMIN@news.example ", "192.0.2.1")
	_, err := e.login("admin@news.example", signInPassword, "192.0.2.1")
	if ErrorCode(err) != ERATELIMIT {
		t.Fatalf("the locked pair signed in: %v, want ERATELIMIT", err)
	}
	want := "Too many failed sign-in attempts. Wait 15 minutes and try again, or ask an admin to check your account."
	if got := ErrorMessage(err); got != want {
		t.Errorf("lockout message %q, want %q", got, want)
	}
	if _, err := e.login("viewer@news.example", signInPassword, "192.0.2.1"); err != nil {
		t.Errorf("another account from the same address is locked out: %v", err)
	}
	if _, err := e.login("admin@news.example", signInPassword, "198.51.100.7"); err != nil {
		t.Errorf("the account is locked out from everywhere: %v", err)
	}
	if len(e.store.sessions) != 3 {
		t.Errorf("%d sessions, want 3 (none for the locked attempt)", len(e.store.sessions))
	}
}

func TestSignInLocksTheAddressAfterItsLimit(t *testing.T) {
	e := newSignInEnv(t, "viewer@news.example")
	const sprayer = "203.0.113.9"
	for i := 0; i < LoginIPLimit; i++ {
		e.store.add(t, fmt.Sprintf("guess%d@news.example", i), signInPassword)
		e.fail(1, fmt.Sprintf("guess%d@news.example", i), sprayer)
	}
	if _, err := e.login("viewer@news.example", signInPassword, sprayer); ErrorCode(err) != ERATELIMIT {
		t.Errorf("after %d failures from one address over many accounts: %v, want ERATELIMIT", LoginIPLimit, err)
	}
	if _, err := e.login("viewer@news.example", signInPassword, "192.0.2.1"); err != nil {
		t.Errorf("another address is locked out: %v", err)
	}
	if LoginIPLimit <= LoginLimit {
		t.Errorf("the per-address limit (%d) must be higher than the per-pair one (%d)", LoginIPLimit, LoginLimit)
	}
}

func TestSignInLockoutEndsWithTheWindow(t *testing.T) {
	e := newSignInEnv(t, "admin@news.example")
	e.fail(LoginLimit, "admin@news.example", "192.0.2.1")
	e.clock = e.clock.Add(LoginWindow - time.Second)
	if _, err := e.login("admin@news.example", signInPassword, "192.0.2.1"); ErrorCode(err) != ERATELIMIT {
		t.Fatalf("a second before the window ends: %v, want ERATELIMIT", err)
	}
	e.clock = e.clock.Add(time.Second)
	if _, err := e.login("admin@news.example", signInPassword, "192.0.2.1"); err != nil {
		t.Fatalf("once the window has passed: %v", err)
	}
	// Failures past the window are forgotten as new ones are recorded.
	e.fail(1, "someone@news.example", "192.0.2.7")
	e.clock = e.clock.Add(LoginWindow)
	e.fail(1, "someone@news.example", "192.0.2.8")
	if len(e.store.failures) != 1 || e.store.failures[0].ip != "192.0.2.8" {
		t.Errorf("failures kept: %+v, want only the one within the window", e.store.failures)
	}
}

// TestSignInRechecksAfterTheHash: failures recorded by others while the password was being
// hashed lock the sign-in out too, and the old session ends whatever the outcome.
func TestSignInRechecksAfterTheHash(t *testing.T) {
	e := newSignInEnv(t, "admin@news.example")
	e.store.sessions["old"] = 1
	e.store.beforeHash = func() {
		for i := 0; i < LoginLimit; i++ {
			e.store.failures = append(e.store.failures, fakeAttempt{"admin@news.example", "192.0.2.1", e.clock})
		}
	}
	_, err := e.svc.Login(context.Background(), "admin@news.example", signInPassword, "192.0.2.1", "old")
	if ErrorCode(err) != ERATELIMIT {
		t.Fatalf("failures made during the hash: %v, want ERATELIMIT", err)
	}
	if len(e.store.sessions) != 0 {
		t.Errorf("sessions %v, want the old one ended and no new one", e.store.sessions)
	}
	e.store.beforeHash = nil
	e.store.sessions["older"] = 1
	if _, err := e.svc.Login(context.Background(), "admin@news.example", signInPassword, "192.0.2.1", "older"); ErrorCode(err) != ERATELIMIT {
		t.Fatalf("locked before the hash: %v, want ERATELIMIT", err)
	}
	if _, ok := e.store.sessions["older"]; ok {
		t.Error("a locked-out sign-in kept the old session")
	}
}

func TestSignInRefusesUnknownAndDisabled(t *testing.T) {
	e := newSignInEnv(t, "admin@news.example")
	e.store.staff["admin@news.example"].DisabledAt = e.clock
	for _, email := range []string{"nobody@news.example", "admin@news.example"} {
		_, err := e.login(email, signInPassword, "192.0.2.1")
		if ErrorCode(err) != EUNAUTHORIZED || ErrorMessage(err) != "That e-mail address and password do not match an account." {
			t.Errorf("%s: %v, want EUNAUTHORIZED", email, err)
		}
	}
	if len(e.store.failures) != 2 || len(e.store.sessions) != 0 {
		t.Errorf("%d failures and %d sessions, want 2 and none", len(e.store.failures), len(e.store.sessions))
	}
}

// TestLoginBoundsConcurrentHashes: with every hashing slot taken, a sign-in is told to try again
// in a moment rather than queueing, and that is not recorded as a failed attempt; with one slot
// free it signs in.
func TestLoginBoundsConcurrentHashes(t *testing.T) {
	e := newSignInEnv(t, "admin@news.example")
	for i := 0; i < LoginHashers; i++ {
		e.svc.hashing <- struct{}{}
	}
	_, err := e.login("admin@news.example", signInPassword, "192.0.2.1")
	if ErrorCode(err) != ERATELIMIT || ErrorMessage(err) != "Many people are signing in right now. Please try again in a moment." {
		t.Fatalf("login with every hashing slot busy: %v, want ERATELIMIT", err)
	}
	<-e.svc.hashing
	sess, err := e.login("admin@news.example", signInPassword, "192.0.2.1")
	if err != nil || sess.Token == "" {
		t.Fatalf("login once a slot is free: %v", err)
	}
	for i := 1; i < LoginHashers; i++ {
		<-e.svc.hashing
	}
	if len(e.svc.hashing) != 0 {
		t.Errorf("%d hashing slots still taken after the sign-ins ended", len(e.svc.hashing))
	}
	if len(e.store.failures) != 0 {
		t.Errorf("a refused-for-load sign-in was recorded as a failure: %+v", e.store.failures)
	}
}

// TestDummyHashCostsWhatARealHashCosts: the hash an unknown address is checked against costs
// what a real account's hash costs (its argon2 parameters are HashPassword's), matches no
// password, and with the real cost is the hash Login has always used.
func TestDummyHashCostsWhatARealHashCosts(t *testing.T) {
	realCost := Argon2Cost{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}
	if got, want := dummyHash(realCost), "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$Z6mB0bsk8pyF0W2S2Nr0Ds2Kq4mJ1Y6j8C+3s5f6G7k"; got != want {
		t.Errorf("dummy hash at the real cost = %q, want %q", got, want)
	}
	cheapPasswords(t)
	const pw = "correct horse battery"
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	dummy := dummyHash(PasswordCost)
	if got, want := strings.Split(dummy, "$")[3], strings.Split(h, "$")[3]; got != want {
		t.Errorf("dummy hash parameters %q, a real hash's %q", got, want)
	}
	if CheckPassword(dummy, pw) {
		t.Error("the dummy hash matches a password")
	}
}
