import RNNFormat

/// Edits of a metadata JSON value along a path, for building metadata that breaks one rule.
enum JSONPath {
    case key(String)
    case index(Int)
}

extension JSONValue {
    /// Sets (or, with `nil`, removes) the value at `path`; missing object members are appended.
    mutating func set(_ path: [JSONPath], _ newValue: JSONValue?) {
        guard let first = path.first else {
            if let newValue { self = newValue }
            return
        }
        let rest = Array(path.dropFirst())
        switch (self, first) {
        case (.object(var members), .key(let k)):
            if let i = members.firstIndex(where: { $0.0 == k }) {
                if rest.isEmpty && newValue == nil {
                    members.remove(at: i)
                } else {
                    members[i].1.set(rest, newValue)
                }
            } else if rest.isEmpty, let newValue {
                members.append((k, newValue))
            }
            self = .object(members)
        case (.array(var items), .index(let i)) where items.indices.contains(i):
            if rest.isEmpty && newValue == nil {
                items.remove(at: i)
            } else {
                items[i].set(rest, newValue)
            }
            self = .array(items)
        default:
            break
        }
    }
}
