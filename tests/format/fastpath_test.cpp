// The fast path (simdjson) against the reference (nlohmann::json): parse_scenario
// must give exactly what parse_scenario_reference gives -- the same Scenario,
// field by field, or the same FormatError (file, path, problem) -- on the whole
// corpus, on thousands of deterministic mutations of it, and on inputs at the
// edges where the two JSON parsers differ (numbers, escapes, depth, duplicate
// keys, key order). The corpus must load on the fast path itself (that is what
// makes parse_scenario fast).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/scenario.hpp"
#include "tests/format/fastpath_util.hpp"

namespace sc = pidlab::scenario;
namespace fu = pidlab::fastpath_util;
namespace fs = std::filesystem;

namespace {

const char* const kFile = "scenarios/x/t.json";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::pair<std::string, std::string>> corpus() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : sc::collect_scenario_files({(fs::path(PIDLAB_SOURCE_DIR) / "scenarios").string()}))
        out.emplace_back(f, slurp(f));
    return out;
}

struct Tally {
    size_t inputs = 0, loaded = 0, rejected = 0, fast = 0;
};

// Both paths on one text: parse_scenario gives what parse_scenario_reference
// gives, and parse_scenario_fast, when it gives anything, the same scenario.
void same(const std::string& text, Tally* tally = nullptr, const std::string& file = kFile) {
    auto ref = fu::outcome([&] { return sc::parse_scenario_reference(text, file); });
    auto got = fu::outcome([&] { return sc::parse_scenario(text, file); });
    EXPECT_EQ(got, ref) << "input (" << text.size() << " bytes): " << text.substr(0, 2000);
    std::optional<sc::Scenario> fast;
    try {
        fast = sc::parse_scenario_fast(text, file);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "parse_scenario_fast threw " << e.what() << " on " << text.substr(0, 2000);
    }
    if (fast) {
        // The fast path vouches only for what the reference loads, identically.
        EXPECT_EQ("ok\n" + fu::scenario_fields(*fast), ref) << "input: " << text.substr(0, 2000);
    }
    if (tally) {
        ++tally->inputs;
        if (ref.rfind("ok\n", 0) == 0) ++tally->loaded;
        else ++tally->rejected;
        if (fast) ++tally->fast;
    }
}

// A scenario around one step (JSON text) and optional final.
std::string with_step(const std::string& step, const std::string& before = "") {
    return R"({"name": "t", "steps": [)" + before + step + "]}";
}

}  // namespace

TEST(FastPath, CorpusLoadsOnTheFastPathIdentically) {
    auto files = corpus();
    ASSERT_GE(files.size(), 50u);
    for (const auto& [file, text] : files) {
        SCOPED_TRACE(file);
        auto ref = fu::outcome([&] { return sc::parse_scenario_reference(text, file); });
        ASSERT_EQ(ref.rfind("ok\n", 0), 0u) << ref;
        auto fast = sc::parse_scenario_fast(text, file);
        ASSERT_TRUE(fast.has_value()) << "the fast path gave up on a corpus scenario";
        EXPECT_EQ("ok\n" + fu::scenario_fields(*fast), ref);
        EXPECT_EQ(fu::outcome([&] { return sc::parse_scenario(text, file); }), ref);
        // and the to_json dumps agree (the round-trip form)
        EXPECT_EQ(sc::to_json(*fast).dump(), sc::to_json(sc::parse_scenario_reference(text, file)).dump());
    }
}

TEST(FastPath, MutatedCorpusGivesIdenticalResults) {
    auto files = corpus();
    ASSERT_FALSE(files.empty());
    Tally t;
    std::mt19937_64 r(20240611);
    for (size_t i = 0; i < files.size(); ++i) {
        const auto& text = files[i].second;
        for (int k = 0; k < 30; ++k) same(fu::mutate(text, r), &t);
    }
    std::printf("fastpath: %zu mutated inputs: %zu load (%zu of them on the fast path), %zu rejected\n", t.inputs,
                t.loaded, t.fast, t.rejected);
    EXPECT_GE(t.inputs, 3000u);
    // The mutations must exercise both outcomes a good deal.
    EXPECT_GE(t.loaded, t.inputs / 10);
    EXPECT_GE(t.rejected, t.inputs / 3);
}

TEST(FastPath, NumbersAtEveryIntegerPosition) {
    const std::vector<std::string> templates = {
        with_step(R"({"task": "T", "op": "exit", "code": @})"),
        with_step(R"({"task": "T", "op": "drop_privileges", "uid": @})"),
        with_step(R"({"task": "T", "op": "setresuid", "uid": @})"),
        with_step(R"({"task": "T", "op": "waitpid", "target": @, "options": ["WNOHANG"]})"),
        with_step(R"({"task": "T", "op": "kill", "target": "T", "sig": @})"),
        with_step(R"({"task": "T", "op": "signal_pending", "sig": @})"),
        with_step(R"({"task": "T", "op": "sigaction", "sig": @, "handler": "SIG_IGN"})"),
        with_step(R"({"task": "T", "op": "clone3", "flags": [@], "exit_signal": 0, "child": "C"})"),
        with_step(R"({"task": "T", "op": "clone3", "flags": [], "exit_signal": @, "child": "C"})"),
        with_step(R"({"task": "T", "op": "clone", "flags": [], "exit_signal": @, "child": "C"})"),
        with_step(R"({"task": "T", "op": "clone3", "flags": [@, "CLONE_PIDFD"], "child": "C", "pidfd": "c"})"),
        with_step(R"({"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": @})"),
        with_step(R"({"task": "T", "op": "prctl", "option": "PR_SET_PDEATHSIG", "value": @})"),
        with_step(R"({"task": "T", "op": "prctl", "option": "PR_GET_PDEATHSIG", "expect": {"value": @}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"euid": @}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"exit_signal": @}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"ret": @, "errno": "EPERM"}})"),
        with_step(R"({"task": "T", "op": "waitpid", "target": "C", "expect": {"status": {"exited": @}}})",
                  R"({"task": "T", "op": "fork", "child": "C"}, )"),
        with_step(R"({"task": "T", "op": "waitpid", "target": "C", "expect": {"status": {"signaled": @}}})",
                  R"({"task": "T", "op": "fork", "child": "C"}, )"),
        with_step(R"({"task": "T", "op": "execve", "setuid_root": @})"),
        with_step(R"({"task": "T", "op": "exit", "comment": @})"),
        R"({"name": "t", "root": {"uid": @}, "steps": []})",
        R"({"name": @, "steps": []})",
        R"({"name": "t", "steps": @})",
        R"({"name": "t", "steps": [], "final": {"T": {"euid": @}}})",
        R"(@)",
    };
    Tally t;
    for (const auto& tpl : templates)
        for (const auto& n : fu::tricky_numbers()) {
            auto text = tpl;
            text.replace(text.find('@'), 1, n);
            same(text, &t);
        }
    std::printf("fastpath: %zu number inputs: %zu load (%zu on the fast path), %zu rejected\n", t.inputs, t.loaded,
                t.fast, t.rejected);
    EXPECT_GT(t.fast, 50u);
}

TEST(FastPath, StringsAndEscapes) {
    const std::vector<std::string> templates = {
        with_step(R"({"task": @, "op": "exit"})"),
        with_step(R"({"task": "T", "op": "fork", "child": @})"),
        with_step(R"({"task": "T", "op": "kill", "target": "T", "sig": @})"),
        with_step(R"({"task": "T", "op": "clone3", "flags": [@], "child": "C"})"),
        with_step(R"({"task": "T", "op": "poll", "fd": "c", "expect": {"revents": [@]}})",
                  R"({"task": "T", "op": "pidfd_open", "target": "T", "fd": "c"}, )"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"ret": @}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"error": @, "rule": @}})"),
        with_step(R"({"task": "T", "op": "exit", "comment": @})"),
        with_step(R"({"task": "T", "op": "waitid", "idtype": @, "target": "T"})"),
        R"({"name": @, "description": @, "steps": []})",
        R"({"name": "t", "kernel": @, "steps": []})",
        R"({"name": "t", "violates": @, "steps": []})",
        R"({"name": "t", "root": {"caps": @}, "steps": []})",
        R"({"name": "t", "steps": [], "final": {"T": {"state": @, "parent": @}}})",
    };
    Tally t;
    for (const auto& tpl : templates)
        for (const auto& s : fu::tricky_strings()) {
            auto text = tpl;
            for (size_t at; (at = text.find('@')) != std::string::npos;) text.replace(at, 1, s);
            same(text, &t);
        }
    // Escaped keys name the same members.
    same(R"({"n\u0061me": "t", "st\u0065ps": [{"\u0074ask": "T", "op": "exit", "\u0063ode": 3}]})", &t);
    same(R"({"name": "t", "steps": [{"task": "T", "op": "exit", "cod\u0065": 3, "code": 4}]})", &t);
    std::printf("fastpath: %zu string inputs: %zu load (%zu on the fast path), %zu rejected\n", t.inputs, t.loaded,
                t.fast, t.rejected);
    EXPECT_GT(t.fast, 20u);
}

TEST(FastPath, DepthAroundTheLimit) {
    for (int depth = 28; depth <= 36; ++depth) {
        for (int shape = 0; shape < 6; ++shape) {
            std::string open, close;
            for (int i = 0; i < depth; ++i) {
                open += shape % 2 ? "{\"k\": " : "[";
                close += shape % 2 ? "}" : "]";
            }
            std::string inner = shape < 2 ? "1" : shape < 4 ? (shape % 2 ? "{}" : "[]") : "\"x\"";
            SCOPED_TRACE("depth " + std::to_string(depth) + " shape " + std::to_string(shape));
            same(R"({"name": "t", "steps": [], "comment": )" + open + inner + close + "}");
            same(R"({"name": "t", "steps": [{"task": "T", "op": "exit", "expect": )" + open + inner + close + "}]}");
            same(open + inner + close);
            same(open + R"({"name": "t", "steps": []})" + close);
            // A depth error after (or before) another problem: the first one in the text wins.
            same(R"({"name": "t", "steps": [], "name": 1, "comment": )" + open + inner + close + "}");
            same(R"({"name": "t", "comment": )" + open + inner + close + R"(, "steps": [], "steps": 1})");
        }
    }
}

TEST(FastPath, DuplicateKeysEverywhere) {
    const std::vector<std::string> inputs = {
        R"({"name": "t", "name": "t", "steps": []})",
        R"({"name": "t", "steps": [], "steps": []})",
        R"({"name": "t", "root": {"uid": 1, "uid": 1}, "steps": []})",
        with_step(R"({"task": "T", "op": "exit", "op": "exit"})"),
        with_step(R"({"task": "T", "task": "T", "op": "exit"})"),
        with_step(R"({"task": "T", "op": "exit", "code": 1, "code": 2})"),
        with_step(R"({"task": "T", "op": "exit", "comment": "a", "comment": "a"})"),
        with_step(R"({"task": "T", "op": "exit", "expect": {"ret": 0, "ret": 0}})"),
        with_step(R"({"task": "T", "op": "exit", "expect": {"rule": "a", "rule": "b"}})"),
        with_step(R"({"task": "T", "op": "fork", "child": "C", "expect": {"status": {"exited": 1, "exited": 1}}})"),
        with_step(R"({"task": "T", "op": "fork", "child": "C", "expect": {"exit": {"exited": 1, "signaled": 9}}})"),
        R"({"name": "t", "steps": [], "final": {"T": {"state": "running"}, "T": {"state": "running"}}})",
        R"({"name": "t", "steps": [], "final": {"T": {"state": "running", "state": "running"}}})",
        R"({"name": "t", "steps": [], "final": {"init": {}, "T": {}, "init": {}}})",
        // duplicates inside something the Reader rejects anyway: the duplicate wins (it is found while parsing)
        with_step(R"({"task": "T", "op": "exit", "zzz": {"a": 1, "a": 1}})"),
        R"({"name": 1, "steps": [], "final": {"T": {}, "T": {}}})",
        R"({"bogus": 1, "x": {"y": [1, {"z": 1, "z": 2}]}})",
        // escaped spellings of the same key are the same key
        with_step(R"({"task": "T", "op": "exit", "code": 1, "\u0063ode": 2})"),
    };
    for (const auto& text : inputs) {
        SCOPED_TRACE(text);
        same(text);
        EXPECT_FALSE(sc::parse_scenario_fast(text, kFile).has_value());
    }
    // The exact message, pinned.
    try {
        sc::parse_scenario(with_step(R"({"task": "T", "op": "exit", "expect": {"ret": 0, "ret": 0}})"), kFile);
        ADD_FAILURE() << "accepted";
    } catch (const sc::FormatError& e) {
        EXPECT_EQ(e.path, "steps[0].expect.ret");
        EXPECT_EQ(e.problem, "duplicate key \"ret\"");
    }
}

TEST(FastPath, ErrorsComeInSortedKeyOrder) {
    // nlohmann::json keeps an object's members sorted: the reference meets
    // (and reports) unknown keys and bad values in key order, not text order.
    const std::vector<std::string> inputs = {
        with_step(R"({"zz": 1, "task": "T", "op": "exit", "aa": 1})"),
        with_step(R"({"task": "T", "op": "exit", "pidfd": "x", "child": "C"})"),
        R"({"zz": 1, "steps": [], "aa": 2})",
        R"({"name": "t", "root": {"zz": 1, "caps": "x", "aa": 1}, "steps": []})",
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"value": "x", "errno": "x", "ret": "x"}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"zz": 1, "ret": "x", "aa": 1}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"subreaper": 1, "euid": -1}})"),
        R"({"name": "t", "steps": [], "final": {"T": {"state": "x"}, "C": {}, "B": {}}})",
        R"({"name": "t", "steps": [], "final": {"T": {"state": "x"}, "init": {"state": "y"}}})",
        R"({"name": "t", "steps": [], "final": {"init": {"state": "running"}, "T": {"state": "running"}}})",
        R"({"name": "t", "steps": [], "final": {"T": {"ret": 0}}})",
    };
    for (const auto& text : inputs) {
        SCOPED_TRACE(text);
        same(text);
    }
    // final keeps the reference's order: sorted by task name.
    auto s = sc::parse_scenario(
        R"({"name": "t", "steps": [], "final": {"init": {"state": "running"}, "T": {"state": "running"}}})", kFile);
    ASSERT_EQ(s.final.size(), 2u);
    EXPECT_EQ(s.final[0].first, "T");
    EXPECT_EQ(s.final[1].first, "init");
}

TEST(FastPath, OtherEdges) {
    const std::vector<std::string> inputs = {
        "", " ", "{}", "[]", "null", "1", "\"x\"", "{\"steps\": []}", "{\"name\": \"\", \"steps\": []}",
        "\xef\xbb\xbf{\"name\": \"t\", \"steps\": []}",
        "{\"name\": \"t\", \"steps\": []} ",
        "{\"name\": \"t\", \"steps\": []}\n\n",
        "{\"name\": \"t\", \"steps\": []} {}",
        "{\"name\": \"t\", \"steps\": []}x",
        "\v{\"name\": \"t\", \"steps\": []}",
        "{\"name\": \"t\",\f\"steps\": []}",
        "{\"name\": \"t\", \"steps\": [],}",
        "{\"name\": \"t\", \"steps\": [1,]}",
        "{\"name\": \"t\" \"steps\": []}",
        "{'name': 't', \"steps\": []}",
        "{\"name\": \"t\", \"steps\": [] /* c */}",
        std::string("{\"name\": \"t\", \"steps\": []}\0", 26),
        std::string("{\"name\": \"t\0\", \"steps\": []}", 26),
        "{\"name\": \"t\", \"steps\": [], \"kernel\": \"\"}",
        "{\"name\": \"t\", \"steps\": [], \"violates\": \"not an identifier\"}",
        with_step(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "T", "op": "fork", "child": "C"})"),
        with_step(R"({"task": "T", "op": "poll", "fd": "nope"})"),
        with_step(R"({"task": "T", "op": "clone3", "flags": ["0x400000000"], "child": "C", "pidfd": "c"}, )"
                  R"({"task": "T", "op": "poll", "fd": "c", "expect": {"revents": []}})"),
        with_step(R"({"task": "T", "op": "poll", "fd": "c", "expect": {"revents": []}})"),
        with_step(R"({"task": "T", "op": "pidfd_open", "target": "T", "fd": "c"}, {"task": "T", "op": "poll", "fd": "c", "expect": {"revents": []}})"),
        with_step(R"({"task": "T", "op": "waitid", "idtype": "P_ALL", "target": "T"})"),
        with_step(R"({"task": "T", "op": "ptrace", "request": "PTRACE_DETACH", "target": "T", "options": []})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"exit": null}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {}}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {"x": 1}}})"),
        with_step(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": [1]}})"),
    };
    for (const auto& text : inputs) {
        SCOPED_TRACE(text);
        same(text);
    }
    // Too many steps, too many tasks, a big file.
    std::string many = R"({"name": "t", "steps": [)";
    for (int i = 0; i < 4097; ++i) many += std::string(i ? "," : "") + R"({"task": "T", "op": "exit"})";
    same(many + "]}");
    std::string tasks = R"({"name": "t", "steps": [)";
    for (int i = 0; i < 70; ++i) tasks += std::string(i ? "," : "") + R"({"task": "T", "op": "fork", "child": "C)" + std::to_string(i) + "\"}";
    same(tasks + "]}");
    std::string big = R"({"name": "t", "steps": [], "comment": ")" + std::string(sc::kMaxFileBytes, 'x') + "\"}";
    same(big);
}

TEST(FastPath, FileNameReachesTheScenario) {
    // The name falls back to the file's stem on both paths.
    for (const char* file : {"a/b/c.json", "c", "", "dir.d/x.y.json"}) {
        same(R"({"steps": []})", nullptr, file);
        same(R"({"name": "", "steps": []})", nullptr, file);
    }
}
