package mail

import (
	"bytes"
	htmltemplate "html/template"
	texttemplate "text/template"
)

var (
	manageText = texttemplate.Must(texttemplate.ParseFS(templates, "templates/manage.txt"))
	manageHTML = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/manage.html"))
)

type manageData struct {
	Org       string
	Subject   string
	ManageURL string
	CancelURL string
}

// ManageLinkMessage composes the e-mail with a supporter's single-use link to the billing portal,
// and the direct cancel link when cancelURL is set.
func (m *Mailer) ManageLinkMessage(to, manageURL, cancelURL string) (*Message, error) {
	d := manageData{Org: m.cfg.Org, Subject: m.subject("Your link to manage your support for " + m.cfg.Org),
		ManageURL: manageURL, CancelURL: cancelURL}
	var text, html bytes.Buffer
	if err := manageText.Execute(&text, d); err != nil {
		return nil, err
	}
	if err := manageHTML.Execute(&html, d); err != nil {
		return nil, err
	}
	return &Message{To: to, Subject: d.Subject, Text: text.String(), HTML: html.String(),
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}}, nil
}
