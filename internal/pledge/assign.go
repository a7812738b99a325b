package pledge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// Assigner puts readers into experiment arms. The arm is a keyed hash (HMAC-SHA256) of the
// experiment's name and the reader's anonymous id: the same reader always gets the same arm, every
// instance that shares the signing secret splits the same way, and nobody without the secret can
// pick an id to land in an arm. Experiments are split independently of one another.
type Assigner struct {
	key []byte
}

// NewAssigner derives the assignment key from the service's signing secret, so that the key that
// signs cookies is never used for anything else as it is.
func NewAssigner(secret []byte) Assigner {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("pledge experiments v1"))
	return Assigner{key: m.Sum(nil)}
}

// Assign returns the arm of e that the reader with id falls in: the holdback with probability
// e.HoldbackShare, else a variant with probability proportional to its weight. An empty id (a
// reader with no view cookie yet) is in no arm.
func (a Assigner) Assign(e *Experiment, id string) Arm {
	if e == nil || id == "" || len(e.Variants) == 0 {
		return Arm{}
	}
	u := a.uniform(e.Name, id)
	if u < e.HoldbackShare {
		return Arm{Experiment: e.Name, Variant: Holdback}
	}
	u = (u - e.HoldbackShare) / (1 - e.HoldbackShare)
	var total float64
	for _, v := range e.Variants {
		total += v.Weight
	}
	x, acc := u*total, 0.0
	for _, v := range e.Variants {
		acc += v.Weight
		if x < acc {
			return Arm{Experiment: e.Name, Variant: v.Name}
		}
	}
	// Rounding at the very top of the range.
	return Arm{Experiment: e.Name, Variant: e.Variants[len(e.Variants)-1].Name}
}

// uniform maps (experiment, id) to a number in [0, 1) from the HMAC's first 53 bits.
func (a Assigner) uniform(experiment, id string) float64 {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(experiment))
	m.Write([]byte{0})
	m.Write([]byte(id))
	var sum [sha256.Size]byte
	h := m.Sum(sum[:0])
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}
