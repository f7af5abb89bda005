import Foundation
import OpsKit

exit(LiveRuntime.main(Array(CommandLine.arguments.dropFirst())))
