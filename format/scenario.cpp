#include "format/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "format/names.hpp"

namespace pidlab::scenario {

using nlohmann::json;
using nlohmann::ordered_json;

FormatError::FormatError(std::string file_, std::string path_, std::string problem_)
    : std::runtime_error(file_ + ": " + (path_.empty() ? std::string("(file)") : path_) + ": " + problem_),
      file(std::move(file_)), path(std::move(path_)), problem(std::move(problem_)) {}

namespace {

struct OpInfo {
    Op op;
    const char* name;
    std::vector<const char*> keys;  // argument keys allowed besides task/op/expect/comment
};

const std::vector<OpInfo>& op_table() {
    static const std::vector<OpInfo> t = {
        {Op::Fork, "fork", {"child"}},
        {Op::Clone3, "clone3", {"flags", "exit_signal", "child", "pidfd"}},
        {Op::Clone, "clone", {"flags", "exit_signal", "child", "pidfd"}},
        {Op::ThreadCreate, "thread_create", {"child"}},
        {Op::Exit, "exit", {"code"}},
        {Op::ExitGroup, "exit_group", {"code"}},
        {Op::Kill, "kill", {"target", "sig"}},
        {Op::PidfdSendSignal, "pidfd_send_signal", {"fd", "sig"}},
        {Op::Sigaction, "sigaction", {"sig", "handler", "flags"}},
        {Op::Waitpid, "waitpid", {"target", "options"}},
        {Op::Waitid, "waitid", {"idtype", "target", "fd", "options"}},
        {Op::PidfdOpen, "pidfd_open", {"target", "flags", "fd"}},
        {Op::Close, "close", {"fd"}},
        {Op::Dup, "dup", {"fd", "as"}},
        {Op::Poll, "poll", {"fd"}},
        {Op::PidfdGetInfo, "pidfd_get_info", {"fd"}},
        {Op::Prctl, "prctl", {"option", "value"}},
        {Op::DropPrivileges, "drop_privileges", {"uid"}},
        {Op::Execve, "execve", {"setuid_root", "keep_fds"}},
        {Op::Ptrace, "ptrace", {"request", "target", "options"}},
        {Op::SignalPending, "signal_pending", {"sig"}},
        {Op::Observe, "observe", {"target"}},
        {Op::Setresuid, "setresuid", {"uid"}},
    };
    return t;
}

std::string type_name(const json& j) {
    switch (j.type()) {
        case json::value_t::null: return "null";
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer";
        case json::value_t::number_float: return "a number with a fraction";
        default: return "an unsupported value";
    }
}

// Reads one scenario, tracking the JSON path for every error.
class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        throw FormatError(file_, path, problem);
    }

    const json& need(const json& obj, const std::string& path, const char* key) const {
        auto it = obj.find(key);
        if (it == obj.end()) fail(path, std::string("missing required key \"") + key + "\"");
        return *it;
    }

    std::string string_of(const json& j, const std::string& path) const {
        if (!j.is_string()) fail(path, "expected a string, found " + type_name(j));
        return j.get<std::string>();
    }
    long long int_of(const json& j, const std::string& path, long long lo, long long hi) const {
        if (!j.is_number_integer()) fail(path, "expected an integer, found " + type_name(j));
        auto range = "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        long long v;
        if (j.is_number_unsigned()) {
            auto u = j.get<unsigned long long>();
            // hi < 0: no unsigned value fits (and a cast would wrap 2^64-1 to -1).
            if (hi < 0 || u > static_cast<unsigned long long>(hi)) fail(path, "integer " + std::to_string(u) + " " + range);
            v = static_cast<long long>(u);
        } else {
            v = j.get<long long>();
        }
        if (v < lo || v > hi) fail(path, "integer " + std::to_string(v) + " " + range);
        return v;
    }
    bool bool_of(const json& j, const std::string& path) const {
        if (!j.is_boolean()) fail(path, "expected true or false, found " + type_name(j));
        return j.get<bool>();
    }
    std::string ident_of(const json& j, const std::string& path) const {
        auto s = string_of(j, path);
        if (!names::is_identifier(s)) fail(path, "\"" + s + "\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64)");
        return s;
    }
    // A signal by name or number; 0 means none.
    int signal_of(const json& j, const std::string& path, int hi = names::kNSIG) const {
        if (j.is_number_integer()) return static_cast<int>(int_of(j, path, 0, hi));
        if (!j.is_string()) fail(path, "expected a signal name or number, found " + type_name(j));
        auto s = j.get<std::string>();
        if (s == "0") return 0;
        auto n = names::signal_number(s);
        if (!n) fail(path, "unknown signal \"" + s + "\"");
        return *n;
    }
    int errno_of(const json& j, const std::string& path) const {
        auto s = string_of(j, path);
        auto n = names::errno_number(s);
        if (!n) fail(path, "unknown errno name \"" + s + "\"");
        return *n;
    }
    template <class F>
    unsigned bits_of(const json& j, const std::string& path, const char* what, F lookup) const {
        if (!j.is_array()) fail(path, std::string("expected an array of ") + what + " names, found " + type_name(j));
        unsigned bits = 0;
        for (size_t i = 0; i < j.size(); ++i) {
            auto p = path + "[" + std::to_string(i) + "]";
            auto s = string_of(j[i], p);
            auto b = lookup(s);
            if (!b) fail(p, std::string("unknown ") + what + " \"" + s + "\"");
            bits |= *b;
        }
        return bits;
    }

    void check_keys(const json& obj, const std::string& path, const std::vector<const char*>& allowed) const {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            if (std::find_if(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; }) ==
                allowed.end())
                fail(path.empty() ? it.key() : path + "." + it.key(), "unknown key \"" + it.key() + "\"");
        }
    }

    WaitStatus status_of(const json& j, const std::string& path) const {
        if (!j.is_object() || j.size() != 1)
            fail(path, "expected {\"exited\": N} or {\"signaled\": SIG}, found " + type_name(j));
        if (j.contains("exited")) return {false, static_cast<int>(int_of(j["exited"], path + ".exited", 0, 255))};
        if (j.contains("signaled")) return {true, signal_of(j["signaled"], path + ".signaled")};
        fail(path + "." + j.begin().key(), "unknown key \"" + j.begin().key() + "\" (exited or signaled)");
    }

    Observation observation(const json& j, const std::string& path, bool task_only, bool expectation = true) const {
        if (!j.is_object()) fail(path, "expected an object, found " + type_name(j));
        static const std::vector<const char*> task_keys = {"state", "parent", "exit_signal", "no_new_privs", "euid",
                                                           "subreaper"};
        static const std::vector<const char*> all_keys = {
            "ret",   "errno",  "pid",    "status",       "revents", "exit",      "value",        "euid",
            "pending", "state", "parent", "exit_signal", "no_new_privs", "subreaper", "error", "rule"};
        check_keys(j, path, task_only ? task_keys : all_keys);
        Observation o;
        for (auto it = j.begin(); it != j.end(); ++it) {
            const auto& k = it.key();
            const auto& v = *it;
            auto p = path + "." + k;
            if (k == "ret") {
                if (v.is_string()) {
                    if (v.get<std::string>() != "ok") fail(p, "expected \"ok\" or a number");
                    o.ret = Ret{true, 0};
                } else {
                    o.ret = Ret{false, int_of(v, p, -(1LL << 40), 1LL << 40)};
                }
            } else if (k == "errno") {
                o.err = errno_of(v, p);
            } else if (k == "pid") {
                o.pid = ident_of(v, p);
            } else if (k == "status") {
                o.status = status_of(v, p);
            } else if (k == "revents") {
                if (!v.is_array()) fail(p, "expected an array of poll bit names, found " + type_name(v));
                unsigned set = 0, clear = 0;
                for (size_t i = 0; i < v.size(); ++i) {
                    auto pi = p + "[" + std::to_string(i) + "]";
                    auto s = string_of(v[i], pi);
                    bool neg = !s.empty() && s[0] == '!';
                    auto b = names::poll_bit(neg ? s.substr(1) : s);
                    if (!b) fail(pi, "unknown poll bit \"" + s + "\"");
                    (neg ? clear : set) |= *b;
                }
                o.revents = set;
                // An empty list means: nothing set.
                // An empty list means: nothing set (as an expectation; an observation is exact anyway).
                if (v.empty() && expectation)
                    clear = names::P_IN | names::P_PRI | names::P_OUT | names::P_ERR | names::P_HUP | names::P_NVAL;
                if (clear) o.revents_clear = clear;
            } else if (k == "exit") {
                if (v.is_null()) o.exit = std::optional<WaitStatus>{};
                else o.exit = std::optional<WaitStatus>{status_of(v, p)};
            } else if (k == "value") {
                o.value = int_of(v, p, -(1LL << 40), 1LL << 40);
            } else if (k == "euid") {
                o.euid = static_cast<int>(int_of(v, p, 0, 0x7fffffffLL));  // stored as int: no wrap to negative
            } else if (k == "pending") {
                o.pending = bool_of(v, p);
            } else if (k == "state") {
                auto s = string_of(v, p);
                if (s != "running" && s != "zombie" && s != "reaped")
                    fail(p, "unknown state \"" + s + "\" (running, zombie or reaped)");
                o.state = s;
            } else if (k == "parent") {
                o.parent = ident_of(v, p);
            } else if (k == "exit_signal") {
                if (v.is_number_integer()) o.exit_signal = static_cast<int>(int_of(v, p, -1, 255));
                else o.exit_signal = signal_of(v, p);
            } else if (k == "no_new_privs") {
                o.no_new_privs = bool_of(v, p);
            } else if (k == "subreaper") {
                o.subreaper = bool_of(v, p);
            } else if (k == "error") {
                o.error = string_of(v, p);
            } else if (k == "rule") {
                o.rule = string_of(v, p);
            }
        }
        return o;
    }

    Scenario scenario(const json& root) {
        Scenario s;
        s.file = file_;
        if (!root.is_object()) fail("", "a scenario is a JSON object, found " + type_name(root));
        check_keys(root, "", {"name", "description", "kernel", "root", "steps", "final", "violates", "comment"});
        if (root.contains("name")) s.name = string_of(root["name"], "name");
        if (s.name.empty()) s.name = std::filesystem::path(file_).stem().string();
        if (root.contains("description")) s.description = string_of(root["description"], "description");
        if (root.contains("comment")) string_of(root["comment"], "comment");
        if (root.contains("kernel")) {
            s.kernel = string_of(root["kernel"], "kernel");
            if (s.kernel.empty()) fail("kernel", "empty kernel revision");
        }
        if (root.contains("violates")) s.violates = ident_of(root["violates"], "violates");
        if (root.contains("root")) {
            const auto& r = root["root"];
            if (!r.is_object()) fail("root", "expected an object, found " + type_name(r));
            check_keys(r, "root", {"uid", "caps"});
            if (r.contains("uid")) s.root_uid = static_cast<int>(int_of(r["uid"], "root.uid", 0, 65535));
            if (r.contains("caps")) {
                auto c = string_of(r["caps"], "root.caps");
                if (c != "all" && c != "none") fail("root.caps", "expected \"all\" or \"none\", found \"" + c + "\"");
                s.root_caps = c == "all";
            }
        }
        const auto& steps = need(root, "", "steps");
        if (!steps.is_array()) fail("steps", "expected an array, found " + type_name(steps));
        if (steps.size() > kMaxSteps) fail("steps", "more than " + std::to_string(kMaxSteps) + " steps");
        tasks_ = {"init", "T"};
        for (size_t i = 0; i < steps.size(); ++i) s.steps.push_back(step(steps[i], "steps[" + std::to_string(i) + "]"));
        s.tasks = tasks_;
        if (root.contains("final")) {
            const auto& f = root["final"];
            if (!f.is_object()) fail("final", "expected an object, found " + type_name(f));
            for (auto it = f.begin(); it != f.end(); ++it) {
                auto p = "final." + it.key();
                if (!known_task(it.key())) fail(p, "undefined task \"" + it.key() + "\"");
                s.final.emplace_back(it.key(), observation(*it, p, true));
            }
        }
        return s;
    }

private:
    bool known_task(const std::string& n) const { return std::find(tasks_.begin(), tasks_.end(), n) != tasks_.end(); }

    std::string task_ref(const json& j, const std::string& p) const {
        auto n = ident_of(j, p);
        if (!known_task(n)) fail(p, "undefined task \"" + n + "\" (not created by an earlier step)");
        return n;
    }
    std::string new_task(const json& j, const std::string& p) {
        auto n = ident_of(j, p);
        if (known_task(n)) fail(p, "duplicate task name \"" + n + "\"");
        if (tasks_.size() >= kMaxTasks) fail(p, "more than " + std::to_string(kMaxTasks) + " tasks");
        tasks_.push_back(n);
        return n;
    }
    std::string fd_ref(const json& j, const std::string& p) const {
        auto n = ident_of(j, p);
        if (!fds_.count(n)) fail(p, "undefined fd \"" + n + "\" (not opened by an earlier step)");
        return n;
    }
    std::string new_fd(const json& j, const std::string& p) {
        auto n = ident_of(j, p);
        fds_.insert(n);
        return n;
    }

    void clone_flags(const json& j, const std::string& p, Step& st) const {
        if (!j.is_array()) fail(p, "expected an array of clone flag names, found " + type_name(j));
        for (size_t i = 0; i < j.size(); ++i) {
            auto pi = p + "[" + std::to_string(i) + "]";
            uint64_t bits = 0;
            if (j[i].is_number_unsigned() || j[i].is_number_integer()) {
                bits = static_cast<uint64_t>(int_of(j[i], pi, 1, (1LL << 62)));
            } else if (j[i].is_string() && j[i].get<std::string>().rfind("0x", 0) == 0) {
                auto s = j[i].get<std::string>();
                // Hex digits only: no sign, no blanks, no second "0x", at most 64 bits, not 0.
                auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), bits, 16);
                if (s.size() == 2 || ec != std::errc{} || end != s.data() + s.size() || bits == 0)
                    fail(pi, "bad hexadecimal flag value \"" + s + "\"");
            } else {
                auto s = string_of(j[i], pi);
                auto b = names::clone_flag(s);
                if (!b) fail(pi, "unknown clone flag \"" + s + "\"");
                if (*b == names::CF_VFORK) fail(pi, "CLONE_VFORK is not supported: the parent would block");
                st.flags |= *b;
                continue;
            }
            // A number is an ABI value. Bits below 34 mean the same in every revision;
            // bits 34 and up are decoded by the kernel revision that runs the step.
            constexpr uint64_t kRevisionBits = ~((1ULL << 34) - 1);
            if (bits & 0xff) fail(pi, "CSIGNAL bits are given with exit_signal, not in flags");
            st.flags |= bits & ~kRevisionBits;
            st.raw_flags |= bits & kRevisionBits;
        }
    }

    Step step(const json& j, const std::string& path) {
        if (!j.is_object()) fail(path, "a step is an object, found " + type_name(j));
        Step st;
        auto opname = string_of(need(j, path, "op"), path + ".op");
        const OpInfo* info = nullptr;
        for (const auto& oi : op_table())
            if (opname == oi.name) info = &oi;
        if (!info) fail(path + ".op", "unknown op \"" + opname + "\"");
        st.op = info->op;
        std::vector<const char*> allowed = {"task", "op", "expect", "comment"};
        allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
        check_keys(j, path, allowed);
        st.task = task_ref(need(j, path, "task"), path + ".task");
        auto has = [&](const char* k) { return j.contains(k); };
        auto at = [&](const char* k) -> const json& { return j[k]; };
        auto p = [&](const char* k) { return path + "." + k; };

        switch (st.op) {
            case Op::Fork:
            case Op::ThreadCreate:
                st.child = new_task(need(j, path, "child"), p("child"));
                break;
            case Op::Clone3:
            case Op::Clone: {
                if (has("flags")) clone_flags(at("flags"), p("flags"), st);
                if (has("exit_signal")) {
                    if (at("exit_signal").is_number_integer())
                        st.exit_signal = static_cast<int>(int_of(at("exit_signal"), p("exit_signal"), 0,
                                                                 st.op == Op::Clone ? 255 : 1023));
                    else
                        st.exit_signal = signal_of(at("exit_signal"), p("exit_signal"));
                } else {
                    st.exit_signal = st.op == Op::Clone ? names::kSIGCHLD : 0;
                }
                st.child = new_task(need(j, path, "child"), p("child"));
                if (st.flags & names::CF_PIDFD) {
                    st.new_fd = new_fd(need(j, path, "pidfd"), p("pidfd"));
                } else if (has("pidfd")) {
                    if (!st.raw_flags) fail(p("pidfd"), "a pidfd name without CLONE_PIDFD in flags");
                    st.new_fd = new_fd(at("pidfd"), p("pidfd"));
                }
                break;
            }
            case Op::Exit:
            case Op::ExitGroup:
                if (has("code")) st.code = static_cast<int>(int_of(at("code"), p("code"), 0, 255));
                break;
            case Op::Kill:
                st.target = task_ref(need(j, path, "target"), p("target"));
                st.sig = signal_of(need(j, path, "sig"), p("sig"), 255);
                if (st.sig == names::kSIGSTOP || st.sig == 20 || st.sig == 21 || st.sig == 22)
                    fail(p("sig"), "stop signals are not modelled");
                break;
            case Op::PidfdSendSignal:
                st.fd = fd_ref(need(j, path, "fd"), p("fd"));
                st.sig = signal_of(need(j, path, "sig"), p("sig"), 255);
                if (st.sig == names::kSIGSTOP || st.sig == 20 || st.sig == 21 || st.sig == 22)
                    fail(p("sig"), "stop signals are not modelled");
                break;
            case Op::Sigaction: {
                st.sig = signal_of(need(j, path, "sig"), p("sig"));
                if (st.sig == 0) fail(p("sig"), "sigaction needs a signal");
                auto h = string_of(need(j, path, "handler"), p("handler"));
                if (h == "SIG_DFL") st.handler = Handler::Dfl;
                else if (h == "SIG_IGN") st.handler = Handler::Ign;
                else if (h == "catch") st.handler = Handler::Catch;
                else fail(p("handler"), "unknown handler \"" + h + "\" (SIG_DFL, SIG_IGN or catch)");
                if (has("flags")) st.flags = bits_of(at("flags"), p("flags"), "sigaction flag", names::sigaction_flag);
                break;
            }
            case Op::Waitpid: {
                const auto& t = need(j, path, "target");
                if (t.is_number_integer()) {
                    if (int_of(t, p("target"), -1, -1) == -1) st.target_any = true;
                } else {
                    st.target = task_ref(t, p("target"));
                }
                if (has("options")) st.options = bits_of(at("options"), p("options"), "wait option", names::wait_option);
                break;
            }
            case Op::Waitid: {
                auto id = string_of(need(j, path, "idtype"), p("idtype"));
                if (id == "P_PID") {
                    st.idtype = IdType::Pid;
                    st.target = task_ref(need(j, path, "target"), p("target"));
                    if (has("fd")) fail(p("fd"), "P_PID takes a target, not an fd");
                } else if (id == "P_ALL") {
                    st.idtype = IdType::All;
                    st.target_any = true;
                    if (has("target") || has("fd")) fail(path, "P_ALL takes neither a target nor an fd");
                } else if (id == "P_PIDFD") {
                    st.idtype = IdType::Pidfd;
                    st.fd = fd_ref(need(j, path, "fd"), p("fd"));
                    if (has("target")) fail(p("target"), "P_PIDFD takes an fd, not a target");
                } else {
                    fail(p("idtype"), "unknown idtype \"" + id + "\" (P_PID, P_ALL or P_PIDFD)");
                }
                if (has("options")) st.options = bits_of(at("options"), p("options"), "wait option", names::wait_option);
                break;
            }
            case Op::PidfdOpen:
                st.target = task_ref(need(j, path, "target"), p("target"));
                if (has("flags")) st.flags = bits_of(at("flags"), p("flags"), "pidfd_open flag", names::pidfd_flag);
                st.new_fd = new_fd(need(j, path, "fd"), p("fd"));
                break;
            case Op::Close:
            case Op::Poll:
            case Op::PidfdGetInfo:
                st.fd = fd_ref(need(j, path, "fd"), p("fd"));
                break;
            case Op::Dup:
                st.fd = fd_ref(need(j, path, "fd"), p("fd"));
                st.new_fd = new_fd(need(j, path, "as"), p("as"));
                break;
            case Op::Prctl: {
                auto o = string_of(need(j, path, "option"), p("option"));
                static const std::vector<std::pair<const char*, PrctlOption>> opts = {
                    {"PR_SET_CHILD_SUBREAPER", PrctlOption::SetChildSubreaper},
                    {"PR_GET_CHILD_SUBREAPER", PrctlOption::GetChildSubreaper},
                    {"PR_SET_NO_NEW_PRIVS", PrctlOption::SetNoNewPrivs},
                    {"PR_GET_NO_NEW_PRIVS", PrctlOption::GetNoNewPrivs},
                    {"PR_SET_PDEATHSIG", PrctlOption::SetPdeathsig},
                    {"PR_GET_PDEATHSIG", PrctlOption::GetPdeathsig},
                };
                bool found = false;
                for (const auto& [n, v] : opts)
                    if (o == n) st.prctl = v, found = true;
                if (!found) fail(p("option"), "unknown prctl option \"" + o + "\"");
                bool setter = st.prctl == PrctlOption::SetChildSubreaper || st.prctl == PrctlOption::SetNoNewPrivs ||
                              st.prctl == PrctlOption::SetPdeathsig;
                if (setter) {
                    const auto& v = need(j, path, "value");
                    if (st.prctl == PrctlOption::SetPdeathsig && v.is_string())
                        st.value = signal_of(v, p("value"));
                    else
                        st.value = int_of(v, p("value"), 0, 255);
                } else if (has("value")) {
                    fail(p("value"), "a getter takes no value");
                }
                break;
            }
            case Op::DropPrivileges:
            case Op::Setresuid:
                st.uid = static_cast<int>(int_of(need(j, path, "uid"), p("uid"), 0, 65535));
                break;
            case Op::Execve:
                if (has("setuid_root")) st.setuid_root = bool_of(at("setuid_root"), p("setuid_root"));
                if (has("keep_fds")) st.keep_fds = bool_of(at("keep_fds"), p("keep_fds"));
                break;
            case Op::Ptrace: {
                auto r = string_of(need(j, path, "request"), p("request"));
                if (r == "PTRACE_SEIZE") st.ptrace = PtraceRequest::Seize;
                else if (r == "PTRACE_DETACH") st.ptrace = PtraceRequest::Detach;
                else fail(p("request"), "unknown ptrace request \"" + r + "\" (PTRACE_SEIZE or PTRACE_DETACH)");
                st.target = task_ref(need(j, path, "target"), p("target"));
                if (has("options")) {
                    if (st.ptrace != PtraceRequest::Seize) fail(p("options"), "options go with PTRACE_SEIZE");
                    st.ptrace_options = bits_of(at("options"), p("options"), "ptrace option", [](const std::string& n) -> std::optional<unsigned> {
                        if (n == "PTRACE_O_EXITKILL") return kPTRACE_O_EXITKILL;
                        return std::nullopt;
                    });
                }
                break;
            }
            case Op::SignalPending:
                st.sig = signal_of(need(j, path, "sig"), p("sig"));
                if (st.sig == 0) fail(p("sig"), "signal_pending needs a signal");
                break;
            case Op::Observe:
                st.target = task_ref(need(j, path, "target"), p("target"));
                break;
        }
        if (j.contains("comment")) string_of(j["comment"], p("comment"));
        if (j.contains("expect")) st.expect = observation(j["expect"], p("expect"), false);
        return st;
    }

    std::string file_;
    std::vector<std::string> tasks_;
    std::set<std::string> fds_;
};

struct DepthLimit {};
struct DuplicateKey {
    std::string path, key;
};

// Tracks where the parser is (for the JSON path of an error) and the keys each
// open object has seen: a key given twice is ambiguous, so it is an error.
class KeyTracker {
public:
    void event(json::parse_event_t ev, const json& parsed) {
        using E = json::parse_event_t;
        switch (ev) {
            case E::object_start:
            case E::array_start:
                element();
                frames_.push_back({ev == E::array_start, -1, {}, {}});
                break;
            case E::object_end:
            case E::array_end:
                if (!frames_.empty()) frames_.pop_back();
                break;
            case E::key: {
                auto& f = frames_.back();
                f.key = parsed.get<std::string>();
                if (std::find(f.seen.begin(), f.seen.end(), f.key) != f.seen.end()) throw DuplicateKey{path(), f.key};
                f.seen.push_back(f.key);
                break;
            }
            case E::value: element(); break;
        }
    }

private:
    struct Frame {
        bool array;
        long index;
        std::string key;
        std::vector<std::string> seen;
    };
    void element() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }
    std::string path() const {
        std::string p;
        for (const auto& f : frames_) {
            if (&f == &frames_.back()) break;
            if (f.array) p += "[" + std::to_string(f.index) + "]";
            else p += (p.empty() ? "" : ".") + f.key;
        }
        return p;
    }
    std::vector<Frame> frames_;
};

std::string line_col(const std::string& text, size_t byte) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
        if (text[i] == '\n') ++line, col = 1;
        else ++col;
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

ordered_json status_json(const WaitStatus& s) {
    if (s.signaled) return ordered_json{{"signaled", names::signal_name(s.value)}};
    return ordered_json{{"exited", s.value}};
}

ordered_json signal_json(int sig) {
    if (sig <= 0) return sig;
    auto n = names::signal_name(sig);
    if (n == std::to_string(sig)) return sig;
    return n;
}

}  // namespace

const char* op_name(Op op) {
    for (const auto& oi : op_table())
        if (oi.op == op) return oi.name;
    return "?";
}

bool Observation::operator==(const Observation& o) const {
    return ret == o.ret && err == o.err && pid == o.pid && status == o.status && revents == o.revents &&
           revents_clear == o.revents_clear && exit == o.exit && value == o.value && euid == o.euid &&
           pending == o.pending && state == o.state && parent == o.parent && exit_signal == o.exit_signal &&
           no_new_privs == o.no_new_privs && subreaper == o.subreaper && error == o.error;
}

Scenario parse_scenario(const std::string& text, const std::string& file) {
    if (text.size() > kMaxFileBytes)
        throw FormatError(file, "", "file too large (" + std::to_string(text.size()) + " bytes; the limit is " +
                                        std::to_string(kMaxFileBytes) + ")");
    // nlohmann::json stops at a NUL byte as if the input ended there: reject it
    // rather than ignore whatever follows.
    if (auto nul = text.find('\0'); nul != std::string::npos)
        throw FormatError(file, "", "malformed JSON at " + line_col(text, nul) + ": a NUL byte");
    json root;
    try {
        KeyTracker keys;
        json::parser_callback_t cb = [&keys](int depth, json::parse_event_t ev, json& parsed) {
            if (depth > kMaxDepth) throw DepthLimit{};
            keys.event(ev, parsed);
            return true;
        };
        root = json::parse(text, cb);
    } catch (const DepthLimit&) {
        throw FormatError(file, "", "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    } catch (const DuplicateKey& d) {
        throw FormatError(file, d.path.empty() ? d.key : d.path + "." + d.key, "duplicate key \"" + d.key + "\"");
    } catch (const json::parse_error& e) {
        std::string what = e.what();
        auto pos = what.find("syntax error");
        // e.byte counts the offending byte itself (1-based).
        throw FormatError(file, "", "malformed JSON at " + line_col(text, e.byte > 0 ? e.byte - 1 : 0) + ": " +
                                        (pos == std::string::npos ? what : what.substr(pos)));
    } catch (const json::exception& e) {
        throw FormatError(file, "", std::string("malformed JSON: ") + e.what());
    }
    return Reader(file).scenario(root);
}

Scenario load_scenario_file(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw FormatError(path, "", "not a readable file");
    auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxFileBytes)
        throw FormatError(path, "", "file too large (" + std::to_string(size) + " bytes; the limit is " +
                                        std::to_string(kMaxFileBytes) + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(path, "", "cannot open the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_scenario(ss.str(), path);
}

std::vector<std::string> collect_scenario_files(const std::vector<std::string>& paths) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    for (const auto& p : paths) {
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            std::vector<std::string> found;
            for (fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
                 !ec && it != end; it.increment(ec)) {
                if (it->is_regular_file(ec) && it->path().extension() == ".json") found.push_back(it->path().string());
            }
            if (ec) throw FormatError(p, "", "cannot read the directory: " + ec.message());
            std::sort(found.begin(), found.end());
            out.insert(out.end(), found.begin(), found.end());
        } else if (fs::exists(p, ec)) {
            out.push_back(p);
        } else {
            throw FormatError(p, "", "no such file or directory");
        }
    }
    return out;
}

ordered_json to_json(const Observation& o) {
    ordered_json j = ordered_json::object();
    if (o.error) j["error"] = *o.error;
    if (o.ret) {
        if (o.ret->ok) j["ret"] = "ok";
        else j["ret"] = o.ret->value;
    }
    if (o.err) j["errno"] = names::errno_name(*o.err);
    if (o.pid) j["pid"] = *o.pid;
    if (o.status) j["status"] = status_json(*o.status);
    if (o.revents || o.revents_clear) {
        ordered_json r = ordered_json::array();
        for (auto& n : names::poll_names(o.revents.value_or(0))) r.push_back(n);
        unsigned all = names::P_IN | names::P_PRI | names::P_OUT | names::P_ERR | names::P_HUP | names::P_NVAL;
        if (o.revents_clear && !(o.revents.value_or(0) == 0 && *o.revents_clear == all))
            for (auto& n : names::poll_names(*o.revents_clear)) r.push_back("!" + n);
        j["revents"] = r;
    }
    if (o.exit) j["exit"] = *o.exit ? status_json(**o.exit) : ordered_json(nullptr);
    if (o.value) j["value"] = *o.value;
    if (o.pending) j["pending"] = *o.pending;
    if (o.state) j["state"] = *o.state;
    if (o.parent) j["parent"] = *o.parent;
    if (o.exit_signal) j["exit_signal"] = signal_json(*o.exit_signal);
    if (o.no_new_privs) j["no_new_privs"] = *o.no_new_privs;
    if (o.euid) j["euid"] = *o.euid;
    if (o.subreaper) j["subreaper"] = *o.subreaper;
    return j;
}

Observation observation_from_json(const json& j, const std::string& file, const std::string& path) {
    return Reader(file).observation(j, path, false, false);
}

ordered_json to_json(const Step& s) {
    ordered_json j;
    j["task"] = s.task;
    j["op"] = op_name(s.op);
    auto flag_list = [](uint64_t flags, uint64_t raw) {
        ordered_json a = ordered_json::array();
        for (uint64_t b = 1; b; b <<= 1)
            if (flags & b) a.push_back(names::clone_flags_string(b));
        if (raw) {
            char buf[32];
            snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(raw));
            a.push_back(buf);
        }
        return a;
    };
    auto bit_list = [](unsigned bits, auto namer) {
        ordered_json a = ordered_json::array();
        for (unsigned b = 1; b; b <<= 1)
            if (bits & b) a.push_back(namer(b));
        return a;
    };
    switch (s.op) {
        case Op::Fork:
        case Op::ThreadCreate: j["child"] = s.child; break;
        case Op::Clone3:
        case Op::Clone:
            j["flags"] = flag_list(s.flags, s.raw_flags);
            j["exit_signal"] = signal_json(s.exit_signal);
            j["child"] = s.child;
            if (!s.new_fd.empty()) j["pidfd"] = s.new_fd;
            break;
        case Op::Exit:
        case Op::ExitGroup: j["code"] = s.code; break;
        case Op::Kill: j["target"] = s.target; j["sig"] = signal_json(s.sig); break;
        case Op::PidfdSendSignal: j["fd"] = s.fd; j["sig"] = signal_json(s.sig); break;
        case Op::Sigaction:
            j["sig"] = signal_json(s.sig);
            j["handler"] = s.handler == Handler::Dfl ? "SIG_DFL" : s.handler == Handler::Ign ? "SIG_IGN" : "catch";
            if (s.flags) j["flags"] = bit_list(static_cast<unsigned>(s.flags), [](unsigned b) -> std::string {
                switch (b) { case 1: return "SA_NOCLDSTOP"; case 2: return "SA_NOCLDWAIT"; case 4: return "SA_SIGINFO"; default: return "SA_RESTART"; }
            });
            break;
        case Op::Waitpid:
            if (s.target_any) j["target"] = -1;
            else j["target"] = s.target;
            j["options"] = bit_list(s.options, [](unsigned b) { return names::wait_options_string(b); });
            break;
        case Op::Waitid:
            j["idtype"] = s.idtype == IdType::Pid ? "P_PID" : s.idtype == IdType::All ? "P_ALL" : "P_PIDFD";
            if (s.idtype == IdType::Pid) j["target"] = s.target;
            if (s.idtype == IdType::Pidfd) j["fd"] = s.fd;
            j["options"] = bit_list(s.options, [](unsigned b) { return names::wait_options_string(b); });
            break;
        case Op::PidfdOpen:
            j["target"] = s.target;
            j["flags"] = bit_list(static_cast<unsigned>(s.flags), [](unsigned b) {
                return std::string(b == names::kPIDFD_THREAD ? "PIDFD_THREAD" : "PIDFD_NONBLOCK");
            });
            j["fd"] = s.new_fd;
            break;
        case Op::Close:
        case Op::Poll:
        case Op::PidfdGetInfo: j["fd"] = s.fd; break;
        case Op::Dup: j["fd"] = s.fd; j["as"] = s.new_fd; break;
        case Op::Prctl: {
            static const char* n[] = {"PR_SET_CHILD_SUBREAPER", "PR_GET_CHILD_SUBREAPER", "PR_SET_NO_NEW_PRIVS",
                                      "PR_GET_NO_NEW_PRIVS", "PR_SET_PDEATHSIG", "PR_GET_PDEATHSIG"};
            j["option"] = n[static_cast<int>(s.prctl)];
            if (s.prctl == PrctlOption::SetPdeathsig) j["value"] = signal_json(static_cast<int>(s.value));
            else if (s.prctl == PrctlOption::SetChildSubreaper || s.prctl == PrctlOption::SetNoNewPrivs) j["value"] = s.value;
            break;
        }
        case Op::DropPrivileges:
        case Op::Setresuid: j["uid"] = s.uid; break;
        case Op::Execve:
            j["setuid_root"] = s.setuid_root;
            if (s.keep_fds) j["keep_fds"] = true;
            break;
        case Op::Ptrace:
            j["request"] = s.ptrace == PtraceRequest::Seize ? "PTRACE_SEIZE" : "PTRACE_DETACH";
            j["target"] = s.target;
            if (s.ptrace_options) j["options"] = bit_list(s.ptrace_options, [](unsigned b) {
                (void)b;
                return std::string("PTRACE_O_EXITKILL");
            });
            break;
        case Op::SignalPending: j["sig"] = signal_json(s.sig); break;
        case Op::Observe: j["target"] = s.target; break;
    }
    if (s.expect) j["expect"] = to_json(*s.expect);
    return j;
}

ordered_json to_json(const Scenario& s) {
    ordered_json j;
    j["name"] = s.name;
    if (!s.description.empty()) j["description"] = s.description;
    if (!s.kernel.empty()) j["kernel"] = s.kernel;
    if (!s.violates.empty()) j["violates"] = s.violates;
    if (s.root_uid != 0 || !s.root_caps) j["root"] = ordered_json{{"uid", s.root_uid}, {"caps", s.root_caps ? "all" : "none"}};
    j["steps"] = ordered_json::array();
    for (const auto& st : s.steps) j["steps"].push_back(to_json(st));
    if (!s.final.empty()) {
        j["final"] = ordered_json::object();
        for (const auto& [n, o] : s.final) j["final"][n] = to_json(o);
    }
    return j;
}

namespace {

std::string show_revents(const Observation& o) {
    std::string out;
    for (auto& n : names::poll_names(o.revents.value_or(0))) out += (out.empty() ? "" : "|") + n;
    return out.empty() ? "0" : out;
}

std::string show_status(const std::optional<WaitStatus>& s) {
    if (!s) return "none";
    return s->signaled ? "signaled " + names::signal_name(s->value) : "exited " + std::to_string(s->value);
}

std::string show_ret(const Ret& r) { return r.ok ? "ok" : std::to_string(r.value); }

}  // namespace

std::vector<Mismatch> compare(const Observation& e, const Observation& o) {
    std::vector<Mismatch> out;
    auto absent = std::string("(absent)");
    if (o.error && !e.error) {
        out.push_back({"error", "no error", *o.error});
        return out;
    }
    if (e.error && (!o.error || *e.error != *o.error)) out.push_back({"error", *e.error, o.error.value_or("(none)")});
    if (e.ret && (!o.ret || !(*e.ret == *o.ret)))
        out.push_back({"ret", show_ret(*e.ret), o.ret ? show_ret(*o.ret) : absent});
    if (e.err && e.err != o.err)
        out.push_back({"errno", names::errno_name(*e.err), o.err ? names::errno_name(*o.err) : "(none)"});
    if (e.pid && e.pid != o.pid) out.push_back({"pid", *e.pid, o.pid.value_or("(none)")});
    if (e.status && e.status != o.status)
        out.push_back({"status", show_status(e.status), o.status ? show_status(o.status) : "(none)"});
    if (e.revents || e.revents_clear) {
        unsigned got = o.revents.value_or(0);
        unsigned want = e.revents.value_or(0), clear = e.revents_clear.value_or(0);
        if (!o.revents || (got & want) != want || (got & clear) != 0) {
            Observation tmp;
            tmp.revents = want;
            tmp.revents_clear = clear;
            out.push_back({"revents", to_json(tmp)["revents"].dump(), o.revents ? show_revents(o) : absent});
        }
    }
    if (e.exit && (!o.exit || *e.exit != *o.exit))
        out.push_back({"exit", show_status(*e.exit), o.exit ? show_status(*o.exit) : absent});
    if (e.value && e.value != o.value)
        out.push_back({"value", std::to_string(*e.value), o.value ? std::to_string(*o.value) : absent});
    if (e.euid && e.euid != o.euid) out.push_back({"euid", std::to_string(*e.euid), o.euid ? std::to_string(*o.euid) : absent});
    if (e.pending && e.pending != o.pending)
        out.push_back({"pending", *e.pending ? "true" : "false", o.pending ? (*o.pending ? "true" : "false") : absent});
    if (e.state && e.state != o.state) out.push_back({"state", *e.state, o.state.value_or(absent)});
    if (e.parent && e.parent != o.parent) out.push_back({"parent", *e.parent, o.parent.value_or(absent)});
    if (e.exit_signal && e.exit_signal != o.exit_signal)
        out.push_back({"exit_signal", names::signal_name(*e.exit_signal),
                       o.exit_signal ? names::signal_name(*o.exit_signal) : absent});
    if (e.no_new_privs && e.no_new_privs != o.no_new_privs)
        out.push_back({"no_new_privs", *e.no_new_privs ? "true" : "false",
                       o.no_new_privs ? (*o.no_new_privs ? "true" : "false") : absent});
    if (e.subreaper && e.subreaper != o.subreaper)
        out.push_back({"subreaper", *e.subreaper ? "true" : "false",
                       o.subreaper ? (*o.subreaper ? "true" : "false") : absent});
    return out;
}

ordered_json to_json(const RunResult& r) {
    ordered_json j;
    j["scenario"] = r.scenario;
    j["file"] = r.file;
    j["kernel"] = r.kernel;
    j["steps"] = ordered_json::array();
    for (const auto& o : r.steps) j["steps"].push_back(to_json(o));
    j["final"] = ordered_json::object();
    for (const auto& [n, o] : r.final) j["final"][n] = to_json(o);
    if (r.aborted) j["aborted"] = *r.aborted;
    return j;
}

RunResult run_result_from_json(const json& j, const std::string& file) {
    Reader rd(file);
    if (!j.is_object()) rd.fail("", "a run result is an object");
    RunResult r;
    r.scenario = rd.string_of(rd.need(j, "", "scenario"), "scenario");
    if (j.contains("file")) r.file = rd.string_of(j["file"], "file");
    r.kernel = rd.string_of(rd.need(j, "", "kernel"), "kernel");
    const auto& steps = rd.need(j, "", "steps");
    if (!steps.is_array()) rd.fail("steps", "expected an array");
    for (size_t i = 0; i < steps.size(); ++i)
        r.steps.push_back(rd.observation(steps[i], "steps[" + std::to_string(i) + "]", false, false));
    if (j.contains("final")) {
        if (!j["final"].is_object()) rd.fail("final", "expected an object");
        for (auto it = j["final"].begin(); it != j["final"].end(); ++it)
            r.final[it.key()] = rd.observation(*it, "final." + it.key(), false, false);
    }
    if (j.contains("aborted")) r.aborted = rd.string_of(j["aborted"], "aborted");
    return r;
}

std::string describe_step(const Step& s) {
    std::string out = s.task + " " + op_name(s.op);
    auto j = to_json(s);
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "task" || it.key() == "op" || it.key() == "expect") continue;
        std::string v;
        if (it->is_array()) {
            for (const auto& e : *it) v += (v.empty() ? "" : "|") + (e.is_string() ? e.get<std::string>() : e.dump());
            if (v.empty()) v = "0";
        } else {
            v = it->is_string() ? it->get<std::string>() : it->dump();
        }
        out += " " + it.key() + "=" + v;
    }
    return out;
}

std::string describe_observation(const Observation& o) {
    auto j = to_json(o);
    std::string out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        std::string v;
        if (it.key() == "revents") v = show_revents(o);
        else if (it.key() == "status") v = show_status(o.status);
        else if (it.key() == "exit") v = show_status(*o.exit);
        else v = it->is_string() ? it->get<std::string>() : it->dump();
        out += (out.empty() ? "" : " ") + it.key() + "=" + v;
    }
    return out;
}

}  // namespace pidlab::scenario
