import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Thousands of random and mutated inputs to the parsers that face the outside world: each must
/// give a value or a typed error, never a crash. (The YAML loader and the ClickHouse error parser
/// have their own fuzz tests next to them.)
final class DecoderFuzzTests: XCTestCase {
    var generator = SystemRandomNumberGenerator()

    /// Valid Prometheus answers to mutate.
    let seeds = [
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"luminate"},"value":[1795914000.5,"0.047619"]}]}}"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"],[3,"+Inf"]]}]}}"#,
        #"{"status":"success","data":{"resultType":"scalar","result":[1795914000,"-Inf"]}}"#,
        #"{"status":"success","data":{"resultType":"string","result":[1795914000,"hello"]}}"#,
        #"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#,
    ]

    func mutate(_ text: String) -> Data {
        var bytes = Array(text.utf8)
        let alphabet = Array(#"{}[]":,0123456789.-+eENaInfnulltruefalse \"#.utf8)
        for _ in 0..<Int.random(in: 1...6, using: &generator) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: bytes[index] = alphabet.randomElement(using: &generator)!
            case 1: bytes.remove(at: index)
            case 2: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
            default: bytes = Array(bytes[..<index])
            }
        }
        return Data(bytes)
    }

    func testPrometheusDecoderNeverCrashes() {
        let http = FakeHTTPTransport()
        let client = PrometheusClient(baseURL: "http://prom.test:9090", http: http, interrupt: Interrupt())
        let time = Date(timeIntervalSince1970: 1_795_914_000)
        var decoded = 0, refused = 0
        for round in 0..<3000 {
            let body: Data
            if round % 5 == 0 {
                body = Data((0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            } else {
                body = mutate(seeds.randomElement(using: &generator)!)
            }
            let status = [200, 200, 200, 400, 422, 503, 500].randomElement(using: &generator)!
            http.expect("GET", urlPrefix: "http://prom.test:9090/api/v1/query?") { _ in HTTPResponse(status: status, body: body) }
            do {
                _ = try client.instant(query: "up", at: time)
                decoded += 1
            } catch is PrometheusError {
                refused += 1
            } catch {
                XCTFail("untyped error for body \(String(decoding: body, as: UTF8.self)): \(error)")
            }
        }
        XCTAssertEqual(decoded + refused, 3000)
        XCTAssertGreaterThan(refused, 0)
    }

    func testConfigurationLoaderNeverCrashes() throws {
        let valid = """
            defaultEnvironment: a
            environments:
              a:
                clickhouse: {url: "http://x:8123", password: {env: P}}
                policy: {scaling: {cpu: 70%}, recovery: {rpo: 1h}, maintenanceWindows: [{name: w, every: saturday, start: "02:00", duration: 2h}]}
            """
        for _ in 0..<2000 {
            let data = mutate(valid)
            do {
                _ = try ConfigFile.parse(data, path: "fuzz.yaml", isPrivate: true)
            } catch let error as ConfigError {
                XCTAssertFalse(error.description.isEmpty)
            } catch {
                XCTFail("untyped error: \(error)")
            }
        }
    }
}
