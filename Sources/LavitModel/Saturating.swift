/// Counting that stops at `Int.max` instead of trapping, so an absurd config can be measured and
/// then refused by `Config.validate()`. Valid configs stay far below the cap.
enum Saturating {
    static func product(_ factors: Int...) -> Int {
        factors.reduce(1) { acc, f in
            let (p, overflow) = acc.multipliedReportingOverflow(by: f)
            return overflow ? .max : p
        }
    }

    static func sum(_ terms: [Int]) -> Int {
        terms.reduce(0) { acc, t in
            let (s, overflow) = acc.addingReportingOverflow(t)
            return overflow ? .max : s
        }
    }

    static func sum(_ terms: Int...) -> Int { sum(terms) }
}
