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

Handler to_model(scenario::Handler h) {
    switch (h) {
        case scenario::Handler::Dfl: return Handler::Dfl;
        case scenario::Handler::Ign: return Handler::Ign;
        case scenario::Handler::Catch: return Handler::Catch;
    }
    return Handler::Dfl;
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

Observation Replayer::unrunnable(size_t i, const std::string& key, const std::string& problem) const {
    if (!foreign_) scenario_error(i, key, problem);
    Observation o;
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

StepOutcome Replayer::step(size_t i, bool want_tree) {
    const Step& st = s_.steps.at(i);
    StepOutcome out;
    Observation& o = out.obs;
    auto finish = [&]() -> StepOutcome {
        if (st.expect) out.mismatches = scenario::compare(*st.expect, o);
        if (want_tree) out.tree = tree();
        return std::move(out);
    };

    TaskId cur = task_id(st.task);
    if (cur == kNoTask) {
        o = unrunnable(i, "task", "task " + st.task + " was never created (its creation failed at " +
                                      step_path(created_at_.count(st.task) ? created_at_.at(st.task) : 0) + ")");
        return finish();
    }
    if (!k_.alive(cur)) {
        o = unrunnable(i, "task", "task " + st.task + " is not alive (" + state_name(k_.task(cur).exit_state) + ")");
        return finish();
    }
    if (cur == kInit && (st.op == Op::Exit || st.op == Op::ExitGroup))
        scenario_error(i, "op", "init never exits (the scenario format keeps pid 1 alive)");

    auto target_of = [&](const std::string& name, TaskId& t) -> bool {
        t = task_id(name);
        if (t != kNoTask) return true;
        o = unrunnable(i, "target", "task " + name + " was never created");
        return false;
    };
    auto fd_of = [&](const std::string& name, int& fd) -> bool {
        fd = fd_number(cur, name);
        if (fd >= 0) return true;
        o = unrunnable(i, "fd", "fd " + name + " is not open in " + st.task + "'s fd table");
        return false;
    };
    auto new_fd_name_free = [&](const std::string& name) -> bool {
        if (fd_number(cur, name) < 0) return true;
        o = unrunnable(i, st.op == Op::Dup ? "as" : (st.op == Op::PidfdOpen ? "fd" : "pidfd"),
                       "fd name " + name + " is already open in " + st.task + "'s fd table");
        return false;
    };

    SysRet r;
    int table_before = k_.task(cur).files;
    switch (st.op) {
        case Op::Fork:
        case Op::Clone:
        case Op::Clone3:
        case Op::ThreadCreate: {
            if (!st.new_fd.empty() && !new_fd_name_free(st.new_fd)) return finish();
            CloneArgs a;
            if (st.op == Op::Fork) {
                a.clone3 = false;
                a.exit_signal = names::kSIGCHLD;
            } else if (st.op == Op::ThreadCreate) {
                a.flags = names::CF_VM | names::CF_FS | names::CF_FILES | names::CF_SIGHAND | names::CF_THREAD | names::CF_SYSVSEM;
                a.exit_signal = 0;
            } else {
                a.flags = st.flags;
                a.raw_flags = st.raw_flags;
                a.exit_signal = st.exit_signal;
                a.clone3 = st.op == Op::Clone3;
            }
            created_at_[st.child] = i;
            r = k_.sys_clone(cur, a);
            if (r.not_modelled) scenario_error(i, "flags", r.rule);
            if (r.ret >= 0) {
                ids_[st.child] = r.task;
                if (static_cast<TaskId>(names_.size()) <= r.task) names_.resize(r.task + 1);
                names_[r.task] = st.child;
                int ct = k_.task(r.task).files;
                if (!fds_.count(ct)) fds_[ct] = fds_[table_before];
                if (r.fd >= 0) fds_[k_.task(cur).files][st.new_fd] = r.fd;
            }
            break;
        }
        case Op::Exit: r = k_.sys_exit(cur, st.code); break;
        case Op::ExitGroup: r = k_.sys_exit_group(cur, st.code); break;
        case Op::Kill: {
            TaskId t;
            if (!target_of(st.target, t)) return finish();
            r = k_.sys_kill(cur, t, st.sig);
            break;
        }
        case Op::PidfdSendSignal: {
            int fd;
            if (!fd_of(st.fd, fd)) return finish();
            r = k_.sys_pidfd_send_signal(cur, fd, st.sig);
            break;
        }
        case Op::Sigaction: r = k_.sys_rt_sigaction(cur, st.sig, to_model(st.handler), static_cast<unsigned>(st.flags)); break;
        case Op::Waitpid:
        case Op::Waitid: {
            TaskId t = kNoTask;
            int fd = -1;
            if (!st.target_any && st.idtype != scenario::IdType::Pidfd && !target_of(st.target, t)) return finish();
            if (st.op == Op::Waitid && st.idtype == scenario::IdType::Pidfd && !fd_of(st.fd, fd)) return finish();
            if (st.op == Op::Waitpid) {
                r = k_.sys_wait4(cur, st.target_any ? kNoTask : t, st.options);
            } else {
                WaitType wt = st.idtype == scenario::IdType::All ? WaitType::All
                              : st.idtype == scenario::IdType::Pid ? WaitType::Pid : WaitType::Pidfd;
                r = k_.sys_waitid(cur, wt, t, fd, st.options | kWEXITED);
            }
            if (r.would_block) {
                o = unrunnable(i, "options", "the wait would block (no WNOHANG and nothing to report yet)");
                o.rule = r.rule;
                return finish();
            }
            break;
        }
        case Op::PidfdOpen: {
            TaskId t;
            if (!target_of(st.target, t)) return finish();
            if (!new_fd_name_free(st.new_fd)) return finish();
            r = k_.sys_pidfd_open(cur, t, static_cast<unsigned>(st.flags));
            if (r.ret >= 0) fds_[k_.task(cur).files][st.new_fd] = r.fd;
            break;
        }
        case Op::Close: {
            int fd;
            if (!fd_of(st.fd, fd)) return finish();
            r = k_.sys_close(cur, fd);
            break;
        }
        case Op::Dup: {
            int fd;
            if (!fd_of(st.fd, fd)) return finish();
            if (!new_fd_name_free(st.new_fd)) return finish();
            r = k_.sys_dup(cur, fd);
            if (r.ret >= 0) fds_[k_.task(cur).files][st.new_fd] = r.fd;
            break;
        }
        case Op::Poll: {
            int fd;
            if (!fd_of(st.fd, fd)) return finish();
            r = k_.sys_poll(cur, fd);
            break;
        }
        case Op::PidfdGetInfo: {
            int fd;
            if (!fd_of(st.fd, fd)) return finish();
            r = k_.sys_pidfd_get_info(cur, fd);
            break;
        }
        case Op::Prctl:
            switch (st.prctl) {
                case scenario::PrctlOption::SetChildSubreaper: r = k_.sys_prctl_set_child_subreaper(cur, st.value); break;
                case scenario::PrctlOption::GetChildSubreaper: r = k_.sys_prctl_get_child_subreaper(cur); break;
                case scenario::PrctlOption::SetNoNewPrivs: r = k_.sys_prctl_set_no_new_privs(cur, st.value); break;
                case scenario::PrctlOption::GetNoNewPrivs: r = k_.sys_prctl_get_no_new_privs(cur); break;
                case scenario::PrctlOption::SetPdeathsig: r = k_.sys_prctl_set_pdeathsig(cur, st.value); break;
                case scenario::PrctlOption::GetPdeathsig: r = k_.sys_prctl_get_pdeathsig(cur); break;
            }
            break;
        case Op::DropPrivileges: r = k_.drop_privileges(cur, st.uid); break;
        case Op::Setresuid: r = k_.sys_setresuid(cur, st.uid); break;
        case Op::Execve: {
            r = k_.sys_execve(cur, st.setuid_root, st.keep_fds);
            int after = k_.task(cur).files;
            if (after != table_before) fds_[after] = fds_[table_before];
            break;
        }
        case Op::Ptrace: {
            TaskId t;
            if (!target_of(st.target, t)) return finish();
            r = st.ptrace == scenario::PtraceRequest::Seize
                    ? k_.sys_ptrace_seize(cur, t, (st.ptrace_options & scenario::kPTRACE_O_EXITKILL) != 0)
                    : k_.sys_ptrace_detach(cur, t);
            break;
        }
        case Op::SignalPending: r = k_.signal_pending(cur, st.sig); break;
        case Op::Observe: {
            TaskId t;
            if (!target_of(st.target, t)) return finish();
            k_.settle();
            o = observe(st.target);
            return finish();
        }
    }

    // The call returns unless its caller is dying when the call completes (an exit, or a
    // SIGKILL it brought on itself: delivered before the return to user space). A death
    // that other tasks cause later, while the kernel settles, comes after the return.
    const bool returned = k_.alive(cur);
    // fds disappear on close, exec, and with a task's death (its table may go)
    if (k_.settle() > 0 || st.op == Op::Close || st.op == Op::Execve) sync_fd_names();

    o.rule = r.rule;
    // A task that died in its own call never sees it return: nothing is observed but the rule.
    if (!returned) return finish();
    if (r.ret < 0) {
        o.ret = scenario::Ret{false, -1};
        o.err = r.err;
    } else if (r.returns_id) {
        o.ret = scenario::Ret{true, 0};
    } else {
        o.ret = scenario::Ret{false, r.ret};
    }
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
