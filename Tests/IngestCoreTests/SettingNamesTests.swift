import Testing
@testable import IngestCore

struct SettingNamesTests {
    @Test(arguments: [
        ("http2ResetLimit", "--http2-reset-limit", "CONSOLE_HTTP2_RESET_LIMIT", "CONSOLE_HTTP2RESET_LIMIT"),
        ("http2Mode", "--http2-mode", "CONSOLE_HTTP2_MODE", "CONSOLE_HTTP2MODE"),
        ("databaseURL", "--database-url", "CONSOLE_DATABASE_URL", "CONSOLE_DATABASE_URL"),
        ("workerID", "--worker-id", "CONSOLE_WORKER_ID", "CONSOLE_WORKER_ID"),
        ("maxSbomBytes", "--max-sbom-bytes", "CONSOLE_MAX_SBOM_BYTES", "CONSOLE_MAX_SBOM_BYTES"),
        ("id", "--id", "CONSOLE_ID", "CONSOLE_ID"),
        ("tlsCert", "--tls-cert", "CONSOLE_TLS_CERT", "CONSOLE_TLS_CERT"),
    ])
    func namesFollowTheKeyWordByWord(key: String, option: String, environment: String, former: String) {
        #expect(SettingNames.option(ofKey: key) == option)
        #expect(SettingNames.environment(ofKey: key) == environment)
        #expect(SettingNames.formerEnvironment(ofKey: key) == former)
    }

    @Test func aRunOfCapitalsIsOneWordUntilACapitalisedWordFollows() {
        #expect(SettingNames.words(ofKey: "databaseURLPath") == ["database", "url", "path"])
        #expect(SettingNames.words(ofKey: "maxJSONDepth") == ["max", "json", "depth"])
    }

    @Test func theNearestNameIsSuggestedOnlyWhenItIsClose() {
        let names = ["CONSOLE_BEAT_RATE", "CONSOLE_MAX_BEAT_RATE", "CONSOLE_HTTP2_RESET_LIMIT"]
        #expect(SettingNames.nearest("CONSOLE_BEAT_RAET", among: names) == "CONSOLE_BEAT_RATE")
        #expect(SettingNames.nearest("console_max_beat_rate", among: names) == "CONSOLE_MAX_BEAT_RATE")
        #expect(SettingNames.nearest("CONSOLE_HTTP2RESET_LIMIT", among: names) == "CONSOLE_HTTP2_RESET_LIMIT")
        #expect(SettingNames.nearest("CONSOLE_SOMETHING_ELSE_ENTIRELY", among: names) == nil)
        #expect(SettingNames.editDistance(Array("kitten"), Array("sitting")) == 3)
        #expect(SettingNames.editDistance([], Array("abc")) == 3)
    }

    @Test func kubernetesServiceLinksAreToldApart() {
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_SERVICE_HOST", value: "10.0.0.7"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_SERVICE_PORT_HTTPS", value: "443"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_PORT", value: "tcp://10.0.0.7:443"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_PORT_443_TCP_ADDR", value: "10.0.0.7"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_DB_RW_PORT_5432_TCP", value: "tcp://10.0.0.9:5432"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_PORT_443_TCP_PORT", value: "443"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_GATEWAY_PORT_443_TCP_PROTO", value: "tcp"))
        #expect(SettingNames.isKubernetesServiceLink(name: "CONSOLE_PORT", value: "tcp://10.0.0.1:443"))
        #expect(!SettingNames.isKubernetesServiceLink(name: "CONSOLE_PORT", value: "8443"))
        #expect(!SettingNames.isKubernetesServiceLink(name: "CONSOLE_INTERNAL_PORT", value: "7443"))
        #expect(!SettingNames.isKubernetesServiceLink(name: "CONSOLE_BEAT_RATE", value: "60"))
        #expect(!SettingNames.isKubernetesServiceLink(name: "CONSOLE_PORT_TIMEOUT", value: "5"))
    }
}
