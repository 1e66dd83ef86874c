// libFuzzer target: the bytes are a scenario file. A scenario that loads is
// replayed under a few kernel profiles. FormatError (bad input, or a scenario
// that cannot run on its own kernel) is the expected way to fail; anything else
// -- a crash, an abort, an assertion, undefined behaviour, an uncaught
// exception, a hang -- is a finding.
//
// Three properties are checked on top: parse_scenario (simdjson fast path,
// nlohmann reference for anything else) gives exactly what
// parse_scenario_reference (nlohmann only) gives -- the same Scenario field by
// field, or the same FormatError -- and whatever the fast path alone returns
// is that same Scenario; a scenario that loads survives
// to_json -> dump -> parse_scenario unchanged; and every result renders.
//
// A custom mutator keeps half of the mutations structure-aware: when the input
// is JSON, it edits the document (inserts a generated step, swaps or drops
// steps, replaces a value with a name from the format's vocabulary or a
// boundary number, adds or drops keys) and writes it back, so that most inputs
// get past the loader into the model. The other half are libFuzzer's byte-level
// mutations, which keep the loader's error paths covered; some of those are
// tests/format/fastpath_util.hpp's text mutations (numbers at the edges,
// duplicate keys, deep nesting, escapes, a BOM) where the two JSON parsers
// could differ.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "model/replay.hpp"
#include "tests/format/fastpath_util.hpp"

namespace sc = pidlab::scenario;
namespace model = pidlab::model;
namespace fu = pidlab::fastpath_util;

namespace {

const std::vector<model::Profile>& profiles() {
    static const std::vector<model::Profile> ps = [] {
        std::vector<model::Profile> v;
        for (const char* n : {"7.1", "v2", "pre-7.1", "6.1"}) {
            auto p = model::find_profile(n);
            if (!p) {
                std::fprintf(stderr, "fuzz_replay: no profile %s\n", n);
                std::abort();
            }
            v.push_back(*p);
        }
        return v;
    }();
    return ps;
}

[[noreturn]] void finding(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_replay: %s\n%s\n", what, detail.c_str());
    std::abort();
}

}  // namespace

// ---------------------------------------------------------------- the mutator

namespace {

using Doc = nlohmann::ordered_json;
using Rng = std::mt19937_64;

const std::vector<std::string> kOps = {
    "fork", "clone3", "clone", "thread_create", "exit", "exit_group", "kill", "pidfd_send_signal", "sigaction",
    "waitpid", "waitid", "pidfd_open", "close", "dup", "poll", "pidfd_get_info", "prctl", "drop_privileges",
    "execve", "ptrace", "signal_pending", "observe", "setresuid"};
const std::vector<std::string> kCloneFlags = {
    "CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_PIDFD", "CLONE_PTRACE", "CLONE_PARENT",
    "CLONE_THREAD", "CLONE_NEWNS", "CLONE_SYSVSEM", "CLONE_SETTLS", "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID",
    "CLONE_DETACHED", "CLONE_UNTRACED", "CLONE_CHILD_SETTID", "CLONE_NEWPID", "CLONE_NEWUSER", "CLONE_IO",
    "CLONE_CLEAR_SIGHAND", "CLONE_INTO_CGROUP", "CLONE_AUTOREAP", "CLONE_NNP", "CLONE_PIDFD_AUTOKILL"};
const std::vector<std::string> kSignals = {"SIGCHLD", "SIGKILL", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP",
                                           "SIGCONT", "SIGSEGV", "SIGRTMIN", "SIGRTMIN+5", "SIGRTMAX", "SIGURG"};
const std::vector<std::string> kWaitOptions = {"WNOHANG", "WNOWAIT", "__WALL", "__WCLONE", "WEXITED", "__WNOTHREAD",
                                               "WUNTRACED", "WCONTINUED"};
const std::vector<std::string> kPrctl = {"PR_SET_CHILD_SUBREAPER", "PR_GET_CHILD_SUBREAPER", "PR_SET_NO_NEW_PRIVS",
                                         "PR_GET_NO_NEW_PRIVS", "PR_SET_PDEATHSIG", "PR_GET_PDEATHSIG"};
const std::vector<std::string> kKernels = {"7.1", "pre-7.1", "rfc-v1", "v2", "v3", "v4", "v5", "6.1", "6.12", "7.2"};
const std::vector<std::string> kKeys = {
    "task", "op", "flags", "exit_signal", "child", "pidfd", "code", "target", "sig", "fd", "handler", "options",
    "idtype", "as", "option", "value", "uid", "setuid_root", "keep_fds", "request", "expect", "comment"};
const std::vector<std::string> kWords = {
    "T", "init", "C", "D", "ok", "SIG_IGN", "SIG_DFL", "catch", "P_PID", "P_ALL", "P_PIDFD", "PTRACE_SEIZE",
    "PTRACE_DETACH", "PIDFD_THREAD", "PIDFD_NONBLOCK", "SA_NOCLDWAIT", "running", "zombie", "reaped", "EINVAL",
    "ECHILD", "ESRCH", "EPERM", "POLLIN", "POLLHUP", "!POLLIN", "0x400000000", "0x800000000", "0x1000000000"};
const std::vector<long long> kNumbers = {-1, 0, 1, 2, 3, 9, 17, 19, 31, 32, 63, 64, 65, 255, 256, 1000, 1023,
                                         1024, 65534, 65535, 1LL << 34, 1LL << 35, 1LL << 36, 1LL << 40};

template <class T>
const T& pick(Rng& r, const std::vector<T>& v) { return v[r() % v.size()]; }

// Task and fd names the document already uses, plus a fresh one of each.
struct Names {
    std::vector<std::string> tasks = {"T", "init"}, fds;
    std::string fresh_task, fresh_fd;
};

void collect_names(const Doc& j, Names& n, int depth = 0) {
    if (depth > 40) return;
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it->is_string()) {
                const auto& v = it->get_ref<const std::string&>();
                if (it.key() == "child") n.tasks.push_back(v);
                if (it.key() == "pidfd" || it.key() == "as" || (it.key() == "fd" && !v.empty())) n.fds.push_back(v);
            }
            collect_names(*it, n, depth + 1);
        }
    } else if (j.is_array()) {
        for (const auto& e : j) collect_names(e, n, depth + 1);
    }
}

Doc sig_value(Rng& r) { return r() % 4 ? Doc(pick(r, kSignals)) : Doc(pick(r, kNumbers)); }

Doc subset(Rng& r, const std::vector<std::string>& from, size_t max) {
    Doc a = Doc::array();
    size_t n = r() % (max + 1);
    for (size_t i = 0; i < n; ++i) a.push_back(pick(r, from));
    return a;
}

// A step that is usually valid for the names in use.
Doc gen_step(Rng& r, Names& n) {
    Doc st;
    st["task"] = pick(r, n.tasks);
    const std::string op = pick(r, kOps);
    st["op"] = op;
    auto fd = [&]() -> Doc { return n.fds.empty() || r() % 8 == 0 ? Doc(n.fresh_fd) : Doc(pick(r, n.fds)); };
    auto target = [&]() -> Doc { return pick(r, n.tasks); };
    if (op == "fork" || op == "thread_create") {
        st["child"] = n.fresh_task;
    } else if (op == "clone3" || op == "clone") {
        Doc f = subset(r, kCloneFlags, 3);
        if (r() % 3 == 0) f.push_back("CLONE_PIDFD");
        if (r() % 6 == 0) f.push_back(r() % 2 ? Doc("0x400000000") : Doc(1LL << (34 + r() % 3)));
        bool pidfd = false;
        for (const auto& e : f) pidfd |= e == "CLONE_PIDFD";
        st["flags"] = f;
        st["exit_signal"] = r() % 3 ? Doc(r() % 2 ? 0 : 17) : sig_value(r);
        st["child"] = n.fresh_task;
        if (pidfd) st["pidfd"] = n.fresh_fd;
    } else if (op == "exit" || op == "exit_group") {
        st["code"] = r() % 256;
    } else if (op == "kill") {
        st["target"] = target();
        st["sig"] = sig_value(r);
    } else if (op == "pidfd_send_signal") {
        st["fd"] = fd();
        st["sig"] = sig_value(r);
    } else if (op == "sigaction") {
        st["sig"] = r() % 2 ? Doc("SIGCHLD") : sig_value(r);
        st["handler"] = pick(r, std::vector<std::string>{"SIG_IGN", "SIG_DFL", "catch"});
        if (r() % 2) st["flags"] = subset(r, {"SA_NOCLDWAIT", "SA_NOCLDSTOP", "SA_RESTART", "SA_SIGINFO"}, 2);
    } else if (op == "waitpid") {
        st["target"] = r() % 3 ? target() : Doc(-1);
        Doc o = subset(r, kWaitOptions, 2);
        if (r() % 4) o.push_back("WNOHANG");
        st["options"] = o;
    } else if (op == "waitid") {
        int k = r() % 3;
        st["idtype"] = k == 0 ? "P_PID" : k == 1 ? "P_ALL" : "P_PIDFD";
        if (k == 0) st["target"] = target();
        if (k == 2) st["fd"] = fd();
        Doc o = subset(r, kWaitOptions, 2);
        if (r() % 4) o.push_back("WNOHANG");
        st["options"] = o;
    } else if (op == "pidfd_open") {
        st["target"] = target();
        st["flags"] = subset(r, {"PIDFD_THREAD", "PIDFD_NONBLOCK"}, 2);
        st["fd"] = n.fresh_fd;
    } else if (op == "close" || op == "poll" || op == "pidfd_get_info") {
        st["fd"] = fd();
    } else if (op == "dup") {
        st["fd"] = fd();
        st["as"] = n.fresh_fd;
    } else if (op == "prctl") {
        const auto& o = pick(r, kPrctl);
        st["option"] = o;
        if (o == "PR_SET_PDEATHSIG") st["value"] = r() % 2 ? Doc("SIGKILL") : Doc(r() % 70);
        else if (o.rfind("PR_SET", 0) == 0) st["value"] = r() % 3;
    } else if (op == "drop_privileges" || op == "setresuid") {
        st["uid"] = pick(r, std::vector<long long>{0, 1000, 65534});
    } else if (op == "execve") {
        st["setuid_root"] = r() % 2 == 0;
        if (r() % 2) st["keep_fds"] = r() % 2 == 0;
    } else if (op == "ptrace") {
        st["request"] = r() % 3 ? "PTRACE_SEIZE" : "PTRACE_DETACH";
        st["target"] = target();
        if (st["request"] == "PTRACE_SEIZE" && r() % 2) st["options"] = Doc::array({"PTRACE_O_EXITKILL"});
    } else if (op == "signal_pending") {
        st["sig"] = r() % 2 ? Doc("SIGCHLD") : sig_value(r);
    } else if (op == "observe") {
        st["target"] = target();
    }
    return st;
}

// Every node of the document, for picking one (depth-limited).
void all_nodes(Doc& j, std::vector<Doc*>& out, int depth = 0) {
    out.push_back(&j);
    if (depth > 40) return;
    if (j.is_object() || j.is_array())
        for (auto& e : j) all_nodes(e, out, depth + 1);
}

Doc random_value(Rng& r, Names& n) {
    switch (r() % 6) {
        case 0: return pick(r, kNumbers);
        case 1: return pick(r, kWords);
        case 2: return pick(r, n.tasks);
        case 3: return r() % 2 == 0;
        case 4: return Doc::array({pick(r, kCloneFlags)});
        default: return pick(r, kSignals);
    }
}

bool mutate_doc(Doc& d, Rng& r) {
    if (!d.is_object()) return false;
    Names n;
    collect_names(d, n);
    n.fresh_task = "N" + std::to_string(r() % 64);
    n.fresh_fd = "f" + std::to_string(r() % 16);
    if (!d.contains("steps") || !d["steps"].is_array()) d["steps"] = Doc::array();
    Doc& steps = d["steps"];
    switch (r() % 10) {
        case 0: case 1: case 2: {  // insert a generated step
            size_t at = steps.empty() ? 0 : r() % (steps.size() + 1);
            steps.insert(steps.begin() + static_cast<long>(at), gen_step(r, n));
            return true;
        }
        case 3:  // drop a step
            if (steps.empty()) return false;
            steps.erase(steps.begin() + static_cast<long>(r() % steps.size()));
            return true;
        case 4: {  // swap or duplicate a step
            if (steps.size() < 2) return false;
            size_t a = r() % steps.size(), b = r() % steps.size();
            if (r() % 2) std::swap(steps[a], steps[b]);
            else steps.insert(steps.begin() + static_cast<long>(b), Doc(steps[a]));
            return true;
        }
        case 5:  // the kernel
            d["kernel"] = pick(r, kKernels);
            return true;
        case 6: {  // a key added to or dropped from an object
            std::vector<Doc*> nodes;
            all_nodes(d, nodes);
            std::vector<Doc*> objs;
            for (auto* p : nodes)
                if (p->is_object()) objs.push_back(p);
            Doc& o = *pick(r, objs);
            if (!o.empty() && r() % 2) o.erase(std::next(o.begin(), static_cast<long>(r() % o.size())).key());
            else o[pick(r, kKeys)] = random_value(r, n);
            return true;
        }
        default: {  // a leaf replaced
            std::vector<Doc*> nodes;
            all_nodes(d, nodes);
            std::vector<Doc*> leaves;
            for (auto* p : nodes)
                if (!p->is_object() && !p->is_array()) leaves.push_back(p);
            if (leaves.empty()) return false;
            Doc& v = *pick(r, leaves);
            if (v.is_number() && r() % 2) v = pick(r, kNumbers);
            else if (v.is_string() && r() % 2) v = r() % 2 ? Doc(pick(r, n.tasks)) : Doc(pick(r, kWords));
            else v = random_value(r, n);
            return true;
        }
    }
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    Rng r(seed);
    if (r() % 2 == 0) {
        auto d = Doc::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
        if (!d.is_discarded() && mutate_doc(d, r)) {
            std::string out = r() % 4 ? d.dump() : d.dump(1);
            if (out.size() <= max_size) {
                std::memcpy(data, out.data(), out.size());
                return out.size();
            }
        }
    } else if (r() % 4 == 0) {
        std::string out = fu::mutate(std::string(reinterpret_cast<const char*>(data), size), r);
        if (out.size() <= max_size) {
            std::memcpy(data, out.data(), out.size());
            return out.size();
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

// ---------------------------------------------------------------- the target

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    // The fast path and the reference agree.
    const std::string got = fu::outcome([&] { return sc::parse_scenario(text, "fuzz.json"); });
    const std::string ref = fu::outcome([&] { return sc::parse_scenario_reference(text, "fuzz.json"); });
    if (got != ref) finding("parse_scenario and parse_scenario_reference disagree", ref + "\n---\n" + got);
    if (auto fast = sc::parse_scenario_fast(text, "fuzz.json")) {
        if ("ok\n" + fu::scenario_fields(*fast) != ref)
            finding("the fast path returned what the reference does not", ref + "\n---\n" + fu::scenario_fields(*fast));
    }

    sc::Scenario s;
    try {
        s = sc::parse_scenario(text, "fuzz.json");
    } catch (const sc::FormatError& e) {
        // The error names the file, and its message is one line.
        if (e.file != "fuzz.json" || e.problem.empty()) finding("FormatError without file or problem", e.what());
        return 0;
    }

    // Round trip: the dump of a loaded scenario loads, and dumps the same.
    const std::string d1 = sc::to_json(s).dump();
    try {
        auto again = sc::parse_scenario(d1, "fuzz.json");
        auto d2 = sc::to_json(again).dump();
        if (d2 != d1) finding("to_json round trip changed the scenario", d1 + "\n" + d2);
    } catch (const sc::FormatError& e) {
        finding("to_json output does not load", std::string(e.what()) + "\n" + d1);
    }

    for (const auto& p : profiles()) {
        try {
            auto r = model::replay(s, p, {/*trees=*/true, -1});
            (void)sc::to_json(r.run_result()).dump();
            for (size_t i = 0; i < r.steps.size(); ++i) {
                (void)sc::describe_step(s.steps[i]);
                (void)sc::describe_observation(r.steps[i].obs);
            }
            (void)r.passed();
        } catch (const sc::FormatError&) {
        }
    }
    return 0;
}
