//go:build linux && cgo

package main

/*
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

// How many malloc arenas glibc may keep for the C heap (SQLite's). By default glibc gives each
// thread that allocates an arena of its own, up to 8 per core, and the Go runtime runs cgo calls
// (and starts its threads) on many threads: SQLite's 3 to 4 MB ended up spread over ten arenas,
// each keeping what was freed in it (1.5 to 2.6 MB more peak RSS in the memory row, for no CPU
// per request saved; docs/performance.md).
#define PLEDGE_ARENAS 2

static int pledge_arenas_limited;

static int pledge_arenas_were_limited(void) { return pledge_arenas_limited; }

// pledge_operator_arenas reports whether the operator chose the limit: glibc applied it at start.
static int pledge_operator_arenas(const char *max, const char *tunables) {
	return (max != NULL && *max != '\0') || (tunables != NULL && strstr(tunables, "malloc.arena_max") != NULL);
}

// A constructor, as the limit only holds for arenas not yet made: it must run before the Go
// runtime's threads allocate (each new thread's first allocation makes an arena), which is before
// any Go code runs.
__attribute__((constructor)) static void pledge_limit_arenas(void) {
#ifdef M_ARENA_MAX
	if (!pledge_operator_arenas(getenv("MALLOC_ARENA_MAX"), getenv("GLIBC_TUNABLES"))) {
		pledge_arenas_limited = mallopt(M_ARENA_MAX, PLEDGE_ARENAS) == 1;
	}
#endif
}
*/
import "C"

import "unsafe"

// cArenas is glibc's malloc arena limit that pledge sets at start (PLEDGE_ARENAS above), unless
// MALLOC_ARENA_MAX or GLIBC_TUNABLES' glibc.malloc.arena_max sets another.
const cArenas = C.PLEDGE_ARENAS

// cArenasLimited reports whether pledge set glibc's arena limit at start.
func cArenasLimited() bool { return C.pledge_arenas_were_limited() != 0 }

// operatorArenas reports whether these values of MALLOC_ARENA_MAX and GLIBC_TUNABLES choose the
// arena limit, leaving pledge's unset.
func operatorArenas(max, tunables string) bool {
	cm, ct := C.CString(max), C.CString(tunables)
	defer C.free(unsafe.Pointer(cm))
	defer C.free(unsafe.Pointer(ct))
	return C.pledge_operator_arenas(cm, ct) != 0
}
