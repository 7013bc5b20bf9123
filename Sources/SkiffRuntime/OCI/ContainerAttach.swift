import CSkiffSys
import Glibc

/// kubectl attach: the container's live output goes to the client, the client's input to
/// the container's stdin pipe or terminal, until the container's output ends (it exited)
/// or the client leaves (cancellation).
enum ContainerAttach {
    /// `input` is a descriptor of the container's stdin or terminal (-1: none), closed at
    /// the end; `terminal` the one to resize, when the container has a terminal.
    static func run(output: AsyncStream<(stream: String, bytes: [UInt8])>, input: Int32, terminal: Int32?, io: ExecIO) async throws {
        defer { if input >= 0 { close(input) } }
        if input >= 0 { _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK) }
        let feeding = Task {
            guard input >= 0, let stdin = io.stdin else { return }
            for await chunk in stdin { try await write(chunk, to: input) }
        }
        let resizing = Task {
            guard let terminal, let resizes = io.resizes else { return }
            for await size in resizes { _ = skiff_set_winsize(terminal, size.width, size.height) }
        }
        defer {
            feeding.cancel()
            resizing.cancel()
        }
        for await chunk in output {
            let sink = chunk.stream == "stderr" ? (io.stderr ?? io.stdout) : io.stdout
            try await sink?(chunk.bytes)
        }
    }

    /// Writes all of `bytes` to a non-blocking descriptor, waiting while it is full.
    static func write(_ bytes: [UInt8], to fd: Int32) async throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try await Task.sleep(for: .milliseconds(5))
            } else {
                throw RuntimeError("AttachError", "writing to the container: \(String(cString: strerror(errno)))")
            }
        }
    }
}
