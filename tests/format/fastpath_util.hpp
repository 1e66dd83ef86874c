// Helpers for comparing the two ways of loading a scenario (parse_scenario's
// simdjson fast path and parse_scenario_reference, nlohmann::json): an exact
// rendering of every field of a loaded Scenario, the outcome of a parse as one
// string, and deterministic mutations of scenario texts. Used by
// tests/format/fastpath_test.cpp and fuzz/fuzz_replay.cpp.
#pragma once

#include <cctype>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "format/scenario.hpp"

namespace pidlab::fastpath_util {

namespace detail {

inline void put(std::string& out, std::string_view name, const std::string& v) {
    out += name;
    out += "=\"";
    for (unsigned char c : v) {
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += "\" ";
}
inline void put(std::string& out, std::string_view name, long long v) {
    out += name;
    out += '=';
    out += std::to_string(v);
    out += ' ';
}
inline void put_u(std::string& out, std::string_view name, unsigned long long v) {
    out += name;
    out += '=';
    out += std::to_string(v);
    out += ' ';
}
template <class T, class F>
void put_opt(std::string& out, std::string_view name, const std::optional<T>& v, F f) {
    if (!v) {
        out += name;
        out += "=absent ";
    } else {
        f(*v);
    }
}

}  // namespace detail

// Every field of an observation (the `rule` too, which operator== ignores).
template <class O>
std::string observation_fields(const O& o) {
    using namespace detail;
    std::string out = "{";
    put_opt(out, "ret", o.ret, [&](const auto& r) { put(out, "ret.ok", r.ok); put(out, "ret.value", r.value); });
    put_opt(out, "errno", o.err, [&](int v) { put(out, "errno", v); });
    put_opt(out, "pid", o.pid, [&](const std::string& v) { put(out, "pid", v); });
    put_opt(out, "status", o.status, [&](const auto& s) {
        put(out, "status.signaled", s.signaled);
        put(out, "status.value", s.value);
    });
    put_opt(out, "revents", o.revents, [&](unsigned v) { put_u(out, "revents", v); });
    put_opt(out, "revents_clear", o.revents_clear, [&](unsigned v) { put_u(out, "revents_clear", v); });
    put_opt(out, "exit", o.exit, [&](const auto& e) {
        put_opt(out, "exit.status", e, [&](const auto& s) {
            put(out, "exit.signaled", s.signaled);
            put(out, "exit.value", s.value);
        });
    });
    put_opt(out, "value", o.value, [&](long long v) { put(out, "value", v); });
    put_opt(out, "euid", o.euid, [&](int v) { put(out, "euid", v); });
    put_opt(out, "pending", o.pending, [&](bool v) { put(out, "pending", v); });
    put_opt(out, "state", o.state, [&](const std::string& v) { put(out, "state", v); });
    put_opt(out, "parent", o.parent, [&](const std::string& v) { put(out, "parent", v); });
    put_opt(out, "exit_signal", o.exit_signal, [&](int v) { put(out, "exit_signal", v); });
    put_opt(out, "no_new_privs", o.no_new_privs, [&](bool v) { put(out, "no_new_privs", v); });
    put_opt(out, "subreaper", o.subreaper, [&](bool v) { put(out, "subreaper", v); });
    put_opt(out, "error", o.error, [&](const std::string& v) { put(out, "error", v); });
    put(out, "rule", o.rule);
    return out + "}";
}

// Every field of a scenario, steps and final observations included.
template <class S>
std::string scenario_fields(const S& s) {
    using namespace detail;
    std::string out;
    put(out, "file", s.file);
    put(out, "name", s.name);
    put(out, "description", s.description);
    put(out, "kernel", s.kernel);
    put(out, "violates", s.violates);
    put(out, "root_uid", s.root_uid);
    put(out, "root_caps", s.root_caps);
    out += "\n";
    for (const auto& st : s.steps) {
        out += "step ";
        put(out, "task", st.task);
        put(out, "op", static_cast<int>(st.op));
        put_u(out, "flags", st.flags);
        put_u(out, "raw_flags", st.raw_flags);
        put(out, "exit_signal", st.exit_signal);
        put(out, "child", st.child);
        put(out, "fd", st.fd);
        put(out, "new_fd", st.new_fd);
        put(out, "target", st.target);
        put(out, "target_any", st.target_any);
        put(out, "code", st.code);
        put(out, "sig", st.sig);
        put(out, "handler", static_cast<int>(st.handler));
        put_u(out, "options", st.options);
        put(out, "idtype", static_cast<int>(st.idtype));
        put(out, "prctl", static_cast<int>(st.prctl));
        put(out, "value", st.value);
        put(out, "uid", st.uid);
        put(out, "setuid_root", st.setuid_root);
        put(out, "keep_fds", st.keep_fds);
        put(out, "ptrace", static_cast<int>(st.ptrace));
        put_u(out, "ptrace_options", st.ptrace_options);
        if (st.expect) out += "expect=" + observation_fields(*st.expect);
        else out += "expect=absent";
        out += "\n";
    }
    for (const auto& [name, o] : s.final) {
        out += "final ";
        put(out, "task", name);
        out += observation_fields(o) + "\n";
    }
    out += "tasks";
    for (const auto& t : s.tasks) out += " " + t;
    return out + "\n";
}

// The outcome of one parse as a string: "ok\n" and every field, or the
// FormatError's file, path and problem, or any other exception.
template <class Parse>
std::string outcome(Parse&& parse) {
    try {
        return "ok\n" + scenario_fields(parse());
    } catch (const scenario::FormatError& e) {
        return "FormatError\nfile=" + e.file + "\npath=" + e.path + "\nproblem=" + e.problem + "\nwhat=" + e.what();
    } catch (const std::exception& e) {
        return std::string("exception ") + typeid(e).name() + ": " + e.what();
    }
}

// ---- mutations ------------------------------------------------------------------

// Numbers at the edges of what the two JSON parsers and the format's ranges do.
inline const std::vector<std::string>& tricky_numbers() {
    static const std::vector<std::string> v = {
        "0", "-0", "1", "-1", "0.0", "-0.0", "1.0", "1e2", "1E2", "1e-2", "1e999", "-1e999", "1E-999", "1e+2",
        "255", "256", "1023", "1024", "65535", "65536", "2147483647", "2147483648", "4294967295", "4294967296",
        "1099511627776", "1099511627777", "-1099511627776", "-1099511627777", "4611686018427387904",
        "4611686018427387905", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "-18446744073709551616",
        "123456789012345678901234567890", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "1.8e308", "4.9e-324", "2.4e-324", "017", "-017", "00", "1.", ".5", "+1",
        "-", "1e", "1e+", "0x10", "Infinity", "NaN", "-Infinity", "34359738368", "17179869184", "68719476736"};
    return v;
}

// Strings that mean the same (or almost the same) after unescaping, and some
// that no parser should take.
inline const std::vector<std::string>& tricky_strings() {
    static const std::vector<std::string> v = {
        R"("")", R"("T")", R"("\u0054")", R"("SIG\u0043HLD")", R"("SIGCHLD")", R"("\/")", R"("a\u0000b")",
        R"("\ud83d\ude00")", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\uD83D\uDE00")", R"("\x41")",
        R"("\u00e9")", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xc0\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"a\tb\"", "\"a\x01\"", "\"a\x7f\"", R"("P_PID")", R"("ok")", R"("0")", R"("0x400000000")", R"("0x")",
        R"("0x0")", R"("0X10")", R"("0x1ffffffffffffffff")", R"("CLONE_VFORK")", R"("!POLLIN")", R"("!")",
        R"("init")", R"("c")", R"("C")", R"("SIGRTMIN+3")", R"("SIGRTMIN+33")"};
    return v;
}

inline const std::vector<std::string>& tricky_bytes() {
    static const std::vector<std::string> v = {
        std::string(1, '\0'), "\x01", "\t", "\n", "\r", "\v", "\f", " ", "\"", "\\", "{", "}", "[", "]", ",", ":",
        "\xc3", "\xff", "\xed\xa0\x80", "\xef\xbb\xbf", "\\u0000", "\\ud800", "-0", "1.0", "1e999", "null", "true",
        "/", "/*x*/", "//", "\x7f", "\xc2\xa0"};
    return v;
}

// A value that closes at `pos` (a string, number or literal), or npos.
inline size_t scalar_end(const std::string& t, size_t pos) {
    if (pos >= t.size()) return std::string::npos;
    if (t[pos] == '"') {
        for (size_t i = pos + 1; i < t.size(); ++i) {
            if (t[i] == '\\') ++i;
            else if (t[i] == '"') return i + 1;
        }
        return std::string::npos;
    }
    size_t i = pos;
    while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '-' || t[i] == '+' || t[i] == '.'))
        ++i;
    return i == pos ? std::string::npos : i;
}

// Positions of every `"key":` (the opening quote), every scalar value that
// follows one, and every number.
struct Landmarks {
    std::vector<size_t> keys, values, numbers, opens;
};
inline Landmarks landmarks(const std::string& t) {
    Landmarks m;
    bool in = false;
    size_t start = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (in) {
            if (c == '\\') ++i;
            else if (c == '"') {
                in = false;
                size_t j = i + 1;
                while (j < t.size() && (t[j] == ' ' || t[j] == '\n' || t[j] == '\t' || t[j] == '\r')) ++j;
                if (j < t.size() && t[j] == ':') {
                    m.keys.push_back(start);
                    size_t k = j + 1;
                    while (k < t.size() && (t[k] == ' ' || t[k] == '\n' || t[k] == '\t' || t[k] == '\r')) ++k;
                    if (scalar_end(t, k) != std::string::npos) m.values.push_back(k);
                }
            }
        } else if (c == '"') {
            in = true;
            start = i;
        } else if ((c == '-' || (c >= '0' && c <= '9')) && i > 0 && !std::isalnum(static_cast<unsigned char>(t[i - 1]))) {
            m.numbers.push_back(i);
            while (i + 1 < t.size() && (std::isalnum(static_cast<unsigned char>(t[i + 1])) || t[i + 1] == '.' ||
                                        t[i + 1] == '-' || t[i + 1] == '+'))
                ++i;
        } else if (c == '{' || c == '[') {
            m.opens.push_back(i);
        }
    }
    return m;
}

// One deterministic mutation of `text` (the same for the same rng state).
inline std::string mutate(const std::string& text, std::mt19937_64& r) {
    auto pick = [&](size_t n) { return n ? static_cast<size_t>(r() % n) : 0; };
    std::string t = text;
    auto lm = landmarks(t);
    switch (r() % 16) {
        case 0:  // truncation
            t.resize(pick(t.size() + 1));
            break;
        case 1:  // a byte changed
            if (!t.empty()) t[pick(t.size())] = static_cast<char>(r() & 0xff);
            break;
        case 2: {  // a byte removed, or two swapped
            if (t.size() < 2) break;
            size_t i = pick(t.size());
            if (r() % 2) t.erase(i, 1);
            else std::swap(t[i], t[pick(t.size())]);
            break;
        }
        case 3:  // something inserted anywhere
            t.insert(pick(t.size() + 1), tricky_bytes()[pick(tricky_bytes().size())]);
            break;
        case 4:
        case 5: {  // a number replaced
            if (lm.numbers.empty()) break;
            size_t at = lm.numbers[pick(lm.numbers.size())];
            size_t end = scalar_end(t, at);
            t.replace(at, end - at, tricky_numbers()[pick(tricky_numbers().size())]);
            break;
        }
        case 6:
        case 7: {  // a scalar value replaced by a number, a string or a literal
            if (lm.values.empty()) break;
            size_t at = lm.values[pick(lm.values.size())];
            size_t end = scalar_end(t, at);
            std::string by;
            switch (r() % 4) {
                case 0: by = tricky_numbers()[pick(tricky_numbers().size())]; break;
                case 1: by = tricky_strings()[pick(tricky_strings().size())]; break;
                case 2: by = std::vector<std::string>{"null", "true", "false", "[]", "{}", "[1]", "{\"a\": 1}"}[r() % 7]; break;
                default: by = "-1"; break;
            }
            t.replace(at, end - at, by);
            break;
        }
        case 8:
        case 9: {  // a member duplicated (the same value or another one)
            if (lm.values.empty()) break;
            size_t vat = lm.values[pick(lm.values.size())];
            size_t end = scalar_end(t, vat);
            size_t kat = 0;
            for (size_t k : lm.keys)
                if (k < vat) kat = k;
            std::string member = t.substr(kat, end - kat);
            if (r() % 2) member = member.substr(0, vat - kat) + tricky_strings()[pick(tricky_strings().size())];
            t.insert(end, ", " + member);
            break;
        }
        case 10: {  // a key renamed
            if (lm.keys.empty()) break;
            size_t at = lm.keys[pick(lm.keys.size())];
            size_t end = scalar_end(t, at);
            static const std::vector<std::string> keys = {
                R"("comment")", R"("Task")", R"("task")", R"("op")", R"("expect")", R"("exited")", R"("signaled")",
                R"("ret")", R"("rule")", R"("flags")", R"("\u0074ask")", R"("")", R"("zzz")", R"("final")",
                R"("root")", R"("steps")", R"("name")", R"("T")", R"("C")", R"("a\u0000")"};
            t.replace(at, end - at, keys[pick(keys.size())]);
            break;
        }
        case 11: {  // deep nesting around a value, or around the document
            size_t depth = 26 + pick(12);
            std::string open, close;
            bool objects = r() % 2;
            for (size_t i = 0; i < depth; ++i) {
                open += objects ? "{\"k\": " : "[";
                close += objects ? "}" : "]";
            }
            std::string inner = r() % 3 == 0 ? (objects ? "{}" : "[]") : "1";
            if (!lm.values.empty() && r() % 2) {
                size_t at = lm.values[pick(lm.values.size())];
                size_t end = scalar_end(t, at);
                t.replace(at, end - at, open + inner + close);
            } else {
                t = open + t + close;
            }
            break;
        }
        case 12: {  // a member added to an object
            if (lm.opens.empty()) break;
            size_t at = lm.opens[pick(lm.opens.size())];
            if (t[at] != '{') break;
            static const std::vector<std::string> members = {
                R"("comment": "x", )", R"("comment": 1, )", R"("rule": "r", )", R"("zz": 1, )", R"("aa": 1, )",
                R"("expect": {}, )", R"("final": {}, )", R"("name": "", )", R"("kernel": "", )",
                R"("violates": "INV", )", R"("root": {"uid": 0}, )", R"("description": null, )"};
            t.insert(at + 1, members[pick(members.size())]);
            break;
        }
        case 13:  // a BOM, blanks or trailing bytes
            switch (r() % 4) {
                case 0: t = "\xef\xbb\xbf" + t; break;
                case 1: t = " \r\n\t" + t + "\n\n"; break;
                case 2: t += tricky_bytes()[pick(tricky_bytes().size())]; break;
                default: t += " {}"; break;
            }
            break;
        case 14: {  // an element of an array dropped or repeated
            if (lm.opens.empty()) break;
            size_t at = lm.opens[pick(lm.opens.size())];
            if (t[at] != '[') break;
            t.insert(at + 1, r() % 2 ? "\"CLONE_PIDFD\", " : "{\"task\": \"T\", \"op\": \"fork\", \"child\": \"Z\"}, ");
            break;
        }
        default: {  // two mutations
            t = mutate(t, r);
            t = mutate(t, r);
            break;
        }
    }
    return t;
}

}  // namespace pidlab::fastpath_util
