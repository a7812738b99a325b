package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// DefaultStaffIdle is how long a staff session lives without use unless StaffIdle is set.
const DefaultStaffIdle = 12 * time.Hour

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

// SignIn returns the sign-in service over this store; NewDB makes it.
func (db *DB) SignIn() *pledge.SignIn { return db.signIn }

// StaffCredentials returns the account whose address is email, with its password hash.
func (db *DB) StaffCredentials(ctx context.Context, email string) (_ *pledge.Staff, _ string, err error) {
	defer wrapErr(&err, "staff credentials")
	var s pledge.Staff
	var hash string
	var created int64
	var disabled sql.NullInt64
	err = db.read.QueryRowContext(ctx, `SELECT id, email, role, password_hash, created_at, disabled_at FROM staff WHERE `+db.eqNoCase("email"),
		email).Scan(&s.ID, &s.Email, &s.Role, &hash, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", pledge.Errorf(pledge.ENOTFOUND, "No staff member has that address.")
	} else if err != nil {
		return nil, "", err
	}
	s.CreatedAt, s.DisabledAt = time.Unix(created, 0).UTC(), fromUnix(disabled)
	return &s, hash, nil
}

// LoginFailures counts the failed sign-ins after since: of email from ip, and from ip.
func (db *DB) LoginFailures(ctx context.Context, email, ip string, since time.Time) (pair, client int, err error) {
	defer wrapErr(&err, "login failures")
	return loginFailures(ctx, db.read, email, ip, since)
}

func loginFailures(ctx context.Context, q queryer, email, ip string, since time.Time) (pair, client int, err error) {
	err = q.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM login_attempts WHERE email = ?1 AND ip = ?2 AND at > ?3),
		       (SELECT count(*) FROM login_attempts WHERE ip = ?2 AND at > ?3)`,
		email, ip, since.Unix()).Scan(&pair, &client)
	return pair, client, err
}

// SignInTx runs fn in one write transaction, committed when fn returns nil.
func (db *DB) SignInTx(ctx context.Context, fn func(pledge.SignInTx) error) (err error) {
	defer wrapErr(&err, "login")
	return db.inTx(ctx, func(tx *Tx) error { return fn(signInTx{ctx: ctx, tx: tx}) })
}

// signInTx is pledge.SignInTx over a write transaction.
type signInTx struct {
	ctx context.Context
	tx  *Tx
}

func (t signInTx) Logout(token string) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM staff_sessions WHERE id = ?`, sessionID(token))
	return err
}

func (t signInTx) LoginFailures(email, ip string, since time.Time) (int, int, error) {
	return loginFailures(t.ctx, t.tx, email, ip, since)
}

func (t signInTx) ForgetLoginFailures(before time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM login_attempts WHERE at <= ?`, before.Unix())
	return err
}

func (t signInTx) RecordLoginFailure(email, ip string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO login_attempts (email, ip, at) VALUES (?, ?, ?)`, email, ip, at.Unix())
	return err
}

func (t signInTx) ClearLoginFailures(email, ip string) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM login_attempts WHERE email = ? AND ip = ?`, email, ip)
	return err
}

func (t signInTx) CreateSession(st pledge.Staff) (*pledge.StaffSession, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := t.tx.now
	expires := now.Add(t.tx.db.staffIdle())
	if _, err := t.tx.ExecContext(t.ctx, `
		INSERT INTO staff_sessions (id, staff_id, created_at, last_seen_at, expires) VALUES (?, ?, ?, ?, ?)`,
		sessionID(token), st.ID, now.Unix(), now.Unix(), expires.Unix()); err != nil {
		return nil, err
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM staff_sessions WHERE expires <= ?`, now.Unix()); err != nil {
		return nil, err
	}
	return &pledge.StaffSession{Token: token, Staff: st, Expires: expires}, nil
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
