package outbox

import "time"

// temporalValue is a MySQL temporal text converted for a Debezium
// temporal type: n for the integer types, zoned for ZonedTimestamp.
type temporalValue struct {
	n     int64
	zoned string
}

// temporal converts text, as marmot stores MySQL temporal values (the text
// MySQL shows: "2024-01-02", "2024-01-02 03:04:05.678", "-12:00:00.5"), to
// the value of Connect type t. ok is false when t is not temporal or the
// text is not a valid value of it (a zero date "0000-00-00", text that
// SQLite let into the column): the caller sends such a value as a string.
func temporal(t string, text []byte) (v temporalValue, ok bool) {
	if len(t) == len(zonedPre)+1 && t[:len(zonedPre)] == zonedPre {
		d, ok := parseDateTime(text, true)
		if !ok {
			return v, false
		}
		// Debezium writes the column's fsp decimals; marmot may have
		// stored fewer ("…03.5" in a TIMESTAMP(3)).
		b := d.t.AppendFormat(make([]byte, 0, 32), "2006-01-02T15:04:05")
		if fsp := int(t[len(zonedPre)] - '0'); fsp > 0 {
			b = append(b, '.')
			for i := range fsp {
				c := byte('0')
				if i < len(d.frac) {
					c = d.frac[i]
				}
				b = append(b, c)
			}
		}
		return temporalValue{zoned: string(append(b, 'Z'))}, true
	}
	switch t {
	case typeDate:
		d, ok := parseDateTime(text, false)
		if !ok || len(text) != 10 {
			return v, false
		}
		return temporalValue{n: floorDiv(d.t.Unix(), 86400)}, true
	case typeTimestamp, typeMicroTimestamp:
		d, ok := parseDateTime(text, true)
		if !ok {
			return v, false
		}
		if t == typeTimestamp {
			return temporalValue{n: d.t.UnixMilli()}, true
		}
		return temporalValue{n: d.t.UnixMicro()}, true
	case typeMicroTime:
		us, ok := parseTime(text)
		return temporalValue{n: us}, ok
	}
	return v, false
}

type dateTime struct {
	t    time.Time // UTC
	frac []byte    // the fraction's digits as written
}

// parseDateTime reads "YYYY-MM-DD", and with clock also "YYYY-MM-DD
// HH:MM:SS[.ffffff]" (or 'T' between), strictly: a date that does not exist
// (month or day 0 included) is not one.
func parseDateTime(s []byte, clock bool) (dateTime, bool) {
	var d dateTime
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return d, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || day < 1 || day > daysIn(y, mo) {
		return d, false
	}
	var h, mi, sec, ns int
	if len(s) > 10 {
		if !clock || len(s) < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
			return d, false
		}
		var ok4, ok5, ok6 bool
		h, ok4 = digits(s[11:13])
		mi, ok5 = digits(s[14:16])
		sec, ok6 = digits(s[17:19])
		if !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || sec > 59 {
			return d, false
		}
		if len(s) > 19 {
			f := s[20:]
			if s[19] != '.' || len(f) == 0 || len(f) > 6 {
				return d, false
			}
			n, ok := digits(f)
			if !ok {
				return d, false
			}
			for range 9 - len(f) {
				n *= 10
			}
			ns, d.frac = n, f
		}
	}
	d.t = time.Date(y, time.Month(mo), day, h, mi, sec, ns, time.UTC)
	return d, true
}

// parseTime reads a MySQL TIME, "[-]H+:MM:SS[.ffffff]" (-838:59:59 to
// 838:59:59), as microseconds.
func parseTime(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] != ':' {
		i++
	}
	if i == 0 || i > 3 || len(s) < i+6 || s[i+3] != ':' {
		return 0, false
	}
	h, ok1 := digits(s[:i])
	mi, ok2 := digits(s[i+1 : i+3])
	sec, ok3 := digits(s[i+4 : i+6])
	if !ok1 || !ok2 || !ok3 || h > 838 || mi > 59 || sec > 59 {
		return 0, false
	}
	us := (int64(h)*3600 + int64(mi)*60 + int64(sec)) * 1e6
	if rest := s[i+6:]; len(rest) > 0 {
		f := rest[1:]
		if rest[0] != '.' || len(f) == 0 || len(f) > 6 {
			return 0, false
		}
		n, ok := digits(f)
		if !ok {
			return 0, false
		}
		for range 6 - len(f) {
			n *= 10
		}
		us += int64(n)
	}
	if neg {
		us = -us
	}
	return us, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}
