package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/pledge-news/pledge/internal/pledge"
)

// The daily rollups (donations_daily, donations_sources, subscriptions_daily) let the dashboard
// read a few rows a day instead of all of history, and donations_sources_weekly the sources' sums
// by week (migration 0022) for the whole weeks of a period. They are kept here, in Go, by one
// definition of what each row contributes: a donation (contribution), a supporter's first gift
// (newSupporter) and a span of recurring revenue (a pledge.Segment). Every writer goes through
// these functions: the webhook's effects (as a delta: the row's contribution after a change
// minus its contribution before), the rebuild after a migration, and `pledge seed`.

// ledgerVersion is the version of the derived data (rollups, segments, supporters' first gifts).
// Open rebuilds them when the stored version is older: after a migration that changed their
// definition.
const ledgerVersion = "18"

// donationRow is the part of a donation the rollups read.
type donationRow struct {
	id                         int64
	supporter                  int64 // 0 when none
	paidAt                     int64
	currency, frequency        string
	article, campaign          string
	amount, refunded, disputed int64
	tax                        int64
	settle                     pledge.Settlement
}

// measures is one rollup row's sums.
type measures struct {
	donations, gross, refunded, refunds, disputes, disputed, tax int64
}

// contribution is what one donation adds to its day's rollup rows.
func (d *donationRow) contribution() measures {
	m := measures{donations: 1, gross: d.amount, refunded: d.refunded, disputed: d.disputed, tax: d.tax}
	if d.refunded > 0 {
		m.refunds = 1
	}
	if d.disputed > 0 {
		m.disputes = 1
	}
	return m
}

func (m measures) times(sign int64) measures {
	return measures{m.donations * sign, m.gross * sign, m.refunded * sign, m.refunds * sign, m.disputes * sign,
		m.disputed * sign, m.tax * sign}
}

func dayOf(t int64) int64 { return t - t%86400 }

const donationRowColumns = `id, coalesce(supporter_id, 0), paid_at, currency, frequency, article, campaign, amount,
	amount_refunded, amount_disputed, tax, settle_txn, settle_currency, settle_amount, settle_fee, settle_net`

func scanDonationRow(r scanner) (*donationRow, error) {
	var d donationRow
	err := r.Scan(&d.id, &d.supporter, &d.paidAt, &d.currency, &d.frequency, &d.article, &d.campaign, &d.amount,
		&d.refunded, &d.disputed, &d.tax, &d.settle.BalanceTransaction, &d.settle.Currency, &d.settle.Amount,
		&d.settle.Fee, &d.settle.Net)
	return &d, err
}

// settleKey is a row of settlement_daily: a day, the charge's currency and the settlement
// currency ("" while the balance transaction is not known).
type settleKey struct {
	day              int64
	currency, settle string
}

// settleMeasures is one settlement_daily row's sums.
type settleMeasures struct {
	donations, amount, fee, lost, net int64
}

func (m settleMeasures) plus(o settleMeasures) settleMeasures {
	return settleMeasures{m.donations + o.donations, m.amount + o.amount, m.fee + o.fee, m.lost + o.lost, m.net + o.net}
}

// settlement is what one donation adds to settlement_daily: with its balance transaction known,
// what it left in the bank in the settlement currency (pledge.SettledNetOf); without, its net in
// its own currency (pledge.NetOf), under settlement currency "".
func (d *donationRow) settlement() (settleKey, settleMeasures) {
	k := settleKey{dayOf(d.paidAt), d.currency, ""}
	if !d.settle.Known() {
		return k, settleMeasures{donations: 1, net: pledge.NetOf(d.amount, d.refunded, d.disputed)}
	}
	k.settle = string(d.settle.Currency)
	lost := pledge.SettledLost(d.settle, d.amount, d.refunded, d.disputed)
	return k, settleMeasures{donations: 1, amount: d.settle.Amount, fee: d.settle.Fee, lost: lost,
		net: pledge.SettledNetOf(d.settle, d.amount, d.refunded, d.disputed)}
}

func addSettlement(ctx context.Context, tx *Tx, k settleKey, m settleMeasures) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO settlement_daily (day, currency, settle_currency, donations, amount, fee, lost, net)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, currency, settle_currency) DO UPDATE SET
			donations = settlement_daily.donations + excluded.donations, amount = settlement_daily.amount + excluded.amount,
			fee = settlement_daily.fee + excluded.fee, lost = settlement_daily.lost + excluded.lost, net = settlement_daily.net + excluded.net`,
		k.day, k.currency, k.settle, m.donations, m.amount, m.fee, m.lost, m.net)
	if err != nil {
		return fmt.Errorf("settlement_daily: %w", err)
	}
	return nil
}

// loadDonationRow returns the donation's rollup view, nil when there is no such row.
func loadDonationRow(ctx context.Context, tx *Tx, id int64) (*donationRow, error) {
	return loadDonationRowBy(ctx, tx, "id", id)
}

// loadDonationRowBy returns the rollup view of the donation whose column (id, or a unique Stripe
// id) is value, nil when there is none.
func loadDonationRowBy(ctx context.Context, tx *Tx, column string, value any) (*donationRow, error) {
	d, err := scanDonationRow(tx.QueryRowContext(ctx, `SELECT `+donationRowColumns+` FROM donations WHERE `+column+` = ?`, value))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return d, err
}

// dailyKey is a donation's row of donations_daily, sourceKey its row of donations_sources.
type dailyKey struct {
	day                 int64
	currency, frequency string
}

type sourceKey struct {
	day                         int64
	article, campaign, currency string
}

func (d *donationRow) dailyKey() dailyKey { return dailyKey{dayOf(d.paidAt), d.currency, d.frequency} }
func (d *donationRow) sourceKey() sourceKey {
	return sourceKey{dayOf(d.paidAt), d.article, d.campaign, d.currency}
}

// week is the length of a donations_sources_weekly row's week (migration 0022); weeks start at
// the epoch and every multiple of it.
const week = 7 * 86400

func weekOf(t int64) int64 { return t - t%week }

// weekKey is a donation's row of donations_sources_weekly: its sourceKey with the week for the day.
func (d *donationRow) weekKey() sourceKey {
	return sourceKey{weekOf(d.paidAt), d.article, d.campaign, d.currency}
}

// weekMeasures is one donations_sources_weekly row's sums: what the top lists read of
// donations_sources.
type weekMeasures struct{ donations, net int64 }

func (m measures) week() weekMeasures {
	return weekMeasures{m.donations, pledge.NetOf(m.gross, m.refunded, m.disputed)}
}

func (m weekMeasures) plus(o weekMeasures) weekMeasures {
	return weekMeasures{m.donations + o.donations, m.net + o.net}
}

func (m weekMeasures) minus(o weekMeasures) weekMeasures {
	return weekMeasures{m.donations - o.donations, m.net - o.net}
}

func (m measures) minus(o measures) measures { return m.plus(o.times(-1)) }

func (m settleMeasures) minus(o settleMeasures) settleMeasures { return m.plus(o.times(-1)) }

// rollupDelta is one change a donation makes to a rollup row: what is added under the key.
type rollupDelta[K comparable, M comparable] struct {
	key K
	add M
}

// deltas turns a row's contribution before and after a change into the additions to make: none
// when nothing changed, one (the difference) when the row stays under the same key, else the
// before taken from its key and the after added to its own. Either side may be absent (a new or
// a removed donation). Sums are linear, so adding the difference is exactly taking the old
// contribution away and adding the new one, in one statement instead of two.
func deltas[K comparable, M comparable](hasBefore bool, kb K, mb M, hasAfter bool, ka K, ma M,
	minus func(M, M) M) []rollupDelta[K, M] {
	var zero M
	neg := func(m M) M { return minus(zero, m) }
	switch {
	case hasBefore && hasAfter && kb == ka:
		if d := minus(ma, mb); d != zero {
			return []rollupDelta[K, M]{{ka, d}}
		}
		return nil
	case hasBefore && hasAfter:
		return []rollupDelta[K, M]{{kb, neg(mb)}, {ka, ma}}
	case hasBefore:
		return []rollupDelta[K, M]{{kb, neg(mb)}}
	case hasAfter:
		return []rollupDelta[K, M]{{ka, ma}}
	}
	return nil
}

func addDaily(ctx context.Context, tx *Tx, k dailyKey, m measures) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO donations_daily (day, currency, frequency, donations, gross, refunded, refunds, disputes, disputed, tax)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, currency, frequency) DO UPDATE SET
			donations = donations_daily.donations + excluded.donations, gross = donations_daily.gross + excluded.gross,
			refunded = donations_daily.refunded + excluded.refunded, refunds = donations_daily.refunds + excluded.refunds,
			disputes = donations_daily.disputes + excluded.disputes, disputed = donations_daily.disputed + excluded.disputed, tax = donations_daily.tax + excluded.tax`,
		k.day, k.currency, k.frequency, m.donations, m.gross, m.refunded, m.refunds, m.disputes, m.disputed, m.tax); err != nil {
		return fmt.Errorf("donations_daily: %w", err)
	}
	return nil
}

func addSource(ctx context.Context, tx *Tx, k sourceKey, m measures) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO donations_sources (day, article, campaign, currency, donations, gross, refunded, refunds, disputes, disputed, tax)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, article, campaign, currency) DO UPDATE SET
			donations = donations_sources.donations + excluded.donations, gross = donations_sources.gross + excluded.gross,
			refunded = donations_sources.refunded + excluded.refunded, refunds = donations_sources.refunds + excluded.refunds,
			disputes = donations_sources.disputes + excluded.disputes, disputed = donations_sources.disputed + excluded.disputed, tax = donations_sources.tax + excluded.tax`,
		k.day, k.article, k.campaign, k.currency, m.donations, m.gross, m.refunded, m.refunds, m.disputes, m.disputed, m.tax); err != nil {
		return fmt.Errorf("donations_sources: %w", err)
	}
	return nil
}

func addSourceWeek(ctx context.Context, tx *Tx, k sourceKey, m weekMeasures) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO donations_sources_weekly (week, article, campaign, currency, donations, net) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (week, article, campaign, currency) DO UPDATE SET
			donations = donations_sources_weekly.donations + excluded.donations, net = donations_sources_weekly.net + excluded.net`,
		k.day, k.article, k.campaign, k.currency, m.donations, m.net); err != nil {
		return fmt.Errorf("donations_sources_weekly: %w", err)
	}
	return nil
}

func (m settleMeasures) times(sign int64) settleMeasures {
	return settleMeasures{m.donations * sign, m.amount * sign, m.fee * sign, m.lost * sign, m.net * sign}
}

// changeDonation moves a donation's contribution from before to after (either may be nil: a new
// or a removed row) in the donations' rollups and in its supporters' lifetime totals, writing only
// the rows whose figures change: a settlement touches settlement_daily alone, and an unchanged row
// costs nothing. With first, it also recomputes the first gift of the supporters the donation
// belonged to before and belongs to after (a gift's paid time, keys or supporter may have moved),
// in the same read of the supporter as their last gift (refreshSupporterFigures).
func changeDonation(ctx context.Context, tx *Tx, before, after *donationRow, first bool) error {
	if before != nil && after != nil && *before == *after && !first {
		return nil
	}
	var b, a donationRow
	if before != nil {
		b = *before
	}
	if after != nil {
		a = *after
	}
	hb, ha := before != nil, after != nil
	mb, ma := b.contribution(), a.contribution()
	for _, d := range deltas(hb, b.dailyKey(), mb, ha, a.dailyKey(), ma, measures.minus) {
		if err := addDaily(ctx, tx, d.key, d.add); err != nil {
			return err
		}
	}
	for _, d := range deltas(hb, b.sourceKey(), mb, ha, a.sourceKey(), ma, measures.minus) {
		if err := addSource(ctx, tx, d.key, d.add); err != nil {
			return err
		}
	}
	// The week's row moves with the day's: it exists exactly when a day of the week has one
	// (a change within a week whose difference is nothing leaves both the day's and the week's
	// rows as they were, or writes a day's row of a week whose row is already there).
	for _, d := range deltas(hb, b.weekKey(), mb.week(), ha, a.weekKey(), ma.week(), weekMeasures.minus) {
		if err := addSourceWeek(ctx, tx, d.key, d.add); err != nil {
			return err
		}
	}
	sb, smb := b.settlement()
	sa, sma := a.settlement()
	for _, d := range deltas(hb, sb, smb, ha, sa, sma, settleMeasures.minus) {
		if err := addSettlement(ctx, tx, d.key, d.add); err != nil {
			return err
		}
	}
	// The supporters' lifetime totals move by the donation's difference, as the rollups do; their
	// last and first gifts follow its paid time (and, for the first, its keys and supporter).
	tb, ta := totalKey{b.supporter, b.currency}, totalKey{a.supporter, a.currency}
	for _, d := range deltas(hb && b.supporter != 0, tb, supporterTotal{}.add(&b), ha && a.supporter != 0, ta,
		supporterTotal{}.add(&a), supporterTotal.minus) {
		if err := addSupporterTotal(ctx, tx, d.key, d.add); err != nil {
			return err
		}
	}
	last := !hb || !ha || b.supporter != a.supporter || b.paidAt != a.paidAt
	if hb && b.supporter != 0 {
		if err := refreshSupporterFigures(ctx, tx, b.supporter, figures{last: last, first: first}); err != nil {
			return err
		}
	}
	if ha && a.supporter != 0 && (!hb || a.supporter != b.supporter) {
		return refreshSupporterFigures(ctx, tx, a.supporter, figures{last: true, first: first})
	}
	return nil
}

// totalKey is a row of supporter_totals: a supporter's lifetime figures in one currency.
type totalKey struct {
	supporter int64
	currency  string
}

// addSupporterTotal adds t to a supporter's lifetime totals in a currency; a row left with no
// donation is deleted, as a recomputation would leave none.
func addSupporterTotal(ctx context.Context, tx *Tx, k totalKey, t supporterTotal) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporter_totals (supporter_id, currency, net, donations) VALUES (?, ?, ?, ?)
		ON CONFLICT (supporter_id, currency) DO UPDATE SET
			net = supporter_totals.net + excluded.net, donations = supporter_totals.donations + excluded.donations`,
		k.supporter, k.currency, t.net, t.donations); err != nil {
		return fmt.Errorf("supporter_totals: %w", err)
	}
	if t.donations >= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM supporter_totals WHERE supporter_id = ? AND currency = ? AND donations = 0`,
		k.supporter, k.currency)
	return err
}

// supporterTotal is one supporter's lifetime figures in one currency.
type supporterTotal struct{ net, donations int64 }

// add counts a donation's contribution toward its supporter's lifetime total: the same net as
// the rollups (pledge.NetOf of its contribution).
func (t supporterTotal) add(d *donationRow) supporterTotal {
	m := d.contribution()
	return supporterTotal{t.net + pledge.NetOf(m.gross, m.refunded, m.disputed), t.donations + m.donations}
}

func (t supporterTotal) minus(o supporterTotal) supporterTotal {
	return supporterTotal{t.net - o.net, t.donations - o.donations}
}

// figures says what refreshSupporterFigures recomputes of a supporter: the lifetime totals from
// all their donations (after customers and their gifts moved between supporters; a changed
// donation moves the totals by its difference instead, changeDonation), the last gift, the first
// gift.
type figures struct{ totals, last, first bool }

// refreshSupporterFigures recomputes what f asks of one supporter from their own donations: the
// lifetime totals per currency (the same net as the rollups, pledge.NetOf of each contribution)
// from a read of them all; the last gift and the first gift (the earliest paid donation; on a
// tie, the one with the smallest Stripe id, firstGiftOrder, so the choice never depends on arrival
// order) from the donations_supporter_paid index, however many gifts the supporter has, moving
// the new-supporter count when the first gift changed. The supporter's row is read and written
// once, and written only with what changed.
func refreshSupporterFigures(ctx context.Context, tx *Tx, supporterID int64, f figures) error {
	if !f.totals && !f.last && !f.first {
		return nil
	}
	// A row per donation (or, without totals, the first gift's alone), or one of NULL donation
	// columns when there is none; no row when there is no such supporter.
	q := `
		SELECT s.first_paid_at, s.first_currency, s.first_frequency, s.last_paid_at,
		       (SELECT max(paid_at) FROM donations INDEXED BY donations_supporter_paid WHERE supporter_id = ?1),
		       d.paid_at, d.currency, d.frequency, d.amount, d.amount_refunded, d.amount_disputed, d.tax,
		       coalesce(d.stripe_invoice_id, d.stripe_payment_intent_id, d.stripe_charge_id, '')
		FROM supporters s LEFT JOIN donations d ON d.supporter_id = s.id`
	if !f.totals {
		// The first gift alone: the index gives the earliest second, and only the gifts of that
		// second are ordered by their Stripe ids (however many gifts share it).
		q += ` AND d.id = (SELECT id FROM donations INDEXED BY donations_supporter_paid WHERE supporter_id = ?1
			ORDER BY ` + firstGiftOrder + ` LIMIT 1)`
	}
	rows, err := tx.QueryContext(ctx, q+` WHERE s.id = ?1`, supporterID)
	if err != nil {
		return err
	}
	var old, nw *firstGift
	var storedLast, last sql.NullInt64
	totals := map[string]supporterTotal{}
	found, best := false, ""
	for rows.Next() {
		var at, paidAt sql.NullInt64
		var cur, freq string
		var gCur, gFreq, key sql.NullString
		var amount, refunded, disputed, tax sql.NullInt64
		if err := rows.Scan(&at, &cur, &freq, &storedLast, &last, &paidAt, &gCur, &gFreq, &amount, &refunded, &disputed,
			&tax, &key); err != nil {
			rows.Close()
			return err
		}
		if !found && at.Valid {
			old = &firstGift{at.Int64, cur, freq}
		}
		found = true
		if !paidAt.Valid {
			continue
		}
		d := donationRow{paidAt: paidAt.Int64, currency: gCur.String, frequency: gFreq.String, amount: amount.Int64,
			refunded: refunded.Int64, disputed: disputed.Int64, tax: tax.Int64}
		totals[d.currency] = totals[d.currency].add(&d)
		if g := (firstGift{d.paidAt, d.currency, d.frequency}); nw == nil || g.paidAt < nw.paidAt ||
			g.paidAt == nw.paidAt && key.String < best {
			nw, best = &g, key.String
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return nil
	}
	var set []string
	var args []any
	if f.totals {
		if _, err := tx.ExecContext(ctx, `DELETE FROM supporter_totals WHERE supporter_id = ?`, supporterID); err != nil {
			return err
		}
		for c, t := range totals {
			if err := addSupporterTotal(ctx, tx, totalKey{supporterID, c}, t); err != nil {
				return err
			}
		}
	}
	if (f.totals || f.last) && last != storedLast {
		set, args = append(set, `last_paid_at = ?`), append(args, last)
	}
	if f.first && !(old == nil && nw == nil || old != nil && nw != nil && *old == *nw) {
		if err := addNewSupporter(ctx, tx, old, -1); err != nil {
			return err
		}
		if err := addNewSupporter(ctx, tx, nw, 1); err != nil {
			return err
		}
		g := [3]any{nil, "", ""}
		if nw != nil {
			g = [3]any{nw.paidAt, nw.currency, nw.frequency}
		}
		// A supporter starts with their first gift.
		set = append(set, `first_paid_at = ?`, `first_currency = ?`, `first_frequency = ?`, `created_at = coalesce(?, created_at)`)
		args = append(args, g[0], g[1], g[2], g[0])
	}
	if len(set) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE supporters SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, supporterID)...)
	return err
}

// firstGift is a supporter's first gift: it makes them a new supporter on its day, in its
// currency and frequency.
type firstGift struct {
	paidAt              int64
	currency, frequency string
}

func addNewSupporter(ctx context.Context, tx *Tx, g *firstGift, sign int64) error {
	if g == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO donations_daily (day, currency, frequency, new_supporters) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, currency, frequency) DO UPDATE SET new_supporters = donations_daily.new_supporters + excluded.new_supporters`,
		dayOf(g.paidAt), g.currency, g.frequency, sign)
	return err
}

// firstGiftOrder orders a supporter's donations to find the first: by paid time, then by Stripe
// id, so the choice never depends on arrival order.
const firstGiftOrder = `paid_at, coalesce(stripe_invoice_id, stripe_payment_intent_id, stripe_charge_id, '')`

// spanDelta is one change a span of recurring revenue makes to a day of subscriptions_daily.
type spanDelta struct {
	day                       int64
	currency, frequency       string
	n, amount                 int64
	scheduled, ended, started int64
}

// spanDeltas is what a span of recurring revenue contributes to subscriptions_daily: the gift and
// its amount on the span's first day, taken away on its end day, the scheduled-to-end count
// likewise; for a subscription's first span, a new recurring gift on its first day; and for the
// span that ends the subscription, a cancellation on its end day.
func spanDeltas(s pledge.Segment, first bool) []spanDelta {
	sched, started := int64(0), int64(0)
	if s.Scheduled {
		sched = 1
	}
	if first {
		started = 1
	}
	cur, freq := string(s.Amount.Currency), string(s.Frequency)
	out := []spanDelta{{dayOf(s.Start.Unix()), cur, freq, 1, s.Amount.Amount, sched, 0, started}}
	if !s.End.IsZero() {
		ended := int64(0)
		if s.Ends {
			ended = 1
		}
		out = append(out, spanDelta{dayOf(s.End.Unix()), cur, freq, -1, -s.Amount.Amount, -sched, ended, 0})
	}
	return out
}

// addSegment adds sign times a span's contribution (spanDeltas) to subscriptions_daily.
func addSegment(ctx context.Context, tx *Tx, s pledge.Segment, first bool, sign int64) error {
	for _, d := range spanDeltas(s, first) {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount, scheduled, ended, started)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (day, currency, frequency) DO UPDATE SET
				subscriptions = subscriptions_daily.subscriptions + excluded.subscriptions, amount = subscriptions_daily.amount + excluded.amount,
				scheduled = subscriptions_daily.scheduled + excluded.scheduled, ended = subscriptions_daily.ended + excluded.ended,
				started = subscriptions_daily.started + excluded.started`,
			d.day, d.currency, d.frequency, d.n*sign, d.amount*sign, d.scheduled*sign, d.ended*sign, d.started*sign); err != nil {
			return err
		}
	}
	return nil
}

// segments returns a subscription's stored spans.
func loadSegments(ctx context.Context, tx *Tx, subID int64) ([]pledge.Segment, error) {
	return queryAll(ctx, tx, `
		SELECT start, "end", amount, currency, frequency, scheduled, ends FROM subscription_segments
		WHERE subscription_id = ? ORDER BY start`, []any{subID}, func(rows *sql.Rows) (pledge.Segment, error) {
		var s pledge.Segment
		var start int64
		var end sql.NullInt64
		if err := rows.Scan(&start, &end, &s.Amount.Amount, &s.Amount.Currency, &s.Frequency, &s.Scheduled, &s.Ends); err != nil {
			return s, err
		}
		s.Start = e2t(start)
		if end.Valid {
			s.End = e2t(end.Int64)
		}
		return s, nil
	})
}

// replaceSegments stores a subscription's new spans and moves the rollup from the old ones.
func replaceSegments(ctx context.Context, tx *Tx, subID int64, segs []pledge.Segment) error {
	old, err := loadSegments(ctx, tx, subID)
	if err != nil {
		return err
	}
	if sameSegments(old, segs) {
		return nil
	}
	for i, s := range old {
		if err := addSegment(ctx, tx, s, i == 0, -1); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_segments WHERE subscription_id = ?`, subID); err != nil {
		return err
	}
	for i, s := range segs {
		if err := addSegment(ctx, tx, s, i == 0, 1); err != nil {
			return err
		}
		if err := insertSegment(ctx, tx, subID, s); err != nil {
			return err
		}
	}
	return nil
}

func insertSegment(ctx context.Context, tx *Tx, subID int64, s pledge.Segment) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO subscription_segments (subscription_id, start, "end", amount, currency, frequency, scheduled, ends)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		subID, s.Start.Unix(), unix(s.End), s.Amount.Amount, s.Amount.Currency, s.Frequency, s.Scheduled, s.Ends)
	return err
}

func sameSegments(a, b []pledge.Segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Start.Equal(y.Start) || !x.End.Equal(y.End) || x.Amount != y.Amount || x.Frequency != y.Frequency ||
			x.Scheduled != y.Scheduled || x.Ends != y.Ends {
			return false
		}
	}
	return true
}

// rebuildDerived recomputes everything derived from the ledger's rows: supporters' addresses keys
// and first gifts, every subscription's status and spans, and the rollups, with the same
// functions the webhook uses row by row. It runs after a migration that changed a definition
// (ledgerVersion) and after `pledge seed`.
func rebuildDerived(ctx context.Context, tx *Tx) error {
	for _, q := range []string{
		`DELETE FROM donations_daily`, `DELETE FROM donations_sources`, `DELETE FROM donations_sources_weekly`,
		`DELETE FROM subscriptions_daily`,
		`DELETE FROM subscription_segments`, `DELETE FROM settlement_daily`, `DELETE FROM supporter_totals`,
		// Only rows that hold a first gift: a write of an unchanged row still costs a new row
		// version (and its index entries) on PostgreSQL.
		`UPDATE supporters SET first_paid_at = NULL, first_currency = '', first_frequency = ''
			WHERE first_paid_at IS NOT NULL OR first_currency <> '' OR first_frequency <> ''`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
	}
	if err := mergePeople(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET supporter_id = coalesce(
		(SELECT c.supporter_id FROM customers c WHERE c.stripe_customer_id = subscriptions.stripe_customer_id), supporter_id)
		WHERE stripe_customer_id <> ''`); err != nil {
		return err
	}
	// Donations: sum the contributions in memory, then write each rollup row once.
	type dkey struct {
		day                 int64
		currency, frequency string
	}
	type skey struct {
		day                         int64
		article, campaign, currency string
	}
	type tkey struct {
		supporter int64
		currency  string
	}
	daily, sources, weeks := map[dkey]measures{}, map[skey]measures{}, map[skey]weekMeasures{}
	settled, totals := map[settleKey]settleMeasures{}, map[tkey]supporterTotal{}
	rows, err := tx.QueryContext(ctx, `SELECT `+donationRowColumns+` FROM donations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		d, err := scanDonationRow(rows)
		if err != nil {
			rows.Close()
			return err
		}
		m := d.contribution()
		k := dkey{dayOf(d.paidAt), d.currency, d.frequency}
		daily[k] = daily[k].plus(m)
		s := skey{dayOf(d.paidAt), d.article, d.campaign, d.currency}
		sources[s] = sources[s].plus(m)
		w := skey{weekOf(d.paidAt), d.article, d.campaign, d.currency}
		weeks[w] = weeks[w].plus(m.week())
		sk, sm := d.settlement()
		settled[sk] = settled[sk].plus(sm)
		if d.supporter != 0 {
			tk := tkey{d.supporter, d.currency}
			totals[tk] = totals[tk].add(d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Each rollup is written in the order of its key (by day first, as the rows arrive in
	// service), many rows to a statement.
	dailyRows := make([][]any, 0, len(daily))
	for k, m := range daily {
		dailyRows = append(dailyRows, []any{k.day, k.currency, k.frequency, m.donations, m.gross, m.refunded, m.refunds,
			m.disputes, m.disputed, m.tax})
	}
	if err := insertRows(ctx, tx, `donations_daily (day, currency, frequency, donations, gross, refunded, refunds,
		disputes, disputed, tax)`, dailyRows); err != nil {
		return err
	}
	sourceRows := make([][]any, 0, len(sources))
	for k, m := range sources {
		sourceRows = append(sourceRows, []any{k.day, k.article, k.campaign, k.currency, m.donations, m.gross, m.refunded,
			m.refunds, m.disputes, m.disputed, m.tax})
	}
	if err := insertRows(ctx, tx, `donations_sources (day, article, campaign, currency, donations, gross, refunded,
		refunds, disputes, disputed, tax)`, sourceRows); err != nil {
		return err
	}
	weekRows := make([][]any, 0, len(weeks))
	for k, m := range weeks {
		weekRows = append(weekRows, []any{k.day, k.article, k.campaign, k.currency, m.donations, m.net})
	}
	if err := insertRows(ctx, tx, `donations_sources_weekly (week, article, campaign, currency, donations, net)`,
		weekRows); err != nil {
		return err
	}
	// settlement_daily was emptied above: each key is inserted once.
	settleRows := make([][]any, 0, len(settled))
	for k, m := range settled {
		settleRows = append(settleRows, []any{k.day, k.currency, k.settle, m.donations, m.amount, m.fee, m.lost, m.net})
	}
	if err := insertRows(ctx, tx, `settlement_daily (day, currency, settle_currency, donations, amount, fee, lost, net)`,
		settleRows); err != nil {
		return fmt.Errorf("settlement_daily: %w", err)
	}
	totalRows := make([][]any, 0, len(totals))
	for k, t := range totals {
		totalRows = append(totalRows, []any{k.supporter, k.currency, t.net, t.donations})
	}
	if err := insertRows(ctx, tx, `supporter_totals (supporter_id, currency, net, donations)`, totalRows); err != nil {
		return err
	}
	// Only the rows whose last gift differs (on a rebuild of a live ledger, few).
	if _, err := tx.ExecContext(ctx, `UPDATE supporters SET last_paid_at =
		(SELECT max(paid_at) FROM donations INDEXED BY donations_supporter_paid WHERE supporter_id = supporters.id)
		WHERE last_paid_at IS NOT
		(SELECT max(paid_at) FROM donations INDEXED BY donations_supporter_paid WHERE supporter_id = supporters.id)`); err != nil {
		return err
	}
	// Supporters' first gifts (firstGiftOrder, as refreshSupporterFigures) and the new-supporter counts.
	if _, err := tx.ExecContext(ctx, `
		WITH firsts AS (
			SELECT supporter_id, paid_at, currency, frequency,
			       row_number() OVER (PARTITION BY supporter_id ORDER BY `+firstGiftOrder+`) AS n
			FROM donations WHERE supporter_id IS NOT NULL)
		UPDATE supporters SET first_paid_at = f.paid_at, first_currency = f.currency, first_frequency = f.frequency
		FROM firsts f WHERE f.supporter_id = supporters.id AND f.n = 1`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO donations_daily (day, currency, frequency, new_supporters)
		SELECT first_paid_at - first_paid_at % 86400, first_currency, first_frequency, count(*)
		FROM supporters WHERE first_paid_at IS NOT NULL GROUP BY 1, 2, 3
		ON CONFLICT (day, currency, frequency) DO UPDATE SET new_supporters = excluded.new_supporters`); err != nil {
		return err
	}
	if err := refreshSupporters(ctx, tx, `true`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invoice_attempts SET paid_at = `+
		strings.Replace(attemptPaidAt, "?1", "invoice_attempts.stripe_invoice_id", 1)); err != nil {
		return err
	}
	if err := rebuildSubscriptions(ctx, tx); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('ledger_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, ledgerVersion)
	return err
}

func (m measures) plus(o measures) measures {
	return measures{m.donations + o.donations, m.gross + o.gross, m.refunded + o.refunded, m.refunds + o.refunds,
		m.disputes + o.disputes, m.disputed + o.disputed, m.tax + o.tax}
}

// rebuildIfStale runs rebuildDerived when the stored ledger version is older than this code's.
func (db *DB) rebuildIfStale(ctx context.Context) error {
	// A schema older than this code's ledger (tests migrating part way) has nothing to rebuild.
	ledger, err := db.tableExists(ctx, "subscription_segments")
	if err != nil || !ledger {
		return err
	}
	var v string
	err = db.write.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'ledger_version'`).Scan(&v)
	if err == nil && v == ledgerVersion {
		return nil
	} else if err != nil && err != sql.ErrNoRows {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		if err := rebuildDerived(ctx, tx); err != nil {
			return fmt.Errorf("rebuild the ledger's rollups: %w", err)
		}
		return nil
	})
}

func queryIDs(ctx context.Context, tx rowsQueryer, q string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// insertRows inserts rows into target ("table (columns)"), sorted by their values in order
// (integers and strings, the rollups' keys coming first), many rows to a statement: a rebuild
// writes hundreds of thousands of rollup rows, and on PostgreSQL a statement each would be a
// round trip each.
func insertRows(ctx context.Context, tx *Tx, target string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b []any) int {
		for i := range a {
			var c int
			switch x := a[i].(type) {
			case int64:
				c = cmp.Compare(x, b[i].(int64))
			case string:
				c = cmp.Compare(x, b[i].(string))
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	width := len(rows[0])
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	// At most 5,000 values to a statement: within both engines' limits on parameters.
	per := max(1, 5000/width)
	for from := 0; from < len(rows); from += per {
		chunk := rows[from:min(len(rows), from+per)]
		args := make([]any, 0, len(chunk)*width)
		for _, r := range chunk {
			args = append(args, r...)
		}
		q := `INSERT INTO ` + target + ` VALUES ` + strings.TrimSuffix(strings.Repeat(tuple+", ", len(chunk)), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
