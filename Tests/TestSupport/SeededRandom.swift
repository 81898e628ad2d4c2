/// xorshift64*: a deterministic generator, so a fuzz failure replays from its seed.
public struct SeededRandom: RandomNumberGenerator {
    private var s: UInt64
    public init(seed: UInt64) { s = seed == 0 ? 0x9e3779b97f4a7c15 : seed }
    public mutating func next() -> UInt64 { s ^= s >> 12; s ^= s << 25; s ^= s >> 27; return s &* 2685821657736338717 }
}
