/// Prefers nodes that already have the pod's images, by their size, scaled down for
/// images that few nodes have so pods do not all pile onto the one node that pulled an
/// image first.
struct ImageLocality: ScorePlugin {
    let name = "ImageLocality"
    let weight: Int64 = 1
    static let mb: Int64 = 1024 * 1024
    /// Below this an image pulls fast enough not to matter; above the per-container
    /// maximum, size no longer adds.
    static let minThreshold = 23 * mb
    static let maxContainerThreshold = 1000 * mb

    /// An image without a tag means ":latest" (a digest reference is left alone).
    static func normalized(_ image: String) -> String {
        let colon = image.lastIndex(of: ":").map { image.distance(from: image.startIndex, to: $0) } ?? -1
        let slash = image.lastIndex(of: "/").map { image.distance(from: image.startIndex, to: $0) } ?? -1
        return colon <= slash ? image + ":latest" : image
    }

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        let total = Double(max(1, state.snapshot.nodes.count))
        var sum: Int64 = 0
        for image in pod.images {
            guard let size = node.imageSizes[image] else { continue }
            let spread = Double(state.snapshot.imageNodes[image] ?? 0) / total
            sum += Int64(Double(size) * spread)
        }
        let maxThreshold = Self.maxContainerThreshold * Int64(max(1, pod.images.count))
        let clamped = min(max(sum, Self.minThreshold), maxThreshold)
        return 100 * (clamped - Self.minThreshold) / (maxThreshold - Self.minThreshold)
    }
}
