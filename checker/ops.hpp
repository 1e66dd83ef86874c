// The op alphabet of the explorer: which system calls each task may make, with
// which flag sets, and how an op maps onto a scenario step (format/scenario.hpp).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/kernel.hpp"

namespace pidlab::checker {

// One item of the alphabet: an op of the op table (format/ops.def) with its arguments fixed
// but for the one the explorer varies over the state (a target task or an fd of the actor's).
enum class ItemArg : uint8_t { None, Task, Fd };
struct Item {
    std::string token;    // the --ops token ("sig_ign"), "clone3" for a clone3 flag set
    std::string detail;   // a clone3 flag set's name ("PIDFD|AUTOREAP/0")
    model::Call call;     // the op and its fixed arguments
    ItemArg arg = ItemArg::None;
    uint8_t who = 0;      // Who bits
    // The explorer's own pruning (not a kernel rule: those are model::Kernel::refusal's): leaves
    // out calls that change nothing or duplicate another. Null: always offered.
    bool (*offered)(const model::Kernel& k, model::TaskId actor, int arg) = nullptr;
};

// One op: 4 bytes. `item` indexes Alphabet::items() (kInternalItem: an internal kernel
// transition, `variant` its Transition::Kind), `arg` is a target TaskId or an fd number.
inline constexpr uint8_t kInternalItem = 255;
struct Op {
    uint8_t item = 0;
    uint8_t actor = 0;
    uint8_t arg = 0;
    uint8_t variant = 0;
    bool internal() const { return item == kInternalItem; }
    uint32_t pack() const {
        return uint32_t(item) | uint32_t(actor) << 8 | uint32_t(arg) << 16 | uint32_t(variant) << 24;
    }
    static Op unpack(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }
};

// Which tasks may make an op: T, the created tasks, init (bits).
enum Who : uint8_t { kWhoT = 1, kWhoCreated = 2, kWhoInit = 4, kWhoAny = kWhoT | kWhoCreated };

struct ClonePreset {
    uint64_t flags = 0;   // semantic flags (names::CF_*)
    int exit_signal = 0;
    uint8_t who = kWhoAny;
    std::string name() const;
};

// The named items (every --ops token but clone3 flag sets), in the order the explorer offers them.
size_t named_item_count();
const char* named_item_token(size_t i);

struct Alphabet {
    std::vector<bool> on = std::vector<bool>(named_item_count(), false);      // by named item
    std::vector<uint8_t> who = std::vector<uint8_t>(named_item_count(), kWhoAny);
    std::vector<ClonePreset> clone3;
    bool init_acts = false;   // init may make calls too (default: it only reaps what it is told: never)
    bool interleave = false;  // internal kernel transitions are ops too (--interleave)
    bool has(std::string_view token) const;
    std::string describe() const;
    // Every item, in the order the explorer offers them (Op::item indexes it); rebuilt by
    // parse_alphabet and finish().
    const std::vector<Item>& items() const { return items_; }
    void finish();

private:
    std::vector<Item> items_;
};

// Presets: "minimal", "default", "full". A spec is a comma list of presets, op names,
// "clone3=FLAG|FLAG[/SIG]" items, "init" (init acts) and "-NAME" removals, e.g.
// "default,-dup,+signal_pending,clone3=PIDFD|AUTOREAP|FILES".
bool parse_alphabet(const std::string& spec, Alphabet& out, std::string& err);
std::string alphabet_help();
std::vector<std::string> op_token_names();

struct Bounds {
    int tasks = 4;    // tasks besides init (T included): at most tasks-1 are created
    int depth = 8;    // ops (steps) per path
    bool interleave = false;
};

// The ops enabled in a state (only where they make sense: live actors, open fds,
// task budget left; waits never block).
void enabled_ops(const model::Kernel& k, const Alphabet& a, const Bounds& b, std::vector<Op>& out);

// The model call of an op (its item's call, with the actor and the varied argument).
model::Call op_call(const Alphabet& a, const Op& op);

// Runs one op (and settles unless `interleave`); records new files in `aux`.
// Returns the system call's outcome.
model::SysRet apply_op(model::Kernel& k, Aux& aux, const Alphabet& a, const Op& op, bool settle);

// Names for a counterexample: tasks C1, C2 ... by creation, fds f1, f2 ... by creation,
// kept per fd table exactly as model::Replayer keeps them.
class Namer {
public:
    std::string task(model::TaskId t) const;
    // The step for `op` in state `k` (before it runs).
    scenario::Step step(const model::Kernel& k, const Alphabet& a, const Op& op);
    // Bookkeeping after the op ran: `before` is the state before it.
    void after(const model::Kernel& before, const model::Kernel& after, const Op& op, const model::SysRet& r);

private:
    std::string fd_name(const model::Kernel& k, model::TaskId t, int fd) const;
    std::map<int, std::map<int, std::string>> fds_;  // fd table -> fd number -> name
    int next_fd_ = 1;
    std::string pending_fd_;  // the name given to the fd the step creates
    scenario::Op items_op_ = scenario::Op::Observe;  // the op of the step being named
};

std::string describe_op(const Op& op, const Alphabet& a);

}  // namespace pidlab::checker
