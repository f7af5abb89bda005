/// SplitMix64 (Steele, Lea, Flood): the seeded generator of the property tests, so a failure
/// prints its seed and the same seed replays it.
package struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 0 ..< bound (bound > 0); the modulo bias is irrelevant at these bounds.
    package mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `percent` / 100.
    package mutating func chance(_ percent: Int) -> Bool { next(below: 100) < percent }
}
