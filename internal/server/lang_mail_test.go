package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A deferral remembers the language the prompt was shown in (the remind form's lang field), so
// its reminder e-mail is written in it; a language the service lacks is stored as the one used.
func TestRemindRemembersLanguage(t *testing.T) {
	f := newRemindFixture(t, Config{})
	for _, tc := range []struct{ lang, accept, want string }{
		{"ru", "", "ru"},
		{"", "ru-RU,ru;q=0.9", "ru"},
		{"fr", "", "en"},
	} {
		req := url.Values{"choice": {"week"}, "lang": {tc.lang}}
		rec := f.doLang(http.MethodPost, "/remind", req, jsonAccept, tc.accept)
		if rec.Code != http.StatusCreated {
			t.Fatalf("%+v: status %d: %s", tc, rec.Code, rec.Body)
		}
		var lang string
		if err := f.db.Reader().QueryRow(`SELECT lang FROM deferrals ORDER BY id DESC LIMIT 1`).Scan(&lang); err != nil {
			t.Fatal(err)
		}
		if lang != tc.want {
			t.Fatalf("%+v: stored %q", tc, lang)
		}
	}
}

// The manage e-mail is written in the language of the /manage page it was asked on.
func TestManageLinkInPagesLanguage(t *testing.T) {
	f, _, sent := newManageFixture(t, Config{})
	rec := f.do(http.MethodPost, "/manage", url.Values{"email": {"ann@example.com"}, "lang": {"ru"}}, htmlAccept)
	f.s.Wait()
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Проверьте почту") {
		t.Fatalf("status %d", rec.Code)
	}
	if len(sent.langs) != 1 || sent.langs[0] != "ru" {
		t.Fatalf("e-mails sent in %v, want [ru]", sent.langs)
	}
}

// doLang is do with an Accept-Language header.
func (f *remindFixture) doLang(method, target string, form url.Values, accept, acceptLanguage string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Language", acceptLanguage)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	return rec
}
