import LavitModelFile
import LavitText

/// Plain-text report building without Foundation's `String(format:)`. Reports show tensor names,
/// labels and paths from files, so every line has its control characters escaped here: a name
/// cannot start a forged line or drive the terminal.
struct ReportWriter {
    private(set) var text = ""

    mutating func line(_ s: String = "") {
        text += escapedControls(s) + "\n"
    }

    /// Columns padded to `widths` (measured escaped); a negative width right-aligns (numbers).
    mutating func row(_ cells: [String], _ widths: [Int]) {
        var s = ""
        for (cell, width) in zip(cells.map(escapedControls), widths) {
            let pad = String(repeating: " ", count: max(0, abs(width) - cell.count))
            s += width < 0 ? pad + cell : cell + pad
            s += "  "
        }
        var trimmed = Substring(s)
        while trimmed.last == " " { trimmed.removeLast() }
        line(String(trimmed))
    }
}

enum Format {
    /// `x` with exactly `digits` decimals, rounded half away from zero.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        // Beyond 2^53 there are no decimals to show, and an Int conversion could trap.
        guard x.isFinite, abs(x) < 0x1p53 else { return "\(x)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        let whole = Int(scaled / scale)
        let frac = Int(scaled - Double(whole) * scale)
        let sign = x < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let fracText = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fracText.count) + fracText
    }

    /// 11.09 M, 1.51 G, 12.3 k: three significant-ish figures for counts.
    static func count(_ n: Int) -> String {
        let x = Double(n)
        switch abs(x) {
        case 1e9...: return fixed(x / 1e9, 2) + " G"
        case 1e6...: return fixed(x / 1e6, 2) + " M"
        case 1e3...: return fixed(x / 1e3, 1) + " k"
        default: return String(n)
        }
    }

    static func percent(_ ratio: Double) -> String {
        (ratio >= 0 ? "+" : "") + fixed(ratio * 100, 1) + "%"
    }
}
