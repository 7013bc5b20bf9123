/// The preset zlib dictionary for SPDY/3 header blocks (spec section 2.6.10.1).
///
/// Both peers prime their zlib streams with it, so a single wrong byte makes
/// every header block undecodable. The spec prints it as a 1423-byte array;
/// it is rebuilt here from its structure instead: common header names and
/// values, each preceded by a 32-bit big-endian length (the same layout as a
/// header block entry), followed by a run of unprefixed status codes, reason
/// phrases, dates and media types. `adler32` pins the result.
enum SPDYDictionary {
    /// Adler-32 of `bytes`: the DICTID in the zlib header of every SPDY/3
    /// header block, and what zlib reports in `adler` on Z_NEED_DICT.
    static let adler32: UInt32 = 0xE3C6_A7C2

    static let bytes: [UInt8] = {
        let prefixed = [
            "options", "head", "post", "put", "delete", "trace", "accept",
            "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
            "age", "allow", "authorization", "cache-control", "connection",
            "content-base", "content-encoding", "content-language", "content-length",
            "content-location", "content-md5", "content-range", "content-type",
            "date", "etag", "expect", "expires", "from", "host", "if-match",
            "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
            "last-modified", "location", "max-forwards", "pragma",
            "proxy-authenticate", "proxy-authorization", "range", "referer",
            "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
            "user-agent", "vary", "via", "warning", "www-authenticate", "method",
            "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
            "set-cookie", "keep-alive", "origin",
        ]
        let unprefixed = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
            + "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
            + "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
            + "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
            + "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
            + "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
        var bytes: [UInt8] = []
        for word in prefixed {
            bytes.appendUInt32(UInt32(word.utf8.count))
            bytes += word.utf8
        }
        bytes += unprefixed.utf8
        return bytes
    }()
}
