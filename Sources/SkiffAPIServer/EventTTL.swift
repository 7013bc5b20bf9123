import SkiffAPI
import SkiffCore

/// Events expire after --event-ttl (upstream: 1h), counted from their last write, as
/// kube-apiserver gives each event write an etcd lease of that length.
extension APIHandler {
    public func expireEvents(olderThan ttl: Duration, now: Timestamp = .now()) async {
        let cutoff = now.seconds - ttl.components.seconds
        for r in registry.all where r.kind == "Event" {
            let (events, _) = await cache.list(r, filter: ObjectFilter())
            for e in events {
                guard let o = try? JSON.parse(e.bytes) else { continue }
                let stamps = [o["lastTimestamp"], o["eventTime"], o[path: ["series", "lastObservedTime"]], o["metadata"]?["creationTimestamp"]]
                let newest = stamps.compactMap { $0?.stringValue.flatMap(Timestamp.init(rfc3339:))?.seconds }.max() ?? now.seconds
                guard newest < cutoff else { continue }
                do {
                    _ = try await deleteObject(r, e.namespace, e.name, DeleteOptions(), dryRun: false)
                } catch {
                    if error.code != 404 { logger.warning("expiring event failed", metadata: ["event": "\(e.key)", "error": "\(error)"]) }
                }
            }
        }
    }

    /// Parses a Go-style duration ("1h", "30m", "1h30m", "90s") or plain seconds.
    public static func parseDuration(_ s: String) -> Duration? {
        if let n = Int64(s) { return .seconds(n) }
        var total: Int64 = 0
        var number = ""
        for c in s {
            if c.isNumber { number.append(c); continue }
            guard let n = Int64(number) else { return nil }
            switch c {
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            number = ""
        }
        return number.isEmpty && !s.isEmpty ? .seconds(total) : nil
    }
}
