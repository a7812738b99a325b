package pledge

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what a staff member may do: viewers read reports; admins also see readers' e-mail
// addresses, export and answer data requests.
type Role string

// The two staff roles.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// ParseRole returns the role named by s, or an EINVALID error.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleViewer:
		return r, nil
	}
	return "", FieldErrorf("role", "Role must be admin or viewer.")
}

// MinPasswordLength is the shortest staff password accepted.
const MinPasswordLength = 12

// Staff is a person who may sign in to the staff area.
type Staff struct {
	ID         int64
	Email      string
	Role       Role
	CreatedAt  time.Time
	DisabledAt time.Time // zero while the account may sign in
}

// Admin reports whether s may see readers' data.
func (s *Staff) Admin() bool { return s.Role == RoleAdmin }

// StaffSession is a signed-in staff member's session. Token is the cookie's value and is known
// only when the session is created; the store keeps its hash.
type StaffSession struct {
	Token   string
	Staff   Staff
	Expires time.Time
}

// StaffService manages staff accounts and their sessions.
type StaffService interface {
	// CreateStaff adds an account (ECONFLICT when the address exists, EINVALID for a short password).
	CreateStaff(ctx context.Context, email, password string, role Role) (*Staff, error)
	// ListStaff returns every account.
	ListStaff(ctx context.Context) ([]*Staff, error)
	// DisableStaff stops an account from signing in and ends its sessions.
	DisableStaff(ctx context.Context, email string) error
	// SignIn returns the sign-in service over this store (one per store, so its bound on
	// password hashes holds for the whole process). Its Login checks a password and starts a
	// session, ending the session oldToken named (if any). It answers ERATELIMIT once the account
	// has LoginLimit recent failures from the IP, or the IP LoginIPLimit over all accounts, and
	// EUNAUTHORIZED for a wrong address or password.
	SignIn() *SignIn
	// Session returns the live session for a token, sliding its idle timeout; EUNAUTHORIZED if
	// there is none.
	Session(ctx context.Context, token string) (*StaffSession, error)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
}

// Argon2Cost is the cost of an argon2id hash: passes over the memory, the memory in KiB, and
// lanes.
type Argon2Cost struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// PasswordCost is the cost of the hashes HashPassword makes: RFC 9106's second recommended
// option, with 64 MiB. A hash keeps the cost it was made with (CheckPassword reads it from the
// hash). Tests that sign staff in many times lower it before they start (testkit.CheapPasswords);
// nothing else changes it.
var PasswordCost = Argon2Cost{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// argonKeyLen is the length of the hash's key, in bytes.
const argonKeyLen = 32

// HashPassword returns an argon2id hash of password in the PHC string format.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < MinPasswordLength {
		return "", FieldErrorf("password", "The password must be at least %d characters long.", MinPasswordLength)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	c := PasswordCost
	key := argon2.IDKey([]byte(password), salt, c.Time, c.MemoryKiB, c.Threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.MemoryKiB, c.Time,
		c.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// AuditEntry is one line of the audit log: who did what to which record.
type AuditEntry struct {
	At      time.Time
	Actor   string // the staff member's address, or "cli"
	Action  string // e.g. "erase", "export donations", "data request"
	Subject string // a record ("supporter 42"), never a reader's address
	Detail  string
}
