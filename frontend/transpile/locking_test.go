package transpile

import "testing"

func TestLockingReads(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"SELECT v FROM g WHERE k = 1", false},
		{"SELECT v FROM g WHERE k = 1 FOR UPDATE", true},
		{"SELECT v FROM g WHERE k = 1 FOR SHARE", true},
		{"SELECT v FROM g WHERE k = 1 LOCK IN SHARE MODE", true},
		{"SELECT 1 UNION SELECT 2 FOR UPDATE", true},
	}
	for _, tt := range tests {
		out, err := Transpile("test", tt.sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if out[0].Locking != tt.want {
			t.Errorf("%s: Locking = %v, want %v", tt.sql, out[0].Locking, tt.want)
		}
		if out[0].Kind != Select {
			t.Errorf("%s: kind %v", tt.sql, out[0].Kind)
		}
	}
}
