internal import Glibc

/// "Did you mean": the closest of a set of names to a misspelt one.
package enum Suggestion {
    /// The candidate nearest to `name` by edit distance, when it is close
    /// enough to be a likely typo (at most 2, or a third of the name up to 3).
    package static func closest(to name: String, among candidates: [String]) -> String? {
        let limit = max(2, min(3, name.count / 3))
        let scored = candidates.map { ($0, distance($0, name)) }.filter { $0.1 <= limit }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance over bytes.
    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
