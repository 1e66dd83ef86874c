#include "model/replay.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

#include "format/names.hpp"

namespace pidlab::model {

using scenario::Observation;
using scenario::Op;
using scenario::Step;

namespace {

std::string step_path(size_t i) { return "steps[" + std::to_string(i) + "]"; }

scenario::WaitStatus decode_status(int status) {
    if ((status & 0x7f) == 0) return {false, (status >> 8) & 0xff};
    return {true, status & 0x7f};
}

const char* state_name(ExitState e) {
    switch (e) {
        case ExitState::Running: return "running";
        case ExitState::Zombie:
        case ExitState::Trace: return "zombie";
        default: return "reaped";
    }
}

}  // namespace

bool ReplayResult::passed() const { return !error && mismatch_count() == 0; }

size_t ReplayResult::mismatch_count() const {
    size_t n = 0;
    for (const auto& s : steps) n += s.mismatches.empty() ? 0 : 1;
    for (const auto& f : final_mismatches) n += f.second.empty() ? 0 : 1;
    return n;
}

scenario::RunResult ReplayResult::run_result() const {
    scenario::RunResult r;
    r.scenario = scenario;
    r.file = file;
    r.kernel = profile;
    for (const auto& s : steps) r.steps.push_back(s.obs);
    r.final = final;
    if (error) r.aborted = error->what();
    return r;
}

Replayer::Replayer(const scenario::Scenario& s, const Profile& p)
    : s_(s), k_(p, Cred{s.root_uid, s.root_uid, s.root_uid, s.root_caps, s.root_uid}), foreign_(!profile_matches(p, s.kernel)) {
    ids_["init"] = kInit;
    ids_["T"] = kTest;
    names_ = {"init", "T"};
    fds_[k_.task(kInit).files];
    fds_[k_.task(kTest).files];
}

TaskId Replayer::task_id(const std::string& name) const {
    auto it = ids_.find(name);
    return it == ids_.end() ? kNoTask : it->second;
}

const std::string& Replayer::task_name(TaskId t) const {
    static const std::string none = "?";
    return t >= 0 && t < static_cast<TaskId>(names_.size()) ? names_[t] : none;
}

void Replayer::scenario_error(size_t i, const std::string& key, const std::string& problem) const {
    throw scenario::FormatError(s_.file, step_path(i) + (key.empty() ? "" : "." + key), problem);
}

Observation Replayer::unrunnable(size_t i, const std::string& key, const std::string& problem, const char* code) const {
    Observation o;
    // A step may expect not to run (`"expect": {"error": "would block"}`): the short code, when
    // there is one, is what it observes.
    const auto& expect = s_.steps.at(i).expect;
    if (expect && expect->error) {
        o.error = code ? code : problem;
        return o;
    }
    if (!foreign_) scenario_error(i, key, problem);
    o.error = problem;
    return o;
}

int Replayer::fd_number(TaskId t, const std::string& name) const {
    const FdTable* tab = k_.table_of(t);
    if (!tab) return -1;
    int idx = k_.task(t).files;
    auto it = fds_.find(idx);
    if (it == fds_.end()) return -1;
    auto f = it->second.find(name);
    return f == it->second.end() ? -1 : f->second;
}

// Forget names whose fd is no longer open (closed, dropped on exec, table gone).
void Replayer::sync_fd_names() {
    for (auto& [table, names] : fds_) {
        const auto& tables = k_.fd_tables();
        for (auto it = names.begin(); it != names.end();) {
            bool open = table < static_cast<int>(tables.size()) && tables[table].users > 0 &&
                        std::any_of(tables[table].entries.begin(), tables[table].entries.end(),
                                    [&](const FdEntry& e) { return e.fd == it->second; });
            it = open ? std::next(it) : names.erase(it);
        }
    }
}

Observation Replayer::observe(const std::string& name) const {
    Observation o;
    TaskId t = task_id(name);
    if (t == kNoTask) {
        o.error = "task " + name + " was never created";
        return o;
    }
    const Task& task = k_.task(t);
    o.rule = task.last_rule;
    o.state = state_name(task.exit_state);
    if (*o.state == "reaped") return o;
    if (task.real_parent != kNoTask) o.parent = task_name(k_.task(task.real_parent).leader);
    o.exit_signal = task.exit_signal;
    o.no_new_privs = task.no_new_privs;
    o.euid = task.cred.euid;
    if (*o.state == "running") o.subreaper = k_.signal_of(t).is_child_subreaper;
    return o;
}

std::map<std::string, Observation> Replayer::final_observations() const {
    std::map<std::string, Observation> out;
    for (const auto& n : s_.tasks) out[n] = observe(n);
    return out;
}

// The observation of a call that returned (or, with `returned` false, of one whose caller died
// in it: nothing but the rule).
scenario::Observation return_observation(const SysRet& r) {
    Observation o;
    if (r.ret < 0) {
        o.ret = scenario::Ret{false, -1};
        o.err = r.err;
    } else if (r.returns_id) {
        o.ret = scenario::Ret{true, 0};
    } else {
        o.ret = scenario::Ret{false, r.ret};
    }
    return o;
}

scenario::Observation Replayer::call_observation(const SysRet& r, bool returned) const {
    if (!returned) {
        Observation o;
        o.rule = r.rule;
        return o;
    }
    Observation o = return_observation(r);
    o.rule = r.rule;
    if (r.ret >= 0) {
        if (r.status) {
            o.status = decode_status(*r.status);
            o.pid = task_name(r.task);
        }
        if (r.revents) o.revents = *r.revents;
        if (r.has_info_exit)
            o.exit = r.info_exit ? std::optional<scenario::WaitStatus>(decode_status(*r.info_exit)) : std::nullopt;
        if (r.value) o.value = *r.value;
        if (r.euid) o.euid = *r.euid;
        if (r.pending) o.pending = *r.pending;
    }
    return o;
}

StepOutcome Replayer::step(size_t i, bool want_tree) {
    const Step& st = s_.steps.at(i);
    const scenario::OpInfo& info = scenario::op_info(st.op);
    StepOutcome out;
    Observation& o = out.obs;
    auto finish = [&]() -> StepOutcome {
        if (st.expect) out.mismatches = scenario::compare(*st.expect, o);
        if (want_tree) out.tree = tree();
        return std::move(out);
    };
    // A step that cannot run: an error of the scenario on its own kernel (unless it expects the
    // error), an observation elsewhere.
    auto cannot_run = [&](const std::string& key, const std::string& problem, const char* code = nullptr) {
        o = unrunnable(i, key, problem, code);
        return finish();
    };

    Call c;
    static_cast<scenario::StepArgs&>(c) = st;
    c.actor = task_id(st.task);
    if (c.actor == kNoTask)
        return cannot_run("task", "task " + st.task + " was never created (its creation failed at " +
                                      step_path(created_at_.count(st.task) ? created_at_.at(st.task) : 0) + ")");
    switch (k_.refusal(c, false)) {
        case Refusal::NotAlive:
            return cannot_run("task", "task " + st.task + " is not alive (" + state_name(k_.task(c.actor).exit_state) + ")");
        case Refusal::InitNeverExits: scenario_error(i, "op", "init never exits (the scenario format keeps pid 1 alive)");
        case Refusal::WouldBlock:  // not asked: a blocking call is found out by running it (below)
        case Refusal::None: break;
    }
    if (!st.target.empty()) {
        c.target = task_id(st.target);
        if (c.target == kNoTask) return cannot_run("target", "task " + st.target + " was never created");
    }
    if (!st.fd.empty()) {
        c.fd = fd_number(c.actor, st.fd);
        if (c.fd < 0) return cannot_run("fd", "fd " + st.fd + " is not open in " + st.task + "'s fd table");
    }
    c.new_fd = !st.new_fd.empty();
    if (c.new_fd && fd_number(c.actor, st.new_fd) >= 0)
        return cannot_run(st.op == Op::Dup ? "as" : (st.op == Op::PidfdOpen ? "fd" : "pidfd"),
                          "fd name " + st.new_fd + " is already open in " + st.task + "'s fd table");

    if (info.has(scenario::OP_TASK_OBS)) {
        k_.settle();
        o = observe(st.target);
        return finish();
    }
    const int table_before = k_.task(c.actor).files;
    if (info.has(scenario::OP_NEW_TASK)) created_at_[st.child] = i;
    const SysRet r = k_.perform(c);
    if (r.not_modelled) scenario_error(i, "flags", r.rule);
    if (r.would_block) {
        const bool wait = st.op == Op::Waitpid || st.op == Op::Waitid;
        o = unrunnable(i, wait ? "options" : "op",
                       wait ? "the wait would block (no WNOHANG and nothing to report yet)"
                            : std::string("the ") + op_name(st.op) + " would block (" + r.rule + ")",
                       "would block");
        o.rule = r.rule;
        return finish();
    }
    // The names: a new task, a new fd, an fd table that the call replaced (execve).
    if (r.ret >= 0 && info.has(scenario::OP_NEW_TASK)) {
        ids_[st.child] = r.task;
        if (static_cast<TaskId>(names_.size()) <= r.task) names_.resize(r.task + 1);
        names_[r.task] = st.child;
        int ct = k_.task(r.task).files;
        if (!fds_.count(ct)) fds_[ct] = fds_[table_before];
    }
    if (r.ret >= 0 && c.new_fd && r.fd >= 0) fds_[k_.task(c.actor).files][st.new_fd] = r.fd;
    if (const int after = k_.task(c.actor).files; after >= 0 && after != table_before) fds_[after] = fds_[table_before];

    // The call returns unless its caller is dying when the call completes (an exit, or a
    // SIGKILL it brought on itself: delivered before the return to user space). A death
    // that other tasks cause later, while the kernel settles, comes after the return.
    const bool returned = k_.alive(c.actor);
    // fds disappear on close, exec, and with a task's death (its table may go)
    if (k_.settle() > 0 || st.op == Op::Close || st.op == Op::Execve) sync_fd_names();
    o = call_observation(r, returned);
    return finish();
}

// ---------------------------------------------------------------- rendering

std::string Replayer::tree() const {
    std::ostringstream os;
    std::function<void(TaskId, const std::string&, bool, bool)> walk = [&](TaskId t, const std::string& prefix, bool last,
                                                                           bool root) {
        const Task& task = k_.task(t);
        os << prefix;
        if (!root) os << (last ? "└─ " : "├─ ");
        os << task_name(t) << " [" << state_name(task.exit_state) << "]";
        if (task.exit_signal != names::kSIGCHLD) os << " exit_signal=" << names::signal_name(task.exit_signal);
        const auto& sig = k_.signal_of(t);
        if (sig.autoreap) os << " autoreap";
        if (sig.is_child_subreaper) os << " subreaper";
        if (task.no_new_privs) os << " nnp";
        if (task.cred.euid != 0) os << " euid=" << task.cred.euid;
        if (task.ptraced) os << " traced-by=" << task_name(task.parent);
        for (TaskId th : sig.threads)
            if (th != t) os << " +thread " << task_name(th) << (k_.task(th).exit_state == ExitState::Running ? "" : "(zombie)");
        if (!task.children.empty() || true) os << "\n";
        std::vector<TaskId> kids;
        for (TaskId th : sig.threads)
            for (TaskId c : k_.task(th).children) kids.push_back(c);
        if (std::find(sig.threads.begin(), sig.threads.end(), t) == sig.threads.end())
            for (TaskId c : task.children) kids.push_back(c);
        std::string next = root ? "" : prefix + (last ? "   " : "│  ");
        for (size_t j = 0; j < kids.size(); ++j) walk(kids[j], next, j + 1 == kids.size(), false);
    };
    walk(kInit, "", true, true);
    return os.str();
}

std::string Replayer::graphviz() const {
    std::ostringstream os;
    os << "digraph pidlab {\n  node [shape=box, fontname=\"monospace\"];\n";
    for (TaskId t = 0; t < static_cast<TaskId>(k_.tasks().size()); ++t) {
        const Task& task = k_.task(t);
        if (task.exit_state == ExitState::Released || task.exit_state == ExitState::Dead) continue;
        os << "  \"" << task_name(t) << "\" [label=\"" << task_name(t) << "\\n" << state_name(task.exit_state)
           << "\\nexit_signal=" << names::signal_name(task.exit_signal) << (k_.signal_of(t).autoreap ? "\\nautoreap" : "")
           << "\"" << (task.exit_state == ExitState::Zombie ? ", style=dashed" : "") << "];\n";
        if (task.real_parent != kNoTask)
            os << "  \"" << task_name(k_.task(task.real_parent).leader) << "\" -> \"" << task_name(t) << "\";\n";
    }
    os << "}\n";
    return os.str();
}

ReplayResult replay(const scenario::Scenario& s, const Profile& p, const ReplayOptions& opts) {
    ReplayResult res;
    res.file = s.file;
    res.scenario = s.name;
    res.profile = p.describe();
    Replayer rp(s, p);
    res.foreign = rp.foreign();
    size_t n = opts.max_steps < 0 ? s.steps.size() : std::min(s.steps.size(), static_cast<size_t>(opts.max_steps));
    try {
        for (size_t i = 0; i < n; ++i) res.steps.push_back(rp.step(i, opts.trees));
    } catch (const scenario::FormatError& e) {
        res.error = e;
        return res;
    }
    res.final = rp.final_observations();
    for (const auto& [name, expect] : s.final) {
        auto m = scenario::compare(expect, res.final[name]);
        if (!m.empty()) res.final_mismatches.emplace_back(name, std::move(m));
    }
    return res;
}

}  // namespace pidlab::model
