// Package seal encrypts readers' personal data at rest (addresses and names) with AES-256-GCM,
// and hashes addresses with HMAC-SHA256 for look-ups, under a data key kept outside the database
// (PLEDGE_DATA_KEY_FILE).
//
// A key file holds one or more keys, one a line: the first seals and indexes; the others only
// open what was sealed with them (during a rotation, which re-seals everything under the first).
// Each sealed value names its key: "enc:ID:BASE64", so a rotation can find what is left to do.
//
// Sealing is deterministic: the nonce is an HMAC of the plain text under a key of its own (the
// synthetic-IV construction), so one value seals to one text under one key. That keeps the
// store's tie-breaks between two values (which the ledger's order-independence relies on)
// comparisons of stored text, and leaks only that two stored values are equal, which the keyed
// hash of an address leaks anyway. Distinct values never share a nonce except by a 96-bit
// collision of HMAC-SHA256.
package seal

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Marker begins every sealed value; the key's id and a colon follow it.
const Marker = "enc:"

// header is the first word of each key line, so that a key file is recognisable.
const header = "pledge-data-key-v1"

// Key is one data key: 32 random bytes and a short random id stored with each value it seals.
type Key struct {
	ID     string
	secret []byte
}

// NewKey returns a new random key.
func NewKey() (*Key, error) {
	id := make([]byte, 4)
	secret := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return &Key{ID: hex.EncodeToString(id), secret: secret}, nil
}

func (k *Key) line() string {
	return header + " " + k.ID + " " + base64.StdEncoding.EncodeToString(k.secret) + "\n"
}

// derive returns a subkey for one purpose, so that encryption, nonces and the address index
// never share key material.
func (k *Key) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("pledge seal " + purpose))
	return m.Sum(nil)
}

// ReadKeys reads a key file: one or more keys, the current one first. A file that other users of
// the machine may read is refused, naming the fix.
func ReadKeys(path string) ([]*Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("data key: %s is readable by other users (mode %s): run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	var keys []*Key
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != header || f[1] == "" || strings.ContainsAny(f[1], ":") {
			return nil, fmt.Errorf("data key: %s:%d: not a Pledge data key (make one with: pledge keys new FILE)", path, n)
		}
		secret, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil || len(secret) != 32 {
			return nil, fmt.Errorf("data key: %s:%d: the key is not 32 bytes of base64", path, n)
		}
		keys = append(keys, &Key{ID: f[1], secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("data key: %s holds no key (make one with: pledge keys new FILE)", path)
	}
	return keys, nil
}

// WriteKeys writes keys (the current one first) to path with mode 0600, replacing the file
// atomically: a crash leaves the old file or the new one, never half of one.
func WriteKeys(path string, keys ...*Key) error {
	var b strings.Builder
	b.WriteString("# Pledge data key: keep it secret, and back it up apart from the database.\n")
	for _, k := range keys {
		b.WriteString(k.line())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pledge-key-*")
	if err != nil {
		return fmt.Errorf("data key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CreateKeyFile writes a new key file with one new key; it refuses to overwrite a file.
func CreateKeyFile(path string) (*Key, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("data key: %s exists; refusing to overwrite a key (data sealed with it would be lost)", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	return k, WriteKeys(path, k)
}

// Sealer seals and opens values, and indexes addresses, with a list of keys: the first seals and
// indexes, every one opens.
type Sealer struct {
	current *sealKey
	byID    map[string]*sealKey
}

type sealKey struct {
	id    string
	aead  cipher.AEAD
	nonce []byte // HMAC key deriving each value's nonce
	index []byte // HMAC key of the address index
}

// Load returns the sealer of the key file at path (ReadKeys, then New): what
// PLEDGE_DATA_KEY_FILE names.
func Load(path string) (*Sealer, error) {
	keys, err := ReadKeys(path)
	if err != nil {
		return nil, err
	}
	return New(keys...)
}

// New returns a Sealer for keys, the current one first.
func New(keys ...*Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no key")
	}
	s := &Sealer{byID: map[string]*sealKey{}}
	for _, k := range keys {
		block, err := aes.NewCipher(k.derive("aes-256-gcm"))
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sk := &sealKey{id: k.ID, aead: aead, nonce: k.derive("nonce"), index: k.derive("index")}
		if _, dup := s.byID[k.ID]; dup {
			return nil, fmt.Errorf("seal: key %s listed twice", k.ID)
		}
		s.byID[k.ID] = sk
		if s.current == nil {
			s.current = sk
		}
	}
	return s, nil
}

// KeyID returns the id of the key that seals.
func (s *Sealer) KeyID() string { return s.current.id }

// Seal returns the sealed form of plain under the current key; "" stays "".
func (s *Sealer) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	k := s.current
	m := hmac.New(sha256.New, k.nonce)
	m.Write([]byte(plain))
	nonce := m.Sum(nil)[:k.aead.NonceSize()]
	// The key id is authenticated too, so a value cannot be passed off as another key's.
	out := k.aead.Seal(nonce, nonce, []byte(plain), []byte(k.id))
	return Marker + k.id + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the plain text of a stored value. A value without the marker was stored before
// sealing was turned on and is returned as it is; one sealed with a key this Sealer does not
// hold is an error.
func (s *Sealer) Open(stored string) (string, error) {
	if !strings.HasPrefix(stored, Marker) {
		return stored, nil
	}
	id, body, ok := strings.Cut(stored[len(Marker):], ":")
	if !ok {
		return "", errors.New("seal: malformed sealed value")
	}
	k := s.byID[id]
	if k == nil {
		return "", fmt.Errorf("seal: value sealed with key %s, which PLEDGE_DATA_KEY_FILE does not hold", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", errors.New("seal: malformed sealed value")
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(k.id))
	if err != nil {
		return "", fmt.Errorf("seal: value under key %s fails authentication", id)
	}
	return string(plain), nil
}

// Index returns the keyed hash of a normalised address under the current key: what look-ups by
// address compare, without the address itself.
func (s *Sealer) Index(normalised string) string {
	if normalised == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.current.index)
	m.Write([]byte(normalised))
	return "h:" + s.current.id + ":" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
