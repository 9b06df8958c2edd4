package frontend

import (
	"strconv"
	"strings"
	"time"
)

// MySQL date and time values for the date functions: parsing MySQL's
// literal forms, calendar arithmetic as MySQL's sql-common/my_time.cc does
// it (day numbers, weekdays, week numbers), and the text forms the
// functions return ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.ffffff]',
// '[-]HH:MM:SS'). All times are UTC (marmot's time_zone is +00:00).

// mfMtime is a DATE, DATETIME or TIME value. Zero parts ('2024-00-00',
// '0000-00-00') are representable, as in MySQL.
type mfMtime struct {
	year, month, day     int
	hour, minute, second int // hour may exceed 23 for TIME values
	micro                int
	fsp                  int  // fractional digits given (0..6)
	neg                  bool // negative TIME
	isTime               bool // a TIME value (no date part)
	hasTime              bool // a time of day was given (DATETIME rather than DATE)
}

var (
	mfMonthNames = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	mfDayNames = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
)

func mfIsLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0 && y != 0) }

func mfDaysInYear(y int) int {
	if mfIsLeap(y) {
		return 366
	}
	return 365
}

func mfDaysInMonth(y, m int) int {
	switch m {
	case 2:
		if mfIsLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// mfDayNr is MySQL's calc_daynr: days since year 0 (TO_DAYS).
func mfDayNr(y, m, d int) int64 {
	if y == 0 && m == 0 {
		return 0
	}
	delsum := int64(365*y + 31*(m-1) + d)
	if m <= 2 {
		y--
	} else {
		delsum -= int64((m*4 + 23) / 10)
	}
	temp := ((y/100 + 1) * 3) / 4
	return delsum + int64(y/4) - int64(temp)
}

// mfFromDayNr is MySQL's get_date_from_daynr (FROM_DAYS).
func mfFromDayNr(n int64) (y, m, d int) {
	if n <= 365 || n >= 3652500 {
		return 0, 0, 0
	}
	year := int(n * 100 / 36525)
	temp := (((year-1)/100 + 1) * 3) / 4
	doy := int(n-int64(year)*365) - (year-1)/4 + temp
	for diy := mfDaysInYear(year); doy > diy; diy = mfDaysInYear(year) {
		doy -= diy
		year++
	}
	leapDay := 0
	if mfDaysInYear(year) == 366 && doy > 31+28 {
		doy--
		if doy == 31+28 {
			leapDay = 1
		}
	}
	m = 1
	for _, dm := range []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31} {
		if doy <= dm {
			break
		}
		doy -= dm
		m++
	}
	return year, m, doy + leapDay
}

// mfWeekdayNr is MySQL's calc_weekday: 0 = Monday (or Sunday when sundayFirst).
func mfWeekdayNr(daynr int64, sundayFirst bool) int {
	s := int64(5)
	if sundayFirst {
		s = 6
	}
	return int((daynr + s) % 7)
}

const (
	mfWeekMondayFirst  = 1
	mfWeekYear         = 2
	mfWeekFirstWeekday = 4
)

// mfWeekMode is MySQL's week_mode: WEEK(d, mode) → calc_week behaviour.
func mfWeekMode(mode int) int {
	f := mode & 7
	if f&mfWeekMondayFirst == 0 {
		f ^= mfWeekFirstWeekday
	}
	return f
}

// mfCalcWeek is MySQL's calc_week; it returns the week and its year.
func mfCalcWeek(t mfMtime, behaviour int) (week, year int) {
	daynr := mfDayNr(t.year, t.month, t.day)
	first := mfDayNr(t.year, 1, 1)
	mondayFirst := behaviour&mfWeekMondayFirst != 0
	wYear := behaviour&mfWeekYear != 0
	firstWeekday := behaviour&mfWeekFirstWeekday != 0
	weekday := mfWeekdayNr(first, !mondayFirst)
	year = t.year
	if t.month == 1 && t.day <= 7-weekday {
		if !wYear && (firstWeekday && weekday != 0 || !firstWeekday && weekday >= 4) {
			return 0, year
		}
		wYear = true
		year--
		days := mfDaysInYear(year)
		first -= int64(days)
		weekday = (weekday + 53*7 - days) % 7
	}
	var days int64
	if firstWeekday && weekday != 0 || !firstWeekday && weekday >= 4 {
		days = daynr - (first + int64(7-weekday))
	} else {
		days = daynr - (first - int64(weekday))
	}
	if wYear && days >= 52*7 {
		weekday = (weekday + mfDaysInYear(year)) % 7
		if !firstWeekday && weekday < 4 || firstWeekday && weekday == 0 {
			return 1, year + 1
		}
	}
	return int(days/7 + 1), year
}

// valid reports a date with no zero part that exists in the calendar.
func (t mfMtime) validDate() bool {
	return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= mfDaysInMonth(t.year, t.month)
}

func (t mfMtime) isZeroDate() bool { return t.year == 0 && t.month == 0 && t.day == 0 }

func (t mfMtime) secondsOfDay() int64 {
	return int64(t.hour)*3600 + int64(t.minute)*60 + int64(t.second)
}

func (t mfMtime) dateText() string {
	return mfPad(t.year, 4) + "-" + mfPad(t.month, 2) + "-" + mfPad(t.day, 2)
}

func (t mfMtime) fracText(fsp int) string {
	if fsp <= 0 {
		return ""
	}
	return "." + mfPad(t.micro, 6)[:fsp]
}

func (t mfMtime) datetimeText(fsp int) string {
	return t.dateText() + " " + mfPad(t.hour, 2) + ":" + mfPad(t.minute, 2) + ":" + mfPad(t.second, 2) + t.fracText(fsp)
}

func (t mfMtime) timeText(fsp int) string {
	s := mfPad(t.hour, 2) + ":" + mfPad(t.minute, 2) + ":" + mfPad(t.second, 2) + t.fracText(fsp)
	if t.neg && (t.hour != 0 || t.minute != 0 || t.second != 0 || t.micro != 0) {
		return "-" + s
	}
	return s
}

// text renders the value in its own type: TIME, DATE or DATETIME.
func (t mfMtime) text() string {
	switch {
	case t.isTime:
		return t.timeText(t.fsp)
	case t.hasTime:
		return t.datetimeText(t.fsp)
	}
	return t.dateText()
}

func mfPad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// goTime converts a valid date to time.Time (UTC).
func (t mfMtime) goTime() time.Time {
	return time.Date(t.year, time.Month(t.month), t.day, t.hour, t.minute, t.second, t.micro*1000, time.UTC)
}

// mfFromGoTime takes g's fields in g's own location.
func mfFromGoTime(g time.Time, fsp int) mfMtime {
	return mfMtime{year: g.Year(), month: int(g.Month()), day: g.Day(), hour: g.Hour(), minute: g.Minute(),
		second: g.Second(), micro: g.Nanosecond() / 1000, fsp: fsp, hasTime: true}
}

// mfYear2 is MySQL's two-digit year rule: 00-69 → 2000-2069, 70-99 → 1970-1999.
func mfYear2(y int) int {
	if y < 70 {
		return y + 2000
	}
	return y + 1900
}

// mfParseFrac reads up to 6 fractional digits (extra digits are truncated).
func mfParseFrac(s string) (micro, fsp int, ok bool) {
	if s == "" {
		return 0, 0, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	if len(s) > 6 {
		s = s[:6]
	}
	fsp = len(s)
	micro, _ = strconv.Atoi(s + strings.Repeat("0", 6-len(s)))
	return micro, fsp, true
}

func mfAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// mfParseDatetime converts a function argument to a DATE/DATETIME as MySQL's
// str_to_datetime / number_to_datetime do. ok is false for NULL and for
// text that is not a date (MySQL returns NULL with a warning). Zero parts
// are accepted; callers needing a real day check validDate.
func mfParseDatetime(v any) (mfMtime, bool) {
	switch x := v.(type) {
	case int64:
		return mfNumberToDatetime(x, 0, 0)
	case float64:
		if x < 0 || x >= 1e15 {
			return mfMtime{}, false
		}
		ip := int64(x)
		d := mfParseDecimal(strconv.FormatFloat(x-float64(ip), 'f', 6, 64))
		micro, fsp, _ := mfParseFrac(strings.TrimRight(strings.TrimPrefix(d.text(6), "0."), "0"))
		return mfNumberToDatetime(ip, micro, fsp)
	}
	s, ok := mfArgStr(v)
	if !ok {
		return mfMtime{}, false
	}
	return mfParseDatetimeText(s)
}

func mfNumberToDatetime(nr int64, micro, fsp int) (mfMtime, bool) {
	switch {
	case nr == 0:
		return mfMtime{micro: micro, fsp: fsp}, true
	case nr < 101:
		return mfMtime{}, false
	case nr <= 691231:
		nr = (nr + 20000000) * 1000000
	case nr < 700101:
		return mfMtime{}, false
	case nr <= 991231:
		nr = (nr + 19000000) * 1000000
	case nr < 10000101:
		return mfMtime{}, false
	case nr <= 99991231:
		nr *= 1000000
	case nr < 101000000:
		return mfMtime{}, false
	case nr <= 691231235959:
		nr += 20000000000000
	case nr < 700101000000:
		return mfMtime{}, false
	case nr <= 991231235959:
		nr += 19000000000000
	case nr > 99991231235959:
		return mfMtime{}, false
	default:
	}
	hasTime := nr%1000000 != 0 || fsp > 0
	p1, p2 := nr/1000000, nr%1000000
	t := mfMtime{year: int(p1 / 10000), month: int(p1 / 100 % 100), day: int(p1 % 100),
		hour: int(p2 / 10000), minute: int(p2 / 100 % 100), second: int(p2 % 100), micro: micro, fsp: fsp, hasTime: hasTime}
	return t, t.checkRanges()
}

// checkRanges accepts zero parts but not impossible ones (month 13,
// 2024-02-30, 25:00:00).
func (t mfMtime) checkRanges() bool {
	if t.year > 9999 || t.month > 12 || t.day > 31 || t.hour > 23 || t.minute > 59 || t.second > 59 {
		return false
	}
	if t.month > 0 && t.day > mfDaysInMonth(t.year, t.month) {
		return false
	}
	return true
}

func mfParseDatetimeText(s string) (mfMtime, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return mfMtime{}, false
	}
	// digits only: YYMMDD, YYYYMMDD, YYMMDDHHMMSS, YYYYMMDDHHMMSS[.frac]
	ip, frac, hasDot := strings.Cut(s, ".")
	if mfAllDigits(ip) && (!hasDot || len(ip) >= 12) {
		var t mfMtime
		n := func(a, b int) int { v, _ := strconv.Atoi(ip[a:b]); return v }
		switch len(ip) {
		case 6:
			t = mfMtime{year: mfYear2(n(0, 2)), month: n(2, 4), day: n(4, 6)}
		case 8:
			t = mfMtime{year: n(0, 4), month: n(4, 6), day: n(6, 8)}
		case 12:
			t = mfMtime{year: mfYear2(n(0, 2)), month: n(2, 4), day: n(4, 6), hour: n(6, 8), minute: n(8, 10), second: n(10, 12), hasTime: true}
		case 14:
			t = mfMtime{year: n(0, 4), month: n(4, 6), day: n(6, 8), hour: n(8, 10), minute: n(10, 12), second: n(12, 14), hasTime: true}
		default:
			return mfMtime{}, false
		}
		var ok bool
		if t.micro, t.fsp, ok = mfParseFrac(frac); !ok {
			return mfMtime{}, false
		}
		return t, t.checkRanges()
	}
	// delimited: Y-M-D[( |T)h[:m[:s[.frac]]]], any punctuation as delimiter
	var fields []int
	var t mfMtime
	i := 0
	for {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if w := i - start; w == 0 || w > 4 || w > 2 && len(fields) > 0 {
			return mfMtime{}, false
		}
		n, _ := strconv.Atoi(s[start:i])
		if len(fields) == 0 && i-start <= 2 {
			n = mfYear2(n)
		}
		fields = append(fields, n)
		if i == len(s) {
			break
		}
		c := s[i]
		if len(fields) == 6 {
			if c == '.' {
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				var ok bool
				if t.micro, t.fsp, ok = mfParseFrac(s[i+1 : j]); !ok {
					return mfMtime{}, false
				}
				i = j
			}
			break
		}
		if len(fields) == 3 {
			if c != ' ' && c != 'T' && c != 't' {
				break
			}
			for i < len(s) && (s[i] == ' ' || s[i] == 'T' || s[i] == 't') {
				i++
			}
			continue
		}
		if c == ' ' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			break
		}
		i++
	}
	if strings.TrimSpace(s[i:]) != "" || len(fields) < 3 {
		return mfMtime{}, false
	}
	t.hasTime = len(fields) > 3
	for len(fields) < 6 {
		fields = append(fields, 0)
	}
	t.year, t.month, t.day = fields[0], fields[1], fields[2]
	t.hour, t.minute, t.second = fields[3], fields[4], fields[5]
	return t, t.checkRanges()
}

// mfParseTime converts an argument to a TIME (HOUR(), TIME_FORMAT(), ...).
// DATETIME text yields a DATETIME (isTime false), whose time-of-day fields
// the caller reads.
func mfParseTime(v any) (mfMtime, bool) {
	switch x := v.(type) {
	case int64:
		if x >= 10000000000 || x <= -10000000000 {
			return mfNumberToDatetime(x, 0, 0)
		}
		return mfTimeFromNumber(x, 0, 0)
	case float64:
		neg := x < 0
		if neg {
			x = -x
		}
		ip := int64(x)
		d := mfParseDecimal(strconv.FormatFloat(x-float64(ip), 'f', 6, 64))
		micro, fsp, _ := mfParseFrac(strings.TrimRight(strings.TrimPrefix(d.text(6), "0."), "0"))
		if neg {
			ip = -ip
		}
		return mfTimeFromNumber(ip, micro, fsp)
	}
	s, ok := mfArgStr(v)
	if !ok {
		return mfMtime{}, false
	}
	return mfParseTimeText(s)
}

func mfTimeFromNumber(n int64, micro, fsp int) (mfMtime, bool) {
	t := mfMtime{isTime: true, micro: micro, fsp: fsp}
	if n < 0 {
		t.neg = true
		n = -n
	}
	t.second, t.minute, t.hour = int(n%100), int(n/100%100), int(n/10000)
	if t.minute > 59 || t.second > 59 {
		return mfMtime{}, false
	}
	return t.clampTime(), true
}

// clampTime limits a TIME to MySQL's range, ±838:59:59.
func (t mfMtime) clampTime() mfMtime {
	if t.hour > 838 {
		t.hour, t.minute, t.second, t.micro = 838, 59, 59, 0
	}
	return t
}

func mfParseTimeText(s string) (mfMtime, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return mfMtime{}, false
	}
	body := strings.TrimPrefix(s, "-")
	ip, _, _ := strings.Cut(body, ".")
	// a date in front: DATETIME text
	if c := strings.IndexAny(body, "-/"); c >= 0 && (strings.IndexByte(body, ':') < 0 || c < strings.IndexByte(body, ':')) ||
		mfAllDigits(ip) && len(ip) >= 12 {
		return mfParseDatetimeText(s)
	}
	t := mfMtime{isTime: true, neg: len(body) < len(s)}
	body, frac, _ := strings.Cut(body, ".")
	var ok bool
	if t.micro, t.fsp, ok = mfParseFrac(frac); !ok {
		return mfMtime{}, false
	}
	days := 0
	if d, rest, found := strings.Cut(body, " "); found {
		if !mfAllDigits(d) {
			return mfMtime{}, false
		}
		days, _ = strconv.Atoi(d)
		body = strings.TrimSpace(rest)
	}
	if !strings.Contains(body, ":") {
		if !mfAllDigits(body) || days > 0 {
			if days > 0 && mfAllDigits(body) { // 'D HH'
				h, _ := strconv.Atoi(body)
				t.hour = days*24 + h
				return t.clampTime(), true
			}
			return mfMtime{}, false
		}
		n, _ := strconv.ParseInt(body, 10, 64)
		r, ok := mfTimeFromNumber(n, t.micro, t.fsp)
		r.neg = t.neg
		return r, ok
	}
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return mfMtime{}, false
	}
	var nums [3]int
	for i, p := range parts {
		if !mfAllDigits(p) {
			return mfMtime{}, false
		}
		nums[i], _ = strconv.Atoi(p)
	}
	t.hour, t.minute, t.second = days*24+nums[0], nums[1], nums[2]
	if t.minute > 59 || t.second > 59 {
		return mfMtime{}, false
	}
	return t.clampTime(), true
}

// totalMicros is a TIME (or time of day) as signed microseconds.
func (t mfMtime) totalMicros() int64 {
	us := (int64(t.hour)*3600+int64(t.minute)*60+int64(t.second))*1000000 + int64(t.micro)
	if t.neg {
		return -us
	}
	return us
}

// mfTimeFromMicros builds a TIME from signed microseconds (clamped to ±838:59:59).
func mfTimeFromMicros(us int64, fsp int) mfMtime {
	t := mfMtime{isTime: true, fsp: fsp}
	if us < 0 {
		t.neg = true
		us = -us
	}
	t.micro = int(us % 1000000)
	s := us / 1000000
	if s > 838*3600+59*60+59 {
		s, t.micro = 838*3600+59*60+59, 0
	}
	t.hour, t.minute, t.second = int(s/3600), int(s/60%60), int(s%60)
	return t
}

// datetimeMicros is a DATETIME as microseconds since 0000-01-00 (for differences).
func (t mfMtime) datetimeMicros() int64 {
	return (mfDayNr(t.year, t.month, t.day)*86400+t.secondsOfDay())*1000000 + int64(t.micro)
}

// mfFromDatetimeMicros is the inverse of datetimeMicros.
func mfFromDatetimeMicros(us int64, fsp int) (mfMtime, bool) {
	if us < 0 {
		return mfMtime{}, false
	}
	days := us / 86400000000
	rest := us % 86400000000
	y, m, d := mfFromDayNr(days)
	if y == 0 || y > 9999 {
		return mfMtime{}, false
	}
	s := rest / 1000000
	return mfMtime{year: y, month: m, day: d, hour: int(s / 3600), minute: int(s / 60 % 60), second: int(s % 60),
		micro: int(rest % 1000000), fsp: fsp, hasTime: true}, true
}
