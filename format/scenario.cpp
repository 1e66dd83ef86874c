#include "format/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "format/names.hpp"
#include "format/scenario_reader.hpp"

namespace pidlab::scenario {

using nlohmann::json;
using nlohmann::ordered_json;

FormatError::FormatError(std::string file_, std::string path_, std::string problem_)
    : std::runtime_error(file_ + ": " + (path_.empty() ? std::string("(file)") : path_) + ": " + problem_),
      file(std::move(file_)), path(std::move(path_)), problem(std::move(problem_)) {}

namespace {

using reader::Kind;
using reader::Path;
using reader::Reader;

// nlohmann::json: the reference. Objects are std::maps: members sorted by key,
// no duplicates (the parser callback rejects them).
struct NlohmannDom {
    using Value = const json*;
    static constexpr bool kFast = false;

    static Kind kind(Value v) {
        switch (v->type()) {
            case json::value_t::null: return Kind::Null;
            case json::value_t::object: return Kind::Object;
            case json::value_t::array: return Kind::Array;
            case json::value_t::string: return Kind::String;
            case json::value_t::boolean: return Kind::Bool;
            case json::value_t::number_unsigned: return Kind::Unsigned;
            case json::value_t::number_integer: return Kind::Signed;
            case json::value_t::number_float: return Kind::Float;
            default: return Kind::Other;
        }
    }
    static std::string_view str(Value v) { return v->get_ref<const std::string&>(); }
    static bool boolean(Value v) { return v->get<bool>(); }
    static uint64_t uint(Value v) { return v->get<uint64_t>(); }
    static int64_t sint(Value v) { return v->get<int64_t>(); }
    static size_t size(Value v) { return v->size(); }
    template <class F>
    static void elements(Value arr, F&& f) {
        size_t i = 0;
        for (const auto& e : *arr) f(i++, &e);
    }
    template <class F>
    static void members(Value obj, F&& f) {
        for (auto it = obj->begin(); it != obj->end(); ++it) f(std::string_view(it.key()), &*it);
    }
    template <class F>
    static void sorted_members(Value obj, F&& f) {
        members(obj, f);
    }
    static const json* find(Value obj, std::string_view key) {
        auto it = obj->find(std::string(key));
        return it == obj->end() ? nullptr : &*it;
    }
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
    // string literals: NUL-terminated
    return static_cast<size_t>(op) < kOpCount ? op_info(op).name.data() : "?";
}

bool Observation::operator==(const Observation& o) const {
    return ret == o.ret && err == o.err && pid == o.pid && status == o.status && revents == o.revents &&
           revents_clear == o.revents_clear && exit == o.exit && value == o.value && euid == o.euid &&
           pending == o.pending && state == o.state && parent == o.parent && exit_signal == o.exit_signal &&
           no_new_privs == o.no_new_privs && subreaper == o.subreaper && error == o.error;
}

namespace {

// What both paths check before any JSON is parsed.
void check_text(const std::string& text, const std::string& file) {
    if (text.size() > kMaxFileBytes)
        throw FormatError(file, "", "file too large (" + std::to_string(text.size()) + " bytes; the limit is " +
                                        std::to_string(kMaxFileBytes) + ")");
    // nlohmann::json stops at a NUL byte as if the input ended there: reject it
    // rather than ignore whatever follows.
    if (auto nul = text.find('\0'); nul != std::string::npos)
        throw FormatError(file, "", "malformed JSON at " + line_col(text, nul) + ": a NUL byte");
}

// The reference: nlohmann::json with a parser callback (depth limit, duplicate
// keys), then the Reader. Every error message comes from here.
Scenario parse_with_nlohmann(const std::string& text, const std::string& file) {
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
    } catch (const json::out_of_range& e) {
        // 406: "number overflow parsing 'TOKEN'", thrown without a position: find the token.
        std::string what = e.what();
        auto msg = what.find("number overflow");
        auto q1 = what.find('\'');
        auto q2 = q1 == std::string::npos ? q1 : what.find('\'', q1 + 1);
        std::string at;
        if (q2 != std::string::npos && q2 > q1 + 1)
            if (auto tok = text.find(what.substr(q1 + 1, q2 - q1 - 1)); tok != std::string::npos)
                at = " at " + line_col(text, tok);
        throw FormatError(file, "", "malformed JSON" + at + ": " + (msg == std::string::npos ? what : what.substr(msg)));
    } catch (const json::exception& e) {
        throw FormatError(file, "", std::string("malformed JSON: ") + e.what());
    }
    return Reader<NlohmannDom>(file).scenario(&root);
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file) {
    check_text(text, file);
    if (auto s = reader::parse_fast(text, file)) return std::move(*s);
    return parse_with_nlohmann(text, file);
}

std::optional<Scenario> parse_scenario_fast(const std::string& text, const std::string& file) {
    if (text.size() > kMaxFileBytes || text.find('\0') != std::string::npos) return std::nullopt;
    return reader::parse_fast(text, file);
}

Scenario parse_scenario_reference(const std::string& text, const std::string& file) {
    check_text(text, file);
    return parse_with_nlohmann(text, file);
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
    return Reader<NlohmannDom>(file).observation(&j, Path::text(path), false, false);
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
    const auto wait_options = [&] {
        return bit_list(s.options, [](unsigned b) { return names::wait_options_string(b); });
    };
    for (const ArgSpec& a : op_info(s.op).arg) {
        const std::string key(kStepKeys[a.key]);
        switch (a.kind) {
            case ArgKind::None:
            case ArgKind::ByIdType: break;  // written with the idtype
            case ArgKind::NewTask: j[key] = s.child; break;
            case ArgKind::TaskRef: j[key] = s.target; break;
            case ArgKind::TaskOrAny:
                if (s.target_any) j[key] = -1;
                else j[key] = s.target;
                break;
            case ArgKind::FdRef: j[key] = s.fd; break;
            case ArgKind::NewFd: j[key] = s.new_fd; break;
            case ArgKind::ClonePidfd:
                if (!s.new_fd.empty()) j[key] = s.new_fd;
                break;
            case ArgKind::CloneFlags: j[key] = flag_list(s.flags, s.raw_flags); break;
            case ArgKind::ExitSignal3:
            case ArgKind::ExitSignalLegacy: j[key] = signal_json(s.exit_signal); break;
            case ArgKind::ExitCode: j[key] = s.code; break;
            case ArgKind::SendSignal:
            case ArgKind::SomeSignal: j[key] = signal_json(s.sig); break;
            case ArgKind::Handler:
                j[key] = s.handler == Handler::Dfl ? "SIG_DFL" : s.handler == Handler::Ign ? "SIG_IGN" : "catch";
                break;
            case ArgKind::SigactionFlags:
                if (s.flags) j[key] = bit_list(static_cast<unsigned>(s.flags), [](unsigned b) -> std::string {
                    switch (b) { case 1: return "SA_NOCLDSTOP"; case 2: return "SA_NOCLDWAIT"; case 4: return "SA_SIGINFO"; default: return "SA_RESTART"; }
                });
                break;
            case ArgKind::WaitOptions: j[key] = wait_options(); break;
            case ArgKind::IdType:
                j[key] = s.idtype == IdType::Pid ? "P_PID" : s.idtype == IdType::All ? "P_ALL" : "P_PIDFD";
                if (s.idtype == IdType::Pid) j["target"] = s.target;
                if (s.idtype == IdType::Pidfd) j["fd"] = s.fd;
                break;
            case ArgKind::PidfdFlags:
                j[key] = bit_list(static_cast<unsigned>(s.flags), [](unsigned b) {
                    return std::string(b == names::kPIDFD_THREAD ? "PIDFD_THREAD" : "PIDFD_NONBLOCK");
                });
                break;
            case ArgKind::PrctlOption:
                for (const auto& [n, v] : reader::kPrctlOptions)
                    if (v == s.prctl) j[key] = std::string(n);
                break;
            case ArgKind::PrctlValue:
                if (s.prctl == PrctlOption::SetPdeathsig) j[key] = signal_json(static_cast<int>(s.value));
                else if (reader::prctl_setter(s.prctl)) j[key] = s.value;
                break;
            case ArgKind::Uid: j[key] = s.uid; break;
            case ArgKind::SetuidRoot: j[key] = s.setuid_root; break;
            case ArgKind::KeepFds:
                if (s.keep_fds) j[key] = true;
                break;
            case ArgKind::PtraceRequest: j[key] = s.ptrace == PtraceRequest::Seize ? "PTRACE_SEIZE" : "PTRACE_DETACH"; break;
            case ArgKind::PtraceOptions:
                if (s.ptrace_options) j[key] = bit_list(s.ptrace_options, [](unsigned) { return std::string("PTRACE_O_EXITKILL"); });
                break;
        }
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
    Reader<NlohmannDom> rd(file);
    const auto top = Path::text("");
    if (!j.is_object()) rd.fail(top, "a run result is an object");
    RunResult r;
    r.scenario = rd.string_of(rd.need(&j, top, "scenario"), Path::text("scenario"));
    if (j.contains("file")) r.file = rd.string_of(&j["file"], Path::text("file"));
    r.kernel = rd.string_of(rd.need(&j, top, "kernel"), Path::text("kernel"));
    const auto& steps = *rd.need(&j, top, "steps");
    if (!steps.is_array()) rd.fail(Path::text("steps"), "expected an array");
    const auto sp = Path::text("steps");
    for (size_t i = 0; i < steps.size(); ++i) r.steps.push_back(rd.observation(&steps[i], sp.index(i), false, false));
    if (j.contains("final")) {
        if (!j["final"].is_object()) rd.fail(Path::text("final"), "expected an object");
        const auto fp = Path::text("final");
        for (auto it = j["final"].begin(); it != j["final"].end(); ++it)
            r.final[it.key()] = rd.observation(&*it, fp.key(it.key()), false, false);
    }
    if (j.contains("aborted")) r.aborted = rd.string_of(&j["aborted"], Path::text("aborted"));
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
