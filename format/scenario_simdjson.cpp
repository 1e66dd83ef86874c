// The fast path of parse_scenario: simdjson's DOM (Debian's libsimdjson) read by
// the same Reader as the reference (format/scenario_reader.hpp).
#include <simdjson.h>

#include "format/scenario_reader.hpp"

namespace pidlab::scenario::reader {
namespace {

// simdjson's DOM: the fast path. Members in document order, duplicates kept, so
// the Reader bails out on a duplicate key (the reference reports it).
// Integers: simdjson keeps non-negative values below 2^63 as int64; nlohmann
// calls every non-negative integer unsigned -- so does this adapter. (nlohmann's
// one signed non-negative integer, -0, is 0 either way: the Reader treats a
// signed and an unsigned 0 alike.) Numbers simdjson rejects (beyond 64 bits,
// beyond double) send the text to the reference path.
struct SimdDom {
    using Value = simdjson::dom::element;
    static constexpr bool kFast = true;

    [[gnu::always_inline]] static Kind kind(Value v) {
        using T = simdjson::dom::element_type;
        switch (v.type()) {
            case T::ARRAY: return Kind::Array;
            case T::OBJECT: return Kind::Object;
            case T::INT64: return v.get_int64().value_unsafe() < 0 ? Kind::Signed : Kind::Unsigned;
            case T::UINT64: return Kind::Unsigned;
            case T::DOUBLE: return Kind::Float;
            case T::STRING: return Kind::String;
            case T::BOOL: return Kind::Bool;
            case T::NULL_VALUE: return Kind::Null;
        }
        return Kind::Other;
    }
    static std::string_view str(Value v) { return v.get_string().value_unsafe(); }
    static bool boolean(Value v) { return v.get_bool().value_unsafe(); }
    static uint64_t uint(Value v) { return v.get_uint64().value_unsafe(); }
    static int64_t sint(Value v) { return v.get_int64().value_unsafe(); }
    // (Only ever called on an array or an object: the Reader checks first.)
    static simdjson::dom::array array(Value v) { return simdjson::dom::array(v.get_array().value_unsafe()); }
    static simdjson::dom::object object(Value v) { return simdjson::dom::object(v.get_object().value_unsafe()); }
    static size_t size(Value v) {
        return v.type() == simdjson::dom::element_type::ARRAY ? array(v).size() : object(v).size();
    }
    template <class F>
    static void elements(Value v, F&& f) {
        const auto arr = array(v);  // a copy: the result object is a temporary
        size_t i = 0;
        for (simdjson::dom::element e : arr) f(i++, e);
    }
    template <class F>
    static void members(Value v, F&& f) {
        const auto obj = object(v);
        for (auto kv : obj) f(kv.key, kv.value);
    }
    template <class F>
    static void sorted_members(Value obj, F&& f) {
        using Member = std::pair<std::string_view, Value>;
        Member small[16];
        std::vector<Member> big;
        size_t n = 0;
        members(obj, [&](std::string_view k, Value v) {
            if (n < std::size(small)) {
                small[n] = {k, v};
            } else {
                if (big.empty()) big.assign(std::begin(small), std::end(small));
                big.emplace_back(k, v);
            }
            ++n;
        });
        Member* m = big.empty() ? small : big.data();
        std::sort(m, m + n, [](const Member& a, const Member& b) { return a.first < b.first; });
        for (size_t j = 1; j < n; ++j)
            if (m[j - 1].first == m[j].first) throw FastPathBail{};  // a duplicate key: the reference reports it
        for (size_t j = 0; j < n; ++j) f(m[j].first, m[j].second);
    }
};

}  // namespace

// It only ever returns a scenario that the reference would return too: whenever
// simdjson rejects the text, or the Reader finds anything wrong (a duplicate key
// included), it returns nullopt, and the reference produces the exact error.
// A scenario that reads without error has had every value of the document
// visited, so there is no duplicate key it has not seen, and the format's shape
// bounds its depth far below kMaxDepth.
std::optional<Scenario> parse_fast(const std::string& text, const std::string& file) {
    // One parser per thread, reused: it keeps its buffers (the DOM lives in the
    // parser and is read before anything can parse again on this thread). A big
    // text gets a parser of its own, so that its buffers do not stay around.
    constexpr size_t kKeepBelow = 256 << 10;
    thread_local simdjson::dom::parser shared;
    std::optional<simdjson::dom::parser> own;
    auto& parser = text.size() < kKeepBelow ? shared : own.emplace();
    simdjson::dom::element root;
    // nlohmann::json skips a UTF-8 byte order mark at the start; simdjson does not.
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    auto err = std::string_view(text).starts_with(kBom)
                   ? parser.parse(text.data() + kBom.size(), text.size() - kBom.size(), true).get(root)
                   : parser.parse(text).get(root);
    if (err != simdjson::SUCCESS) return std::nullopt;
    try {
        return Reader<SimdDom>(file).scenario(root);
    } catch (const FastPathBail&) {
        return std::nullopt;
    }
}

}  // namespace pidlab::scenario::reader
