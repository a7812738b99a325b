package pdf

import (
	"bytes"
	"testing"
)

func TestRenderMakesAPDF(t *testing.T) {
	b, err := Render(Document{Title: "Statement of gifts, 2026", Header: []string{"The Riverside Ledger", "Supporter: Zoë"},
		Tables: [][][]string{{{"Date", "Amount"}, {"1 March 2026", "€5.00"}}}, Footer: []string{"Issued by Riverside Media Ltd."}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q...", b[:min(len(b), 20)])
	}
}
