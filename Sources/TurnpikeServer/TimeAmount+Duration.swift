public import NIOCore

extension TimeAmount {
    /// A plugin's `Duration` as a timer's amount, bounded to a day (the value comes from config:
    /// an overflow must not trap) and never negative.
    public init(clamping duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(max(0, min(seconds, 86_400)) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
    }
}
