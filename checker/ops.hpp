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

enum class OpKind : uint8_t {
    Fork,             // fork()
    Clone3,           // clone3 with a preset (variant = preset index)
    CloneParent,      // legacy clone(CLONE_PARENT, SIGCHLD)
    Thread,           // thread_create
    Exit,             // exit(0): the calling thread
    ExitGroup,        // exit_group(0)
    Kill,             // kill(target, SIGKILL)
    PidfdKill,        // pidfd_send_signal(fd, SIGKILL)
    SigIgn,           // sigaction(SIGCHLD, SIG_IGN)
    SigNocldwait,     // sigaction(SIGCHLD, SIG_DFL, SA_NOCLDWAIT)
    SigDfl,           // sigaction(SIGCHLD, SIG_DFL)
    Wait,             // waitpid(-1, WNOHANG)
    WaitAll,          // waitpid(-1, WNOHANG|__WALL)
    WaitPid,          // waitpid(target, WNOHANG|__WALL), target a zombie
    WaitidPidfd,      // waitid(P_PIDFD, fd, WEXITED|WNOHANG|__WALL)
    PidfdOpen,        // pidfd_open(target, 0)
    PidfdOpenThread,  // pidfd_open(target, PIDFD_THREAD)
    Close,            // close(fd)
    Dup,              // dup(fd)
    Subreaper,        // prctl(PR_SET_CHILD_SUBREAPER, 1)
    Nnp,              // prctl(PR_SET_NO_NEW_PRIVS, 1)
    DropPrivs,        // drop_privileges(1000)
    Exec,             // execve(plain helper)
    ExecSetuid,       // execve(setuid-root helper)
    Setresuid,        // setresuid(0, 0, 0)
    Ptrace,           // ptrace(PTRACE_SEIZE, target)
    PtraceExitkill,   // ptrace(PTRACE_SEIZE, target, PTRACE_O_EXITKILL)
    SignalPending,    // signal_pending(SIGCHLD)
    Internal,         // --interleave: an internal kernel transition (variant = Transition::Kind)
    kCount,
};
const char* op_kind_name(OpKind k);

// One op: 4 bytes. `arg` is a target TaskId or an fd number, `variant` a clone3 preset.
struct Op {
    OpKind kind = OpKind::Fork;
    uint8_t actor = 0;
    uint8_t arg = 0;
    uint8_t variant = 0;
    uint32_t pack() const {
        return uint32_t(kind) | uint32_t(actor) << 8 | uint32_t(arg) << 16 | uint32_t(variant) << 24;
    }
    static Op unpack(uint32_t v) {
        return {OpKind(v & 0xff), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    }
};

// Which tasks may make an op: T, the created tasks, init (bits).
enum Who : uint8_t { kWhoT = 1, kWhoCreated = 2, kWhoInit = 4, kWhoAny = kWhoT | kWhoCreated };

struct ClonePreset {
    uint64_t flags = 0;   // semantic flags (names::CF_*)
    int exit_signal = 0;
    uint8_t who = kWhoAny;
    std::string name() const;
};

struct Alphabet {
    std::bitset<size_t(OpKind::kCount)> ops;
    std::vector<ClonePreset> clone3;
    bool init_acts = false;  // init may make calls too (default: it only reaps what it is told: never)
    std::array<uint8_t, size_t(OpKind::kCount)> who = make_who();  // NAME@T, NAME@C, NAME@init
    bool has(OpKind k) const { return ops[size_t(k)]; }
    static std::array<uint8_t, size_t(OpKind::kCount)> make_who() {
        std::array<uint8_t, size_t(OpKind::kCount)> w;
        w.fill(kWhoAny);
        return w;
    }
    std::string describe() const;
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
};

std::string describe_op(const Op& op, const Alphabet& a);

}  // namespace pidlab::checker
