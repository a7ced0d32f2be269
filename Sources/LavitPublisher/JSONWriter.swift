/// JSON text into a caller-owned fixed buffer, allocating nothing, so the publisher can encode a
/// message per client per frame without touching the heap. Numbers are formatted here rather
/// than by `description` or Foundation's formatters, both of which allocate.
///
/// A message that does not fit sets `overflowed` and stops writing; the caller drops it whole.
public struct JSONWriter {
    public let buffer: UnsafeMutableRawBufferPointer
    public private(set) var count = 0
    public private(set) var overflowed = false

    public init(buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    /// The bytes written so far.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    public mutating func reset() {
        count = 0
        overflowed = false
    }

    @inline(__always)
    public mutating func byte(_ value: UInt8) {
        guard count < buffer.count else {
            overflowed = true
            return
        }
        buffer[count] = value
        count += 1
    }

    /// Literal JSON text: keys, punctuation, `true`.
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { for value in $0 { byte(value) } }
    }

    /// `value` as a quoted JSON string. Swift strings are valid UTF-8, so non-ASCII passes
    /// through as is; quotes, backslashes and control characters are escaped.
    public mutating func string(_ value: String) {
        byte(UInt8(ascii: "\""))
        for unit in value.utf8 { escaped(unit) }
        byte(UInt8(ascii: "\""))
    }

    /// Untrusted bytes (a client's command) as the inside of a JSON string, at most `limit` bytes:
    /// printable ASCII is kept, anything else becomes `?`, so invalid UTF-8 cannot make the JSON
    /// invalid.
    public mutating func sanitized<C: Collection<UInt8>>(_ value: C, limit: Int) {
        var written = 0
        for unit in value {
            if written == limit {
                raw("...")
                break
            }
            escaped(unit >= 0x20 && unit < 0x7F ? unit : UInt8(ascii: "?"))
            written += 1
        }
    }

    private mutating func escaped(_ unit: UInt8) {
        switch unit {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case UInt8(ascii: "\n"): raw("\\n")
        case UInt8(ascii: "\r"): raw("\\r")
        case UInt8(ascii: "\t"): raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        case 0..<0x20:
            raw("\\u00")
            byte(Self.hexDigit(unit >> 4))
            byte(Self.hexDigit(unit & 0xF))
        default: byte(unit)
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    public mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        unsigned(value.magnitude)
    }

    public mutating func unsigned(_ value: UInt64) { digits(value, minimumWidth: 1) }

    /// `value` in decimal, zero-padded on the left to `minimumWidth` digits.
    private mutating func digits(_ value: UInt64, minimumWidth: Int) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &scratch) { digits in
            var rest = value
            var n = 0
            repeat {
                digits[n] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                n += 1
            } while rest != 0
            while n < minimumWidth && n < digits.count {
                digits[n] = UInt8(ascii: "0")
                n += 1
            }
            while n > 0 {
                n -= 1
                byte(digits[n])
            }
        }
    }

    /// `value` with exactly `decimals` (0...9) digits after the point, rounded half away from
    /// zero. JSON has no NaN or infinity, and magnitudes past 2^53 lose the digits that matter;
    /// both are written as `null`.
    public mutating func fixed(_ value: Double, decimals: Int) {
        let decimals = min(max(decimals, 0), 9)
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * Double(scale)).rounded()
        guard value.isFinite, scaled < 9_007_199_254_740_992 else {
            raw("null")
            return
        }
        let units = UInt64(scaled)
        if value < 0 && units != 0 { byte(UInt8(ascii: "-")) }
        unsigned(units / scale)
        if decimals > 0 {
            byte(UInt8(ascii: "."))
            digits(units % scale, minimumWidth: decimals)
        }
    }

    /// Nanoseconds since 1970 as a quoted ISO 8601 UTC time with milliseconds,
    /// `"2026-12-01T21:50:18.123Z"`; times before 1970 round toward the earlier millisecond.
    public mutating func isoTime(wallNanoseconds: Int64) {
        var milliseconds = wallNanoseconds / 1_000_000
        if wallNanoseconds % 1_000_000 < 0 { milliseconds -= 1 }
        var days = milliseconds / 86_400_000
        var inDay = milliseconds % 86_400_000
        if inDay < 0 {
            inDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = Self.civil(daysSince1970: days)
        byte(UInt8(ascii: "\""))
        if year < 0 { byte(UInt8(ascii: "-")) }
        digits(year.magnitude, minimumWidth: 4)
        byte(UInt8(ascii: "-"))
        digits(UInt64(month), minimumWidth: 2)
        byte(UInt8(ascii: "-"))
        digits(UInt64(day), minimumWidth: 2)
        byte(UInt8(ascii: "T"))
        digits(UInt64(inDay / 3_600_000), minimumWidth: 2)
        byte(UInt8(ascii: ":"))
        digits(UInt64(inDay / 60_000 % 60), minimumWidth: 2)
        byte(UInt8(ascii: ":"))
        digits(UInt64(inDay / 1000 % 60), minimumWidth: 2)
        byte(UInt8(ascii: "."))
        digits(UInt64(inDay % 1000), minimumWidth: 3)
        raw("Z\"")
    }

    /// Howard Hinnant's civil_from_days: proleptic Gregorian (year, month, day) of a day count
    /// from 1970-01-01, exact over the whole Int64 nanosecond range.
    static func civil(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
