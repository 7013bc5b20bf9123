import Foundation
import SkiffAPI
import SkiffCore
import SkiffStore

/// get, list and watch, served from the watch cache.
extension APIHandler {
    func get(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let object = try await currentObject(r, info, name, req)
        let accept = Accept(req.header("accept"), query: req)
        if accept.wantsTable {
            return .json(200, Tables.single(r, stored: object.bytes, includeObject: accept.includeObject), contentType: Tables.contentType)
        }
        return .json(200, outgoing(r, object.bytes))
    }

    /// The object as a reader should see it: the latest write unless `resourceVersion=0`
    /// asks for whatever the cache holds.
    func currentObject(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest) async throws(APIError) -> CachedObject {
        if req.queryValue("resourceVersion") != "0" { await consistentRead() }
        guard let object = await cache.get(r, key: r.key(namespace: info.namespace, name: name)) else { throw r.notFound(name) }
        return object
    }

    func filter(_ r: ResourceInfo, _ info: RequestInfo, _ req: APIRequest) throws(APIError) -> ObjectFilter {
        var f = ObjectFilter(namespace: r.namespaced ? info.namespace : nil)
        if let s = req.queryValue("labelSelector"), !s.isEmpty { f.labels = try LabelSelector(parsing: s) }
        if let s = req.queryValue("fieldSelector"), !s.isEmpty {
            let fs = try FieldSelector(parsing: s)
            for requirement in fs.requirements {
                let known = ["metadata.name", "metadata.namespace"] + r.strategy.selectableFields.keys
                if !known.contains(requirement.field) {
                    throw .badRequest("field label not supported: \(requirement.field)")
                }
                // A namespace in the field selector narrows a cluster-wide list.
                if requirement.field == "metadata.namespace", requirement.operator != .notEquals, f.namespace == nil, r.namespaced {
                    f.namespace = requirement.value
                }
            }
            f.fields = fs
        }
        return f
    }

    func list(_ r: ResourceInfo, _ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let filter = try self.filter(r, info, req)
        let rv = req.queryValue("resourceVersion")
        let match = req.queryValue("resourceVersionMatch")
        let limit = req.queryValue("limit").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let continueToken = req.queryValue("continue").flatMap { $0.isEmpty ? nil : $0 }
        if let match, !["Exact", "NotOlderThan"].contains(match) {
            throw .badRequest("resourceVersionMatch: Unsupported value: \"\(match)\": supported values: \"Exact\", \"NotOlderThan\"")
        }
        if match != nil, rv == nil || rv == "" {
            throw .badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
        }
        if continueToken != nil, let rv, !rv.isEmpty {
            throw .badRequest("specifying resource version is not allowed when using continue")
        }

        var items: [CachedObject]
        var listRevision: Int64
        var startAfter: String?
        if let continueToken {
            let token = try ContinueToken(decoding: continueToken)
            (items, listRevision) = try await storeList(r, filter, at: token.revision)
            startAfter = token.startAfter
        } else if match == "Exact", let rv {
            guard let at = Int64(rv) else { throw .badRequest("invalid resource version \"\(rv)\"") }
            (items, listRevision) = try await storeList(r, filter, at: at)
        } else {
            if let rv, rv != "0", !rv.isEmpty {
                guard let at = Int64(rv) else { throw .badRequest("invalid resource version \"\(rv)\"") }
                let current = await store.currentRevision()
                if at > current { throw StoreError.futureRevision(requested: at, current: current).apiError(r, name: "") }
                await cache.wait(for: at)
            } else if rv != "0" {
                await consistentRead()
            }
            (items, listRevision) = await cache.list(r, filter: filter)
        }

        if let startAfter {
            let i = items.firstIndex { $0.key > startAfter } ?? items.count
            items.removeFirst(i)
        }
        var nextToken: String?
        var remaining: Int?
        // resourceVersion=0 lists come from the cache without paging, as upstream does.
        if let limit, rv != "0", items.count > limit {
            remaining = items.count - limit
            items.removeLast(items.count - limit)
            nextToken = ContinueToken(revision: listRevision, startAfter: items[items.count - 1].key).encoded
        }

        var meta: JSONObject = ["resourceVersion": .string(String(listRevision))]
        if let nextToken { meta["continue"] = .string(nextToken) }
        if let remaining, filter.labels == nil, filter.fields == nil { meta["remainingItemCount"] = .number(JSONNumber(remaining)) }
        let accept = Accept(req.header("accept"), query: req)
        if accept.wantsTable {
            var parts = [Tables.head(r, metadata: meta)]
            var chunk: [UInt8] = []
            let now = Timestamp.now()
            for (i, item) in items.enumerated() {
                if i > 0 { chunk.append(UInt8(ascii: ",")) }
                Tables.row(r, stored: item.bytes, includeObject: accept.includeObject, now: now, to: &chunk)
                if chunk.count >= 1 << 16 {
                    parts.append(chunk)
                    chunk = []
                }
            }
            parts += [chunk, Tables.tail]
            return APIResponse(status: 200, contentType: Tables.contentType, body: .parts(parts))
        }
        return listResponse(r, items.map { outgoing(r, $0.bytes) }, metadata: meta)
    }

    /// A List of encoded items, sent as parts: the items are never copied into one buffer.
    func listResponse(_ r: ResourceInfo, _ items: [[UInt8]], metadata: JSONObject) -> APIResponse {
        var parts = [Array("{\"kind\":\"\(r.kind)List\",\"apiVersion\":\"\(r.apiVersion)\",\"metadata\":".utf8)]
        parts[0] += JSON.object(metadata).serialized() + Array(",\"items\":[".utf8)
        parts.reserveCapacity(items.count * 2 + 2)
        let comma = [UInt8(ascii: ",")]
        for (i, item) in items.enumerated() {
            if i > 0 { parts.append(comma) }
            parts.append(item)
        }
        parts.append(Array("]}".utf8))
        return APIResponse(status: 200, body: .parts(parts))
    }

    /// A list at a past revision, read from the store (continue tokens, resourceVersionMatch=Exact).
    func storeList(_ r: ResourceInfo, _ filter: ObjectFilter, at revision: Int64) async throws(APIError) -> ([CachedObject], Int64) {
        let result: (items: [KeyValue], revision: Int64)
        do {
            result = try await store.list(prefix: r.prefix(namespace: filter.namespace), atRevision: revision)
        } catch .compacted(let requested, let compacted) {
            throw APIError(code: 410, reason: "Expired",
                           message: "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list. (requested \(requested), compacted \(compacted))")
        } catch {
            throw error.apiError(r, name: "")
        }
        var items: [CachedObject] = []
        for kv in result.items {
            let object = try parseStored(kv.value)
            let cached = CachedObject(key: kv.key, bytes: kv.value, revision: kv.modRevision, object: object, resource: r)
            if filter.matches(cached) { items.append(cached) }
        }
        return (items, result.revision)
    }

    /// `{"kind":"PodList",...,"items":[...]}` assembled from the stored bytes, never re-encoded.
    func watchResources(_ r: ResourceInfo, _ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let filter = try self.filter(r, info, req)
        var after: Int64?
        if let rv = req.queryValue("resourceVersion"), !rv.isEmpty, rv != "0" {
            guard let n = Int64(rv) else { throw .badRequest("invalid resource version \"\(rv)\"") }
            await cache.wait(for: min(n, await store.currentRevision()))
            after = n
        } else if req.queryValue("resourceVersion") == nil || req.queryValue("resourceVersion") == "" {
            await consistentRead()
        }
        let timeout = req.queryValue("timeoutSeconds").flatMap(Int.init) ?? Int.random(in: defaultWatchTimeout)
        let accept = Accept(req.header("accept"), query: req)
        let bookmarks = req.queryValue("allowWatchBookmarks") == "true"
        let events: WatchQueue
        do {
            events = try await cache.watch(r, filter: filter, afterRevision: after)
        } catch {
            // Upstream answers an expired watch with 200 and a single ERROR event.
            let line = Array("{\"type\":\"ERROR\",\"object\":".utf8) + error.status.serialized() + Array("}\n".utf8)
            return APIResponse(status: 200, body: .stream { write in try await write(line) })
        }
        let cache = self.cache
        let metrics = self.metrics
        let contentType = accept.wantsTable ? Tables.contentType : "application/json"
        return APIResponse(status: 200, contentType: contentType, body: .stream { write in
            metrics.inflightWatches.increment()
            defer { metrics.inflightWatches.decrement() }
            try await Self.pumpWatch(events, to: write, resource: r, table: accept.wantsTable, includeObject: accept.includeObject,
                                     timeout: timeout, bookmarks: bookmarks, cache: cache)
        })
    }

    /// Copies events to the client until the timeout, the client leaving, or shutdown.
    static func pumpWatch(_ events: WatchQueue, to write: @escaping APIResponse.ChunkWriter, resource r: ResourceInfo,
                          table: Bool, includeObject: String, timeout: Int, bookmarks: Bool, cache: WatchCache) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
            }
            group.addTask {
                var first = true
                defer { events.close() }
                // Everything queued goes out in one write.
                while let batch = await events.next() {
                    var chunk: [UInt8] = []
                    for delivery in batch {
                        if table {
                            let t = Tables.single(r, stored: delivery.event.object.bytes, includeObject: includeObject, definitions: first)
                            first = false
                            chunk += CacheEvent.line(delivery.type, t)
                        } else if let c = r.conversion, let stored = try? JSON.parse(delivery.event.object.bytes) {
                            chunk += CacheEvent.line(delivery.type, c.fromStorage(stored).serialized())
                        } else if batch.count == 1 {
                            chunk = delivery.line
                        } else {
                            chunk += delivery.line
                        }
                    }
                    try await write(chunk)
                }
            }
            // Whichever ends first (timeout, shutdown, a failed write) ends the watch.
            defer { group.cancelAll() }
            try await group.next()
        }
        if bookmarks {
            // A final bookmark lets informers resume from the cache's revision.
            let rv = await cache.revision
            let bookmark: JSON = ["type": "BOOKMARK", "object": ["kind": .string(r.kind), "apiVersion": .string(r.apiVersion),
                                                                 "metadata": ["resourceVersion": .string(String(rv))]]]
            try await write(bookmark.serialized() + [0x0A])
        }
    }
}

/// The opaque `continue` token: the revision the first page was read at and the last key
/// returned, as upstream encodes it (base64 JSON).
struct ContinueToken {
    var revision: Int64
    var startAfter: String

    init(revision: Int64, startAfter: String) {
        self.revision = revision
        self.startAfter = startAfter
    }

    init(decoding token: String) throws(APIError) {
        guard let data = Data(base64Encoded: token), let json = try? JSON.parse(Array(data)),
              let rv = json["rv"]?.int64Value, let start = json["start"]?.stringValue
        else { throw .badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") }
        revision = rv
        startAfter = start
    }

    var encoded: String {
        let json: JSON = ["v": "meta.k8s.io/v1", "rv": .number(JSONNumber(revision)), "start": .string(startAfter)]
        return Data(json.serialized()).base64EncodedString()
    }
}
