// Bad input, through the library: every malformed or invalid scenario gives one
// FormatError naming the file, the JSON path and the problem -- never a crash,
// an abort, an assertion or a hang. Replay-time errors of a scenario (ops by a
// dead task, a blocking wait, ...) come back as ReplayResult::error with the
// same three fields.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "model/replay.hpp"

namespace sc = pidlab::scenario;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kFile = "t.json";

// The FormatError that parsing `text` throws; a test failure when it throws
// nothing or anything else.
std::optional<sc::FormatError> error_of(const std::string& text) {
    try {
        sc::parse_scenario(text, kFile);
    } catch (const sc::FormatError& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a FormatError: " << typeid(e).name() << ": " << e.what();
        return std::nullopt;
    }
    ADD_FAILURE() << "accepted: " << text.substr(0, 300);
    return std::nullopt;
}

testing::AssertionResult contains(const std::string& hay, const std::string& needle) {
    if (hay.find(needle) != std::string::npos) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "\"" << hay << "\" does not contain \"" << needle << "\"";
}

// Rejected, at exactly `path`, with a problem containing `needle`.
void expect_bad(const std::string& text, const std::string& path, const std::string& needle) {
    SCOPED_TRACE(text.substr(0, 300));
    auto e = error_of(text);
    if (!e) return;
    EXPECT_EQ(e->file, kFile);
    EXPECT_EQ(e->path, path) << e->what();
    EXPECT_TRUE(contains(e->problem, needle));
    // what() is the one-line message: FILE: PATH: PROBLEM
    EXPECT_EQ(std::string(e->what()), std::string(kFile) + ": " + (path.empty() ? "(file)" : path) + ": " + e->problem);
}

// A scenario whose steps are the given step objects (JSON text, comma separated).
std::string steps(const std::string& s) { return R"({"name": "t", "steps": [)" + s + "]}"; }

sc::Scenario load(const std::string& text) { return sc::parse_scenario(text, kFile); }

pidlab::model::Profile profile(const std::string& name) {
    auto p = pidlab::model::find_profile(name);
    if (!p) throw std::runtime_error("no profile " + name);
    return *p;
}

}  // namespace

// ---------------------------------------------------------------- malformed JSON

TEST(BadJson, Truncated) {
    expect_bad(R"({"steps": [)", "", "malformed JSON at line 1, column 12");
    expect_bad(R"({"steps": [{"task": "T", "op": "fo)", "", "malformed JSON");
    expect_bad("{\n  \"steps\": [\n    {\"task\": \"T\",", "", "line 3");
    expect_bad("{", "", "malformed JSON");
}

TEST(BadJson, Empty) {
    expect_bad("", "", "malformed JSON");
    expect_bad("   \n\t ", "", "malformed JSON");
}

TEST(BadJson, TrailingGarbage) {
    expect_bad(R"({"steps": []} x)", "", "malformed JSON at line 1, column 15");
    expect_bad(R"({"steps": []}{"steps": []})", "", "malformed JSON");
    expect_bad(R"({"steps": []},)", "", "malformed JSON");
}

TEST(BadJson, NumberOverflowHasItsPosition) {
    expect_bad("{\"steps\": [\n  {\"task\": \"T\", \"op\": \"exit\", \"code\": 1e999}]}", "",
               "malformed JSON at line 2, column 39: number overflow parsing '1e999'");
}

TEST(BadStructure, IntegerBeyond64Bits) {
    expect_bad(R"({"steps": [{"task": "T", "op": "exit", "code": 12345678901234567890123}]})", "steps[0].code",
               "expected an integer, found a number that is not a 64-bit integer");
}

TEST(BadJson, BadEscapes) {
    expect_bad(R"({"name": "a\q", "steps": []})", "", "malformed JSON");
    expect_bad(R"({"name": "\u12", "steps": []})", "", "malformed JSON");
    expect_bad(R"({"name": "\uD800", "steps": []})", "", "malformed JSON");  // lone surrogate
    expect_bad(std::string("{\"name\": \"a\x01\", \"steps\": []}"), "", "malformed JSON");  // raw control char
}

TEST(BadJson, NonFiniteAndHugeNumbers) {
    expect_bad(R"({"steps": [], "root": {"uid": NaN}})", "", "malformed JSON");
    expect_bad(R"({"steps": [], "root": {"uid": Infinity}})", "", "malformed JSON");
    expect_bad(R"({"steps": [], "root": {"uid": -Infinity}})", "", "malformed JSON");
    expect_bad(R"({"steps": [], "root": {"uid": 1e400}})", "", "malformed JSON");
    expect_bad(R"({"steps": [], "root": {"uid": 01}})", "", "malformed JSON");
    // Numbers that parse but do not fit.
    expect_bad(R"({"steps": [], "root": {"uid": 1e3}})", "root.uid", "expected an integer, found a number that is not a 64-bit integer");
    expect_bad(R"({"steps": [], "root": {"uid": 99999999999999999999999}})", "root.uid", "expected an integer");
    expect_bad(R"({"steps": [], "root": {"uid": 18446744073709551615}})", "root.uid", "out of range");
    expect_bad(R"({"steps": [], "root": {"uid": -9223372036854775808}})", "root.uid", "out of range");
}

TEST(BadJson, CommentsAndSingleQuotes) {
    expect_bad("{\"steps\": [] // no comments\n}", "", "malformed JSON");
    expect_bad("{\"steps\": [] /* no */}", "", "malformed JSON");
    expect_bad("{'steps': []}", "", "malformed JSON");
    expect_bad(R"({steps: []})", "", "malformed JSON");
    expect_bad(R"({"steps": [],})", "", "malformed JSON");
}

TEST(BadJson, InvalidUtf8AndNul) {
    expect_bad(std::string("{\"name\": \"\xff\xfe\", \"steps\": []}"), "", "malformed JSON");
    expect_bad(std::string("{\"name\": \"\xc3\", \"steps\": []}"), "", "malformed JSON");
    expect_bad(std::string("{\"steps\": []}\0junk", 18), "", "malformed JSON at line 1, column 14: a NUL byte");
    expect_bad(std::string("\0{\"steps\": []}", 14), "", "malformed JSON");
}

TEST(BadJson, ByteOrderMark) {
    // A UTF-8 BOM before the object is skipped (nlohmann::json does so); any
    // other BOM is malformed.
    auto s = load("\xEF\xBB\xBF" R"({"name": "bom", "steps": []})");
    EXPECT_EQ(s.name, "bom");
    expect_bad("\xEF\xBB" R"({"steps": []})", "", "malformed JSON");
    expect_bad("\xFE\xFF" R"({"steps": []})", "", "malformed JSON");
    expect_bad("\xEF\xBB\xBF\xEF\xBB\xBF" R"({"steps": []})", "", "malformed JSON");
}

TEST(BadJson, DeepNesting) {
    expect_bad(std::string(100000, '['), "", "JSON nested deeper than 32 levels");
    expect_bad(std::string(100000, '[') + std::string(100000, ']'), "", "nested deeper");
    std::string objs;
    for (int i = 0; i < 50000; ++i) objs += "{\"a\":";
    expect_bad(objs, "", "nested deeper");
    // Deep inside an otherwise good scenario (in a key that is not even allowed).
    expect_bad(R"({"steps": [], "x": )" + std::string(40, '[') + std::string(40, ']') + "}", "", "nested deeper");
    // 32 levels are fine as far as nesting goes (the key is still unknown).
    expect_bad(R"({"steps": [], "x": )" + std::string(30, '[') + std::string(30, ']') + "}", "x", "unknown key");
}

TEST(BadJson, HugeText) {
    std::string big = R"({"steps": [], "description": ")" + std::string(sc::kMaxFileBytes, 'a') + "\"}";
    expect_bad(big, "", "file too large");
    // Just under the limit is fine (and quick).
    std::string ok = R"({"steps": [], "description": ")" + std::string(sc::kMaxFileBytes - 64, 'a') + "\"}";
    EXPECT_EQ(load(ok).description.size(), sc::kMaxFileBytes - 64);
}

// ---------------------------------------------------------------- structure

TEST(BadStructure, WrongTopLevelType) {
    expect_bad("[]", "", "a scenario is a JSON object, found an array");
    expect_bad("\"steps\"", "", "found a string");
    expect_bad("42", "", "found an integer");
    expect_bad("4.5", "", "found a number that is not a 64-bit integer");
    expect_bad("null", "", "found null");
    expect_bad("true", "", "found a boolean");
}

TEST(BadStructure, MissingOrWrongSteps) {
    expect_bad("{}", "", "missing required key \"steps\"");
    expect_bad(R"({"name": "x"})", "", "missing required key \"steps\"");
    expect_bad(R"({"steps": {}})", "steps", "expected an array, found an object");
    expect_bad(R"({"steps": null})", "steps", "found null");
    expect_bad(R"({"steps": [1]})", "steps[0]", "a step is an object, found an integer");
    expect_bad(R"({"steps": [[]]})", "steps[0]", "a step is an object, found an array");
    expect_bad(steps(R"({"task": "T"})"), "steps[0]", "missing required key \"op\"");
    expect_bad(steps(R"({"op": "fork", "child": "C"})"), "steps[0]", "missing required key \"task\"");
    expect_bad(steps(R"({"task": "T", "op": "fork"})"), "steps[0]", "missing required key \"child\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "sig": "SIGTERM"})"), "steps[0]", "missing required key \"target\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init"})"), "steps[0]", "missing required key \"sig\"");
    expect_bad(steps(R"({"task": "T", "op": "sigaction", "sig": "SIGCHLD"})"), "steps[0]",
               "missing required key \"handler\"");
    expect_bad(steps(R"({"task": "T", "op": "waitid", "target": "T"})"), "steps[0]", "missing required key \"idtype\"");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER"})"), "steps[0]",
               "missing required key \"value\"");
    expect_bad(steps(R"({"task": "T", "op": "ptrace", "target": "init"})"), "steps[0]", "missing required key \"request\"");
}

TEST(BadStructure, UnknownOps) {
    expect_bad(steps(R"({"task": "T", "op": "spawn", "child": "C"})"), "steps[0].op", "unknown op \"spawn\"");
    expect_bad(steps(R"({"task": "T", "op": "FORK", "child": "C"})"), "steps[0].op", "unknown op \"FORK\"");
    expect_bad(steps(R"({"task": "T", "op": "", "child": "C"})"), "steps[0].op", "unknown op \"\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "C", "op": "vfork", "child": "D"})"),
               "steps[1].op", "unknown op \"vfork\"");
    expect_bad(steps(R"({"task": "T", "op": 3})"), "steps[0].op", "expected a string, found an integer");
}

TEST(BadStructure, UnknownFlags) {
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["CLONE_BOGUS"], "child": "C"})"), "steps[0].flags[0]",
               "unknown clone flag \"CLONE_BOGUS\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["CLONE_VM", "clone_vm"], "child": "C"})"),
               "steps[0].flags[1]", "unknown clone flag \"clone_vm\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["CLONE_VFORK"], "child": "C"})"), "steps[0].flags[0]",
               "CLONE_VFORK is not supported");
    expect_bad(steps(R"({"task": "T", "op": "clone", "flags": [17], "child": "C"})"), "steps[0].flags[0]",
               "CSIGNAL bits are given with exit_signal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": [0], "child": "C"})"), "steps[0].flags[0]", "out of range");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": [-1], "child": "C"})"), "steps[0].flags[0]", "out of range");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0xZZ"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal flag value \"0xZZ\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x0"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x-1"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x 400000000"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x+400000000"], "child": "C"})"), "steps[0].flags[0]",
               "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["0x10000000000000000"], "child": "C"})"),
               "steps[0].flags[0]", "bad hexadecimal");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": "CLONE_VM", "child": "C"})"), "steps[0].flags",
               "expected an array of clone flag names, found a string");
    expect_bad(steps(R"({"task": "T", "op": "sigaction", "sig": "SIGCHLD", "handler": "SIG_IGN", "flags": ["SA_BOGUS"]})"),
               "steps[0].flags[0]", "unknown sigaction flag \"SA_BOGUS\"");
    expect_bad(steps(R"({"task": "T", "op": "sigaction", "sig": "SIGCHLD", "handler": "SIG_HOLD"})"), "steps[0].handler",
               "unknown handler \"SIG_HOLD\"");
    expect_bad(steps(R"({"task": "T", "op": "pidfd_open", "target": "init", "flags": ["O_CLOEXEC"], "fd": "p"})"),
               "steps[0].flags[0]", "unknown pidfd_open flag \"O_CLOEXEC\"");
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG", "WBOGUS"]})"),
               "steps[0].options[1]", "unknown wait option \"WBOGUS\"");
    expect_bad(steps(R"({"task": "T", "op": "waitid", "idtype": "P_PGID", "target": "init"})"), "steps[0].idtype",
               "unknown idtype \"P_PGID\"");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_SET_NAME", "value": 1})"), "steps[0].option",
               "unknown prctl option \"PR_SET_NAME\"");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_GET_NO_NEW_PRIVS", "value": 1})"), "steps[0].value",
               "a getter takes no value");
    expect_bad(steps(R"({"task": "T", "op": "ptrace", "request": "PTRACE_ATTACH", "target": "init"})"),
               "steps[0].request", "unknown ptrace request \"PTRACE_ATTACH\"");
    expect_bad(steps(R"({"task": "T", "op": "ptrace", "request": "PTRACE_SEIZE", "target": "init", "options": ["PTRACE_O_TRACEFORK"]})"),
               "steps[0].options[0]", "unknown ptrace option \"PTRACE_O_TRACEFORK\"");
    expect_bad(steps(R"({"task": "T", "op": "ptrace", "request": "PTRACE_DETACH", "target": "init", "options": []})"),
               "steps[0].options", "options go with PTRACE_SEIZE");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"revents": ["POLLIN", "POLLFOO"]}})"),
               "steps[0].expect.revents[1]", "unknown poll bit \"POLLFOO\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"revents": ["!"]}})"),
               "steps[0].expect.revents[0]", "unknown poll bit \"!\"");
}

TEST(BadStructure, BadCloneArguments) {
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD"], "child": "C"})"), "steps[0]",
               "missing required key \"pidfd\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": [], "child": "C", "pidfd": "p"})"), "steps[0].pidfd",
               "a pidfd name without CLONE_PIDFD");
    expect_bad(steps(R"({"task": "T", "op": "clone", "exit_signal": 256, "child": "C"})"), "steps[0].exit_signal",
               "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "exit_signal": 1024, "child": "C"})"), "steps[0].exit_signal",
               "out of range [0, 1023]");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "exit_signal": -1, "child": "C"})"), "steps[0].exit_signal",
               "out of range");
}

TEST(BadStructure, UnknownSignals) {
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "SIGFOO"})"), "steps[0].sig",
               "unknown signal \"SIGFOO\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "sigterm"})"), "steps[0].sig",
               "unknown signal \"sigterm\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "SIGRTMIN+33"})"), "steps[0].sig",
               "unknown signal \"SIGRTMIN+33\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "SIGRTMIN+-1"})"), "steps[0].sig",
               "unknown signal");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "15"})"), "steps[0].sig",
               "unknown signal \"15\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": 256})"), "steps[0].sig",
               "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": -9})"), "steps[0].sig", "out of range");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": "SIGSTOP"})"), "steps[0].sig",
               "stop signals are not modelled");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": 20})"), "steps[0].sig",
               "stop signals are not modelled");
    expect_bad(steps(R"({"task": "T", "op": "sigaction", "sig": 65, "handler": "SIG_IGN"})"), "steps[0].sig",
               "out of range [0, 64]");
    expect_bad(steps(R"({"task": "T", "op": "sigaction", "sig": 0, "handler": "SIG_IGN"})"), "steps[0].sig",
               "sigaction needs a signal");
    expect_bad(steps(R"({"task": "T", "op": "signal_pending", "sig": "0"})"), "steps[0].sig",
               "signal_pending needs a signal");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_SET_PDEATHSIG", "value": "SIGNOPE"})"),
               "steps[0].value", "unknown signal \"SIGNOPE\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "exit_signal": "SIGCHILD", "child": "C"})"), "steps[0].exit_signal",
               "unknown signal \"SIGCHILD\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {"signaled": "SIGDEAD"}}})"),
               "steps[0].expect.status.signaled", "unknown signal \"SIGDEAD\"");
    expect_bad(R"({"steps": [], "final": {"T": {"exit_signal": "SIGCLD"}}})", "final.T.exit_signal",
               "unknown signal \"SIGCLD\"");
}

TEST(BadStructure, UnknownErrnoNames) {
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C", "expect": {"ret": -1, "errno": "EWHATEVER"}})"),
               "steps[0].expect.errno", "unknown errno name \"EWHATEVER\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C", "expect": {"errno": "einval"}})"),
               "steps[0].expect.errno", "unknown errno name \"einval\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C", "expect": {"errno": 22}})"), "steps[0].expect.errno",
               "expected a string, found an integer");
}

TEST(BadStructure, UnknownKeysAtEveryLevel) {
    expect_bad(R"({"nmae": "x", "steps": []})", "nmae", "unknown key \"nmae\"");
    expect_bad(R"({"steps": [], "root": {"uid": 0, "gid": 0}})", "root.gid", "unknown key \"gid\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C", "flags": []})"), "steps[0].flags",
               "unknown key \"flags\"");
    expect_bad(steps(R"({"task": "T", "op": "exit", "code": 0, "sig": "SIGKILL"})"), "steps[0].sig", "unknown key \"sig\"");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "init", "sig": 0, "fd": "p"})"), "steps[0].fd",
               "unknown key \"fd\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expectt": {}})"), "steps[0].expectt",
               "unknown key \"expectt\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"retval": 0}})"),
               "steps[0].expect.retval", "unknown key \"retval\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {"exitted": 0}}})"),
               "steps[0].expect.status.exitted", "unknown key \"exitted\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {"exited": 0, "signaled": 9}}})"),
               "steps[0].expect.status", "expected {\"exited\": N} or {\"signaled\": SIG}");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"exit": {"code": 1}}})"),
               "steps[0].expect.exit.code", "unknown key \"code\"");
    expect_bad(R"({"steps": [], "final": {"T": {"state": "running", "ret": 0}}})", "final.T.ret", "unknown key \"ret\"");
    expect_bad(R"({"steps": [], "final": {"T": {"errno": "EPERM"}}})", "final.T.errno", "unknown key \"errno\"");
    // waitid's idtype decides which of target/fd is allowed.
    expect_bad(steps(R"({"task": "T", "op": "waitid", "idtype": "P_ALL", "target": "init"})"), "steps[0]",
               "P_ALL takes neither a target nor an fd");
    expect_bad(steps(R"({"task": "T", "op": "pidfd_open", "target": "init", "fd": "p"}, {"task": "T", "op": "waitid", "idtype": "P_PID", "target": "init", "fd": "p"})"),
               "steps[1].fd", "P_PID takes a target, not an fd");
    expect_bad(steps(R"({"task": "T", "op": "pidfd_open", "target": "init", "fd": "p"}, {"task": "T", "op": "waitid", "idtype": "P_PIDFD", "fd": "p", "target": "init"})"),
               "steps[1].target", "P_PIDFD takes an fd, not a target");
}

// Every argument of every op, given a value of the wrong type: one error at
// that argument's path.
TEST(BadStructure, WrongTypesForEveryArgument) {
    // Steps 0 and 1 create C and the fd p; the op under test is steps[2].
    const std::string pre = R"({"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD"], "exit_signal": "SIGCHLD", "child": "C", "pidfd": "p"},
                               {"task": "T", "op": "fork", "child": "F"},)";
    const std::vector<std::string> templates = {
        R"({"task": "T", "op": "fork", "child": "D"})",
        R"({"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD"], "exit_signal": "SIGCHLD", "child": "D", "pidfd": "q"})",
        R"({"task": "T", "op": "clone", "flags": ["CLONE_PIDFD"], "exit_signal": 17, "child": "D", "pidfd": "q"})",
        R"({"task": "T", "op": "thread_create", "child": "D"})",
        R"({"task": "C", "op": "exit", "code": 3})",
        R"({"task": "C", "op": "exit_group", "code": 3})",
        R"({"task": "T", "op": "kill", "target": "C", "sig": "SIGTERM"})",
        R"({"task": "T", "op": "pidfd_send_signal", "fd": "p", "sig": "SIGTERM"})",
        R"({"task": "T", "op": "sigaction", "sig": "SIGCHLD", "handler": "SIG_IGN", "flags": ["SA_NOCLDWAIT"]})",
        R"({"task": "T", "op": "waitpid", "target": "C", "options": ["WNOHANG"]})",
        R"({"task": "T", "op": "waitid", "idtype": "P_PID", "target": "C", "options": ["WNOHANG"]})",
        R"({"task": "T", "op": "waitid", "idtype": "P_PIDFD", "fd": "p", "options": ["WNOHANG"]})",
        R"({"task": "T", "op": "pidfd_open", "target": "C", "flags": ["PIDFD_NONBLOCK"], "fd": "q"})",
        R"({"task": "T", "op": "close", "fd": "p"})",
        R"({"task": "T", "op": "dup", "fd": "p", "as": "q"})",
        R"({"task": "T", "op": "poll", "fd": "p", "expect": {"revents": ["!POLLIN"]}})",
        R"({"task": "T", "op": "pidfd_get_info", "fd": "p", "expect": {"exit": null}})",
        R"({"task": "T", "op": "prctl", "option": "PR_SET_PDEATHSIG", "value": "SIGKILL"})",
        R"({"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 1})",
        R"({"task": "T", "op": "drop_privileges", "uid": 1000})",
        R"({"task": "T", "op": "setresuid", "uid": 1000})",
        R"({"task": "C", "op": "execve", "setuid_root": true, "keep_fds": false})",
        R"({"task": "T", "op": "ptrace", "request": "PTRACE_SEIZE", "target": "F", "options": ["PTRACE_O_EXITKILL"]})",
        R"({"task": "T", "op": "signal_pending", "sig": "SIGCHLD", "expect": {"pending": false}})",
        R"({"task": "T", "op": "observe", "target": "C", "comment": "c", "expect": {"state": "running"}})",
    };
    int checked = 0;
    for (const auto& t : templates) {
        // The template itself loads.
        ASSERT_NO_THROW(load(steps(pre + t))) << t;
        json step = json::parse(t);
        for (auto it = step.begin(); it != step.end(); ++it) {
            const std::string key = it.key();
            const bool is_bool = it->is_boolean();
            const bool is_array = it->is_array();
            std::vector<json> wrong = {nullptr, 1.5, json::array({json::object()})};
            if (key != "expect") wrong.push_back(json::object());  // {} is an empty expectation
            if (!is_bool) wrong.push_back(true);
            if (is_array) wrong.push_back("x");
            for (const auto& w : wrong) {
                if (is_array && w.is_array()) {
                    json bad = step;
                    bad[key] = w;
                    auto e = error_of(steps(pre + bad.dump()));
                    if (!e) continue;
                    EXPECT_EQ(e->path, "steps[2]." + key + "[0]") << e->what();
                    EXPECT_TRUE(contains(e->problem, "found an object"));
                    ++checked;
                    continue;
                }
                json bad = step;
                bad[key] = w;
                SCOPED_TRACE(bad.dump());
                auto e = error_of(steps(pre + bad.dump()));
                if (!e) continue;
                EXPECT_EQ(e->file, kFile);
                EXPECT_EQ(e->path, "steps[2]." + key) << e->what();
                EXPECT_FALSE(e->problem.empty());
                std::string found = w.is_object() ? "found an object" : w.is_null() ? "found null"
                                  : w.is_boolean() ? "found a boolean" : w.is_string() ? "found a string"
                                  : w.is_array() ? "found an array" : "found a number that is not a 64-bit integer";
                EXPECT_TRUE(contains(e->problem, found));
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 400);
}

TEST(BadStructure, WrongTypesAtTopLevelAndInObservations) {
    expect_bad(R"({"name": 1, "steps": []})", "name", "expected a string, found an integer");
    expect_bad(R"({"description": [], "steps": []})", "description", "expected a string, found an array");
    expect_bad(R"({"comment": {}, "steps": []})", "comment", "expected a string, found an object");
    expect_bad(R"({"kernel": 7.1, "steps": []})", "kernel", "expected a string, found a number that is not a 64-bit integer");
    expect_bad(R"({"kernel": "", "steps": []})", "kernel", "empty kernel revision");
    expect_bad(R"({"violates": "not an identifier", "steps": []})", "violates", "is not an identifier");
    expect_bad(R"({"root": [], "steps": []})", "root", "expected an object, found an array");
    expect_bad(R"({"root": {"uid": "0"}, "steps": []})", "root.uid", "expected an integer, found a string");
    expect_bad(R"({"root": {"uid": -1}, "steps": []})", "root.uid", "out of range [0, 65535]");
    expect_bad(R"({"root": {"caps": true}, "steps": []})", "root.caps", "expected a string, found a boolean");
    expect_bad(R"({"root": {"caps": "some"}, "steps": []})", "root.caps", "expected \"all\" or \"none\"");
    expect_bad(R"({"steps": [], "final": []})", "final", "expected an object, found an array");
    expect_bad(R"({"steps": [], "final": {"T": 1}})", "final.T", "expected an object, found an integer");

    const std::vector<std::tuple<std::string, std::string, std::string>> obs = {
        {"ret", "true", "expected an integer, found a boolean"},
        {"ret", "\"nok\"", "expected \"ok\" or a number"},
        {"ret", "1099511627777", "out of range"},
        {"errno", "[]", "expected a string, found an array"},
        {"pid", "1", "expected a string, found an integer"},
        {"pid", "\"1x\"", "is not an identifier"},
        {"status", "\"exited\"", "expected {\"exited\": N} or {\"signaled\": SIG}"},
        {"status", "{}", "expected {\"exited\": N}"},
        {"revents", "\"POLLIN\"", "expected an array of poll bit names, found a string"},
        {"revents", "[1]", "expected a string, found an integer"},
        {"exit", "1", "expected {\"exited\": N}"},
        {"value", "\"1\"", "expected an integer, found a string"},
        {"euid", "-1", "out of range"},
        {"euid", "4294967296", "out of range"},
        {"euid", "4294967295", "out of range [0, 2147483647]"},  // would wrap to -1
        {"pending", "1", "expected true or false, found an integer"},
        {"state", "\"dead\"", "unknown state \"dead\""},
        {"parent", "null", "expected a string, found null"},
        {"exit_signal", "{}", "expected a signal name or number, found an object"},
        {"exit_signal", "256", "out of range [-1, 255]"},
        {"no_new_privs", "\"yes\"", "expected true or false, found a string"},
        {"subreaper", "0", "expected true or false, found an integer"},
        {"error", "1", "expected a string, found an integer"},
        {"rule", "false", "expected a string, found a boolean"},
    };
    for (const auto& [k, v, problem] : obs) {
        auto text = steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {")" + k + "\": " + v + "}}");
        std::string path = "steps[0].expect." + k;
        if (k == "revents" && v == "[1]") path += "[0]";
        expect_bad(text, path, problem);
    }
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"status": {"exited": 256}}})"),
               "steps[0].expect.status.exited", "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": {"exit": {"exited": -1}}})"),
               "steps[0].expect.exit.exited", "out of range");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "T", "expect": []})"), "steps[0].expect",
               "expected an object, found an array");
}

TEST(BadStructure, ArgumentRanges) {
    expect_bad(steps(R"({"task": "T", "op": "exit", "code": 256})"), "steps[0].code", "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "exit_group", "code": -1})"), "steps[0].code", "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "setresuid", "uid": 65536})"), "steps[0].uid", "out of range [0, 65535]");
    expect_bad(steps(R"({"task": "T", "op": "drop_privileges", "uid": -1})"), "steps[0].uid", "out of range");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 256})"),
               "steps[0].value", "out of range [0, 255]");
    expect_bad(steps(R"({"task": "T", "op": "prctl", "option": "PR_SET_NO_NEW_PRIVS", "value": "1"})"),
               "steps[0].value", "expected an integer, found a string");
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": -2})"), "steps[0].target", "out of range [-1, -1]");
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": 0})"), "steps[0].target", "out of range [-1, -1]");
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": 1})"), "steps[0].target", "out of range");
    // 2^64-1 must not wrap around to -1.
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": 18446744073709551615})"), "steps[0].target",
               "out of range");
}

// ---------------------------------------------------------------- names

TEST(BadNames, UndefinedTasks) {
    expect_bad(steps(R"({"task": "X", "op": "fork", "child": "C"})"), "steps[0].task",
               "undefined task \"X\" (not created by an earlier step)");
    expect_bad(steps(R"({"task": "T", "op": "kill", "target": "Y", "sig": 9})"), "steps[0].target",
               "undefined task \"Y\"");
    expect_bad(steps(R"({"task": "T", "op": "observe", "target": "C"}, {"task": "T", "op": "fork", "child": "C"})"),
               "steps[0].target", "undefined task \"C\"");
    expect_bad(steps(R"({"task": "T", "op": "waitpid", "target": "Z", "options": ["WNOHANG"]})"), "steps[0].target",
               "undefined task \"Z\"");
    expect_bad(steps(R"({"task": "T", "op": "ptrace", "request": "PTRACE_SEIZE", "target": "W"})"), "steps[0].target",
               "undefined task \"W\"");
}

TEST(BadNames, UndefinedFinalTask) {
    expect_bad(R"({"steps": [], "final": {"Z": {"state": "reaped"}}})", "final.Z", "undefined task \"Z\"");
    expect_bad(R"({"steps": [], "final": {"1": {"state": "reaped"}}})", "final.1", "undefined task \"1\"");
}

TEST(BadNames, UndefinedFds) {
    expect_bad(steps(R"({"task": "T", "op": "close", "fd": "f"})"), "steps[0].fd",
               "undefined fd \"f\" (not opened by an earlier step)");
    expect_bad(steps(R"({"task": "T", "op": "pidfd_send_signal", "fd": "f", "sig": 9})"), "steps[0].fd",
               "undefined fd \"f\"");
    expect_bad(steps(R"({"task": "T", "op": "dup", "fd": "f", "as": "g"})"), "steps[0].fd", "undefined fd \"f\"");
    expect_bad(steps(R"({"task": "T", "op": "waitid", "idtype": "P_PIDFD", "fd": "f"})"), "steps[0].fd",
               "undefined fd \"f\"");
    // A task name is not an fd name.
    expect_bad(steps(R"({"task": "T", "op": "poll", "fd": "T"})"), "steps[0].fd", "undefined fd \"T\"");
}

TEST(BadNames, DuplicateTasks) {
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "T"})"), "steps[0].child", "duplicate task name \"T\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "init"})"), "steps[0].child", "duplicate task name \"init\"");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "T", "op": "thread_create", "child": "C"})"),
               "steps[1].child", "duplicate task name \"C\"");
    expect_bad(steps(R"({"task": "T", "op": "clone3", "flags": ["CLONE_THREAD"], "child": "C"}, {"task": "T", "op": "fork", "child": "C"})"),
               "steps[1].child", "duplicate task name \"C\"");  // even when the first creation fails
}

TEST(BadNames, BadIdentifiers) {
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "1C"})"), "steps[0].child", "\"1C\" is not an identifier");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": ""})"), "steps[0].child", "is not an identifier");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "a-b"})"), "steps[0].child", "is not an identifier");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": "C\u00e9"})"), "steps[0].child", "is not an identifier");
    expect_bad(steps(R"({"task": "T", "op": "fork", "child": ")" + std::string(65, 'a') + "\"}"), "steps[0].child",
               "at most 64");
    EXPECT_NO_THROW(load(steps(R"({"task": "T", "op": "fork", "child": ")" + std::string(64, 'a') + "\"}")));
    expect_bad(steps(R"({"task": "T", "op": "pidfd_open", "target": "init", "fd": "0"})"), "steps[0].fd",
               "is not an identifier");
}

// ---------------------------------------------------------------- limits

TEST(Limits, TooManyTasks) {
    // init and T plus 62 children: 64 tasks, the limit.
    std::string s;
    for (int i = 0; i < 62; ++i) s += (i ? "," : "") + std::string(R"({"task": "T", "op": "fork", "child": "C)") + std::to_string(i) + "\"}";
    auto sc = load(steps(s));
    EXPECT_EQ(sc.tasks.size(), sc::kMaxTasks);
    expect_bad(steps(s + R"(, {"task": "T", "op": "fork", "child": "X"})"), "steps[62].child", "more than 64 tasks");
    expect_bad(steps(s + R"(, {"task": "C3", "op": "thread_create", "child": "X"})"), "steps[62].child",
               "more than 64 tasks");
}

TEST(Limits, TooManySteps) {
    std::string s;
    for (size_t i = 0; i < sc::kMaxSteps; ++i) s += (i ? "," : "") + std::string(R"({"task": "T", "op": "signal_pending", "sig": 17})");
    EXPECT_EQ(load(steps(s)).steps.size(), sc::kMaxSteps);
    expect_bad(steps(s + R"(, {"task": "T", "op": "signal_pending", "sig": 17})"), "steps", "more than 4096 steps");
    // Even when every step is garbage, the count is checked first.
    std::string junk;
    for (size_t i = 0; i <= sc::kMaxSteps; ++i) junk += (i ? "," : "") + std::string("0");
    expect_bad(steps(junk), "steps", "more than 4096 steps");
}

// ---------------------------------------------------------------- files

class FileTest : public testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("pidlab_format_files_" + std::to_string(getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        auto p = dir_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
    sc::FormatError load_error(const std::string& path) {
        try {
            sc::load_scenario_file(path);
        } catch (const sc::FormatError& e) {
            return e;
        }
        ADD_FAILURE() << "loaded: " << path;
        return {"", "", ""};
    }
    fs::path dir_;
};

TEST_F(FileTest, ErrorsNameTheFile) {
    auto p = write("sub/bad.json", steps(R"({"task": "T", "op": "nope"})"));
    auto e = load_error(p);
    EXPECT_EQ(e.file, p);
    EXPECT_EQ(e.path, "steps[0].op");
    EXPECT_EQ(std::string(e.what()), p + ": steps[0].op: unknown op \"nope\"");
    auto s = sc::load_scenario_file(write("good.json", R"({"steps": []})"));
    EXPECT_EQ(s.name, "good");  // the name defaults to the file's stem
    EXPECT_EQ(s.file, (dir_ / "good.json").string());
}

TEST_F(FileTest, MissingFileAndDirectory) {
    auto e = load_error((dir_ / "absent.json").string());
    EXPECT_EQ(e.file, (dir_ / "absent.json").string());
    EXPECT_EQ(e.path, "");
    EXPECT_TRUE(contains(e.problem, "not a readable file"));
    e = load_error(dir_.string());
    EXPECT_TRUE(contains(e.problem, "not a readable file"));
    try {
        sc::collect_scenario_files({(dir_ / "absent").string()});
        ADD_FAILURE() << "no error for a missing path";
    } catch (const sc::FormatError& e) {
        EXPECT_EQ(e.file, (dir_ / "absent").string());
        EXPECT_TRUE(contains(e.problem, "no such file or directory"));
    }
    fs::create_directories(dir_ / "empty");
    write("empty/notes.txt", "not a scenario");
    EXPECT_TRUE(sc::collect_scenario_files({(dir_ / "empty").string()}).empty());
}

TEST_F(FileTest, HugeFile) {
    auto p = write("huge.json", R"({"steps": [], "description": ")" + std::string(5 << 20, 'x') + "\"}");
    auto e = load_error(p);
    EXPECT_EQ(e.file, p);
    EXPECT_EQ(e.path, "");
    EXPECT_TRUE(contains(e.problem, "file too large (5242912 bytes; the limit is 4194304)"));
}

TEST_F(FileTest, EmptyFile) {
    auto e = load_error(write("empty.json", ""));
    EXPECT_TRUE(contains(e.problem, "malformed JSON"));
}

TEST_F(FileTest, UnreadableFile) {
    if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
    auto p = write("secret.json", R"({"steps": []})");
    fs::permissions(p, fs::perms::none);
    auto e = load_error(p);
    EXPECT_TRUE(contains(e.problem, "cannot open the file"));
}

// ---------------------------------------------------------------- replay-time errors

namespace {

// Replays on the scenario's own kernel; returns the error.
std::optional<sc::FormatError> replay_error(const std::string& text, const std::string& prof = "7.1") {
    auto s = load(text);
    auto r = pidlab::model::replay(s, profile(prof));
    return r.error;
}

void expect_unrunnable(const std::string& text, const std::string& path, const std::string& needle) {
    SCOPED_TRACE(text);
    auto e = replay_error(text);
    ASSERT_TRUE(e.has_value()) << "replayed without an error";
    EXPECT_EQ(e->file, kFile);
    EXPECT_EQ(e->path, path) << e->what();
    EXPECT_TRUE(contains(e->problem, needle));
}

}  // namespace

TEST(ReplayErrors, OpByDeadTask) {
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "C", "op": "exit", "code": 0},
        {"task": "C", "op": "fork", "child": "D"}]})",
                      "steps[2].task", "task C is not alive (zombie)");
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "C", "op": "exit", "code": 0},
        {"task": "T", "op": "waitpid", "target": "C"},
        {"task": "C", "op": "observe", "target": "T"}]})",
                      "steps[3].task", "task C is not alive (reaped)");
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "kill", "target": "C", "sig": "SIGKILL"},
        {"task": "C", "op": "signal_pending", "sig": "SIGCHLD"}]})",
                      "steps[2].task", "task C is not alive");
}

TEST(ReplayErrors, OpByTaskWhoseCreationFailed) {
    // CLONE_THREAD without CLONE_SIGHAND: EINVAL, so C never exists.
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "clone3", "flags": ["CLONE_THREAD"], "child": "C", "expect": {"ret": -1, "errno": "EINVAL"}},
        {"task": "C", "op": "exit", "code": 0}]})",
                      "steps[1].task", "task C was never created (its creation failed at steps[0])");
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "clone3", "flags": ["CLONE_THREAD"], "child": "C"},
        {"task": "T", "op": "kill", "target": "C", "sig": 0}]})",
                      "steps[1].target", "task C was never created");
}

TEST(ReplayErrors, BlockingWait) {
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "waitpid", "target": "C"}]})",
                      "steps[1].options", "the wait would block");
    expect_unrunnable(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "waitid", "idtype": "P_ALL"}]})",
                      "steps[1].options", "would block");
}

TEST(ReplayErrors, InitNeverExits) {
    expect_unrunnable(R"({"steps": [{"task": "init", "op": "exit_group", "code": 0}]})", "steps[0].op",
                      "init never exits");
}

TEST(ReplayErrors, FdNotOpenAnyMore) {
    expect_unrunnable(R"({"steps": [
        {"task": "T", "op": "pidfd_open", "target": "init", "fd": "p"},
        {"task": "T", "op": "close", "fd": "p"},
        {"task": "T", "op": "poll", "fd": "p"}]})",
                      "steps[2].fd", "fd p is not open in T's fd table");
    expect_unrunnable(R"({"steps": [
        {"task": "T", "op": "pidfd_open", "target": "init", "fd": "p"},
        {"task": "T", "op": "pidfd_open", "target": "init", "fd": "p"}]})",
                      "steps[1].fd", "fd name p is already open");
    // The fd name exists, but in another task's table.
    expect_unrunnable(R"({"steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "pidfd_open", "target": "C", "fd": "p"},
        {"task": "C", "op": "close", "fd": "p"}]})",
                      "steps[2].fd", "fd p is not open in C's fd table");
}

TEST(ReplayErrors, ForeignKernelRunsOn) {
    // On another kernel the same scenario is not an error: the step reports it.
    auto s = load(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "C", "op": "exit", "code": 0},
        {"task": "C", "op": "fork", "child": "D"},
        {"task": "T", "op": "observe", "target": "C", "expect": {"state": "zombie"}}]})");
    auto r = pidlab::model::replay(s, profile("pre-7.1"));
    EXPECT_FALSE(r.error.has_value());
    ASSERT_EQ(r.steps.size(), 4u);
    ASSERT_TRUE(r.steps[2].obs.error.has_value());
    EXPECT_TRUE(contains(*r.steps[2].obs.error, "not alive"));
    EXPECT_TRUE(r.steps[3].mismatches.empty());
}

TEST(ReplayErrors, GoodScenarioPasses) {
    auto s = load(R"({"kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C", "expect": {"ret": "ok"}},
        {"task": "C", "op": "exit", "code": 7},
        {"task": "T", "op": "waitpid", "target": "C", "expect": {"ret": "ok", "pid": "C", "status": {"exited": 7}}}],
        "final": {"C": {"state": "reaped"}}})");
    auto r = pidlab::model::replay(s, profile("7.1"));
    EXPECT_FALSE(r.error.has_value());
    EXPECT_TRUE(r.passed());
}

// A key given twice is ambiguous (nlohmann keeps the last one silently): an error with its path.
TEST(BadInputDuplicates, DuplicateKeysAreRejectedWithTheirPath) {
    using pidlab::scenario::FormatError;
    using pidlab::scenario::parse_scenario;
    struct Case {
        const char* text;
        const char* path;
    } cases[] = {
        {R"({"steps":[],"steps":[]})", "steps"},
        {R"({"steps":[{"task":"T","op":"fork","child":"A","expect":{"ret":"ok"},"expect":{"ret":0}}]})", "steps[0].expect"},
        {R"({"steps":[{"task":"T","op":"fork","child":"A"},{"task":"T","op":"fork","child":"B","child":"C"}]})",
         "steps[1].child"},
        {R"({"steps":[],"final":{"T":{"state":"running","state":"zombie"}}})", "final.T.state"},
    };
    for (const auto& c : cases) {
        try {
            parse_scenario(c.text, "dup.json");
            ADD_FAILURE() << "accepted: " << c.text;
        } catch (const FormatError& e) {
            EXPECT_EQ(e.path, c.path) << c.text;
            EXPECT_NE(e.problem.find("duplicate key"), std::string::npos) << e.what();
        }
    }
    // the same key in different objects is fine
    EXPECT_NO_THROW(parse_scenario(R"({"steps":[{"task":"T","op":"fork","child":"A"},{"task":"T","op":"fork","child":"B"}]})", "ok.json"));
}
