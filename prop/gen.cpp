#include "prop/gen.hpp"

#include <atomic>

#include "format/names.hpp"

namespace pidlab::prop {

using model::kNoTask;
using model::TaskId;
using scenario::Op;
using namespace pidlab::names;

namespace {
std::atomic<uint64_t> g_fallbacks{0};
}  // namespace

uint64_t generator_fallbacks() { return g_fallbacks.load(); }

// ---------------------------------------------------------------- choosers

size_t Chooser::weighted(const uint32_t* w, size_t n) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) total += w[i];
    if (total == 0) return 0;
    uint32_t r = below(static_cast<uint32_t>(total));
    for (size_t i = 0; i < n; ++i) {
        if (r < w[i]) return i;
        r -= w[i];
    }
    return n - 1;
}

namespace {
uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
}  // namespace

uint64_t case_seed(uint64_t seed, uint64_t i) {
    uint64_t x = seed ^ (i * 0xd1342543de82ef95ULL);
    splitmix(x);
    return splitmix(x);
}

FastChooser::FastChooser(uint64_t seed) {
    for (auto& s : s_) s = splitmix(seed);
}

// ---------------------------------------------------------------- config

const char* family_name(Op f) { return scenario::op_name(f); }

std::array<uint32_t, kFamilies> GenConfig::default_weights() {
    std::array<uint32_t, kFamilies> w{};
    auto set = [&](Op f, uint32_t v) { w[static_cast<size_t>(f)] = v; };
    set(Op::Fork, 5);
    set(Op::Clone3, 16);
    set(Op::Clone, 3);
    set(Op::ThreadCreate, 4);
    set(Op::Exit, 4);
    set(Op::ExitGroup, 7);
    set(Op::Kill, 5);
    set(Op::PidfdSendSignal, 4);
    set(Op::Sigaction, 4);
    set(Op::Waitpid, 7);
    set(Op::Waitid, 6);
    set(Op::PidfdOpen, 5);
    set(Op::Close, 6);
    set(Op::Dup, 3);
    set(Op::Poll, 3);
    set(Op::PidfdGetInfo, 3);
    set(Op::Prctl, 5);
    set(Op::DropPrivileges, 2);
    set(Op::Setresuid, 1);
    set(Op::Execve, 3);
    set(Op::Ptrace, 3);
    set(Op::SignalPending, 2);
    set(Op::Observe, 2);
    return w;
}

bool GenConfig::set_weights(const std::string& spec, std::string& err) {
    size_t pos = 0;
    while (pos < spec.size()) {
        size_t end = spec.find(',', pos);
        if (end == std::string::npos) end = spec.size();
        std::string item = spec.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        auto colon = item.find(':');
        if (colon == std::string::npos) {
            err = "expected NAME:WEIGHT, found \"" + item + "\"";
            return false;
        }
        std::string name = item.substr(0, colon);
        unsigned long v = 0;
        try {
            size_t used = 0;
            v = std::stoul(item.substr(colon + 1), &used);
            if (used != item.size() - colon - 1 || v > 1000000) throw std::invalid_argument("");
        } catch (const std::exception&) {
            err = "bad weight in \"" + item + "\"";
            return false;
        }
        bool found = false;
        for (size_t f = 0; f < kFamilies; ++f)
            if (name == family_name(static_cast<Op>(f))) weights[f] = static_cast<uint32_t>(v), found = true;
        if (!found) {
            err = "unknown op family \"" + name + "\"";
            return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------- steps

namespace {

struct Preset {
    uint64_t flags;
    int exit_signal;
};

// The clone3 flag sets that matter for the lifecycle (the first is the simplest).
const Preset kClone3Presets[] = {
    {CF_PIDFD | CF_AUTOREAP, 0},
    {CF_AUTOREAP, 0},
    {CF_PIDFD, kSIGCHLD},
    {0, kSIGCHLD},
    {CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP, 0},
    {CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL, 0},
    {CF_PARENT, 0},
    {CF_PARENT | CF_PIDFD, 0},
    {CF_THREAD | CF_SIGHAND | CF_VM, 0},
    {CF_THREAD | CF_SIGHAND | CF_VM | CF_PIDFD, 0},
    {CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP | CF_FILES, 0},
    {CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_FILES, 0},
    {CF_PIDFD | CF_AUTOREAP | CF_FILES, 0},
    {CF_AUTOREAP | CF_PARENT, 0},
    {CF_NNP, kSIGCHLD},
    {CF_NNP | CF_AUTOREAP, 0},
    {CF_FILES | CF_PIDFD, kSIGCHLD},
    {CF_SIGHAND | CF_VM, kSIGCHLD},
    {CF_PIDFD, 0},
    {CF_PIDFD | CF_CLEAR_SIGHAND, kSIGCHLD},
};

// Flags a random clone3 flag set is drawn from ("every combination").
const uint64_t kClone3Flags[] = {CF_PIDFD, CF_AUTOREAP, CF_NNP, CF_PIDFD_AUTOKILL, CF_PARENT, CF_THREAD,
                                 CF_SIGHAND, CF_VM, CF_FILES, CF_CLEAR_SIGHAND, CF_DETACHED};
const uint64_t kCloneFlags[] = {CF_PARENT, CF_FILES, CF_SIGHAND, CF_VM, CF_THREAD, CF_CLEAR_SIGHAND};
// Clone flags the generators never use (namespaces, ptrace, vfork, the pointer-passing ones).
constexpr uint64_t kUnusedCloneFlags = kCloneNamespaceFlags | CF_PTRACE | CF_VFORK | CF_SETTLS | CF_PARENT_SETTID |
                                       CF_CHILD_SETTID | CF_CHILD_CLEARTID | CF_INTO_CGROUP | CF_IO | CF_SYSVSEM | CF_FS;

const int kSignals[] = {kSIGKILL, 0, kSIGTERM, kSIGUSR1, kSIGCHLD, 65};
const uint32_t kSignalWeights[] = {6, 1, 1, 1, 1, 1};

template <class T, size_t N>
const T& pick(Chooser& ch, const T (&a)[N]) {
    return a[ch.below(N)];
}

int pick_signal(Chooser& ch) { return kSignals[ch.weighted(kSignalWeights, std::size(kSignalWeights))]; }

// Created tasks (targets): T first, then the children by creation, init last.
TaskId pick_target(const model::Kernel& k, Chooser& ch) {
    const uint32_t n = static_cast<uint32_t>(k.tasks().size());
    uint32_t i = ch.below(n);
    if (i == 0) return model::kTest;
    if (i == n - 1) return model::kInit;
    return static_cast<TaskId>(i + 1);
}

unsigned wait_extra(Chooser& ch) {
    unsigned o = 0;
    if (ch.one_in(3)) o |= W_ALL;
    if (ch.one_in(4)) o |= W_CLONE;
    if (ch.one_in(4)) o |= W_NOWAIT;
    return o;
}

bool stop_signal(int sig) { return sig == kSIGSTOP || sig == 20 || sig == 21 || sig == 22; }
bool in_range(TaskId t, const model::Kernel& k) { return t >= 0 && t < static_cast<TaskId>(k.tasks().size()); }

}  // namespace

std::string cstep_invalid(const model::Kernel& k, int names_used, const Limits& lim, const CStep& c, Scratch& scratch) {
    if (!in_range(c.actor, k)) return "no such task";
    // the model's rules first (model::Kernel::refusal): a caller that is not alive, init's exit
    switch (k.refusal(c, false)) {
        case model::Refusal::NotAlive: return "the acting task is not alive";
        case model::Refusal::InitNeverExits: return "init never exits";
        case model::Refusal::WouldBlock:
        case model::Refusal::None: break;
    }
    const TaskId cur = c.actor;
    auto fd_open = [&] { return c.fd >= 0 && k.fd_entry(cur, c.fd) != nullptr; };
    auto valid_sig = [](int sig, int hi) { return sig >= 0 && sig <= hi && !stop_signal(sig); };
    auto target_ok = [&] { return in_range(c.target, k); };
    switch (c.op) {
        case Op::Fork:
        case Op::Clone:
        case Op::Clone3:
        case Op::ThreadCreate:
            if (names_used >= lim.max_names) return "no task names left";
            if (static_cast<int>(k.tasks().size()) >= lim.max_tasks) return "the task budget is spent";
            // init never exits (the format's rule): its thread group stays single-threaded, so that no
            // thread of it can exit_group or exec it away.
            if (k.same_thread_group(cur, model::kInit) &&
                (c.op == Op::ThreadCreate || (c.op != Op::Fork && (c.flags & CF_THREAD))))
                return "init does not create threads";
            if (c.op == Op::Clone3 || c.op == Op::Clone) {
                if (c.flags & kUnusedCloneFlags) return "a clone flag the generators do not use";
                if (c.exit_signal < 0 || c.exit_signal > (c.op == Op::Clone ? 255 : 1023)) return "exit_signal out of range";
            }
            if (c.new_fd != (c.op == Op::Clone3 && (c.flags & CF_PIDFD) != 0))
                return "a pidfd name goes with clone3's CLONE_PIDFD";
            return {};
        case Op::Exit:
        case Op::ExitGroup:
            if (k.same_thread_group(cur, model::kInit)) return "init never exits";
            return c.code >= 0 && c.code <= 255 ? "" : "exit code out of range";
        case Op::Kill:
            if (!target_ok()) return "no such target";
            return valid_sig(c.sig, 255) ? "" : "signal not generated";
        case Op::PidfdSendSignal:
            if (!fd_open()) return "fd not open in the caller's table";
            return valid_sig(c.sig, 255) ? "" : "signal not generated";
        case Op::Sigaction: return c.sig >= 1 && c.sig <= kNSIG ? "" : "signal out of range";
        case Op::Waitpid:
        case Op::Waitid:
            if (c.op == Op::Waitpid || c.idtype == scenario::IdType::Pid) {
                if (c.op == Op::Waitid && c.target_any) return "P_PID needs a target";
                if (!c.target_any && !target_ok()) return "no such target";
            } else if (c.idtype == scenario::IdType::Pidfd) {
                if (!fd_open()) return "fd not open in the caller's table";
            }
            if (!(c.options & model::kWNOHANG) && k.would_block(c, &scratch.k)) return "the wait would block";
            return {};
        case Op::PidfdOpen:
            if (!target_ok()) return "no such target";
            return c.new_fd ? "" : "pidfd_open names its fd";
        case Op::Close:
        case Op::Poll:
        case Op::PidfdGetInfo: return fd_open() ? "" : "fd not open in the caller's table";
        case Op::Dup:
            if (!fd_open()) return "fd not open in the caller's table";
            return c.new_fd ? "" : "dup names its fd";
        case Op::Prctl: return c.value >= 0 && c.value <= 255 ? "" : "prctl value out of range";
        case Op::DropPrivileges:
        case Op::Setresuid: return c.uid >= 0 && c.uid <= 65535 ? "" : "uid out of range";
        case Op::Execve: {
            if (k.same_thread_group(cur, model::kInit)) return "init does not exec";
            // fs/exec.c: de_thread waits until every other thread but the leader is released; a traced
            // thread stays a zombie until its tracer reaps it, so the execve would block.
            const TaskId leader = k.task(cur).leader;
            for (TaskId th : k.signal_of(cur).threads)
                if (th != cur && th != leader && k.task(th).ptraced) return "the execve would block (a traced thread)";
            return {};
        }
        case Op::Ptrace:
            if (!target_ok()) return "no such target";
            // init never exits: a tracer's PTRACE_O_EXITKILL would kill it (SEND_SIG_PRIV is forced)
            if (c.ptrace == scenario::PtraceRequest::Seize && k.same_thread_group(c.target, model::kInit))
                return "init is never traced";
            return {};
        case Op::Observe: return target_ok() ? "" : "no such target";
        case Op::SignalPending: return c.sig >= 1 && c.sig <= kNSIG ? "" : "signal out of range";
    }
    return "unknown op";
}

CStep gen_cstep(const model::Kernel& k, int names_used, const GenConfig& cfg, Chooser& ch, Scratch& scratch) {
    // ---- the actor: the live tasks in TaskId order after T, init last
    TaskId actors[64];
    uint32_t aw[64];
    size_t na = 0;
    const TaskId n = static_cast<TaskId>(k.tasks().size());
    for (TaskId t = model::kTest; t < n && na < 63; ++t)
        if (k.alive(t)) actors[na] = t, aw[na++] = 8;
    if (cfg.init_weight || na == 0) actors[na] = model::kInit, aw[na++] = cfg.init_weight ? cfg.init_weight : 1;
    const TaskId actor = actors[ch.weighted(aw, na)];
    const bool is_init = k.same_thread_group(actor, model::kInit);

    const model::FdTable* tab = k.table_of(actor);
    const size_t nfds = tab ? tab->entries.size() : 0;
    const bool budget = static_cast<int>(n) < cfg.limits.max_tasks && names_used < cfg.limits.max_names;
    const bool fd_room = static_cast<int>(nfds) < cfg.limits.max_fds;

    std::array<uint32_t, kFamilies> fw = cfg.weights;
    auto off = [&](Op f) { fw[static_cast<size_t>(f)] = 0; };
    if (!budget) off(Op::Fork), off(Op::Clone3), off(Op::Clone), off(Op::ThreadCreate);
    if (is_init) off(Op::Exit), off(Op::ExitGroup), off(Op::ThreadCreate), off(Op::Execve);
    {
        const TaskId leader = k.task(actor).leader;
        for (TaskId th : k.signal_of(actor).threads)
            if (th != actor && th != leader && k.task(th).ptraced) off(Op::Execve);
    }
    if (nfds == 0)
        off(Op::PidfdSendSignal), off(Op::Close), off(Op::Dup), off(Op::Poll), off(Op::PidfdGetInfo);
    if (!fd_room) off(Op::Dup), off(Op::PidfdOpen);
    bool any = false;
    for (auto x : fw) any = any || x;
    if (!any) fw[static_cast<size_t>(Op::Observe)] = 1;
    const Op fam = static_cast<Op>(ch.weighted(fw.data(), fw.size()));

    CStep c;
    c.actor = actor;
    auto pick_fd = [&] { return tab->entries[ch.below(static_cast<uint32_t>(nfds))].fd; };
    auto target = [&] { return pick_target(k, ch); };

    switch (fam) {
        case Op::Fork: c.op = Op::Fork; break;
        case Op::Clone3: {
            c.op = Op::Clone3;
            uint64_t flags = 0;
            int sig = 0;
            if (ch.below(3) != 2) {
                const auto& p = pick(ch, kClone3Presets);
                flags = p.flags;
                sig = p.exit_signal;
            } else {
                for (uint64_t f : kClone3Flags)
                    if (ch.one_in(3)) flags |= f;
                sig = (flags & (CF_AUTOREAP | CF_PARENT | CF_THREAD)) ? 0 : kSIGCHLD;
            }
            switch (ch.below(10)) {
                case 7: sig = 0; break;
                case 8: sig = kSIGCHLD; break;
                case 9: sig = ch.one_in(2) ? 65 : kSIGUSR1; break;
                default: break;
            }
            if (!fd_room) flags &= ~uint64_t(CF_PIDFD);
            if (is_init) flags &= ~uint64_t(CF_THREAD);
            c.flags = flags;
            c.exit_signal = sig;
            c.new_fd = (flags & CF_PIDFD) != 0;
            break;
        }
        case Op::Clone: {
            c.op = Op::Clone;
            uint64_t flags = 0;
            switch (ch.below(6)) {
                case 0: flags = CF_PARENT; break;
                case 1: flags = CF_FILES; break;
                case 2: flags = CF_THREAD | CF_SIGHAND | CF_VM; break;
                case 3: flags = CF_SIGHAND | CF_VM; break;
                case 4: flags = CF_PARENT | CF_FILES; break;
                default:
                    for (uint64_t f : kCloneFlags)
                        if (ch.one_in(3)) flags |= f;
            }
            if (is_init) flags &= ~uint64_t(CF_THREAD);
            c.flags = flags;
            const int sigs[] = {kSIGCHLD, 0, kSIGUSR1};
            c.exit_signal = ch.below(4) == 3 ? pick(ch, sigs) : kSIGCHLD;
            break;
        }
        case Op::ThreadCreate: c.op = Op::ThreadCreate; break;
        case Op::Exit:
        case Op::ExitGroup: {
            c.op = fam == Op::Exit ? Op::Exit : Op::ExitGroup;
            const int codes[] = {0, 1, 42, 255};
            c.code = pick(ch, codes);
            break;
        }
        case Op::Kill:
            c.op = Op::Kill;
            c.target = target();
            c.sig = pick_signal(ch);
            break;
        case Op::PidfdSendSignal:
            c.op = Op::PidfdSendSignal;
            c.fd = pick_fd();
            c.sig = pick_signal(ch);
            break;
        case Op::Sigaction: {
            c.op = Op::Sigaction;
            const int sigs[] = {kSIGCHLD, kSIGCHLD, kSIGCHLD, kSIGUSR1, kSIGKILL};
            c.sig = pick(ch, sigs);
            const scenario::Handler hs[] = {scenario::Handler::Dfl, scenario::Handler::Ign, scenario::Handler::Catch};
            c.handler = pick(ch, hs);
            if (ch.one_in(3)) c.flags = kSA_NOCLDWAIT;
            break;
        }
        case Op::Waitpid:
        case Op::Waitid: {
            if (fam == Op::Waitpid) {
                c.op = Op::Waitpid;
                if (ch.one_in(2)) c.target = target();
                else c.target_any = true;
            } else {
                c.op = Op::Waitid;
                switch (ch.below(nfds == 0 ? 2 : 3)) {
                    case 0: c.idtype = scenario::IdType::All; c.target_any = true; break;
                    case 1: c.idtype = scenario::IdType::Pid; c.target = target(); break;
                    default: c.idtype = scenario::IdType::Pidfd; c.fd = pick_fd(); break;
                }
            }
            c.options = W_NOHANG | wait_extra(ch);
            if (cfg.blocking_wait_one_in && ch.one_in(cfg.blocking_wait_one_in)) {
                CStep b = c;
                b.options &= ~unsigned(W_NOHANG);
                if (!k.would_block(b, &scratch.k)) c = b;
            }
            break;
        }
        case Op::PidfdOpen:
            c.op = Op::PidfdOpen;
            c.target = target();
            if (ch.one_in(3)) c.flags |= kPIDFD_THREAD;
            if (ch.one_in(3)) c.flags |= kPIDFD_NONBLOCK;
            c.new_fd = true;
            break;
        case Op::Close: c.op = Op::Close; c.fd = pick_fd(); break;
        case Op::Dup:
            c.op = Op::Dup;
            c.fd = pick_fd();
            c.new_fd = true;
            break;
        case Op::Poll: c.op = Op::Poll; c.fd = pick_fd(); break;
        case Op::PidfdGetInfo: c.op = Op::PidfdGetInfo; c.fd = pick_fd(); break;
        case Op::Prctl: {
            c.op = Op::Prctl;
            using P = scenario::PrctlOption;
            const P opts[] = {P::SetChildSubreaper, P::SetNoNewPrivs, P::SetPdeathsig,
                              P::GetChildSubreaper, P::GetNoNewPrivs, P::GetPdeathsig};
            c.prctl = pick(ch, opts);
            if (c.prctl == P::SetChildSubreaper) c.value = ch.one_in(3) ? 0 : 1;
            if (c.prctl == P::SetNoNewPrivs) c.value = ch.one_in(6) ? 0 : 1;
            if (c.prctl == P::SetPdeathsig) {
                const int v[] = {kSIGKILL, 0, kSIGUSR1, 65};
                c.value = pick(ch, v);
            }
            break;
        }
        case Op::DropPrivileges: {
            c.op = Op::DropPrivileges;
            const int uids[] = {1000, 65534};
            c.uid = pick(ch, uids);
            break;
        }
        case Op::Setresuid: {
            c.op = Op::Setresuid;
            const int uids[] = {0, 1000};
            c.uid = pick(ch, uids);
            break;
        }
        case Op::Execve:
            c.op = Op::Execve;
            c.setuid_root = ch.one_in(2);
            c.keep_fds = ch.one_in(4);
            break;
        case Op::Ptrace:
            c.op = Op::Ptrace;
            c.ptrace = ch.one_in(4) ? scenario::PtraceRequest::Detach : scenario::PtraceRequest::Seize;
            c.target = target();
            if (c.target == model::kInit) c.target = model::kTest;
            if (c.ptrace == scenario::PtraceRequest::Seize && ch.one_in(3)) c.ptrace_options = scenario::kPTRACE_O_EXITKILL;
            break;
        case Op::SignalPending: {
            c.op = Op::SignalPending;
            const int sigs[] = {kSIGCHLD, kSIGUSR1, kSIGTERM};
            c.sig = pick(ch, sigs);
            break;
        }
        case Op::Observe:
            c.op = Op::Observe;
            c.target = target();
            break;
    }
    if (!cstep_invalid(k, names_used, cfg.limits, c, scratch).empty()) {
        // Never expected: the choices above only make valid steps. Fall back to one that always is.
        g_fallbacks.fetch_add(1, std::memory_order_relaxed);
        CStep o;
        o.actor = model::kInit;
        o.op = Op::Observe;
        o.target = model::kTest;
        return o;
    }
    return c;
}

model::SysRet exec_cstep(model::Kernel& k, const CStep& c, bool settle) {
    model::SysRet r = k.perform(c);
    if (settle) k.settle();
    return r;
}

namespace {

// What a settled state shows: every task's life, parents, exit status and pending signals, and
// which pidfd files are released.
std::string outcome_of(const model::Kernel& k) {
    std::string o;
    o.reserve(k.tasks().size() * 24 + k.files().size());
    for (TaskId t = 0; t < static_cast<TaskId>(k.tasks().size()); ++t) {
        const auto& x = k.task(t);
        const bool gone = x.exit_state == model::ExitState::Dead || x.exit_state == model::ExitState::Released;
        o += gone ? 'R' : x.exit_state == model::ExitState::Running ? (k.alive(t) ? 'A' : 'X') : 'Z';
        if (gone) continue;
        o += std::to_string(x.real_parent) + "," + std::to_string(x.parent) + "," + std::to_string(x.exit_signal) + "," +
             std::to_string(x.exit_code) + "," + std::to_string(x.pending) + "," +
             std::to_string(k.signal_of(t).shared_pending) + (x.pidfs_has_exit ? "e" + std::to_string(x.pidfs_exit_code) : "") +
             ";";
    }
    for (const auto& f : k.files()) o += f.released ? '1' : '0';
    return o;
}

// Every order of the enabled transitions, depth first; stops at the second distinct outcome.
bool explore_orders(const model::Kernel& k, std::string& first, size_t& budget) {
    auto ts = k.enabled_transitions();
    if (ts.empty()) {
        std::string o = outcome_of(k);
        if (first.empty()) {
            first = std::move(o);
            return false;
        }
        return o != first;
    }
    for (const auto& t : ts) {
        if (budget == 0) return true;  // too many orders to tell: count it as racy
        --budget;
        model::Kernel k2 = k;
        k2.run_transition(t);
        if (explore_orders(k2, first, budget)) return true;
    }
    return false;
}

}  // namespace

bool cstep_racy(const model::Kernel& k, const CStep& c, size_t budget) {
    model::Kernel k2 = k;
    exec_cstep(k2, c, false);
    // the caller returned, and a consequence of its own call then kills it
    if (c.op != Op::Exit && c.op != Op::ExitGroup && k2.alive(c.actor)) {
        model::Kernel k3 = k2;
        k3.settle();
        if (!k3.alive(c.actor)) return true;
    }
    if (k2.enabled_transitions().size() <= 1) return false;
    std::string first;
    return explore_orders(k2, first, budget);
}

}  // namespace pidlab::prop
