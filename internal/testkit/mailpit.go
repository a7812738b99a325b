package testkit

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// MailpitServer is a running mailpit: SMTPURL is where Pledge sends, and the methods read what
// arrived through mailpit's HTTP API.
type MailpitServer struct {
	SMTPURL string
	APIBase string
	t       testing.TB
}

// Mailpit starts the pinned mailpit on free loopback ports (SMTP without authentication or TLS,
// its own database in a temporary directory) and returns it; it is stopped when the test ends.
// extra are more mailpit flags (e.g. --smtp-allowed-recipients to make it refuse some).
func Mailpit(t testing.TB, extra ...string) *MailpitServer {
	t.Helper()
	bin := Tool(t, "mailpit")
	for attempt := 0; ; attempt++ {
		smtpPort, httpPort := FreePort(t), FreePort(t)
		args := append([]string{
			"--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort),
			"--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
			"--database", filepath.Join(t.TempDir(), "mailpit.db"),
			"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--smtp-disable-rdns",
			"--disable-version-check", "--quiet"}, extra...)
		cmd := Start(t, bin, args...)
		m := &MailpitServer{
			SMTPURL: fmt.Sprintf("smtp://127.0.0.1:%d", smtpPort),
			APIBase: fmt.Sprintf("http://127.0.0.1:%d/api/v1", httpPort),
			t:       t,
		}
		if waitUp(m.APIBase+"/messages", cmd, 30*time.Second) {
			return m
		}
		if attempt == 2 {
			t.Fatal("testkit: mailpit did not start")
		}
	}
}

// MailAddress is one address of a message.
type MailAddress struct {
	Name    string
	Address string
}

// MailSummary is a message as mailpit lists it.
type MailSummary struct {
	ID      string
	To      []MailAddress
	Subject string
}

// Mail is one message read in full: its parts and headers.
type Mail struct {
	ID      string
	To      []MailAddress
	Subject string
	Text    string
	HTML    string
	Headers map[string][]string
}

// Messages lists every message mailpit holds (up to 10,000), newest first. Mailpit's API pages
// by 50 unless told otherwise.
func (m *MailpitServer) Messages() []MailSummary {
	m.t.Helper()
	var out struct {
		Messages []MailSummary `json:"messages"`
	}
	m.get("/messages?limit=10000", &out)
	return out.Messages
}

// Message reads one message with its headers.
func (m *MailpitServer) Message(id string) *Mail {
	m.t.Helper()
	var msg Mail
	m.get("/message/"+id, &msg)
	m.get("/message/"+id+"/headers", &msg.Headers)
	return &msg
}

// WaitMessages polls until mailpit holds at least n messages (SMTP delivery into its store is
// asynchronous to the API) and returns them.
func (m *MailpitServer) WaitMessages(n int, timeout time.Duration) []MailSummary {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := m.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("testkit: mailpit holds %d messages after %s, want %d", len(msgs), timeout, n)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// Header returns the first value of a header of msg.
func (msg *Mail) Header(name string) string {
	if v := msg.Headers[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

var hrefRe = regexp.MustCompile(`href="([^"]+)"`)

// Links returns the href targets of the HTML part, in order.
func (msg *Mail) Links() []string {
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(msg.HTML, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func (m *MailpitServer) get(path string, v any) {
	m.t.Helper()
	resp, err := http.Get(m.APIBase + path)
	if err != nil {
		m.t.Fatalf("testkit: mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("testkit: mailpit %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		m.t.Fatalf("testkit: mailpit %s: %v", path, err)
	}
}
