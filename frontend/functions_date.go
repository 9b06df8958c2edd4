package frontend

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// mfTimeFunctions are MySQL's date and time functions. Values are UTC.
func mfTimeFunctions() []mfSQLFunc {
	fns := []mfSQLFunc{
		{"now", mfNowText, false},
		{"sysdate", mfNowText, false},
		{"localtime", mfNowText, false},
		{"localtimestamp", mfNowText, false},
		{"current_timestamp", mfNowText, false},
		{"utc_timestamp", mfNowText, false},
		{"curdate", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"current_date", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"utc_date", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"curtime", mfCurTime, false},
		{"current_time", mfCurTime, false},
		{"utc_time", mfCurTime, false},
		{"unix_timestamp", mfUnixTimestamp, false},
		{"from_unixtime", mfFromUnixtime, true},
		{"date_format", func(d, f any) any { return mfDateFormat(d, f, false) }, true},
		{"time_format", func(d, f any) any { return mfDateFormat(d, f, true) }, true},
		{"str_to_date", mfStrToDate, true},
		{"datediff", mfDatediff, true},
		{"timestampdiff", mfTimestampdiff, true},
		{"extract", mfExtract, true},
		{"timestamp", mfTimestampFn, true},
		{"timediff", mfTimediff, true},
		{"addtime", func(a, b any) any { return mfAddTime(a, b, 1) }, true},
		{"subtime", func(a, b any) any { return mfAddTime(a, b, -1) }, true},
		{"sec_to_time", mfSecToTime, true},
		{"time_to_sec", mfTimeToSec, true},
		{"maketime", mfMakeTime, true},
		{"makedate", mfMakeDate, true},
		{"from_days", mfFromDays, true},
		{"period_add", mfPeriodAdd, true},
		{"period_diff", mfPeriodDiff, true},
		{"convert_tz", mfConvertTZ, true},
		{"week", mfWeek, true},
		{"yearweek", mfYearweek, true},
	}
	// one-argument part extractors
	parts := map[string]func(v any) any{
		"year":  mfDateFuzzy(func(t mfMtime) any { return int64(t.year) }),
		"month": mfDateFuzzy(func(t mfMtime) any { return int64(t.month) }),
		"day":   mfDateFuzzy(func(t mfMtime) any { return int64(t.day) }),
		"dayofmonth": mfDateFuzzy(func(t mfMtime) any {
			return int64(t.day)
		}),
		"quarter": mfDateFuzzy(func(t mfMtime) any { return int64((t.month + 2) / 3) }),
		"hour":    mfTimePart(func(t mfMtime) any { return int64(t.hour) }),
		"minute":  mfTimePart(func(t mfMtime) any { return int64(t.minute) }),
		"second":  mfTimePart(func(t mfMtime) any { return int64(t.second) }),
		"microsecond": mfTimePart(func(t mfMtime) any {
			return int64(t.micro)
		}),
		"weekday":   mfDateValid(func(t mfMtime) any { return int64(mfWeekdayNr(mfDayNr(t.year, t.month, t.day), false)) }),
		"dayofweek": mfDateValid(func(t mfMtime) any { return int64(mfWeekdayNr(mfDayNr(t.year, t.month, t.day), true) + 1) }),
		"dayofyear": mfDateValid(func(t mfMtime) any { return mfDayNr(t.year, t.month, t.day) - mfDayNr(t.year, 1, 1) + 1 }),
		"dayname":   mfDateValid(func(t mfMtime) any { return mfDayNames[mfWeekdayNr(mfDayNr(t.year, t.month, t.day), false)] }),
		"monthname": mfDateFuzzy(func(t mfMtime) any {
			if t.month == 0 {
				return nil
			}
			return mfMonthNames[t.month-1]
		}),
		"to_days":    mfDateValid(func(t mfMtime) any { return mfDayNr(t.year, t.month, t.day) }),
		"to_seconds": mfDateValid(func(t mfMtime) any { return mfDayNr(t.year, t.month, t.day)*86400 + t.secondsOfDay() }),
		"weekofyear": mfDateValid(func(t mfMtime) any { w, _ := mfCalcWeek(t, mfWeekMode(3)); return int64(w) }),
		"last_day": mfDateFuzzy(func(t mfMtime) any {
			if t.month == 0 || t.year == 0 && t.day == 0 {
				return nil
			}
			return mfMtime{year: t.year, month: t.month, day: mfDaysInMonth(t.year, t.month)}.dateText()
		}),
	}
	for name, f := range parts {
		fns = append(fns, mfSQLFunc{name, f, true})
	}
	return fns
}

// mfDateFuzzy applies f to a date argument, zero parts allowed (YEAR('2024-00-00') = 2024).
func mfDateFuzzy(f func(mfMtime) any) func(any) any {
	return func(v any) any {
		t, ok := mfParseDatetime(v)
		if !ok {
			return nil
		}
		return f(t)
	}
}

// mfDateValid applies f to a date argument that must be a real day.
func mfDateValid(f func(mfMtime) any) func(any) any {
	return func(v any) any {
		t, ok := mfParseDatetime(v)
		if !ok || !t.validDate() {
			return nil
		}
		return f(t)
	}
}

// mfTimePart applies f to a TIME or DATETIME argument.
func mfTimePart(f func(mfMtime) any) func(any) any {
	return func(v any) any {
		t, ok := mfParseTime(v)
		if !ok {
			return nil
		}
		return f(t)
	}
}

func mfFspArg(args []any) int {
	if len(args) == 1 {
		if p, ok := mfArgInt(args[0]); ok && p > 0 && p <= 6 {
			return int(p)
		}
	}
	return 0
}

// mfNowText is NOW([fsp]) and its synonyms.
func mfNowText(args ...any) string {
	return mfFromGoTime(time.Now().UTC(), 0).datetimeText(mfFspArg(args))
}

func mfCurTime(args ...any) string {
	t := mfFromGoTime(time.Now().UTC(), 0)
	t.isTime = true
	return t.timeText(mfFspArg(args))
}

// mfUnixTimestamp is UNIX_TIMESTAMP([d]): an integer, or a DOUBLE carrying
// the argument's fractional seconds; 0 for dates outside 1970..3001.
func mfUnixTimestamp(args ...any) any {
	if len(args) == 0 {
		return time.Now().Unix()
	}
	if mfIsNull(args[0]) {
		return nil
	}
	t, ok := mfParseDatetime(args[0])
	if !ok || !t.validDate() {
		return int64(0)
	}
	sec := t.goTime().Unix()
	if sec < 0 || sec > 32536771199 {
		return int64(0)
	}
	if t.micro == 0 {
		return sec
	}
	return float64(sec) + float64(t.micro)/1e6
}

// mfFromUnixtime is FROM_UNIXTIME(ts[, format]).
func mfFromUnixtime(args ...any) any {
	if len(args) < 1 || len(args) > 2 || mfAnyNull(args...) {
		return nil
	}
	d, ok := mfArgDecimal(args[0])
	if !ok || d.unscaled.Sign() < 0 {
		return nil
	}
	scale := d.scale
	if scale > 6 {
		d = d.round(6, true)
		scale = 6
	}
	txt := d.text(6)
	ip, frac, _ := strings.Cut(txt, ".")
	sec, err := strconv.ParseInt(ip, 10, 64)
	if err != nil || sec > 32536771199 {
		return nil
	}
	micro, _ := strconv.Atoi(frac)
	t := mfFromGoTime(time.Unix(sec, int64(micro)*1000).UTC(), scale)
	if len(args) == 2 {
		return mfDateFormat(t.datetimeText(scale), args[1], false)
	}
	return t.datetimeText(scale)
}

func mfDatediff(a, b any) any {
	x, ok1 := mfParseDatetime(a)
	y, ok2 := mfParseDatetime(b)
	if !ok1 || !ok2 || !x.validDate() || !y.validDate() {
		return nil
	}
	return mfDayNr(x.year, x.month, x.day) - mfDayNr(y.year, y.month, y.day)
}

// mfTimestampdiff is TIMESTAMPDIFF(unit, a, b) = b - a in whole units, as the
// transpiler emits it: timestampdiff('month', a, b).
func mfTimestampdiff(unitArg, a, b any) any {
	unit, ok := mfArgStr(unitArg)
	x, ok1 := mfParseDatetime(a)
	y, ok2 := mfParseDatetime(b)
	if !ok || !ok1 || !ok2 || !x.validDate() || !y.validDate() {
		return nil
	}
	unit = strings.TrimPrefix(strings.ToLower(unit), "sql_tsi_")
	diff := y.datetimeMicros() - x.datetimeMicros()
	sign := int64(1)
	beg, end := x, y
	if diff < 0 {
		sign, diff = -1, -diff
		beg, end = y, x
	}
	seconds := diff / 1000000
	switch unit {
	case "microsecond":
		return sign * diff
	case "second":
		return sign * seconds
	case "minute":
		return sign * (seconds / 60)
	case "hour":
		return sign * (seconds / 3600)
	case "day":
		return sign * (seconds / 86400)
	case "week":
		return sign * (seconds / 86400 / 7)
	case "month", "quarter", "year":
		years := end.year - beg.year
		if end.month < beg.month || end.month == beg.month && end.day < beg.day {
			years--
		}
		months := int64(12 * years)
		if end.month < beg.month || end.month == beg.month && end.day < beg.day {
			months += int64(12 - (beg.month - end.month))
		} else {
			months += int64(end.month - beg.month)
		}
		if end.day < beg.day {
			months--
		} else if end.day == beg.day && (end.secondsOfDay() < beg.secondsOfDay() ||
			end.secondsOfDay() == beg.secondsOfDay() && end.micro < beg.micro) {
			months--
		}
		switch unit {
		case "year":
			return sign * (months / 12)
		case "quarter":
			return sign * (months / 3)
		}
		return sign * months
	}
	return nil
}

// mfExtract is EXTRACT(unit FROM d) for the units the transpiler does not
// turn into year(), month(), ...: extract('year_month', d).
func mfExtract(unitArg, v any) any {
	unit, ok := mfArgStr(unitArg)
	if !ok || mfIsNull(v) {
		return nil
	}
	unit = strings.ToLower(unit)
	var t mfMtime
	if strings.HasPrefix(unit, "year") || strings.HasPrefix(unit, "quarter") || strings.HasPrefix(unit, "month") ||
		strings.HasPrefix(unit, "week") || strings.HasPrefix(unit, "day") {
		t, ok = mfParseDatetime(v)
	} else {
		t, ok = mfParseTime(v)
	}
	if !ok {
		return nil
	}
	sign := int64(1)
	if t.neg {
		sign = -1
	}
	h, m, s, us := int64(t.hour), int64(t.minute), int64(t.second), int64(t.micro)
	d := int64(t.day)
	switch unit {
	case "year":
		return int64(t.year)
	case "quarter":
		return int64((t.month + 2) / 3)
	case "month":
		return int64(t.month)
	case "week":
		w, _ := mfCalcWeek(t, mfWeekMode(0))
		return int64(w)
	case "day":
		return d
	case "year_month":
		return int64(t.year)*100 + int64(t.month)
	case "day_hour":
		return d*100 + h
	case "day_minute":
		return d*10000 + h*100 + m
	case "day_second":
		return d*1000000 + h*10000 + m*100 + s
	case "day_microsecond":
		return (d*1000000+h*10000+m*100+s)*1000000 + us
	case "hour":
		return sign * h
	case "minute":
		return sign * m
	case "second":
		return sign * s
	case "microsecond":
		return sign * us
	case "hour_minute":
		return sign * (h*100 + m)
	case "hour_second":
		return sign * (h*10000 + m*100 + s)
	case "hour_microsecond":
		return sign * ((h*10000+m*100+s)*1000000 + us)
	case "minute_second":
		return sign * (m*100 + s)
	case "minute_microsecond":
		return sign * ((m*100+s)*1000000 + us)
	case "second_microsecond":
		return sign * (s*1000000 + us)
	}
	return nil
}

// mfWeekArgs reads WEEK/YEARWEEK's (date[, mode]); mode defaults to 0
// (default_week_format). ok=false means the result is NULL.
func mfWeekArgs(args []any) (mfMtime, int, bool) {
	if len(args) < 1 || len(args) > 2 {
		return mfMtime{}, 0, false
	}
	t, ok := mfParseDatetime(args[0])
	if !ok || !t.validDate() {
		return mfMtime{}, 0, false
	}
	mode := int64(0)
	if len(args) == 2 {
		if mode, ok = mfArgInt(args[1]); !ok {
			return mfMtime{}, 0, false
		}
	}
	return t, mfWeekMode(int(mode)), true
}

// mfWeek is WEEK(d[, mode]).
func mfWeek(args ...any) any {
	t, mode, ok := mfWeekArgs(args)
	if !ok {
		return nil
	}
	w, _ := mfCalcWeek(t, mode)
	return int64(w)
}

func mfYearweek(args ...any) any {
	t, mode, ok := mfWeekArgs(args)
	if !ok {
		return nil
	}
	w, y := mfCalcWeek(t, mode|mfWeekYear)
	return int64(y*100 + w)
}

// mfTimestampFn is TIMESTAMP(d[, t]).
func mfTimestampFn(args ...any) any {
	if len(args) < 1 || len(args) > 2 || mfAnyNull(args...) {
		return nil
	}
	t, ok := mfParseDatetime(args[0])
	if !ok {
		return nil
	}
	t.hasTime = true
	if len(args) == 1 {
		return t.datetimeText(t.fsp)
	}
	return mfAddTime(t.datetimeText(t.fsp), args[1], 1)
}

// mfTimeOrDatetime parses a TIME or DATETIME argument.
func mfTimeOrDatetime(v any) (mfMtime, bool) {
	t, ok := mfParseTime(v)
	if !ok {
		return t, false
	}
	if !t.isTime && !t.hasTime {
		t.hasTime = true
	}
	return t, true
}

func mfTimediff(a, b any) any {
	x, ok1 := mfTimeOrDatetime(a)
	y, ok2 := mfTimeOrDatetime(b)
	if !ok1 || !ok2 || x.isTime != y.isTime {
		return nil
	}
	var us int64
	if x.isTime {
		us = x.totalMicros() - y.totalMicros()
	} else {
		us = x.datetimeMicros() - y.datetimeMicros()
	}
	return mfTimeFromMicros(us, max(x.fsp, y.fsp)).timeText(max(x.fsp, y.fsp))
}

// mfAddTime is ADDTIME/SUBTIME(expr, time): a DATETIME or TIME shifted by a TIME.
func mfAddTime(a, b any, sign int64) any {
	x, ok1 := mfTimeOrDatetime(a)
	y, ok2 := mfParseTime(b)
	if !ok1 || !ok2 || !y.isTime {
		return nil
	}
	fsp := max(x.fsp, y.fsp)
	if x.isTime {
		return mfTimeFromMicros(x.totalMicros()+sign*y.totalMicros(), fsp).timeText(fsp)
	}
	r, ok := mfFromDatetimeMicros(x.datetimeMicros()+sign*y.totalMicros(), fsp)
	if !ok {
		return nil
	}
	return r.datetimeText(fsp)
}

func mfSecToTime(v any) any {
	d, ok := mfArgDecimal(v)
	if !ok {
		return nil
	}
	fsp := d.scale
	if fsp > 6 {
		d, fsp = d.round(6, false), 6
	}
	us, _ := strconv.ParseInt(strings.Replace(d.text(6), ".", "", 1), 10, 64)
	return mfTimeFromMicros(us, fsp).timeText(fsp)
}

func mfTimeToSec(v any) any {
	t, ok := mfParseTime(v)
	if !ok {
		return nil
	}
	t.isTime = true
	us := t.totalMicros()
	if us%1000000 == 0 {
		return us / 1000000
	}
	return float64(us) / 1e6
}

func mfMakeTime(h, m, s any) any {
	hh, ok1 := mfArgInt(h)
	mm, ok2 := mfArgInt(m)
	sd, ok3 := mfArgDecimal(s)
	if !ok1 || !ok2 || !ok3 || mm < 0 || mm > 59 {
		return nil
	}
	fsp := sd.scale
	if fsp > 6 {
		sd, fsp = sd.round(6, false), 6
	}
	sus, _ := strconv.ParseInt(strings.Replace(sd.text(6), ".", "", 1), 10, 64)
	if sus < 0 || sus >= 60000000 {
		return nil
	}
	neg := hh < 0
	if neg {
		hh = -hh
	}
	if hh > 838 {
		hh = 839
	}
	us := (hh*3600+mm*60)*1000000 + sus
	if neg {
		us = -us
	}
	return mfTimeFromMicros(us, fsp).timeText(fsp)
}

func mfMakeDate(y, d any) any {
	year, ok1 := mfArgInt(y)
	doy, ok2 := mfArgInt(d)
	if !ok1 || !ok2 || year < 0 || year > 9999 || doy <= 0 {
		return nil
	}
	if year < 100 {
		year = int64(mfYear2(int(year)))
	}
	days := mfDayNr(int(year), 1, 1) + doy - 1
	if days > 3652424 {
		return nil
	}
	yy, mm, dd := mfFromDayNr(days)
	if yy > 9999 || yy == 0 {
		return nil
	}
	return mfMtime{year: yy, month: mm, day: dd}.dateText()
}

func mfFromDays(v any) any {
	n, ok := mfArgInt(v)
	if !ok {
		return nil
	}
	y, m, d := mfFromDayNr(n)
	return mfMtime{year: y, month: m, day: d}.dateText()
}

func mfPeriodToMonth(p int64) int64 {
	if p == 0 {
		return 0
	}
	a := p / 100
	if a < 70 {
		a += 2000
	} else if a < 100 {
		a += 1900
	}
	return a*12 + p%100 - 1
}

func mfMonthToPeriod(m int64) int64 {
	if m == 0 {
		return 0
	}
	y := m / 12
	if y < 100 {
		if y < 70 {
			y += 2000
		} else {
			y += 1900
		}
	}
	return y*100 + m%12 + 1
}

func mfPeriodAdd(p, n any) any {
	pp, ok1 := mfArgInt(p)
	nn, ok2 := mfArgInt(n)
	if !ok1 || !ok2 {
		return nil
	}
	if pp == 0 {
		return int64(0)
	}
	return mfMonthToPeriod(mfPeriodToMonth(pp) + nn)
}

func mfPeriodDiff(a, b any) any {
	x, ok1 := mfArgInt(a)
	y, ok2 := mfArgInt(b)
	if !ok1 || !ok2 {
		return nil
	}
	return mfPeriodToMonth(x) - mfPeriodToMonth(y)
}

// mfTzLocation resolves a CONVERT_TZ zone: '+HH:MM', 'SYSTEM'/'UTC' or an IANA name.
func mfTzLocation(name string) *time.Location {
	n := strings.TrimSpace(name)
	if strings.EqualFold(n, "SYSTEM") || strings.EqualFold(n, "UTC") {
		return time.UTC
	}
	if len(n) >= 5 && (n[0] == '+' || n[0] == '-') {
		h, m, ok := strings.Cut(n[1:], ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || mm > 59 {
			return nil
		}
		off := hh*3600 + mm*60
		if n[0] == '-' {
			off = -off
		}
		if off < -13*3600-59*60 || off > 14*3600 {
			return nil
		}
		return time.FixedZone(n, off)
	}
	loc, err := time.LoadLocation(n)
	if err != nil {
		return nil
	}
	return loc
}

func mfConvertTZ(d, from, to any) any {
	t, ok := mfParseDatetime(d)
	fs, ok1 := mfArgStr(from)
	ts, ok2 := mfArgStr(to)
	if !ok || !ok1 || !ok2 || !t.validDate() {
		return nil
	}
	fl, tl := mfTzLocation(fs), mfTzLocation(ts)
	if fl == nil || tl == nil {
		return nil
	}
	t.hasTime = true
	g := time.Date(t.year, time.Month(t.month), t.day, t.hour, t.minute, t.second, t.micro*1000, fl)
	if u := g.Unix(); u < 1 || u > math.MaxInt32 {
		return t.datetimeText(t.fsp) // outside the TIMESTAMP range: unchanged, as MySQL
	}
	return mfFromGoTime(g.In(tl), t.fsp).datetimeText(t.fsp)
}
