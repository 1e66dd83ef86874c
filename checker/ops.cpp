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

using SOp = scenario::Op;
using model::Call;

constexpr unsigned kWaitAnyOpts = W_NOHANG;
constexpr unsigned kWaitAllOpts = W_NOHANG | W_ALL;
constexpr int kDropUid = 1000;

ClonePreset preset(uint64_t flags, int sig = -1) {
    ClonePreset p;
    p.flags = flags;
    p.exit_signal = sig >= 0 ? sig : ((flags & (CF_AUTOREAP | CF_PARENT | CF_THREAD)) ? 0 : kSIGCHLD);
    return p;
}

void add_preset(Alphabet& a, const ClonePreset& p) {
    for (const auto& q : a.clone3)
        if (q.flags == p.flags && q.exit_signal == p.exit_signal) return;
    a.clone3.push_back(p);
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

bool holds_pidfd(const Kernel& k, TaskId holder, TaskId target) {
    const auto* tab = k.table_of(holder);
    if (!tab) return false;
    for (const auto& e : tab->entries)
        if (k.file(e.file).pid == target) return true;
    return false;
}

bool released(const Kernel& k, TaskId t) { return k.task(t).exit_state == ExitState::Released; }

Call call(SOp op) {
    Call c;
    c.op = op;
    return c;
}
template <class F>
Call call(SOp op, F&& set) {
    Call c = call(op);
    set(c);
    return c;
}

// The named items, in the order the explorer offers them in a state: the calls that create a
// task (the clone3 flag sets take the place of "clone3"), the exits, the calls on another task
// (by target), the calls on an fd (by fd), the rest.
struct Named {
    const char* token;
    Call call;
    ItemArg arg;
    bool (*offered)(const Kernel&, TaskId, int);
};
const std::vector<Named>& named_items() {
    static const std::vector<Named> items = [] {
        std::vector<Named> v = {
            {"fork", call(SOp::Fork), ItemArg::None, nullptr},
            {"clone3", call(SOp::Clone3), ItemArg::None, nullptr},
            {"clone_parent", call(SOp::Clone, [](Call& c) { c.flags = CF_PARENT; c.exit_signal = kSIGCHLD; }), ItemArg::None,
             nullptr},
            {"thread", call(SOp::ThreadCreate), ItemArg::None, nullptr},
            {"exit", call(SOp::Exit), ItemArg::None, nullptr},
            {"exit_group", call(SOp::ExitGroup), ItemArg::None, nullptr},
            {"kill", call(SOp::Kill, [](Call& c) { c.sig = kSIGKILL; }), ItemArg::Task,
             [](const Kernel& k, TaskId actor, int t) { return k.alive(t) && !k.same_thread_group(t, actor); }},
            // a second pidfd to the same task in the same table adds nothing but a name (dup does that)
            {"pidfd_open", call(SOp::PidfdOpen), ItemArg::Task,
             [](const Kernel& k, TaskId actor, int t) {
                 return !released(k, t) && !holds_pidfd(k, actor, t) && k.thread_group_leader(t);
             }},
            {"pidfd_open_thread", call(SOp::PidfdOpen, [](Call& c) { c.flags = kPIDFD_THREAD; }), ItemArg::Task,
             [](const Kernel& k, TaskId actor, int t) {
                 return !released(k, t) && !holds_pidfd(k, actor, t) && !k.thread_group_leader(t);
             }},
            {"waitpid", call(SOp::Waitpid, [](Call& c) { c.options = kWaitAllOpts; }), ItemArg::Task,
             [](const Kernel& k, TaskId, int t) { return k.task(t).exit_state == ExitState::Zombie; }},
            {"ptrace", call(SOp::Ptrace), ItemArg::Task,
             [](const Kernel& k, TaskId actor, int t) {
                 return k.alive(t) && !k.task(t).ptraced && !k.same_thread_group(t, actor);
             }},
            {"ptrace_exitkill", call(SOp::Ptrace, [](Call& c) { c.ptrace_options = scenario::kPTRACE_O_EXITKILL; }),
             ItemArg::Task,
             [](const Kernel& k, TaskId actor, int t) {
                 return k.alive(t) && !k.task(t).ptraced && !k.same_thread_group(t, actor);
             }},
            {"close", call(SOp::Close), ItemArg::Fd, nullptr},
            {"dup", call(SOp::Dup), ItemArg::Fd, nullptr},
            {"pidfd_kill", call(SOp::PidfdSendSignal, [](Call& c) { c.sig = kSIGKILL; }), ItemArg::Fd, nullptr},
            {"waitid_pidfd",
             call(SOp::Waitid, [](Call& c) { c.idtype = scenario::IdType::Pidfd; c.options = kWaitAllOpts; }), ItemArg::Fd,
             nullptr},
            {"wait", call(SOp::Waitpid, [](Call& c) { c.target_any = true; c.options = kWaitAnyOpts; }), ItemArg::None,
             nullptr},
            {"wait_all", call(SOp::Waitpid, [](Call& c) { c.target_any = true; c.options = kWaitAllOpts; }),
             ItemArg::None, nullptr},
            // sigaction(SIGCHLD, ...) that would change nothing is not offered
            {"sig_ign", call(SOp::Sigaction, [](Call& c) { c.sig = kSIGCHLD; c.handler = scenario::Handler::Ign; }),
             ItemArg::None,
             [](const Kernel& k, TaskId actor, int) { return k.sighand_of(actor).action[kSIGCHLD - 1] != model::Handler::Ign; }},
            {"sig_nocldwait",
             call(SOp::Sigaction, [](Call& c) { c.sig = kSIGCHLD; c.handler = scenario::Handler::Dfl; c.flags = kSA_NOCLDWAIT; }),
             ItemArg::None,
             [](const Kernel& k, TaskId actor, int) {
                 const auto& sh = k.sighand_of(actor);
                 return !(sh.action[kSIGCHLD - 1] == model::Handler::Dfl && sh.flags[kSIGCHLD - 1] == kSA_NOCLDWAIT);
             }},
            {"sig_dfl", call(SOp::Sigaction, [](Call& c) { c.sig = kSIGCHLD; c.handler = scenario::Handler::Dfl; }),
             ItemArg::None,
             [](const Kernel& k, TaskId actor, int) {
                 const auto& sh = k.sighand_of(actor);
                 return !(sh.action[kSIGCHLD - 1] == model::Handler::Dfl && sh.flags[kSIGCHLD - 1] == 0);
             }},
            {"subreaper",
             call(SOp::Prctl, [](Call& c) { c.prctl = scenario::PrctlOption::SetChildSubreaper; c.value = 1; }),
             ItemArg::None, [](const Kernel& k, TaskId actor, int) { return !k.signal_of(actor).is_child_subreaper; }},
            {"nnp", call(SOp::Prctl, [](Call& c) { c.prctl = scenario::PrctlOption::SetNoNewPrivs; c.value = 1; }),
             ItemArg::None, [](const Kernel& k, TaskId actor, int) { return !k.task(actor).no_new_privs; }},
            {"drop_privs", call(SOp::DropPrivileges, [](Call& c) { c.uid = kDropUid; }), ItemArg::None,
             [](const Kernel& k, TaskId actor, int) {
                 const auto& cr = k.task(actor).cred;
                 return cr.caps || cr.uid != kDropUid || cr.euid != kDropUid || cr.suid != kDropUid;
             }},
            {"exec", call(SOp::Execve), ItemArg::None, nullptr},
            // as root it is a plain exec
            {"exec_setuid", call(SOp::Execve, [](Call& c) { c.setuid_root = true; }), ItemArg::None,
             [](const Kernel& k, TaskId actor, int) { return k.task(actor).cred.euid != 0; }},
            {"setresuid", call(SOp::Setresuid, [](Call& c) { c.uid = 0; }), ItemArg::None,
             [](const Kernel& k, TaskId actor, int) {
                 const auto& cr = k.task(actor).cred;
                 const bool can_setuid0 = cr.caps || cr.uid == 0 || cr.euid == 0 || cr.suid == 0;
                 return can_setuid0 && (cr.uid != 0 || cr.euid != 0 || cr.suid != 0);
             }},
            {"signal_pending", call(SOp::SignalPending, [](Call& c) { c.sig = kSIGCHLD; }), ItemArg::None,
             [](const Kernel& k, TaskId actor, int) { return k.sigismember_pending(actor, kSIGCHLD); }},
        };
        return v;
    }();
    return items;
}

int named_index(std::string_view token) {
    const auto& v = named_items();
    for (size_t i = 0; i < v.size(); ++i)
        if (token == v[i].token) return static_cast<int>(i);
    return -1;
}

void set(Alphabet& a, std::initializer_list<const char*> tokens, bool v = true) {
    for (auto t : tokens) a.on[named_index(t)] = v;
}

void apply_named_preset(const std::string& name, Alphabet& a) {
    const uint64_t AR = CF_AUTOREAP, PF = CF_PIDFD, AK = CF_PIDFD_AUTOKILL, NNP = CF_NNP;
    if (name == "minimal") {
        set(a, {"fork", "clone3", "exit_group", "wait_all", "close"});
        add_preset(a, preset(PF | AR));                   // an autoreap child (rfc-v1 needs the pidfd)
        add_preset(a, preset(CF_PARENT));                 // a sibling: inherits the leader's exit_signal
        add_preset(a, preset(PF | AR | AK | CF_FILES));   // autokill, the creator's fd table shared
    } else if (name == "default") {
        // Sized so that --tasks 4 --depth 8 is exhausted in a few minutes on two cores.
        apply_named_preset("minimal", a);
        add_preset(a, preset(PF, 0));                     // exit_signal 0 by the parent's choice
        add_preset(a, preset(PF | AR | AK | NNP));        // the unprivileged autokill of v5 and 7.1
        set(a, {"drop_privs", "exec_setuid", "setresuid"});
    } else if (name == "ptrace") {
        // default plus tracing and pidfd_open (v2/v3's address reuse, traced autoreap zombies);
        // use smaller bounds (e.g. --tasks 3 --depth 6)
        apply_named_preset("default", a);
        set(a, {"ptrace", "pidfd_open", "kill"});
    } else if (name == "full") {
        apply_named_preset("ptrace", a);
        a.on.assign(a.on.size(), true);
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

uint8_t phase(const Item& it) {
    const auto& info = scenario::op_info(it.call.op);
    if (info.has(scenario::OP_NEW_TASK)) return 0;
    if (info.has(scenario::OP_ENDS_CALLER)) return 1;
    if (it.arg == ItemArg::Task) return 2;
    if (it.arg == ItemArg::Fd) return 3;
    return 4;
}

}  // namespace

size_t named_item_count() { return named_items().size(); }
const char* named_item_token(size_t i) { return named_items().at(i).token; }

bool Alphabet::has(std::string_view token) const {
    int i = named_index(token);
    return i >= 0 && on[i];
}

void Alphabet::finish() {
    items_.clear();
    const auto& v = named_items();
    for (size_t i = 0; i < v.size(); ++i) {
        if (!on[i]) continue;
        if (v[i].call.op == SOp::Clone3) {
            for (const auto& p : clone3) {
                Item it{"clone3", p.name(), v[i].call, ItemArg::None, uint8_t(who[i] & p.who), nullptr};
                it.call.flags = p.flags;
                it.call.exit_signal = p.exit_signal;
                it.call.new_fd = (p.flags & CF_PIDFD) != 0;
                items_.push_back(std::move(it));
            }
            continue;
        }
        Item it{v[i].token, "", v[i].call, v[i].arg, who[i], v[i].offered};
        it.call.new_fd = scenario::op_info(it.call.op).has(scenario::OP_NEW_FD) && it.call.op != SOp::Clone;
        items_.push_back(std::move(it));
    }
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
    for (const auto& x : named_items())
        if (x.call.op != SOp::Clone3) v.push_back(x.token);
    return v;
}

std::string Alphabet::describe() const {
    std::string s;
    const auto& v = named_items();
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i].call.op == SOp::Clone3 || !on[i]) continue;
        if (!s.empty()) s += ",";
        s += v[i].token;
        s += who_suffix(who[i]);
    }
    if (has("clone3"))
        for (const auto& p : clone3) s += ",clone3=" + p.name() + who_suffix(p.who);
    if (init_acts) s += ",init";
    if (interleave) s += ",internal";
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
    const int clone3_item = named_index("clone3");
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
                a.on[clone3_item] = true;
            }
            continue;
        }
        const int i = named_index(item);
        if (i < 0) {
            err = "unknown op \"" + item + "\" (" + alphabet_help() + ")";
            return false;
        }
        a.on[i] = !remove;
        if (restricted) a.who[i] = who;
        if (i == clone3_item && remove) a.clone3.clear();
    }
    if (a.clone3.empty()) a.on[clone3_item] = false;
    if (a.clone3.size() > 255) {
        err = "too many clone3 flag sets";
        return false;
    }
    a.finish();
    if (a.items().size() >= kInternalItem) {
        err = "too many ops";
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
            out.push_back({kInternalItem, uint8_t(tr.task), 0, uint8_t(tr.kind)});
    }
    const auto& items = a.items();
    for (TaskId actor = a.init_acts ? model::kInit : model::kTest; actor < n; ++actor) {
        if (!k.alive(actor)) continue;
        const uint8_t me_who = actor == model::kInit ? kWhoInit : actor == model::kTest ? kWhoT : kWhoCreated;
        // An item in this state, with `arg` its varied argument: the explorer's pruning, then the
        // model's rules of whether the step can run.
        auto offer = [&](size_t i, int arg) {
            const Item& it = items[i];
            if (it.offered && !it.offered(k, actor, arg)) return;
            Op op{uint8_t(i), uint8_t(actor), uint8_t(arg), 0};
            const Call c = op_call(a, op);
            if (c.op == SOp::Clone3 || c.op == SOp::Clone) {
                // flag sets the revision refuses whatever the state would only add self-loops
                model::CloneArgs ca;
                ca.flags = c.flags;
                ca.exit_signal = c.exit_signal;
                ca.clone3 = c.op == SOp::Clone3;
                if (!k.clone_args_can_succeed(ca)) return;
            }
            if (k.refusal(c) != model::Refusal::None) return;
            out.push_back(op);
        };
        for (uint8_t ph = 0; ph < 5; ++ph) {
            if (ph == 0 && !budget) continue;
            auto in_phase = [&](size_t i) { return phase(items[i]) == ph && (items[i].who & me_who); };
            if (ph == 2) {
                for (TaskId t = model::kTest; t < n; ++t)
                    if (t != actor)
                        for (size_t i = 0; i < items.size(); ++i)
                            if (in_phase(i)) offer(i, t);
            } else if (ph == 3) {
                if (const auto* tab = k.table_of(actor))
                    for (const auto& e : tab->entries)
                        for (size_t i = 0; i < items.size(); ++i)
                            if (in_phase(i)) offer(i, e.fd);
            } else {
                for (size_t i = 0; i < items.size(); ++i)
                    if (in_phase(i)) offer(i, 0);
            }
        }
    }
}

// ---------------------------------------------------------------- apply

model::Call op_call(const Alphabet& a, const Op& op) {
    const Item& it = a.items().at(op.item);
    Call c = it.call;
    c.actor = op.actor;
    if (it.arg == ItemArg::Task) c.target = op.arg;
    if (it.arg == ItemArg::Fd) c.fd = op.arg;
    return c;
}

model::SysRet apply_op(Kernel& k, Aux& aux, const Alphabet& a, const Op& op, bool settle) {
    const size_t files_before = k.files().size();
    model::SysRet r;
    bool autokill_requested = false;
    if (op.internal()) {
        k.run_transition({Kernel::Transition::Kind(op.variant), TaskId(op.actor)});
    } else {
        const Call c = op_call(a, op);
        autokill_requested = c.op == SOp::Clone3 && (c.flags & CF_PIDFD_AUTOKILL) != 0;
        r = k.perform(c);
    }
    if (settle) k.settle();
    if (k.files().size() != files_before || aux.files.size() != files_before)
        note_new_files(k, files_before, op.internal() ? model::kNoTask : TaskId(op.actor), autokill_requested, aux);
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
    if (op.internal()) {
        items_op_ = SOp::Observe;
        s.op = SOp::Observe;
        s.target = task(op.actor);
        return s;
    }
    const Item& it = a.items().at(op.item);
    const Call c = op_call(a, op);
    items_op_ = c.op;
    static_cast<scenario::StepArgs&>(s) = c;
    if (scenario::op_info(c.op).has(scenario::OP_NEW_TASK)) s.child = task(static_cast<TaskId>(k.tasks().size()));
    if (it.arg == ItemArg::Task) s.target = task(op.arg);
    if (it.arg == ItemArg::Fd) s.fd = fd_name(k, op.actor, op.arg);
    if (c.new_fd) {
        pending_fd_ = "f" + std::to_string(next_fd_);
        s.new_fd = pending_fd_;
    }
    return s;
}

void Namer::after(const Kernel& before, const Kernel& k, const Op& op, const model::SysRet& r) {
    const int table_before = before.task(op.actor).files;
    fds_[table_before];
    const bool made_fd = !pending_fd_.empty() && r.ret >= 0 && r.fd >= 0;
    const scenario::Op sop = op.internal() ? scenario::Op::Observe : items_op_;
    if (scenario::op_info(sop).has(scenario::OP_NEW_TASK) && r.ret >= 0 && r.task >= 0) {
        int ct = k.task(r.task).files;
        if (ct >= 0 && !fds_.count(ct)) fds_[ct] = fds_[table_before];
    }
    if (sop == scenario::Op::Execve && k.task(op.actor).files >= 0 &&
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
    if (op.internal()) {
        static const char* n[] = {"do_exit", "exit_notify", "release_task"};
        return s + "internal " + (op.variant < 3 ? n[op.variant] : "?");
    }
    const Item& it = a.items().at(op.item);
    s += it.token;
    if (!it.detail.empty()) s += " " + it.detail;
    return s;
}

}  // namespace pidlab::checker
