import Foundation
import Hummingbird
import NIOCore
import YuqingWire

extension HubAPI {
    /// `GET /v1/snapshot` and `GET /v1/snapshot/data` (`Protocol/sync.md` §5.11): the newest
    /// snapshot, for a device that sees every case (a unit's node replays its own cases) and the
    /// operator.
    func registerSnapshots(on router: Router<HubRequestContext>) {
        router.get("/v1/snapshot") { request, context in
            var request = request
            let current = try await snapshot(for: try await authenticate(&request, context), position: nil)
            return try json(SnapshotOffer(hub: storage.hubID, position: current.manifest.position, values: current.manifest.values,
                                          seals: current.manifest.seals, bytes: current.bytes, sha256: current.sha256))
        }
        router.get("/v1/snapshot/data") { request, context in
            var request = request
            let principal = try await authenticate(&request, context)
            let q = request.uri.queryParameters
            let position = try Self.logPosition(q.get("position"), name: "position")
            let current = try await snapshot(for: principal, position: position)
            let offset = try Self.nonNegative(q.get("offset"), name: "offset", absent: 0)
            let length = min(Int(try Self.nonNegative(q.get("length"), name: "length", absent: 8 << 20)), 16 << 20)
            guard offset <= current.bytes else {
                throw HubError.badRequest("offset \(offset) is past the end of the snapshot (\(current.bytes) bytes)",
                                          zh: "偏移量 \(offset) 超出快照末尾（快照共 \(current.bytes) 字节）")
            }
            // Streamed from the file in pieces of 128 KiB, not read whole into memory first. A
            // file removed in between (two newer snapshots made meanwhile) answers 410, or cuts the
            // answer short, which the node takes for a damaged download.
            guard offset < current.bytes, length > 0 else {
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init())
            }
            let last = Int(min(current.bytes, offset + Int64(length))) - 1
            do {
                let body = try await FileIO().loadFile(path: current.path, range: Int(offset)...last, context: context)
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
            } catch {
                throw HubError(.gone, "snapshot_replaced", "the snapshot at position \(position) was replaced by a newer one; start again from `GET /v1/snapshot`",
                               zh: "位置 \(position) 的快照已被更新的快照取代；请从 `GET /v1/snapshot` 重新开始")
            }
        }
    }

    /// The snapshot `principal` may have: the newest, or the one at `position`.
    private func snapshot(for principal: Principal, position: Int64?) async throws -> HubSnapshots.Current {
        guard let snapshots = configuration.snapshots else {
            throw HubError(.notFound, "no_snapshot", "this hub makes no snapshots: replay the log with `GET /v1/pull`",
                           zh: "本中心不生成快照：请用 `GET /v1/pull` 重放日志")
        }
        if try await visibleUnit(principal) != nil {
            throw HubError(.notFound, "no_snapshot", "snapshots hold every case, and this device's unit sees only its own: pull its cases with `GET /v1/pull`",
                           zh: "快照包含全部案件，而本设备所属单位只能查看本单位的案件：请用 `GET /v1/pull` 拉取")
        }
        if let position {
            guard let found = await snapshots.at(position) else {
                throw HubError(.gone, "snapshot_replaced", "the hub holds no snapshot at position \(position) (a newer one replaced it); start again from `GET /v1/snapshot`",
                               zh: "中心没有位置 \(position) 的快照（已被更新的快照取代）；请从 `GET /v1/snapshot` 重新开始")
            }
            return found
        }
        guard let current = await snapshots.latest() else {
            throw HubError(.notFound, "no_snapshot", "the hub has no snapshot yet (it makes one once its log is long enough): replay the log with `GET /v1/pull`",
                           zh: "中心尚无快照（日志足够长时才会生成）：请用 `GET /v1/pull` 重放日志")
        }
        return current
    }
}
