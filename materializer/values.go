package materializer

import (
	"fmt"
	"strings"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// toValue converts a value read from SQLite to its wire form. The preupdate
// hook reports TEXT and BLOB alike as []byte; the column's affinity decides
// which it is, the same way on every node, so replicas stay identical.
func toValue(v any, blobAffinity bool) *marmotv1.Value {
	switch x := v.(type) {
	case nil:
		return &marmotv1.Value{Kind: &marmotv1.Value_Null{Null: true}}
	case int64:
		return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: x}}
	case float64:
		return &marmotv1.Value{Kind: &marmotv1.Value_Real{Real: x}}
	case string:
		return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(x)}}
	case []byte:
		if blobAffinity {
			return &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: x}}
		}
		return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: x}}
	case bool:
		if x {
			return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: 1}}
		}
		return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: 0}}
	case time.Time:
		return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(x.UTC().Format("2006-01-02 15:04:05"))}}
	}
	return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: fmt.Append(nil, v)}}
}

// fromValue converts a wire value to a driver argument with the same
// SQLite storage class.
func fromValue(v *marmotv1.Value) any {
	switch k := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		return k.Int
	case *marmotv1.Value_Real:
		return k.Real
	case *marmotv1.Value_Text:
		return string(k.Text)
	case *marmotv1.Value_Blob:
		if k.Blob == nil {
			return []byte{}
		}
		return k.Blob
	}
	return nil
}

// blobAffinity applies SQLite's affinity rules to a declared type: BLOB
// affinity when the type mentions BLOB or is empty (and no earlier rule
// matched).
func blobAffinity(decl string) bool {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return false
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return false
	case strings.Contains(d, "BLOB"), d == "":
		return true
	}
	return false
}

// quoteIdent quotes an SQLite identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
