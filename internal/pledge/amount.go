package pledge

import (
	"strings"
	"unicode"
)

// ParseAmount reads an amount as a reader types it into "Other amount", in major units of cur,
// and returns minor units. The rules, also in docs/giving.md:
//   - "5", "5.5" and "5.50" are five dollars, five fifty, five fifty; a leading currency symbol
//     and spaces around the number are ignored ("$5", " 5 ").
//   - A comma followed by exactly three digits groups thousands: "1,000" and "1,000.50".
//   - A single comma followed by one or two digits is a decimal comma, as most of Europe writes
//     it: "5,50" is 5.50. "1.000,50" (dot grouping, decimal comma) is read too.
//   - Anything else is refused with a message: negatives, more decimals than the currency has
//     ("5.505", or any decimals for a zero-decimal currency such as JPY), letters, empty input.
//
// It does not apply the catalogue's limits: Catalogue.Check does.
func ParseAmount(s string, cur Currency) (int64, error) {
	s = strings.TrimSpace(s)
	if info, ok := currencies[cur]; ok {
		s = strings.TrimSpace(strings.TrimPrefix(s, strings.TrimSpace(info.Symbol)))
		s = strings.TrimSpace(strings.TrimSuffix(s, strings.TrimSpace(info.Symbol)))
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, cur.Upper()), cur.Upper()))
	if s == "" {
		return 0, FieldErrorf("amount", "Enter an amount.").Keyed("error.amount.empty")
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "\u2212") {
		return 0, FieldErrorf("amount", "The amount can't be negative.").Keyed("error.amount.negative")
	}
	notNumber := FieldErrorf("amount", "Enter the amount as a number, such as 10 or 10.50.").Keyed("error.amount.number")
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' && r != ',' {
			return 0, notNumber
		}
	}
	plain, ok := normalise(s)
	if !ok {
		return 0, notNumber
	}
	d := cur.Decimals()
	if _, frac, _ := strings.Cut(plain, "."); len(frac) > d {
		if d == 0 {
			return 0, FieldErrorf("amount", "Amounts in %s are whole numbers, without decimals.", cur.Upper()).Keyed("error.amount.whole", "currency", cur.Upper())
		}
		return 0, FieldErrorf("amount", "Use at most %d decimals.", d).Keyed("error.amount.decimals", "n", d)
	}
	n, err := ParseMinor(plain, d)
	if err != nil {
		return 0, notNumber
	}
	return n, nil
}

// normalise rewrites grouped and decimal-comma numbers as plain "1234.5"; false when the
// separators make no sense together.
func normalise(s string) (string, bool) {
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	switch {
	case commas == 0 && dots <= 1:
		return s, true
	case commas == 0:
		return "", false // "1.000.000" is too ambiguous to guess
	case dots == 0 && commas == 1:
		whole, frac, _ := strings.Cut(s, ",")
		if len(frac) == 3 {
			return ungroup(s, ',')
		}
		if whole != "" && len(frac) >= 1 && len(frac) <= 2 {
			return whole + "." + frac, true
		}
		return "", false
	case dots == 0:
		return ungroup(s, ',')
	}
	// Both: the last separator is the decimal one, the other groups thousands.
	if strings.LastIndexByte(s, '.') > strings.LastIndexByte(s, ',') {
		whole, frac, _ := cutLast(s, '.')
		w, ok := ungroup(whole, ',')
		return w + "." + frac, ok && strings.Count(whole, ".") == 0
	}
	whole, frac, _ := cutLast(s, ',')
	w, ok := ungroup(whole, '.')
	return w + "." + frac, ok && strings.Count(whole, ",") == 0
}

// ungroup removes thousands separators, which must split the digits into groups of three.
func ungroup(s string, sep byte) (string, bool) {
	parts := strings.Split(s, string(sep))
	if len(parts[0]) == 0 || len(parts[0]) > 3 {
		return "", false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 {
			return "", false
		}
	}
	return strings.Join(parts, ""), true
}

func cutLast(s string, sep byte) (before, after string, found bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// Grouped writes the amount for people with thousands grouped: "$10,000.00", "¥5,000".
func (m Money) Grouped() string { return m.GroupedWith(",") }

// GroupedWith writes the amount with its thousands separated by sep (the staff pages use a thin
// space, so large figures read at a glance: "$19 089.96").
func (m Money) GroupedWith(sep string) string {
	s := m.String()
	// Find the run of digits before the decimal point (or the end) and group it.
	start := strings.IndexFunc(s, unicode.IsDigit)
	if start < 0 {
		return s
	}
	end := start
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	digits := s[start:end]
	if len(digits) <= 3 {
		return s
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return s[:start] + b.String() + s[end:]
}
