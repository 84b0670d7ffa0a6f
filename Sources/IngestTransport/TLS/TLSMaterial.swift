import IngestCore
import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A certificate chain and private key in PEM, and the TLS contexts made from them.
public struct TLSMaterial: Sendable, Hashable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads a PEM certificate chain and key from files.
    public init(certificateFile: String, keyFile: String) throws {
        certificatePEM = try String(contentsOfFile: certificateFile, encoding: .utf8)
        privateKeyPEM = try String(contentsOfFile: keyFile, encoding: .utf8)
    }

    /// A new self-signed P-256 certificate for the given DNS names and IP addresses.
    public static func selfSigned(
        commonName: String, dnsNames: [String], ipAddresses: [String], validity: Duration = .seconds(10 * 365 * 86_400)
    ) throws -> TLSMaterial {
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("ThreatMapper console (self-signed)")
        }
        let names = subjectAlternativeNames(dnsNames: dnsNames, ipAddresses: ipAddresses)
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            // keyCertSign lets clients pin this self-signed leaf as its own trust root.
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity.seconds),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: certificateKey)
        return TLSMaterial(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A new P-256 certificate authority: the cluster CA that signs each worker's internal
    /// listener certificate (kept in the catalog, so every member can issue and verify).
    public static func certificateAuthority(commonName: String, validity: Duration = .seconds(20 * 365 * 86_400)) throws
        -> TLSMaterial
    {
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("ThreatMapper console cluster")
        }
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity.seconds),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: certificateKey)
        return TLSMaterial(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A new server certificate for the given names, signed by this material as a CA; its chain
    /// is the leaf followed by this CA's certificate.
    public func issue(
        commonName: String, dnsNames: [String], ipAddresses: [String], validity: Duration = .seconds(365 * 86_400)
    ) throws -> TLSMaterial {
        let caCertificate = try Certificate(pemEncoded: certificatePEM)
        let caKey = try Certificate.PrivateKey(P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM))
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("ThreatMapper console cluster")
        }
        let names = Self.subjectAlternativeNames(dnsNames: dnsNames, ipAddresses: ipAddresses)
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth, .clientAuth])
            SubjectAlternativeNames(names)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity.seconds),
            issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: caKey)
        return TLSMaterial(
            certificatePEM: try certificate.serializeAsPEM().pemString + "\n" + certificatePEM,
            privateKeyPEM: key.pemRepresentation)
    }

    /// A server context offering `h2` and `http/1.1`.
    public func serverContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["h2", "http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        // TLS 1.2: ECDHE key exchange with AEAD ciphers only (no CBC, no RSA key exchange, no
        // SHA-1 MACs); TLS 1.3's suites are all AEAD.
        configuration.cipherSuiteValues = Self.tls12CipherSuites
        return try NIOSSLContext(configuration: configuration)
    }

    /// The TLS 1.2 cipher suites the public listener offers (RFC 9325's recommendations).
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// A client context trusting exactly this certificate.
    public func clientContext(alpn: [String] = ["h2"]) throws -> NIOSSLContext {
        try Self.clientContext(trusting: certificatePEM, alpn: alpn)
    }

    /// A client context trusting the given PEM certificates (or, with nil, not verifying at all,
    /// as ThreatMapper sensors do).
    public static func clientContext(trusting pem: String?, alpn: [String] = ["h2"]) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = alpn
        if let pem {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
        } else {
            configuration.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The names a certificate is valid for: DNS names, and the addresses among `ipAddresses`.
    static func subjectAlternativeNames(dnsNames: [String], ipAddresses: [String]) -> [GeneralName] {
        dnsNames.map { GeneralName.dnsName($0) } + ipAddresses.compactMap { address in
            (ipv4Bytes(address) ?? ipv6Bytes(address)).map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        }
    }

    /// Whether the text is an IPv4 or IPv6 address.
    public static func isIPAddress(_ text: String) -> Bool { ipv4Bytes(text) != nil || ipv6Bytes(text) != nil }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    static func ipv6Bytes(_ text: String) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
