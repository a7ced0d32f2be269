/// State-dict key prefixes, in one place for the schema, the cost rows and the weight binding.
enum ParameterName {
    static func stage(_ m: Int) -> String { "stages.\(m)" }
    static func block(_ m: Int, _ i: Int) -> String { "stages.\(m).blocks.\(i)" }
}
