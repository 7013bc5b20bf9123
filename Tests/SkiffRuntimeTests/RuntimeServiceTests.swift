import Testing
@testable import SkiffRuntime

@Suite struct RuntimeVersionTests {
    @Test func nodeInfoFormat() {
        #expect(RuntimeVersion(runtimeName: "crun", runtimeVersion: "1.8.1").containerRuntimeVersion == "crun://1.8.1")
    }
}
