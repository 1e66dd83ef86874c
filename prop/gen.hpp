// Random valid steps: the generators shared by the RapidCheck properties
// (prop/rc.hpp), `pidlab random`, `pidlab difftest` and the benchmarks.
//
// A generator makes a sequence of choices through a Chooser: RapidCheck's
// generators (each choice shrinks towards 0) or a fast PRNG. It chooses a CStep,
// a step over the model's ids (tasks by TaskId, fds by number), among the steps
// that can run in the current state (the acting task alive, the fd in its table,
// a wait that never blocks), so every generated sequence is a valid scenario.
// Choice 0 is always the simplest option. A CStep becomes a scenario::Step by
// naming it in a World (prop/world.hpp), and runs directly on a model::Kernel in
// the fast runner (prop/search.hpp) exactly as model::Replayer runs the Step.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "format/scenario.hpp"
#include "model/kernel.hpp"

namespace pidlab::prop {

// A source of choices.
class Chooser {
public:
    virtual ~Chooser() = default;
    // Uniform in [0, n) (n >= 1).
    virtual uint32_t below(uint32_t n) = 0;
    bool one_in(uint32_t n) { return below(n) == n - 1; }
    // An index drawn with the given weights (at least one non-zero).
    size_t weighted(const uint32_t* w, size_t n);
};

// xoshiro256** seeded through splitmix64: fast, deterministic for a seed.
class FastChooser final : public Chooser {
public:
    explicit FastChooser(uint64_t seed);
    uint32_t below(uint32_t n) override {
        // Lemire's multiply-shift (the tiny bias is irrelevant here)
        return static_cast<uint32_t>((static_cast<uint64_t>(static_cast<uint32_t>(next() >> 32)) * n) >> 32);
    }
    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

// The seed of case `i` of a run with seed `seed` (splitmix64).
uint64_t case_seed(uint64_t seed, uint64_t i);

// The generator picks an op (its "family"), then its arguments: the families are the ops of
// the op table (format/ops.def), in its order.
inline constexpr size_t kFamilies = scenario::kOpCount;
const char* family_name(scenario::Op f);

struct Limits {
    int max_tasks = 16;   // tasks in the model, init and T included (every task ever created counts)
    int max_names = 48;   // task names, failed creations included (the format allows 64)
    int max_fds = 10;     // fds per table beyond which pidfd_open/dup/clone3 pidfds are not generated
};

struct GenConfig {
    Limits limits;
    // Relative weights of the families (0: never).
    std::array<uint32_t, kFamilies> weights = default_weights();
    // The weight of init as the actor against 8 for each other live task (0: init never acts).
    uint32_t init_weight = 1;
    // Waits without WNOHANG when the model says they return at once (1 in N waits; 0: never).
    uint32_t blocking_wait_one_in = 4;
    static std::array<uint32_t, kFamilies> default_weights();
    // "fork:5,clone3:20,..." overrides weights by family name. Returns false (and `err`) on a bad spec.
    bool set_weights(const std::string& spec, std::string& err);
};

// A step over model ids: the model's resolved step.
using CStep = model::Call;

// A kernel the generators may scribble on (dry runs of waits); reused to avoid allocations.
struct Scratch {
    model::Kernel k{model::Profile{}, model::Cred{}};
};

// The preconditions of a step in state `k` (with `names_used` task names spent): empty when it can run.
std::string cstep_invalid(const model::Kernel& k, int names_used, const Limits& lim, const CStep& c, Scratch& scratch);

// One random step that can run in `k`.
CStep gen_cstep(const model::Kernel& k, int names_used, const GenConfig& cfg, Chooser& ch, Scratch& scratch);

// How often gen_cstep made an invalid step and fell back to `observe` (a generator bug: the tests expect 0).
uint64_t generator_fallbacks();

// Runs a step on the kernel as model::Replayer runs its scenario::Step (model::Kernel::perform),
// settles (unless told not to: the kernel's own work after the call is then left as enabled
// transitions), and returns the call's outcome.
model::SysRet exec_cstep(model::Kernel& k, const CStep& c, bool settle = true);

// Does the outcome of the step depend on the order in which the kernel finishes its consequences?
// True when two orders of the transitions the call leaves (exits, notifications, releases of
// different tasks: model::Kernel::enabled_transitions) settle into different states, or when the
// caller returns from the call and is then killed by one of its consequences (a real kernel may
// or may not let the caller report first). Such steps give scheduling-dependent results on real
// kernels; difftest does not generate them. `budget`: transitions explored at most (beyond: racy).
bool cstep_racy(const model::Kernel& k, const CStep& c, size_t budget = 20000);

}  // namespace pidlab::prop
