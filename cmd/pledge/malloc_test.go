//go:build linux && cgo

package main

import (
	"os"
	"testing"
)

// TestCArenas: pledge limits glibc's malloc arenas at start unless the operator chose a limit
// (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in GLIBC_TUNABLES), which glibc applied itself.
func TestCArenas(t *testing.T) {
	for _, c := range []struct {
		max, tunables string
		operator      bool
	}{
		{"", "", false},
		{"8", "", true},
		{"", "glibc.malloc.arena_max=4", true},
		{"", "glibc.malloc.trim_threshold=65536:glibc.malloc.arena_max=1", true},
		{"", "glibc.malloc.trim_threshold=65536", false},
	} {
		if got := operatorArenas(c.max, c.tunables); got != c.operator {
			t.Errorf("operatorArenas(%q, %q) = %v, want %v", c.max, c.tunables, got, c.operator)
		}
	}
	want := !operatorArenas(os.Getenv("MALLOC_ARENA_MAX"), os.Getenv("GLIBC_TUNABLES"))
	if got := cArenasLimited(); got != want {
		t.Errorf("this process: pledge set the limit of %d arenas: %v, want %v", cArenas, got, want)
	}
}
