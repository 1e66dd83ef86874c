#include "checker/ops.hpp"

#include <algorithm>
#include <sstream>

#include "format/names.hpp"

namespace pidlab::checker {

using model::ExitState;
using model::Kernel;
using model::TaskId;
using namespace pidlab::names;

namespace {

struct KindName {
    OpKind kind;
    const char* token;  // the --ops token
};
constexpr KindName kKinds[] = {
    {OpKind::Fork, "fork"},
    {OpKind::Clone3, "clone3"},
    {OpKind::CloneParent, "clone_parent"},
    {OpKind::Thread, "thread"},
    {OpKind::Exit, "exit"},
    {OpKind::ExitGroup, "exit_group"},
    {OpKind::Kill, "kill"},
    {OpKind::PidfdKill, "pidfd_kill"},
    {OpKind::SigIgn, "sig_ign"},
    {OpKind::SigNocldwait, "sig_nocldwait"},
    {OpKind::SigDfl, "sig_dfl"},
    {OpKind::Wait, "wait"},
    {OpKind::WaitAll, "wait_all"},
    {OpKind::WaitPid, "waitpid"},
    {OpKind::WaitidPidfd, "waitid_pidfd"},
    {OpKind::PidfdOpen, "pidfd_open"},
    {OpKind::PidfdOpenThread, "pidfd_open_thread"},
    {OpKind::Close, "close"},
    {OpKind::Dup, "dup"},
    {OpKind::Subreaper, "subreaper"},
    {OpKind::Nnp, "nnp"},
    {OpKind::DropPrivs, "drop_privs"},
    {OpKind::Exec, "exec"},
    {OpKind::ExecSetuid, "exec_setuid"},
    {OpKind::Setresuid, "setresuid"},
    {OpKind::Ptrace, "ptrace"},
    {OpKind::PtraceExitkill, "ptrace_exitkill"},
    {OpKind::SignalPending, "signal_pending"},
    {OpKind::Internal, "internal"},
};

constexpr unsigned kWaitAnyOpts = W_NOHANG;
constexpr unsigned kWaitAllOpts = W_NOHANG | W_ALL;
constexpr int kDropUid = 1000;

ClonePreset preset(uint64_t flags, int sig = -1) {
    ClonePreset p;
    p.flags = flags;
    p.exit_signal = sig >= 0 ? sig : ((flags & (CF_AUTOREAP | CF_PARENT | CF_THREAD)) ? 0 : kSIGCHLD);
    return p;
}

void set(Alphabet& a, std::initializer_list<OpKind> ks, bool v = true) {
    for (auto k : ks) a.ops[size_t(k)] = v;
}

void add_preset(Alphabet& a, const ClonePreset& p) {
    for (const auto& q : a.clone3)
        if (q.flags == p.flags && q.exit_signal == p.exit_signal) return;
    a.clone3.push_back(p);
}

void apply_named_preset(const std::string& name, Alphabet& a) {
    const uint64_t AR = CF_AUTOREAP, PF = CF_PIDFD, AK = CF_PIDFD_AUTOKILL, NNP = CF_NNP;
    if (name == "minimal") {
        set(a, {OpKind::Fork, OpKind::Clone3, OpKind::ExitGroup, OpKind::WaitAll, OpKind::Close});
        add_preset(a, preset(PF | AR));                   // an autoreap child (rfc-v1 needs the pidfd)
        add_preset(a, preset(CF_PARENT));                 // a sibling: inherits the leader's exit_signal
        add_preset(a, preset(PF | AR | AK | CF_FILES));   // autokill, the creator's fd table shared
    } else if (name == "default") {
        // Sized so that --tasks 4 --depth 8 is exhausted in a few minutes on two cores.
        apply_named_preset("minimal", a);
        add_preset(a, preset(PF, 0));                     // exit_signal 0 by the parent's choice
        add_preset(a, preset(PF | AR | AK | NNP));        // the unprivileged autokill of v5 and 7.1
        set(a, {OpKind::DropPrivs, OpKind::ExecSetuid, OpKind::Setresuid});
    } else if (name == "ptrace") {
        // default plus tracing and pidfd_open (v2/v3's address reuse, traced autoreap zombies);
        // use smaller bounds (e.g. --tasks 3 --depth 6)
        apply_named_preset("default", a);
        set(a, {OpKind::Ptrace, OpKind::PidfdOpen, OpKind::Kill});
    } else if (name == "full") {
        apply_named_preset("ptrace", a);
        for (size_t k = 0; k < size_t(OpKind::kCount); ++k) a.ops[k] = true;
        a.ops[size_t(OpKind::Internal)] = false;
        add_preset(a, preset(PF));
        add_preset(a, preset(AR));
        add_preset(a, preset(AR | CF_PARENT));             // rfc-v1..v3 allowed it
        add_preset(a, preset(PF | AR | AK));
        add_preset(a, preset(PF | AR | CF_FILES));
        add_preset(a, preset(CF_PARENT | PF));
        add_preset(a, preset(NNP));
        add_preset(a, preset(CF_FILES));
        add_preset(a, preset(PF | AR | AK | NNP | CF_FILES));
        add_preset(a, preset(PF, kSIGUSR1));
    }
}

bool parse_preset_item(const std::string& spec, ClonePreset& p, std::string& err) {
    std::string flags = spec, sig;
    if (auto slash = spec.find('/'); slash != std::string::npos) {
        flags = spec.substr(0, slash);
        sig = spec.substr(slash + 1);
    }
    uint64_t f = 0;
    std::stringstream ss(flags);
    std::string item;
    while (std::getline(ss, item, '|')) {
        if (item.empty() || item == "0" || item == "NONE") continue;
        std::string full = item.rfind("CLONE_", 0) == 0 ? item : "CLONE_" + item;
        auto bit = clone_flag(full);
        if (!bit) {
            err = "unknown clone flag \"" + item + "\"";
            return false;
        }
        if (*bit & kCloneNamespaceFlags) {
            err = "namespace flags are not modelled: \"" + item + "\"";
            return false;
        }
        if (*bit & (CF_PTRACE | CF_VFORK)) {
            err = "\"" + item + "\" is not supported by the explorer";
            return false;
        }
        f |= *bit;
    }
    int s = -1;
    if (!sig.empty()) {
        if (auto n = signal_number(sig)) s = *n;
        else if (sig == "0") s = 0;
        else {
            err = "unknown exit signal \"" + sig + "\"";
            return false;
        }
    }
    p = preset(f, s);
    return true;
}

bool alive(const Kernel& k, TaskId t) { return k.alive(t); }

bool holds_pidfd(const Kernel& k, TaskId holder, TaskId target) {
    const auto* tab = k.table_of(holder);
    if (!tab) return false;
    for (const auto& e : tab->entries)
        if (k.file(e.file).pid == target) return true;
    return false;
}

// clone3 flag sets the profile rejects whatever the state (unknown flags, combinations
// the revision forbids): they would only add self-loops.
bool preset_always_fails(const model::Profile& p, const ClonePreset& c) {
    if ((c.flags & CF_AUTOREAP) && !p.has_autoreap()) return true;
    if ((c.flags & CF_NNP) && !p.has_nnp_flag()) return true;
    if ((c.flags & CF_PIDFD_AUTOKILL) && !p.has_autokill()) return true;
    if ((c.flags & CF_AUTOREAP) && (c.flags & CF_PARENT) && !p.autoreap_parent_allowed) return true;
    if ((c.flags & CF_AUTOREAP) && !(c.flags & CF_PIDFD) && p.autoreap_requires_pidfd) return true;
    if ((c.flags & CF_AUTOREAP) && c.exit_signal) return true;
    if ((c.flags & (CF_PARENT | CF_THREAD)) && c.exit_signal) return true;
    if ((c.flags & CF_PIDFD_AUTOKILL) && (!(c.flags & CF_PIDFD) || !(c.flags & CF_AUTOREAP))) return true;
    return false;
}
bool released(const Kernel& k, TaskId t) { return k.task(t).exit_state == ExitState::Released; }

}  // namespace

const char* op_kind_name(OpKind k) {
    for (const auto& x : kKinds)
        if (x.kind == k) return x.token;
    return "?";
}

static std::string who_suffix(uint8_t w) {
    if (w == kWhoT) return "@T";
    if (w == kWhoCreated) return "@C";
    if (w == kWhoInit) return "@init";
    return "";
}

std::string ClonePreset::name() const {
    std::string s;
    for (uint64_t b = 1; b; b <<= 1)
        if (flags & b) {
            if (!s.empty()) s += '|';
            s += clone_flags_string(b).substr(6);  // without "CLONE_"
        }
    if (s.empty()) s = "0";
    return s + "/" + (exit_signal ? signal_name(exit_signal) : "0");
}

std::vector<std::string> op_token_names() {
    std::vector<std::string> v;
    for (const auto& x : kKinds)
        if (x.kind != OpKind::Internal && x.kind != OpKind::Clone3) v.push_back(x.token);
    return v;
}

std::string Alphabet::describe() const {
    std::string s;
    for (const auto& x : kKinds) {
        if (x.kind == OpKind::Clone3 || !has(x.kind)) continue;
        if (!s.empty()) s += ",";
        s += x.token;
        s += who_suffix(who[size_t(x.kind)]);
    }
    if (has(OpKind::Clone3))
        for (const auto& p : clone3) s += ",clone3=" + p.name() + who_suffix(p.who);
    if (init_acts) s += ",init";
    return s;
}

std::string alphabet_help() {
    std::string s = "presets: minimal, default, ptrace, full; ops:";
    for (const auto& n : op_token_names()) s += " " + n;
    s += "; clone3=FLAG|FLAG[/SIG] adds a clone3 flag set (e.g. clone3=PIDFD|AUTOREAP|FILES, clone3=PIDFD/0); "
         "init lets init make calls; -NAME removes an op (-clone3 removes every clone3 flag set); NAME@T, NAME@C "
         "(created tasks) or NAME@init restricts who makes it";
    return s;
}

bool parse_alphabet(const std::string& spec, Alphabet& out, std::string& err) {
    Alphabet a;
    std::stringstream ss(spec.empty() ? std::string("default") : spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        bool remove = item[0] == '-';
        if (item[0] == '-' || item[0] == '+') item = item.substr(1);
        uint8_t who = kWhoAny;
        bool restricted = false;
        if (auto at = item.rfind('@'); at != std::string::npos) {
            std::string w = item.substr(at + 1);
            item = item.substr(0, at);
            restricted = true;
            if (w == "T") who = kWhoT;
            else if (w == "C") who = kWhoCreated;
            else if (w == "init") who = kWhoInit, a.init_acts = true;
            else {
                err = "unknown task class \"@" + w + "\" (T, C or init)";
                return false;
            }
        }
        if (item == "minimal" || item == "default" || item == "ptrace" || item == "full") {
            if (remove) {
                err = "a preset cannot be removed: " + item;
                return false;
            }
            apply_named_preset(item, a);
            continue;
        }
        if (item == "init") {
            a.init_acts = !remove;
            continue;
        }
        if (item.rfind("clone3=", 0) == 0) {
            ClonePreset p;
            if (!parse_preset_item(item.substr(7), p, err)) return false;
            if (remove) {
                a.clone3.erase(std::remove_if(a.clone3.begin(), a.clone3.end(),
                                              [&](const ClonePreset& q) {
                                                  return q.flags == p.flags && q.exit_signal == p.exit_signal;
                                              }),
                               a.clone3.end());
            } else {
                p.who = who;
                add_preset(a, p);
                a.ops[size_t(OpKind::Clone3)] = true;
            }
            continue;
        }
        bool found = false;
        for (const auto& x : kKinds) {
            if (item != x.token || x.kind == OpKind::Internal) continue;
            found = true;
            a.ops[size_t(x.kind)] = !remove;
            if (restricted) a.who[size_t(x.kind)] = who;
            if (x.kind == OpKind::Clone3 && remove) a.clone3.clear();
        }
        if (!found) {
            err = "unknown op \"" + item + "\" (" + alphabet_help() + ")";
            return false;
        }
    }
    if (a.clone3.empty()) a.ops[size_t(OpKind::Clone3)] = false;
    if (a.clone3.size() > 255) {
        err = "too many clone3 flag sets";
        return false;
    }
    out = a;
    return true;
}

// ---------------------------------------------------------------- enabled ops

void enabled_ops(const Kernel& k, const Alphabet& a, const Bounds& b, std::vector<Op>& out) {
    out.clear();
    const TaskId n = static_cast<TaskId>(k.tasks().size());
    const bool budget = n - 1 < b.tasks;  // tasks besides init: n - 1
    if (b.interleave) {
        for (const auto& tr : k.enabled_transitions())
            out.push_back({OpKind::Internal, uint8_t(tr.task), 0, uint8_t(tr.kind)});
    }
    for (TaskId actor = a.init_acts ? model::kInit : model::kTest; actor < n; ++actor) {
        if (!alive(k, actor)) continue;
        const auto& me = k.task(actor);
        const uint8_t A = uint8_t(actor);
        const uint8_t me_who = actor == model::kInit ? kWhoInit : actor == model::kTest ? kWhoT : kWhoCreated;
        auto push = [&](OpKind kind, int arg = 0, int variant = 0) {
            if (a.has(kind) && (a.who[size_t(kind)] & me_who)) out.push_back({kind, A, uint8_t(arg), uint8_t(variant)});
        };
        if (budget) {
            push(OpKind::Fork);
            if (a.has(OpKind::Clone3))
                for (size_t p = 0; p < a.clone3.size(); ++p)
                    if ((a.clone3[p].who & me_who) && !preset_always_fails(k.profile(), a.clone3[p]))
                        push(OpKind::Clone3, 0, int(p));
            push(OpKind::CloneParent);
            push(OpKind::Thread);
        }
        if (actor != model::kInit) {
            push(OpKind::Exit);
            push(OpKind::ExitGroup);
        }
        for (TaskId t = model::kTest; t < n; ++t) {
            if (t == actor) continue;
            if (a.has(OpKind::Kill) && alive(k, t) && !k.same_thread_group(t, actor)) push(OpKind::Kill, t);
            if (!released(k, t) && !holds_pidfd(k, actor, t)) {
                // a second pidfd to the same task in the same table adds nothing but a name (dup does that)
                if (k.thread_group_leader(t)) push(OpKind::PidfdOpen, t);
                else push(OpKind::PidfdOpenThread, t);
            }
            if (k.task(t).exit_state == ExitState::Zombie) push(OpKind::WaitPid, t);
            if ((a.has(OpKind::Ptrace) || a.has(OpKind::PtraceExitkill)) && alive(k, t) && !k.task(t).ptraced &&
                !k.same_thread_group(t, actor)) {
                push(OpKind::Ptrace, t);
                push(OpKind::PtraceExitkill, t);
            }
        }
        if (const auto* tab = k.table_of(actor)) {
            for (const auto& e : tab->entries) {
                push(OpKind::Close, e.fd);
                push(OpKind::Dup, e.fd);
                push(OpKind::PidfdKill, e.fd);
                push(OpKind::WaitidPidfd, e.fd);
            }
        }
        push(OpKind::Wait);
        push(OpKind::WaitAll);
        const auto& sh = k.sighand_of(actor);
        const auto act = sh.action[kSIGCHLD - 1];
        const unsigned fl = sh.flags[kSIGCHLD - 1];
        if (act != model::Handler::Ign) push(OpKind::SigIgn);
        if (!(act == model::Handler::Dfl && fl == kSA_NOCLDWAIT)) push(OpKind::SigNocldwait);
        if (!(act == model::Handler::Dfl && fl == 0)) push(OpKind::SigDfl);
        if (!k.signal_of(actor).is_child_subreaper) push(OpKind::Subreaper);
        if (!me.no_new_privs) push(OpKind::Nnp);
        if (me.cred.caps || me.cred.uid != kDropUid || me.cred.euid != kDropUid || me.cred.suid != kDropUid)
            push(OpKind::DropPrivs);
        push(OpKind::Exec);
        if (me.cred.euid != 0) push(OpKind::ExecSetuid);  // as root it is a plain exec
        const bool can_setuid0 = me.cred.caps || me.cred.uid == 0 || me.cred.euid == 0 || me.cred.suid == 0;
        if (can_setuid0 && (me.cred.uid != 0 || me.cred.euid != 0 || me.cred.suid != 0)) push(OpKind::Setresuid);
        if (k.sigismember_pending(actor, kSIGCHLD)) push(OpKind::SignalPending);
    }
}

// ---------------------------------------------------------------- apply

model::SysRet apply_op(Kernel& k, Aux& aux, const Alphabet& a, const Op& op, bool settle) {
    const TaskId cur = op.actor;
    const size_t files_before = k.files().size();
    bool autokill_requested = false;
    model::SysRet r;
    switch (op.kind) {
        case OpKind::Fork: {
            model::CloneArgs c;
            c.clone3 = false;
            c.exit_signal = kSIGCHLD;
            r = k.sys_clone(cur, c);
            break;
        }
        case OpKind::Clone3: {
            const auto& p = a.clone3.at(op.variant);
            model::CloneArgs c;
            c.flags = p.flags;
            c.exit_signal = p.exit_signal;
            autokill_requested = (p.flags & CF_PIDFD_AUTOKILL) != 0;
            r = k.sys_clone(cur, c);
            break;
        }
        case OpKind::CloneParent: {
            model::CloneArgs c;
            c.clone3 = false;
            c.flags = CF_PARENT;
            c.exit_signal = kSIGCHLD;
            r = k.sys_clone(cur, c);
            break;
        }
        case OpKind::Thread: {
            model::CloneArgs c;
            c.flags = CF_VM | CF_FS | CF_FILES | CF_SIGHAND | CF_THREAD | CF_SYSVSEM;
            c.exit_signal = 0;
            r = k.sys_clone(cur, c);
            break;
        }
        case OpKind::Exit: r = k.sys_exit(cur, 0); break;
        case OpKind::ExitGroup: r = k.sys_exit_group(cur, 0); break;
        case OpKind::Kill: r = k.sys_kill(cur, op.arg, kSIGKILL); break;
        case OpKind::PidfdKill: r = k.sys_pidfd_send_signal(cur, op.arg, kSIGKILL); break;
        case OpKind::SigIgn: r = k.sys_rt_sigaction(cur, kSIGCHLD, model::Handler::Ign, 0); break;
        case OpKind::SigNocldwait: r = k.sys_rt_sigaction(cur, kSIGCHLD, model::Handler::Dfl, kSA_NOCLDWAIT); break;
        case OpKind::SigDfl: r = k.sys_rt_sigaction(cur, kSIGCHLD, model::Handler::Dfl, 0); break;
        case OpKind::Wait: r = k.sys_wait4(cur, model::kNoTask, kWaitAnyOpts); break;
        case OpKind::WaitAll: r = k.sys_wait4(cur, model::kNoTask, kWaitAllOpts); break;
        case OpKind::WaitPid: r = k.sys_wait4(cur, op.arg, kWaitAllOpts); break;
        case OpKind::WaitidPidfd:
            r = k.sys_waitid(cur, model::WaitType::Pidfd, model::kNoTask, op.arg, W_EXITED | W_NOHANG | W_ALL);
            break;
        case OpKind::PidfdOpen: r = k.sys_pidfd_open(cur, op.arg, 0); break;
        case OpKind::PidfdOpenThread: r = k.sys_pidfd_open(cur, op.arg, kPIDFD_THREAD); break;
        case OpKind::Close: r = k.sys_close(cur, op.arg); break;
        case OpKind::Dup: r = k.sys_dup(cur, op.arg); break;
        case OpKind::Subreaper: r = k.sys_prctl_set_child_subreaper(cur, 1); break;
        case OpKind::Nnp: r = k.sys_prctl_set_no_new_privs(cur, 1); break;
        case OpKind::DropPrivs: r = k.drop_privileges(cur, kDropUid); break;
        case OpKind::Exec: r = k.sys_execve(cur, false, false); break;
        case OpKind::ExecSetuid: r = k.sys_execve(cur, true, false); break;
        case OpKind::Setresuid: r = k.sys_setresuid(cur, 0); break;
        case OpKind::Ptrace: r = k.sys_ptrace_seize(cur, op.arg, false); break;
        case OpKind::PtraceExitkill: r = k.sys_ptrace_seize(cur, op.arg, true); break;
        case OpKind::SignalPending: r = k.signal_pending(cur, kSIGCHLD); break;
        case OpKind::Internal:
            k.run_transition({Kernel::Transition::Kind(op.variant), TaskId(op.actor)});
            break;
        case OpKind::kCount: break;
    }
    if (settle) k.settle();
    if (k.files().size() != files_before || aux.files.size() != files_before)
        note_new_files(k, files_before, op.kind == OpKind::Internal ? model::kNoTask : cur, autokill_requested, aux);
    return r;
}

// ---------------------------------------------------------------- names and steps

std::string Namer::task(TaskId t) const {
    if (t == model::kInit) return "init";
    if (t == model::kTest) return "T";
    return "C" + std::to_string(t - 1);
}

std::string Namer::fd_name(const Kernel& k, TaskId t, int fd) const {
    auto it = fds_.find(k.task(t).files);
    if (it != fds_.end()) {
        auto f = it->second.find(fd);
        if (f != it->second.end()) return f->second;
    }
    return "fd" + std::to_string(fd);  // never happens for ops generated from the state
}

scenario::Step Namer::step(const Kernel& k, const Alphabet& a, const Op& op) {
    scenario::Step s;
    s.task = task(op.actor);
    pending_fd_.clear();
    auto new_fd = [&] {
        pending_fd_ = "f" + std::to_string(next_fd_);
        return pending_fd_;
    };
    const std::string next_child = task(static_cast<TaskId>(k.tasks().size()));
    using scenario::Op;
    switch (op.kind) {
        case OpKind::Fork: s.op = Op::Fork; s.child = next_child; break;
        case OpKind::Clone3: {
            const auto& p = a.clone3.at(op.variant);
            s.op = Op::Clone3;
            s.flags = p.flags;
            s.exit_signal = p.exit_signal;
            s.child = next_child;
            if (p.flags & CF_PIDFD) s.new_fd = new_fd();
            break;
        }
        case OpKind::CloneParent:
            s.op = Op::Clone;
            s.flags = CF_PARENT;
            s.exit_signal = kSIGCHLD;
            s.child = next_child;
            break;
        case OpKind::Thread: s.op = Op::ThreadCreate; s.child = next_child; break;
        case OpKind::Exit: s.op = Op::Exit; break;
        case OpKind::ExitGroup: s.op = Op::ExitGroup; break;
        case OpKind::Kill: s.op = Op::Kill; s.target = task(op.arg); s.sig = kSIGKILL; break;
        case OpKind::PidfdKill: s.op = Op::PidfdSendSignal; s.fd = fd_name(k, op.actor, op.arg); s.sig = kSIGKILL; break;
        case OpKind::SigIgn: s.op = Op::Sigaction; s.sig = kSIGCHLD; s.handler = scenario::Handler::Ign; break;
        case OpKind::SigNocldwait:
            s.op = Op::Sigaction;
            s.sig = kSIGCHLD;
            s.handler = scenario::Handler::Dfl;
            s.flags = kSA_NOCLDWAIT;
            break;
        case OpKind::SigDfl: s.op = Op::Sigaction; s.sig = kSIGCHLD; s.handler = scenario::Handler::Dfl; break;
        case OpKind::Wait: s.op = Op::Waitpid; s.target_any = true; s.options = kWaitAnyOpts; break;
        case OpKind::WaitAll: s.op = Op::Waitpid; s.target_any = true; s.options = kWaitAllOpts; break;
        case OpKind::WaitPid: s.op = Op::Waitpid; s.target = task(op.arg); s.options = kWaitAllOpts; break;
        case OpKind::WaitidPidfd:
            s.op = Op::Waitid;
            s.idtype = scenario::IdType::Pidfd;
            s.fd = fd_name(k, op.actor, op.arg);
            s.options = W_NOHANG | W_ALL;
            break;
        case OpKind::PidfdOpen: s.op = Op::PidfdOpen; s.target = task(op.arg); s.new_fd = new_fd(); break;
        case OpKind::PidfdOpenThread:
            s.op = Op::PidfdOpen;
            s.target = task(op.arg);
            s.flags = kPIDFD_THREAD;
            s.new_fd = new_fd();
            break;
        case OpKind::Close: s.op = Op::Close; s.fd = fd_name(k, op.actor, op.arg); break;
        case OpKind::Dup: s.op = Op::Dup; s.fd = fd_name(k, op.actor, op.arg); s.new_fd = new_fd(); break;
        case OpKind::Subreaper: s.op = Op::Prctl; s.prctl = scenario::PrctlOption::SetChildSubreaper; s.value = 1; break;
        case OpKind::Nnp: s.op = Op::Prctl; s.prctl = scenario::PrctlOption::SetNoNewPrivs; s.value = 1; break;
        case OpKind::DropPrivs: s.op = Op::DropPrivileges; s.uid = kDropUid; break;
        case OpKind::Exec: s.op = Op::Execve; s.setuid_root = false; break;
        case OpKind::ExecSetuid: s.op = Op::Execve; s.setuid_root = true; break;
        case OpKind::Setresuid: s.op = Op::Setresuid; s.uid = 0; break;
        case OpKind::Ptrace: s.op = Op::Ptrace; s.ptrace = scenario::PtraceRequest::Seize; s.target = task(op.arg); break;
        case OpKind::PtraceExitkill:
            s.op = Op::Ptrace;
            s.ptrace = scenario::PtraceRequest::Seize;
            s.target = task(op.arg);
            s.ptrace_options = scenario::kPTRACE_O_EXITKILL;
            break;
        case OpKind::SignalPending: s.op = Op::SignalPending; s.sig = kSIGCHLD; break;
        case OpKind::Internal:
        case OpKind::kCount: s.op = Op::Observe; s.target = task(op.actor); break;
    }
    return s;
}

void Namer::after(const Kernel& before, const Kernel& k, const Op& op, const model::SysRet& r) {
    const int table_before = before.task(op.actor).files;
    fds_[table_before];
    const bool made_fd = !pending_fd_.empty() && r.ret >= 0 && r.fd >= 0;
    if ((op.kind == OpKind::Fork || op.kind == OpKind::Clone3 || op.kind == OpKind::CloneParent ||
         op.kind == OpKind::Thread) &&
        r.ret >= 0 && r.task >= 0) {
        int ct = k.task(r.task).files;
        if (ct >= 0 && !fds_.count(ct)) fds_[ct] = fds_[table_before];
    }
    if ((op.kind == OpKind::Exec || op.kind == OpKind::ExecSetuid) && k.task(op.actor).files >= 0 &&
        k.task(op.actor).files != table_before)
        fds_[k.task(op.actor).files] = fds_[table_before];
    if (made_fd) {
        int table = k.task(op.actor).files;
        if (table < 0) table = table_before;
        fds_[table][r.fd] = pending_fd_;
        ++next_fd_;
    }
    pending_fd_.clear();
    // forget closed fds (as model::Replayer::sync_fd_names)
    const auto& tables = k.fd_tables();
    for (auto& [table, m] : fds_) {
        for (auto it = m.begin(); it != m.end();) {
            bool open = table < static_cast<int>(tables.size()) && tables[table].users > 0 &&
                        std::any_of(tables[table].entries.begin(), tables[table].entries.end(),
                                    [&](const model::FdEntry& e) { return e.fd == it->first; });
            it = open ? std::next(it) : m.erase(it);
        }
    }
}

std::string describe_op(const Op& op, const Alphabet& a) {
    std::string s = (op.actor == 0 ? std::string("init") : op.actor == 1 ? std::string("T") : "C" + std::to_string(op.actor - 1));
    s += " ";
    s += op_kind_name(op.kind);
    if (op.kind == OpKind::Clone3 && op.variant < a.clone3.size()) s += " " + a.clone3[op.variant].name();
    if (op.kind == OpKind::Internal) {
        static const char* n[] = {"do_exit", "exit_notify", "release_task"};
        s += std::string(" ") + (op.variant < 3 ? n[op.variant] : "?");
    }
    return s;
}

}  // namespace pidlab::checker
