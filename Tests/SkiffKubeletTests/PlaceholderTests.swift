import Testing
@testable import SkiffKubelet
