package pledge

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reportColumn is one figure of `pledge report`, in the order both formats print them.
type reportColumn struct {
	Name  string
	Value func(KPIs) int64
}

func (c reportColumn) cell(k KPIs) string { return strconv.FormatInt(c.Value(k), 10) }

// reportColumns are the report's figures per currency: money in minor units, the rest counts.
// The JSON keys and the CSV header come from this one list, so the two formats cannot drift.
var reportColumns = []reportColumn{
	{"gross", func(k KPIs) int64 { return k.Gross }},
	{"refunded", func(k KPIs) int64 { return k.Refunded }},
	{"disputed", func(k KPIs) int64 { return k.Disputed }},
	{"net", func(k KPIs) int64 { return k.Net }},
	{"tax", func(k KPIs) int64 { return k.Tax }},
	{"donations", func(k KPIs) int64 { return int64(k.Donations) }},
	{"new_supporters", func(k KPIs) int64 { return int64(k.NewSupporters) }},
	{"recurring_supporters", func(k KPIs) int64 { return int64(k.RecurringSupporters()) }},
	{"mrr", func(k KPIs) int64 { return k.MRR }},
	{"cancellations", func(k KPIs) int64 { return int64(k.Cancellations) }},
	{"cancellations_scheduled", func(k KPIs) int64 { return int64(k.CancellationsScheduled) }},
	{"failed_payments", func(k KPIs) int64 { return int64(k.FailedPayments) }},
	{"recovered_payments", func(k KPIs) int64 { return int64(k.Recovered) }},
	// Added by issue 15; the contract only grows.
	{"recurring_at_start", func(k KPIs) int64 { return int64(k.RecurringAtStart) }},
	{"new_recurring", func(k KPIs) int64 { return int64(k.NewRecurring) }},
	{"net_new_recurring", func(k KPIs) int64 { return int64(k.NetNewRecurring()) }},
	// Every value stays an integer (readers decode the figures as integers): the churn rate in
	// basis points, 3000 for 30.00 %.
	{"churn_rate_bp", func(k KPIs) int64 { return int64(math.Round(k.MonthlyChurn() * 10000)) }},
	{"failed_open", func(k KPIs) int64 { return int64(k.OpenFailed) }},
	{"at_risk", func(k KPIs) int64 { return k.AtRisk }},
	{"settled_donations", func(k KPIs) int64 { return int64(k.SettledDonations) }},
	{"settled_amount", func(k KPIs) int64 { return k.SettledAmount }},
	{"fees", func(k KPIs) int64 { return k.Fees }},
	{"settled_lost", func(k KPIs) int64 { return k.SettledLost }},
	{"settled_net", func(k KPIs) int64 { return k.SettledNet }},
	{"unsettled_donations", func(k KPIs) int64 { return int64(k.UnsettledDonations) }},
	{"unsettled_net", func(k KPIs) int64 { return k.UnsettledNet }},
}

// ReportCSVHeader is the header of `pledge report --format csv`.
func ReportCSVHeader() []string {
	h := []string{"currency"}
	for _, c := range reportColumns {
		h = append(h, c.Name)
	}
	return h
}

// WriteReport writes the headline figures of p, one currency each, as `pledge report` prints
// them. p is half-open in whole UTC days; the output names its first and its last (inclusive)
// day. JSON is {"from":"YYYY-MM-DD","to":"YYYY-MM-DD","currencies":{"usd":{"gross":…,…}}}; CSV
// is ReportCSVHeader and a row per currency. Both list currencies in currency order.
func WriteReport(w io.Writer, p Period, figures []KPIs, format string) error {
	if format != FormatJSON && format != FormatCSV {
		return Errorf(EINVALID, "The report's format is csv or json, not %q.", format)
	}
	p = p.WholeDays()
	from, to := p.From.Format(time.DateOnly), p.To.Add(-24*time.Hour).Format(time.DateOnly)
	figures = append([]KPIs(nil), figures...)
	for i := range figures {
		figures[i].Currency = Currency(strings.ToLower(string(figures[i].Currency)))
	}
	sort.SliceStable(figures, func(i, j int) bool { return figures[i].Currency < figures[j].Currency })
	for i := 1; i < len(figures); i++ {
		if figures[i].Currency == figures[i-1].Currency {
			return Errorf(EINTERNAL, "The report has %s twice.", figures[i].Currency)
		}
	}
	if format == FormatCSV {
		cw := csv.NewWriter(w)
		_ = cw.Write(ReportCSVHeader())
		for _, k := range figures {
			row := []string{string(k.Currency)}
			for _, c := range reportColumns {
				row = append(row, c.cell(k))
			}
			_ = cw.Write(row)
		}
		cw.Flush()
		return cw.Error()
	}
	// JSON by hand: the keys keep the order of reportColumns, which a map would not.
	var b bytes.Buffer
	str := func(s string) { q, _ := json.Marshal(s); b.Write(q) }
	key := func(s string) { str(s); b.WriteByte(':') }
	b.WriteByte('{')
	key("from")
	str(from)
	b.WriteByte(',')
	key("to")
	str(to)
	b.WriteByte(',')
	key("currencies")
	b.WriteByte('{')
	for i, k := range figures {
		if i > 0 {
			b.WriteByte(',')
		}
		key(string(k.Currency))
		b.WriteByte('{')
		for j, c := range reportColumns {
			if j > 0 {
				b.WriteByte(',')
			}
			key(c.Name)
			b.WriteString(c.cell(k))
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
