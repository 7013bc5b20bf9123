import Testing
@testable import SkiffAPI
import SkiffCore
