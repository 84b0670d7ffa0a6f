import Foundation
import Testing
@testable import IngestAuth

struct APIKeyTests {
    @Test func generatedKeysRoundTrip() throws {
        let key = APIKey.generate()
        #expect(key.namespace == "default")
        #expect(!key.token.hasSuffix("="))
        #expect(APIKey(parsing: key.token) == key)
    }

    @Test func acceptsEveryFormSensorsSend() throws {
        let canonical = "default:0f8fad5b-d9cb-469f-a165-70867728950e"
        let padded = Data(canonical.utf8).base64EncodedString()
        let unpadded = padded.replacingOccurrences(of: "=", with: "")
        for form in [canonical, padded, unpadded] {
            #expect(APIKey(parsing: form)?.canonical == canonical, "form \(form)")
        }
    }

    @Test(arguments: [
        "", "default", "default:not-a-uuid", "Default:0f8fad5b-d9cb-469f-a165-70867728950e",
        "default:0F8FAD5B-D9CB-469F-A165-70867728950E", "ab:0f8fad5b-d9cb-469f-a165-70867728950e", "!!!!",
    ])
    func rejectsMalformedKeys(_ text: String) {
        #expect(APIKey(parsing: text) == nil)
    }

    @Test func hashIsOfTheCanonicalForm() {
        let key = APIKey(namespace: "default", uuid: "0f8fad5b-d9cb-469f-a165-70867728950e")!
        // sha256("default:0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(key.hash.count == 32)
        #expect(APIKey(parsing: key.token)!.hash == key.hash)
    }
}
