#include "checker/invariants.hpp"

#include <algorithm>
#include <sstream>

#include "format/names.hpp"

namespace pidlab::checker {

using model::ExitState;
using model::Kernel;
using model::SignalOrigin;
using model::Task;
using model::TaskId;

namespace {

enum Inv : int {
    kNoCloneParentLeak,
    kNoInvisibleZombie,
    kAutoreapNoZombie,
    kAutokillFires,
    kAutokillOnlyCloneFile,
    kAutokillNoSelfPin,
    kNoUnprivilegedKill,
    kNnpMonotonic,
    kParentAlive,
    kExitInfoKept,
    kInvCount,
};

bool on(InvMask m, int i) { return (m >> i) & 1u; }

bool gone(const Task& t) { return t.exit_state == ExitState::Released || t.exit_state == ExitState::Dead; }

std::string tname(TaskId t) {
    if (t == model::kInit) return "init";
    if (t == model::kTest) return "T";
    return "C" + std::to_string(t - 1);
}

}  // namespace

const std::vector<InvariantInfo>& invariants() {
    static const std::vector<InvariantInfo> v = {
        {"no_clone_parent_leak",
         "no task without autoreap holds an exit_signal of 0 that it inherited through CLONE_PARENT from an autoreap process",
         InvKind::State},
        {"no_invisible_zombie",
         "no zombie is left that nothing reaps or reports: not autoreap, no signal to its parent, invisible to the "
         "parent's wait() without __WALL/__WCLONE, and its exit_signal 0 not chosen by its parent",
         InvKind::State},
        {"autoreap_no_zombie", "an untraced autoreap process whose thread group is empty is never a zombie",
         InvKind::State},
        {"autokill_fires",
         "when the last reference to a clone3 autokill file drops while its task lives, the task is killed",
         InvKind::Transition},
        {"autokill_only_clone_file",
         "no file's release sends the autokill SIGKILL but the target's own clone3 autokill file",
         InvKind::Transition},
        {"autokill_no_self_pin",
         "a live autokill child is never kept alive only by references to its own autokill file held by its own "
         "thread group (its creator and every other holder gone)",
         InvKind::State},
        {"no_unprivileged_kill",
         "autokill never kills a task its file's creator could not kill with kill(2), unless the creator held "
         "CAP_SYS_ADMIN when it created the file",
         InvKind::Transition},
        {"nnp_monotonic",
         "no_new_privs is never cleared on a task, and every task created by a task with no_new_privs has it",
         InvKind::Transition},
        {"parent_alive", "the real parent of every live or zombie task is live, or init", InvKind::State},
        {"exit_info_kept",
         "once an autoreap child is reaped, PIDFD_GET_INFO through any pidfd of it reports its exit",
         InvKind::State},
    };
    return v;
}

std::optional<int> invariant_index(std::string_view name) {
    const auto& v = invariants();
    for (size_t i = 0; i < v.size(); ++i)
        if (name == v[i].name) return static_cast<int>(i);
    return std::nullopt;
}

InvMask all_invariants() { return (1u << invariants().size()) - 1; }

InvMask parse_invariants(const std::string& list, std::string& unknown) {
    if (list.empty() || list == "all") return all_invariants();
    InvMask m = 0;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        if (item == "all") {
            m |= all_invariants();
            continue;
        }
        auto i = invariant_index(item);
        if (!i) {
            if (!unknown.empty()) unknown += ",";
            unknown += item;
            continue;
        }
        m |= 1u << *i;
    }
    return m;
}

bool kill_ok_by_cred(const model::Cred& c, const model::Cred& tc) {
    return c.euid == tc.suid || c.euid == tc.uid || c.uid == tc.suid || c.uid == tc.uid || c.caps;  // CAP_KILL
}

void note_new_files(const Kernel& after, size_t files_before, TaskId actor, bool autokill_requested, Aux& aux) {
    const size_t n = after.files().size();
    if (aux.files.size() < files_before) aux.files.resize(files_before);
    for (size_t f = files_before; f < n; ++f) {
        FileAux fa;
        fa.creator = actor;
        if (actor >= 0 && actor < static_cast<TaskId>(after.tasks().size())) fa.creator_cred = after.task(actor).cred;
        fa.autokill_clone = autokill_requested && after.file(static_cast<int>(f)).clone3 &&
                            after.profile().has_autokill();
        aux.files.push_back(fa);
    }
}

// ---------------------------------------------------------------- state invariants

void check_state(const Kernel& k, const Aux& aux, InvMask mask, std::vector<Violation>& out) {
    const auto& tasks = k.tasks();
    const TaskId n = static_cast<TaskId>(tasks.size());
    for (TaskId t = 0; t < n; ++t) {
        const Task& task = tasks[t];
        if (gone(task)) continue;
        const auto& sig = k.signal_of(t);
        if (on(mask, kNoCloneParentLeak) && !sig.autoreap && task.exit_signal == 0 &&
            task.origin == SignalOrigin::CloneParentAutoreap) {
            out.push_back({kNoCloneParentLeak, tname(t) + " has exit_signal 0 inherited through CLONE_PARENT from the "
                                                          "autoreap process " + tname(task.origin_from) +
                                                          " but is not autoreap itself"});
        }
        if (task.exit_state == ExitState::Zombie && !task.ptraced && k.thread_group_empty(t)) {
            if (on(mask, kAutoreapNoZombie) && sig.autoreap)
                out.push_back({kAutoreapNoZombie, tname(t) + " is an untraced autoreap zombie with an empty thread group"});
            if (on(mask, kNoInvisibleZombie) && !sig.autoreap && task.exit_signal == 0 && task.parent != model::kNoTask &&
                task.parent_exec_id == tasks[task.parent].self_exec_id && task.origin != SignalOrigin::Requested &&
                task.origin != SignalOrigin::CloneParent) {
                out.push_back({kNoInvisibleZombie,
                               tname(t) + " is a zombie that nothing reports: exit_signal 0 (" + model::origin_name(task.origin) +
                                   "), no autoreap, invisible to " + tname(task.parent) + "'s wait() without __WALL"});
            }
        }
        if (on(mask, kParentAlive) && t != model::kInit &&
            (task.exit_state == ExitState::Running || task.exit_state == ExitState::Zombie ||
             task.exit_state == ExitState::Trace)) {
            TaskId rp = task.real_parent;
            if (rp != model::kInit && (rp == model::kNoTask || tasks[rp].exit_state != ExitState::Running))
                out.push_back({kParentAlive, tname(t) + "'s real parent " + (rp == model::kNoTask ? "(none)" : tname(rp)) +
                                                 " is neither live nor init"});
        }
    }
    if (!on(mask, kAutokillNoSelfPin) && !on(mask, kExitInfoKept)) return;
    const auto& files = k.files();
    for (int f = 0; f < static_cast<int>(files.size()); ++f) {
        const auto& file = files[f];
        if (file.released || file.refs <= 0) continue;
        const Task& target = tasks[file.pid];
        if (on(mask, kExitInfoKept) && k.profile().pidfd_info_exit() && target.exit_state == ExitState::Released &&
            k.signal_of(file.pid).autoreap && !target.pidfs_has_exit) {
            out.push_back({kExitInfoKept, "a pidfd of the reaped autoreap child " + tname(file.pid) +
                                              " reports no exit information"});
        }
        bool autokill_clone = f < static_cast<int>(aux.files.size()) ? aux.files[f].autokill_clone
                                                                      : (file.clone3 && file.autokill);
        if (on(mask, kAutokillNoSelfPin) && autokill_clone && k.alive(file.pid)) {
            bool any = false, only_own = true;
            for (TaskId h = 0; h < static_cast<TaskId>(tasks.size()) && only_own; ++h) {
                if (tasks[h].files < 0 || gone(tasks[h])) continue;
                const auto& tab = k.fd_tables()[tasks[h].files];
                bool holds = std::any_of(tab.entries.begin(), tab.entries.end(),
                                         [&](const model::FdEntry& e) { return e.file == f; });
                if (!holds) continue;
                any = true;
                if (!k.same_thread_group(h, file.pid)) only_own = false;
            }
            if (any && only_own)
                out.push_back({kAutokillNoSelfPin, tname(file.pid) + " is kept alive only by its own autokill pidfd, "
                                                                     "held in its own fd table"});
        }
    }
}

// ---------------------------------------------------------------- transition invariants

void check_transition(const TransitionView& tv, InvMask mask, std::vector<Violation>& out) {
    const Kernel& b = tv.before;
    const Kernel& a = tv.after;
    const auto& events = a.events;
    if (on(mask, kAutokillFires)) {
        // Judged at the granularity of a step: the file's last reference went during the
        // step, its task was alive before it, and the task lives on after it.
        const size_t nf = std::min(b.files().size(), tv.aux_after.files.size());
        for (size_t f = 0; f < nf; ++f) {
            const auto& fb = b.file(static_cast<int>(f));
            const auto& fa = a.file(static_cast<int>(f));
            if (fb.released || !fa.released || !tv.aux_after.files[f].autokill_clone) continue;
            if (!b.alive(fb.pid) || !a.alive(fb.pid)) continue;
            out.push_back({kAutokillFires, "the last reference to " + tname(fb.pid) +
                                               "'s autokill file dropped while it lived, and it was not killed"});
        }
    }
    std::vector<TaskId> killed_seen;
    for (size_t e = tv.events_from; e < events.size(); ++e) {
        const auto& ev = events[e];
        if (ev.kind != Kernel::Event::AutokillSent) continue;
        const FileAux* fx = ev.file >= 0 && ev.file < static_cast<int>(tv.aux_after.files.size())
                                ? &tv.aux_after.files[ev.file] : nullptr;
        const bool in_before = ev.target < static_cast<TaskId>(b.tasks().size());
        if (on(mask, kAutokillOnlyCloneFile)) {
            // The file's task at the release: pidfs_file_release resolved it (ev.target) before
            // anything later in the step could move the file. de_thread moves a file with its
            // struct pid to the exec'ing thread, before or after the release within one step
            // (the zapped leader's exit_files releases it first; a close-on-exec after
            // de_thread releases it after): so the file named the target at the release if it
            // names it in the state before the step or in the state after it.
            const bool names_before = ev.file >= 0 && ev.file < static_cast<int>(b.files().size()) &&
                                      b.file(ev.file).pid == ev.target;
            const bool names_after = ev.file >= 0 && ev.file < static_cast<int>(a.files().size()) &&
                                     a.file(ev.file).pid == ev.target;
            bool own = fx && fx->autokill_clone && (names_before || names_after);
            if (!own) {
                bool alive_before = in_before && b.alive(ev.target);
                out.push_back({kAutokillOnlyCloneFile,
                               "the release of a file that is not " + tname(ev.target) +
                                   "'s clone3 autokill file sent it the autokill SIGKILL (" +
                                   (alive_before ? "it was alive" : "it was already exiting") + ")"});
            }
        }
        // The event that killed its target: the first one for a target that this step autokilled.
        bool killer = in_before && !b.task(ev.target).autokilled && a.task(ev.target).autokilled &&
                      std::find(killed_seen.begin(), killed_seen.end(), ev.target) == killed_seen.end();
        if (killer) killed_seen.push_back(ev.target);
        // kill_ok_by_cred with the creator's credentials at creation (the kernel's decision to
        // allow autokill is made at clone time), against the target's credentials now.
        if (on(mask, kNoUnprivilegedKill) && killer && !ev.privileged_creator && fx && fx->creator != model::kNoTask &&
            !a.same_thread_group(fx->creator, ev.target) && !kill_ok_by_cred(fx->creator_cred, a.task(ev.target).cred)) {
            const auto& c = fx->creator_cred;
            const auto& t = a.task(ev.target).cred;
            out.push_back({kNoUnprivilegedKill,
                           "autokill killed " + tname(ev.target) + " (uid " + std::to_string(t.uid) + ", suid " +
                               std::to_string(t.suid) + ") though its creator " + tname(fx->creator) +
                               " (at creation: uid " + std::to_string(c.uid) + ", euid " + std::to_string(c.euid) +
                               ", no CAP_SYS_ADMIN) could not kill it"});
        }
    }
    if (on(mask, kNnpMonotonic)) {
        const TaskId nb = static_cast<TaskId>(b.tasks().size());
        for (TaskId t = 0; t < nb; ++t)
            if (b.task(t).no_new_privs && !gone(a.task(t)) && !a.task(t).no_new_privs)
                out.push_back({kNnpMonotonic, tname(t) + " lost no_new_privs"});
        if (tv.actor != model::kNoTask && tv.actor < nb && b.task(tv.actor).no_new_privs)
            for (TaskId t = nb; t < static_cast<TaskId>(a.tasks().size()); ++t)
                if (!a.task(t).no_new_privs)
                    out.push_back({kNnpMonotonic, tname(t) + " was created by " + tname(tv.actor) +
                                                      " (no_new_privs) without no_new_privs"});
    }
}

void check_step(const TransitionView& t, InvMask mask, std::vector<Violation>& out) {
    check_transition(t, mask, out);
    check_state(t.after, t.aux_after, mask, out);
}

// ---------------------------------------------------------------- replay

namespace {
bool step_requests_autokill(const scenario::Step& st, const model::Profile& p) {
    if (st.op != scenario::Op::Clone3) return false;
    if (st.flags & names::CF_PIDFD_AUTOKILL) return true;
    return p.bit_autokill && (st.raw_flags & p.bit_autokill);
}
}  // namespace

void ScenarioMonitor::before(const model::Replayer& rp) {
    before_ = rp.kernel();
    aux_before_ = aux_;
    events_before_ = rp.kernel().events.size();
}

std::vector<std::string> ScenarioMonitor::after(const model::Replayer& rp, const scenario::Step& step,
                                                std::vector<Violation>* details) {
    const Kernel& k = rp.kernel();
    TaskId actor = rp.task_id(step.task);
    size_t files_before = before_ ? before_->files().size() : aux_.files.size();
    note_new_files(k, files_before, actor, step_requests_autokill(step, k.profile()), aux_);
    std::vector<Violation> v;
    if (before_) {
        TransitionView tv{*before_, aux_before_, k, aux_, events_before_, actor};
        check_step(tv, mask_, v);
    } else {
        check_state(k, aux_, mask_, v);
    }
    std::vector<std::string> names_out;
    for (const auto& x : v) {
        std::string n = invariants()[x.inv].name;
        if (std::find(names_out.begin(), names_out.end(), n) == names_out.end()) names_out.push_back(n);
    }
    if (details) *details = std::move(v);
    return names_out;
}

void monitored_replay(model::Replayer& rp, const scenario::Scenario& s, InvMask mask,
                      const std::function<bool(MonitoredStep&)>& on_step) {
    ScenarioMonitor mon(mask);
    for (size_t i = 0; i < s.steps.size(); ++i) {
        MonitoredStep m;
        m.index = i;
        mon.before(rp);
        m.outcome = rp.step(i);
        m.violated = mon.after(rp, s.steps[i], &m.details);
        if (!on_step(m)) return;
    }
}

CounterexampleCheck check_counterexample(const scenario::Scenario& s, const model::Profile& p) {
    CounterexampleCheck r;
    r.invariant = s.violates;
    r.known_invariant = invariant_index(s.violates).has_value();
    model::Replayer rp(s, p);
    try {
        monitored_replay(rp, s, all_invariants(), [&](MonitoredStep& m) {
            const bool it = std::find(m.violated.begin(), m.violated.end(), s.violates) != m.violated.end();
            if (r.first_violation_step < 0 && it) r.first_violation_step = static_cast<int>(m.index);
            if (m.index + 1 == s.steps.size()) {
                r.violated_at_last_step = it;
                for (const auto& d : m.details) r.details.push_back(std::string(invariants()[d.inv].name) + ": " + d.detail);
            }
            r.per_step.push_back(std::move(m.violated));
            return true;
        });
    } catch (const scenario::FormatError& e) {
        r.error = e;
    }
    return r;
}

std::vector<std::string> check_invariants(const model::Replayer& rp, const Aux& aux_in, InvMask mask) {
    const Kernel& k = rp.kernel();
    Aux aux = aux_in;
    if (aux.files.size() < k.files().size()) {
        // Without the steps' bookkeeping: a clone3 file is the autokill file if the kernel says so.
        for (size_t f = aux.files.size(); f < k.files().size(); ++f) {
            const auto& file = k.file(static_cast<int>(f));
            FileAux fa;
            fa.autokill_clone = file.clone3 && (file.autokill || (k.profile().autokill == model::AutokillIdentity::SignalPointer &&
                                                                  k.signal_of(file.pid).autokill_pidfd == file.addr));
            aux.files.push_back(fa);
        }
    }
    std::vector<Violation> v;
    check_state(k, aux, mask & [] {
        InvMask m = 0;
        for (size_t i = 0; i < invariants().size(); ++i)
            if (invariants()[i].kind == InvKind::State) m |= 1u << i;
        return m;
    }(), v);
    std::vector<std::string> out;
    for (const auto& x : v) {
        std::string n = invariants()[x.inv].name;
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    return out;
}

}  // namespace pidlab::checker
