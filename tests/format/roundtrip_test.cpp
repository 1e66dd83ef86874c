// Round trips and determinism: load -> to_json -> dump -> parse_scenario gives
// the same scenario (the same to_json dump) and the same replay observations;
// replay is a function of (scenario, profile).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "model/replay.hpp"

namespace sc = pidlab::scenario;
namespace fs = std::filesystem;

namespace {

// Scenarios that use every op and most arguments and observation keys.
const std::vector<std::pair<std::string, std::string>> kInline = {
    {"wait_and_reap", R"({
      "name": "wait_and_reap", "description": "fork, exit, reap", "kernel": "7.1",
      "steps": [
        {"task": "T", "op": "fork", "child": "C", "expect": {"ret": "ok"}, "comment": "dropped by to_json"},
        {"task": "C", "op": "exit_group", "code": 42},
        {"task": "T", "op": "signal_pending", "sig": "SIGCHLD", "expect": {"pending": true}},
        {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG", "__WALL"],
         "expect": {"ret": "ok", "pid": "C", "status": {"exited": 42}}},
        {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG"], "expect": {"ret": -1, "errno": "ECHILD"}}
      ],
      "final": {"C": {"state": "reaped"}, "T": {"state": "running", "parent": "init", "exit_signal": "SIGCHLD"}}
    })"},
    {"autoreap_pidfd", R"({
      "name": "autoreap_pidfd", "kernel": "7.1", "root": {"uid": 1000, "caps": "none"},
      "steps": [
        {"task": "T", "op": "prctl", "option": "PR_SET_NO_NEW_PRIVS", "value": 1},
        {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP", "CLONE_NNP"], "exit_signal": 0,
         "child": "C", "pidfd": "c"},
        {"task": "T", "op": "dup", "fd": "c", "as": "d"},
        {"task": "T", "op": "poll", "fd": "d", "expect": {"revents": []}},
        {"task": "T", "op": "pidfd_send_signal", "fd": "c", "sig": "SIGUSR1"},
        {"task": "C", "op": "signal_pending", "sig": 10, "expect": {"pending": true}},
        {"task": "C", "op": "exit", "code": 3},
        {"task": "T", "op": "poll", "fd": "c", "expect": {"revents": ["POLLIN", "!POLLNVAL"]}},
        {"task": "T", "op": "pidfd_get_info", "fd": "c", "expect": {"exit": {"exited": 3}}},
        {"task": "T", "op": "waitid", "idtype": "P_PIDFD", "fd": "c", "options": ["WNOHANG"]},
        {"task": "T", "op": "close", "fd": "d"},
        {"task": "T", "op": "prctl", "option": "PR_GET_NO_NEW_PRIVS", "expect": {"value": 1}}
      ],
      "final": {"C": {"state": "reaped"}, "T": {"no_new_privs": true, "euid": 1000}}
    })"},
    {"subreaper_threads_ptrace", R"({
      "name": "subreaper_threads_ptrace",
      "steps": [
        {"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 1},
        {"task": "T", "op": "prctl", "option": "PR_GET_CHILD_SUBREAPER", "expect": {"value": 1}},
        {"task": "T", "op": "fork", "child": "P"},
        {"task": "P", "op": "clone", "flags": ["CLONE_PARENT"], "exit_signal": "SIGUSR2", "child": "S"},
        {"task": "P", "op": "fork", "child": "C"},
        {"task": "C", "op": "prctl", "option": "PR_SET_PDEATHSIG", "value": "SIGKILL"},
        {"task": "C", "op": "prctl", "option": "PR_GET_PDEATHSIG", "expect": {"value": 9}},
        {"task": "P", "op": "thread_create", "child": "P2"},
        {"task": "T", "op": "ptrace", "request": "PTRACE_SEIZE", "target": "S", "options": ["PTRACE_O_EXITKILL"]},
        {"task": "T", "op": "ptrace", "request": "PTRACE_DETACH", "target": "S", "expect": {"ret": -1, "errno": "ESRCH"}},
        {"task": "P", "op": "sigaction", "sig": "SIGCHLD", "handler": "SIG_IGN", "flags": ["SA_NOCLDWAIT", "SA_RESTART"]},
        {"task": "P2", "op": "exit", "code": 0},
        {"task": "P", "op": "exit_group", "code": 1},
        {"task": "T", "op": "observe", "target": "C", "expect": {"state": "zombie", "parent": "P"}},
        {"task": "T", "op": "waitid", "idtype": "P_PID", "target": "P", "options": ["WNOHANG", "WNOWAIT"]},
        {"task": "T", "op": "waitid", "idtype": "P_ALL", "options": ["WNOHANG"]},
        {"task": "T", "op": "kill", "target": "S", "sig": "SIGRTMIN+3"},
        {"task": "S", "op": "execve", "setuid_root": true, "keep_fds": true, "expect": {"euid": 0}},
        {"task": "S", "op": "drop_privileges", "uid": 65534},
        {"task": "S", "op": "setresuid", "uid": 0, "expect": {"ret": -1, "errno": "EPERM"}},
        {"task": "T", "op": "pidfd_open", "target": "S", "flags": ["PIDFD_THREAD", "PIDFD_NONBLOCK"], "fd": "s"},
        {"task": "T", "op": "kill", "target": "S", "sig": 200, "expect": {"ret": -1, "errno": "EINVAL"}},
        {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", 16777216, "0x1000000000"], "exit_signal": 0,
         "child": "X", "pidfd": "x"}
      ],
      "final": {"S": {"subreaper": false, "exit_signal": 12}, "X": {}}
    })"},
    {"exit_null_and_errors", R"({
      "name": "exit_null_and_errors", "kernel": "pre-7.1", "violates": "some_invariant",
      "steps": [
        {"task": "T", "op": "pidfd_open", "target": "init", "fd": "i"},
        {"task": "T", "op": "pidfd_get_info", "fd": "i", "expect": {"exit": null, "error": "x", "rule": "r"}},
        {"task": "T", "op": "observe", "target": "init", "expect": {"revents": ["!POLLIN", "!POLLHUP"]}}
      ]
    })"},
};

std::vector<std::pair<std::string, std::string>> corpus() {
    std::vector<std::pair<std::string, std::string>> out = kInline;
    fs::path dir = fs::path(PIDLAB_SOURCE_DIR) / "scenarios";
    if (fs::is_directory(dir)) {
        for (const auto& f : sc::collect_scenario_files({dir.string()})) out.emplace_back(f, "");
    }
    return out;
}

sc::Scenario load(const std::pair<std::string, std::string>& c) {
    return c.second.empty() ? sc::load_scenario_file(c.first) : sc::parse_scenario(c.second, c.first + ".json");
}

pidlab::model::Profile own_profile(const sc::Scenario& s) {
    auto p = pidlab::model::find_profile(s.kernel.empty() ? "7.1" : s.kernel);
    if (!p) p = pidlab::model::find_profile("7.1");
    return *p;
}

std::string run_json(const sc::Scenario& s, const pidlab::model::Profile& p) {
    return sc::to_json(pidlab::model::replay(s, p).run_result()).dump();
}

}  // namespace

TEST(RoundTrip, InlineScenariosLoad) {
    for (const auto& c : kInline) EXPECT_NO_THROW(load(c)) << c.first;
}

TEST(RoundTrip, DumpParseDumpIsStable) {
    int n = 0;
    for (const auto& c : corpus()) {
        SCOPED_TRACE(c.first);
        sc::Scenario a;
        try {
            a = load(c);
        } catch (const sc::FormatError& e) {
            // The corpus is written by others; a bad file is reported by corpus.* tests.
            ADD_FAILURE() << "corpus file does not load: " << e.what();
            continue;
        }
        std::string d1 = sc::to_json(a).dump(2);
        sc::Scenario b;
        try {
            b = sc::parse_scenario(d1, a.file);
        } catch (const sc::FormatError& e) {
            ADD_FAILURE() << "to_json output does not load: " << e.what() << "\n" << d1;
            continue;
        }
        EXPECT_EQ(sc::to_json(b).dump(2), d1);
        EXPECT_EQ(b.tasks, a.tasks);
        EXPECT_EQ(b.steps.size(), a.steps.size());
        for (size_t i = 0; i < a.steps.size() && i < b.steps.size(); ++i) {
            EXPECT_EQ(b.steps[i].flags, a.steps[i].flags) << "steps[" << i << "]";
            EXPECT_EQ(b.steps[i].raw_flags, a.steps[i].raw_flags) << "steps[" << i << "]";
            EXPECT_EQ(b.steps[i].expect.has_value(), a.steps[i].expect.has_value());
            if (a.steps[i].expect && b.steps[i].expect) {
                EXPECT_TRUE(*a.steps[i].expect == *b.steps[i].expect) << "steps[" << i << "]";
            }
        }
        ASSERT_EQ(b.final.size(), a.final.size());
        for (size_t i = 0; i < a.final.size(); ++i) {
            EXPECT_EQ(b.final[i].first, a.final[i].first);
            EXPECT_TRUE(b.final[i].second == a.final[i].second);
        }
        // Same observations in the model.
        EXPECT_EQ(run_json(b, own_profile(b)), run_json(a, own_profile(a)));
        ++n;
    }
    EXPECT_GE(n, static_cast<int>(kInline.size()));
}

TEST(RoundTrip, ObservationAndRunResult) {
    for (const auto& c : corpus()) {
        SCOPED_TRACE(c.first);
        sc::Scenario s;
        try {
            s = load(c);
        } catch (const sc::FormatError&) {
            continue;
        }
        auto r = pidlab::model::replay(s, own_profile(s)).run_result();
        auto j = sc::to_json(r);
        auto back = sc::run_result_from_json(nlohmann::json::parse(j.dump()), "result.json");
        EXPECT_EQ(sc::to_json(back).dump(), j.dump());
        // Observations survive the trip as JSON. (Not as Observation values: an
        // observed "revents": [] reads back as an expectation, with every bit
        // required clear.)
        for (const auto& o : r.steps) {
            auto text = sc::to_json(o).dump();
            auto back = sc::observation_from_json(nlohmann::json::parse(text), "o.json", "o");
            EXPECT_EQ(sc::to_json(back).dump(), text);
            EXPECT_TRUE(sc::compare(back, o).empty()) << text;  // read back as an expectation, it matches
        }
    }
}

TEST(Determinism, TwoRunsAreIdentical) {
    for (const auto& c : corpus()) {
        SCOPED_TRACE(c.first);
        sc::Scenario s;
        try {
            s = load(c);
        } catch (const sc::FormatError&) {
            continue;
        }
        for (const auto& name : pidlab::model::profile_names()) {
            auto p = *pidlab::model::find_profile(name);
            auto a = pidlab::model::replay(s, p, {true, -1});
            auto b = pidlab::model::replay(s, p, {true, -1});
            EXPECT_EQ(sc::to_json(a.run_result()).dump(), sc::to_json(b.run_result()).dump()) << name;
            ASSERT_EQ(a.steps.size(), b.steps.size());
            for (size_t i = 0; i < a.steps.size(); ++i) {
                EXPECT_EQ(a.steps[i].tree, b.steps[i].tree);
                EXPECT_EQ(a.steps[i].obs.rule, b.steps[i].obs.rule);
            }
            EXPECT_EQ(a.mismatch_count(), b.mismatch_count());
        }
    }
}

TEST(Determinism, ParsingIsAFunctionOfTheText) {
    for (const auto& c : kInline) {
        auto a = sc::parse_scenario(c.second, "x.json");
        auto b = sc::parse_scenario(c.second, "x.json");
        EXPECT_EQ(sc::to_json(a).dump(), sc::to_json(b).dump());
    }
}
