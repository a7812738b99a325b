package testkit

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPaths are where Debian's chromium package puts the browser.
var chromiumPaths = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"}

// Browser starts headless Chromium (Debian's package) with a fresh profile and returns a chromedp
// context for one tab, closed when the test ends. Without Chromium the test is skipped with the
// command that installs it, except under CI=true, where a missing browser fails the run.
func Browser(t testing.TB, extraFlags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var bin string
	for _, p := range chromiumPaths {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("chromium"); err == nil {
			bin = p
		}
	}
	if bin == "" {
		msg := "testkit: Chromium is not installed: run `make chromium` (as root on Debian: apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING BROWSER TEST: " + msg)
	}
	// The profile is removed by our own cleanup, not t.TempDir's: Chromium's helper processes may
	// still be writing to it for a moment after the browser exits, which fails t.TempDir's
	// RemoveAll ("directory not empty").
	profile, err := os.MkdirTemp("", "pledge-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 900),
	}
	opts = append(opts, extraFlags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		removeAllSettled(profile, 10*time.Second)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("testkit: start Chromium: %v", err)
	}
	return ctx
}

// removeAllSettled removes dir, retrying while something is still writing into it.
func removeAllSettled(dir string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for os.RemoveAll(dir) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling a condition: the directory is gone
	}
}
