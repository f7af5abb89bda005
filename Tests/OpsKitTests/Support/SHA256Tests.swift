import XCTest
@testable import OpsKit

final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        // FIPS 180-2 test vectors.
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

final class SHA256StreamTests: XCTestCase {
    func testPiecesHashAsTheWhole() {
        let whole = Data((0..<100_000).map { UInt8($0 % 251) })
        let stream = SHA256Stream()
        var offset = 0
        for size in [1, 7, 4096, 30_000, 65_896] {
            stream.update(whole.subdata(in: offset..<(offset + size)))
            offset += size
        }
        XCTAssertEqual(offset, whole.count)
        XCTAssertEqual(stream.byteCount, UInt64(whole.count))
        XCTAssertEqual(stream.finish(), SHA256.hex(whole))
    }

    func testEmptyStreamIsTheEmptyDigest() {
        XCTAssertEqual(SHA256Stream().finish(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
