package transpile

import "testing"

// TestScanQuoted: the copy-free path (no escape, no doubled quote) and the
// decoding path give MySQL's values and stop after the closing quote.
func TestScanQuoted(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		end       int
		ok        bool
	}{
		{`'plain' x`, "plain", 7, true},
		{`''`, "", 2, true},
		{`"double"`, "double", 8, true},
		{`'it''s'`, "it's", 7, true},
		{`'a\'b'`, "a'b", 6, true},
		{`'tab\tnl\n\\'`, "tab\tnl\n\\", 13, true},
		{`"say ""hi"" 'x'"`, `say "hi" 'x'`, 16, true},
		{`'unterminated`, "unterminated", 13, false},
		{`'ends with escape\`, "ends with escape\\", 18, false},
	} {
		got, end, ok := scanQuoted(tc.src, 0)
		if got != tc.want || end != tc.end || ok != tc.ok {
			t.Errorf("scanQuoted(%q) = %q, %d, %v; want %q, %d, %v", tc.src, got, end, ok, tc.want, tc.end, tc.ok)
		}
	}
}
