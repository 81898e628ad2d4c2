/// Why a buffer does not hold a well-formed header. Parsing reports these; it never traps.
public enum WireError: Error, Equatable, Sendable {
    /// The buffer ends before the header (or a length field) says it should.
    case truncated
    /// A field holds a value the format forbids (version, header length, option layout).
    case malformed(String)
    /// A checksum does not verify.
    case checksum
    /// The text form of an address, prefix or hex string is not valid.
    case badText(String)
}
