import Testing
import SkiffCore
@testable import SkiffAPI

/// Pod- and Deployment-shaped types with the patch strategies of the real ones: containers
/// merged by name, ports by containerPort, finalizers as a merged primitive list, volumes
/// with retainKeys, tolerations replaced, a retainKeys deployment strategy.
private let patchTestSchemaText = """
    package meta/v1
    type ListMeta
      resourceVersion string 2
    type ObjectMeta
      name string 1
      namespace string 3
      labels map[string]string 11
      annotations map[string]string 12
      ownerReferences []OwnerReference 13 merge=uid map=uid
      finalizers []string 14 merge set
    type OwnerReference
      apiVersion string 5
      kind string 1
      name string 3
      uid string 4
    type LabelSelector atomic
      matchLabels map[string]string 1

    package core/v1
    type Pod object
      metadata meta/v1.ObjectMeta 1
      spec PodSpec 2
    type PodTemplateSpec
      metadata meta/v1.ObjectMeta 1
      spec PodSpec 2
    type PodSpec
      volumes []Volume 1 merge=name retainKeys map=name
      containers []Container 2 merge=name map=name
      nodeSelector map[string]string 7
      imagePullSecrets []LocalObjectReference 15 merge=name
      affinity Affinity 18
      initContainers []Container 20 merge=name map=name
      tolerations []Toleration 22 atomic
    type Container
      name string 1
      image string 2
      command []string 3 atomic
      ports []ContainerPort 6 merge=containerPort map=containerPort,protocol
      env []EnvVar 7 merge=name map=name
      resources ResourceRequirements 8
    type ContainerPort
      name string 1
      containerPort int32 3
      protocol string 4
    type EnvVar
      name string 1
      value string 2
    type ResourceRequirements
      limits map[string]Quantity 1
      requests map[string]Quantity 2
    type Volume
      name string 1
      emptyDir EmptyDirVolumeSource 2
      secret SecretVolumeSource 6
      configMap ConfigMapVolumeSource 19
    type EmptyDirVolumeSource
      medium string 1
    type SecretVolumeSource
      secretName string 1
    type ConfigMapVolumeSource
      name string 1
      defaultMode int32 3
    type LocalObjectReference
      name string 1
    type Toleration
      key string 1
      operator string 2
      effect string 4
    type Affinity
      nodeAffinity NodeAffinity 1
    type NodeAffinity
      preferred []string 2

    package apps/v1
    type Deployment object
      metadata meta/v1.ObjectMeta 1
      spec DeploymentSpec 2
      status DeploymentStatus 3
    type DeploymentSpec
      replicas int32 1
      selector meta/v1.LabelSelector 2
      template core/v1.PodTemplateSpec 3
      strategy DeploymentStrategy 4 retainKeys
    type DeploymentStrategy
      type string 1
      rollingUpdate RollingUpdateDeployment 2
    type RollingUpdateDeployment
      maxUnavailable IntOrString 1
      maxSurge IntOrString 2
    type DeploymentStatus
      replicas int32 2
      conditions []DeploymentCondition 6 merge=type map=type
    type DeploymentCondition
      type string 1
      status string 2
    type ControllerRevision object
      metadata meta/v1.ObjectMeta 1
      data any 2
      revision int64 3

    package x/v1
    type Widget object
      parts map[string]Part 1
      matrix [][]string 2 merge
    type Part
      size int32 1
    """

/// One strategic merge patch that applies: the type, original, patch and expected object.
struct SMPCase: Sendable, CustomTestStringConvertible {
    let name: String
    let type: String
    let original: String
    let patch: String
    let expected: String
    var testDescription: String { name }

    init(_ name: String, _ type: String, _ original: String, _ patch: String, _ expected: String) {
        self.name = name
        self.type = type
        self.original = original
        self.patch = patch
        self.expected = expected
    }
}

/// One strategic merge patch kube-apiserver refuses, with the status it answers.
struct SMPFailureCase: Sendable, CustomTestStringConvertible {
    let name: String
    let type: String
    let original: String
    let patch: String
    let code: Int
    let reason: String
    let message: String
    var testDescription: String { name }

    init(_ name: String, type: String = "core/v1.Pod", _ original: String, _ patch: String, _ code: Int, _ reason: String, _ message: String) {
        self.name = name
        self.type = type
        self.original = original
        self.patch = patch
        self.code = code
        self.reason = reason
        self.message = message
    }
}

private let deployment = "apps/v1.Deployment"
private let pod = "core/v1.Pod"
private let twoContainers = #"{"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#
private let podWithFinalizers = #"{"metadata":{"name":"web","finalizers":["a","b","c"]}}"#
/// What upstream answers for errors it does not classify: a Go error, no reason, 500.
private let unclassified = ""

@Suite struct StrategicMergePatchTests {
    static func schema() throws -> APISchema { try APISchema(sources: [patchTestSchemaText]) }

    static let cases: [SMPCase] = [
        // What kubectl sends.
        .init("kubectl apply changes an image", deployment,
              #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"old"}},"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"nginx:1.25","ports":[{"containerPort":80,"protocol":"TCP"}]}]}}}}"#,
              #"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"new"}},"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"main"}],"containers":[{"image":"nginx:1.27","name":"main"}]}}}}"#,
              #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"new"}},"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"nginx:1.27","ports":[{"containerPort":80,"protocol":"TCP"}]}]}}}}"#),
        .init("kubectl rollout restart annotates the template", deployment,
              #"{"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main"}]}}}}"#,
              #"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"}}}}}"#,
              #"{"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"web"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"}},"spec":{"containers":[{"name":"main"}]}}}}"#),
        .init("kubectl set image on the first container", pod, twoContainers,
              #"{"spec":{"containers":[{"image":"nginx:1.27","name":"main"}]}}"#,
              #"{"spec":{"containers":[{"name":"main","image":"nginx:1.27"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl set image on the second container keeps the order", pod, twoContainers,
              #"{"spec":{"containers":[{"image":"busybox:2","name":"side"}]}}"#,
              #"{"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox:2"}]}}"#),
        .init("kubectl patch adds a container in front of the others", pod, twoContainers,
              #"{"spec":{"containers":[{"name":"proxy","image":"envoy"}]}}"#,
              #"{"spec":{"containers":[{"name":"proxy","image":"envoy"},{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl label removes a label with null", pod,
              #"{"metadata":{"name":"web","labels":{"app":"web","tier":"fe"}}}"#,
              #"{"metadata":{"labels":{"tier":null}}}"#,
              #"{"metadata":{"name":"web","labels":{"app":"web"}}}"#),
        .init("$patch: delete removes a container", pod, twoContainers,
              #"{"spec":{"containers":[{"$patch":"delete","name":"side"}]}}"#,
              #"{"spec":{"containers":[{"name":"main","image":"nginx:1.25"}]}}"#),
        .init("$patch: delete of a missing container changes nothing", pod, twoContainers,
              #"{"spec":{"containers":[{"$patch":"delete","name":"nope"}]}}"#, twoContainers),
        .init("$deleteFromPrimitiveList removes a finalizer", pod, podWithFinalizers,
              #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zz"]}}"#,
              #"{"metadata":{"name":"web","finalizers":["a","c"]}}"#),
        .init("kubectl apply removes a finalizer", pod, podWithFinalizers,
              #"{"metadata":{"$setElementOrder/finalizers":["a","c"],"$deleteFromPrimitiveList/finalizers":["b"]}}"#,
              #"{"metadata":{"name":"web","finalizers":["a","c"]}}"#),
        .init("kubectl apply reorders finalizers", pod, podWithFinalizers,
              #"{"metadata":{"$setElementOrder/finalizers":["c","a","b"]}}"#,
              #"{"metadata":{"name":"web","finalizers":["c","a","b"]}}"#),
        .init("finalizers merge as an ordered set, patch elements first", pod, podWithFinalizers,
              #"{"metadata":{"finalizers":["d","a"]}}"#,
              #"{"metadata":{"name":"web","finalizers":["d","a","b","c"]}}"#),
        .init("a finalizer added to none", pod, #"{"metadata":{"name":"web"}}"#,
              #"{"metadata":{"finalizers":["x"]}}"#, #"{"metadata":{"name":"web","finalizers":["x"]}}"#),
        .init("$deleteFromPrimitiveList with null drops the whole list", pod, podWithFinalizers,
              #"{"metadata":{"$deleteFromPrimitiveList/finalizers":null}}"#, #"{"metadata":{"name":"web"}}"#),
        .init("$deleteFromPrimitiveList on a missing list adds nothing", pod, #"{"metadata":{"name":"web"}}"#,
              #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#, #"{"metadata":{"name":"web"}}"#),
        .init("ports merge by containerPort, new ones first", pod,
              #"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":80,"protocol":"TCP"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":443,"protocol":"TCP"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":443,"protocol":"TCP"},{"containerPort":80,"protocol":"TCP"}]}]}}"#),
        .init("kubectl apply adds a port after the existing one", pod,
              #"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":80,"protocol":"TCP"}]}]}}"#,
              #"{"spec":{"$setElementOrder/containers":[{"name":"main"}],"containers":[{"$setElementOrder/ports":[{"containerPort":80},{"containerPort":443}],"name":"main","ports":[{"containerPort":443,"name":"https"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"name":"https"}]}]}}"#),
        .init("env merges by name", pod,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"B","value":"3"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"A","value":"1"},{"name":"B","value":"3"}]}]}}"#),
        .init("env var value cleared with null", pod,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"A","value":"1"}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"A","value":null}]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","env":[{"name":"A"}]}]}}"#),
        .init("tolerations are replaced whole", pod,
              #"{"spec":{"tolerations":[{"key":"k1","operator":"Exists"},{"key":"k2","operator":"Exists"}]}}"#,
              #"{"spec":{"tolerations":[{"key":"k3","operator":"Exists","effect":null}]}}"#,
              #"{"spec":{"tolerations":[{"key":"k3","operator":"Exists","effect":null}]}}"#),
        .init("atomic command lists are replaced whole", pod,
              #"{"spec":{"containers":[{"name":"main","command":["sh","-c","a"]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","command":["b"]}]}}"#,
              #"{"spec":{"containers":[{"name":"main","command":["b"]}]}}"#),
        .init("kubectl apply switches a volume source with $retainKeys", pod,
              #"{"spec":{"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}]}}"#,
              #"{"spec":{"$setElementOrder/volumes":[{"name":"data"},{"name":"cfg"}],"volumes":[{"$retainKeys":["name","secret"],"emptyDir":null,"name":"data","secret":{"secretName":"s"}}]}}"#,
              #"{"spec":{"volumes":[{"name":"data","secret":{"secretName":"s"}},{"name":"cfg","configMap":{"name":"c"}}]}}"#),
        .init("kubectl apply switches the deployment strategy with $retainKeys", deployment,
              #"{"spec":{"replicas":1,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}}}}"#,
              #"{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"}}}"#,
              #"{"spec":{"replicas":1,"strategy":{"type":"Recreate"}}}"#),
        .init("$retainKeys keeps listed fields the patch leaves alone", deployment,
              #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#,
              #"{"spec":{"strategy":{"$retainKeys":["type","rollingUpdate"],"type":"RollingUpdate"}}}"#,
              #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#),
        .init("kubectl apply adds a container after the existing one", pod,
              #"{"spec":{"containers":[{"name":"main","image":"nginx"}]}}"#,
              #"{"spec":{"$setElementOrder/containers":[{"name":"main"},{"name":"side"}],"containers":[{"image":"busybox","name":"side"}]}}"#,
              #"{"spec":{"containers":[{"name":"main","image":"nginx"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl apply moves a container", pod, twoContainers,
              #"{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"main"}]}}"#,
              #"{"spec":{"containers":[{"name":"side","image":"busybox"},{"name":"main","image":"nginx:1.25"}]}}"#),
        // Upstream's deletion shifts the live list in place, so the injected container "x"
        // lands before the added "c" rather than after it.
        .init("kubectl apply replaces a container while a server-only one exists", pod,
              #"{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"x","image":"injected"}]}}"#,
              #"{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"c"}],"containers":[{"image":"c","name":"c"},{"$patch":"delete","name":"b"}]}}"#,
              #"{"spec":{"containers":[{"name":"a"},{"name":"x","image":"injected"},{"name":"c","image":"c"}]}}"#),
        .init("kubectl apply creates a list the object lacks", pod, #"{"spec":{}}"#,
              #"{"spec":{"$setElementOrder/initContainers":[{"name":"init"}],"initContainers":[{"name":"init","image":"busybox","$patch":"delete"},{"name":"init","image":"busybox"}]}}"#,
              #"{"spec":{"initContainers":[{"name":"init","image":"busybox"}]}}"#),
        .init("$patch: replace replaces a map", deployment,
              #"{"spec":{"template":{"metadata":{"labels":{"app":"web","tier":"fe"}}}}}"#,
              #"{"spec":{"template":{"metadata":{"labels":{"$patch":"replace","app":"v2"}}}}}"#,
              #"{"spec":{"template":{"metadata":{"labels":{"app":"v2"}}}}}"#),
        .init("$patch: replace replaces a merged list", pod, twoContainers,
              #"{"spec":{"containers":[{"$patch":"replace"},{"name":"only","image":"x"}]}}"#,
              #"{"spec":{"containers":[{"name":"only","image":"x"}]}}"#),
        .init("$patch: delete empties a map that exists", pod,
              #"{"spec":{"affinity":{"nodeAffinity":{"preferred":["a"]}}}}"#,
              #"{"spec":{"affinity":{"$patch":"delete"}}}"#,
              #"{"spec":{"affinity":{}}}"#),
        .init("$patch: delete on a missing map adds nothing", pod, #"{"spec":{}}"#,
              #"{"spec":{"affinity":{"$patch":"delete"}}}"#, #"{"spec":{}}"#),
        .init("new maps lose their nulls", pod, #"{"spec":{}}"#,
              #"{"spec":{"nodeSelector":{"disk":"ssd","zone":null}}}"#,
              #"{"spec":{"nodeSelector":{"disk":"ssd"}}}"#),
        .init("new lists lose nulls inside their maps, not null elements", pod, #"{"spec":{}}"#,
              #"{"spec":{"x":[{"a":null,"b":1},null]}}"#,
              #"{"spec":{"x":[{"b":1},null]}}"#),
        .init("appended list elements keep their nulls", pod, twoContainers,
              #"{"spec":{"containers":[{"name":"new","image":null}]}}"#,
              #"{"spec":{"containers":[{"name":"new","image":null},{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#),
        .init("a value of another type replaces the original", pod, twoContainers,
              #"{"spec":{"containers":{"name":"odd","gone":null}}}"#,
              #"{"spec":{"containers":{"name":"odd"}}}"#),
        .init("an integer replaces a float", deployment, #"{"spec":{"replicas":1.5}}"#,
              #"{"spec":{"replicas":2}}"#, #"{"spec":{"replicas":2}}"#),
        .init("owner references merge by uid", pod,
              #"{"metadata":{"ownerReferences":[{"uid":"1","kind":"ReplicaSet","name":"rs"}]}}"#,
              #"{"metadata":{"ownerReferences":[{"uid":"1","name":"rs2"},{"uid":"2","kind":"Job","name":"j"}]}}"#,
              #"{"metadata":{"ownerReferences":[{"uid":"1","kind":"ReplicaSet","name":"rs2"},{"uid":"2","kind":"Job","name":"j"}]}}"#),
        .init("status conditions merge by type", deployment,
              #"{"status":{"replicas":1,"conditions":[{"type":"Available","status":"False"},{"type":"Progressing","status":"True"}]}}"#,
              #"{"status":{"conditions":[{"type":"Available","status":"True"}]}}"#,
              #"{"status":{"replicas":1,"conditions":[{"type":"Available","status":"True"},{"type":"Progressing","status":"True"}]}}"#),
        .init("fields unknown to the schema merge as plain maps", pod,
              #"{"spec":{"future":{"a":{"c":2},"l":[1,2]}}}"#,
              #"{"spec":{"future":{"a":{"b":1},"l":[3]}}}"#,
              #"{"spec":{"future":{"a":{"c":2,"b":1},"l":[3]}}}"#),
        .init("any fields merge as plain maps", "apps/v1.ControllerRevision",
              #"{"data":{"spec":{"template":{"a":1}},"list":[1]},"revision":1}"#,
              #"{"data":{"spec":{"template":{"b":2}},"list":[2]},"revision":2}"#,
              #"{"data":{"spec":{"template":{"a":1,"b":2}},"list":[2]},"revision":2}"#),
        .init("map entries of structs merge when they are scalars", "x/v1.Widget",
              #"{"parts":{"a":{"size":1},"b":{"size":2}}}"#,
              #"{"parts":{"b":null,"c":{"size":3}}}"#,
              #"{"parts":{"a":{"size":1},"c":{"size":3}}}"#),
        .init("an empty patch changes nothing", pod, twoContainers, "{}", twoContainers),
        .init("a null patch changes nothing", pod, twoContainers, "null", twoContainers),
        .init("unknown $ keys are kept as fields", pod, #"{"spec":{}}"#,
              #"{"spec":{"$foo":1}}"#, #"{"spec":{"$foo":1}}"#),
        .init("$patch: replace at the top replaces everything", pod, twoContainers,
              #"{"$patch":"replace","kind":"Pod"}"#, #"{"kind":"Pod"}"#),
    ]

    @Test(arguments: cases)
    func applies(_ testCase: SMPCase) throws {
        let result = try StrategicMergePatch.apply(
            try JSON.parse(testCase.patch), to: try JSON.parse(testCase.original), type: testCase.type, schema: try Self.schema())
        #expect(result == (try JSON.parse(testCase.expected)), "got \(result.serializedString())")
    }

    static let failures: [SMPFailureCase] = [
        .init("a container without its merge key", twoContainers, #"{"spec":{"containers":[{"image":"nginx"}]}}"#,
              500, unclassified, "map: map[image:nginx] does not contain declared merge key: name"),
        .init("a live list element without the merge key (kubernetes#98963)", #"{"spec":{"imagePullSecrets":[{}]}}"#,
              #"{"spec":{"imagePullSecrets":[{"name":"regcred"}]}}"#,
              500, unclassified, "map: map[] does not contain declared merge key: name"),
        .init("$patch: delete without the merge key", twoContainers, #"{"spec":{"containers":[{"$patch":"delete"}]}}"#,
              500, unclassified, "map: map[$patch:delete] does not contain declared merge key: name"),
        .init("$patch: merge in a list", twoContainers, #"{"spec":{"containers":[{"$patch":"merge","name":"main"}]}}"#,
              500, unclassified, "merging lists cannot yet be specified in the patch"),
        .init("an unknown $patch in a list", twoContainers, #"{"spec":{"containers":[{"$patch":1,"name":"main"}]}}"#,
              500, unclassified, "unknown patch type: %!s(int64=1) in map: map[$patch:1 name:main]"),
        .init("an unknown $patch in a map", #"{"metadata":{"labels":{"app":"web"}}}"#,
              #"{"metadata":{"labels":{"$patch":"foo","app":"x"}}}"#,
              500, unclassified, "unknown patch type: foo in map: map[$patch:foo app:x]"),
        .init("$patch: merge in a map", #"{"metadata":{"labels":{"app":"web"}}}"#, #"{"metadata":{"labels":{"$patch":"merge"}}}"#,
              500, unclassified, "unknown patch type: merge in map: map[$patch:merge]"),
        .init("$retainKeys that is not a list", type: deployment, #"{"spec":{"strategy":{"type":"A"}}}"#,
              #"{"spec":{"strategy":{"$retainKeys":"type","type":"B"}}}"#, 400, "BadRequest", "invalid patch format of retainKeys"),
        .init("$retainKeys missing a patched field", type: deployment, #"{"spec":{"strategy":{"type":"A"}}}"#,
              #"{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{"maxSurge":1},"type":"B"}}}"#,
              400, "BadRequest", "invalid patch format of retainKeys"),
        .init("$retainKeys with a map in it", type: deployment, #"{"spec":{"strategy":{"type":"A"}}}"#,
              #"{"spec":{"strategy":{"$retainKeys":[{"type":1}]}}}"#,
              500, "InternalError", "This request caused apiserver to panic. Look in the logs for details."),
        .init("$setElementOrder that is not a list", twoContainers, #"{"spec":{"$setElementOrder/containers":"main"}}"#,
              500, unclassified, "expected a []interface {}, but received a string"),
        .init("$setElementOrder without a slash", twoContainers, #"{"spec":{"$setElementOrdercontainers":[]}}"#,
              400, "BadRequest", "invalid patch format of setElementOrder list"),
        .init("$setElementOrder over a list the patch sends out of order", twoContainers,
              #"{"spec":{"$setElementOrder/containers":[{"name":"main"},{"name":"side"}],"containers":[{"name":"side","image":"b"},{"name":"main","image":"a"}]}}"#,
              500, unclassified,
              "The order in patch list:\n[map[image:b name:side] map[image:a name:main]]\n doesn't match $setElementOrder list:\n[map[name:main] map[name:side]]\n"),
        .init("$setElementOrder naming a map field", #"{"spec":{}}"#, #"{"spec":{"$setElementOrder/nodeSelector":[]}}"#,
              500, unclassified, "expected slice or array type, but got: struct"),
        .init("$setElementOrder of an empty list", #"{"metadata":{"finalizers":[]}}"#,
              #"{"metadata":{"$setElementOrder/finalizers":["a"]}}"#, 500, unclassified, "no elements in any of the given slices"),
        .init("$deleteFromPrimitiveList without a slash", podWithFinalizers,
              #"{"metadata":{"$deleteFromPrimitiveListfinalizers":["a"]}}"#, 400, "BadRequest", "invalid patch format of primitive list"),
        .init("a list of lists", #"{"metadata":{"finalizers":[]}}"#, #"{"metadata":{"finalizers":[["a"]]}}"#,
              422, "Invalid", "the server rejected our request due to an error in our request"),
        .init("mixed element types", #"{"metadata":{"finalizers":["a"]}}"#, #"{"metadata":{"finalizers":[1,2.5]}}"#,
              500, unclassified, "list element types are not identical: [[a] [1 2.5]]"),
        .init("a null element after others", #"{"metadata":{"finalizers":["a"]}}"#, #"{"metadata":{"finalizers":[null]}}"#,
              500, unclassified, "list element types are not identical: [[a] [<nil>]]"),
        .init("a null element first", #"{"metadata":{"finalizers":[]}}"#, #"{"metadata":{"finalizers":[null]}}"#,
              500, "InternalError", "This request caused apiserver to panic. Look in the logs for details."),
        .init("merging inside an entry of a map of structs", type: "x/v1.Widget", #"{"parts":{"a":{"size":1}}}"#,
              #"{"parts":{"a":{"size":2}}}"#, 500, unclassified, "merging an object in json but data type is not struct, instead is: map"),
        .init("a merged list of lists in the schema", type: "x/v1.Widget", #"{"matrix":[["a"]]}"#,
              #"{"matrix":[["b"]]}"#, 500, unclassified, "unexpected slice of slice"),
        .init("a patch that is a list", twoContainers, "[]", 400, "BadRequest",
              "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        .init("a patch that is a string", twoContainers, #""x""#, 400, "BadRequest",
              "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        .init("a type without a schema", type: "example.com/v1.Custom", "{}", "{}", 400, "BadRequest",
              "strategic merge patch format is not supported"),
    ]

    @Test(arguments: failures)
    func failsAsUpstream(_ testCase: SMPFailureCase) throws {
        let patch = try JSON.parse(testCase.patch)
        let original = try JSON.parse(testCase.original)
        #expect(throws: APIError(code: testCase.code, reason: testCase.reason, message: testCase.message)) {
            try StrategicMergePatch.apply(patch, to: original, type: testCase.type, schema: try Self.schema())
        }
    }

    @Test func keepsKeyOrderAndAppendsNewKeys() throws {
        let original = try JSON.parse(#"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"1"}},"spec":{"containers":[{"name":"m","image":"i"}]}}"#)
        let patch = try JSON.parse(#"{"status":{},"spec":{"containers":[{"name":"m","args":["a"],"image":"j"}]},"metadata":{"labels":{"y":"2"},"annotations":{}}}"#)
        let result = try StrategicMergePatch.apply(patch, to: original, type: pod, schema: try Self.schema())
        #expect(result.serializedString()
            == #"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"1","y":"2"},"annotations":{}},"spec":{"containers":[{"name":"m","image":"j","args":["a"]}]},"status":{}}"#)
    }

    /// Upstream's messages print values with Go's fmt: sorted map keys, `<nil>`, %g floats.
    @Test(arguments: [
        (#"{"b":[1,2.5,"x",null,true],"a":{}}"#, "map[a:map[] b:[1 2.5 x <nil> true]]"),
        ("1000000.0", "1e+06"), ("123456.0", "123456"), ("0.00001", "1e-05"), ("0.0001", "0.0001"),
        ("1.5e300", "1.5e+300"), ("-2.5", "-2.5"), ("1e21", "1e+21"), ("12345678901234567890", "1.2345678901234567e+19"),
        (#"{"Z":1,"a":2,"$p":3}"#, "map[$p:3 Z:1 a:2]"),
    ])
    func formatsLikeGo(_ text: String, _ expected: String) throws {
        #expect(GoValue.format(try JSON.parse(text)) == expected)
    }
}
