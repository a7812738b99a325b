package testkit

import (
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// A package's tests share one stripe-mock (stateless: it answers each request from its fixtures)
// instead of starting one per test, which costs seconds of CPU each time it loads its OpenAPI
// spec. The shared processes live as long as the test binary: the package's TestMain runs its
// tests through Run, which stops them at the end (and, on Linux, the kernel kills them if the
// test binary dies first).

var (
	sharedMu    sync.Mutex
	sharedInRun bool                       // Run is running the package's tests
	shared      = map[string]*sharedProc{} // by name
)

// sharedProc is a process started once for the package's tests.
type sharedProc struct {
	once sync.Once
	cmd  *exec.Cmd
	done chan struct{}
	out  LockedBuffer
	url  string
	err  error
}

// Run runs a package's tests (m.Run), after the set-ups given (such as CheapPasswords), and then
// stops the processes they shared; call it from the package's TestMain:
// os.Exit(testkit.Run(m)).
func Run(m *testing.M, setups ...func()) int {
	for _, setup := range setups {
		setup()
	}
	sharedMu.Lock()
	sharedInRun = true
	sharedMu.Unlock()
	defer stopShared()
	return m.Run()
}

func stopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for name, p := range shared {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		delete(shared, name)
	}
	sharedInRun = false
}

// sharedProcess returns the URL of the package's shared process called name, starting it with
// start on first use. start returns the started command and its URL, or ok false when the
// process exited before answering (a port lost to a race: start is tried again, three times).
func sharedProcess(t testing.TB, name string, start func(out *LockedBuffer) (*exec.Cmd, chan struct{}, string, bool)) string {
	t.Helper()
	sharedMu.Lock()
	if !sharedInRun {
		sharedMu.Unlock()
		t.Fatalf("testkit: the package's tests share one %s: its TestMain must run them through testkit.Run "+
			"(func TestMain(m *testing.M) { os.Exit(testkit.Run(m)) })", name)
	}
	p := shared[name]
	if p == nil {
		p = &sharedProc{}
		shared[name] = p
	}
	sharedMu.Unlock()
	p.once.Do(func() {
		for attempt := 0; attempt < 3; attempt++ {
			p.out = LockedBuffer{}
			cmd, done, u, ok := start(&p.out)
			if cmd == nil {
				p.err = fmt.Errorf("testkit: start %s: %s", name, p.out.String())
				return
			}
			p.cmd, p.done = cmd, done
			if ok {
				p.url = u
				return
			}
			<-done
		}
		p.err = fmt.Errorf("testkit: %s did not start:\n%s", name, p.out.String())
	})
	if p.err != nil {
		t.Fatal(p.err)
	}
	select {
	case <-p.done:
		t.Fatalf("testkit: the shared %s has exited:\n%s", name, p.out.String())
	default:
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of the shared %s so far:\n%s", name, tail(p.out.String(), 8<<10))
		}
	})
	return p.url
}

// startShared starts bin with args for the package's shared use, its output in out.
func startShared(bin string, out *LockedBuffer, args ...string) (*exec.Cmd, chan struct{}) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "%v", err)
		return nil, nil
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return cmd, done
}

// exited reports whether the process has ended.
func exited(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// waitShared polls u until it answers; false if the process exits first.
func waitShared(u string, done chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if answers(u) {
			return true
		}
		if exited(done) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
	return false
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
