import SkiffCore

/// The CRI container log format, one record a line:
/// `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n`, where P marks a piece of a
/// longer line that the following records continue and F its last piece (or a whole line).
public enum CRILogFormat {
    /// containerd's line buffer: longer lines are written as several P records.
    public static let maxRecordContent = 16 * 1024

    /// One parsed record; `content` excludes the trailing newline.
    public struct Record: Equatable, Sendable {
        public var time: Timestamp
        public var stream: String
        public var partial: Bool
        public var content: ArraySlice<UInt8>
    }

    /// The bytes of one record.
    static func record(time: Timestamp, stream: String, partial: Bool, content: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count + 48)
        out.append(contentsOf: time.rfc3339Nano.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: stream.utf8)
        out.append(contentsOf: partial ? " P ".utf8 : " F ".utf8)
        out.append(contentsOf: content)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Parses one line (without its newline); nil when it is not a CRI record.
    public static func parse(_ line: ArraySlice<UInt8>) -> Record? {
        let space = UInt8(ascii: " ")
        guard let s1 = line.firstIndex(of: space),
              let time = Timestamp(rfc3339: String(decoding: line[line.startIndex..<s1], as: UTF8.self)) else { return nil }
        let rest = line[(s1 + 1)...]
        guard let s2 = rest.firstIndex(of: space) else { return nil }
        let stream = String(decoding: rest[rest.startIndex..<s2], as: UTF8.self)
        guard stream == "stdout" || stream == "stderr" else { return nil }
        let tagStart = s2 + 1
        guard tagStart < line.endIndex else { return nil }
        // The tag field may carry more ':'-separated tags after P or F (the CRI allows it).
        let tagEnd = line[tagStart...].firstIndex(of: space) ?? line.endIndex
        let tag = line[tagStart..<tagEnd]
        guard let first = tag.first, first == UInt8(ascii: "P") || first == UInt8(ascii: "F") else { return nil }
        let contentStart = tagEnd < line.endIndex ? tagEnd + 1 : line.endIndex
        return Record(time: time, stream: stream, partial: first == UInt8(ascii: "P"), content: line[contentStart...])
    }
}
