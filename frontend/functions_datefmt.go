package frontend

import (
	"strconv"
	"strings"
)

// DATE_FORMAT, TIME_FORMAT and STR_TO_DATE with all of MySQL's %
// specifiers (sql/item_timefunc.cc make_date_time / extract_date_time).

func mfOrdinalSuffix(d int) string {
	if d >= 10 && d <= 19 {
		return "th"
	}
	switch d % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

// mfDateFormat is DATE_FORMAT(d, fmt) (timeOnly: TIME_FORMAT(t, fmt)).
func mfDateFormat(v, fmtArg any, timeOnly bool) any {
	f, ok := mfArgStr(fmtArg)
	if !ok || mfIsNull(v) {
		return nil
	}
	var t mfMtime
	if timeOnly {
		t, ok = mfParseTime(v)
		if ok && !t.isTime {
			t.year, t.month, t.day = 0, 0, 0
		}
		t.isTime = true
	} else {
		t, ok = mfParseDatetime(v)
	}
	if !ok {
		return nil
	}
	s, ok := mfFormatMtime(t, f, timeOnly)
	if !ok {
		return nil
	}
	return s
}

func mfFormatMtime(t mfMtime, f string, timeOnly bool) (string, bool) {
	var b strings.Builder
	hour12 := (t.hour%24+11)%12 + 1
	ampm := "AM"
	if t.hour%24 >= 12 {
		ampm = "PM"
	}
	noDay := timeOnly || t.month == 0 && t.year == 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case 'M':
			if t.month == 0 {
				return "", false
			}
			b.WriteString(mfMonthNames[t.month-1])
		case 'b':
			if t.month == 0 {
				return "", false
			}
			b.WriteString(mfMonthNames[t.month-1][:3])
		case 'W', 'a', 'w':
			if noDay {
				return "", false
			}
			wd := mfWeekdayNr(mfDayNr(t.year, t.month, t.day), false)
			switch f[i] {
			case 'W':
				b.WriteString(mfDayNames[wd])
			case 'a':
				b.WriteString(mfDayNames[wd][:3])
			default:
				b.WriteString(strconv.Itoa((wd + 1) % 7))
			}
		case 'D':
			if timeOnly {
				return "", false
			}
			b.WriteString(strconv.Itoa(t.day) + mfOrdinalSuffix(t.day))
		case 'Y':
			b.WriteString(mfPad(t.year, 4))
		case 'y':
			b.WriteString(mfPad(t.year%100, 2))
		case 'm':
			b.WriteString(mfPad(t.month, 2))
		case 'c':
			b.WriteString(strconv.Itoa(t.month))
		case 'd':
			b.WriteString(mfPad(t.day, 2))
		case 'e':
			b.WriteString(strconv.Itoa(t.day))
		case 'f':
			b.WriteString(mfPad(t.micro, 6))
		case 'H':
			b.WriteString(mfPad(t.hour, 2))
		case 'h', 'I':
			b.WriteString(mfPad(hour12, 2))
		case 'i':
			b.WriteString(mfPad(t.minute, 2))
		case 'j':
			if timeOnly {
				return "", false
			}
			b.WriteString(mfPad(int(mfDayNr(t.year, t.month, t.day)-mfDayNr(t.year, 1, 1)+1), 3))
		case 'k':
			b.WriteString(strconv.Itoa(t.hour))
		case 'l':
			b.WriteString(strconv.Itoa(hour12))
		case 'p':
			b.WriteString(ampm)
		case 'r':
			b.WriteString(mfPad(hour12, 2) + ":" + mfPad(t.minute, 2) + ":" + mfPad(t.second, 2) + " " + ampm)
		case 'S', 's':
			b.WriteString(mfPad(t.second, 2))
		case 'T':
			b.WriteString(mfPad(t.hour, 2) + ":" + mfPad(t.minute, 2) + ":" + mfPad(t.second, 2))
		case 'U', 'u', 'V', 'v', 'X', 'x':
			if timeOnly {
				return "", false
			}
			behaviour := map[byte]int{'U': mfWeekFirstWeekday, 'u': mfWeekMondayFirst,
				'V': mfWeekYear | mfWeekFirstWeekday, 'v': mfWeekMondayFirst | mfWeekYear,
				'X': mfWeekYear | mfWeekFirstWeekday, 'x': mfWeekYear | mfWeekMondayFirst}[f[i]]
			w, y := mfCalcWeek(t, behaviour)
			if f[i] == 'X' || f[i] == 'x' {
				b.WriteString(mfPad(y, 4))
			} else {
				b.WriteString(mfPad(w, 2))
			}
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String(), true
}

// mfStrToDate is STR_TO_DATE(str, fmt). The result is a DATETIME, DATE or
// TIME depending on which parts the format has; NULL when the text does not
// match or (NO_ZERO_DATE, NO_ZERO_IN_DATE) the date has a zero part.
func mfStrToDate(sv, fv any) any {
	s, ok1 := mfArgStr(sv)
	f, ok2 := mfArgStr(fv)
	if !ok1 || !ok2 {
		return nil
	}
	datePart, mfTimePart, fracPart := false, false, false
	for i := 0; i+1 < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		switch f[i] {
		case 'f':
			fracPart, mfTimePart = true, true
		case 'H', 'I', 'k', 'h', 'l', 'i', 'p', 'r', 's', 'S', 'T':
			mfTimePart = true
		case 'a', 'b', 'c', 'D', 'd', 'e', 'j', 'M', 'm', 'U', 'u', 'V', 'v', 'W', 'w', 'X', 'x', 'Y', 'y':
			datePart = true
		}
	}
	t, _, ok := mfExtractDateTime(s, f)
	if !ok {
		return nil
	}
	fsp := 0
	if fracPart {
		fsp = 6
	}
	if mfTimePart && !datePart {
		t.isTime = true
		return t.timeText(fsp)
	}
	if !t.validDate() {
		return nil
	}
	if mfTimePart {
		return t.datetimeText(fsp)
	}
	return t.dateText()
}

type mfStrParser struct {
	s string
	i int
}

func (p *mfStrParser) skipSpaces() {
	for p.i < len(p.s) && mfIsSpace(p.s[p.i]) {
		p.i++
	}
}

func mfIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// num reads up to max digits (an optional sign first, as my_strtoll10).
func (p *mfStrParser) num(max int) int {
	end := p.i + max
	if end > len(p.s) {
		end = len(p.s)
	}
	j := p.i
	neg := false
	if j < end && (p.s[j] == '-' || p.s[j] == '+') {
		neg = p.s[j] == '-'
		j++
	}
	start := j
	for j < end && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == start {
		return 0
	}
	n, _ := strconv.Atoi(p.s[start:j])
	p.i = j
	if neg {
		return -n
	}
	return n
}

// word matches one of names (or its first 3 letters when abbr),
// case-insensitively, and returns its index or -1.
func (p *mfStrParser) word(names []string, abbr bool) int {
	rest := p.s[p.i:]
	for k, n := range names {
		if abbr {
			n = n[:3]
		}
		if len(rest) >= len(n) && strings.EqualFold(rest[:len(n)], n) {
			p.i += len(n)
			return k
		}
	}
	return -1
}

// mfExtractDateTime parses s by format f; it returns the value and how much
// of s it read. Trailing text after the format is ignored (MySQL warns).
func mfExtractDateTime(s, f string) (mfMtime, int, bool) {
	p := &mfStrParser{s: s}
	var t mfMtime
	usaTime, daypart := false, 0
	yearday, weekday, weekNumber := 0, 0, -1
	strictWeekNumber, sundayFirstNonISO := false, false
	strictWeekYear, strictWeekYearType := -1, false
	for fi := 0; fi < len(f) && p.i < len(s); fi++ {
		p.skipSpaces()
		if p.i >= len(s) {
			break
		}
		if f[fi] != '%' || fi+1 == len(f) {
			if !mfIsSpace(f[fi]) {
				if s[p.i] != f[fi] {
					return t, 0, false
				}
				p.i++
			}
			continue
		}
		fi++
		switch f[fi] {
		case 'Y':
			start := p.i
			t.year = p.num(4)
			if p.i-start <= 2 {
				t.year = mfYear2(t.year)
			}
		case 'y':
			t.year = mfYear2(p.num(2))
		case 'm', 'c':
			t.month = p.num(2)
		case 'M', 'b':
			k := p.word(mfMonthNames, f[fi] == 'b')
			if k < 0 {
				return t, 0, false
			}
			t.month = k + 1
		case 'd', 'e':
			t.day = p.num(2)
		case 'D':
			t.day = p.num(2)
			p.i += 2
			if p.i > len(s) {
				p.i = len(s)
			}
		case 'h', 'I', 'l':
			usaTime = true
			t.hour = p.num(2)
		case 'k', 'H':
			t.hour = p.num(2)
		case 'i':
			t.minute = p.num(2)
		case 's', 'S':
			t.second = p.num(2)
		case 'f':
			start := p.i
			for p.i < len(s) && p.i-start < 6 && s[p.i] >= '0' && s[p.i] <= '9' {
				p.i++
			}
			t.micro, _, _ = mfParseFrac(s[start:p.i])
		case 'p':
			if len(s)-p.i < 2 || !usaTime {
				return t, 0, false
			}
			switch strings.ToUpper(s[p.i : p.i+2]) {
			case "PM":
				daypart = 12
			case "AM":
			default:
				return t, 0, false
			}
			p.i += 2
		case 'W', 'a':
			k := p.word(mfDayNames, f[fi] == 'a')
			if k < 0 {
				return t, 0, false
			}
			weekday = k + 1
		case 'w':
			weekday = p.num(1)
			if weekday < 0 || weekday > 6 {
				return t, 0, false
			}
			if weekday == 0 {
				weekday = 7
			}
		case 'j':
			yearday = p.num(3)
		case 'U', 'u', 'V', 'v':
			sundayFirstNonISO = f[fi] == 'U' || f[fi] == 'V'
			strictWeekNumber = f[fi] == 'V' || f[fi] == 'v'
			weekNumber = p.num(2)
			if weekNumber < 0 || strictWeekNumber && weekNumber == 0 || weekNumber > 53 {
				return t, 0, false
			}
		case 'X', 'x':
			strictWeekYearType = f[fi] == 'X'
			strictWeekYear = p.num(4)
		case 'r', 'T':
			sub := "%H:%i:%S"
			if f[fi] == 'r' {
				sub = "%I:%i:%S %p"
			}
			r, n, ok := mfExtractDateTime(s[p.i:], sub)
			if !ok {
				return t, 0, false
			}
			t.hour, t.minute, t.second = r.hour, r.minute, r.second
			p.i += n
		case '%':
			if s[p.i] != '%' {
				return t, 0, false
			}
			p.i++
		default:
			if s[p.i] != f[fi] {
				return t, 0, false
			}
			p.i++
		}
	}
	if usaTime {
		if t.hour > 12 || t.hour < 1 {
			return t, 0, false
		}
		t.hour = t.hour%12 + daypart
	}
	if yearday > 0 {
		t.year, t.month, t.day = mfFromDayNr(mfDayNr(t.year, 1, 1) + int64(yearday) - 1)
	}
	if weekNumber >= 0 && weekday != 0 {
		if strictWeekNumber && (strictWeekYear < 0 || strictWeekYearType != sundayFirstNonISO) ||
			!strictWeekNumber && strictWeekYear >= 0 {
			return t, 0, false
		}
		y := t.year
		if strictWeekNumber {
			y = strictWeekYear
		}
		days := mfDayNr(y, 1, 1)
		wb := mfWeekdayNr(days, sundayFirstNonISO)
		if sundayFirstNonISO {
			if wb != 0 {
				days += 7
			}
			days += int64(-wb + (weekNumber-1)*7 + weekday%7)
		} else {
			if wb > 3 {
				days += 7
			}
			days += int64(-wb + (weekNumber-1)*7 + weekday - 1)
		}
		t.year, t.month, t.day = mfFromDayNr(days)
	}
	if t.year < 0 || t.month < 0 || t.day < 0 || t.hour < 0 || t.minute < 0 || t.second < 0 ||
		t.month > 12 || t.day > 31 || t.hour > 23 || t.minute > 59 || t.second > 59 {
		return t, 0, false
	}
	return t, p.i, true
}
