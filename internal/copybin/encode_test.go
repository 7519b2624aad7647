package copybin

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// numeric builds the expected bytes of a numeric field by hand.
func numeric(weight int16, sign uint16, digits ...uint16) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(8+2*len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(weight))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, 6)
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}

func TestMillionthsAreBaseTenThousandDigitsWithoutLeadingOrTrailingZeros(t *testing.T) {
	for _, c := range []struct {
		name string
		v    int64
		want []byte
	}{
		{"zero", 0, numeric(0, 0)},
		{"one", 1_000_000, numeric(0, 0, 1)},
		{"a millionth", 1, numeric(-2, 0, 100)},
		{"a cent", 10_000, numeric(-1, 0, 100)},
		{"seven digits and six places", 1_234_567_890_123, numeric(1, 0, 123, 4567, 8901, 2300)},
		{"ten thousand", 10_000_000_000, numeric(1, 0, 1)},
		{"negative", -24_000, numeric(-1, 0x4000, 240)},
		{"a fraction crossing digits", 5_000_050, numeric(0, 0, 5, 0, 5000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := AppendMillionths(nil, c.v); !bytes.Equal(got, c.want) {
				t.Errorf("AppendMillionths(%d) = % x, want % x", c.v, got, c.want)
			}
		})
	}
}

func TestTimesCountMicrosecondsFrom2000AndDropNanoseconds(t *testing.T) {
	at := time.Date(2000, 1, 1, 0, 0, 1, 999, time.FixedZone("x", 3600))
	got := AppendTimestamptz(nil, at)
	want := AppendInt8(nil, 1_000_000-3_600_000_000)
	if !bytes.Equal(got, want) {
		t.Errorf("% x, want % x", got, want)
	}
}

func TestTextDropsNULAndCountsBytes(t *testing.T) {
	got := AppendText(nil, "a\x00é")
	want := append(binary.BigEndian.AppendUint32(nil, 3), "aé"...)
	if !bytes.Equal(got, want) {
		t.Errorf("% x, want % x", got, want)
	}
	if got := AppendNullText(nil, ""); !bytes.Equal(got, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("empty text is % x, want NULL", got)
	}
}
