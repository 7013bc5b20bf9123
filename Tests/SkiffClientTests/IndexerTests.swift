import SkiffAPI
import SkiffClient
import SkiffCore
import Testing

@Suite struct IndexerTests {
    @Test func keysFollowClientGo() {
        #expect(objectKey(["metadata": ["name": "p", "namespace": "ns"]]) == "ns/p")
        #expect(objectKey(["metadata": ["name": "node-1"]]) == "node-1")
        #expect(splitKey("ns/p") == ("ns", "p"))
        #expect(splitKey("node-1") == (nil, "node-1"))
    }
}
