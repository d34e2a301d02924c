public import Foundation

/// Certificates made with `openssl` during the test run, in a temporary directory: a CA, a server certificate
/// it signed (for `localhost` and 127.0.0.1 unless told otherwise), a client certificate it signed, and a second,
/// untrusted CA with its own server and client certificates.
public struct TestCertificates: Sendable {
    public let directory: URL
    public let caFile: String
    public let serverCertificate: String
    public let serverKey: String
    public let clientCertificate: String
    public let clientKey: String
    public let otherCAFile: String
    public let otherServerCertificate: String
    public let otherServerKey: String
    public let otherClientCertificate: String
    public let otherClientKey: String

    /// Generates everything (EC P-256 keys, 1 day validity).
    /// - Parameter serverNames: subjectAltName entries of the server certificate.
    public static func generate(serverNames: [String] = ["DNS:localhost", "IP:127.0.0.1"]) throws -> TestCertificates {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let openssl else { throw HarnessError("openssl not found (apt-get install openssl)") }
        let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-certs")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func run(_ arguments: [String]) throws {
            let (status, output) = try HarnessEnvironment.runTool(openssl, arguments)
            guard status == 0 else {
                throw HarnessError("openssl \(arguments.joined(separator: " ")) failed: \(output)")
            }
        }
        func key(_ name: String) throws {
            try run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path(name)])
        }
        func ca(_ name: String, _ commonName: String) throws {
            try key("\(name).key")
            try run([
                "req", "-x509", "-new", "-key", path("\(name).key"), "-sha256", "-days", "1", "-subj",
                "/CN=\(commonName)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", path("\(name).pem"),
            ])
        }
        func leaf(_ name: String, ca: String, commonName: String, extensions: String) throws {
            try key("\(name).key")
            try run([
                "req", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(commonName)", "-out", path("\(name).csr"),
            ])
            let extFile = path("\(name).ext")
            try extensions.write(toFile: extFile, atomically: true, encoding: .utf8)
            try run([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                "-CAcreateserial", "-days", "1", "-sha256", "-extfile", extFile, "-out", path("\(name).pem"),
            ])
        }
        let serverExt =
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            + "subjectAltName=\(serverNames.joined(separator: ","))\n"
        let clientExt =
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
            + "subjectAltName=email:worker@protoqueue.test\n"
        try ca("ca", "Protoqueue Test CA")
        try leaf("server", ca: "ca", commonName: "protoqueue-test-server", extensions: serverExt)
        try leaf("client", ca: "ca", commonName: "protoqueue-test-client", extensions: clientExt)
        try ca("other-ca", "Untrusted Test CA")
        try leaf("other-server", ca: "other-ca", commonName: "protoqueue-test-server", extensions: serverExt)
        try leaf("other-client", ca: "other-ca", commonName: "protoqueue-test-client", extensions: clientExt)
        return TestCertificates(
            directory: directory,
            caFile: path("ca.pem"), serverCertificate: path("server.pem"), serverKey: path("server.key"),
            clientCertificate: path("client.pem"), clientKey: path("client.key"),
            otherCAFile: path("other-ca.pem"), otherServerCertificate: path("other-server.pem"),
            otherServerKey: path("other-server.key"),
            otherClientCertificate: path("other-client.pem"), otherClientKey: path("other-client.key")
        )
    }
}
