/// status.completedIndexes: sorted intervals written "1,3-5,7" — two neighbours as
/// "1,2", as upstream's orderedIntervals.String() writes them.
enum CompletedIndexes {
    static func parse(_ text: String?) -> Set<Int> {
        var set = Set<Int>()
        for part in (text ?? "").split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).compactMap { Int($0) }
            if bounds.count == 2, bounds[0] <= bounds[1] { set.formUnion(bounds[0]...bounds[1]) } else if let one = bounds.first { set.insert(one) }
        }
        return set
    }

    static func format(_ indexes: Set<Int>) -> String {
        var parts: [String] = []
        var runs: [(Int, Int)] = []
        for i in indexes.sorted() {
            if let last = runs.last, last.1 == i - 1 { runs[runs.count - 1].1 = i } else { runs.append((i, i)) }
        }
        for (first, last) in runs {
            switch last - first {
            case 0: parts.append("\(first)")
            case 1: parts.append("\(first),\(last)")
            default: parts.append("\(first)-\(last)")
            }
        }
        return parts.joined(separator: ",")
    }
}
