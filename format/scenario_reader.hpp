// The Reader of the scenario format, shared by the two ways of loading a
// scenario (format/scenario.cpp): it walks a JSON DOM -- nlohmann::json (the
// reference) or simdjson's (the fast path, format/scenario_simdjson.cpp) -- through
// a small adapter D and builds a Scenario, or throws FormatError with the JSON
// path and the problem. Internal to format/.
//
// An adapter D provides: Value (a cheap handle), kFast, kind(v), str(v),
// boolean(v), uint(v), sint(v), size(v) (arrays, objects), elements(v, f(i, e)),
// members(v, f(key, value)) (any order), sorted_members(v, f(key, value)) (in
// byte order of the keys, as nlohmann::json's std::map keeps them), and for
// run_result_from_json (reference only) find(v, key).
// On the fast path (kFast) the Reader does not build error messages: any error
// throws FastPathBail, and the reference parses the text again for the message.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "format/names.hpp"
#include "format/scenario.hpp"

namespace pidlab::scenario::reader {

// ---- keys -------------------------------------------------------------------
//
// Every object the Reader reads has a fixed vocabulary of keys (all but `final`,
// whose keys are task names). A key is looked up once, when the object is
// scanned, and its value kept in a slot by the key's id.

// key -> id for a fixed vocabulary: a hash of the length and the first and last
// bytes picks a bucket of at most two ids (checked when the index is built, at
// compile time), and one comparison decides.
template <int N>
class KeyIndex {
public:
    constexpr explicit KeyIndex(const std::string_view (&keys)[N]) : keys_(keys) {
        for (auto& b : buckets_) b[0] = b[1] = -1;
        for (int i = 0; i < N; ++i) {
            auto& b = buckets_[hash(keys[i])];
            if (b[0] < 0) b[0] = static_cast<int8_t>(i);
            else if (b[1] < 0) b[1] = static_cast<int8_t>(i);
            else throw "KeyIndex: more than two keys in a bucket";  // not a constant expression: a compile error
        }
    }
    // The id of `k`, or -1.
    constexpr int find(std::string_view k) const {
        if (k.empty()) return -1;
        const auto& b = buckets_[hash(k)];
        if (b[0] >= 0 && keys_[b[0]] == k) return b[0];
        if (b[1] >= 0 && keys_[b[1]] == k) return b[1];
        return -1;
    }

private:
    static constexpr unsigned kBuckets = 64;
    static constexpr unsigned hash(std::string_view k) {
        return (static_cast<unsigned>(k.size()) + 2u * static_cast<unsigned char>(k.front()) +
                15u * static_cast<unsigned char>(k.back())) % kBuckets;
    }
    const std::string_view (&keys_)[N];
    int8_t buckets_[kBuckets][2]{};
};

inline constexpr KeyIndex<kStepKeyCount> kStepIndex{kStepKeys};

// Op names, in the op table's order (format/ops.def).
inline constexpr std::string_view kOpNameList[kOpCount] = {
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) name,
#include "format/ops.def"
#undef PIDLAB_OP
};
inline constexpr KeyIndex<kOpCount> kOpIndex{kOpNameList};

inline const OpInfo* find_op(std::string_view name) {
    int i = kOpIndex.find(name);
    return i < 0 ? nullptr : &kOps[i];
}

inline constexpr KeyIndex<kObsKeyCount> kObsIndex{kObsKeys};
inline constexpr KeyMask kObsAllKeys = (KeyMask{1} << kObsKeyCount) - 1;
inline constexpr KeyMask kObsTaskKeys =
    bit(OK_state) | bit(OK_parent) | bit(OK_exit_signal) | bit(OK_no_new_privs) | bit(OK_euid) | bit(OK_subreaper);

// An observation's keys are read in the order nlohmann::json keeps an object's
// members, sorted by key (a std::map): errors come out in that order.
inline constexpr std::array<int, kObsKeyCount> kObsKeyOrder = [] {
    std::array<int, kObsKeyCount> o{};
    for (int i = 0; i < kObsKeyCount; ++i) o[i] = i;
    std::sort(o.begin(), o.end(), [](int a, int b) { return kObsKeys[a] < kObsKeys[b]; });
    return o;
}();

enum RootKey : int { RK_name, RK_description, RK_kernel, RK_root, RK_steps, RK_final, RK_violates, RK_comment, kRootKeyCount };
inline constexpr std::string_view kRootKeys[kRootKeyCount] = {"name", "description", "kernel", "root",
                                                       "steps", "final", "violates", "comment"};
inline constexpr KeyIndex<kRootKeyCount> kRootIndex{kRootKeys};
enum RootUserKey : int { UK_uid, UK_caps, kRootUserKeyCount };
inline constexpr std::string_view kRootUserKeys[kRootUserKeyCount] = {"uid", "caps"};
inline constexpr KeyIndex<kRootUserKeyCount> kRootUserIndex{kRootUserKeys};

// prctl options by name, and which of them set a value.
inline constexpr std::pair<std::string_view, PrctlOption> kPrctlOptions[] = {
    {"PR_SET_CHILD_SUBREAPER", PrctlOption::SetChildSubreaper},
    {"PR_GET_CHILD_SUBREAPER", PrctlOption::GetChildSubreaper},
    {"PR_SET_NO_NEW_PRIVS", PrctlOption::SetNoNewPrivs},
    {"PR_GET_NO_NEW_PRIVS", PrctlOption::GetNoNewPrivs},
    {"PR_SET_PDEATHSIG", PrctlOption::SetPdeathsig},
    {"PR_GET_PDEATHSIG", PrctlOption::GetPdeathsig},
};
constexpr bool prctl_setter(PrctlOption o) {
    return o == PrctlOption::SetChildSubreaper || o == PrctlOption::SetNoNewPrivs || o == PrctlOption::SetPdeathsig;
}

// ---- the DOMs the Reader reads ----------------------------------------------

enum class Kind : uint8_t { Null, Object, Array, String, Bool, Unsigned, Signed, Float, Other };

inline std::string type_name(Kind k) {
    switch (k) {
        case Kind::Null: return "null";
        case Kind::Object: return "an object";
        case Kind::Array: return "an array";
        case Kind::String: return "a string";
        case Kind::Bool: return "a boolean";
        case Kind::Unsigned:
        case Kind::Signed: return "an integer";
        case Kind::Float: return "a number that is not a 64-bit integer";
        default: return "an unsupported value";
    }
}

// Thrown by the fast path when it cannot vouch for the result (bad input, a
// duplicate key): the reference path then parses the text again and produces
// the exact outcome, error message included.
struct FastPathBail {};

// ---- JSON paths, rendered only for an error ----------------------------------

// A node of the path to the value being read: the parent and one more step.
// Nodes live on the stack of the Reader's calls.
struct Path {
    enum class K : uint8_t { Text, Key, Member, Index };
    const Path* parent = nullptr;
    K k = K::Text;
    std::string_view s;  // Text: the whole path; Key, Member: the key
    size_t i = 0;        // Index

    static Path text(std::string_view t) { return {nullptr, K::Text, t, 0}; }
    // parent + "." + key
    Path key(std::string_view key) const { return {this, K::Key, key, 0}; }
    // like key(), but a member of the root is just its key
    Path member(std::string_view key) const { return {this, K::Member, key, 0}; }
    // parent + "[i]"
    Path index(size_t i) const { return {this, K::Index, {}, i}; }

    std::string str() const {
        switch (k) {
            case K::Text: return std::string(s);
            case K::Key: return parent->str() + "." + std::string(s);
            case K::Member: {
                auto p = parent->str();
                return p.empty() ? std::string(s) : p + "." + std::string(s);
            }
            case K::Index: return parent->str() + "[" + std::to_string(i) + "]";
        }
        return {};
    }
};

// ---- the Reader ----------------------------------------------------------------

// Reads one scenario (or observation, or run result) from a DOM D, with the JSON
// path and the problem for every error.
template <class D>
class Reader {
public:
    using Value = typename D::Value;

    explicit Reader(const std::string& file) : file_(file) {}

    [[noreturn]] void fail(const Path& path, const std::string& problem) const {
        if constexpr (D::kFast) throw FastPathBail{};
        else throw FormatError(file_, path.str(), problem);
    }

    // The values of an object's members with known keys, by key id.
    template <int N>
    struct Fields {
        union Slot {  // no initialisation: only the slots in `present` are ever read
            Value v;
            Slot() {}
        };
        Slot slot[N];
        KeyMask present = 0;
        bool has_unknown = false;
        std::string_view unknown;  // the smallest key not in the vocabulary
        bool has(int id) const { return present & bit(id); }
        Value at(int id) const { return slot[id].v; }
    };

    template <int N>
    Fields<N> scan(Value obj, const KeyIndex<N>& index) const {
        static_assert(std::is_trivially_copyable_v<Value> && std::is_trivially_destructible_v<Value>);
        Fields<N> f;
        D::members(obj, [&](std::string_view k, Value v) {
            const int id = index.find(k);
            if (id < 0) {
                if (!f.has_unknown || k < f.unknown) f.unknown = k;
                f.has_unknown = true;
            } else if (f.present & bit(id)) {
                throw FastPathBail{};  // a duplicate key (only simdjson keeps them)
            } else {
                f.present |= bit(id);
                new (&f.slot[id].v) Value(v);
            }
        });
        return f;
    }

    // Every key of the object must be in `allowed`; the error names the first
    // other key in sorted order.
    template <int N>
    void check_keys(const Fields<N>& f, const std::string_view (&keys)[N], KeyMask allowed, const Path& path) const {
        bool bad = f.has_unknown;
        std::string_view first = f.unknown;
        for (KeyMask m = f.present & ~allowed; m; m &= m - 1) {
            auto k = keys[__builtin_ctz(m)];
            if (!bad || k < first) first = k;
            bad = true;
        }
        if (bad) fail(path.member(first), "unknown key \"" + std::string(first) + "\"");
    }

    template <int N>
    Value need(const Fields<N>& f, const std::string_view (&keys)[N], int id, const Path& path) const {
        if (!f.has(id)) fail(path, "missing required key \"" + std::string(keys[id]) + "\"");
        return f.at(id);
    }
    Value need(Value obj, const Path& path, const char* key) const {
        auto v = D::find(obj, key);
        if (!v) fail(path, std::string("missing required key \"") + key + "\"");
        return v;
    }

    std::string_view string_of(Value j, const Path& path) const {
        if (D::kind(j) != Kind::String) fail(path, "expected a string, found " + type_name(D::kind(j)));
        return D::str(j);
    }
    static bool is_integer(Value j) {
        auto k = D::kind(j);
        return k == Kind::Unsigned || k == Kind::Signed;
    }
    long long int_of(Value j, const Path& path, long long lo, long long hi) const {
        auto kind = D::kind(j);
        if (kind != Kind::Unsigned && kind != Kind::Signed)
            fail(path, "expected an integer, found " + type_name(kind));
        auto range = [&] { return "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; };
        long long v;
        if (kind == Kind::Unsigned) {
            auto u = static_cast<unsigned long long>(D::uint(j));
            // hi < 0: no unsigned value fits (and a cast would wrap 2^64-1 to -1).
            if (hi < 0 || u > static_cast<unsigned long long>(hi)) fail(path, "integer " + std::to_string(u) + " " + range());
            v = static_cast<long long>(u);
        } else {
            v = D::sint(j);
        }
        if (v < lo || v > hi) fail(path, "integer " + std::to_string(v) + " " + range());
        return v;
    }
    bool bool_of(Value j, const Path& path) const {
        if (D::kind(j) != Kind::Bool) fail(path, "expected true or false, found " + type_name(D::kind(j)));
        return D::boolean(j);
    }
    std::string_view ident_of(Value j, const Path& path) const {
        auto s = string_of(j, path);
        if (!names::is_identifier(s))
            fail(path, "\"" + std::string(s) + "\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64)");
        return s;
    }
    // A signal by name or number; 0 means none.
    int signal_of(Value j, const Path& path, int hi = names::kNSIG) const {
        if (is_integer(j)) return static_cast<int>(int_of(j, path, 0, hi));
        if (D::kind(j) != Kind::String) fail(path, "expected a signal name or number, found " + type_name(D::kind(j)));
        auto s = D::str(j);
        if (s == "0") return 0;
        auto n = names::signal_number(s);
        if (!n) fail(path, "unknown signal \"" + std::string(s) + "\"");
        return *n;
    }
    int errno_of(Value j, const Path& path) const {
        auto s = string_of(j, path);
        auto n = names::errno_number(s);
        if (!n) fail(path, "unknown errno name \"" + std::string(s) + "\"");
        return *n;
    }
    template <class F>
    unsigned bits_of(Value j, const Path& path, const char* what, F lookup) const {
        if (D::kind(j) != Kind::Array)
            fail(path, std::string("expected an array of ") + what + " names, found " + type_name(D::kind(j)));
        unsigned bits = 0;
        D::elements(j, [&](size_t i, Value e) {
            auto p = path.index(i);
            auto s = string_of(e, p);
            auto b = lookup(s);
            if (!b) fail(p, std::string("unknown ") + what + " \"" + std::string(s) + "\"");
            bits |= *b;
        });
        return bits;
    }

    WaitStatus status_of(Value j, const Path& path) const {
        if (D::kind(j) != Kind::Object || D::size(j) != 1)
            fail(path, "expected {\"exited\": N} or {\"signaled\": SIG}, found " + type_name(D::kind(j)));
        WaitStatus out;
        D::members(j, [&](std::string_view k, Value v) {
            if (k == "exited") out = {false, static_cast<int>(int_of(v, path.key("exited"), 0, 255))};
            else if (k == "signaled") out = {true, signal_of(v, path.key("signaled"))};
            else fail(path.key(k), "unknown key \"" + std::string(k) + "\" (exited or signaled)");
        });
        return out;
    }

    Observation observation(Value j, const Path& path, bool task_only, bool expectation = true) const {
        Observation o;
        read_observation(o, j, path, task_only, expectation);
        return o;
    }
    // Into a default-constructed `o`.
    void read_observation(Observation& o, Value j, const Path& path, bool task_only, bool expectation = true) const {
        if (D::kind(j) != Kind::Object) fail(path, "expected an object, found " + type_name(D::kind(j)));
        auto f = scan(j, kObsIndex);
        check_keys(f, kObsKeys, task_only ? kObsTaskKeys : kObsAllKeys, path);
        for (int id : kObsKeyOrder) {
            if (!f.has(id)) continue;
            const auto v = f.at(id);
            const auto p = path.key(kObsKeys[id]);
            switch (static_cast<ObsKey>(id)) {
                case OK_ret:
                    if (D::kind(v) == Kind::String) {
                        if (D::str(v) != "ok") fail(p, "expected \"ok\" or a number");
                        o.ret = Ret{true, 0};
                    } else {
                        o.ret = Ret{false, int_of(v, p, -(1LL << 40), 1LL << 40)};
                    }
                    break;
                case OK_errno: o.err = errno_of(v, p); break;
                case OK_pid: o.pid = std::string(ident_of(v, p)); break;
                case OK_status: o.status = status_of(v, p); break;
                case OK_revents: {
                    if (D::kind(v) != Kind::Array)
                        fail(p, "expected an array of poll bit names, found " + type_name(D::kind(v)));
                    unsigned set = 0, clear = 0;
                    D::elements(v, [&](size_t i, Value e) {
                        auto pi = p.index(i);
                        auto s = string_of(e, pi);
                        bool neg = !s.empty() && s[0] == '!';
                        auto b = names::poll_bit(neg ? s.substr(1) : s);
                        if (!b) fail(pi, "unknown poll bit \"" + std::string(s) + "\"");
                        (neg ? clear : set) |= *b;
                    });
                    o.revents = set;
                    // An empty list means: nothing set (as an expectation; an observation is exact anyway).
                    if (D::size(v) == 0 && expectation)
                        clear = names::P_IN | names::P_PRI | names::P_OUT | names::P_ERR | names::P_HUP | names::P_NVAL;
                    if (clear) o.revents_clear = clear;
                    break;
                }
                case OK_exit:
                    if (D::kind(v) == Kind::Null) o.exit = std::optional<WaitStatus>{};
                    else o.exit = std::optional<WaitStatus>{status_of(v, p)};
                    break;
                case OK_value: o.value = int_of(v, p, -(1LL << 40), 1LL << 40); break;
                case OK_euid:
                    o.euid = static_cast<int>(int_of(v, p, 0, 0x7fffffffLL));  // stored as int: no wrap to negative
                    break;
                case OK_pending: o.pending = bool_of(v, p); break;
                case OK_state: {
                    auto s = string_of(v, p);
                    if (s != "running" && s != "zombie" && s != "reaped")
                        fail(p, "unknown state \"" + std::string(s) + "\" (running, zombie or reaped)");
                    o.state = std::string(s);
                    break;
                }
                case OK_parent: o.parent = std::string(ident_of(v, p)); break;
                case OK_exit_signal:
                    if (is_integer(v)) o.exit_signal = static_cast<int>(int_of(v, p, -1, 255));
                    else o.exit_signal = signal_of(v, p);
                    break;
                case OK_no_new_privs: o.no_new_privs = bool_of(v, p); break;
                case OK_subreaper: o.subreaper = bool_of(v, p); break;
                case OK_error: o.error = std::string(string_of(v, p)); break;
                case OK_rule: o.rule = std::string(string_of(v, p)); break;
                case kObsKeyCount: break;
            }
        }
    }

    Scenario scenario(Value root) {
        Scenario s;
        s.file = file_;
        const auto top = Path::text("");
        if (D::kind(root) != Kind::Object) fail(top, "a scenario is a JSON object, found " + type_name(D::kind(root)));
        auto f = scan(root, kRootIndex);
        check_keys(f, kRootKeys, ~KeyMask{0}, top);
        if (f.has(RK_name)) s.name = string_of(f.at(RK_name), Path::text("name"));
        if (s.name.empty()) s.name = std::filesystem::path(file_).stem().string();
        if (f.has(RK_description)) s.description = string_of(f.at(RK_description), Path::text("description"));
        if (f.has(RK_comment)) string_of(f.at(RK_comment), Path::text("comment"));
        if (f.has(RK_kernel)) {
            s.kernel = string_of(f.at(RK_kernel), Path::text("kernel"));
            if (s.kernel.empty()) fail(Path::text("kernel"), "empty kernel revision");
        }
        if (f.has(RK_violates)) s.violates = ident_of(f.at(RK_violates), Path::text("violates"));
        if (f.has(RK_root)) {
            const auto r = f.at(RK_root);
            const auto rp = Path::text("root");
            if (D::kind(r) != Kind::Object) fail(rp, "expected an object, found " + type_name(D::kind(r)));
            auto rf = scan(r, kRootUserIndex);
            check_keys(rf, kRootUserKeys, ~KeyMask{0}, rp);
            if (rf.has(UK_uid)) s.root_uid = static_cast<int>(int_of(rf.at(UK_uid), Path::text("root.uid"), 0, 65535));
            if (rf.has(UK_caps)) {
                auto c = string_of(rf.at(UK_caps), Path::text("root.caps"));
                if (c != "all" && c != "none")
                    fail(Path::text("root.caps"), "expected \"all\" or \"none\", found \"" + std::string(c) + "\"");
                s.root_caps = c == "all";
            }
        }
        const auto steps = need(f, kRootKeys, RK_steps, top);
        const auto sp = Path::text("steps");
        if (D::kind(steps) != Kind::Array) fail(sp, "expected an array, found " + type_name(D::kind(steps)));
        const size_t n = D::size(steps);
        if (n > kMaxSteps) fail(sp, "more than " + std::to_string(kMaxSteps) + " steps");
        tasks_ = {"init", "T"};
        s.steps.reserve(n);
        D::elements(steps, [&](size_t i, Value st) { step(s.steps.emplace_back(), st, sp.index(i)); });
        s.tasks = tasks_;
        if (f.has(RK_final)) {
            const auto fv = f.at(RK_final);
            const auto fp = Path::text("final");
            if (D::kind(fv) != Kind::Object) fail(fp, "expected an object, found " + type_name(D::kind(fv)));
            s.final.reserve(std::min(D::size(fv), kMaxTasks));  // its keys must be tasks
            D::sorted_members(fv, [&](std::string_view k, Value v) {
                auto p = fp.key(k);
                if (!known_task(k)) fail(p, "undefined task \"" + std::string(k) + "\"");
                read_observation(s.final.emplace_back(std::string(k), Observation{}).second, v, p, true);
            });
        }
        return s;
    }

private:
    bool known_task(std::string_view n) const { return std::find(tasks_.begin(), tasks_.end(), n) != tasks_.end(); }

    std::string task_ref(Value j, const Path& p) const {
        auto n = ident_of(j, p);
        if (!known_task(n)) fail(p, "undefined task \"" + std::string(n) + "\" (not created by an earlier step)");
        return std::string(n);
    }
    std::string new_task(Value j, const Path& p) {
        auto n = ident_of(j, p);
        if (known_task(n)) fail(p, "duplicate task name \"" + std::string(n) + "\"");
        if (tasks_.size() >= kMaxTasks) fail(p, "more than " + std::to_string(kMaxTasks) + " tasks");
        tasks_.emplace_back(n);
        return std::string(n);
    }
    std::string fd_ref(Value j, const Path& p) const {
        auto n = ident_of(j, p);
        if (std::find(fds_.begin(), fds_.end(), n) == fds_.end())
            fail(p, "undefined fd \"" + std::string(n) + "\" (not opened by an earlier step)");
        return std::string(n);
    }
    std::string new_fd(Value j, const Path& p) {
        auto n = ident_of(j, p);
        if (std::find(fds_.begin(), fds_.end(), n) == fds_.end()) fds_.emplace_back(n);
        return std::string(n);
    }

    void clone_flags(Value j, const Path& p, Step& st) const {
        if (D::kind(j) != Kind::Array) fail(p, "expected an array of clone flag names, found " + type_name(D::kind(j)));
        D::elements(j, [&](size_t i, Value e) {
            auto pi = p.index(i);
            uint64_t bits = 0;
            auto kind = D::kind(e);
            if (kind == Kind::Unsigned || kind == Kind::Signed) {
                bits = static_cast<uint64_t>(int_of(e, pi, 1, (1LL << 62)));
            } else if (kind == Kind::String && D::str(e).starts_with("0x")) {
                auto s = D::str(e);
                // Hex digits only: no sign, no blanks, no second "0x", at most 64 bits, not 0.
                auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), bits, 16);
                if (s.size() == 2 || ec != std::errc{} || end != s.data() + s.size() || bits == 0)
                    fail(pi, "bad hexadecimal flag value \"" + std::string(s) + "\"");
            } else {
                auto s = string_of(e, pi);
                auto b = names::clone_flag(s);
                if (!b) fail(pi, "unknown clone flag \"" + std::string(s) + "\"");
                if (*b == names::CF_VFORK) fail(pi, "CLONE_VFORK is not supported: the parent would block");
                st.flags |= *b;
                return;
            }
            // A number is an ABI value. Bits below 34 mean the same in every revision;
            // bits 34 and up are decoded by the kernel revision that runs the step.
            constexpr uint64_t kRevisionBits = ~((1ULL << 34) - 1);
            if (bits & 0xff) fail(pi, "CSIGNAL bits are given with exit_signal, not in flags");
            st.flags |= bits & ~kRevisionBits;
            st.raw_flags |= bits & kRevisionBits;
        });
    }

    // Into a default-constructed `st`.
    void step(Step& st, Value j, const Path& path) {
        if (D::kind(j) != Kind::Object) fail(path, "a step is an object, found " + type_name(D::kind(j)));
        auto f = scan(j, kStepIndex);
        auto p = [&](int id) { return path.key(kStepKeys[id]); };
        auto need = [&](int id) { return this->need(f, kStepKeys, id, path); };
        auto has = [&](int id) { return f.has(id); };
        auto at = [&](int id) { return f.at(id); };

        auto opname = string_of(need(SK_op), p(SK_op));
        const OpInfo* info = find_op(opname);
        if (!info) fail(p(SK_op), "unknown op \"" + std::string(opname) + "\"");
        st.op = info->op;
        check_keys(f, kStepKeys, kStepCommonKeys | info->args, path);
        st.task = task_ref(need(SK_task), p(SK_task));

        for (const ArgSpec& a : info->arg)
            if (a.kind != ArgKind::None) arg(a, st, *info, f, path);
        if (has(SK_comment)) string_of(at(SK_comment), p(SK_comment));
        if (has(SK_expect)) read_observation(st.expect.emplace(), at(SK_expect), p(SK_expect), false);
    }

    // One argument of a step, by its kind (format/ops.def).
    template <class F>
    void arg(const ArgSpec& a, Step& st, const OpInfo& info, const F& f, const Path& path) {
        auto p = [&](int id) { return path.key(kStepKeys[id]); };
        auto need = [&](int id) { return this->need(f, kStepKeys, id, path); };
        auto has = [&](int id) { return f.has(id); };
        auto at = [&](int id) { return f.at(id); };
        const int k = a.key;
        switch (a.kind) {
            case ArgKind::None: break;
            case ArgKind::NewTask: st.child = new_task(need(k), p(k)); break;
            case ArgKind::TaskRef: st.target = task_ref(need(k), p(k)); break;
            case ArgKind::TaskOrAny: {
                const auto t = need(k);
                if (is_integer(t)) {
                    if (int_of(t, p(k), -1, -1) == -1) st.target_any = true;
                } else {
                    st.target = task_ref(t, p(k));
                }
                break;
            }
            case ArgKind::FdRef: st.fd = fd_ref(need(k), p(k)); break;
            case ArgKind::NewFd: st.new_fd = new_fd(need(k), p(k)); break;
            case ArgKind::ClonePidfd:
                if (st.flags & names::CF_PIDFD) {
                    st.new_fd = new_fd(need(k), p(k));
                } else if (has(k)) {
                    if (!st.raw_flags) fail(p(k), "a pidfd name without CLONE_PIDFD in flags");
                    st.new_fd = new_fd(at(k), p(k));
                }
                break;
            case ArgKind::CloneFlags:
                if (has(k)) clone_flags(at(k), p(k), st);
                break;
            case ArgKind::ExitSignal3:
            case ArgKind::ExitSignalLegacy: {
                const bool legacy = a.kind == ArgKind::ExitSignalLegacy;
                if (has(k)) {
                    if (is_integer(at(k))) st.exit_signal = static_cast<int>(int_of(at(k), p(k), 0, legacy ? 255 : 1023));
                    else st.exit_signal = signal_of(at(k), p(k));
                } else {
                    st.exit_signal = legacy ? names::kSIGCHLD : 0;
                }
                break;
            }
            case ArgKind::ExitCode:
                if (has(k)) st.code = static_cast<int>(int_of(at(k), p(k), 0, 255));
                break;
            case ArgKind::SendSignal:
                st.sig = signal_of(need(k), p(k), 255);
                if (st.sig == names::kSIGSTOP || st.sig == 20 || st.sig == 21 || st.sig == 22)
                    fail(p(k), "stop signals are not modelled");
                break;
            case ArgKind::SomeSignal:
                st.sig = signal_of(need(k), p(k));
                if (st.sig == 0) fail(p(k), std::string(info.name) + " needs a signal");
                break;
            case ArgKind::Handler: {
                auto h = string_of(need(k), p(k));
                if (h == "SIG_DFL") st.handler = Handler::Dfl;
                else if (h == "SIG_IGN") st.handler = Handler::Ign;
                else if (h == "catch") st.handler = Handler::Catch;
                else fail(p(k), "unknown handler \"" + std::string(h) + "\" (SIG_DFL, SIG_IGN or catch)");
                break;
            }
            case ArgKind::SigactionFlags:
                if (has(k)) st.flags = bits_of(at(k), p(k), "sigaction flag", names::sigaction_flag);
                break;
            case ArgKind::WaitOptions:
                if (has(k)) st.options = bits_of(at(k), p(k), "wait option", names::wait_option);
                break;
            case ArgKind::IdType: {
                auto id = string_of(need(k), p(k));
                if (id == "P_PID") {
                    st.idtype = IdType::Pid;
                    st.target = task_ref(need(SK_target), p(SK_target));
                    if (has(SK_fd)) fail(p(SK_fd), "P_PID takes a target, not an fd");
                } else if (id == "P_ALL") {
                    st.idtype = IdType::All;
                    st.target_any = true;
                    if (has(SK_target) || has(SK_fd)) fail(path, "P_ALL takes neither a target nor an fd");
                } else if (id == "P_PIDFD") {
                    st.idtype = IdType::Pidfd;
                    st.fd = fd_ref(need(SK_fd), p(SK_fd));
                    if (has(SK_target)) fail(p(SK_target), "P_PIDFD takes an fd, not a target");
                } else {
                    fail(p(k), "unknown idtype \"" + std::string(id) + "\" (P_PID, P_ALL or P_PIDFD)");
                }
                break;
            }
            case ArgKind::ByIdType: break;  // read with the idtype
            case ArgKind::PidfdFlags:
                if (has(k)) st.flags = bits_of(at(k), p(k), "pidfd_open flag", names::pidfd_flag);
                break;
            case ArgKind::PrctlOption: {
                auto o = string_of(need(k), p(k));
                bool found = false;
                for (const auto& [n, v] : kPrctlOptions)
                    if (o == n) st.prctl = v, found = true;
                if (!found) fail(p(k), "unknown prctl option \"" + std::string(o) + "\"");
                break;
            }
            case ArgKind::PrctlValue:
                if (prctl_setter(st.prctl)) {
                    const auto v = need(k);
                    if (st.prctl == PrctlOption::SetPdeathsig && D::kind(v) == Kind::String) st.value = signal_of(v, p(k));
                    else st.value = int_of(v, p(k), 0, 255);
                } else if (has(k)) {
                    fail(p(k), "a getter takes no value");
                }
                break;
            case ArgKind::Uid: st.uid = static_cast<int>(int_of(need(k), p(k), 0, 65535)); break;
            case ArgKind::SetuidRoot:
                if (has(k)) st.setuid_root = bool_of(at(k), p(k));
                break;
            case ArgKind::KeepFds:
                if (has(k)) st.keep_fds = bool_of(at(k), p(k));
                break;
            case ArgKind::PtraceRequest: {
                auto r = string_of(need(k), p(k));
                if (r == "PTRACE_SEIZE") st.ptrace = PtraceRequest::Seize;
                else if (r == "PTRACE_DETACH") st.ptrace = PtraceRequest::Detach;
                else fail(p(k), "unknown ptrace request \"" + std::string(r) + "\" (PTRACE_SEIZE or PTRACE_DETACH)");
                break;
            }
            case ArgKind::PtraceOptions:
                if (has(k)) {
                    if (st.ptrace != PtraceRequest::Seize) fail(p(k), "options go with PTRACE_SEIZE");
                    st.ptrace_options = bits_of(at(k), p(k), "ptrace option", [](std::string_view n) -> std::optional<unsigned> {
                        if (n == "PTRACE_O_EXITKILL") return kPTRACE_O_EXITKILL;
                        return std::nullopt;
                    });
                }
                break;
        }
    }

    const std::string& file_;
    std::vector<std::string> tasks_;
    std::vector<std::string> fds_;
};

// The fast path (format/scenario_simdjson.cpp): the scenario, or nullopt for
// anything it does not vouch for. In executables that are linked statically
// (no simdjson there: Debian ships it as a shared library only) it is
// format/scenario_nosimdjson.cpp's, which always says nullopt.
std::optional<Scenario> parse_fast(const std::string& text, const std::string& file);

}  // namespace pidlab::scenario::reader
