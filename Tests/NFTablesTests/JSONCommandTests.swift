import JSON
import NFTables
import XCTest

/// libnftables JSON commands (`nft -j -f`), each as its own batch on the same ruleset in nft
/// 1.0.6 here: insert, add at an index, replace, delete and add elements (of a map by key alone),
/// flush a set, delete a rule, rename a chain, add a chain, delete a named object. Before, every
/// verb but add was "unknown object", and {"flush": {"set": ...}} flushed the whole ruleset.
/// nft 1.0.6 appends an added rule whatever its `handle` says (the last command; insert honours it).
final class JSONCommandTests: XCTestCase {
    static let base = """
        table ip t {
        \tcounter k {
        \t\tpackets 0 bytes 0
        \t}

        \tset s {
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 10.0.0.0/8, 192.168.1.1 }
        \t}

        \tset h {
        \t\ttype ipv4_addr
        \t\telements = { 1.1.1.1, 2.2.2.2 }
        \t}

        \tmap m {
        \t\ttype ipv4_addr : mark
        \t\telements = { 1.1.1.1 : 0x00000005 }
        \t}

        \tchain c {
        \t\tcounter packets 0 bytes 0
        \t\ttcp dport 22 accept
        \t}
        }
        """

    static let commands = [
        #"{"insert":{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}]}}}"#,
        #"{"add":{"rule":{"family":"ip","table":"t","chain":"c","index":0,"expr":[{"return":null}]}}}"#,
        #"{"replace":{"rule":{"family":"ip","table":"t","chain":"c","handle":7,"expr":[{"counter":null},{"accept":null}]}}}"#,
        #"{"delete":{"element":{"family":"ip","table":"t","name":"h","elem":["1.1.1.1"]}}}"#,
        #"{"add":{"element":{"family":"ip","table":"t","name":"h","elem":["3.3.3.3",{"elem":{"val":"4.4.4.4","comment":"x"}}]}}}"#,
        #"{"add":{"element":{"family":"ip","table":"t","name":"m","elem":[["5.5.5.5",7]]}}}"#,
        #"{"delete":{"element":{"family":"ip","table":"t","name":"m","elem":["1.1.1.1"]}}}"#,
        #"{"flush":{"set":{"family":"ip","table":"t","name":"s"}}}"#,
        #"{"add":{"element":{"family":"ip","table":"t","name":"s","elem":[{"prefix":{"addr":"172.16.0.0","len":12}}]}}}"#,
        #"{"delete":{"rule":{"family":"ip","table":"t","chain":"c","handle":6}}}"#,
        #"{"rename":{"chain":{"family":"ip","table":"t","name":"c","newname":"d"}}}"#,
        #"{"add":{"chain":{"family":"ip","table":"t","name":"e"}}}"#,
        #"{"delete":{"counter":{"family":"ip","table":"t","name":"k"}}}"#,
        #"{"add":{"rule":{"family":"ip","table":"t","chain":"d","handle":8,"expr":[{"drop":null}]}}}"#]

    /// `nft -a list ruleset` after the commands, the table's own handle line left out.
    static let recorded = """
        \tset s { # handle 3
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 172.16.0.0/12 }
        \t}

        \tset h { # handle 4
        \t\ttype ipv4_addr
        \t\telements = { 2.2.2.2, 3.3.3.3,
        \t\t\t     4.4.4.4 comment "x" }
        \t}

        \tmap m { # handle 5
        \t\ttype ipv4_addr : mark
        \t\telements = { 5.5.5.5 : 0x00000007 }
        \t}

        \tchain d { # handle 1
        \t\tdrop # handle 8
        \t\treturn # handle 9
        \t\tcounter packets 0 bytes 0 accept # handle 7
        \t\tdrop # handle 11
        \t}

        \tchain e { # handle 10
        \t}
        }

        """

    func testCommandsAsNftAppliesThem() throws {
        var rs = try NFParser.parse(Self.base)
        for c in Self.commands { rs = try NFJSON.decode(try JSONParser.parse(#"{"nftables":["# + c + "]}"), onto: rs) }
        XCTAssertEqual(NFPrinter.ruleset(rs, handles: true).split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n"), Self.recorded)
    }

    /// A flush names what it flushes; `{"flush": {"ruleset": null}}` is the whole ruleset.
    func testFlushNamesWhatItFlushes() throws {
        let rs = try NFParser.parse(Self.base)
        let chain = try NFJSON.decode(try JSONParser.parse(#"{"nftables":[{"flush":{"chain":{"family":"ip","table":"t","name":"c"}}}]}"#), onto: rs)
        XCTAssertEqual(chain.tables.map { $0.chains.map(\.rules.count) }, [[0]])
        XCTAssertEqual(chain.tables[0].sets.map(\.elements.count), [2, 2, 1])
        XCTAssertEqual(try NFJSON.decode(try JSONParser.parse(#"{"nftables":[{"flush":{"ruleset":null}}]}"#), onto: rs).tables.count, 0)
        XCTAssertThrowsError(try NFJSON.decode(try JSONParser.parse(#"{"nftables":[{"delete":{"rule":{"family":"ip","table":"t","chain":"c"}}}]}"#), onto: rs)) {
            XCTAssertEqual(($0 as? NFJSONError)?.path, "/nftables/0/delete/rule/handle")
        }
    }
}
