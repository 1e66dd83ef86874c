// Named invariants of the process-lifecycle model, checked over a state (a
// Kernel plus the checker's bookkeeping) or over a transition (the state before
// a step, the state after it and the events the step appended). The explorer
// (BFS, DFS, random walks) and `pidlab replay` of a counterexample share these
// checks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/scenario.hpp"
#include "model/kernel.hpp"
#include "model/replay.hpp"

namespace pidlab::checker {

// What the checker records about each pidfd file (the model's File lacks it).
// Parallel to Kernel::files(): index f describes files()[f].
struct FileAux {
    bool autokill_clone = false;             // created by clone3 with CLONE_PIDFD_AUTOKILL
    model::TaskId creator = model::kNoTask;  // the task whose call created the file (clone3 or pidfd_open)
    model::Cred creator_cred{};              // the creator's credentials when it created the file
                                             // (no_unprivileged_kill judges the kill by these)
};
struct Aux {
    std::vector<FileAux> files;
    bool operator==(const Aux&) const = default;
};
inline bool operator==(const FileAux& a, const FileAux& b) {
    return a.autokill_clone == b.autokill_clone && a.creator == b.creator && a.creator_cred == b.creator_cred;
}

// After a step by `actor` that may have created files (files_before = files().size() before it):
// records who created them, with the creator's credentials at that moment (`after` is the
// state right after the creating call, which changes no credentials of its caller), and
// whether they are clone3 autokill files.
void note_new_files(const model::Kernel& after, size_t files_before, model::TaskId actor, bool autokill_requested,
                    Aux& aux);

enum class InvKind : uint8_t { State, Transition };

struct InvariantInfo {
    const char* name;
    const char* statement;
    InvKind kind;
};

// Every invariant, in a fixed order (its index is its bit in an InvMask).
const std::vector<InvariantInfo>& invariants();
std::optional<int> invariant_index(std::string_view name);
using InvMask = uint32_t;
InvMask all_invariants();
// "a,b,c" -> mask; "all" or "" -> every invariant. Unknown names are returned in `unknown`.
InvMask parse_invariants(const std::string& list, std::string& unknown);

struct Violation {
    int inv = -1;
    std::string detail;  // one line: which task or file, and why
};

// A state invariant's check over one state.
void check_state(const model::Kernel& k, const Aux& aux, InvMask mask, std::vector<Violation>& out);

// A transition: `before` and `after` states; the events appended during it are
// after.events[events_from..]; `actor` is the task whose op it was (kNoTask for an
// internal transition of the kernel).
struct TransitionView {
    const model::Kernel& before;
    const Aux& aux_before;
    const model::Kernel& after;
    const Aux& aux_after;
    size_t events_from = 0;
    model::TaskId actor = model::kNoTask;
};
void check_transition(const TransitionView& t, InvMask mask, std::vector<Violation>& out);

// Both kinds at once: the transition checks, then the state checks of `after`.
void check_step(const TransitionView& t, InvMask mask, std::vector<Violation>& out);

// kernel/signal.c: kill_ok_by_cred, as a free function over two credentials.
bool kill_ok_by_cred(const model::Cred& sender, const model::Cred& target);

// ---- replaying a scenario with the invariants watched ----------------------

// Watches a model::Replayer step by step: call before(rp) before rp.step(i) and
// after(rp, step) after it; after() returns the names of the invariants violated
// by that step (its transition, and the state it left).
class ScenarioMonitor {
public:
    explicit ScenarioMonitor(InvMask mask = all_invariants()) : mask_(mask) {}
    void before(const model::Replayer& rp);
    std::vector<std::string> after(const model::Replayer& rp, const scenario::Step& step,
                                   std::vector<Violation>* details = nullptr);
    const Aux& aux() const { return aux_; }

private:
    InvMask mask_;
    Aux aux_;
    std::optional<model::Kernel> before_;
    Aux aux_before_;
    size_t events_before_ = 0;
};

// One step of monitored_replay.
struct MonitoredStep {
    size_t index = 0;
    model::StepOutcome outcome;           // what model::Replayer::step returned
    std::vector<std::string> violated;    // the invariants the step violated (ScenarioMonitor::after)
    std::vector<Violation> details;
};

// Runs every step of `s` on `rp` (a Replayer of `s` that has run no step yet) with
// the invariants of `mask` watched, and calls `on_step` after each one; stops
// early when `on_step` returns false. Throws scenario::FormatError as
// model::Replayer::step does. The one loop behind check_counterexample,
// prop::find_violation and the corpus part of `pidlab validate`.
void monitored_replay(model::Replayer& rp, const scenario::Scenario& s, InvMask mask,
                      const std::function<bool(MonitoredStep&)>& on_step);

// What `pidlab replay` reports for a scenario with `violates`.
struct CounterexampleCheck {
    std::string invariant;                           // s.violates
    bool known_invariant = false;
    bool violated_at_last_step = false;              // the scenario shows its violation at its last step
    int first_violation_step = -1;                   // the first step that violated it (-1: none)
    std::vector<std::vector<std::string>> per_step;  // the invariants each step violated
    std::vector<std::string> details;                // the details at the last step
    std::optional<scenario::FormatError> error;      // the scenario could not run
};
CounterexampleCheck check_counterexample(const scenario::Scenario& s, const model::Profile& p);

// The same over a Replayer that has just run steps [0, n): only the state invariants
// can be judged without the transitions; kept for callers that hold a Replayer.
std::vector<std::string> check_invariants(const model::Replayer& rp, const Aux& aux = {},
                                          InvMask mask = all_invariants());

}  // namespace pidlab::checker
