/// The Kubernetes version Skiff speaks, shared by the API server's /version and the
/// kubelet's nodeInfo so that both report the same release.
public enum KubernetesVersion {
    public static let major = "1"
    public static let minor = "33"
    public static let gitVersion = "v1.33.0+skiff"
}
