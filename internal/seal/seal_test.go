package seal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k1, _ := NewKey()
	k2, _ := NewKey()
	s1, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s1.Seal("reader@example.com")
	if strings.Contains(sealed, "reader") || !strings.HasPrefix(sealed, Marker+k1.ID+":") {
		t.Fatalf("sealed = %q", sealed)
	}
	if got, err := s1.Open(sealed); err != nil || got != "reader@example.com" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if s1.Seal("reader@example.com") != sealed {
		t.Fatal("one value sealed twice under one key differs")
	}
	if s1.Seal("") != "" {
		t.Fatal(`"" must stay ""`)
	}
	if got, _ := s1.Open("plain@example.com"); got != "plain@example.com" {
		t.Fatalf("a value stored before sealing: %q", got)
	}
	// A rotation: the new key seals, the old one still opens.
	s21, _ := New(k2, k1)
	if got, err := s21.Open(sealed); err != nil || got != "reader@example.com" {
		t.Fatalf("old value under new sealer = %q, %v", got, err)
	}
	if s21.Index("a@b") == s1.Index("a@b") || s21.Index("a@b") != s21.Index("a@b") {
		t.Fatal("index must follow the current key and be stable")
	}
	s2, _ := New(k2)
	if _, err := s2.Open(sealed); err == nil || !strings.Contains(err.Error(), k1.ID) {
		t.Fatalf("without the key: %v", err)
	}
	// Tampering is detected, the key id included.
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := s1.Open(tampered); err == nil {
		t.Fatal("a tampered value opened")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.key")
	k, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := CreateKeyFile(path); err == nil {
		t.Fatal("an existing key file was overwritten")
	}
	keys, err := ReadKeys(path)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("ReadKeys = %v, %v", keys, err)
	}
	if s, err := Load(path); err != nil || s.KeyID() != k.ID {
		t.Fatalf("Load = %v, %v; want a sealer under key %s", s, err, k.ID)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadKeys(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key: %v", err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a world-readable key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "bad"), []byte("hello\n"), 0o600)
	if _, err := ReadKeys(filepath.Join(dir, "bad")); err == nil {
		t.Fatal("a file that is no key was read")
	}
}
