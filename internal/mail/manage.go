package mail

import (
	"github.com/pledge-news/pledge/internal/locale"
)

var manageBodies = parseBodies("manage")

type manageData struct {
	L         *locale.Catalogue
	Org       string
	Subject   string
	ManageURL string
	CancelURL string
}

// ManageLinkMessage composes the e-mail with a supporter's single-use link to the billing portal,
// and the direct cancel link when cancelURL is set, in the language lang (the /manage page's; the
// default when the service does not speak it).
func (m *Mailer) ManageLinkMessage(to, lang, manageURL, cancelURL string) (*Message, error) {
	lc := m.cfg.Languages.Lookup(lang)
	d := manageData{L: lc, Org: m.cfg.Org, Subject: m.plainSubject(lc.T("mail.manage.subject", "org", m.cfg.Org)),
		ManageURL: manageURL, CancelURL: cancelURL}
	text, html, err := manageBodies.render(d)
	if err != nil {
		return nil, err
	}
	return &Message{To: to, Subject: d.Subject, Text: text, HTML: html,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}}, nil
}
