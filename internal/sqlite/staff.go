package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// DefaultStaffIdle is how long a staff session lives without use unless StaffIdle is set.
const DefaultStaffIdle = 12 * time.Hour

// dummyHash returns the hash checked against when an address is unknown, so that a wrong address
// takes as long as a wrong password and the timing does not tell which addresses exist. It matches
// no password, and Login makes it at pledge.PasswordCost, the cost of HashPassword's hashes: with
// the real cost it is m=65536,t=3,p=2; under testkit.CheapPasswords it is as cheap as the tests'
// own hashes, instead of a full-cost hash on every unknown address the tests try.
func dummyHash(c pledge.Argon2Cost) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$c2FsdHNhbHRzYWx0c2FsdA$Z6mB0bsk8pyF0W2S2Nr0Ds2Kq4mJ1Y6j8C+3s5f6G7k",
		c.MemoryKiB, c.Time, c.Threads)
}

// CreateStaff adds a staff account.
func (db *DB) CreateStaff(ctx context.Context, email, password string, role pledge.Role) (_ *pledge.Staff, err error) {
	defer wrapErr(&err, "create staff")
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") {
		return nil, pledge.FieldErrorf("email", "Give the staff member's e-mail address.")
	}
	if _, err := pledge.ParseRole(string(role)); err != nil {
		return nil, err
	}
	hash, err := pledge.HashPassword(password)
	if err != nil {
		return nil, err
	}
	return inTxValue(ctx, db, func(tx *Tx) (*pledge.Staff, error) {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO staff (email, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			email, hash, role, tx.now.Unix()).Scan(&id); err != nil {
			return nil, translate(err)
		}
		return &pledge.Staff{ID: id, Email: email, Role: role, CreatedAt: tx.now}, nil
	})
}

// ListStaff returns every staff account, by address.
func (db *DB) ListStaff(ctx context.Context) (_ []*pledge.Staff, err error) {
	defer wrapErr(&err, "list staff")
	rows, err := db.read.QueryContext(ctx, `SELECT id, email, role, created_at, disabled_at FROM staff ORDER BY `+db.noCase("email"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pledge.Staff
	for rows.Next() {
		var s pledge.Staff
		var created int64
		var disabled sql.NullInt64
		if err := rows.Scan(&s.ID, &s.Email, &s.Role, &created, &disabled); err != nil {
			return nil, err
		}
		s.CreatedAt, s.DisabledAt = time.Unix(created, 0).UTC(), fromUnix(disabled)
		out = append(out, &s)
	}
	return out, rows.Err()
}

// DisableStaff disables an account and deletes its sessions.
func (db *DB) DisableStaff(ctx context.Context, email string) (err error) {
	defer wrapErr(&err, "disable staff")
	return db.inTx(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE staff SET disabled_at = coalesce(disabled_at, ?) WHERE `+db.eqNoCase("email")+` RETURNING id`,
			tx.now.Unix(), strings.TrimSpace(email)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return pledge.Errorf(pledge.ENOTFOUND, "No staff member has that address.")
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = ?`, id)
		return err
	})
}

// sessionID is what the store keeps of a session token: its SHA-256.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Login checks the password and starts a new session. Failures are stored, so the limit holds
// across restarts; the old session (a session id the browser had before signing in) is deleted
// whatever the outcome of the password check. The slow password hash runs outside any
// transaction, at most loginHashers at a time (beyond that: ERATELIMIT, try again in a moment),
// so sign-ins never hold the single writer; a short write transaction then re-checks the lockout
// and records the failure or creates the session.
func (db *DB) Login(ctx context.Context, email, password, ip, oldToken string) (_ *pledge.StaffSession, err error) {
	defer wrapErr(&err, "login")
	email = strings.ToLower(strings.TrimSpace(email))
	locked := pledge.Errorf(pledge.ERATELIMIT,
		"Too many failed sign-in attempts. Wait 15 minutes and try again, or ask an admin to check your account.")
	if n, err := db.loginFailures(ctx, db.read, email, ip); err != nil {
		return nil, err
	} else if n {
		return nil, db.endOldSession(ctx, oldToken, locked)
	}
	var s pledge.Staff
	var hash string
	var created int64
	var disabled sql.NullInt64
	err = db.read.QueryRowContext(ctx, `SELECT id, email, role, password_hash, created_at, disabled_at FROM staff WHERE `+db.eqNoCase("email"),
		email).Scan(&s.ID, &s.Email, &s.Role, &hash, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		hash = dummyHash(pledge.PasswordCost)
	} else if err != nil {
		return nil, err
	}
	select {
	case db.hashers <- struct{}{}:
	default:
		return nil, pledge.Errorf(pledge.ERATELIMIT, "Many people are signing in right now. Please try again in a moment.")
	}
	ok := pledge.CheckPassword(hash, password) && s.ID != 0 && !disabled.Valid
	<-db.hashers

	tx, err := db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if oldToken != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id = ?`, sessionID(oldToken)); err != nil {
			return nil, err
		}
	}
	// Failures recorded while the hash ran count too.
	if n, err := db.loginFailures(ctx, tx, email, ip); err != nil {
		return nil, err
	} else if n {
		return nil, commitThen(tx, locked)
	}
	since := tx.now.Add(-pledge.LoginWindow).Unix()
	if !ok {
		// Delete attempts past the window as we go, so the table stays small.
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE at <= ?`, since); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (email, ip, at) VALUES (?, ?, ?)`,
			email, ip, tx.now.Unix()); err != nil {
			return nil, err
		}
		return nil, commitThen(tx, pledge.Errorf(pledge.EUNAUTHORIZED, "That e-mail address and password do not match an account."))
	}
	// Only this pair's failures are forgiven: a sign-in must not wipe out what others tried
	// against the account from elsewhere, nor the client's failures against other accounts.
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE email = ? AND ip = ?`, email, ip); err != nil {
		return nil, err
	}
	s.CreatedAt = time.Unix(created, 0).UTC()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	expires := tx.now.Add(db.staffIdle())
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO staff_sessions (id, staff_id, created_at, last_seen_at, expires) VALUES (?, ?, ?, ?, ?)`,
		sessionID(token), s.ID, tx.now.Unix(), tx.now.Unix(), expires.Unix()); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE expires <= ?`, tx.now.Unix()); err != nil {
		return nil, err
	}
	return &pledge.StaffSession{Token: token, Staff: s, Expires: expires}, tx.Commit()
}

// loginHashers is how many password hashes (argon2id, 64 MiB each) may run at once.
const loginHashers = 2

// loginFailures reports whether this account from this client has LoginLimit failures within
// LoginWindow, or the client LoginIPLimit over all accounts. Counting the pair, not the account
// alone, keeps anyone who knows an editor's address from locking them out; counting the client
// over all accounts stops password spraying.
func (db *DB) loginFailures(ctx context.Context, q queryer, email, ip string) (bool, error) {
	since := db.Now().Add(-pledge.LoginWindow).Unix()
	var byPair, byIP int
	err := q.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM login_attempts WHERE email = ?1 AND ip = ?2 AND at > ?3),
		       (SELECT count(*) FROM login_attempts WHERE ip = ?2 AND at > ?3)`,
		email, ip, since).Scan(&byPair, &byIP)
	return byPair >= pledge.LoginLimit || byIP >= pledge.LoginIPLimit, err
}

// endOldSession deletes the session oldToken names (if any) and returns result.
func (db *DB) endOldSession(ctx context.Context, oldToken string, result error) error {
	if oldToken == "" {
		return result
	}
	if err := db.execWrite(ctx, `DELETE FROM staff_sessions WHERE id = ?`, sessionID(oldToken)); err != nil {
		return err
	}
	return result
}

// commitThen commits tx and returns result, or the commit's error.
func commitThen(tx *Tx, result error) error {
	if err := tx.Commit(); err != nil {
		return err
	}
	return result
}

func (db *DB) staffIdle() time.Duration {
	if db.StaffIdle > 0 {
		return db.StaffIdle
	}
	return DefaultStaffIdle
}

// Session returns the live session for token. Its idle timeout slides on use; the write happens
// at most once a minute per session, so reading pages does not queue on the writer.
func (db *DB) Session(ctx context.Context, token string) (_ *pledge.StaffSession, err error) {
	defer wrapErr(&err, "session")
	unauthorized := pledge.Errorf(pledge.EUNAUTHORIZED, "Please sign in.")
	if token == "" {
		return nil, unauthorized
	}
	id := sessionID(token)
	now := db.Now().UTC()
	var ss pledge.StaffSession
	var lastSeen, expires, created int64
	err = db.read.QueryRowContext(ctx, `
		SELECT st.id, st.email, st.role, st.created_at, se.last_seen_at, se.expires
		FROM staff_sessions se JOIN staff st ON st.id = se.staff_id
		WHERE se.id = ? AND se.expires > ? AND st.disabled_at IS NULL`, id, now.Unix()).Scan(
		&ss.Staff.ID, &ss.Staff.Email, &ss.Staff.Role, &created, &lastSeen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, unauthorized
	} else if err != nil {
		return nil, err
	}
	ss.Token = token
	ss.Staff.CreatedAt = time.Unix(created, 0).UTC()
	ss.Expires = time.Unix(expires, 0).UTC()
	if now.Unix()-lastSeen >= 60 {
		ss.Expires = now.Add(db.staffIdle())
		if err := db.execWrite(ctx, `UPDATE staff_sessions SET last_seen_at = ?, expires = ? WHERE id = ?`,
			now.Unix(), ss.Expires.Unix(), id); err != nil {
			return nil, err
		}
	}
	return &ss, nil
}

// Logout deletes a session.
func (db *DB) Logout(ctx context.Context, token string) (err error) {
	defer wrapErr(&err, "logout")
	return db.execWrite(ctx, `DELETE FROM staff_sessions WHERE id = ?`, sessionID(token))
}
