import Foundation
import Testing
import YuqingTestSupport

/// HTTPS between real processes: the hub serves a certificate, nodes pin it at enrolment from the
/// code file, and a hub that presents another certificate is refused.
@Suite struct TLSCLITests {
    @Test func nodesEnrolAndSyncOverHTTPSAndRefuseAnotherCertificate() throws {
        let dir = try TempDir()
        let real = try TLSFiles.make(in: dir, name: "hub")
        let imposter = try TLSFiles.make(in: dir, name: "imposter")
        let hub = HubProcess(db: dir.path("hub.sqlite"), tls: real)
        try hub.start()
        #expect(hub.url.hasPrefix("https://"))

        // The code file carries the hub's certificate: the node pins it before it sends anything.
        let codeFile = dir.path("a.code")
        let made = try CLI.run(["hub", "enrol", "--db", hub.db, "--unit", "a", "--user", "li", "--role", "monitor", "--out", codeFile])
        #expect(made.status == 0 && made.stdout.contains("with the hub's certificate"), "\(made.stdout) \(made.stderr)")
        #expect(try String(contentsOfFile: codeFile, encoding: .utf8).contains("-----BEGIN CERTIFICATE-----"))
        let a = dir.path("a.sqlite")
        #expect(try CLI.run(["node", "init", "--db", a, "--hub", hub.url, "--unit", "a", "--user", "li"]).status == 0)
        let enrolled = try CLI.run(["node", "enrol", "--db", a, "--code-file", codeFile])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let registered = try CLI.run(["case", "new", "--db", a, "--title", "学校食堂投诉"])
        #expect(registered.status == 0, "\(registered.stderr)")
        let synced = try CLI.run(["sync", "--db", a])
        #expect(synced.status == 0, "\(synced.stderr)")

        // A second node, enrolled through the test helper with --hub-cert, receives the case.
        try hub.enrol(unit: "office", roles: ["office"])
        let b = dir.path("b.sqlite")
        #expect(try CLI.initNode(b, hub: hub.url, unit: "office", roles: ["office"]).status == 0)
        #expect(try CLI.run(["sync", "--db", b]).status == 0)
        #expect(try CLI.run(["case", "list", "--db", b]).stdout.contains("学校食堂投诉"))

        // Without a certificate to pin, an https hub is not contacted at all.
        let c = dir.path("c.sqlite")
        try hub.enrol(unit: "c", user: "wang")
        #expect(try CLI.run(["node", "init", "--db", c, "--hub", hub.url, "--unit", "c", "--user", "wang"]).status == 0)
        let unpinned = try CLI.run(["sync", "--db", c])
        #expect(unpinned.status == 5 && unpinned.stderr.contains("no certificate of it was given to trust"), "\(unpinned.stderr)")

        // The same hub restarted with another certificate (or anything else on that address) is
        // refused, and the node's work stays.
        hub.kill()
        let other = HubProcess(db: hub.db, port: hub.port, tls: imposter)
        try other.start()
        #expect(try CLI.run(["case", "new", "--db", a, "--title", "第二件"]).status == 0)
        let refused = try CLI.run(["sync", "--db", a])
        #expect(refused.status == 5, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("did not prove it is the hub this node pinned"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Your work stays saved on this node"), "\(refused.stderr)")
        other.kill()

        // Back with its own certificate, the node syncs what waited.
        let again = HubProcess(db: hub.db, port: hub.port, tls: real)
        try again.start()
        let resumed = try CLI.run(["sync", "--db", a])
        #expect(resumed.status == 0 && resumed.stdout.contains("pushed"), "\(resumed.stderr)")
    }

    @Test func theStartUpLineSaysHowTheHubServes() throws {
        let dir = try TempDir()
        let tls = try TLSFiles.make(in: dir, name: "hub")
        for (args, expected) in [([String](), "(plain HTTP, loopback only)"), (["--tls-cert", tls.certificate, "--tls-key", tls.key], "(HTTPS, nodes pin certificate sha256")] {
            let port = CLI.freePort()
            let p = try CLI.start(["hub", "serve", "--db", dir.path("hub-\(port).sqlite"), "--port", String(port)] + args)
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            var text = ""
            for _ in 0..<100 where !text.contains("listening") {
                usleep(100_000)
                text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            }
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(text.contains(expected), "\(text)")
        }
        // A key that is not the certificate's is refused at start-up, in one line.
        let other = try TLSFiles.make(in: dir, name: "other")
        let mismatched = try CLI.run(["hub", "serve", "--db", dir.path("x.sqlite"), "--port", String(CLI.freePort()),
                                      "--tls-cert", tls.certificate, "--tls-key", other.key])
        #expect(mismatched.status != 0 && mismatched.stderr.contains("cannot serve together"), "\(mismatched.stderr)")
    }
}
