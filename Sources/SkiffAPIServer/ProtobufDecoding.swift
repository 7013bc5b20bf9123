import SkiffAPI
import SkiffCore

/// Protobuf request bodies (kubectl 1.32+ `create` generators), decoded by the schema.
enum ProtobufDecoding {
    static func decode(_ bytes: [UInt8]) throws(APIError) -> JSON {
        try ProtobufDecoder.decode(bytes, schema: .builtIn)
    }
}
