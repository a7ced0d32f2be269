#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// What the daemon serves, as clients see it in `hello`.
public struct ModelInfo: Sendable, Equatable {
    public var name: String
    public var sha256: String
    public var labels: [String]
    public var inputWidth: Int
    public var inputHeight: Int
    public var inputChannels: Int

    public init(name: String, sha256: String, labels: [String], inputWidth: Int, inputHeight: Int, inputChannels: Int) {
        self.name = name
        self.sha256 = sha256
        self.labels = labels
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.inputChannels = inputChannels
    }
}

/// One inference's outcome. Filled by the frame thread into preallocated storage and reused
/// frame after frame, so publishing needs no allocation.
public struct Prediction: Sendable {
    public var sequence: UInt64 = 0
    public var monotonicNanoseconds: UInt64 = 0
    /// Nanoseconds since 1970 (CLOCK_REALTIME), for the `time` field.
    public var wallNanoseconds: Int64 = 0
    /// How many leading entries of `labelIndices` and `scores` are valid, best first.
    public var topCount = 0
    /// Indices into the model's labels; `maxTopK` long, reused.
    public var labelIndices: [Int]
    /// Probabilities 0...1, aligned with `labelIndices`; `maxTopK` long, reused.
    public var scores: [Double]
    public var grabNanoseconds: UInt64 = 0
    public var decodeNanoseconds: UInt64 = 0
    public var inferNanoseconds: UInt64 = 0
    /// Frames the camera delivered that were not inferred, since the previous prediction.
    public var skipped = 0
    /// The image file classified, when the source is files (clients and tests can then check each
    /// result against its file); nil for a camera. Paths longer than `maxFileBytes` are not sent.
    public var file: String?

    /// PATH_MAX: the longest `file` a result carries.
    public static let maxFileBytes = 4096

    /// Preallocates room for `maxTopK` labels.
    public init(maxTopK: Int) {
        labelIndices = [Int](repeating: 0, count: max(maxTopK, 0))
        scores = [Double](repeating: 0, count: max(maxTopK, 0))
    }

    /// Copies `other` into this prediction's existing storage, element by element: assigning the
    /// arrays instead would share their buffers, and the next write to either would allocate.
    /// Copies at most this prediction's capacity.
    mutating func copy(from other: Prediction) {
        sequence = other.sequence
        monotonicNanoseconds = other.monotonicNanoseconds
        wallNanoseconds = other.wallNanoseconds
        grabNanoseconds = other.grabNanoseconds
        decodeNanoseconds = other.decodeNanoseconds
        inferNanoseconds = other.inferNanoseconds
        skipped = other.skipped
        file = other.file
        let count = min(other.validCount, labelIndices.count, scores.count)
        for i in 0..<count {
            labelIndices[i] = other.labelIndices[i]
            scores[i] = other.scores[i]
        }
        topCount = count
    }

    /// `topCount` clamped to the storage actually there, so a mistaken count cannot read past it.
    var validCount: Int { max(0, min(topCount, labelIndices.count, scores.count)) }
}

/// The daemon's health, sent as `status`.
public struct StatusSnapshot: Sendable, Equatable {
    public var device: String
    public var online: Bool
    /// Why it is offline ("no device", "stopping"), or what it is doing ("streaming").
    public var reason: String
    public var fps: Double
    public var frames: UInt64
    public var skipped: UInt64
    public var corrupt: UInt64
    public var reopens: UInt64
    public var latencyP50Milliseconds: Double
    public var latencyP90Milliseconds: Double
    public var latencyP99Milliseconds: Double
    /// Connected clients; the publisher fills this in as it sends.
    public var clients: Int
    /// Why the last reload failed, while the old model keeps serving; empty otherwise.
    public var reloadError: String = ""

    public init(
        device: String, online: Bool, reason: String, fps: Double = 0, frames: UInt64 = 0, skipped: UInt64 = 0,
        corrupt: UInt64 = 0, reopens: UInt64 = 0, latencyP50Milliseconds: Double = 0, latencyP90Milliseconds: Double = 0,
        latencyP99Milliseconds: Double = 0, clients: Int = 0, reloadError: String = ""
    ) {
        self.reloadError = reloadError
        self.device = device
        self.online = online
        self.reason = reason
        self.fps = fps
        self.frames = frames
        self.skipped = skipped
        self.corrupt = corrupt
        self.reopens = reopens
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP90Milliseconds = latencyP90Milliseconds
        self.latencyP99Milliseconds = latencyP99Milliseconds
        self.clients = clients
    }
}

/// Bounds that keep any number of slow or hostile clients from costing the daemon more than a
/// fixed amount of memory and time.
public struct PublisherLimits: Sendable {
    public var maxClients: Int
    /// Each client's outgoing ring, allocated once at accept.
    public var queueBytesPerClient: Int
    /// A client that has lost messages to a full ring and read nothing for this long is detached.
    public var stallTimeoutSeconds: Double
    /// Longest command line a client may send; longer lines get an error and are discarded.
    public var maxLineBytes: Int
    /// Most labels per result: the size of `Prediction`'s storage and the ceiling of `?top=K`.
    public var maxTopK: Int
    /// Labels per result for a client that has not sent `?top=K`; at most `maxTopK`.
    public var defaultTopK: Int
    /// Results the frame thread may get ahead of the publishing thread before the oldest are
    /// overwritten (and counted as dropped for every client).
    public var pendingResults: Int

    public init(
        maxClients: Int = 128, queueBytesPerClient: Int = 64 * 1024, stallTimeoutSeconds: Double = 5, maxLineBytes: Int = 256,
        maxTopK: Int = 5, defaultTopK: Int? = nil, pendingResults: Int = 64
    ) {
        self.defaultTopK = defaultTopK ?? maxTopK
        self.maxClients = maxClients
        self.queueBytesPerClient = queueBytesPerClient
        self.stallTimeoutSeconds = stallTimeoutSeconds
        self.maxLineBytes = maxLineBytes
        self.maxTopK = maxTopK
        self.pendingResults = pendingResults
    }
}

/// Why the publisher could not start listening; each reads as one line naming the socket.
public enum PublisherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process accepts connections on the path: most likely a second lavitd.
    case socketInUse(path: String)
    /// Something that is not a socket sits at the path; lavit removes only stale sockets.
    case notASocket(path: String)
    case system(path: String, Errno)

    public var description: String {
        switch self {
        case let .socketInUse(path): "\(path) is in use by a running lavitd (another process accepts connections there)"
        case let .notASocket(path): "\(path) exists and is not a socket; refusing to replace it"
        case let .system(path, errno): "cannot listen on \(path): \(errno.description)"
        }
    }
}
